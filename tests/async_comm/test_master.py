"""The seed's Master on the core loop: its parameters, incumbents, hooks and shutdown (workers in threads)."""

from __future__ import annotations

import time

import pytest

from tests.async_comm.helpers import Background, make_master, wait_until
from ultraopt.async_comm.master import Master
from ultraopt.async_comm.worker import Worker
from ultraopt.multi_fidelity import CustomIterGenerator
from ultraopt.optimizer import RandomOptimizer
from ultraopt.result import FMinResult
from ultraopt.storage.memory import InMemoryStorage
from ultraopt.trial import TrialStatus


@pytest.fixture
def start_workers(nameserver):
    started = []

    def start(n, func=lambda config, budget: (config["x"] - 1) ** 2 / budget, **kwargs):
        for _ in range(n):
            worker = Worker(nameserver.run_id, **kwargs).initialize(func)
            worker.run(background=True)
            started.append(worker)
        return started

    yield start
    for worker in started:
        worker.shutdown()
        worker.thread.join(5)


def test_a_run_with_budgets_keeps_incumbents_and_logs_every_result(nameserver, start_workers, space):
    workers = start_workers(2)
    logged, progress = [], []
    generator = CustomIterGenerator([[4, 2]], [[1, 3]])
    master = make_master(nameserver.run_id, space, generator, result_logger=logged.append,
                         progress_callback=lambda result, trial: progress.append(len(result.trials)),
                         incumbents={3.0: {"x": 1.0}}, incumbent_performances={3.0: -1.0})
    try:
        result = master.run(n_iterations=2, min_n_workers=2)
    finally:
        master.shutdown(shutdown_workers=True)
    assert len(result.trials) == 12 and len(logged) == 12 and progress == list(range(1, 13))
    assert master.incumbent_performances[1.0] == result.incumbent_performances[1.0]
    assert master.incumbents[1.0] == result.incumbents[1.0]
    assert master.incumbents[3.0] == {"x": 1.0} and master.incumbent_performances[3.0] == -1.0  # still the best
    assert master.active_iterations() == []
    for worker in workers:  # shutdown_workers stopped them
        worker.thread.join(5)
        assert not worker.thread.is_alive()


def test_run_adds_iterations_and_the_next_iteration_hook_is_used(nameserver, start_workers, space):
    start_workers(1)
    made = []

    class CountingMaster(Master):
        def get_next_iteration(self, iteration, iteration_kwargs):
            made.append(iteration)
            return super().get_next_iteration(iteration, iteration_kwargs)

    optimizer = RandomOptimizer()
    optimizer.initialize(space, random_state=1)
    master = CountingMaster(nameserver.run_id, optimizer, CustomIterGenerator([1], [1.0]))
    try:
        assert len(master.run(n_iterations=3).trials) == 3
        assert len(master.run(n_iterations=2).trials) == 5
    finally:
        master.shutdown()
    assert made == [0, 1, 2, 3, 4]


def test_a_bad_n_iterations_is_refused_and_leaves_the_master_usable(nameserver, start_workers, space):
    start_workers(1)
    master = make_master(nameserver.run_id, space)
    try:
        for bad, error in ((-2, ValueError), (0, ValueError), (1.5, TypeError), (True, TypeError)):
            with pytest.raises(error, match=rf"^n_iterations must be a positive int, got {bad!r}$"):
                master.run(n_iterations=bad)
        # a refused count was not added: it would be taken off (or break) the later runs
        assert len(master.run(n_iterations=2).trials) == 2
    finally:
        master.shutdown()


def test_a_worker_that_joins_gets_a_trial_without_waiting_for_a_result(nameserver, start_workers, space):
    starts = []

    def slow(config):
        starts.append(time.monotonic())
        time.sleep(4)
        return 0.0

    start_workers(1, func=slow)
    master = make_master(nameserver.run_id, space)
    try:
        run = Background(lambda: master.run(n_iterations=2, min_n_workers=1))
        wait_until(lambda: starts, what="the first trial")
        start_workers(1, func=slow)
        result = run.result()
    finally:
        master.shutdown(shutdown_workers=True)
    assert len(result.trials_with_status(TrialStatus.SUCCESS)) == 2
    # the second worker started its trial while the first one still ran (not once it came back, 4 s later)
    assert starts[1] - starts[0] < 3


def test_time_left_for_this_task_stops_the_run(nameserver, start_workers, space):
    start_workers(2, func=lambda config: time.sleep(0.3) or 0.0)
    master = make_master(nameserver.run_id, space, time_left_for_this_task=1.0)
    start = time.monotonic()
    try:
        result = master.run(n_iterations=100, min_n_workers=2)
    finally:
        master.shutdown()
    assert time.monotonic() - start < 5
    assert master._loop.stop_reason == "time limit"
    assert 2 <= len(result.trials_with_status(TrialStatus.SUCCESS)) < 20
    # trials running at the limit (if any) are recorded as cancelled, not lost
    assert {t.status for t in result.trials} <= {TrialStatus.SUCCESS, TrialStatus.CANCELLED}


def test_time_left_for_this_task_counts_the_wait_for_workers(nameserver, space):
    master = make_master(nameserver.run_id, space, time_left_for_this_task=1.0)
    start = time.monotonic()
    try:
        result = master.run(n_iterations=1, min_n_workers=1)  # no worker ever comes
    finally:
        master.shutdown()
    assert time.monotonic() - start < 10 and master._loop.stop_reason == "time limit" and result.trials == []


def test_a_master_shut_down_while_it_waits_for_workers_stops_waiting(nameserver, space):
    master = make_master(nameserver.run_id, space)
    run = Background(lambda: master.run(n_iterations=1, min_n_workers=1))
    time.sleep(0.5)
    master.shutdown()
    with pytest.raises(RuntimeError, match="was shut down while it waited for workers"):
        run.result(timeout=30)
    with pytest.raises(RuntimeError, match="was shut down: make a new Master"):
        master.run(n_iterations=1)


def test_ctrl_c_while_the_master_waits_for_workers_keeps_the_result_and_says_why(nameserver, space, tmp_path,
                                                                                 monkeypatch):
    # the KeyboardInterrupt went through run() as a traceback, and the stored run had no stop reason
    path = tmp_path / "run.db"
    master = make_master(nameserver.run_id, space, checkpoint_file=path)

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(master.executor, "wait_for_workers", ctrl_c)
    try:
        result = master.run(n_iterations=1, min_n_workers=1)
    finally:
        master.shutdown()
    assert result.trials == [] and result.meta["stop_reason"] == "interrupted"
    assert FMinResult.load(path).meta["stop_reason"] == "interrupted"


def test_run_again_after_the_time_limit_runs_more_iterations(nameserver, start_workers, space):
    """The trials cancelled at the limit free their slots: the next run() has room for its iterations."""
    start_workers(2, func=lambda config: time.sleep(0.4) or 0.0)
    master = make_master(nameserver.run_id, space, time_left_for_this_task=1.5)
    try:
        first = master.run(n_iterations=10, min_n_workers=2)  # needs 2 s
        assert master._loop.stop_reason == "time limit"
        cancelled = len(first.trials_with_status(TrialStatus.CANCELLED))
        successes = len(first.trials_with_status(TrialStatus.SUCCESS))
        assert cancelled > 0
        assert master.executor.n_running == 0 and master.executor.n_free_slots == 2
        second = master.run(n_iterations=2, min_n_workers=2)
    finally:
        master.shutdown()
    assert master._loop.stop_reason != "time limit"  # the iterations left and the 2 more, in under 1.5 s
    assert len(second.trials_with_status(TrialStatus.SUCCESS)) >= successes + 2
    assert len(second.trials_with_status(TrialStatus.CANCELLED)) == cancelled  # never run again nor reported


@pytest.mark.parametrize(("sizes", "dynamic", "expected"), [
    ((-1, 0), True, {0: (0, 1), 1: (0, 1), 3: (2, 3)}),
    ((0, 1), True, {0: (0, 1), 3: (3, 4)}),
    ((2, 5), False, {0: (2, 5), 3: (2, 5)}),
])
def test_job_queue_sizes(nameserver, space, sizes, dynamic, expected):
    master = make_master(nameserver.run_id, space, job_queue_sizes=sizes, dynamic_queue_size=dynamic)
    try:
        assert {n: master.adjust_queue_size(n) for n in expected} == expected
    finally:
        master.shutdown()


def test_the_queue_is_topped_up_only_at_the_low_mark(nameserver, start_workers, space):
    """(0, 1) with one worker: one trial computing and one waiting; the master never holds more."""
    start_workers(1, func=lambda config: time.sleep(0.05) or 0.0)
    master = make_master(nameserver.run_id, space, job_queue_sizes=(0, 1))
    held = []
    original = master.executor.submit

    def submit(trial):
        original(trial)
        held.append(master.executor.n_running)

    master.executor.submit = submit
    try:
        master.run(n_iterations=10)
    finally:
        master.shutdown()
    assert max(held) == 2


class Crash(BaseException):
    """Stands for the master's process dying."""


class _CountingProgress:
    """A progress callback with ProgressBar's catch_up."""

    def __init__(self):
        self.caught_up = self.seen = 0

    def __call__(self, result, trial):
        self.seen += 1

    def catch_up(self, result, n_trials):
        self.caught_up += n_trials


def test_a_checkpoint_file_resumes_the_run_and_previous_result_warm_starts(nameserver, start_workers, space,
                                                                           tmp_path):
    start_workers(2)
    path = tmp_path / "run.db"
    generator = CustomIterGenerator([[4, 2]], [[1, 3]])

    def crash_at_the_fifth(result, trial):
        if len(result.trials) == 5:
            raise Crash

    first = make_master(nameserver.run_id, space, generator, checkpoint_file=path, shutdown_workers=False,
                        progress_callback=crash_at_the_fifth)
    with pytest.raises(Crash):
        first.run(n_iterations=3, min_n_workers=2)
    first.shutdown()
    before = [t.to_dict() for t in FMinResult.load(path).trials if t.status is not TrialStatus.CANCELLED]
    assert len(before) == 5
    progress = _CountingProgress()
    second = make_master(nameserver.run_id, space, generator, checkpoint_file=path, checkpoint_freq=1,
                         shutdown_workers=False, progress_callback=progress)
    try:
        result = second.run(n_iterations=3, min_n_workers=2)
    finally:
        second.shutdown()
    assert len(result.trials) == 18 and [t.to_dict() for t in result.trials[:5]] == before
    assert (progress.caught_up, progress.seen) == (5, 13)  # a progress bar counts the restored trials too
    assert second.incumbent_performances == result.incumbent_performances  # restored trials count there too
    assert [t.to_dict() for t in FMinResult.load(path).trials] == [t.to_dict() for t in result.trials]
    with pytest.raises(ValueError, match="setting 'schedule.brackets'"):
        make_master(nameserver.run_id, space, CustomIterGenerator([1], [1.0]), checkpoint_file=path)
    warm = make_master(nameserver.run_id, space, generator, previous_result=path, shutdown_workers=False)
    try:
        assert len(warm._loop.optimizer.observations[1.0]) == 0  # told when the run starts
        fresh = warm.run(n_iterations=1, min_n_workers=2)
    finally:
        warm.shutdown(shutdown_workers=True)
    assert len(fresh.trials) == 6 and len(warm._loop.optimizer.observations[1.0]) == 12 + 4


def test_a_finished_run_started_again_returns_its_result_without_waiting_for_workers(nameserver, start_workers,
                                                                                    space, tmp_path):
    # its workers were shut down when it finished: the requeued master waited for them forever
    start_workers(1)
    path = tmp_path / "run.db"
    first = make_master(nameserver.run_id, space, checkpoint_file=path)
    try:
        done = first.run(n_iterations=3)
    finally:
        first.shutdown(shutdown_workers=True)
    again = make_master(nameserver.run_id, space, checkpoint_file=path, time_left_for_this_task=5)
    try:
        result = again.run(n_iterations=3, min_n_workers=1)  # without the time limit, it would wait for ever
    finally:
        again.shutdown()
    assert [t.to_dict() for t in result.trials] == [t.to_dict() for t in done.trials]
    assert result.meta["stop_reason"] == "finished" and again.incumbent_performances == {1.0: done.best_loss}


class _WatchedStorage(InMemoryStorage):
    """A storage that records whether it was closed."""

    closed = False

    def close(self):
        self.closed = True
        super().close()


def test_a_master_refused_by_a_live_one_releases_its_checkpoint(nameserver, space):
    storage = _WatchedStorage()
    first = make_master(nameserver.run_id, space)
    try:
        with pytest.raises(RuntimeError, match="already has a dispatcher that answers"):
            make_master(nameserver.run_id, space, checkpoint_file=storage)
    finally:
        first.shutdown()
    assert storage.closed  # there is no Master to shut down: the constructor had to close it


def test_the_optimizer_must_be_initialized(space):
    with pytest.raises(ValueError, match="initialize the optimizer"):
        Master("uninitialized", RandomOptimizer(), CustomIterGenerator([1], [1.0]))


def test_a_run_without_a_name_server_says_how_to_find_one(space, monkeypatch):
    monkeypatch.delenv("ULTRAOPT_SECRET", raising=False)
    with pytest.raises(ValueError, match="nameserver_port") as refused:
        make_master("no-nameserver", space)
    assert "working_directory= of a Master" in str(refused.value)  # what a Master takes, not only what workers do


def test_ctrl_c_during_the_shutdown_waits_for_it_to_finish(nameserver, space):
    # pressed again while the dispatcher closed, it stopped the shutdown half-way with a Pyro5 traceback
    import os
    import signal

    storage = _WatchedStorage()
    master = make_master(nameserver.run_id, space, checkpoint_file=storage)
    shutdown = master.executor.shutdown

    def interrupted_shutdown():
        os.kill(os.getpid(), signal.SIGINT)
        shutdown()

    master.executor.shutdown = interrupted_shutdown
    with pytest.raises(KeyboardInterrupt):
        master.shutdown()
    assert storage.closed and master.executor.dispatcher._stop.is_set()
    fresh = make_master(nameserver.run_id, space)  # the run's dispatcher is gone: another master may serve it
    fresh.shutdown()
