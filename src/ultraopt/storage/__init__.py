"""Run storage: the journal of a run's trials, so that nothing is lost.

:class:`InMemoryStorage` (the default) keeps it in the process; :class:`SQLiteStorage` in an SQLite file that
survives a crash and resumes the run (``fmin(checkpoint_file=...)``). :mod:`ultraopt.storage.replay` rebuilds a
run from the journal.
"""

from ultraopt.storage.base import Event, RunHeader, Storage, StorageError
from ultraopt.storage.memory import InMemoryStorage
from ultraopt.storage.sqlite import SQLiteStorage, is_sqlite_file

__all__ = ["Event", "InMemoryStorage", "RunHeader", "SQLiteStorage", "Storage", "StorageError", "is_sqlite_file"]
