"""A lock file that a live process of a run holds: held means the process lives, even when it is stopped.

A server that does not answer may be dead, or only stopped (SIGSTOP, a suspended job); one that took over its run
would strand its workers when it came back. The kernel frees an advisory lock when its process dies, even by
SIGKILL, so a lock held means a live process of this machine (or of one sharing the directory's file system).
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory lock; the liveness check alone guards a run
    fcntl = None  # type: ignore[assignment]

__all__ = ["LockHeld", "RunLock"]

# Locks held by this process. A forked child (a trial run under limits) closes its copies, so that a child
# outliving a killed master does not hold the run's lock; closing a copy does not release the lock.
_HELD_LOCKS: set[int] = set()


def _close_held_locks_in_child() -> None:
    for fd in _HELD_LOCKS:
        os.close(fd)
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_held_locks_in_child)


class LockHeld(RuntimeError):
    """Another live process holds the lock.

    Parameters
    ----------
    path : Path
        The lock file.
    holder : str
        The process id written in it (``"?"`` when unreadable).
    """

    def __init__(self, path: Path, holder: str):
        super().__init__(f"process {holder} holds {path}")
        self.path = path
        self.holder = holder


class RunLock:
    """An exclusive advisory lock on ``path``, holding this process's id, released by :meth:`release` or death.

    Parameters
    ----------
    path : str or os.PathLike
        The lock file; created (with its directory) when acquired, removed when released.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock (a no-op where there are no advisory locks).

        Raises
        ------
        LockHeld
            When another open of the file holds it: a live process, possibly stopped.
        """
        if fcntl is None or self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise LockHeld(self.path, holder) from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # the holder removed the file as we opened it: lock the file that is there now
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        _HELD_LOCKS.add(fd)

    def release(self) -> None:
        """Give the lock up and remove its file; harmless when not held."""
        if self._fd is not None:
            self.path.unlink(missing_ok=True)  # removed while held, so no one locks a file on its way out
            _HELD_LOCKS.discard(self._fd)
            os.close(self._fd)  # closing the last descriptor releases the lock
            self._fd = None


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False
