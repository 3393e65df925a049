import numpy as np
import pytest
from ConfigSpace import (
    AndConjunction,
    CategoricalHyperparameter,
    ConfigurationSpace,
    EqualsCondition,
    ForbiddenAndConjunction,
    ForbiddenEqualsClause,
    InCondition,
    NotEqualsCondition,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

from ultraopt.hdl import hdl2cs
from ultraopt.hdl.configs import check_config, sample_configs
from ultraopt.learning import SpaceEncoder
from ultraopt.learning.design import initial_design
from ultraopt.learning.kernel_space import KernelSpace


@pytest.fixture
def space():
    cs = ConfigurationSpace()
    model = CategoricalHyperparameter("model", ["svm", "tree", "knn"])
    c = UniformFloatHyperparameter("C", 1e-3, 1e3, log=True)
    depth = UniformIntegerHyperparameter("depth", 1, 64, log=True)
    width = UniformIntegerHyperparameter("width", 0, 100, meta={"q": 10})
    rate = UniformFloatHyperparameter("rate", 0.0, 1.0, meta={"q": 0.25})
    order = OrdinalHyperparameter("order", [1, 2, 4, 8])
    leaf = CategoricalHyperparameter("leaf", ["a", "b"])
    cs.add([model, c, depth, width, rate, order, leaf])
    cs.add([
        EqualsCondition(c, model, "svm"),
        InCondition(depth, model, ["tree", "knn"]),
        AndConjunction(EqualsCondition(leaf, model, "tree"), NotEqualsCondition(leaf, depth, 1)),
    ])
    cs.add(ForbiddenAndConjunction(ForbiddenEqualsClause(model, "knn"), ForbiddenEqualsClause(order, 8)))
    return cs


def test_round_trip_of_sampled_configs(space):
    encoder = SpaceEncoder(space)
    configs = sample_configs(space, 300, np.random.default_rng(0))
    matrix = encoder.encode_many(configs)
    assert matrix.shape == (300, encoder.n_dims)
    for config, row in zip(configs, matrix):
        decoded = encoder.decode(row)
        assert decoded.keys() == config.keys()
        for name, value in config.items():  # log scales may lose an ulp
            assert decoded[name] == (pytest.approx(value, rel=1e-12) if isinstance(value, float) else value)
    kinds = {dim.name: dim.kind for dim in encoder.dimensions}
    assert kinds == {"model": "categorical", "C": "continuous", "depth": "discrete", "width": "discrete",
                     "rate": "discrete", "order": "ordinal", "leaf": "categorical"}
    assert {dim.name: dim.n_values for dim in encoder.dimensions}["width"] == 11


def test_encode_many_matches_encoding_one_config_at_a_time(space):
    encoder = SpaceEncoder(space)
    configs = sample_configs(space, 200, np.random.default_rng(3))
    one_by_one = np.vstack([encoder.encode(config) for config in configs])
    np.testing.assert_array_equal(encoder.encode_many(configs), one_by_one)  # nan in the same places too
    assert encoder.encode_many([]).shape == (0, encoder.n_dims)


def test_encode_gives_the_row_of_a_configspace_configuration_to_the_last_bit(space):
    # the optimizers' models see the same rows as before encode stopped building a Configuration (which validated
    # configs checked already, and took most of a resume), so runs and benchmark tables repeat exactly
    from ConfigSpace import Configuration

    encoder = SpaceEncoder(space)
    rows = np.random.default_rng(5).random((200, encoder.n_dims))
    legal, allowed = encoder.legalize(rows)
    configs = [encoder.decode(row) for row in legal[allowed]]  # decoded: floats not rounded yet
    assert any(value != round(value, 13) for config in configs for value in config.values()
               if isinstance(value, float))
    for config in configs:
        expected = np.asarray(Configuration(space, values=config).get_array(), dtype=float)
        np.testing.assert_array_equal(encoder.encode(config), expected)


def test_encode_many_keeps_bool_options_apart_from_strings():
    cs = ConfigurationSpace()
    cs.add(CategoricalHyperparameter("flag", [True, "True", None]))
    matrix = SpaceEncoder(cs).encode_many([{"flag": "True"}, {"flag": True}, {"flag": None}])
    assert matrix[:, 0].tolist() == [1.0, 0.0, 2.0]


def test_random_matrices_become_legal_configs(space):
    encoder = SpaceEncoder(space)
    rng = np.random.default_rng(1)
    raw = rng.uniform(-0.2, 1.2, size=(2000, encoder.n_dims))
    for name in ("model", "order", "leaf"):
        column = space.index_of[name]
        raw[:, column] = rng.uniform(-1, encoder.dimensions[column].n_values + 1, size=len(raw))
    legal, allowed = encoder.legalize(raw)
    assert 0 < allowed.sum() < len(raw)  # the forbidden clause removed some rows
    for row in legal[allowed]:
        config = encoder.decode(row)
        assert check_config(space, config) == config  # legal, hence unchanged
        assert config["width"] % 10 == 0 and config["rate"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    # a child of an inactive parent is inactive: leaf needs model == tree and depth != 1
    leaf, model, depth = (space.index_of[n] for n in ("leaf", "model", "depth"))
    active_leaf = ~np.isnan(legal[:, leaf])
    assert np.all(legal[active_leaf, model] == 1) and not np.isnan(legal[active_leaf, depth]).any()


def test_snap_puts_discrete_columns_on_their_grid(space):
    encoder = SpaceEncoder(space)
    depth = space.index_of["depth"]
    matrix = np.full((50, encoder.n_dims), 0.5)
    matrix[:, depth] = np.linspace(0, 1, 50)
    snapped = encoder.snap(matrix)
    values = space["depth"].to_value(snapped[:, depth])
    assert set(values) <= set(range(1, 65)) and np.allclose(encoder.snap(snapped), snapped)


def test_uniform_draws_and_the_design_give_every_grid_point_the_same_share():
    space = ConfigurationSpace()
    space.add([UniformIntegerHyperparameter("layers", 1, 3), OrdinalHyperparameter("size", ["s", "m", "l"])])
    kernel_space = KernelSpace(SpaceEncoder(space))
    rng = np.random.default_rng(0)
    for num, _ in (kernel_space.uniform(3000, rng), initial_design(kernel_space, 3000, rng)):
        legal, _, _ = kernel_space.legalize(num, np.empty((3000, 0), dtype=np.int64), rng)
        for column in legal.T:  # the end points 0 and 1 got half the share of the middle one
            np.testing.assert_allclose(np.bincount(np.rint(column * 2).astype(int)) / 3000, 1 / 3, atol=0.03)


def test_uniform_draws_on_integer_grids_give_each_point_its_share():
    # ConfigSpace rounds an integer's value before the grid snaps it: 3 and 5 tied and went to 4 alone
    space = hdl2cs({"width": {"_type": "int_quniform", "_value": [2, 8, 2]},
                    "depth": {"_type": "int_qloguniform", "_value": [2, 64, 2]}})
    kernel_space = KernelSpace(SpaceEncoder(space))
    rng = np.random.default_rng(0)
    num, _ = kernel_space.uniform(8000, rng)
    legal, _, _ = kernel_space.legalize(num, np.empty((8000, 0), dtype=np.int64), rng)
    rows = kernel_space.join(legal, np.empty((8000, 0), dtype=np.int64))
    configs = [kernel_space.encoder.decode(row) for row in rows]
    widths = np.array([config["width"] for config in configs])
    np.testing.assert_allclose([np.mean(widths == w) for w in (2, 4, 6, 8)], 0.25, atol=0.03)
    depths = np.array([config["depth"] for config in configs])
    points = np.arange(2, 65, 2)  # each gets the log-uniform mass of the values nearest it: no zig-zag
    expected = np.diff(np.log(np.concatenate([[2], points[:-1] + 1, [64]]))) / np.log(32)
    np.testing.assert_allclose([np.mean(depths == d) for d in points], expected, atol=0.02)


def test_an_empty_design_has_the_shapes_of_the_space(space):
    # n = 0 is an optimizer without a startup phase (n_startup_trials=0); the categoricals made it crash
    kernel_space = KernelSpace(SpaceEncoder(space))
    num, cat = initial_design(kernel_space, 0, np.random.default_rng(0))
    assert num.shape == (0, kernel_space.n_num) and cat.shape == (0, kernel_space.n_cat) and cat.dtype == np.int64
    assert kernel_space.n_cat > 0
    with pytest.raises(ValueError, match="n must be a non-negative int, got -1"):
        initial_design(kernel_space, -1, np.random.default_rng(0))
