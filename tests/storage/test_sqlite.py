"""The SQLite storage: files that are not ours are refused untouched; one writer; readers while it writes."""

import os
import sqlite3

import pytest

from tests.storage.test_contract import created, finish, header_for
from ultraopt.result import FMinResult
from ultraopt.storage import SQLiteStorage, StorageError


def fingerprint(path):
    return path.read_bytes(), os.stat(path).st_mtime_ns


@pytest.fixture
def stored_run(tmp_path, quadratic_space):
    """A storage file holding a run of 40 finished trials, closed."""
    path = tmp_path / "run.db"
    storage = SQLiteStorage(path)
    storage.open_run(header_for(quadratic_space))
    for trial_id in range(40):
        trial = created(trial_id, {"x": trial_id / 10, "c": "a"})
        storage.record_created(trial)
        storage.record_finished(finish(trial, trial_id / 10))
    storage.close()
    return path


def test_a_foreign_file_is_refused_and_left_as_it_was(tmp_path, quadratic_space):
    path = tmp_path / "notes.db"
    path.write_text("my notes, not a database\n" * 10)
    before = fingerprint(path)
    with pytest.raises(StorageError, match="not an SQLite database"):
        SQLiteStorage(path)
    with pytest.raises(ValueError, match="neither a JSON UltraOpt result nor a checkpoint file"):
        FMinResult.load(path)
    assert fingerprint(path) == before and sorted(os.listdir(tmp_path)) == ["notes.db"]


def test_an_sqlite_file_of_another_program_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE runs (id INTEGER, name TEXT)")
    conn.commit()
    conn.close()
    before = fingerprint(path)
    with pytest.raises(StorageError, match="not an UltraOpt storage"):
        SQLiteStorage(path)
    assert fingerprint(path) == before and sorted(os.listdir(tmp_path)) == ["other.db"]


def test_a_truncated_storage_is_refused_and_left_as_it_was(stored_run, quadratic_space):
    data = stored_run.read_bytes()
    stored_run.write_bytes(data[: len(data) // 2])
    before = fingerprint(stored_run)
    with pytest.raises(StorageError, match="damaged"):
        SQLiteStorage(stored_run)
    with pytest.raises(StorageError, match="damaged"):
        FMinResult.load(stored_run)
    assert fingerprint(stored_run) == before
    assert sorted(os.listdir(stored_run.parent)) == ["run.db"]


def test_a_storage_of_another_space_is_refused_and_left_as_it_was(stored_run, conditional_space):
    before = fingerprint(stored_run)
    storage = SQLiteStorage(stored_run)
    with pytest.raises(ValueError, match="hyperparameter 'x' is only in the stored run"):
        storage.open_run(header_for(conditional_space))
    storage.close()
    assert fingerprint(stored_run) == before


def test_one_writer_at_a_time(stored_run, quadratic_space):
    first = SQLiteStorage(stored_run)
    first.open_run(header_for(quadratic_space))
    second = SQLiteStorage(stored_run)
    # refused on opening the run, before its master starts servers or replays the journal: the first master may
    # be stopped (SIGSTOP) rather than dead, and must find its run as it left it
    with pytest.raises(StorageError, match="in use by another run"):
        second.open_run(header_for(quadratic_space))
    first.record_created(created(40, {"x": 4.0, "c": "a"}))
    first.close()
    second.close()


def test_readers_see_every_committed_trial_while_the_writer_writes(stored_run, quadratic_space):
    writer = SQLiteStorage(stored_run)
    writer.open_run(header_for(quadratic_space))
    trial = created(40, {"x": 4.0, "c": "a"})
    writer.record_created(trial)
    writer.record_finished(finish(trial, 0.01))
    loaded = FMinResult.load(stored_run)  # read-only, while the writer holds the file
    assert len(loaded.trials) == 41 and loaded.best_loss == 0.0
    writer.close()


def test_reading_a_closed_run_leaves_no_file_behind(stored_run):
    # SQLite made -wal and -shm files for the reader, which cannot remove them: `ultraopt show` left them there
    before = sorted(os.listdir(stored_run.parent))
    assert len(FMinResult.load(stored_run).trials) == 40
    assert sorted(os.listdir(stored_run.parent)) == before == ["run.db"]


def test_the_trials_table_answers_plain_sql(stored_run):
    conn = sqlite3.connect(f"file:{stored_run}?mode=ro", uri=True)
    rows = conn.execute("SELECT count(*), min(loss), max(attempt) FROM trials WHERE status = 'success'").fetchone()
    kinds = conn.execute("SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind").fetchall()
    conn.close()
    assert rows == (40, 0.0, 1) and kinds == [("created", 40), ("finished", 40)]


def test_a_new_file_appears_complete_or_not_at_all(tmp_path, quadratic_space, monkeypatch):
    path = tmp_path / "new.db"

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "link", crash)
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        SQLiteStorage(path).open_run(header_for(quadratic_space))
    assert not path.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("first_closes", [True, False])
def test_a_run_that_found_no_file_never_replaces_one_created_since(tmp_path, quadratic_space, first_closes):
    # two launches of one job a moment apart: both saw no file when they opened it
    path = tmp_path / "run.db"
    first, second = SQLiteStorage(path), SQLiteStorage(path)
    first.open_run(header_for(quadratic_space))
    trial = created(0, {"x": 0.5, "c": "a"})
    first.record_created(trial)
    first.record_finished(finish(trial, 0.25))
    if first_closes:
        first.close()
    with pytest.raises(StorageError, match="created by another run"):
        second.open_run(header_for(quadratic_space))
    first.close()
    assert [t.loss for t in FMinResult.load(path).trials] == [0.25]


def test_an_empty_file_takes_a_new_run(tmp_path, quadratic_space):
    path = tmp_path / "run.db"
    path.touch()  # as tempfile.mkstemp(suffix=".db") leaves it
    storage = SQLiteStorage(path)
    storage.open_run(header_for(quadratic_space))
    trial = created(0, {"x": 0.5, "c": "a"})
    storage.record_created(trial)
    storage.record_finished(finish(trial, 0.25))
    storage.close()
    assert [t.loss for t in FMinResult.load(path).trials] == [0.25]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the advisory lock (flock) is POSIX's")
def test_two_runs_that_found_one_empty_file_never_both_take_it(tmp_path, quadratic_space, monkeypatch):
    # both saw the empty file; each checked it was still empty, then renamed its new file onto it: the later
    # rename replaced the earlier run's journal while that run kept writing to the unlinked one
    path = tmp_path / "run.db"
    path.touch()
    first, second = SQLiteStorage(path), SQLiteStorage(path)
    replace, calls, refusals = os.replace, [], []

    def second_run_between_check_and_rename(source, target):
        calls.append(target)
        if len(calls) == 1:
            with pytest.raises(StorageError, match="another run") as refused:
                second.open_run(header_for(quadratic_space))
            refusals.append(refused.value)
        replace(source, target)

    monkeypatch.setattr(os, "replace", second_run_between_check_and_rename)
    first.open_run(header_for(quadratic_space))
    trial = created(0, {"x": 0.5, "c": "a"})
    first.record_created(trial)
    first.record_finished(finish(trial, 0.25))
    first.close()
    second.close()
    assert len(refusals) == 1 and [t.loss for t in FMinResult.load(path).trials] == [0.25]


def test_a_file_in_a_missing_directory_is_refused_by_name(tmp_path):
    with pytest.raises(StorageError, match="the directory .*missing does not exist"):
        SQLiteStorage(tmp_path / "missing" / "run.db")


def test_a_directory_is_refused_by_name(tmp_path):
    with pytest.raises(StorageError, match="is a directory; give the path of a file in it, such as .*run.db"):
        SQLiteStorage(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_directory_without_write_permission_is_named(tmp_path, quadratic_space):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(StorageError, match=f"cannot write {locked / 'run.db'}: .*read-only, or not yours"):
            SQLiteStorage(locked / "run.db").open_run(header_for(quadratic_space))
    finally:
        locked.chmod(0o700)


def test_sqlite_errors_opening_the_writer_name_the_file(tmp_path, quadratic_space, monkeypatch):
    def refuse(*args, **kwargs):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr("ultraopt.storage.sqlite.sqlite3.connect", refuse)
    with pytest.raises(StorageError, match=f"cannot write {tmp_path / 'run.db'}: unable to open database file"):
        SQLiteStorage(tmp_path / "run.db").open_run(header_for(quadratic_space))


def count_finished_in_file_alone(path, tmp_path):
    """How many finished trials a copy of the main file holds without its ``-wal`` beside it."""
    copy = tmp_path / "copied" / "run.db"
    copy.parent.mkdir(exist_ok=True)
    copy.write_bytes(path.read_bytes())
    return sum(trial.status.value == "success" for trial in FMinResult.load(copy).trials)


@pytest.fixture
def writer(tmp_path, quadratic_space):
    """A new run's storage at ``tmp_path / "run.db"``, open for writing."""
    storage = SQLiteStorage(tmp_path / "run.db")
    storage.open_run(header_for(quadratic_space))
    yield storage
    storage.close()


def record_trial(storage, trial_id, info=None):
    trial = created(trial_id, {"x": trial_id / 10, "c": "a"})
    storage.record_created(trial)
    trial = finish(trial, trial_id / 10)
    trial.info = info if info is not None else trial.info
    storage.record_finished(trial)


def test_a_finished_trial_reaches_the_main_file_not_only_the_wal(writer, tmp_path):
    # a user who moves or copies run.db alone (after a kill, or of a live run) must not lose finished trials that
    # sat in run.db-wal: the first finished trial is checkpointed at once, later ones at least once a second
    record_trial(writer, 0)
    assert count_finished_in_file_alone(writer.path, tmp_path) == 1


def test_trials_finished_within_the_checkpoint_interval_reach_the_main_file_after_it(writer, tmp_path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("ultraopt.storage.sqlite._clock", lambda: clock[0])
    for trial_id in range(3):
        record_trial(writer, trial_id)
    assert count_finished_in_file_alone(writer.path, tmp_path) == 1  # the 2nd and 3rd came within the interval
    clock[0] += 1.5
    record_trial(writer, 3)
    assert count_finished_in_file_alone(writer.path, tmp_path) == 4


def test_a_nan_in_info_is_stored_as_standard_json_null(writer):
    # Python's bare NaN made SQLite's json_extract fail ("malformed JSON") on the whole column, and the info read
    # back differed from that of the run's saved JSON result (null)
    record_trial(writer, 0, info={"score": float("nan"), "fold": [1.0, float("inf")]})
    writer.close()
    conn = sqlite3.connect(f"file:{writer.path}?mode=ro", uri=True)
    (score,) = conn.execute("SELECT json_extract(info, '$.score') FROM trials").fetchone()
    conn.close()
    assert score is None
    assert FMinResult.load(writer.path).trials[0].info == {"score": None, "fold": [1.0, None]}
