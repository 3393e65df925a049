"""Held-out problems: a second quality set, written after every default of ours was chosen.

The quality set (:data:`benchmarks.problems.QUALITY_SET`) is also where our defaults were tuned (on other
seeds). These eight problems were never looked at while tuning, so they show whether the defaults carry over
to problems nobody tuned on, as a user's would:

- ``rastrigin4d``, ``styblinski_tang4d``: library functions outside the quality set (a regular egg-crate of
  local optima; four deceptive corners);
- ``michalewicz5``: steep narrow ridges (``m = 10``) on ``[0, pi]^5``;
- ``griewank8``: 8-D, a wide bowl with fine ripples, on ``[-20, 20]^8``;
- ``ellipsoid6``: an axis-aligned ellipsoid whose axes differ by 6x, off-centre;
- ``mlp7``: a synthetic validation error of a neural net: log-scale learning rate and weight decay whose best
  values depend on the optimizer (a 3-way categorical) and the batch size, integer depth and log-integer width
  whose best capacity grows with dropout;
- ``nn_conditional``: the same idea with conditional hyperparameters: SGD's momentum and Nesterov flag, Adam's
  beta1 and epsilon, each active only under its optimizer; SGD's best effective learning rate is
  ``lr / (1 - momentum)``, a curved ridge;
- ``integer_lattice5``: five integers in 0..30 with a non-smooth modular term, so the optimum (loss 1) is one
  step off the smooth part's centre.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    EqualsCondition,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

from benchmarks.problems import Problem, library_problem

__all__ = ["HELDOUT_SET", "heldout_problems"]

#: The library's functions among the held-out problems: name in :func:`ultraopt.benchmarks.get_benchmark` to note.
_LIBRARY = {
    "rastrigin4d": "4-D, regular local optima everywhere",
    "styblinski_tang4d": "4-D, deceptive corners",
}


def _box(dim: int, lower: float, upper: float) -> ConfigurationSpace:
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter(f"x{i}", lower, upper) for i in range(dim)])
    return space


def _vector(config: dict[str, Any], dim: int) -> np.ndarray:
    return np.array([config[f"x{i}"] for i in range(dim)], dtype=float)


def _michalewicz5(config: dict[str, Any]) -> float:
    x = _vector(config, 5)
    return float(-np.sum(np.sin(x) * np.sin(np.arange(1, 6) * x**2 / math.pi) ** 20))


def _griewank8(config: dict[str, Any]) -> float:
    x = _vector(config, 8)
    return float(1.0 + np.sum(x**2) / 4000.0 - np.prod(np.cos(x / np.sqrt(np.arange(1, 9)))))


def _ellipsoid6(config: dict[str, Any]) -> float:
    x = _vector(config, 6)
    return float(np.sum(np.arange(1, 7) * (x - 0.7) ** 2))


def _mlp_space() -> ConfigurationSpace:
    space = ConfigurationSpace()
    space.add(
        [
            UniformFloatHyperparameter("lr", 1e-5, 1e-1, log=True),
            UniformFloatHyperparameter("weight_decay", 1e-7, 1e-2, log=True),
            UniformIntegerHyperparameter("layers", 1, 6),
            UniformIntegerHyperparameter("units", 16, 1024, log=True),
            UniformFloatHyperparameter("dropout", 0.0, 0.8),
            CategoricalHyperparameter("optimizer", ["sgd", "adam", "rmsprop"]),
            UniformIntegerHyperparameter("batch_size", 16, 512, log=True),
        ]
    )
    return space


def _mlp7(config: dict[str, Any]) -> float:
    optimizer = config["optimizer"]
    best_log_lr = {"sgd": -1.5, "adam": -3.2, "rmsprop": -3.6}[optimizer] + (math.log2(config["batch_size"]) - 6) / 6
    capacity = config["layers"] * math.log2(config["units"])
    return (
        0.08
        + {"sgd": 0.02, "adam": 0.0, "rmsprop": 0.008}[optimizer]
        + 0.03 * (math.log10(config["lr"]) - best_log_lr) ** 2
        + 0.0004 * (capacity - 28.0 - 20.0 * config["dropout"]) ** 2
        + 0.0025 * (math.log10(config["weight_decay"]) + 4.5) ** 2
    )


def _conditional_space() -> ConfigurationSpace:
    space = ConfigurationSpace()
    optimizer = CategoricalHyperparameter("optimizer", ["sgd", "adam"])
    momentum = UniformFloatHyperparameter("momentum", 0.0, 0.99)
    nesterov = CategoricalHyperparameter("nesterov", ["yes", "no"])
    beta1 = UniformFloatHyperparameter("beta1", 0.5, 0.999)
    epsilon = UniformFloatHyperparameter("epsilon", 1e-10, 1e-4, log=True)
    space.add(
        [
            optimizer, momentum, nesterov, beta1, epsilon,
            UniformFloatHyperparameter("lr", 1e-5, 1.0, log=True),
            UniformIntegerHyperparameter("layers", 1, 8),
            UniformIntegerHyperparameter("width", 8, 512, log=True),
        ]
    )
    space.add(
        [
            EqualsCondition(momentum, optimizer, "sgd"),
            EqualsCondition(nesterov, optimizer, "sgd"),
            EqualsCondition(beta1, optimizer, "adam"),
            EqualsCondition(epsilon, optimizer, "adam"),
        ]
    )
    return space


def _nn_conditional(config: dict[str, Any]) -> float:
    log_lr = math.log10(config["lr"])
    if config["optimizer"] == "sgd":
        effective = log_lr - math.log10(1.0 - config["momentum"] + 0.01)
        loss = 0.07 + 0.04 * (effective + 0.5) ** 2 - 0.005 * (config["nesterov"] == "yes")
    else:
        loss = 0.075 + 0.03 * (log_lr + 3.3) ** 2 + 0.2 * (config["beta1"] - 0.9) ** 2
        loss += 0.0005 * (math.log10(config["epsilon"]) + 8.0) ** 2
    return loss + 0.0005 * (config["layers"] * math.log2(config["width"]) - 24.0) ** 2


def _lattice_space() -> ConfigurationSpace:
    space = ConfigurationSpace()
    space.add([UniformIntegerHyperparameter(f"k{i}", 0, 30) for i in range(5)])
    return space


_LATTICE_CENTRE = np.array([3, 17, 9, 25, 12])


def _integer_lattice5(config: dict[str, Any]) -> float:
    k = np.array([config[f"k{i}"] for i in range(5)])
    # 3 (k0 + k1) mod 7 is 0 only when k0 + k1 is a multiple of 7, which the centre's 20 is not
    return float(np.sum(np.abs(k - _LATTICE_CENTRE) ** 1.5) + (3 * (k[0] + k[1])) % 7)


#: The held-out problems defined here, in table order after the library's.
_DEFINED = [
    Problem("michalewicz5", lambda: _box(5, 0.0, math.pi), _michalewicz5, -4.687658, "5-D, steep narrow ridges"),
    Problem("griewank8", lambda: _box(8, -20.0, 20.0), _griewank8, 0.0, "8-D bowl with fine ripples"),
    Problem("ellipsoid6", lambda: _box(6, 0.0, 1.0), _ellipsoid6, 0.0, "6-D ellipsoid, axes 1:6, off-centre"),
    Problem("mlp7", _mlp_space, _mlp7, 0.08, "log, integer, log-integer and a 3-way categorical, interacting"),
    Problem("nn_conditional", _conditional_space, _nn_conditional, 0.065, "conditional optimizer sub-spaces"),
    Problem("integer_lattice5", _lattice_space, _integer_lattice5, 1.0, "5 integers, non-smooth modular term"),
]

#: Held-out problem names to notes, in table order.
HELDOUT_SET: dict[str, str] = {**_LIBRARY, **{problem.name: problem.note for problem in _DEFINED}}


def heldout_problems() -> dict[str, Problem]:
    """The held-out problems by name, in :data:`HELDOUT_SET` order."""
    problems = {name: library_problem(name, note) for name, note in _LIBRARY.items()}
    problems.update({problem.name: problem for problem in _DEFINED})
    return problems
