"""The Master loop, driven with the serial executor."""

import itertools

import pytest

from tests.conftest import quadratic
from ultraopt.executors import SerialExecutor
from ultraopt.master import Master, ObjectiveError
from ultraopt.multi_fidelity import CustomIterGenerator
from ultraopt.objective import Objective
from ultraopt.optimizer import RandomOptimizer
from ultraopt.result import FMinResult
from ultraopt.trial import TrialStatus


def make_master(space, func, generator=None, **kwargs):
    generator = generator or CustomIterGenerator([1], [1])
    optimizer = RandomOptimizer()
    optimizer.initialize(space, budgets=generator.get_budgets(), random_state=0)
    executor = SerialExecutor()
    executor.start(Objective(func))
    result = FMinResult(space, generator.get_budgets())
    return Master(optimizer, generator, executor, result, **kwargs)


def test_one_evaluation_per_iteration(quadratic_space):
    master = make_master(quadratic_space, quadratic)
    result = master.run(15)
    assert len(result.trials) == 15 and master.stop_reason == "finished"
    assert [t.trial_id for t in result.trials] == list(range(15))
    assert all(t.config_id == (i, 0, 0) and t.budget == 1.0 for i, t in enumerate(result.trials))
    assert result.best_loss == min(t.loss for t in result.trials)
    assert len(master.optimizer.observations[1.0]) == 15


def test_evaluations_per_budget_match_the_schedule(quadratic_space):
    generator = CustomIterGenerator([[9, 3, 1], [3, 1]], [[1, 3, 9], [3, 9]])
    seen_budgets = []

    def objective(config, budget):
        seen_budgets.append(budget)
        return quadratic(config) / budget

    result = make_master(quadratic_space, objective, generator).run(4)
    counts = {b: sum(t.budget == b for t in result.trials) for b in (1.0, 3.0, 9.0)}
    assert counts == {1.0: 18, 3.0: 6 + 6, 9.0: 4}
    assert len(result.trials) == generator.num_all_configs(4)
    assert sorted(seen_budgets) == sorted(t.budget for t in result.trials)


def test_failures_are_recorded_and_the_run_goes_on(quadratic_space):
    calls = itertools.count()

    def sometimes_fails(config):
        if next(calls) % 3 == 1:
            raise RuntimeError("flaky")
        return quadratic(config)

    result = make_master(quadratic_space, sometimes_fails).run(12)
    failed = result.trials_with_status(TrialStatus.FAILED)
    assert len(result.trials) == 12 and len(failed) == 4
    assert all("RuntimeError: flaky" in t.error for t in failed)


def test_broken_objective_stops_early_with_the_error_and_the_partial_result(quadratic_space):
    def broken(config):
        raise KeyError("missing column")

    with pytest.raises(ObjectiveError, match="KeyError: 'missing column'") as caught:
        make_master(quadratic_space, broken).run(100)
    assert len(caught.value.result.trials) == 5
    assert all(t.status is TrialStatus.FAILED for t in caught.value.result.trials)


def test_broken_objective_is_reported_when_a_short_hyperband_run_ends_with_fewer_trials_than_planned(quadratic_space):
    # 3 configs on budget 1, one promotion to budget 3 planned; the failures are never promoted
    generator = CustomIterGenerator([3, 1], [1, 3])

    def broken(config, budget):
        raise KeyError("missing column")

    with pytest.raises(ObjectiveError, match="first 3 trial") as caught:
        make_master(quadratic_space, broken, generator).run(1)
    assert len(caught.value.result.trials) == 3


def test_callback_sees_each_trial_and_can_stop_the_run(quadratic_space):
    seen = []

    def stop_after_seven(result, trial):
        seen.append(trial.trial_id)
        return len(result.trials) >= 7

    master = make_master(quadratic_space, quadratic, callbacks=[stop_after_seven])
    result = master.run(50)
    assert seen == list(range(7)) and len(result.trials) == 7 and master.stop_reason == "callback"


def test_early_stopping(quadratic_space):
    losses = iter([5.0, 4.0, 3.0] + [10.0] * 100)
    master = make_master(quadratic_space, lambda config: next(losses), early_stopping_rounds=4)
    result = master.run(100)
    assert len(result.trials) == 3 + 4 and master.stop_reason == "early stopping"


def test_early_stopping_counts_only_trials_on_the_largest_budget(quadratic_space):
    # brackets of 9 configs on budget 1, the best 3 on budget 3: only the budget-3 trials count the rounds
    generator = CustomIterGenerator([9, 3], [1, 3])
    master = make_master(quadratic_space, lambda config, budget: 1.0, generator, early_stopping_rounds=4)
    result = master.run(100)
    assert master.stop_reason == "early stopping"
    assert sum(t.budget == 3 for t in result.trials) == 1 + 4 and len(result.trials) == 2 * 9 + 1 + 4


def test_time_limit_on_the_clock(quadratic_space):
    now = itertools.count()  # every reading of the clock is one second later
    master = make_master(quadratic_space, quadratic, time_limit=10, clock=lambda: float(next(now)))
    result = master.run(1000)
    assert master.stop_reason == "time limit" and 3 <= len(result.trials) <= 10


def test_time_limit_counts_from_the_given_start(quadratic_space):
    now = itertools.count(100)  # every reading of the clock is one second later
    master = make_master(quadratic_space, quadratic, time_limit=10, clock=lambda: float(next(now)))
    result = master.run(1000, started_at=95.0)  # 5 of the 10 seconds went before the run (workers starting)
    assert master.stop_reason == "time limit" and len(result.trials) <= 5


def test_ctrl_c_returns_the_result_so_far(quadratic_space):
    calls = itertools.count()

    def interrupted_at_the_fourth_call(config):
        if next(calls) == 3:
            raise KeyboardInterrupt
        return quadratic(config)

    master = make_master(quadratic_space, interrupted_at_the_fourth_call)
    result = master.run(10)
    assert master.stop_reason == "interrupted"
    assert [t.status for t in result.trials] == [TrialStatus.SUCCESS] * 3 + [TrialStatus.CANCELLED]
    assert master.optimizer.pending_configs == []
