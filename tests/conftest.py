"""Shared fixtures: small spaces as ConfigSpace objects and HDL dicts."""

from __future__ import annotations

import matplotlib
import pytest
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    EqualsCondition,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

matplotlib.use("Agg")


@pytest.fixture
def quadratic_space() -> ConfigurationSpace:
    """x in [-5, 5] and a categorical that adds 1 to the loss when 'b'."""
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter("x", -5, 5), CategoricalHyperparameter("c", ["a", "b"])])
    return space


@pytest.fixture
def conditional_space() -> ConfigurationSpace:
    """'model' chooses between 'svm' (with C) and 'tree' (with depth)."""
    space = ConfigurationSpace()
    model = CategoricalHyperparameter("model", ["svm", "tree"])
    c = UniformFloatHyperparameter("C", 1e-3, 1e3, log=True)
    depth = UniformIntegerHyperparameter("depth", 1, 10)
    space.add([model, c, depth])
    space.add([EqualsCondition(c, model, "svm"), EqualsCondition(depth, model, "tree")])
    return space


@pytest.fixture
def small_discrete_space() -> ConfigurationSpace:
    """3 x 4 = 12 configs."""
    space = ConfigurationSpace()
    space.add([CategoricalHyperparameter("a", ["x", "y", "z"]), UniformIntegerHyperparameter("b", 1, 4)])
    return space


def quadratic(config: dict) -> float:
    """Minimum 0 at x = 1, c = 'a'."""
    return (config["x"] - 1.0) ** 2 + (config["c"] == "b")
