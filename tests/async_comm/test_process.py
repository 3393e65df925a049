"""Worker processes of their own: a Ctrl-C while one starts leaves no half-started child behind."""

import io
import json
import os
import signal
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
