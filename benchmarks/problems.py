"""Benchmark problems: a search space (ConfigSpace), a loss and its known optimum.

The problems of :mod:`ultraopt.benchmarks` are added automatically when that package is installed (it holds the
library's official synthetic functions); the ones defined here cover what the quality benchmark must also
show: mixed integer / log / q-grid / ordinal dimensions, a 20-choice categorical whose choices are similar in
a hidden way, and a CASH-like conditional space two levels deep.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    EqualsCondition,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

__all__ = ["PROBLEMS", "Problem", "get_problems"]


@dataclass(frozen=True)
class Problem:
    """A benchmark problem: ``loss(config)`` over ``space()``, with ``optimum`` its smallest value."""

    name: str
    space: Callable[[], ConfigurationSpace]
    loss: Callable[[dict[str, Any]], float]
    optimum: float
    note: str = ""


def _floats(bounds: dict[str, tuple[float, float]], log: tuple[str, ...] = ()) -> Callable[[], ConfigurationSpace]:
    def build() -> ConfigurationSpace:
        space = ConfigurationSpace()
        space.add([UniformFloatHyperparameter(n, lo, hi, log=n in log) for n, (lo, hi) in bounds.items()])
        return space

    return build


def _branin(c: dict[str, Any]) -> float:
    x1, x2 = c["x1"], c["x2"]
    return (x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(
        x1
    ) + 10


_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]])
_H6_A = np.array(
    [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def _hartmann(a: np.ndarray, p: np.ndarray) -> Callable[[dict[str, Any]], float]:
    def loss(c: dict[str, Any]) -> float:
        x = np.array([c[f"x{i}"] for i in range(a.shape[1])])
        return float(-(_H_ALPHA * np.exp(-(a * (x - p) ** 2).sum(axis=1))).sum())

    return loss


def _rosenbrock(c: dict[str, Any]) -> float:
    x = np.array([c[f"x{i}"] for i in range(len(c))])
    return float((100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum())


def _ackley(c: dict[str, Any]) -> float:
    x = np.array([c[f"x{i}"] for i in range(len(c))])
    d = len(x)
    return float(
        -20 * math.exp(-0.2 * math.sqrt((x**2).sum() / d)) - math.exp(np.cos(2 * math.pi * x).sum() / d) + 20 + math.e
    )


def _mixed_space() -> ConfigurationSpace:
    space = ConfigurationSpace()
    space.add(
        [
            UniformIntegerHyperparameter("units", -20, 20),
            UniformFloatHyperparameter("lr", 1e-5, 1.0, log=True),
            UniformFloatHyperparameter("frac", 0.0, 10.0, meta={"q": 0.5}),
            UniformIntegerHyperparameter("batch", 8, 1024, log=True),
            OrdinalHyperparameter("width", [1, 2, 4, 8, 16, 32]),
            CategoricalHyperparameter("act", ["relu", "tanh", "sigmoid"]),
        ]
    )
    return space


def _mixed(c: dict[str, Any]) -> float:
    return (
        ((c["units"] - 7) / 10) ** 2
        + (math.log10(c["lr"]) + 3) ** 2 / 4
        + ((c["frac"] - 6.5) / 5) ** 2
        + (math.log2(c["batch"]) - 6) ** 2 / 9
        + (math.log2(c["width"]) - 3) ** 2 / 9
        + 0.3 * (c["act"] != "tanh")
        + 0.1 * (c["act"] == "sigmoid") * (c["units"] > 0)
    )


# A 20-choice categorical whose choices sit on a hidden line; the best x1 depends on the choice.
_CAT_POSITIONS = np.random.default_rng(2024).permutation(20) / 19.0


def _cat20_space() -> ConfigurationSpace:
    space = ConfigurationSpace()
    space.add(
        [
            CategoricalHyperparameter("choice", [f"c{i:02d}" for i in range(20)]),
            UniformFloatHyperparameter("x1", -5, 5),
            UniformFloatHyperparameter("x2", -5, 5),
        ]
    )
    return space


def _cat20(c: dict[str, Any]) -> float:
    pos = _CAT_POSITIONS[int(c["choice"][1:])]
    return (c["x1"] - 4 * pos + 2) ** 2 / 4 + (c["x2"] - 1) ** 2 / 4 + 5 * (pos - 0.35) ** 2


_CAT20_OPTIMUM = float(min(5 * (_CAT_POSITIONS - 0.35) ** 2))


def _cash_space() -> ConfigurationSpace:
    space = ConfigurationSpace()
    model = CategoricalHyperparameter("model", ["svm", "forest", "knn", "linear"])
    kernel = CategoricalHyperparameter("svm:kernel", ["rbf", "poly", "linear"])
    c = UniformFloatHyperparameter("svm:C", 1e-3, 1e3, log=True)
    gamma = UniformFloatHyperparameter("svm:gamma", 1e-5, 10, log=True)
    degree = UniformIntegerHyperparameter("svm:degree", 2, 5)
    trees = UniformIntegerHyperparameter("forest:n_estimators", 10, 1000, log=True)
    depth = UniformIntegerHyperparameter("forest:max_depth", 1, 30)
    crit = CategoricalHyperparameter("forest:criterion", ["gini", "entropy", "log_loss"])
    feats = UniformFloatHyperparameter("forest:max_features", 0.05, 1.0)
    k = UniformIntegerHyperparameter("knn:k", 1, 100, log=True)
    weights = CategoricalHyperparameter("knn:weights", ["uniform", "distance"])
    alpha = UniformFloatHyperparameter("linear:alpha", 1e-6, 1.0, log=True)
    space.add([model, kernel, c, gamma, degree, trees, depth, crit, feats, k, weights, alpha])
    space.add(
        [
            EqualsCondition(kernel, model, "svm"),
            EqualsCondition(c, model, "svm"),
            EqualsCondition(gamma, kernel, "rbf"),
            EqualsCondition(degree, kernel, "poly"),
            EqualsCondition(trees, model, "forest"),
            EqualsCondition(depth, model, "forest"),
            EqualsCondition(crit, model, "forest"),
            EqualsCondition(feats, model, "forest"),
            EqualsCondition(k, model, "knn"),
            EqualsCondition(weights, model, "knn"),
            EqualsCondition(alpha, model, "linear"),
        ]
    )
    return space


def _cash(c: dict[str, Any]) -> float:
    model = c["model"]
    if model == "svm":
        base = {"rbf": 0.06, "poly": 0.09, "linear": 0.12}[c["svm:kernel"]]
        loss = base + 0.01 * (math.log10(c["svm:C"]) - 1.5) ** 2
        if c["svm:kernel"] == "rbf":
            loss += 0.015 * (math.log10(c["svm:gamma"]) + 2.5) ** 2
        if c["svm:kernel"] == "poly":
            loss += 0.01 * (c["svm:degree"] - 3) ** 2
        return loss
    if model == "forest":
        return (
            0.07
            + 0.01 * (math.log10(c["forest:n_estimators"]) - 2.5) ** 2
            + 0.0004 * (c["forest:max_depth"] - 14) ** 2
            + 0.05 * (c["forest:max_features"] - 0.3) ** 2
            + {"gini": 0.004, "entropy": 0.0, "log_loss": 0.002}[c["forest:criterion"]]
        )
    if model == "knn":
        return 0.10 + 0.02 * (math.log10(c["knn:k"]) - 1) ** 2 + 0.01 * (c["knn:weights"] == "uniform")
    return 0.13 + 0.01 * (math.log10(c["linear:alpha"]) + 3) ** 2


PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in [
        Problem("branin", _floats({"x1": (-5, 10), "x2": (0, 15)}), _branin, 0.397887357729738, "2-D"),
        Problem("hartmann3", _floats({f"x{i}": (0, 1) for i in range(3)}), _hartmann(_H3_A, _H3_P), -3.86278214782076),
        Problem("hartmann6", _floats({f"x{i}": (0, 1) for i in range(6)}), _hartmann(_H6_A, _H6_P), -3.32236801141551),
        Problem("rosenbrock5", _floats({f"x{i}": (-5, 10) for i in range(5)}), _rosenbrock, 0.0),
        Problem("ackley5", _floats({f"x{i}": (-32.768, 32.768) for i in range(5)}), _ackley, 0.0, "multimodal"),
        Problem("mixed6", _mixed_space, _mixed, 0.0, "int, log, q-grid, log-int, ordinal, categorical"),
        Problem("cat20", _cat20_space, _cat20, _CAT20_OPTIMUM, "20-choice categorical"),
        Problem("cash", _cash_space, _cash, 0.06, "CASH-like, conditions two levels deep"),
    ]
}


def get_problems() -> dict[str, Problem]:
    """The local problems, plus those of :mod:`ultraopt.benchmarks` when it is available."""
    problems = dict(PROBLEMS)
    try:
        from ultraopt import benchmarks as library  # noqa: F401  (lands on main with the benchfuncs branch)
    except ImportError:
        return problems
    problems.update(_library_problems(library))
    return problems


def _library_problems(library: Any) -> dict[str, Problem]:
    """Adapt the functions of :mod:`ultraopt.benchmarks` (each with an HDL domain and a known optimum)."""
    from ultraopt.hdl import as_config_space

    found = {}
    for name in getattr(library, "__all__", []):
        item = getattr(library, name)
        hdl, optimum = getattr(item, "hdl", None), getattr(item, "optimum", None)
        if hdl is None or optimum is None or not callable(item):
            continue
        space = as_config_space(hdl() if callable(hdl) else hdl)
        found[f"lib:{name}"] = Problem(f"lib:{name}", lambda s=space: s, item, float(optimum))
    return found
