"""The benchmark's translation for peers: a config the space forbids is a failed trial, never evaluated."""

import math

from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    ForbiddenAndConjunction,
    ForbiddenEqualsClause,
    UniformFloatHyperparameter,
)

from benchmarks.contenders import peer_loss
from benchmarks.problems import Problem


def forbidding_space() -> ConfigurationSpace:
    space = ConfigurationSpace()
    a, b = CategoricalHyperparameter("a", ["p", "q"]), CategoricalHyperparameter("b", ["u", "v"])
    space.add([a, b, UniformFloatHyperparameter("x", -2.0, 2.0)])
    space.add(ForbiddenAndConjunction(ForbiddenEqualsClause(a, "q"), ForbiddenEqualsClause(b, "v")))
    return space


def test_a_forbidden_config_of_a_peer_is_a_failed_trial_and_is_not_evaluated():
    evaluated = []

    def loss(config):
        evaluated.append(config)
        return config["x"] ** 2

    problem = Problem("forbidding", forbidding_space, loss, 0.0)
    space = problem.space()
    assert math.isinf(peer_loss(problem, space, {"a": "q", "b": "v", "x": 0.0})) and evaluated == []
    assert peer_loss(problem, space, {"a": "q", "b": "u", "x": 0.5}) == 0.25 and len(evaluated) == 1
