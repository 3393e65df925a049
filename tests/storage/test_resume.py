"""Resume: a run rebuilt from its journal ends exactly as an uninterrupted run would, whatever the crash point."""

import logging
import random
from collections import Counter

import pytest

from tests.conftest import quadratic
from ultraopt.executors.base import Executor
from ultraopt.master import Master
from ultraopt.multi_fidelity import CustomIterGenerator
from ultraopt.objective import Objective
from ultraopt.optimizer import RandomOptimizer
from ultraopt.replay import ReplayError
from ultraopt.result import FMinResult
from ultraopt.storage import InMemoryStorage, RunHeader, SQLiteStorage
from ultraopt.trial import TrialStatus

BRACKETS = CustomIterGenerator([[9, 3, 1], [3, 1]], [[1, 3, 9], [3, 9]])


class Crash(BaseException):
    """Stands for the process dying: nothing after it is journaled (the crash cuts the Master's storage off)."""


class CutOff:
    """The storage of a process that died: it records nothing more."""

    def __getattr__(self, name):
        return lambda *args: None


class ShufflingExecutor(Executor):
    """Holds up to ``n_slots`` trials and finishes one at random per wait: results come back out of order."""

    def __init__(self, n_slots=3, seed=0):
        self.slots, self.rng, self.submitted = n_slots, random.Random(seed), []

    def start(self, objective):
        self.objective = objective

    def submit(self, trial):
        self.submitted.append(trial)

    def wait(self, timeout=None):
        trial = self.submitted.pop(self.rng.randrange(len(self.submitted)))
        return [self.objective(trial.config, trial.budget).apply_to(trial, worker="w")]

    @property
    def n_slots(self):
        return self.slots

    @property
    def n_running(self):
        return len(self.submitted)


def objective(config, budget):
    if "x" not in config:  # the small discrete space
        return config["b"] + budget
    return quadratic(config) / budget


def make_master(space, storage, generator=BRACKETS, crash_at=None, seed=0):
    optimizer = RandomOptimizer()
    optimizer.initialize(space, budgets=generator.get_budgets(), random_state=seed)
    executor = ShufflingExecutor(seed=seed)
    executor.start(Objective(objective))

    if storage.header is None:
        storage.open_run(RunHeader(space.to_serialized_dict(), {}, generator.get_budgets()))
    master = Master(optimizer, generator, executor, FMinResult(space, generator.get_budgets()), storage=storage)

    def crash(result, trial):
        if len(result.trials) == crash_at:
            master.storage = CutOff()
            raise Crash

    master.callbacks.append(crash)
    return master


def finished_trials(result):
    return [t for t in result.trials if t.status is not TrialStatus.CANCELLED]


@pytest.fixture(params=["memory", "sqlite"])
def storage(request, tmp_path):
    storage = InMemoryStorage() if request.param == "memory" else SQLiteStorage(tmp_path / "run.db")
    yield storage
    storage.close()


def test_crashes_at_any_point_end_with_exactly_the_schedule(storage, quadratic_space):
    n_iterations = 4
    uninterrupted = make_master(quadratic_space, InMemoryStorage()).run(n_iterations)
    expected = Counter(t.budget for t in uninterrupted.trials)
    assert sum(expected.values()) == BRACKETS.num_all_configs(n_iterations) == 34
    seen_before = []
    for session, crash_at in enumerate([5, 13, 14, 31, None]):
        master = make_master(quadratic_space, storage, crash_at=crash_at, seed=session)
        if crash_at is None:
            result = master.run(n_iterations)
            break
        with pytest.raises(Crash):
            master.run(n_iterations)
        seen_before.append({t.trial_id: t.to_dict() for t in finished_trials(master.result)})
    assert Counter(t.budget for t in result.trials) == expected
    assert all(t.status is TrialStatus.SUCCESS for t in result.trials) and master.stop_reason == "finished"
    assert len({(t.config_id, t.budget) for t in result.trials}) == 34
    final = {t.trial_id: t.to_dict() for t in result.trials}
    for before in seen_before:  # every trial finished before a crash is there, unchanged
        assert all(final[trial_id] == trial for trial_id, trial in before.items())
    assert all(iteration.is_finished for iteration in master.iterations) and len(master.iterations) == 4
    assert any(t.attempt > 1 for t in result.trials)  # running at a crash, ran again
    assert sorted(final) == list(range(len(final)))


def test_the_replayed_state_is_the_state_at_the_crash(quadratic_space):
    storage = InMemoryStorage()
    crashed = make_master(quadratic_space, storage, crash_at=17)
    running_at_crash = pending_at_crash = None

    def remember(result, trial):
        nonlocal running_at_crash, pending_at_crash
        running_at_crash = sorted(crashed._running)
        pending_at_crash = sorted(map(sorted, (c.items() for c in crashed.optimizer.pending_configs)))

    crashed.callbacks.insert(0, remember)
    with pytest.raises(Crash):
        crashed.run(4)
    resumed = make_master(quadratic_space, storage, seed=1)
    resumed.restore(4)
    assert [t.to_dict() for t in resumed.result.trials] == [t.to_dict() for t in finished_trials(crashed.result)]
    assert sorted(resumed._running) == running_at_crash and list(resumed._to_submit) == running_at_crash
    assert [repr(it) for it in resumed.iterations] == [repr(it) for it in crashed.iterations]
    assert [it.stage for it in resumed.iterations] == [it.stage for it in crashed.iterations]
    assert sorted(map(sorted, (c.items() for c in resumed.optimizer.pending_configs))) == pending_at_crash
    assert pending_at_crash  # the crash point leaves new configs running, so the check above means something
    assert len(resumed.optimizer.observations[1.0]) == sum(t.budget == 1.0 for t in resumed.result.trials)


def test_no_config_is_proposed_twice_across_sessions(small_discrete_space):
    storage = InMemoryStorage()
    generator = CustomIterGenerator([1], [1.0])
    with pytest.raises(Crash):
        make_master(small_discrete_space, storage, generator, crash_at=5).run(12)
    result = make_master(small_discrete_space, storage, generator, seed=0).run(12)
    assert len(result.trials) == 12
    assert len({tuple(sorted(t.config.items())) for t in result.trials}) == 12  # the whole space, once


def test_a_run_stopped_by_a_limit_continues_and_a_run_can_be_extended(quadratic_space):
    storage = InMemoryStorage()
    first = make_master(quadratic_space, storage)
    first.callbacks.append(lambda result, trial: len(result.trials) >= 10)
    first.run(4)
    assert first.stop_reason == "callback"
    assert len(make_master(quadratic_space, storage, seed=1).run(4).trials) == 34
    assert len(make_master(quadratic_space, storage, seed=2).run(6).trials) == BRACKETS.num_all_configs(6)


def test_trials_a_clean_stop_cancels_run_again_without_using_up_their_attempts(storage, quadratic_space):
    # each session stopping by a limit once looked like a crash: the trials it cancelled were lost after a few
    # sessions, and the first of them stopped the run as if the objective were broken
    def stop_after(n):
        calls = []
        return lambda result, trial: calls.append(trial) or len(calls) >= n

    for session in range(6):
        master = make_master(quadratic_space, storage, seed=session)
        master.callbacks.append(stop_after(2))
        master.run(4)
        assert master.stop_reason == "callback"
        assert any(t.status is TrialStatus.CANCELLED for t in master.result.trials)
    result = make_master(quadratic_space, storage, seed=9).run(4)
    assert len(result.trials) == 34 and all(t.status is TrialStatus.SUCCESS for t in result.trials)
    assert {t.attempt for t in result.trials} == {1}
    assert [t.status for t in storage.load_result().unfinished] == []


def test_trials_lost_to_dead_sessions_are_no_sign_of_a_broken_objective(storage, quadratic_space):
    # killed sessions left both trials running four times: lost on resume, and the run stopped with an
    # ObjectiveError although the objective had never failed
    from tests.storage.test_contract import created

    generator = CustomIterGenerator([1], [1.0])
    storage.open_run(RunHeader(quadratic_space.to_serialized_dict(), {}, generator.get_budgets()))
    for trial_id in (0, 1):
        trial = created(trial_id, {"x": 0.5, "c": "a"})
        storage.record_created(trial)
        trial.attempt = 4
        storage.record_restarted(trial)
    master = make_master(quadratic_space, storage, generator)
    result = master.run(2)
    assert [t.status for t in result.trials] == [TrialStatus.LOST, TrialStatus.LOST]
    assert master.stop_reason == "finished"


class OtherProcessExecutor(ShufflingExecutor):
    """Runs trials in other processes (worker machines): a dead Master session says nothing of them."""

    runs_trials_in_master_process = False


def test_trials_running_in_other_processes_survive_any_number_of_dead_sessions(storage, quadratic_space):
    # a Pyro5 worker ran a trial to the end three times while masters were killed and restarted around it: the
    # fifth session recorded it lost, although it could not have taken a master down
    from tests.storage.test_contract import created

    generator = CustomIterGenerator([1], [1.0])
    storage.open_run(RunHeader(quadratic_space.to_serialized_dict(), {}, generator.get_budgets()))
    trial = created(0, {"x": 0.5, "c": "a"})
    storage.record_created(trial)
    for _ in range(4):  # four sessions died while it ran
        storage.record_restarted(trial)
    master = make_master(quadratic_space, storage, generator)
    master.executor = OtherProcessExecutor()
    master.executor.start(Objective(objective))
    result = master.run(1)
    assert [(t.status, t.attempt) for t in result.trials] == [(TrialStatus.SUCCESS, 1)]


def test_a_journal_of_another_schedule_is_refused(quadratic_space):
    storage = InMemoryStorage()
    with pytest.raises(Crash):
        make_master(quadratic_space, storage, crash_at=12).run(4)
    other = CustomIterGenerator([[4, 2, 1]], [[1, 3, 9]])
    with pytest.raises(ReplayError, match="the schedule asks for config"):
        make_master(quadratic_space, storage, other).run(4)


def test_asking_for_fewer_iterations_than_stored_keeps_what_was_begun(quadratic_space, caplog):
    storage = InMemoryStorage()
    with pytest.raises(Crash):
        make_master(quadratic_space, storage, crash_at=20).run(4)  # iterations 0 and 1 done, 2 begun
    master = make_master(quadratic_space, storage, seed=1)
    with caplog.at_level(logging.WARNING, logger="ultraopt.replay"):
        result = master.run(1)
    assert "holds 3 iteration(s), more than the 1 asked for" in caplog.text
    assert len(master.iterations) == 3 and all(iteration.is_finished for iteration in master.iterations)
    assert len(result.trials) == BRACKETS.num_all_configs(3)


@pytest.mark.parametrize("promotion", ["sync", "async"])
def test_hyperband_resumes_with_either_promotion(quadratic_space, promotion):
    from ultraopt.multi_fidelity import HyperBandIterGenerator

    generator = HyperBandIterGenerator(min_budget=1 / 9, max_budget=1, eta=3, promotion=promotion)
    expected = Counter(t.budget for t in make_master(quadratic_space, InMemoryStorage(), generator).run(5).trials)
    storage = InMemoryStorage()
    for session, crash_at in enumerate([4, 9, 10, 22]):
        with pytest.raises(Crash):
            make_master(quadratic_space, storage, generator, crash_at=crash_at, seed=session).run(5)
    master = make_master(quadratic_space, storage, generator, seed=9)
    result = master.run(5)
    assert Counter(t.budget for t in result.trials) == expected and len(result.trials) == generator.num_all_configs(5)
    assert len({(t.config_id, t.budget) for t in result.trials}) == len(result.trials)
    assert all(iteration.is_finished for iteration in master.iterations)
