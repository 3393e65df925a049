"""Forest: SMAC-style Bayesian optimization with a random-forest surrogate."""

from __future__ import annotations

from typing import Any, Literal

from ultraopt.learning.surrogates import ForestSurrogate
from ultraopt.optimizer.tree_smbo import TreeSMBOOptimizer

__all__ = ["ForestOptimizer"]


class ForestOptimizer(TreeSMBOOptimizer):
    """Bayesian optimization with a random forest of the log-scaled loss (SMAC's recipe).

    The forest's mean and variance per candidate come from its trees' leaves (law of total variance); see
    :class:`~ultraopt.learning.surrogates.ForestSurrogate`. The loop (initial design, interleaved random
    configs, pending configs, per-budget models, local search, log-EI on the model's scale) is
    :class:`~ultraopt.optimizer.tree_smbo.TreeSMBOOptimizer`'s, whose parameters are accepted as keywords.

    Parameters
    ----------
    n_estimators : int
        Number of trees.
    forest : {"random_forest", "extra_trees"}
        Bootstrapped best-split trees or randomised-split trees.
    min_samples_leaf : int
        Minimum rows per leaf.
    min_samples_split : int
        Minimum rows in a node for it to be split.
    max_features : float
        Fraction of the columns tried at each split.
    bootstrap : bool or None
        Whether each tree sees a bootstrap resample; ``None``: yes for random forests, no for extra-trees.
    variance : {"total", "between"}
        The forest's spread: law of total variance over the trees, or between-tree variance only (SMAC3).
    **kwargs
        Parameters of :class:`~ultraopt.optimizer.tree_smbo.TreeSMBOOptimizer`.
    """

    name = "Forest"

    def __init__(
        self,
        n_estimators: int = 32,
        forest: Literal["random_forest", "extra_trees"] = "random_forest",
        min_samples_leaf: int = 2,
        min_samples_split: int = 2,
        max_features: float = 0.8,
        bootstrap: bool | None = None,
        variance: Literal["total", "between"] = "total",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.n_estimators = n_estimators
        self.forest = forest
        self.min_samples_leaf = min_samples_leaf
        self.min_samples_split = min_samples_split
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.variance = variance
        self._make_surrogate()  # validates the settings now rather than at the first model proposal

    def _make_surrogate(self) -> ForestSurrogate:
        return ForestSurrogate(
            n_estimators=self.n_estimators,
            kind=self.forest,
            min_samples_leaf=self.min_samples_leaf,
            min_samples_split=self.min_samples_split,
            max_features=self.max_features,
            bootstrap=self.bootstrap,
            variance=self.variance,
        )
