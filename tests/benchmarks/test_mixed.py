"""Mixed and conditional problems: optima, branch minima, structure, and that random search is not enough."""

from __future__ import annotations

import numpy as np
import pytest

from ultraopt.benchmarks import CASH_BRANCH_OPTIMA, MixedFunction
from ultraopt.benchmarks.mixed import _POSITION, _centre

BRANCH_ARGMINS = {
    "linear": {"alpha": 1e-2},
    "svm": {"C": 10**1.5, "gamma": 10**-2.5},
    "knn": {"n_neighbors": 15, "weights": "distance", "p": 2},
    "forest": {"n_estimators": 500, "max_depth": 12, "max_features": 0.3, "criterion": "gini"},
}


def _cash_config(model: str, hyperparameters: dict) -> dict:
    return {"model:__choice__": model, **{f"model:{model}:{k}": v for k, v in hyperparameters.items()}}


@pytest.mark.parametrize("name", ["categorical20", "cash"])
def test_optimum_is_attained_and_never_beaten_by_random_configs(name: str, sample_configs) -> None:
    bench = MixedFunction(name)
    for config in bench.optimal_configs:
        assert bench(config) == pytest.approx(bench.optimum, abs=1e-6)
    assert min(bench(c) for c in sample_configs(bench.hdl, 1000)) >= bench.optimum


def test_cash_has_four_branches_of_different_size_and_different_minima(sample_configs) -> None:
    bench = MixedFunction("cash")
    branches = bench.hdl["model(choice)"]
    assert sorted(len(space) for space in branches.values()) == [1, 2, 3, 4]
    assert bench.dim == 1 + 1 + 2 + 3 + 4
    assert len(set(CASH_BRANCH_OPTIMA.values())) == 4
    assert bench.optimum == min(CASH_BRANCH_OPTIMA.values())
    by_branch: dict[str, list[float]] = {model: [] for model in branches}
    for config in sample_configs(bench.hdl, 2000):
        by_branch[config["model:__choice__"]].append(bench(config))
    for model, hyperparameters in BRANCH_ARGMINS.items():
        assert bench(_cash_config(model, hyperparameters)) == pytest.approx(
            CASH_BRANCH_OPTIMA[model], abs=1e-9
        )
        assert min(by_branch[model]) >= CASH_BRANCH_OPTIMA[model]


def test_cash_ignores_inactive_and_requires_active_hyperparameters() -> None:
    bench = MixedFunction("cash")
    best = bench.optimal_configs[0]
    assert bench({**best, "model:forest:n_estimators": 10}) == bench(best)
    with pytest.raises(ValueError, match="model:svm:gamma"):
        bench({"model:__choice__": "svm", "model:svm:C": 1.0})
    with pytest.raises(ValueError, match="not one of"):
        bench({"model:__choice__": "mlp"})
    with pytest.raises(ValueError, match="not an integer"):
        bench(_cash_config("knn", {"n_neighbors": 2.5, "weights": "uniform", "p": 1}))


def test_random_search_does_not_solve_the_mixed_problems(sample_configs) -> None:
    for name, gap in (("categorical20", 0.05), ("cash", 0.03)):
        bench = MixedFunction(name)
        losses = np.array([bench(c) for c in sample_configs(bench.hdl, 20000, seed=5)])
        assert np.mean(losses < bench.optimum + gap) < 0.005, name
        best_of_100 = np.median(losses.reshape(-1, 100).min(axis=1))
        assert best_of_100 > bench.optimum + gap, name


def test_categorical20_similar_categories_behave_similarly() -> None:
    # With x at its best for each category, the loss is a smooth function of the hidden position: neighbours
    # in that order differ by far less than arbitrary pairs of categories.
    bench = MixedFunction("categorical20")
    order = sorted(_POSITION, key=_POSITION.get)
    best = []
    for category in order:
        x0, x1 = _centre(_POSITION[category], 0.0)
        best.append(bench({"category": category, "x0": x0, "x1": x1}))
    best = np.array(best)
    neighbour_steps = np.abs(np.diff(best)).mean()
    rng = np.random.default_rng(0)
    random_steps = np.abs(best[rng.permutation(20)] - best[rng.permutation(20)]).mean()
    assert neighbour_steps < 0.5 * random_steps
    assert order[int(np.argmin(best))] == bench.optimal_configs[0]["category"]
    # and the names carry no order: the best category's name neighbours are not its hidden neighbours
    names = sorted(_POSITION)
    assert [names.index(c) for c in order] != sorted(range(20))


def test_the_same_point_written_differently_has_the_same_noise() -> None:
    bench = MixedFunction("cash", noise_std=0.01)
    config = {
        "model:__choice__": "knn",
        "model:knn:n_neighbors": 3,
        "model:knn:weights": "uniform",
        "model:knn:p": 1,
    }
    assert bench(config) == bench({**config, "model:knn:n_neighbors": 3.0, "model:linear:alpha": 1.0})
    assert bench(config) == bench(dict(reversed(config.items())))
