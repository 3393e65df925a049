"""``ultraopt nameserver`` and ``ultraopt worker`` in processes of their own, with a master in this one."""

from __future__ import annotations

import signal
import subprocess
import sys

from tests.async_comm.conftest import REPO, child_env
from tests.async_comm.helpers import make_master


def ultraopt(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ultraopt", *args], env=child_env(), cwd=REPO, **kwargs)


def test_nameserver_and_workers_on_a_shared_working_directory(tmp_path, space):
    nameserver = ultraopt("nameserver", "--run-id", "cli-run", "--working-directory", str(tmp_path),
                          stdout=subprocess.PIPE, text=True)
    worker = None
    try:
        assert "name server of run 'cli-run' on 127.0.0.1:" in nameserver.stdout.readline()
        worker = ultraopt("worker", "--objective", "tests.async_comm.objectives:square", "--run-id", "cli-run",
                          "--working-directory", str(tmp_path), "--n-workers", "2")
        master = make_master("cli-run", space, working_directory=str(tmp_path), nameserver=None)
        try:
            result = master.run(n_iterations=6, min_n_workers=2)
        finally:
            master.shutdown(shutdown_workers=True)
        assert len(result.trials) == 6 and all(t.loss == t.config["x"] ** 2 for t in result.trials)
        assert worker.wait(30) == 0  # its two worker processes were shut down by the master
        nameserver.send_signal(signal.SIGTERM)
        assert nameserver.wait(30) == 0
        assert list(tmp_path.iterdir()) == []  # credentials removed
    finally:
        for process in (nameserver, worker):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)


def test_a_bad_objective_is_a_one_line_error():
    for spec, message in (("no_colon", "package.module:function"),
                          ("tests.async_comm.objectives:missing", "has no attribute 'missing'"),
                          ("no_such_module_xyz:f", "cannot import 'no_such_module_xyz'")):
        process = ultraopt("worker", "--objective", spec, "--run-id", "r", "--nameserver-port", "1",
                           stderr=subprocess.PIPE, text=True)
        _, error = process.communicate(timeout=60)
        assert process.returncode == 2 and message in error, error


def test_a_worker_with_an_idle_timeout_exits_by_itself(nameserver):
    credentials = nameserver.credentials
    worker = subprocess.Popen(
        [sys.executable, "-m", "ultraopt", "worker", "--objective", "tests.async_comm.objectives:square",
         "--run-id", credentials.run_id, "--nameserver", credentials.host,
         "--nameserver-port", str(credentials.port), "--timeout", "1"],
        env=child_env(ULTRAOPT_SECRET=credentials.secret), cwd=REPO)
    try:
        assert worker.wait(60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
