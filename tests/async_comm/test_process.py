"""Worker processes of their own: a Ctrl-C while one starts leaves no half-started child behind, and a child whose
master died goes away even while its objective computes."""

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import types

import pytest

from ultraopt.async_comm import process as worker_process


class _FakeChild:
    """Stands in for the child's Popen: records what it was sent and how it was stopped."""

    def __init__(self, *args, **kwargs):
        self.stdin = io.BytesIO()
        self.sent = b""
        self.pid = 0
        self.returncode = None

    def poll(self):
        return self.returncode

    def wait(self, timeout=None):
        if self.stdin.closed and self.returncode is None:
            self.returncode = 0
        return self.returncode


def test_a_ctrl_c_while_a_worker_process_starts_lets_it_read_its_worker_then_stops_it(monkeypatch):
    children = []

    def popen(*args, **kwargs):
        children.append(_FakeChild())
        original_close = children[-1].stdin.close

        def close():  # keep what was written before the pipe closes
            children[-1].sent = children[-1].stdin.getvalue()
            original_close()

        children[-1].stdin.close = close
        return children[-1]

    def dumps_then_ctrl_c(obj):
        os.kill(os.getpid(), signal.SIGINT)
        return json.dumps(obj)

    monkeypatch.setattr(worker_process.subprocess, "Popen", popen)
    monkeypatch.setattr(worker_process, "json", types.SimpleNamespace(dumps=dumps_then_ctrl_c))
    with pytest.raises(KeyboardInterrupt):
        worker_process.start_worker_process(types.SimpleNamespace(eval_func=abs))  # a picklable stand-in
    (child,) = children
    header, _, payload = child.sent.partition(b"\n")
    assert child.stdin.closed and len(payload) == json.loads(header)["size"]


_MASTER_OF_BUSY_WORKERS = """
import os
import numpy as np
from ultraopt import fmin

PID_DIRECTORY = {pid_directory!r}

def busy(config):
    with open(os.path.join(PID_DIRECTORY, f"{os.getpid()}.pid"), "w") as file:
        file.write("computing")
    product = np.ones((3000, 3000))
    while True:
        product = product @ product / 3000.0

if __name__ == "__main__":
    fmin(busy, {"x": {"_type": "uniform", "_value": [0.0, 1.0]}}, optimizer="Random", n_iterations=4, n_jobs=2,
         parallel_strategy="AsyncComm", show_progressbar=False)
"""


def test_children_whose_master_was_killed_exit_while_their_objective_computes_in_numpy(tmp_path):
    # the interpreter's exit hung on a BLAS product that never returns: the children stayed, orphaned, for ever
    script = tmp_path / "master.py"
    script.write_text(textwrap.dedent(_MASTER_OF_BUSY_WORKERS).replace("{pid_directory!r}", repr(str(tmp_path))))
    master = subprocess.Popen([sys.executable, str(script)])
    children: list[int] = []
    try:
        deadline = time.monotonic() + 90
        while len(children) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            children = [int(path.stem) for path in tmp_path.glob("*.pid")]
        assert len(children) == 2, "the workers did not start their trials"
        time.sleep(1.0)  # well inside the product
        master.kill()
        master.wait()
        deadline = time.monotonic() + 20
        while any(os.path.exists(f"/proc/{pid}") for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [pid for pid in children if os.path.exists(f"/proc/{pid}")] == []
    finally:
        master.kill()
        for pid in children:  # the test's own grandchildren, by PID
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _start_a_process_then_hang(config):
    child = subprocess.Popen(["sleep", "600"])
    with open(config["pid_file"], "w") as file:
        file.write(str(child.pid))
    time.sleep(600)


def test_a_process_a_cancelled_trial_started_ends_with_the_run(tmp_path):
    # a trial cancelled by fmin's time_limit ran in a worker process that was stopped, but the subprocess the
    # objective had started stayed, orphaned (MapReduce's workers already took theirs with them)
    from ultraopt import fmin

    pid_file = tmp_path / "child.pid"
    result = fmin(_start_a_process_then_hang, {"pid_file": {"_type": "choice", "_value": [str(pid_file)]}},
                  optimizer="Random", n_iterations=1, parallel_strategy="AsyncComm", time_limit=4,
                  auto_identify_serial_strategy=False, show_progressbar=False)
    child = int(pid_file.read_text())
    try:
        assert result.meta["stop_reason"] == "time limit"
        deadline = time.monotonic() + 5
        while worker_process.process_is_running(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not worker_process.process_is_running(child)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
