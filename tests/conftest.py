"""Shared fixtures: small spaces as ConfigSpace objects and HDL dicts."""

from __future__ import annotations

import multiprocessing.resource_tracker
import time

import matplotlib
import psutil
import pytest
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    EqualsCondition,
    ForbiddenInClause,
    ForbiddenLessThanRelation,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)
from joblib.externals.loky.backend import resource_tracker as loky_resource_tracker

from ultraopt.hdl.configs import check_config

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


@pytest.fixture
def nearly_all_forbidden_space() -> ConfigurationSpace:
    """Ints a, b in [0, 1000] and x in [0, 1], where only a >= 997 and a >= b are allowed (0.2% of the space)."""
    space = ConfigurationSpace()
    space.add([UniformIntegerHyperparameter("a", 0, 1000, default_value=1000),
               UniformIntegerHyperparameter("b", 0, 1000, default_value=0), UniformFloatHyperparameter("x", 0, 1)])
    space.add([ForbiddenLessThanRelation(space["a"], space["b"]), ForbiddenInClause(space["a"], list(range(997)))])
    return space


def count_model_proposals(optimizer, space: ConfigurationSpace, n_trials: int) -> int:
    """Ask and tell ``n_trials`` legal configs of ``space`` (loss: x away from 0.3, b from 500); how many came from
    the model."""
    optimizer.initialize(space, random_state=0)
    n_model = 0
    for _ in range(n_trials):
        config, info = optimizer.ask()
        assert check_config(space, config) == config
        n_model += info["origin"] == "model"
        optimizer.tell(config, abs(config["x"] - 0.3) + abs(config["b"] - 500) / 1000)
    return n_model


def quadratic(config: dict) -> float:
    """Minimum 0 at x = 1, c = 'a'."""
    return (config["x"] - 1.0) ** 2 + (config["c"] == "b")


@pytest.fixture
def children_before():
    # The resource trackers of the stdlib (Dask's nannies spawn through it) and of loky are started once per
    # process by the first child and live as long as the process: start them now, so that only the processes of
    # the run count as new.
    multiprocessing.resource_tracker.ensure_running()
    loky_resource_tracker.ensure_running()
    return {p.pid for p in psutil.Process().children(recursive=True)}


def new_processes(before: set[int], timeout: float = 15.0) -> set[int]:
    """Child processes started since ``before`` that are still alive after ``timeout`` seconds at most."""
    deadline = time.monotonic() + timeout
    while True:
        alive = {p.pid for p in psutil.Process().children(recursive=True) if p.is_running()} - before
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)
