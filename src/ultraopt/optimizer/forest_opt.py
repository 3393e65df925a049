"""Forest: SMAC-style Bayesian optimization with a random-forest surrogate."""

from __future__ import annotations

from typing import Any, Literal

from ultraopt.checks import Rules, check_settings, is_int, is_number
from ultraopt.learning.surrogates import ForestSurrogate
from ultraopt.optimizer.tree_smbo import TreeSMBOOptimizer

__all__ = ["ForestOptimizer"]

_SETTINGS: Rules = {
    "n_estimators": (lambda v: is_int(v, 1), "a positive int"),
    "min_samples_leaf": (lambda v: is_int(v, 1), "a positive int"),
    "min_samples_split": (lambda v: is_int(v, 2), "an int of at least 2"),
    "max_features": (lambda v: is_number(v, 0.0, 1.0, low_open=True), "a fraction in (0, 1]"),
    "bootstrap": (lambda v: v is None or isinstance(v, bool), "a bool or None"),
    "forest": (lambda v: v in ("random_forest", "extra_trees"), "'random_forest' or 'extra_trees'"),
}


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
        Minimum rows per leaf (1, as SMAC: a leaf can isolate the incumbent, so that the model resolves the
        region around it).
    min_samples_split : int
        Minimum rows in a node for it to be split.
    max_features : float
        Fraction of the columns tried at each split.
    bootstrap : bool or None
        Whether each tree sees a bootstrap resample; ``None``: yes for random forests, no for extra-trees.
    variance : {"total", "between"}
        The forest's spread: law of total variance over the trees, or between-tree variance only (SMAC3).
    categorical : {"index", "ordered"}
        What the trees see of a categorical: its choice index, or the choices ordered by their smoothed mean
        loss in each tree's own resample (see :func:`~ultraopt.learning.surrogates.order_choices`), so that one
        split can group good choices that the index puts apart.
    initial_design : {"sobol", "random"}
        The first configs: a scrambled Sobol design whose categoricals take each choice equally often (the
        default here), or uniform random; see :class:`~ultraopt.optimizer.tree_smbo.TreeSMBOOptimizer`.
    local_search_min_step : float or None
        Every other numerical move of the local search has a step of random scale down to this (on the unit
        scale), so that late proposals refine around the incumbent; see
        :func:`~ultraopt.learning.local_search.one_exchange_neighbours`.
    **kwargs
        Parameters of :class:`~ultraopt.optimizer.tree_smbo.TreeSMBOOptimizer`.
    """

    name = "Forest"

    def __init__(
        self,
        n_estimators: int = 32,
        forest: Literal["random_forest", "extra_trees"] = "random_forest",
        min_samples_leaf: int = 1,
        min_samples_split: int = 2,
        max_features: float = 0.8,
        bootstrap: bool | None = None,
        variance: Literal["total", "between"] = "total",
        categorical: Literal["index", "ordered"] = "ordered",
        initial_design: Literal["random", "sobol"] = "sobol",
        local_search_min_step: float | None = 0.002,
        **kwargs: Any,
    ):
        self._refuse_unknown_parameters(kwargs)
        check_settings(locals(), _SETTINGS)
        super().__init__(initial_design=initial_design, local_search_min_step=local_search_min_step, **kwargs)
        self.n_estimators = n_estimators
        self.forest = forest
        self.min_samples_leaf = min_samples_leaf
        self.min_samples_split = min_samples_split
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.variance = variance
        if categorical not in ("index", "ordered"):
            raise ValueError(f"categorical must be 'index' or 'ordered', got {categorical!r}")
        self.categorical = categorical
        self._make_surrogate()  # validates the settings now rather than at the first model proposal

    def _make_surrogate(self) -> ForestSurrogate:
        encoder = getattr(self, "encoder", None)  # none yet when the settings are validated
        categories = {}
        if self.categorical == "ordered" and encoder is not None:
            categories = {
                index: int(dim.n_values)  # type: ignore[arg-type]
                for index, dim in enumerate(encoder.dimensions)
                if dim.kind == "categorical"
            }
        return ForestSurrogate(
            n_estimators=self.n_estimators,
            kind=self.forest,
            min_samples_leaf=self.min_samples_leaf,
            min_samples_split=self.min_samples_split,
            max_features=float(self.max_features),  # scikit-learn reads an int 1 as one column, not all
            bootstrap=self.bootstrap,
            variance=self.variance,
            categories=categories,
        )
