"""Multi-fidelity benchmarks: the true function at the maximal budget, bias, rank changes, cost and noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from ultraopt.benchmarks import (
    ContinuousMultiFidelity,
    MultiFidelityBenchmark,
    get_benchmark,
    list_benchmarks,
)

MULTI = list_benchmarks(multi_fidelity=True)
BUDGETS = [1 / 27, 1 / 9, 1 / 3, 1.0]  # the defaults' Hyperband ladder (eta = 3)


def test_there_are_at_least_four_including_mixed_ones() -> None:
    assert {"branin_mf", "hartmann3_mf", "hartmann6_mf", "categorical20_mf", "cash_mf"} <= set(MULTI)


@pytest.mark.parametrize("name", MULTI)
def test_noise_free_value_at_the_maximal_budget_is_the_true_function(name: str, sample_configs) -> None:
    bench = get_benchmark(name)
    true_function = get_benchmark(name.removesuffix("_mf"))
    assert bench.multi_fidelity and not true_function.multi_fidelity
    assert bench.optimum == true_function.optimum
    assert bench.optimal_configs == true_function.optimal_configs
    for config in bench.optimal_configs:
        assert bench.loss(config, bench.max_budget, noise=False) == pytest.approx(bench.optimum, abs=1e-6)
    for config in sample_configs(bench.hdl, 200):
        assert bench.loss(config, noise=False) == true_function(config)
        assert bench.loss(config, bench.max_budget, noise=False) >= bench.optimum


@pytest.mark.parametrize("name", MULTI)
def test_lower_budgets_are_worse_on_average(name: str, sample_configs) -> None:
    bench = get_benchmark(name)
    configs = sample_configs(bench.hdl, 500)
    for noise in (False, True):
        means = [np.mean([bench.loss(c, b, noise=noise) for c in configs]) for b in BUDGETS]
        assert all(low > high for low, high in zip(means, means[1:], strict=False)), means


@pytest.mark.parametrize("name", MULTI)
def test_ranks_at_low_and_maximal_budget_are_positively_but_not_perfectly_correlated(
    name: str, sample_configs
) -> None:
    bench = get_benchmark(name)
    configs = sample_configs(bench.hdl, 500, seed=1)
    top = [bench.loss(c, noise=False) for c in configs]
    for noise in (False, True):  # the bias alone already changes the ranking
        rhos = [spearmanr([bench.loss(c, b, noise=noise) for c in configs], top)[0] for b in BUDGETS[:-1]]
        assert all(0.5 < rho < 1.0 for rho in rhos), rhos
        assert rhos == sorted(rhos), f"correlation must grow with the budget: {rhos}"


@pytest.mark.parametrize("name", MULTI)
def test_cost_grows_with_the_budget_and_depends_on_the_config(name: str, sample_configs) -> None:
    bench = get_benchmark(name)
    configs = sample_configs(bench.hdl, 100)
    costs = np.array([[bench.cost(c, b) for b in BUDGETS] for c in configs])
    assert (costs > 0).all()
    assert (np.diff(costs, axis=1) > 0).all()
    per_unit = costs / np.array(BUDGETS)  # proportional to the budget
    np.testing.assert_allclose(per_unit, np.repeat(per_unit[:, [-1]], len(BUDGETS), axis=1))
    assert costs[:, -1].std() > 0.05 * costs[:, -1].mean()
    assert bench(configs[0], BUDGETS[1])["cost"] == costs[0, 1]


@pytest.mark.parametrize("name", MULTI)
def test_same_seed_config_and_budget_give_the_same_value(name: str, sample_configs) -> None:
    configs = sample_configs(get_benchmark(name).hdl, 20)
    first, again, other_seed = (get_benchmark(name, seed=s) for s in (7, 7, 8))
    for config in configs:
        for budget in BUDGETS:
            assert first(config, budget) == again(dict(reversed(config.items())), budget)
            assert first(config, budget)["loss"] != other_seed(config, budget)["loss"]
        assert first(config, BUDGETS[0])["loss"] != first(config, BUDGETS[1])["loss"]


def test_noise_shrinks_like_the_square_root_of_the_budget(sample_configs) -> None:
    bench = ContinuousMultiFidelity("hartmann3_mf", noise_std=0.2, seed=3)
    configs = sample_configs(bench.hdl, 2000)
    for budget in (1 / 27, 1.0):
        noise = [bench.loss(c, budget) - bench.loss(c, budget, noise=False) for c in configs]
        expected = 0.2 * math.sqrt(bench.min_budget / budget)
        assert abs(np.mean(noise)) < 4 * expected / math.sqrt(len(configs))
        assert np.std(noise) == pytest.approx(expected, rel=0.1)


def test_noise_free_and_bias_free_options() -> None:
    bench = ContinuousMultiFidelity("branin_mf", noise_std=0.0, fidelity_bias=0.0)
    config = {"x0": 1.0, "x1": 5.0}
    assert bench(config, 1 / 27)["loss"] == bench.loss(config, 1 / 27, noise=False)
    # Without the extra bias only Kandasamy et al.'s parameter shift remains.
    assert bench.loss(config, 1 / 27) != bench.loss(config, 1.0)


def test_the_gap_runs_from_one_to_zero_on_a_log_scale() -> None:
    bench = get_benchmark("hartmann6_mf", min_budget=1.0, max_budget=81.0)
    assert [bench.gap(b) for b in (1, 3, 9, 27, 81)] == pytest.approx([1, 0.75, 0.5, 0.25, 0])
    assert bench.gap() == 0.0


def test_budgets_are_checked_with_a_rounding_tolerance() -> None:
    bench = get_benchmark("branin_mf")
    config = {"x0": 1.0, "x1": 5.0}
    assert bench(config) == bench(config, 1.0)
    assert bench(config, 3.0**-3 * (1 - 1e-12)) == bench(config, 1 / 27)
    for bad in (0.01, 1.5):
        with pytest.raises(ValueError, match="outside"):
            bench(config, bad)
    with pytest.raises(TypeError):
        bench(config, "1")
    with pytest.raises(ValueError, match="min_budget"):
        get_benchmark("branin_mf", min_budget=2.0, max_budget=1.0)


def test_evaluate_array_matches_noise_free_losses(sample_configs) -> None:
    bench = ContinuousMultiFidelity("hartmann6_mf")
    configs = sample_configs(bench.hdl, 50)
    X = np.array([[c[f"x{i}"] for i in range(bench.dim)] for c in configs])
    for budget in BUDGETS:
        expected = [bench.loss(c, budget, noise=False) for c in configs]
        np.testing.assert_allclose(bench.evaluate_array(X, budget), expected, rtol=0, atol=1e-12)


def test_the_call_signature_passes_the_budget_through_fmin_s_objective() -> None:
    from ultraopt.objective import accepts_budget

    bench = get_benchmark("cash_mf")
    assert isinstance(bench, MultiFidelityBenchmark)
    assert accepts_budget(bench)
    assert not accepts_budget(get_benchmark("cash"))
