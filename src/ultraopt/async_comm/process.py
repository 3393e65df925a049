"""A worker in a child process of its own: started with the worker pickled through a pipe, stopped by closing it.

The child is a fresh interpreter (``subprocess``, not ``fork``: the parent runs Pyro5 threads) in its own
session, so that Ctrl-C in a terminal reaches only the parent, which then stops its children. The parent sends
its ``sys.path`` and the worker pickled with cloudpickle (so that lambdas, closures and classes defined in
``__main__`` work) over the child's stdin — a local pipe between this process and its own child; nothing
received over the network is ever unpickled. The child serves until its stdin closes: when the parent stops it,
or when the parent dies.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from ultraopt.interrupts import interrupt_deferred
from ultraopt.objective import send_by_value_if_unimportable

if TYPE_CHECKING:
    from ultraopt.async_comm.worker import Worker

__all__ = [
    "EXIT_FAILED", "EXIT_RUN_STOPPED", "EXIT_TIMED_OUT",
    "process_is_running", "start_worker_process", "stop_worker_process", "stop_worker_processes",
]

logger = logging.getLogger(__name__)

# Runs in the child: take the parent's import path, then hand over to child_main.
_BOOTSTRAP = (
    "import sys, json; header = json.loads(sys.stdin.buffer.readline()); sys.path[:] = header['sys_path']; "
    "from ultraopt.async_comm.process import child_main; child_main(header)"
)


def start_worker_process(worker: Worker) -> subprocess.Popen[bytes]:
    """Start a child process that runs ``worker`` until :func:`stop_worker_process` or this process ends."""
    import cloudpickle

    send_by_value_if_unimportable(worker.eval_func)
    try:
        payload = cloudpickle.dumps(worker)
    except Exception as exc:
        raise TypeError(
            f"the objective cannot be sent to a worker process of its own: {exc}. The objective (and whatever it "
            "refers to) must be picklable with cloudpickle, or run it serially (fmin's n_jobs=1) or in a worker "
            "thread (Worker.run(background=True))"
        ) from exc
    header = {"sys_path": list(sys.path), "size": len(payload), "log_level": logging.getLogger("ultraopt").level}
    process: subprocess.Popen[bytes] | None = None
    try:
        # Ctrl-C waits until the child has its whole worker: half of it made the child fail, or hang until killed
        with interrupt_deferred(until="a worker process has started"):
            process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP],
                stdin=subprocess.PIPE,
                start_new_session=sys.platform != "win32",
                creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
            )
            assert process.stdin is not None
            try:
                process.stdin.write(json.dumps(header).encode() + b"\n" + payload)
                process.stdin.flush()
            except OSError:  # the child died at once; its exit code tells the caller
                pass
    except KeyboardInterrupt:  # the caller will not know this child: stop it here
        if process is not None:
            stop_worker_process(process)
        raise
    logger.debug("started worker process %d", process.pid)
    return process


def stop_worker_process(process: subprocess.Popen[bytes], timeout: float = 5.0) -> int | None:
    """Ask the child to stop (close its stdin), then terminate and kill it if it does not; returns its exit code."""
    return stop_worker_processes([process], timeout)[0]


def stop_worker_processes(processes: list[subprocess.Popen[bytes]], timeout: float = 5.0) -> list[int | None]:
    """:func:`stop_worker_process` for several children at once: all are asked first, then all are waited for."""
    for process in processes:
        if process.stdin is not None and not process.stdin.closed:
            with contextlib.suppress(OSError):
                process.stdin.close()
    steps: list[tuple[str | None, float]] = [(None, timeout), ("terminate", 2.0), ("kill", 2.0)]
    for stop, wait in steps:
        running = [process for process in processes if process.poll() is None]
        if stop is not None:
            for process in running:
                logger.warning("worker process %d did not stop; %s it", process.pid, stop)
                getattr(process, stop)()
        deadline = time.monotonic() + wait
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(deadline - time.monotonic(), 0.0))
    for process in processes:  # what an objective started (a cancelled trial's subprocess) dies with its worker
        # (its own group, as start_worker_process made it; a pid of 0 would name this process's group)
        if sys.platform != "win32" and process.pid > 0 and process.poll() is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)  # the group outlives its leader while members remain
    return [process.poll() for process in processes]


def process_is_running(pid: int) -> bool | None:
    """Whether process ``pid`` of this machine is alive and not stopped, from ``/proc/<pid>/stat``.

    ``False`` when it is gone, a zombie or stopped (SIGSTOP, a debugger); ``None`` where there is no ``/proc``
    (not Linux), as a live process cannot be told from a stopped one there.
    """
    try:
        with open(f"/proc/{pid}/stat") as file:
            stat = file.read()
    except FileNotFoundError:
        return False if os.path.isdir("/proc/self") else None
    except OSError:
        return None
    state = stat.rpartition(")")[2].split()[0]  # after the command name, which may hold spaces and parentheses
    return state not in ("T", "t", "Z", "X", "x")


#: Exit code of a worker process whose worker could not serve (the name server refused its secret, say).
EXIT_FAILED = 2
#: Exit code of a worker process whose worker stopped after its idle ``timeout``.
EXIT_TIMED_OUT = 3
#: Exit code of a worker process whose worker stopped because a master had stopped the run's workers.
EXIT_RUN_STOPPED = 4


def child_main(header: dict[str, Any]) -> None:
    """Entry point of the child: read the worker, serve until stdin closes."""
    import cloudpickle

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    if header.get("log_level"):
        logging.getLogger("ultraopt").setLevel(header["log_level"])
    worker: Worker = cloudpickle.loads(_read_exactly(sys.stdin.buffer, header["size"]))

    def stop_when_parent_lets_go() -> None:
        # os.read, not the buffered sys.stdin: a daemon thread blocked in a buffered read aborts the interpreter
        # at exit when the worker stopped first (e.g. shut down by the dispatcher)
        while os.read(stdin_fd, 1 << 16):
            pass  # returns b"" at EOF: the parent closed the pipe or died
        worker.shutdown()
        time.sleep(_EXIT_GRACE)  # run() returns in the main thread meanwhile, unless the objective holds it up
        _exit_at_once()

    stdin_fd = sys.stdin.fileno()

    threading.Thread(target=stop_when_parent_lets_go, name="ultraopt-parent-watch", daemon=True).start()
    try:
        worker.run(background=False)
    except Exception as exc:  # noqa: BLE001 - a line that says why, not a traceback from each process
        logger.error("worker process %d stops: %s", os.getpid(), exc)
        _exit_at_once(EXIT_FAILED)
    _exit_at_once(EXIT_TIMED_OUT if worker.timed_out else EXIT_RUN_STOPPED if worker.run_stopped else 0)


#: Seconds a child that was told to stop gives its worker before it exits anyway.
_EXIT_GRACE = 2.0


def _exit_at_once(code: int = 0) -> None:
    """End the child without the interpreter's shutdown, which waits for nothing useful here and could hang: an
    objective still running in a C library (a BLAS product never returns at exit) kept orphaned children alive
    for ever once their master died."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _read_exactly(stream: Any, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError(f"the parent sent {size - left} of {size} bytes of the worker")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
