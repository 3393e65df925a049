import numpy as np
import pytest
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    EqualsCondition,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)
from scipy.integrate import trapezoid

from ultraopt.hdl.configs import sample_configs
from ultraopt.learning import SpaceEncoder
from ultraopt.learning.history import GrowingArrays
from ultraopt.learning.kernel_space import KernelSpace
from ultraopt.learning.parzen import ParzenEstimator, neighbor_bandwidths, scott_bandwidth


def _space(*hps, conditions=()):
    cs = ConfigurationSpace()
    cs.add(list(hps))
    cs.add(list(conditions))
    return KernelSpace(SpaceEncoder(cs))


@pytest.mark.parametrize("multivariate", [True, False])
def test_density_of_one_numerical_dimension_integrates_to_one(multivariate):
    space = _space(UniformFloatHyperparameter("x", 0, 1))
    num = np.array([[0.1], [0.15], [0.8]])
    est = ParzenEstimator(space, num, np.empty((3, 0), int), np.zeros(3, int), np.ones(3), multivariate=multivariate)
    grid = np.linspace(0, 1, 20001)[:, None]
    density = np.exp(est.log_pdf(grid, np.empty((len(grid), 0), int), np.zeros(len(grid), int)))
    assert trapezoid(density[:, 0] if density.ndim > 1 else density, grid[:, 0]) == pytest.approx(1.0, abs=1e-3)


def test_joint_and_independent_estimators_agree_in_one_dimension():
    space = _space(UniformFloatHyperparameter("x", 0, 1))
    num = np.random.default_rng(0).random((12, 1))
    args = (space, num, np.empty((12, 0), int), np.zeros(12, int), np.ones(12))
    x = np.linspace(0, 1, 50)[:, None]
    joint = ParzenEstimator(*args).log_pdf(x, np.empty((50, 0), int), np.zeros(50, int))
    independent = ParzenEstimator(*args, multivariate=False).log_pdf(x, np.empty((50, 0), int), np.zeros(50, int))
    assert np.allclose(joint, independent)


def test_categorical_probabilities_sum_to_one_and_favour_observed_choices():
    space = _space(CategoricalHyperparameter("c", ["a", "b", "c", "d"]))
    cat = np.array([[1], [1], [2]])
    est = ParzenEstimator(space, np.empty((3, 0)), cat, np.zeros(3, int), np.ones(3))
    codes = np.arange(4)[:, None]
    probs = np.exp(est.log_pdf(np.empty((4, 0)), codes, np.zeros(4, int)))
    assert probs.sum() == pytest.approx(1.0)
    assert probs[1] > probs[2] > probs[0] == pytest.approx(probs[3])


def test_samples_follow_the_density():
    space = _space(UniformFloatHyperparameter("x", 0, 1), UniformFloatHyperparameter("y", 0, 1))
    num = np.array([[0.2, 0.7], [0.25, 0.75], [0.3, 0.7]])
    est = ParzenEstimator(space, num, np.empty((3, 0), int), np.zeros(3, int), np.ones(3), prior_weight=0.0)
    drawn, _ = est.sample(4000, np.random.default_rng(0))
    assert np.allclose(drawn.mean(axis=0), num.mean(axis=0), atol=0.02)
    assert np.all((drawn >= 0) & (drawn <= 1))


def test_kernels_only_cover_their_own_group():
    model = CategoricalHyperparameter("model", ["a", "b"])
    x = UniformFloatHyperparameter("x", 0, 1)
    y = UniformFloatHyperparameter("y", 0, 1)
    space = _space(model, x, y, conditions=[EqualsCondition(x, model, "a"), EqualsCondition(y, model, "b")])
    # kernels: three points of group a (x active), none of group b
    num = np.array([[0.5, np.nan], [0.55, np.nan], [0.45, np.nan]])
    cat = np.array([[0], [0], [0]])
    groups = space.groups(num, cat)
    prior = np.log(np.array([0.5, 0.5]))
    est = ParzenEstimator(space, num, cat, groups, np.ones(3), group_log_prior=prior)
    cand_num = np.array([[0.5, np.nan], [np.nan, 0.5]])
    cand_cat = np.array([[0], [1]])
    log_density = est.log_pdf(cand_num, cand_cat, space.groups(cand_num, cand_cat))
    # group b only gets the prior's share: weight 1/4 times probability 1/2 of the group, uniform in y
    assert log_density[1] == pytest.approx(np.log(0.25 * 0.5))
    assert log_density[0] > log_density[1] + 1.0


def test_discrete_bandwidths_are_at_least_a_grid_step():
    space = _space(UniformIntegerHyperparameter("k", 1, 5))
    num = np.full((10, 1), 0.5)
    est = ParzenEstimator(space, num, np.empty((10, 0), int), np.zeros(10, int), np.ones(10))
    assert est.bandwidths[0] >= 0.25


def test_scott_bandwidth_shrinks_with_more_points_and_less_spread():
    rng = np.random.default_rng(0)
    wide = scott_bandwidth(rng.random(10), np.ones(10), 2)
    narrow = scott_bandwidth(0.5 + 0.01 * rng.random(10), np.ones(10), 2)
    many = scott_bandwidth(rng.random(1000), np.ones(1000), 2)
    assert narrow < wide and many < wide


def test_kernel_space_round_trips_ordinals_and_legalizes(conditional_space):
    space = KernelSpace(SpaceEncoder(conditional_space))
    rows = space.encoder.encode_many(sample_configs(conditional_space, 50, np.random.default_rng(0)))
    num, cat = space.split(rows)
    assert np.allclose(space.join(num, cat), rows, equal_nan=True)
    rng = np.random.default_rng(1)
    legal_num, legal_cat, allowed = space.legalize(*space.uniform(100, rng), rng)
    assert allowed.all()
    groups = space.groups(legal_num, legal_cat)
    assert len(set(groups.tolist())) == 2  # svm with C, tree with depth


def test_growing_arrays_keep_every_row():
    store = GrowingArrays({"x": ((2,), float, np.nan), "k": ((), np.int64, -1)}, capacity=2)
    for i in range(9):
        store.append(x=[i, -i], k=i)
    assert len(store) == 9 and store["k"].tolist() == list(range(9))
    assert store["x"][8].tolist() == [8, -8]


class TestNeighborBandwidths:
    def test_each_kernel_takes_the_larger_gap_to_its_neighbours(self):
        centres = np.array([[0.1], [0.2], [0.5], [0.9]])
        h = neighbor_bandwidths(centres, clip_kernels=1e9)[:, 0]
        # inner centres: max of left and right gaps; outermost ones: their inner gap; none below 1 / (n + 2)
        np.testing.assert_allclose(h, [1 / 6, 0.3, 0.4, 0.4])

    def test_clip_keeps_crowded_kernels_from_collapsing(self):
        centres = np.linspace(0.5, 0.5001, 50)[:, None]
        assert neighbor_bandwidths(centres, clip_kernels=100)[:, 0].min() == pytest.approx(1 / 52)
        # a larger clip lets a long run sharpen further
        assert neighbor_bandwidths(centres, clip_kernels=300)[:, 0].min() == pytest.approx(1 / 52)
        many = np.linspace(0.5, 0.5001, 500)[:, None]
        assert neighbor_bandwidths(many, clip_kernels=100)[:, 0].min() == pytest.approx(1 / 100)
        assert neighbor_bandwidths(many, clip_kernels=300)[:, 0].min() == pytest.approx(1 / 300)

    def test_inactive_entries_are_left_out(self):
        centres = np.array([[0.2, np.nan], [0.6, 0.3], [np.nan, 0.7]])
        h = neighbor_bandwidths(centres, clip_kernels=1e9)
        assert np.isnan(h[2, 0]) and np.isnan(h[0, 1])
        np.testing.assert_allclose(h[[0, 1], 0], [0.4, 0.4])
        np.testing.assert_allclose(h[[1, 2], 1], [0.4, 0.4])



def test_estimator_uses_the_neighbor_clip_it_is_given():
    space = _space(UniformFloatHyperparameter("x", 0, 1))
    num = np.linspace(0.5, 0.5001, 400)[:, None]
    widths = {}
    for clip in (100, 300):
        est = ParzenEstimator(
            space, num, np.empty((400, 0), int), np.zeros(400, int), np.ones(400),
            bandwidth="neighbor", neighbor_clip=clip, min_bandwidth=1e-4,
        )
        widths[clip] = est.kernel_bandwidths.min()
    assert widths[100] == pytest.approx(1 / 100) and widths[300] == pytest.approx(1 / 300)
