"""Benchmark problems: a search space (ConfigSpace), a noise-free loss and its known optimum.

The quality problems are the library's own (:mod:`ultraopt.benchmarks`), so the benchmark measures what users
get from :func:`ultraopt.benchmarks.get_benchmark`. :data:`QUALITY_SET` lists the nine of the quality table,
fixed before any result was looked at:

- ``branin``, ``camelback`` (2-D): the classic low-dimensional functions, several optima;
- ``hartmann3``, ``hartmann6`` (3-D, 6-D): smooth, multimodal, on the unit cube;
- ``rosenbrock5d``: a curved narrow valley (HPOlib's 5-D instance);
- ``levy10d``: the one 10-D problem, so the set spans 2 to 10 dimensions (the dimension of the overhead
  benchmark and of many real spaces);
- ``ackley5d``: many regular local optima around one deep funnel;
- ``categorical20``: a 20-choice categorical whose choices are similar in a hidden way, with 2 continuous;
- ``cash``: a conditional model choice with four branches; the global optimum is on a narrow ridge of the
  branch that looks worse early.

The loss is the library function's noise-free value (``loss(config, noise=False)``; the functions are built
with ``noise_std=0`` anyway), so regret = loss of the best config found minus ``optimum``.

One problem is kept outside the quality set: ``mixed6``, a 6-D space with every kind of numerical dimension
(integer, log, q-grid, log-integer, ordinal) and a categorical, which the library does not cover; run it with
``--problems mixed6``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    EqualsCondition,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

__all__ = ["EXTRA_PROBLEMS", "QUALITY_SET", "Problem", "get_problems", "library_problem"]


@dataclass(frozen=True)
class Problem:
    """A benchmark problem: ``loss(config)`` over ``space()``, with ``optimum`` its smallest value."""

    name: str
    space: Callable[[], ConfigurationSpace]
    loss: Callable[[dict[str, Any]], float]
    optimum: float
    note: str = ""


#: The problems of the quality table: (name in :func:`ultraopt.benchmarks.get_benchmark`, note).
QUALITY_SET: dict[str, str] = {
    "branin": "2-D, three global optima",
    "camelback": "2-D, six humps, two global optima",
    "hartmann3": "3-D, four local optima",
    "hartmann6": "6-D, four local optima",
    "rosenbrock5d": "5-D curved valley",
    "levy10d": "10-D, many local optima",
    "ackley5d": "5-D, regular local optima around a funnel",
    "categorical20": "20-choice categorical with hidden similarity + 2 continuous",
    "cash": "conditional model choice, 4 branches, optimum on a narrow ridge of the svm branch",
}


def _noise_free(benchmark: Any, config: dict[str, Any]) -> float:
    return float(benchmark.loss(config, noise=False))


def library_problem(name: str, note: str = "") -> Problem:
    """The benchmark ``name`` of :mod:`ultraopt.benchmarks` as a :class:`Problem` (noise-free loss)."""
    from ultraopt.benchmarks import get_benchmark
    from ultraopt.hdl import as_config_space

    benchmark = get_benchmark(name)
    if benchmark.multi_fidelity:
        raise ValueError(f"{name} is a multi-fidelity benchmark; the quality problems have one fidelity")
    hdl = benchmark.hdl
    return Problem(name, lambda: as_config_space(hdl), partial(_noise_free, benchmark), benchmark.optimum, note)


# ---------------------------------------------------------------------------------------------- extra
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


def _cash_decoy_space() -> ConfigurationSpace:
    space = ConfigurationSpace()
    model = CategoricalHyperparameter("model", ["linear", "tree", "knn"])
    branches = {
        "linear": [UniformFloatHyperparameter("lr", 1e-5, 1.0, log=True), UniformIntegerHyperparameter("iters", 1, 64)],
        "tree": [UniformFloatHyperparameter("C", 1e-3, 1e3, log=True),
                 UniformIntegerHyperparameter("depth", 1, 256, log=True)],
        "knn": [UniformFloatHyperparameter("alpha", 0.0, 1.0), UniformIntegerHyperparameter("k", 2, 20),
                UniformFloatHyperparameter("gamma", 1e-4, 10.0, log=True)],
    }
    space.add(model)
    for branch, hyperparameters in branches.items():
        space.add(hyperparameters)
        space.add([EqualsCondition(hp, model, branch) for hp in hyperparameters])
    return space


def _cash_decoy(c: dict[str, Any]) -> float:
    # tree has the optimum (0.1) but the worst average loss: its basin is small in log C and log depth
    if c["model"] == "linear":
        return 0.3 + 0.05 * (math.log10(c["lr"]) + 2.5) ** 2 + 0.2 * max(0.0, (40 - c["iters"]) / 40) ** 2
    if c["model"] == "tree":
        return 0.1 + 0.06 * (math.log10(c["C"]) - 1.7) ** 2 + 0.08 * (math.log2(c["depth"]) - math.log2(12)) ** 2
    return (0.2 + 0.5 * (c["alpha"] - 0.3) ** 2 + 0.004 * (c["k"] - 7) ** 2
            + 0.05 * (math.log10(c["gamma"]) + 2) ** 2)


#: Problems outside the quality set (dimension kinds the library's functions do not have).
EXTRA_PROBLEMS: dict[str, Problem] = {
    "mixed6": Problem("mixed6", _mixed_space, _mixed, 0.0, "int, log, q-grid, log-int, ordinal, categorical"),
    "cash_decoy": Problem("cash_decoy", _cash_decoy_space, _cash_decoy, 0.1,
                          "conditional model choice whose best branch looks worst at first"),
}


def get_problems() -> dict[str, Problem]:
    """Every problem by name: the quality set first (in table order), then :data:`EXTRA_PROBLEMS` and the
    held-out set (:mod:`benchmarks.heldout`)."""
    from benchmarks.heldout import heldout_problems  # it builds on this module's Problem

    problems = {name: library_problem(name, note) for name, note in QUALITY_SET.items()}
    problems.update(EXTRA_PROBLEMS)
    problems.update(heldout_problems())
    return problems
