"""Run storage in an SQLite file: the journal of a run, committed event by event.

Schema (format ``ultraopt-storage``, version :data:`FORMAT_VERSION`)::

    runs     (id = 1, format, version, created_at, space JSON, settings JSON, budgets JSON, meta JSON,
              keep_warm_start)
    trials   (trial_id PRIMARY KEY, iteration, stage, running_index, budget, config JSON, config_info JSON,
              status, loss, info JSON, error, start_time, end_time, worker, attempt)   -- latest state
    events   (seq PRIMARY KEY, kind 'created' | 'restarted' | 'finished' | 'cancelled', trial_id, attempt, time)
    warm_start_trials (position PRIMARY KEY, trial JSON)

``trials`` holds one row per trial in its latest state, for analysis with plain SQL; ``events`` is the order in
which things happened, which a resume replays. Every event is one transaction (its ``events`` row and the
change to its ``trials`` row commit together).

Durability: WAL journal with ``synchronous=NORMAL``. A committed transaction is in the WAL file when the commit
returns, so a crash of the *process* (SIGKILL included) at any instant loses nothing committed, and a torn
last write is discarded by SQLite's checksums. Only an OS crash or power loss may drop the last few commits
(never the consistency of the file); those trials then simply run again on resume. ``synchronous="FULL"``
(one fsync per event) closes that gap at the price of the fsync.

Until a checkpoint, committed events live in the ``-wal`` file beside the main file, and someone who moves or
copies ``run.db`` alone takes none of them. So a finished trial is checkpointed into the main file at once
unless the last checkpoint was less than :data:`CHECKPOINT_INTERVAL` seconds ago (two fsyncs, well under a
millisecond; at most one a second for fast objectives): the main file alone then lacks at most the last
second of a run.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

try:
    import fcntl
except ImportError:  # Windows: no advisory lock, one writer is then up to the user
    fcntl = None  # type: ignore[assignment]

from ultraopt.jsonable import json_text, to_jsonable
from ultraopt.storage.base import CANCELLED, CREATED, FINISHED, Event, RunHeader, Storage, StorageError
from ultraopt.trial import Trial, TrialStatus

__all__ = ["FORMAT", "FORMAT_VERSION", "SQLiteStorage", "is_sqlite_file"]

logger = logging.getLogger(__name__)

FORMAT = "ultraopt-storage"
FORMAT_VERSION = 2  # 2: the 'cancelled' event
_SQLITE_MAGIC = b"SQLite format 3\x00"
CHECKPOINT_INTERVAL = 1.0  # seconds between checkpoints of the WAL into the main file, at most
_clock = time.monotonic

_SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    format TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at REAL NOT NULL,
    space TEXT NOT NULL,
    settings TEXT NOT NULL,
    budgets TEXT NOT NULL,
    meta TEXT NOT NULL,
    keep_warm_start INTEGER NOT NULL
);
CREATE TABLE trials (
    trial_id INTEGER PRIMARY KEY,
    iteration INTEGER NOT NULL,
    stage INTEGER NOT NULL,
    running_index INTEGER NOT NULL,
    budget REAL NOT NULL,
    config TEXT NOT NULL,
    config_info TEXT NOT NULL,
    status TEXT NOT NULL,
    loss REAL,
    info TEXT NOT NULL,
    error TEXT,
    start_time REAL,
    end_time REAL,
    worker TEXT,
    attempt INTEGER NOT NULL
);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('created', 'restarted', 'finished', 'cancelled')),
    trial_id INTEGER NOT NULL REFERENCES trials (trial_id),
    attempt INTEGER NOT NULL,
    time REAL NOT NULL
);
CREATE TABLE warm_start_trials (
    position INTEGER PRIMARY KEY,
    trial TEXT NOT NULL
);
"""

_TRIAL_COLUMNS = (
    "trial_id, iteration, stage, running_index, budget, config, config_info, status, loss, info, error, "
    "start_time, end_time, worker, attempt"
)


def is_sqlite_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a file that starts like an SQLite database."""
    try:
        with open(path, "rb") as file:
            return file.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC
    except OSError:
        return False


def _row_to_trial(row: tuple[Any, ...]) -> Trial:
    (trial_id, iteration, stage, index, budget, config, config_info, status, loss, info, error, start, end,
     worker, attempt) = row
    try:  # a damaged file: say which trial, not where it broke
        trial = Trial(
            trial_id=trial_id,
            config_id=(iteration, stage, index),
            config=json.loads(config),
            budget=budget,
            config_info=json.loads(config_info),
            status=TrialStatus(status),
            loss=loss,
            info=json.loads(info),
            error=error,
            start_time=start,
            end_time=end,
            worker=worker,
            attempt=attempt,
        )
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"trial {trial_id!r} is damaged: {exc}") from exc
    return trial.checked()


class SQLiteStorage(Storage):
    """A run journaled in an SQLite file (see the module docstring for the schema and durability).

    Parameters
    ----------
    path : str or Path
        The database file. It is created when the run starts; an existing file is checked (read-only) before
        anything is written to it: a file that is not an UltraOpt storage, is damaged, or holds another run is
        refused with an error and left unmodified.
    read_only : bool
        Open an existing storage for reading only (analysis while a run writes, or after it).
    synchronous : {"NORMAL", "FULL"}
        SQLite's ``synchronous`` setting (see the module docstring).

    Raises
    ------
    StorageError
        When the file cannot be used (not SQLite, not an UltraOpt storage, damaged, another format version,
        or, for writing, in use by another process).
    """

    def __init__(self, path: str | os.PathLike[str], read_only: bool = False, synchronous: str = "NORMAL"):
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', got {synchronous!r}")
        self.path = Path(path)
        if self.path.is_dir():
            raise StorageError(f"{self.path} is a directory; give the path of a file in it, such as "
                               f"{self.path / 'run.db'}")
        self.read_only = read_only
        self.synchronous = synchronous
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._header: RunHeader | None = None
        self._n_events = 0
        self._last_checkpoint = -float("inf")
        # an empty file (``touch run.db``, ``tempfile.mkstemp``) is an empty database to SQLite: a new run's place
        self._placeholder = self.path.is_file() and self.path.stat().st_size == 0
        if self.path.exists() and not self._placeholder:
            self._header, self._n_events = self._check_existing()
        elif read_only:
            raise StorageError(f"{self.path} does not exist" if not self._placeholder else f"{self.path} is empty")
        elif not self.path.parent.is_dir():
            raise StorageError(f"cannot create {self.path}: the directory {self.path.parent} does not exist")

    # ------------------------------------------------------------------ opening
    def _check_existing(self) -> tuple[RunHeader, int]:
        """Read the header of an existing file without writing to it; refuse what is not our storage."""
        with open(self.path, "rb") as file:
            start = file.read(100)
        if not start.startswith(_SQLITE_MAGIC):
            raise StorageError(f"{self.path} is not an UltraOpt storage: not an SQLite database (it starts with "
                               f"{start[:16]!r})")
        side_files = [Path(f"{self.path}{suffix}") for suffix in ("-wal", "-shm")]
        existed = [side.exists() for side in side_files]
        try:
            conn = self._read_only_connection()
            try:
                return self._read_header(conn)
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            self._remove_created_side_files(side_files, existed)
            raise StorageError(f"{self.path} is damaged (truncated or corrupt): {exc}") from exc
        except StorageError:
            self._remove_created_side_files(side_files, existed)
            raise

    def _read_only_connection(self) -> sqlite3.Connection:
        """A connection that reads the file and never writes to it.

        Without a ``-wal`` file beside it no writer has the file open and all of it is in the file: it is then
        opened immutable, as SQLite would otherwise create ``-wal``/``-shm`` files that a reader cannot remove.
        """
        immutable = "" if Path(f"{self.path}-wal").exists() else "&immutable=1"
        return sqlite3.connect(f"file:{quote(str(self.path.resolve()))}?mode=ro{immutable}", uri=True)

    @staticmethod
    def _remove_created_side_files(side_files: list[Path], existed: list[bool]) -> None:
        """Remove the empty ``-wal``/``-shm`` files a read-only look at a refused file made SQLite create."""
        wal = side_files[0]
        if existed[0] or (wal.exists() and wal.stat().st_size > 0):
            return
        for side, was_there in zip(side_files, existed):
            if not was_there:
                with contextlib.suppress(OSError):
                    side.unlink()

    def _read_header(self, conn: sqlite3.Connection) -> tuple[RunHeader, int]:
        check = conn.execute("PRAGMA quick_check").fetchall()
        if check != [("ok",)]:
            raise StorageError(f"{self.path} is damaged (truncated or corrupt): {check[:3]}")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"runs", "trials", "events", "warm_start_trials"} <= tables:
            raise StorageError(f"{self.path} is an SQLite database but not an UltraOpt storage (tables: "
                               f"{sorted(tables)})")
        row = conn.execute(
            "SELECT format, version, space, settings, budgets, meta, keep_warm_start FROM runs WHERE id = 1"
        ).fetchone()
        if row is None or row[0] != FORMAT:
            raise StorageError(f"{self.path} is not an UltraOpt storage (no run header of format {FORMAT!r})")
        if row[1] != FORMAT_VERSION:
            raise StorageError(f"{self.path} has storage format version {row[1]}; this UltraOpt reads version "
                               f"{FORMAT_VERSION}")
        warm = [Trial.from_dict(json.loads(text)) for (text,) in
                conn.execute("SELECT trial FROM warm_start_trials ORDER BY position")]
        header = RunHeader(json.loads(row[2]), json.loads(row[3]), json.loads(row[4]), json.loads(row[5]), warm,
                           bool(row[6]))
        (n_events,) = conn.execute("SELECT count(*) FROM events").fetchone()
        return header, n_events

    def _connect(self) -> sqlite3.Connection:
        """The read-write connection of the one writer (created on first use)."""
        if self._conn is None:
            assert not self.read_only, f"{self} was opened read-only"
            with self._explained_write_errors():
                return self._open_writer()
        return self._conn

    def _open_writer(self) -> sqlite3.Connection:
        if fcntl is not None:
            self._lock_fd = os.open(self.path, os.O_RDONLY)
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(self._lock_fd)
                self._lock_fd = None
                raise StorageError(f"{self.path} is in use by another run (one writer per storage)") from None
        self._conn = sqlite3.connect(self.path, isolation_level="DEFERRED")
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={self.synchronous}")
        return self._conn

    @contextlib.contextmanager
    def _explained_write_errors(self) -> Iterator[None]:
        """SQLite says "unable to open database file" or "database or disk is full" without the path: name the
        file and the likely cause."""
        try:
            yield
        except (sqlite3.OperationalError, OSError) as exc:
            if "full" in str(exc) or getattr(exc, "errno", None) == errno.ENOSPC:
                cause = "free space on its disk, and the same call resumes the run from what was committed"
            else:
                cause = "is its directory read-only, or not yours?"
            raise StorageError(f"cannot write {self.path}: {exc} ({cause})") from exc

    @property
    def header(self) -> RunHeader | None:
        return self._header

    def open_run(self, header: RunHeader) -> bool:
        resumed = super().open_run(header)
        if resumed:  # the writer's lock now, not at the first write: a second master of a live run (even a stopped
            self._connect()  # one) is refused before it starts servers or replays anything
        return resumed

    def _write_header(self, header: RunHeader) -> None:
        """Create the file under a temporary name and rename it into place, so it never exists half-made."""
        assert not self.read_only, f"{self} was opened read-only"
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.{id(self):x}.tmp")
        with self._explained_write_errors():
            temporary.unlink(missing_ok=True)
            conn = sqlite3.connect(temporary, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
        try:
            conn.execute("BEGIN")
            for statement in _statements(_SCHEMA):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO runs VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
                (FORMAT, FORMAT_VERSION, time.time(), json.dumps(header.space), json.dumps(header.settings),
                 json.dumps(header.budgets), json.dumps(header.meta), int(header.keep_warm_start)),
            )
            conn.executemany(
                "INSERT INTO warm_start_trials VALUES (?, ?)",
                ((position, json.dumps(trial.to_dict())) for position, trial in enumerate(header.warm_start)),
            )
            conn.execute("COMMIT")
        finally:
            conn.close()  # the last connection closing checkpoints the WAL into the file and removes it
        try:
            self._move_into_place(temporary)
        finally:
            temporary.unlink(missing_ok=True)
        self._header = header
        self._connect()  # the writer's lock, before another run that finds the new file can take it

    def _move_into_place(self, temporary: Path) -> None:
        """Give the new file its name unless another run created one there since this storage was opened:
        a hard link fails on an existing name, where a rename would replace the other run's journal."""
        created_meanwhile = StorageError(
            f"{self.path} was created by another run after this one opened it (one writer per storage)"
        )
        if self._placeholder:  # an empty file the user made: replace it while it is still empty
            with self._placeholder_locked(created_meanwhile):
                if self.path.exists() and self.path.stat().st_size > 0:
                    raise created_meanwhile
                os.replace(temporary, self.path)
            return
        try:
            os.link(temporary, self.path)
        except FileExistsError:
            raise created_meanwhile from None
        except OSError:  # a file system without hard links
            if self.path.exists():
                raise created_meanwhile from None
            os.replace(temporary, self.path)

    @contextlib.contextmanager
    def _placeholder_locked(self, refusal: StorageError) -> Iterator[None]:
        """Hold the empty file's lock from the check that it is still empty to the rename onto it: another run
        that found it empty too then finds it locked, or (once renamed) full, and never renames its own onto it."""
        try:
            lock_fd = None if fcntl is None else os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:  # the user removed the empty file: the new one takes its place
            lock_fd = None
        if lock_fd is None:
            yield
            return
        try:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise refusal from None
            yield
        finally:
            os.close(lock_fd)

    # ------------------------------------------------------------------ writing
    def update_meta(self, meta: dict[str, Any]) -> None:
        assert self._header is not None, "open_run() must come first"
        meta = to_jsonable(meta)
        conn = self._connect()
        with self._explained_write_errors(), conn:  # commits
            conn.execute("UPDATE runs SET meta = ? WHERE id = 1", (json.dumps(meta),))
        self._header.meta = meta

    def _append(self, kind: str, trial: Trial) -> None:
        assert self._header is not None, "open_run() must come first"
        conn = self._connect()
        with self._explained_write_errors():
            self._commit_event(conn, kind, trial)
            self._n_events += 1
            if kind == FINISHED and _clock() - self._last_checkpoint >= CHECKPOINT_INTERVAL:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # never waits for readers; copies what it can
                self._last_checkpoint = _clock()

    @staticmethod
    def _commit_event(conn: sqlite3.Connection, kind: str, trial: Trial) -> None:
        try:  # the first statement opens the transaction (isolation_level DEFERRED), commit() ends it
            if kind == CREATED:
                conn.execute(
                    f"INSERT INTO trials ({_TRIAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (trial.trial_id, *trial.config_id, trial.budget, json.dumps(trial.config),
                     json.dumps(trial.config_info), trial.status.value, trial.loss, json_text(trial.info),
                     trial.error, trial.start_time, trial.end_time, trial.worker, trial.attempt),
                )
            else:
                conn.execute(
                    "UPDATE trials SET status = ?, loss = ?, info = ?, error = ?, start_time = ?, end_time = ?, "
                    "worker = ?, attempt = ? WHERE trial_id = ?",
                    (trial.status.value, trial.loss, json_text(trial.info), trial.error, trial.start_time,
                     trial.end_time, trial.worker, trial.attempt, trial.trial_id),
                )
            conn.execute("INSERT INTO events (kind, trial_id, attempt, time) VALUES (?, ?, ?, ?)",
                         (kind, trial.trial_id, trial.attempt, time.time()))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    # ------------------------------------------------------------------ reading
    def events(self) -> Iterator[Event]:
        conn = self._conn or self._read_only_connection()
        try:
            rows = conn.execute(
                f"SELECT e.seq, e.kind, e.attempt, {', '.join('t.' + c for c in _TRIAL_COLUMNS.split(', '))} "
                "FROM events e JOIN trials t ON t.trial_id = e.trial_id ORDER BY e.seq"
            ).fetchall()
        finally:
            if conn is not self._conn:
                conn.close()
        for seq, kind, attempt, *columns in rows:
            trial = _row_to_trial(tuple(columns))
            if kind != FINISHED:  # the row holds the latest state; the event saw the trial as submitted
                trial = Trial(trial.trial_id, trial.config_id, trial.config, trial.budget, trial.config_info,
                              TrialStatus.CANCELLED if kind == CANCELLED else TrialStatus.RUNNING,
                              error=trial.error if kind == CANCELLED else None, attempt=attempt)
            yield Event(seq, kind, trial)

    @property
    def n_events(self) -> int:
        return self._n_events

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_fd is not None:  # closed after SQLite's own descriptors: see fcntl(2) on lock release
            os.close(self._lock_fd)
            self._lock_fd = None

    def __repr__(self) -> str:
        return f"SQLiteStorage({str(self.path)!r})"


def _statements(script: str) -> list[str]:
    return [statement.strip() for statement in script.split(";") if statement.strip()]
