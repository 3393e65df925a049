"""Mixed and conditional synthetic problems with known optima: ``categorical20`` and ``cash``.

Both are built so that an optimizer that learns structure wins and random search does not find the optimum by
luck:

``categorical20``
    A 20-way categorical ``category`` (``"c00"`` .. ``"c19"``) and two continuous ``x0, x1`` in [0, 1]. Each
    category has a hidden position ``u`` in [0, 1] (a fixed permutation of the names, so names say nothing).
    The loss is ``q(u) + r(x - m(u))``: ``q`` is a quadratic bowl in ``u`` with ripples of period 1/3
    (deceptive local optima), ``m(u)`` moves the continuous optimum smoothly with ``u`` and ``r`` is a narrow
    rotated quadratic valley. Categories close in ``u`` therefore behave alike: an embedding of the categories
    can learn that. The minimum 0 is at category ``c12`` and ``x = m(6/19)``; a random config comes within
    0.1 of it with probability about 0.3 %.
``cash``
    A conditional choice ``model`` among four models, each with its own sub-space and attainable minimum,
    imitating the error rate of combined algorithm selection and hyperparameter optimization:
    ``linear`` (1 hyperparameter, best 0.25), ``svm`` (2, best 0.08), ``knn`` (3, best 0.18) and ``forest``
    (4, best 0.12). The forest's basin is broad, so random search settles near 0.12; the svm's basin is a
    narrow ridge ``log C + log gamma = const`` in log space, which a model can follow to the global minimum
    0.08 at ``C = 10**1.5, gamma = 10**-2.5``.

Each problem also has a multi-fidelity variant (``*_mf``, see
:class:`~ultraopt.benchmarks.base.MultiFidelityBenchmark`) whose low-fidelity counterpart moves the optimum:
at low budgets ``categorical20`` favours categories further along ``u``, and ``cash`` favours cheap models and
stronger regularisation, as small training sets do.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ultraopt.benchmarks.base import BenchmarkFunction, MultiFidelityBenchmark

__all__ = ["PROBLEMS", "MixedFunction", "MixedMultiFidelity", "MixedProblem", "CASH_BRANCH_OPTIMA"]

Values = dict[str, Any]


@dataclass(frozen=True)
class MixedProblem:
    """A mixed or conditional problem: domain, optimum and its (multi-fidelity) value.

    Attributes
    ----------
    hdl : dict
        The domain.
    optimum : float
        Minimum of ``value(config, 0)``.
    optimal_configs : list of dict
        Where it is attained.
    value : callable
        ``value(values, gap)``, the noise-free low-fidelity counterpart; ``gap=0`` is the true function.
    slowness : callable
        ``slowness(values)`` in [0, 1], the config's share of the low-fidelity bias and of its cost.
    scale : float
        Size of the differences between good configs (sets the low-fidelity bias and noise).
    """

    hdl: dict[str, Any]
    optimum: float
    optimal_configs: list[dict[str, Any]]
    value: Callable[[Values, float], float]
    slowness: Callable[[Values], float]
    scale: float


# --- categorical20 ----------------------------------------------------------------------------------------

_N_CATEGORIES = 20
# Hidden position of category k is _PERMUTATION[k] / 19; fixed so that every seed sees the same problem.
_PERMUTATION = (13, 2, 17, 8, 0, 11, 19, 5, 15, 3, 9, 18, 6, 1, 14, 10, 4, 16, 7, 12)
_CATEGORIES = [f"c{k:02d}" for k in range(_N_CATEGORIES)]
_POSITION = {name: rank / (_N_CATEGORIES - 1) for name, rank in zip(_CATEGORIES, _PERMUTATION, strict=True)}
_INDEX = {name: k for k, name in enumerate(_CATEGORIES)}
_BEST_POSITION = 6 / (_N_CATEGORIES - 1)
_BEST_CATEGORY = _CATEGORIES[_PERMUTATION.index(6)]


def _centre(u: float, gap: float) -> tuple[float, float]:
    """Continuous optimum of the category at position ``u``, along the valley's narrow direction."""
    return 0.15 + 0.7 * u + 0.02 * gap, 0.85 - 0.7 * u


def _categorical20_value(values: Values, gap: float) -> float:
    u = _POSITION[values["category"]]
    du = u - (_BEST_POSITION + 0.05 * gap)
    quality = 2.0 * du**2 + 0.25 * (1.0 - math.cos(6.0 * math.pi * du))
    m0, m1 = _centre(u, gap)
    d0, d1 = values["x0"] - m0, values["x1"] - m1
    return quality + (d0 + d1) ** 2 + 8.0 * (d0 - d1) ** 2


def _categorical20_slowness(values: Values) -> float:
    # Cost follows the names (not the hidden positions), so cost does not reveal the structure.
    return 0.5 * _INDEX[values["category"]] / (_N_CATEGORIES - 1) + 0.5 * values["x0"]


_BEST_X = _centre(_BEST_POSITION, 0.0)

CATEGORICAL20 = MixedProblem(
    hdl={
        "category": {"_type": "choice", "_value": list(_CATEGORIES)},
        "x0": {"_type": "uniform", "_value": [0.0, 1.0]},
        "x1": {"_type": "uniform", "_value": [0.0, 1.0]},
    },
    optimum=0.0,
    optimal_configs=[{"category": _BEST_CATEGORY, "x0": _BEST_X[0], "x1": _BEST_X[1]}],
    value=_categorical20_value,
    slowness=_categorical20_slowness,
    scale=0.15,
)

# --- cash ------------------------------------------------------------------------------------------------

#: The minimum of each branch of ``cash``; the global one is the svm's.
CASH_BRANCH_OPTIMA = {"linear": 0.25, "svm": 0.08, "knn": 0.18, "forest": 0.12}


def _linear(v: Values, gap: float) -> float:
    # Less data wants more regularisation: the best alpha grows tenfold from the maximal to the minimal
    # budget.
    return 0.25 + 0.2 * math.tanh((math.log10(v["alpha"]) + 2.0 - gap) / 2.0) ** 2


def _svm(v: Values, gap: float) -> float:
    a = math.log10(v["C"]) - (1.5 - gap)
    b = math.log10(v["gamma"]) + 2.5
    # A ridge along a = -b: narrow across (0.35 decades), broad along (1.5 decades).
    energy = (a + b) ** 2 / (2 * 0.35**2) + (a - b) ** 2 / (2 * 1.5**2)
    return 0.08 - 0.5 * math.expm1(-energy)


def _knn(v: Values, gap: float) -> float:
    best_k = 15.0 * 2.0**gap
    shape = 0.12 * (math.log(v["n_neighbors"] / best_k) / math.log(100.0)) ** 2
    return 0.18 + shape + 0.02 * (v["weights"] == "uniform") + 0.015 * (v["p"] == 1)


def _forest(v: Values, gap: float) -> float:
    return (
        0.12
        + 0.04 * ((500 - v["n_estimators"]) / 490) ** 2
        + 0.06 * ((v["max_depth"] - 12) / 29) ** 2
        + 0.1 * (v["max_features"] - 0.3) ** 2
        + 0.004 * (v["criterion"] == "entropy")
    )


def _branch(values: Values) -> tuple[str, Values]:
    """The chosen model and its hyperparameters under their short names."""
    model = values["model:__choice__"]
    prefix = f"model:{model}:"
    return model, {name[len(prefix) :]: value for name, value in values.items() if name.startswith(prefix)}


_CASH_VALUES: dict[str, Callable[[Values, float], float]] = {
    "linear": _linear,
    "svm": _svm,
    "knn": _knn,
    "forest": _forest,
}
_CASH_SLOWNESS: dict[str, Callable[[Values], float]] = {
    "linear": lambda v: 0.05,
    "knn": lambda v: 0.1 + 0.2 * v["n_neighbors"] / 100,
    "svm": lambda v: 0.3 + 0.5 * (math.log10(v["C"]) + 3.0) / 6.0,
    "forest": lambda v: 0.2 + 0.4 * v["n_estimators"] / 500 + 0.4 * v["max_depth"] / 30,
}


def _cash_value(values: Values, gap: float) -> float:
    model, hyperparameters = _branch(values)
    return _CASH_VALUES[model](hyperparameters, gap)


def _cash_slowness(values: Values) -> float:
    model, hyperparameters = _branch(values)
    return _CASH_SLOWNESS[model](hyperparameters)


CASH = MixedProblem(
    hdl={
        "model(choice)": {
            "linear": {"alpha": {"_type": "loguniform", "_value": [1e-6, 1e2]}},
            "svm": {
                "C": {"_type": "loguniform", "_value": [1e-3, 1e3]},
                "gamma": {"_type": "loguniform", "_value": [1e-5, 1e1]},
            },
            "knn": {
                "n_neighbors": {"_type": "int_uniform", "_value": [1, 100]},
                "weights": {"_type": "choice", "_value": ["uniform", "distance"]},
                "p": {"_type": "ordinal", "_value": [1, 2]},
            },
            "forest": {
                "n_estimators": {"_type": "int_uniform", "_value": [10, 500]},
                "max_depth": {"_type": "int_uniform", "_value": [1, 30]},
                "max_features": {"_type": "uniform", "_value": [0.05, 1.0]},
                "criterion": {"_type": "choice", "_value": ["gini", "entropy"]},
            },
        }
    },
    optimum=CASH_BRANCH_OPTIMA["svm"],
    optimal_configs=[{"model:__choice__": "svm", "model:svm:C": 10**1.5, "model:svm:gamma": 10**-2.5}],
    value=_cash_value,
    slowness=_cash_slowness,
    scale=0.03,
)

PROBLEMS: dict[str, MixedProblem] = {"categorical20": CATEGORICAL20, "cash": CASH}


def _problem(problem: str) -> MixedProblem:
    if problem not in PROBLEMS:
        raise ValueError(f"unknown mixed problem {problem!r}; known: {sorted(PROBLEMS)}")
    return PROBLEMS[problem]


class MixedFunction(BenchmarkFunction):
    """A mixed or conditional problem of :data:`PROBLEMS` at a single fidelity.

    Parameters
    ----------
    problem : str
        ``"categorical20"`` or ``"cash"``.
    noise_std : float
        Standard deviation of the Gaussian noise added by ``__call__``; 0 (default) is noise-free.
    seed : int
        Seed of the noise.
    """

    def __init__(self, problem: str, *, noise_std: float = 0.0, seed: int = 0) -> None:
        spec = _problem(problem)
        self.problem = problem
        self._spec = spec
        super().__init__(
            problem, spec.hdl, spec.optimum, spec.optimal_configs, noise_std=noise_std, seed=seed
        )

    def _value(self, values: Values) -> float:
        return self._spec.value(values, 0.0)


class MixedMultiFidelity(MultiFidelityBenchmark):
    """A mixed or conditional problem of :data:`PROBLEMS` with budgets; named ``"{problem}_mf"``.

    Parameters
    ----------
    problem : str
        ``"categorical20"`` or ``"cash"``.
    min_budget, max_budget : float
        The budget range (default 1/27 to 1).
    noise_std : float or None
        Noise standard deviation at ``min_budget``; ``None`` gives ``0.1 * scale``; 0 is noise-free.
    fidelity_bias : float
        Weight of the low-fidelity bias.
    seed : int
        Seed of the noise.
    """

    def __init__(
        self,
        problem: str,
        *,
        min_budget: float = 1 / 27,
        max_budget: float = 1.0,
        noise_std: float | None = None,
        fidelity_bias: float = 2.0,
        seed: int = 0,
    ) -> None:
        spec = _problem(problem)
        self.problem = problem
        self._spec = spec
        super().__init__(
            f"{problem}_mf",
            spec.hdl,
            spec.optimum,
            spec.optimal_configs,
            scale=spec.scale,
            min_budget=min_budget,
            max_budget=max_budget,
            noise_std=noise_std,
            fidelity_bias=fidelity_bias,
            seed=seed,
        )

    def _value(self, values: Values, gap: float) -> float:
        return self._spec.value(values, gap)

    def _slowness(self, values: Values) -> float:
        return self._spec.slowness(values)
