"""Tree surrogates of the (transformed) loss that predict a mean and a spread.

Both work on encoded rows (see :class:`ultraopt.learning.encoding.SpaceEncoder`) where inactive
hyperparameters are ``nan``; :func:`impute_inactive` replaces them by a value outside ``[0, 1]`` so that a tree
can split on whether a hyperparameter is active at all (a conditional choice is then one split away).

- :class:`ForestSurrogate`: a random forest (or extra-trees). Its prediction is a mixture of one Gaussian per
  tree: the mean is the average of the trees' leaf means, and the variance follows the law of total variance
  over the trees, ``Var = mean_t(var_t) + var_t(mean_t)``, where ``var_t`` is the variance of the training
  targets inside the leaf of tree ``t`` (as SMAC2's forest does; SMAC3's keeps only ``var_t(mean_t)``,
  ``variance="between"``). The within-leaf term keeps the spread from
  collapsing where all trees agree but the data are noisy.
- :class:`GBRTSurrogate`: three gradient-boosted models with quantile losses at the ``16%``, ``50%`` and ``84%``
  levels; the median is the mean and half the distance between the outer quantiles is the spread (one
  standard deviation for a Gaussian). It uses scikit-learn's histogram boosting, held to one thread: the
  classic ``GradientBoostingRegressor`` spends ~50 ms per round in its per-leaf quantile updates.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal, Protocol

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.tree import DecisionTreeRegressor, ExtraTreeRegressor
from threadpoolctl import ThreadpoolController

__all__ = ["ForestSurrogate", "GBRTSurrogate", "Surrogate", "impute_inactive", "order_choices", "INACTIVE_VALUE"]

logger = logging.getLogger(__name__)

#: What an inactive hyperparameter becomes in a model's input: outside every active value's ``[0, n)`` range.
INACTIVE_VALUE = -1.0


_CONTROLLER: ThreadpoolController | None = None


def _one_thread() -> Any:
    """A context that holds OpenMP to one thread.

    The controller that finds the loaded thread pools is built once: ``threadpool_limits`` rebuilds it on every
    call (~7 ms), which cost more than a boosted model's prediction during local search.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="openmp")


def order_choices(codes: np.ndarray, targets: np.ndarray, n_values: int, prior_count: float = 1.0) -> np.ndarray:
    """Each choice's position in ``[0, 1]``: the dense rank of its smoothed mean target among the choices.

    Parameters
    ----------
    codes : numpy.ndarray
        The choice index of each row; negative (inactive, imputed) or ``nan`` rows are left out.
    targets : numpy.ndarray
        The target of each row.
    n_values : int
        Number of choices.
    prior_count : float
        Pseudo-rows at the mean target added to every choice, so a choice seen once is not ranked as surely as
        one seen often, and the untried choices share the middle position of "as good as the average".

    Returns
    -------
    numpy.ndarray
        Shape ``(n_values,)``: ``0`` for the choice of lowest smoothed mean, ``1`` for the highest, equal
        smoothed means (e.g. untried choices) equal.
    """
    active = np.asarray(codes) >= 0  # nan compares False
    seen, values = np.asarray(codes)[active].astype(np.intp), np.asarray(targets, dtype=float)[active]
    prior = float(values.mean()) if values.size else 0.0
    sums = np.bincount(seen, weights=values, minlength=n_values)
    counts = np.bincount(seen, minlength=n_values)
    smoothed = (sums + prior_count * prior) / (counts + prior_count)
    _, rank = np.unique(smoothed, return_inverse=True)
    return np.ravel(rank) / max(int(rank.max()), 1)


def _code_index(codes: np.ndarray, n_values: int) -> np.ndarray:
    """Each row's column in a table of ``n_values + 1`` positions: its choice, or the last one when inactive."""
    return np.where(codes >= 0, codes, n_values).astype(np.intp)


def impute_inactive(matrix: np.ndarray, value: float = INACTIVE_VALUE) -> np.ndarray:
    """A copy of ``matrix`` with ``nan`` (inactive) replaced by ``value``."""
    return np.where(np.isnan(matrix), value, matrix)


class Surrogate(Protocol):
    """What the model-based optimizers need from a model: fit rows to targets, predict mean and spread."""

    def fit(self, matrix: np.ndarray, targets: np.ndarray, seed: int) -> Surrogate:
        """Fit to encoded rows (``nan`` where inactive) and their transformed losses."""
        ...

    def predict(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The predicted mean and standard deviation for each row."""
        ...


class ForestSurrogate:
    """A random forest (or extra-trees) with a mean and a variance per prediction.

    The trees are scikit-learn's, grown one by one on their bootstrap resample (the drawn rows, repeats
    included) without the forest's per-tree parameter cloning and validation, which cost more than growing a
    tree on a few hundred rows.

    Parameters
    ----------
    n_estimators : int
        Number of trees. More trees give a smoother spread and cost linearly more to fit.
    kind : {"random_forest", "extra_trees"}
        Bootstrapped best-split trees (SMAC's choice) or randomised-split trees (faster to fit).
    min_samples_leaf : int
        Minimum number of training rows in a leaf; leaves of several rows give the within-leaf variance.
    min_samples_split : int
        Minimum number of rows in a node for it to be split.
    max_features : float
        Fraction of the columns considered at each split.
    max_depth : int or None
        Depth limit of the trees.
    bootstrap : bool or None
        Whether trees see bootstrap resamples; ``None`` means yes for random forests, no for extra-trees.
    variance : {"total", "between"}
        ``"total"``: the law of total variance over the trees (between-tree plus mean within-leaf variance);
        ``"between"``: the variance of the trees' leaf means only (SMAC3's forest).
    min_variance : float
        Floor of the predicted variance.
    categories : mapping of int to int, optional
        Categorical columns (column index to number of choices) that each tree sees *ordered by loss* instead of
        by their arbitrary choice index: see :func:`order_choices`. A threshold on that order is the best
        binary partition of the choices for a squared-error split (Breiman), which an index threshold is not.
    prior_count : float
        Pseudo-rows at the mean target that pull the order of a rarely tried choice towards the middle (and
        leave untried choices tied there).
    """

    def __init__(
        self,
        n_estimators: int = 32,
        kind: Literal["random_forest", "extra_trees"] = "random_forest",
        min_samples_leaf: int = 2,
        min_samples_split: int = 2,
        max_features: float = 0.8,
        max_depth: int | None = None,
        bootstrap: bool | None = None,
        variance: Literal["total", "between"] = "total",
        min_variance: float = 1e-10,
        categories: Mapping[int, int] | None = None,
        prior_count: float = 1.0,
    ):
        if kind not in ("random_forest", "extra_trees"):
            raise ValueError(f"kind must be 'random_forest' or 'extra_trees', got {kind!r}")
        if variance not in ("total", "between"):
            raise ValueError(f"variance must be 'total' or 'between', got {variance!r}")
        if n_estimators < 1:
            raise ValueError(f"n_estimators must be a positive int, got {n_estimators!r}")
        self.n_estimators = n_estimators
        self.kind = kind
        self.min_samples_leaf = min_samples_leaf
        self.min_samples_split = min_samples_split
        self.max_features = max_features
        self.max_depth = max_depth
        self.bootstrap = bootstrap
        self.variance = variance
        self.min_variance = min_variance
        self.categories = dict(categories or {})
        self.prior_count = prior_count

    def fit(self, matrix: np.ndarray, targets: np.ndarray, seed: int = 0) -> ForestSurrogate:
        """Fit the trees to encoded rows and their (transformed) losses, then cache each leaf's mean and variance."""
        cls = DecisionTreeRegressor if self.kind == "random_forest" else ExtraTreeRegressor
        bootstrap = (self.kind == "random_forest") if self.bootstrap is None else self.bootstrap
        inputs = np.ascontiguousarray(impute_inactive(matrix), dtype=np.float32)
        targets = np.ascontiguousarray(targets, dtype=float)
        n_rows = len(inputs)
        rng = np.random.default_rng(seed)
        # One RandomState for every tree's split choices: creating one per tree from an int seed costs more
        # than growing the tree.
        split_state = np.random.RandomState(int(rng.integers(2**31 - 1)))
        self.estimators_ = []
        # Per categorical column, each tree's position of each choice; a last entry keeps inactive rows apart.
        self._positions = {
            column: np.full((self.n_estimators, n_values + 1), INACTIVE_VALUE)
            for column, n_values in self.categories.items()
        }
        for index in range(self.n_estimators):
            rows = rng.integers(n_rows, size=n_rows) if bootstrap else np.arange(n_rows)
            tree_inputs = inputs[rows]
            for column, n_values in self.categories.items():
                codes = tree_inputs[:, column]
                positions = self._positions[column][index]
                positions[:n_values] = order_choices(codes, targets[rows], n_values, self.prior_count)
                tree_inputs[:, column] = positions[_code_index(codes, n_values)]
            tree = cls(
                min_samples_leaf=self.min_samples_leaf,
                min_samples_split=self.min_samples_split,
                max_features=self.max_features,
                max_depth=self.max_depth,
                random_state=split_state,
            )
            self.estimators_.append(tree.fit(tree_inputs, targets[rows], check_input=False))
        trees = [estimator.tree_ for estimator in self.estimators_]
        self._trees = trees
        # One flat table of leaf statistics for all trees, indexed by node id + the tree's offset.
        self._offsets = np.cumsum([0] + [tree.node_count for tree in trees[:-1]])
        self._leaf_mean = np.concatenate([tree.value[:, 0, 0] for tree in trees])
        # For squared error, a leaf's impurity is the variance of its (resampled) targets.
        self._leaf_var = np.concatenate([tree.impurity for tree in trees])
        return self

    def _leaves(self, matrix: np.ndarray) -> np.ndarray:
        """Flat leaf indices, shape ``(n_rows, n_estimators)``.

        Calls each tree's compiled ``apply`` directly: the forest's own ``apply`` dispatches every tree through
        joblib, whose per-call overhead dominated local search (hundreds of small calls per proposal).
        """
        inputs = np.ascontiguousarray(impute_inactive(matrix), dtype=np.float32)
        leaves = np.empty((len(inputs), len(self._trees)), dtype=np.intp)
        # Every tree's positions of the rows' choices at once, shape (n_estimators, n_rows) per column.
        positions = {
            column: table[:, _code_index(inputs[:, column], table.shape[1] - 1)]
            for column, table in self._positions.items()
        }
        tree_inputs = inputs.copy() if positions else inputs
        for index, tree in enumerate(self._trees):
            for column, values in positions.items():
                tree_inputs[:, column] = values[index]
            leaves[:, index] = tree.apply(tree_inputs)
        return leaves + self._offsets

    def predict(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the tree mixture for each row."""
        leaves = self._leaves(matrix)
        means = self._leaf_mean[leaves]
        mean = means.mean(axis=1)
        variance = means.var(axis=1)
        if self.variance == "total":
            variance = variance + self._leaf_var[leaves].mean(axis=1)
        return mean, np.sqrt(np.maximum(variance, self.min_variance))

    def tree_predictions(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-tree leaf means and leaf variances, each of shape ``(n_rows, n_estimators)``."""
        leaves = self._leaves(matrix)
        return self._leaf_mean[leaves], self._leaf_var[leaves]


class GBRTSurrogate:
    """Gradient-boosted trees with quantile losses: the median as mean, the 16–84% half-range as spread.

    Parameters
    ----------
    quantiles : tuple of float
        Lower, middle and upper quantile levels.
    n_estimators : int
        Boosting rounds of each of the three models.
    learning_rate : float
        Shrinkage of each round.
    max_depth : int
        Depth of each tree.
    min_samples_leaf : int
        Minimum number of rows in a leaf.
    min_std : float
        Floor of the predicted spread.
    """

    def __init__(
        self,
        quantiles: tuple[float, float, float] = (0.16, 0.5, 0.84),
        n_estimators: int = 50,
        learning_rate: float = 0.15,
        max_depth: int = 3,
        min_samples_leaf: int = 3,
        min_std: float = 1e-6,
    ):
        low, mid, high = quantiles
        if not 0 < low < mid < high < 1:
            raise ValueError(f"quantiles must be increasing levels inside (0, 1), got {quantiles!r}")
        self.quantiles = quantiles
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.min_std = min_std

    def fit(self, matrix: np.ndarray, targets: np.ndarray, seed: int = 0) -> GBRTSurrogate:
        """Fit the three quantile models (on one thread: optimizers share their machine with the objective)."""
        inputs, targets = impute_inactive(matrix), np.asarray(targets, dtype=float)
        with _one_thread():
            self.models_ = [
                HistGradientBoostingRegressor(
                    loss="quantile",
                    quantile=level,
                    max_iter=self.n_estimators,
                    learning_rate=self.learning_rate,
                    max_depth=self.max_depth,
                    min_samples_leaf=self.min_samples_leaf,
                    early_stopping=False,
                    random_state=seed,
                ).fit(inputs, targets)
                for level in self.quantiles
            ]
        return self

    def predict(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The median and half the distance between the outer quantiles (quantile crossing taken in absolute value)."""
        inputs = impute_inactive(matrix)
        with _one_thread():
            low, mid, high = (model.predict(inputs) for model in self.models_)
        return mid, np.maximum(np.abs(high - low) / 2.0, self.min_std)
