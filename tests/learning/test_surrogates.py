import numpy as np
import pytest

from ultraopt.learning.surrogates import (
    INACTIVE_VALUE,
    ForestSurrogate,
    GBRTSurrogate,
    impute_inactive,
    order_choices,
)


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 2))
    return x, np.sin(6 * x[:, 0]) + 0.1 * x[:, 1]


@pytest.mark.parametrize("kind", ["random_forest", "extra_trees"])
def test_forest_mean_and_variance_follow_the_law_of_total_variance(kind):
    x, y = _data()
    forest = ForestSurrogate(n_estimators=16, kind=kind, min_samples_leaf=3).fit(x, y, seed=1)
    grid = np.random.default_rng(2).random((50, 2))
    mean, std = forest.predict(grid)
    tree_means, tree_vars = forest.tree_predictions(grid)
    assert tree_means.shape == tree_vars.shape == (50, 16)
    np.testing.assert_allclose(mean, tree_means.mean(axis=1))
    np.testing.assert_allclose(std**2, tree_means.var(axis=1) + tree_vars.mean(axis=1), rtol=1e-9, atol=1e-10)
    assert (tree_vars > 0).any()  # leaves of several rows carry their own variance
    # same mean as scikit-learn's trees predict
    np.testing.assert_allclose(mean, np.mean([tree.predict(grid) for tree in forest.estimators_], axis=0))
    assert np.corrcoef(mean, np.sin(6 * grid[:, 0]))[0, 1] > 0.95


def test_forest_is_more_certain_where_it_has_data():
    rng = np.random.default_rng(0)
    x = np.r_[rng.uniform(0, 0.5, (80, 1)), rng.uniform(0.5, 1, (4, 1))]
    y = np.sin(8 * x[:, 0]) + 0.05 * rng.standard_normal(len(x))
    _, std = ForestSurrogate(n_estimators=32).fit(x, y, seed=0).predict(np.array([[0.25], [0.75]]))
    assert std[0] < std[1]


def test_forest_is_reproducible_for_a_seed():
    x, y = _data()
    first = ForestSurrogate().fit(x, y, seed=3).predict(x[:10])
    again = ForestSurrogate().fit(x, y, seed=3).predict(x[:10])
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


def test_inactive_values_become_a_splittable_constant():
    matrix = np.array([[0.2, np.nan], [0.7, 0.5]])
    np.testing.assert_array_equal(impute_inactive(matrix), [[0.2, INACTIVE_VALUE], [0.7, 0.5]])
    # The loss depends only on whether column 1 is active: one split on the imputed value separates it.
    rng = np.random.default_rng(0)
    x = rng.random((100, 2))
    x[:50, 1] = np.nan
    y = np.where(np.isnan(x[:, 1]), 1.0, 0.0)
    mean, _ = ForestSurrogate(n_estimators=8).fit(x, y, seed=0).predict(np.array([[0.5, np.nan], [0.5, 0.3]]))
    np.testing.assert_allclose(mean, [1.0, 0.0], atol=1e-9)


def test_gbrt_quantiles_give_mean_and_spread():
    rng = np.random.default_rng(0)
    x = rng.random((300, 1))
    noise = np.where(x[:, 0] > 0.5, 1.0, 0.05)  # noisy on the right half
    y = x[:, 0] + noise * rng.standard_normal(300)
    gbrt = GBRTSurrogate(n_estimators=50).fit(x, y, seed=0)
    mean, std = gbrt.predict(np.array([[0.25], [0.75]]))
    assert std[1] > 3 * std[0]
    assert mean[0] == pytest.approx(0.25, abs=0.15)
    with pytest.raises(ValueError, match="quantiles"):
        GBRTSurrogate(quantiles=(0.5, 0.2, 0.9))


def test_forest_between_tree_variance_leaves_out_the_within_leaf_term():
    x, y = _data()
    total = ForestSurrogate(n_estimators=8, min_samples_leaf=5).fit(x, y, seed=0)
    between = ForestSurrogate(n_estimators=8, min_samples_leaf=5, variance="between").fit(x, y, seed=0)
    tree_means, tree_vars = total.tree_predictions(x[:20])
    np.testing.assert_allclose(between.predict(x[:20])[1] ** 2, np.maximum(tree_means.var(axis=1), 1e-10))
    assert np.all(total.predict(x[:20])[1] > between.predict(x[:20])[1])
    with pytest.raises(ValueError, match="variance"):
        ForestSurrogate(variance="within")


def test_choices_are_ordered_by_their_smoothed_mean_target():
    codes = np.array([2, 2, 0, 0, 3, np.nan, -1.0])
    targets = np.array([0.0, 0.0, 4.0, 4.0, 1.0, 100.0, 100.0])  # inactive rows (nan, -1) are left out
    # mean 1.8 pulls each seen choice towards it; choice 1 is untried and sits at the mean itself
    order = order_choices(codes, targets, n_values=5, prior_count=1.0)
    np.testing.assert_allclose(order, [1.0, 2 / 3, 0.0, 1 / 3, 2 / 3])


def test_ordered_categories_let_one_split_group_choices_the_index_puts_apart():
    # Choices 0, 3 and 6 of 8 are good: no single index threshold separates them, one threshold on the order does.
    rng = np.random.default_rng(0)
    codes = rng.integers(8, size=160).astype(float)
    x = np.c_[codes, rng.random(160)]
    y = np.isin(codes, [0, 3, 6]).astype(float) * -1.0
    stumps = {"n_estimators": 8, "max_depth": 1, "max_features": 1.0, "bootstrap": False}
    index = ForestSurrogate(**stumps).fit(x, y, seed=0)
    ordered = ForestSurrogate(categories={0: 8}, **stumps).fit(x, y, seed=0)
    grid = np.c_[np.arange(8.0), np.full(8, 0.5)]
    np.testing.assert_allclose(ordered.predict(grid)[0], np.isin(np.arange(8), [0, 3, 6]) * -1.0, atol=1e-9)
    assert np.abs(index.predict(grid)[0] - ordered.predict(grid)[0]).max() > 0.3


def test_ordered_categories_keep_inactive_rows_apart():
    codes = np.array([0.0, 1.0, np.nan, np.nan] * 10)
    x = codes[:, None]
    y = np.where(np.isnan(codes), 5.0, codes)
    forest = ForestSurrogate(n_estimators=4, categories={0: 2}).fit(x, y, seed=0)
    np.testing.assert_allclose(forest.predict(np.array([[0.0], [1.0], [np.nan]]))[0], [0.0, 1.0, 5.0], atol=1e-9)
