"""Limits per trial: each evaluation in a child process, killed at its wall-time limit, stopped at its memory limit.

:class:`LimitedObjective` wraps an :class:`~ultraopt.objective.Objective` and is called the same way, so every
executor applies the limits wherever it runs the objective.

How it runs. The first call starts a helper process (a fresh interpreter, ``python -c``, so nothing of the
caller's threads or locks is inherited and the caller's ``__main__`` is not imported again, unlike
``multiprocessing``'s spawn and forkserver) that imports UltraOpt and unpickles the objective once (with
cloudpickle, so lambdas and closures work; this crosses a pipe to our own child, nothing is stored). For each
evaluation the helper forks a child — cheap, and the helper runs no user code and no threads of its own, so the
fork is safe — which evaluates the config and writes the outcome back as JSON:

- wall time: the helper SIGKILLs the child's process group at the limit (``TIMEOUT``);
- memory: the child's address space is capped with ``RLIMIT_AS`` at what it holds when it starts plus the limit
  (as pynisher does, but counting only what the evaluation adds); an allocation past it raises ``MemoryError``
  in the objective (``MEMOUT``), and a child killed by the system's OOM killer is ``MEMOUT`` too;
- lifetime: the helper and each child die with their parent (``PR_SET_PDEATHSIG`` on Linux, and the helper
  kills a running child when its parent's pipe closes), so no evaluation outlives the run. The helper is sent
  SIGTERM rather than SIGKILL when its parent dies, so that it kills the running child's whole process group:
  processes the objective started die with it too.

POSIX only; the memory limit needs Linux.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback
from typing import Any

from ultraopt.objective import Evaluation, Objective, failed_evaluation, send_by_value_if_unimportable
from ultraopt.trial import TrialStatus

__all__ = ["LimitedObjective"]

math_inf = float("inf")

_HEADER = struct.Struct("!Q")
_PR_SET_PDEATHSIG = 1

# Runs in the helper: die with the parent first (before the slow imports), then serve.
_BOOTSTRAP = """
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
except (AttributeError, OSError):
    pass
if os.getppid() != int(sys.argv[2]):
    os._exit(1)
from ultraopt.limits import _serve
_serve(int(sys.argv[1]))
"""


class LimitedObjective(Objective):
    """An objective evaluated in a child process, under a wall-time and a memory limit.

    Parameters
    ----------
    objective : Objective
        What to evaluate.
    time_limit : float, optional
        Seconds; the child is killed at the limit and the trial is ``TIMEOUT``.
    memory_limit : float, optional
        MB the evaluation may allocate; past it the trial is ``MEMOUT``.

    Raises
    ------
    TypeError
        When the objective cannot be pickled with cloudpickle to reach the child process.
    """

    def __init__(self, objective: Objective, time_limit: float | None = None, memory_limit: float | None = None):
        import cloudpickle

        if memory_limit is not None and not sys.platform.startswith("linux"):
            raise NotImplementedError("a memory limit per trial needs Linux (RLIMIT_AS)")
        self.objective = objective
        self.func = objective.func
        self.passes_budget = objective.passes_budget
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        send_by_value_if_unimportable(objective)
        try:
            self._payload = cloudpickle.dumps(objective)
        except Exception as exc:
            raise TypeError(f"the objective cannot be sent to the child process that enforces the per-trial "
                            f"limits: {exc}") from exc
        self._setup()

    def _setup(self) -> None:
        self._local = threading.local()
        self._helpers: list[_Helper] = []
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {key: self.__dict__[key] for key in
                ("objective", "func", "passes_budget", "time_limit", "memory_limit", "_payload")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._setup()

    def __call__(self, config: dict[str, Any], budget: float) -> Evaluation:
        """Evaluate ``config`` on ``budget`` in a child process; never raises for what the objective does."""
        helper = getattr(self._local, "helper", None)
        if helper is None or not helper.alive:
            helper = _Helper(self._payload)
            self._local.helper = helper
            with self._lock:
                self._helpers.append(helper)
        return helper.evaluate({"config": config, "budget": budget, "time_limit": self.time_limit,
                                "memory_limit": self.memory_limit})

    def close(self) -> None:
        """Stop the helper processes (they also stop with this process)."""
        with self._lock:
            helpers, self._helpers = self._helpers, []
        for helper in helpers:
            helper.close()


class _Helper:
    """The parent's end of one helper process: one evaluation at a time."""

    def __init__(self, payload: bytes):
        import ultraopt

        read_fd, write_fd = os.pipe()
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(ultraopt.__file__)))
        paths = [package_root] + [path or os.getcwd() for path in sys.path]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, str(write_fd), str(os.getpid())],
            stdin=subprocess.PIPE, pass_fds=(write_fd,), env=env, start_new_session=True,
        )
        os.close(write_fd)
        self._results = read_fd
        self.alive = True
        self._send(payload)

    def _send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(_HEADER.pack(len(data)) + data)
        self.process.stdin.flush()

    def evaluate(self, request: dict[str, Any]) -> Evaluation:
        start = time.time()
        try:
            self._send(json.dumps(request).encode())
            answer = _read_frame(self._results)
        except BaseException:  # Ctrl-C while waiting, or a broken pipe: this helper is not trusted any more
            self.close()
            if not isinstance(sys.exc_info()[1], OSError):
                raise
            answer = None
        if answer is None:
            self.close()
            return Evaluation(TrialStatus.FAILED, error="the process evaluating the objective under the per-trial "
                              f"limits died (exit code {self.process.poll()})", start_time=start, end_time=time.time())
        return Evaluation.from_dict(json.loads(answer))

    def close(self) -> None:
        if not self.alive:
            return
        self.alive = False
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()  # the helper exits when its stdin closes
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._results)


# ---------------------------------------------------------------------- in the helper process
def _serve(results_fd: int) -> None:
    """The helper's loop: read the objective, then evaluate each request in a forked child."""
    import warnings

    import cloudpickle

    warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)  # see the module docstring
    signal.signal(signal.SIGTERM, _stop)
    payload = _read_frame(0)
    if payload is None:
        return
    objective = cloudpickle.loads(payload)
    while (request := _read_frame(0)) is not None:
        outcome = _evaluate_in_child(objective, json.loads(request))
        _write_all(results_fd, _frame(json.dumps(outcome.to_dict()).encode()))


# The child evaluating now, in the helper: its process group is killed if the helper is stopped.
_evaluating: int | None = None


def _stop(signum: int, frame: Any) -> None:
    """SIGTERM in the helper (its parent died): stop the evaluation and whatever it started, then exit."""
    if _evaluating is not None:
        _kill_group(_evaluating)
    os._exit(0)


def _evaluate_in_child(objective: Objective, request: dict[str, Any]) -> Evaluation:
    global _evaluating
    read_fd, write_fd = os.pipe()
    start = time.time()
    helper = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        _child(objective, request, write_fd, helper)
    with contextlib.suppress(OSError):  # also here, so that the group exists before _stop may kill it
        os.setpgid(pid, pid)
    _evaluating = pid
    os.close(write_fd)
    time_limit = request["time_limit"]
    deadline = math_inf if time_limit is None else start + time_limit
    received = bytearray()
    outcome: Evaluation | None = None
    # until the whole framed outcome is in, not until the pipe closes: a process the objective forked holds the
    # pipe open, and the evaluation would wait for it (or time out) though the objective had returned
    while (frame := _whole_frame(received)) is None:
        left = deadline - time.time()
        ready, _, _ = select.select([read_fd, 0], [], [], None if left == math_inf else max(left, 0.0))
        if not ready:
            outcome = Evaluation(TrialStatus.TIMEOUT, error=f"killed at its time limit of {time_limit:g} s",
                                 start_time=start, end_time=time.time())
            break
        if 0 in ready:  # the parent closed the pipe (it stopped or died): stop the evaluation and exit
            _kill_group(pid)
            os.waitpid(pid, 0)
            os._exit(0)
        data = os.read(read_fd, 1 << 16)
        if not data:
            break
        received += data
    os.close(read_fd)
    _kill_group(pid)  # the evaluation, whatever it started, and anything left of it
    _, status = os.waitpid(pid, 0)
    _evaluating = None
    if outcome is None and frame is not None:
        with contextlib.suppress(ValueError):
            outcome = Evaluation.from_dict(json.loads(frame))
    return outcome or _died(status, start, request["memory_limit"])


def _whole_frame(received: bytearray) -> bytearray | None:
    """The message of ``received`` once all of it is there (see :func:`_frame`)."""
    if len(received) < _HEADER.size:
        return None
    end = _HEADER.size + _HEADER.unpack_from(received)[0]
    return received[_HEADER.size:end] if len(received) >= end else None


def _died(status: int, start: float, memory_limit: float | None) -> Evaluation:
    """The outcome of a child that ended without writing one."""
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
        return Evaluation(TrialStatus.MEMOUT, error="the evaluation was killed by the system (SIGKILL), most likely "
                          "out of memory", start_time=start, end_time=time.time())
    if os.WIFSIGNALED(status):
        reason = f"died of signal {signal.Signals(os.WTERMSIG(status)).name}"
    else:
        reason = f"exited with code {os.WEXITSTATUS(status)} without a result"
    if memory_limit is not None:
        reason += f" (under a memory limit of {memory_limit:g} MB)"
    return Evaluation(TrialStatus.FAILED, error=f"the evaluation process {reason}", start_time=start,
                      end_time=time.time())


def _child(objective: Objective, request: dict[str, Any], write_fd: int, helper: int) -> None:
    """Evaluate in the forked child and write the outcome to ``write_fd``; exits without returning."""
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the helper's handler is not the child's
        os.setpgid(0, 0)  # a group of its own: killing the group also stops what the objective started
        with contextlib.suppress(AttributeError, OSError):
            import ctypes

            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != helper:  # the helper died before the line above
            os._exit(1)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)  # the helper's stdin is its parent's pipe, not for the objective
        if request["memory_limit"] is not None:
            _limit_memory(request["memory_limit"])
        start = time.time()
        try:
            outcome = objective(request["config"], request["budget"])
        except MemoryError:  # raised again while the objective's own handler reported one
            _lift_memory_limit()
            outcome = Evaluation(TrialStatus.MEMOUT, error="MemoryError", start_time=start, end_time=time.time())
        except KeyboardInterrupt as exc:  # raised by the objective itself (Ctrl-C stops the run in the parent)
            outcome = failed_evaluation(exc, start)
        if outcome.status is TrialStatus.MEMOUT and request["memory_limit"] is not None:
            outcome.error = f"stopped at its memory limit of {request['memory_limit']:g} MB: {outcome.error}"
        _write_all(write_fd, _frame(json.dumps(outcome.to_dict()).encode()))
    except BaseException:
        code = 1
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        os._exit(code)


def _limit_memory(megabytes: float) -> None:
    import resource

    with open("/proc/self/statm") as statm:
        size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + megabytes * 2**20
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    elif limit >= 2**63:  # more than the kernel can count (inf included): no limit
        return
    resource.setrlimit(resource.RLIMIT_AS, (int(limit), hard))


def _lift_memory_limit() -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _frame(data: bytes) -> bytes:
    return _HEADER.pack(len(data)) + data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes | None:
    parts = []
    while n:
        part = os.read(fd, n)
        if not part:
            return None
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _read_frame(fd: int) -> bytes | None:
    """One length-prefixed message from ``fd``, or ``None`` at the end of the stream."""
    header = _read_exact(fd, _HEADER.size)
    return None if header is None else _read_exact(fd, _HEADER.unpack(header)[0])
