"""TPE: the classic independent Tree Parzen Estimator (Bergstra et al., 2011), as a baseline.

It is the univariate special case of :class:`~ultraopt.optimizer.etpe.ETPEOptimizer`: each hyperparameter has
its own one-dimensional Parzen mixture over the observations where it is active, and ``l(x) / g(x)`` is a
product over hyperparameters, with one Scott-like bandwidth per hyperparameter.
"""

from __future__ import annotations

from collections.abc import Callable

from ultraopt.optimizer.etpe import CLASSIC_TPE, CLASSIC_TPE_CANDIDATES, ETPEOptimizer, default_gamma

__all__ = ["TPEOptimizer"]


class TPEOptimizer(ETPEOptimizer):
    """Independent TPE: one density per hyperparameter, 24 candidates, no embedding, no random share.

    Parameters
    ----------
    n_startup_trials : int
        Size of the initial design; as for ETPE, it grows to cover every choice of a top-level categorical, up to
        ``3 * n_startup_trials``.
    n_candidates : int
        Candidates drawn from ``l`` per proposal.
    gamma : callable
        ``gamma(n_successes) -> n_good``.
    prior_weight : float
        Weight of the uniform prior component of every one-dimensional mixture.
    random_fraction : float
        Share of proposals drawn uniformly at random.
    **kwargs
        Any other parameter of :class:`~ultraopt.optimizer.etpe.ETPEOptimizer`.
    """

    name = "TPE"

    def __init__(
        self,
        n_startup_trials: int = 10,
        n_candidates: int = CLASSIC_TPE_CANDIDATES,
        gamma: Callable[[int], int] = default_gamma,
        prior_weight: float = 1.0,
        random_fraction: float = 0.0,
        **kwargs: object,
    ) -> None:
        self._refuse_unknown_parameters(kwargs)
        for key, value in CLASSIC_TPE.items():
            kwargs.setdefault(key, value)
        super().__init__(
            n_startup_trials=n_startup_trials,
            n_candidates=n_candidates,
            gamma=gamma,
            prior_weight=prior_weight,
            random_fraction=random_fraction,
            **kwargs,  # type: ignore[arg-type]
        )
