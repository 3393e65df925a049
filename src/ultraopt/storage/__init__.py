"""Run storage: the journal of a run's trials, so that nothing is lost.

:class:`InMemoryStorage` (the default) keeps it in the process; :class:`SQLiteStorage` in an SQLite file that
survives a crash and resumes the run (``fmin(checkpoint_file=...)``). :mod:`ultraopt.replay` rebuilds a
run from the journal.
"""

from __future__ import annotations

import os

from ultraopt.storage.base import Event, RunHeader, Storage, StorageError
from ultraopt.storage.memory import InMemoryStorage
from ultraopt.storage.sqlite import SQLiteStorage, is_sqlite_file

__all__ = [
    "Event",
    "InMemoryStorage",
    "RunHeader",
    "SQLiteStorage",
    "Storage",
    "StorageError",
    "is_sqlite_file",
    "open_storage",
]


def open_storage(checkpoint_file: str | os.PathLike[str] | Storage | None) -> Storage:
    """The storage a ``checkpoint_file`` argument names: a Storage as given, a path as SQLite, ``None`` in memory."""
    if isinstance(checkpoint_file, Storage):
        return checkpoint_file
    return InMemoryStorage() if checkpoint_file is None else SQLiteStorage(checkpoint_file)
