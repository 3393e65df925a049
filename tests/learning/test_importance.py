import time

import numpy as np
import pytest
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    Constant,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

from ultraopt.hdl.configs import sample_configs
from ultraopt.learning import SpaceEncoder
from ultraopt.learning.importance import fanova_importance, uniform_rows


def importances(space, configs, losses, **kwargs):
    encoder = SpaceEncoder(space)
    found = fanova_importance(encoder.encode_many(configs), np.asarray(losses), encoder, **kwargs)
    return dict(zip(found.names, found.importance)), found


@pytest.fixture
def four_dims():
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter(name, 0, 1) for name in ("dominant", "minor", "useless")])
    space.add(CategoricalHyperparameter("colour", ["red", "green", "blue"]))
    return space


def test_a_dominant_hyperparameter_ranks_first_and_one_without_effect_last(four_dims):
    configs = sample_configs(four_dims, 300, np.random.default_rng(0))
    losses = [10 * (c["dominant"] - 0.3) ** 2 + c["minor"] + 0.3 * (c["colour"] == "red") for c in configs]
    found, result = importances(four_dims, configs, losses)
    ranking = sorted(found, key=found.get, reverse=True)
    assert ranking == ["dominant", "minor", "colour", "useless"]
    assert found["dominant"] > 0.6 and found["useless"] < 0.01
    assert 0.8 < sum(found.values()) <= 1.05  # no interactions: the main effects explain (about) everything
    assert result.n_trials == 300 and np.all(result.std >= 0)


def test_the_choice_that_switches_sub_spaces_is_found(conditional_space):
    configs = sample_configs(conditional_space, 200, np.random.default_rng(1))
    losses = [(0.0 if c["model"] == "tree" else 1.0) + 0.01 * c.get("depth", 0) for c in configs]
    found, _ = importances(conditional_space, configs, losses)
    assert max(found, key=found.get) == "model" and found["model"] > 0.8
    assert found["C"] < 0.01


@pytest.mark.parametrize("seed", range(3))
def test_in_a_small_space_an_unused_hyperparameter_gets_no_share_and_none_exceeds_one(seed):
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter("x", -5, 5), CategoricalHyperparameter("kernel", ["a", "b", "c"])])
    configs = sample_configs(space, 40, np.random.default_rng(seed))
    found, _ = importances(space, configs, [{"a": 0.0, "b": 1.0, "c": 3.0}[c["kernel"]] for c in configs])
    assert found["kernel"] > 0.95 and found["x"] < 0.02
    found, _ = importances(space, configs, [(c["x"] - 1) ** 2 for c in configs])
    assert 0.9 < found["x"] <= 1.0 and found["kernel"] < 0.02


def test_constant_losses_explain_nothing_and_five_trials_are_the_minimum(four_dims):
    configs = sample_configs(four_dims, 20, np.random.default_rng(2))
    found, _ = importances(four_dims, configs, [1.0] * 20)
    assert set(found.values()) == {0.0}
    # with 2-4 trials no tree splits: every hyperparameter came out 0 +- 0, even the one the loss is
    with pytest.raises(ValueError, match="at least 5 successful trials, got 4"):
        importances(four_dims, configs[:4], [float(i) for i in range(4)])


def test_uniform_rows_cover_the_space_legally():
    space = ConfigurationSpace()
    space.add([UniformIntegerHyperparameter("n", 1, 4), CategoricalHyperparameter("c", ["a", "b"]),
               Constant("k", "v")])
    encoder = SpaceEncoder(space)
    rows = uniform_rows(encoder, 4000, np.random.default_rng(0))
    configs = [encoder.decode(row) for row in rows[:200]]
    assert {c["n"] for c in configs} == {1, 2, 3, 4} and {c["c"] for c in configs} == {"a", "b"}
    assert {c["k"] for c in configs} == {"v"}


def test_ten_thousand_trials_take_less_than_a_few_seconds():
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter(f"x{i}", 0, 1) for i in range(8)])
    space.add([CategoricalHyperparameter("c", ["a", "b", "c"]), UniformIntegerHyperparameter("n", 1, 100, log=True)])
    rng = np.random.default_rng(0)
    x, c, n = rng.random((10_000, 8)), rng.choice(["a", "b", "c"], 10_000), rng.integers(1, 101, 10_000)
    configs = [{**{f"x{i}": float(v) for i, v in enumerate(row)}, "c": str(ci), "n": int(ni)}
               for row, ci, ni in zip(x, c, n)]
    losses = 10 * (x[:, 0] - 0.3) ** 2 + x[:, 1] + rng.normal(0, 0.05, 10_000)
    started = time.process_time()  # CPU time of this process: other jobs on a busy machine do not count
    found, _ = importances(space, configs, losses)
    spent = time.process_time() - started
    assert max(found, key=found.get) == "x0"
    assert spent < 5.0, f"importance of 10,000 trials took {spent:.1f} s of CPU"
