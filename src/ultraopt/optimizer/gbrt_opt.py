"""GBRT: SMAC-style Bayesian optimization with gradient-boosted quantile regression trees."""

from __future__ import annotations

from typing import Any

from ultraopt.checks import Rules, check_settings, is_int, is_number
from ultraopt.learning.surrogates import GBRTSurrogate
from ultraopt.optimizer.tree_smbo import TreeSMBOOptimizer

__all__ = ["GBRTOptimizer"]

_SETTINGS: Rules = {
    "n_estimators": (lambda v: is_int(v, 1), "a positive int"),
    "learning_rate": (lambda v: is_number(v, 0.0, low_open=True), "a positive number"),
    "max_depth": (lambda v: is_int(v, 1), "a positive int"),
}


class GBRTOptimizer(TreeSMBOOptimizer):
    """Bayesian optimization with gradient-boosted trees fitted with quantile losses.

    Three boosted models (16%, 50% and 84% quantiles of the log-scaled loss) give a mean (the median) and a
    spread (half the 16–84% range); see :class:`~ultraopt.learning.surrogates.GBRTSurrogate`. The loop is
    :class:`~ultraopt.optimizer.tree_smbo.TreeSMBOOptimizer`'s, whose parameters are accepted as keywords.

    Parameters
    ----------
    n_estimators : int
        Boosting rounds of each quantile model.
    learning_rate : float
        Shrinkage per round.
    max_depth : int
        Depth of each tree.
    **kwargs
        Parameters of :class:`~ultraopt.optimizer.tree_smbo.TreeSMBOOptimizer`.
    """

    name = "GBRT"

    def __init__(self, n_estimators: int = 50, learning_rate: float = 0.15, max_depth: int = 3, **kwargs: Any):
        self._refuse_unknown_parameters(kwargs)
        check_settings(locals(), _SETTINGS)
        super().__init__(**kwargs)
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth

    def _make_surrogate(self) -> GBRTSurrogate:
        return GBRTSurrogate(n_estimators=self.n_estimators, learning_rate=self.learning_rate, max_depth=self.max_depth)
