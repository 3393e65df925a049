"""Whole multi-fidelity runs through the Master on virtual workers: counts, promotions, budgets and time.

Everything runs on the simulated executor's virtual clock: no process, no sleep.
"""

import math
from collections import Counter

import pytest
from ConfigSpace import ConfigurationSpace, UniformFloatHyperparameter

from ultraopt import fmin
from ultraopt.executors import SimulatedExecutor
from ultraopt.master import Master
from ultraopt.multi_fidelity import CustomIterGenerator, HyperBandIterGenerator
from ultraopt.objective import Objective
from ultraopt.optimizer import RandomOptimizer
from ultraopt.result import FMinResult
from ultraopt.trial import TrialStatus


@pytest.fixture
def unit_space():
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter("x", 0, 1)])
    return space


def learning_curve(config, budget):
    """Loss falls with the budget; the cost grows with it and with x (slow configs are expensive)."""
    return {"loss": (config["x"] - 0.3) ** 2 + 0.1 / budget, "cost": budget * (0.5 + config["x"])}


def run(space, generator, n_iterations, n_workers=1, objective=learning_curve, **master_kwargs):
    optimizer = RandomOptimizer()
    optimizer.initialize(space, budgets=generator.get_budgets(), random_state=0)
    executor = SimulatedExecutor(n_workers)
    executor.start(Objective(objective))
    result = FMinResult(space, generator.get_budgets())
    master = Master(optimizer, generator, executor, result, **master_kwargs)
    master.run(n_iterations)
    return master, executor, result


def expected_counts(generator, n_iterations):
    table = generator.get_table().reset_index()
    counts = Counter()
    for i in range(n_iterations):
        rows = table[table["iteration"] == i % generator.n_brackets]
        for budget, n in zip(rows["budget"], rows["num_configs"]):
            counts[budget] += n
    return counts


@pytest.mark.parametrize("promotion", ["sync", "async"])
@pytest.mark.parametrize("n_workers", [1, 8])
def test_evaluations_per_budget_match_the_table(unit_space, promotion, n_workers):
    generator = HyperBandIterGenerator(1 / 27, 1, 3, promotion=promotion)
    master, _, result = run(unit_space, generator, 6, n_workers)
    assert master.stop_reason == "finished" and all(it.is_finished for it in master.iterations)
    assert Counter(t.budget for t in result.trials) == expected_counts(generator, 6)
    assert len(result.trials) == generator.num_all_configs(6)
    assert all(t.status is TrialStatus.SUCCESS for t in result.trials)


def test_budgets_reach_the_objective_and_the_optimizer(unit_space):
    seen = []

    def objective(config, budget):
        seen.append(budget)
        return learning_curve(config, budget)

    generator = HyperBandIterGenerator(1 / 9, 1, 3, promotion="async")
    master, _, result = run(unit_space, objective=objective, generator=generator, n_iterations=3, n_workers=4)
    assert sorted(seen) == sorted(t.budget for t in result.trials)
    observations = master.optimizer.observations
    assert {b: len(observations[b]) for b in generator.get_budgets()} == dict(Counter(seen))
    assert set(result.incumbents) == {1 / 9, 1 / 3, 1.0}  # the result keeps the incumbent of every budget


@pytest.mark.parametrize("promotion", ["sync", "async"])
def test_promoted_configs_are_the_best_of_their_rung_and_never_failed(unit_space, promotion):
    def flaky(config, budget):  # configs with x < 0.2 fail on the smallest budget: they would rank best
        if config["x"] < 0.2 and budget < 0.2:
            raise RuntimeError("diverged")
        return {"loss": config["x"], "cost": budget}

    generator = CustomIterGenerator([9, 3, 1], [1 / 9, 1 / 3, 1.0], promotion=promotion)
    _, _, result = run(unit_space, generator, 4, n_workers=3, objective=flaky)
    for iteration in range(4):
        trials = [t for t in result.trials if t.config_id[0] == iteration]
        first = sorted((t for t in trials if t.budget == 1 / 9), key=lambda t: t.config_id)
        failed = {t.config_id for t in first if t.status is TrialStatus.FAILED}
        promoted = {t.config_id for t in trials if t.budget > 1 / 9}
        assert failed.isdisjoint(promoted)
        if promotion == "sync":  # all of rung 0 is known at promotion time: exactly the best three advance
            best = sorted((t for t in first if t.is_success), key=lambda t: t.loss)[:3]
            assert {t.config_id for t in trials if t.budget == 1 / 3} == {t.config_id for t in best}


def test_async_reaches_the_largest_budget_sooner_on_8_workers(unit_space):
    first_full = {}
    for promotion in ("sync", "async"):
        generator = HyperBandIterGenerator(1 / 27, 1, 3, SH_only=True, promotion=promotion)
        _, executor, result = run(unit_space, generator, 8, n_workers=8)
        first_full[promotion] = min(t.end_time for t in result.trials if t.budget == 1.0)
        assert executor.utilization() > 0.8
    assert first_full["async"] < first_full["sync"]


def test_async_keeps_8_workers_busy(unit_space):
    generator = HyperBandIterGenerator(1 / 27, 1, 3, promotion="async")
    _, executor, result = run(unit_space, generator, 40, n_workers=8)
    assert executor.utilization() >= 0.95
    assert executor.clock() == max(t.end_time for t in result.trials)


def test_time_limit_on_the_virtual_clock_cancels_running_trials(unit_space):
    generator = HyperBandIterGenerator(1 / 27, 1, 3, promotion="async")
    master, executor, result = run(unit_space, generator, 1000, n_workers=8, time_limit=5.0)
    assert master.stop_reason == "time limit" and executor.clock() == pytest.approx(5.0)
    cancelled = result.trials_with_status(TrialStatus.CANCELLED)
    assert 0 < len(cancelled) <= 8
    executor.shutdown()  # what fmin does when the Master returns
    assert all(t.end_time <= 5.0 for t in result.trials if t.is_success)
    assert executor.utilization() == pytest.approx(1.0)


def test_fmin_with_simulated_workers_shows_the_largest_budget(unit_space, capsys):
    executor = SimulatedExecutor(n_workers=4)
    generator = HyperBandIterGenerator(1 / 9, 1, 3, promotion="async")
    result = fmin(learning_curve, unit_space, optimizer="Random", n_iterations=3, parallel_strategy=executor,
                  multi_fidelity_iter_generator=generator, show_progressbar=True)
    err = capsys.readouterr().err
    assert "max budget=1" in err and f"{generator.num_all_configs(3)}/{generator.num_all_configs(3)}" in err
    assert result.meta["parallel_strategy"] == "SimulatedExecutor"
    assert result.max_budget_reached == 1.0 and math.isfinite(result.best_loss)
    assert {t.worker for t in result.trials} <= {f"virtual-{i}" for i in range(4)}
