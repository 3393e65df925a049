"""The held-out benchmark problems: their stated optima are attained and never undercut."""

import math

import pytest
from ConfigSpace import Configuration

from benchmarks.heldout import HELDOUT_SET, heldout_problems

#: A config attaining each defined problem's optimum.
ARGMINS = {
    "michalewicz5": {f"x{i}": x for i, x in enumerate([2.202906, 1.570796, 1.284992, 1.923058, 1.720470])},
    "griewank8": {f"x{i}": 0.0 for i in range(8)},
    "ellipsoid6": {f"x{i}": 0.7 for i in range(6)},
    "mlp7": {"lr": 10**-3.2, "weight_decay": 10**-4.5, "layers": 4, "units": 128, "dropout": 0.0,
             "optimizer": "adam", "batch_size": 64},
    "nn_conditional": {"optimizer": "sgd", "momentum": 0.9, "nesterov": "yes", "lr": 0.11 * 10**-0.5,
                       "layers": 3, "width": 256},
    "integer_lattice5": {"k0": 3, "k1": 18, "k2": 9, "k3": 25, "k4": 12},
}


def test_the_set_lists_every_problem_in_order():
    assert list(heldout_problems()) == list(HELDOUT_SET)
    assert len(HELDOUT_SET) == 8


@pytest.mark.parametrize("name", sorted(ARGMINS))
def test_the_stated_optimum_is_attained(name):
    problem = heldout_problems()[name]
    config = ARGMINS[name]
    Configuration(problem.space(), values=config)  # a legal config of the space
    assert problem.loss(config) == pytest.approx(problem.optimum, abs=1e-5)


@pytest.mark.parametrize("name", list(HELDOUT_SET))
def test_no_config_beats_the_stated_optimum(name):
    problem = heldout_problems()[name]
    space = problem.space()
    space.seed(0)
    losses = [problem.loss(dict(config)) for config in space.sample_configuration(500)]
    assert all(math.isfinite(loss) for loss in losses)
    assert min(losses) >= problem.optimum - 1e-9
