"""The simulated executor: the executor contract, and time that passes only on its virtual clock."""

import time

import pytest

from tests.executors.contract import ExecutorContract, make_trial, run_all, square
from ultraopt.executors import SimulatedExecutor, VirtualClock
from ultraopt.objective import Objective
from ultraopt.trial import TrialStatus


class TestSimulatedExecutorContract(ExecutorContract):
    parallelism = 3

    def make_executor(self):
        return SimulatedExecutor(n_workers=3)


def with_cost(config, budget):
    return {"loss": config["x"], "cost": 10.0 * config["x"]}


def test_trials_last_their_reported_cost_on_the_virtual_clock():
    executor = SimulatedExecutor(n_workers=2)
    executor.start(Objective(with_cost))
    wall = time.monotonic()
    for i, x in enumerate([3.0, 1.0]):
        executor.submit(make_trial(i, x))
    assert executor.n_free_slots == 0
    (first,) = executor.wait()
    assert first.trial_id == 1 and (first.start_time, first.end_time) == (0.0, 10.0) and executor.clock() == 10.0
    executor.submit(make_trial(2, 0.5))  # starts at t=10 on the worker that just became free
    finished = executor.wait()
    assert [t.trial_id for t in finished] == [2] and finished[0].end_time == 15.0
    assert finished[0].worker == first.worker
    (last,) = executor.wait()
    assert last.trial_id == 0 and last.end_time == 30.0
    assert executor.busy_time == 30 + 10 + 5 and executor.utilization() == pytest.approx(45 / 60)
    assert time.monotonic() - wall < 1.0  # nothing slept


def test_duration_function_and_budget_fallback():
    executor = SimulatedExecutor(n_workers=1, duration=lambda config, budget: 2.0 * budget)
    executor.start(Objective(with_cost))
    (trial,) = run_all(executor, [make_trial(0, 1.0, budget=4.0)])
    assert trial.duration == 8.0  # the duration function wins over the reported cost
    fallback = SimulatedExecutor(n_workers=1)
    fallback.start(Objective(square))  # a plain float loss reports no cost: a trial lasts its budget
    (trial,) = run_all(fallback, [make_trial(0, 2.0, budget=0.25)])
    assert trial.duration == 0.25 and trial.status is TrialStatus.SUCCESS


def test_trials_ending_together_come_back_together_in_submission_order():
    executor = SimulatedExecutor(n_workers=3)
    executor.start(Objective(with_cost))
    for i in range(3):
        executor.submit(make_trial(i, 1.0))
    assert [t.trial_id for t in executor.wait()] == [0, 1, 2]


def test_wait_timeout_advances_the_clock_without_finishing_anything():
    clock = VirtualClock(100.0)
    executor = SimulatedExecutor(n_workers=1, clock=clock)
    executor.start(Objective(with_cost))
    executor.submit(make_trial(0, 1.0))
    assert executor.wait(timeout=4.0) == [] and clock() == 104.0
    assert executor.utilization() == 1.0
    (trial,) = executor.wait(timeout=100.0)
    assert trial.end_time == 110.0 and clock() == 110.0


def test_bad_arguments_and_bad_durations():
    with pytest.raises(ValueError, match="n_workers"):
        SimulatedExecutor(n_workers=0)
    with pytest.raises(ValueError, match="duration"):
        SimulatedExecutor(duration=3.0)
    executor = SimulatedExecutor(duration=lambda config, budget: -1.0)
    executor.start(Objective(square))
    with pytest.raises(ValueError, match="finite number >= 0"):
        executor.submit(make_trial(0, 1.0))


def test_shutdown_abandons_running_trials():
    executor = SimulatedExecutor(n_workers=2)
    executor.start(Objective(with_cost))
    executor.submit(make_trial(0, 1.0))
    executor.wait(timeout=5.0)
    executor.shutdown()
    assert executor.n_running == 0 and executor.n_free_slots == 2 and executor.busy_time == 5.0


@pytest.mark.parametrize("cost", [None, -1.0, "n/a", float("nan"), True])
def test_an_unusable_cost_fails_that_trial_only(cost):
    def objective(config, budget):
        return {"loss": config["x"], "cost": cost if config["x"] > 1 else 3.0}

    executor = SimulatedExecutor(n_workers=2)
    executor.start(Objective(objective))
    bad, good = run_all(executor, [make_trial(0, 2.0, budget=0.5), make_trial(1, 1.0)])
    assert bad.status is TrialStatus.FAILED and bad.duration == 0.5 and repr(cost) in bad.error
    assert good.status is TrialStatus.SUCCESS and good.duration == 3.0


def test_a_reused_executor_measures_each_run_on_its_own():
    executor = SimulatedExecutor(n_workers=2)
    for run in range(2):
        executor.start(Objective(with_cost))
        run_all(executor, [make_trial(2 * run, 1.0), make_trial(2 * run + 1, 0.5)])
        assert executor.busy_time == 15.0 and executor.utilization() == pytest.approx(15 / 20)
