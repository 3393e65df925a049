"""``ultraopt nameserver`` and ``ultraopt worker`` in processes of their own, with a master in this one."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys

import pytest

from tests.async_comm.conftest import REPO, child_env
from tests.async_comm.helpers import make_master


def ultraopt(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ultraopt", *args], env=child_env(), cwd=REPO, **kwargs)


@contextlib.contextmanager
def nameserver_and_worker(tmp_path, run_id: str, *worker_args: str):
    """``ultraopt nameserver`` and ``ultraopt worker`` processes of ``run_id`` sharing ``tmp_path``; killed at the
    end if they still run."""
    nameserver = ultraopt("nameserver", "--run-id", run_id, "--working-directory", str(tmp_path),
                          stdout=subprocess.PIPE, text=True)
    worker = None
    try:
        assert f"name server of run '{run_id}' on 127.0.0.1:" in nameserver.stdout.readline()
        worker = ultraopt("worker", *worker_args, "--run-id", run_id, "--working-directory", str(tmp_path))
        yield nameserver, worker
    finally:
        for process in (nameserver, worker):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)


def run_master(tmp_path, run_id: str, space, n_iterations: int, min_n_workers: int):
    master = make_master(run_id, space, working_directory=str(tmp_path), nameserver=None)
    try:
        return master.run(n_iterations=n_iterations, min_n_workers=min_n_workers)
    finally:
        master.shutdown(shutdown_workers=True)


def test_nameserver_and_workers_on_a_shared_working_directory(tmp_path, space):
    worker_args = ("--objective", "tests.async_comm.objectives:square", "--n-workers", "2")
    with nameserver_and_worker(tmp_path, "cli-run", *worker_args) as (nameserver, worker):
        result = run_master(tmp_path, "cli-run", space, n_iterations=6, min_n_workers=2)
        assert len(result.trials) == 6 and all(t.loss == t.config["x"] ** 2 for t in result.trials)
        assert worker.wait(30) == 0  # its two worker processes were shut down by the master
        nameserver.send_signal(signal.SIGTERM)
        assert nameserver.wait(30) == 0
        # the credentials are removed; the word that the master stopped the workers stays, for any it missed
        assert [path.name for path in tmp_path.iterdir()] == ["ultraopt_run_cli-run_stopped.json"]


def test_a_worker_with_a_trial_time_limit_records_a_hanging_trial_and_goes_on(tmp_path, space):
    worker_args = ("--objective", "tests.async_comm.objectives:hang_on_negative_x", "--trial-time-limit", "2")
    with nameserver_and_worker(tmp_path, "tl-run", *worker_args) as (_, worker):
        result = run_master(tmp_path, "tl-run", space, n_iterations=6, min_n_workers=1)
        assert len(result.trials) == 6 and {t.status.value for t in result.trials} == {"success", "timeout"}
        assert all(t.status.value == "timeout" for t in result.trials if t.config["x"] < 0)
        assert worker.wait(30) == 0


def test_a_bad_objective_is_a_one_line_error():
    for spec, message in (("no_colon", "package.module:function"),
                          ("tests.async_comm.objectives:square --trial-time-limit -1",
                           "--trial-time-limit must be a positive number"),
                          ("tests.async_comm.objectives:missing", "has no attribute 'missing'"),
                          ("no_such_module_xyz:f", "cannot import 'no_such_module_xyz'")):
        process = ultraopt("worker", "--objective", *spec.split(), "--run-id", "r", "--nameserver-port", "1",
                           stderr=subprocess.PIPE, text=True)
        _, error = process.communicate(timeout=60)
        assert process.returncode == 2 and message in error, error


@pytest.mark.parametrize("source, error", [("x = (", "SyntaxError"), ("raise RuntimeError('no data file')",
                                                                        "RuntimeError: no data file")])
def test_an_objective_module_that_fails_to_import_is_a_clear_error(tmp_path, monkeypatch, source, error):
    # only an ImportError was put in words; anything else the module raised came out as a traceback
    from ultraopt.cli.worker import load_objective

    (tmp_path / "broken_objective_module.py").write_text(source + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match=f"importing 'broken_objective_module' for --objective failed: {error}"):
        load_objective("broken_objective_module:f")


def worker_of(credentials, timeout: float, secret: str, *args: str, **kwargs) -> subprocess.Popen:
    """An ``ultraopt worker`` process that finds the name server by address, with ``secret`` as the run's."""
    return subprocess.Popen(
        [sys.executable, "-m", "ultraopt", "worker", "--objective", "tests.async_comm.objectives:square",
         "--run-id", credentials.run_id, "--nameserver", credentials.host,
         "--nameserver-port", str(credentials.port), "--timeout", str(timeout), *args],
        env=child_env(ULTRAOPT_SECRET=secret), cwd=REPO, **kwargs)


def finish(process: subprocess.Popen, timeout: float) -> tuple[str, str]:
    """``process``'s output once it exits by itself within ``timeout`` seconds; killed if it does not."""
    try:
        return process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_a_worker_with_an_idle_timeout_exits_by_itself_and_says_why(nameserver):
    worker = worker_of(nameserver.credentials, 1, nameserver.credentials.secret, stdout=subprocess.PIPE, text=True)
    output, _ = finish(worker, 60)
    assert worker.returncode == 0 and "worker stopped: no job for 1 s (--timeout)" in output, output


def test_a_worker_refused_by_the_name_server_says_why(nameserver):
    worker = worker_of(nameserver.credentials, 8, "not-the-run-secret", stderr=subprocess.PIPE, text=True)
    _, error = finish(worker, 60)
    # and exits: the secret comes from the environment, so the refusal cannot end (it retried for ever)
    assert worker.returncode == 2 and "ultraopt worker: error: the name server" in error, error
    assert "refused this worker's secret" in error and "ULTRAOPT_SECRET" in error, error


def test_worker_processes_refused_by_the_name_server_say_why_and_fail(nameserver):
    # a traceback from each process, then exit code 0: a script or scheduler took the refusal for a success
    worker = worker_of(nameserver.credentials, 8, "not-the-run-secret", "--n-workers", "2",
                       stderr=subprocess.PIPE, text=True)
    _, error = finish(worker, 90)
    assert worker.returncode == 2 and "Traceback" not in error, error
    assert error.count("refused this worker's secret") == 2, error
    assert "ultraopt worker: error: 2 of 2 worker processes failed (their messages are above)" in error, error


def test_worker_processes_with_an_idle_timeout_say_why_they_stopped(nameserver):
    worker = worker_of(nameserver.credentials, 1, nameserver.credentials.secret, "--n-workers", "2",
                       stdout=subprocess.PIPE, text=True)
    output, _ = finish(worker, 60)
    assert worker.returncode == 0 and "worker stopped: no job for 1 s (--timeout)" in output, output


def test_a_second_nameserver_command_of_a_served_run_is_one_line_of_error(tmp_path, capsys):
    from ultraopt.async_comm.nameserver import NameServer
    from ultraopt.cli import main

    first = NameServer("served", working_directory=str(tmp_path))
    first.start()
    try:  # it raised a RuntimeError with its traceback, and blamed "another master"
        assert main(["nameserver", "--run-id", "served", "--working-directory", str(tmp_path)]) == 2
    finally:
        first.shutdown()
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "ultraopt nameserver: error: run 'served' already has a name server" in error
    assert "stop that process" in error


def test_the_nameserver_command_cannot_bind_a_taken_port(capsys):
    import socket

    from ultraopt.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["nameserver", "--run-id", "r", "--port", str(taken.getsockname()[1])]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "ultraopt nameserver: error: cannot serve on 127.0.0.1:" in error


@pytest.mark.parametrize("argv", [["nameserver", "--run-id", "r", "--port", "70000"],
                                  ["worker", "--run-id", "r", "--objective", "math:sqrt", "--nameserver-port", "-3"]])
def test_ports_out_of_range_are_refused(argv, capsys):
    from ultraopt.cli import main

    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2 and "a port is in 0..65535" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "missing"), [([], "port and secret"), (["--nameserver-port", "9"], "secret")])
def test_a_worker_without_credentials_says_which_options_give_them(argv, missing, capsys, monkeypatch):
    # the message named working_directory= and Worker.load_nameserver_credentials, after announcing the worker
    from ultraopt.cli import main

    monkeypatch.delenv("ULTRAOPT_SECRET", raising=False)
    assert main(["worker", "--run-id", "r9", "--objective", "math:sqrt", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"ultraopt worker: error: run 'r9': no name server {missing}: give --working-directory "
                            "DIR (where `ultraopt nameserver --run-id r9 --working-directory DIR` or the master "
                            "wrote them), or --nameserver-port and --secret (or set ULTRAOPT_SECRET)\n")


@pytest.mark.parametrize(("option", "value"), [("--timeout", "-5"), ("--wait", "-1"), ("--timeout", "nan")])
def test_negative_durations_are_refused(option, value, capsys):
    # a negative one made the worker exit at once, silently, with status 0
    from ultraopt.cli import build_parser

    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["worker", "--run-id", "r", "--objective", "math:sqrt", option, value])
    error = capsys.readouterr().err
    assert stop.value.code == 2
    assert f"argument {option}: seconds are a non-negative finite number, got {value}" in error, error


@pytest.mark.parametrize("command", [["nameserver"], ["worker", "--objective", "math:sqrt"]])
@pytest.mark.parametrize("run_id", ["", ".", "..", "../elsewhere", "a/b"])
def test_run_ids_that_are_no_file_name_are_refused(command, run_id, capsys):
    from ultraopt.cli import build_parser

    with pytest.raises(SystemExit) as stop:  # parsed only: without the check, the name server would serve forever
        build_parser().parse_args([*command, "--run-id", run_id])
    assert stop.value.code == 2 and "argument --run-id: run_id must be" in capsys.readouterr().err


def test_the_master_follows_a_name_server_restarted_elsewhere(tmp_path, space, monkeypatch):
    # `ultraopt nameserver` killed and started again without --port: a new port and secret in the credentials file
    import ultraopt.async_comm.dispatcher as dispatcher_module

    monkeypatch.setattr(dispatcher_module, "_REGISTRATION_CHECK_PERIOD", 0.2)
    args = ("nameserver", "--run-id", "moved-run", "--working-directory", str(tmp_path))
    first = ultraopt(*args, stdout=subprocess.PIPE, text=True)
    processes = [first]
    master = None
    try:
        assert "name server of run 'moved-run'" in first.stdout.readline()
        master = make_master("moved-run", space, working_directory=str(tmp_path), nameserver=None)
        first.kill()  # it leaves its credentials file behind
        first.wait(10)
        second = ultraopt(*args, stdout=subprocess.PIPE, text=True)
        processes.append(second)
        assert "name server of run 'moved-run'" in second.stdout.readline()
        worker = ultraopt("worker", "--objective", "tests.async_comm.objectives:square", "--run-id", "moved-run",
                          "--working-directory", str(tmp_path))
        processes.append(worker)
        assert master.executor.wait_for_workers(1, timeout=60), "the master never found the new worker"
        result = master.run(n_iterations=3, min_n_workers=1)
        assert len(result.trials) == 3 and all(t.loss == t.config["x"] ** 2 for t in result.trials)
    finally:
        if master is not None:
            master.shutdown(shutdown_workers=True)
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)


def test_wait_looks_for_the_credentials_file_as_long_as_it_says(tmp_path, capsys):
    # --wait 3 gave up after about 2 s: three tries a second apart; and it waited without a word
    import time

    from ultraopt.cli import build_parser
    from ultraopt.cli.worker import make_worker

    args = build_parser().parse_args(["worker", "--run-id", "nobody", "--objective", "math:sqrt",
                                      "--working-directory", str(tmp_path), "--wait", "2"])
    start = time.monotonic()
    with pytest.raises(FileNotFoundError, match="no credentials of run 'nobody'"):
        make_worker(args)
    assert 1.9 < time.monotonic() - start < 10
    assert f"waiting up to 2 s for {tmp_path / 'ultraopt_run_nobody_credentials.json'}" in capsys.readouterr().out
