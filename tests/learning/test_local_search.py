import numpy as np
import pytest
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    EqualsCondition,
    ForbiddenAndConjunction,
    ForbiddenEqualsClause,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

from ultraopt.hdl.configs import check_config
from ultraopt.learning import SpaceEncoder
from ultraopt.learning.design import sobol_rows
from ultraopt.learning.local_search import local_search, one_exchange_neighbours, sample_rows


@pytest.fixture
def space():
    cs = ConfigurationSpace()
    model = CategoricalHyperparameter("model", ["svm", "tree", "knn"])
    c = UniformFloatHyperparameter("C", 1e-3, 1e3, log=True)
    depth = UniformIntegerHyperparameter("depth", 1, 64, log=True)
    width = UniformIntegerHyperparameter("width", 0, 100, meta={"q": 10})
    order = OrdinalHyperparameter("order", [1, 2, 4, 8])
    cs.add([model, c, depth, width, order])
    cs.add([EqualsCondition(c, model, "svm"), EqualsCondition(depth, model, "tree")])
    cs.add(ForbiddenAndConjunction(ForbiddenEqualsClause(model, "knn"), ForbiddenEqualsClause(order, 8)))
    return cs


def _assert_legal(space, encoder, rows):
    for row in rows:
        check_config(space, encoder.decode(row))


def test_sampled_rows_are_legal_and_cover_the_choices(space):
    encoder = SpaceEncoder(space)
    rows = sample_rows(encoder, 500, np.random.default_rng(0))
    assert 400 < len(rows) <= 500  # knn with order 8 is forbidden
    _assert_legal(space, encoder, rows[:100])
    model, c = encoder.names.index("model"), encoder.names.index("C")
    assert set(rows[:, model]) == {0.0, 1.0, 2.0}
    svm = rows[:, model] == 0
    assert np.isnan(rows[~svm, c]).all() and not np.isnan(rows[svm, c]).any()


def test_one_exchange_neighbours_change_one_active_hyperparameter(space):
    encoder = SpaceEncoder(space)
    rng = np.random.default_rng(1)
    rows = sample_rows(encoder, 20, rng)
    neighbours, origin = one_exchange_neighbours(encoder, rows, rng)
    _assert_legal(space, encoder, neighbours)
    model = encoder.names.index("model")
    others = [encoder.names.index(name) for name in ("width", "order")]
    for row, parent in zip(neighbours, rows[origin]):
        differs = ~((row == parent) | (np.isnan(row) & np.isnan(parent)))
        assert differs.any()
        if not differs[model]:  # the model did not change, so exactly one hyperparameter did
            assert differs.sum() == 1
        else:  # a new model (its own children switch on or off) and nothing else
            assert not differs[others].any()
    # another model choice appears among the neighbours of each row
    for index in range(len(rows)):
        assert len(set(neighbours[origin == index, model]) - {rows[index, model]}) >= 1


def test_local_search_climbs_to_the_optimum_of_a_smooth_score():
    cs = ConfigurationSpace()
    cs.add([UniformFloatHyperparameter(f"x{i}", 0, 1) for i in range(3)])
    encoder = SpaceEncoder(cs)
    target = np.array([0.3, 0.8, 0.55])

    def score(matrix):
        return -((matrix - target) ** 2).sum(axis=1)

    rng = np.random.default_rng(0)
    starts = sample_rows(encoder, 4, rng)
    rows, scores = local_search(encoder, starts, score, rng, max_steps=200)
    assert len(rows) == len(scores) > 4
    np.testing.assert_allclose(rows[np.argmax(scores)], target, atol=0.05)
    assert scores.max() > score(starts).max()


def test_a_step_in_a_wide_space_varies_a_subset_of_the_hyperparameters():
    # 800 neighbours per walk and step in a space of 200 made each ask of Forest take over a second
    cs = ConfigurationSpace({f"x{i}": (0.0, 1.0) for i in range(200)})
    encoder = SpaceEncoder(cs)
    rng = np.random.default_rng(0)
    start = sample_rows(encoder, 1, rng)
    neighbours, _ = one_exchange_neighbours(encoder, start, rng, n_numerical=4, max_dims=32)
    changed = np.flatnonzero((neighbours != start).any(axis=0))
    assert len(neighbours) == 128 and len(changed) == 32
    assert len(one_exchange_neighbours(encoder, start, rng, n_numerical=4)[0]) == 800

    target = np.full(200, 0.3)
    rows, scores = local_search(encoder, start, lambda m: -((m - target) ** 2).sum(axis=1), rng, max_steps=100)
    assert len(rows) <= 1 + 100 * 128
    assert scores.max() > -((start - target) ** 2).sum() + 1.0  # still climbs


def test_local_search_breaks_ties_between_equally_good_neighbours_at_random():
    # Choices 1-4 of c score alike (a tree model's plateau): a walk from choice 0 may go to any of them.
    cs = ConfigurationSpace()
    cs.add([CategoricalHyperparameter("c", list("abcde")), UniformFloatHyperparameter("x", 0, 1)])
    encoder = SpaceEncoder(cs)

    def score(matrix):
        return (matrix[:, 0] > 0).astype(float)

    reached = set()
    for seed in range(10):
        start = np.array([[0.0, 0.5]])
        rows, _ = local_search(encoder, start, score, np.random.default_rng(seed), max_steps=5)
        moved_on = rows[(rows[:, 1] != 0.5)]  # the second step's numerical neighbours share the walk's choice
        reached |= set(moved_on[moved_on[:, 0] > 0, 0])
    assert len(reached) >= 3


def test_sobol_rows_are_legal_and_spread_every_column_evenly(space):
    encoder = SpaceEncoder(space)
    rows = sobol_rows(encoder, 16, np.random.default_rng(0))
    _assert_legal(space, encoder, rows)
    model, width = encoder.names.index("model"), encoder.names.index("width")
    counts = np.bincount(rows[:, model].astype(int), minlength=3)
    assert counts.min() >= 3  # 5 or 6 of each model before forbidden rows go
    assert len(set(rows[:, width])) >= 6  # the numerical column is spread, not clumped
    again = sobol_rows(encoder, 16, np.random.default_rng(0))
    np.testing.assert_array_equal(rows, again)
    assert sobol_rows(encoder, 0, np.random.default_rng(0)).shape == (0, encoder.n_dims)


@pytest.mark.parametrize("seed", range(5))
def test_sobol_rows_try_every_choice_of_a_many_choice_categorical(seed):
    cs = ConfigurationSpace()
    cs.add([CategoricalHyperparameter("c", [f"v{i}" for i in range(20)]), UniformFloatHyperparameter("x", 0, 1)])
    encoder = SpaceEncoder(cs)
    counts = np.bincount(sobol_rows(encoder, 64, np.random.default_rng(seed))[:, 0].astype(int), minlength=20)
    assert counts.min() >= 2 and counts.max() <= 4  # 3.2 of the 64 strata per choice


def test_min_step_adds_small_numerical_moves():
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter("x", 0.0, 1.0), UniformFloatHyperparameter("y", 0.0, 1.0)])
    encoder = SpaceEncoder(space)
    rows = np.full((200, 2), 0.5)

    def share_of_small_moves(min_step):
        neighbours, origin = one_exchange_neighbours(encoder, rows, np.random.default_rng(0), min_step=min_step)
        moves = np.abs(neighbours - rows[origin]).max(axis=1)
        return np.mean(moves < 0.01)

    assert share_of_small_moves(None) < 0.08  # N(0, 0.2^2) steps: about 4% below 0.01
    assert share_of_small_moves(0.001) > 0.15  # half the moves have scales log-uniform down to 0.001
