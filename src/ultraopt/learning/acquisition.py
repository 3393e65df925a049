"""Loss transforms and expected improvement, on one scale.

A surrogate is fitted to *transformed* losses (log-scaled by default, as SMAC does for costs). Expected
improvement must then be computed against the best loss on that same scale: comparing a model of log-losses
with a raw incumbent (what the 2021 library did) puts the incumbent far away from every prediction, so that EI
degrades to ranking by mean and the model's spread stops mattering.

:class:`LossTransform` owns both the function and the incumbent, so that the two cannot be taken from
different scales: fit it on the raw losses, feed :attr:`LossTransform.targets` to the model and pass the
transform itself (not a number) to :func:`expected_improvement` / :func:`log_expected_improvement`.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy.special import erfcx, ndtr

__all__ = ["LossTransform", "expected_improvement", "log_expected_improvement"]

TransformKind = Literal["log", "identity"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_SQRT_PI_OVER_2 = 0.5 * math.log(math.pi / 2.0)
_INV_SQRT_EPS = 1.0 / math.sqrt(np.finfo(float).eps)


class LossTransform:
    """The scale a surrogate works on, fitted to the observed raw losses.

    ``"log"`` is SMAC's log-scaled cost: ``y -> log((y - pole) / (max - pole))`` with the pole below the best loss
    by the distance from the best loss to the ``percentile``-th percentile of the losses (at least ``min_margin``
    times the loss range). It is scale-free, maps the worst loss to 0, spreads out improvements near the optimum
    and, because the pole adapts to how the best losses are spread, does not stretch the last digits of a
    converged run. ``"identity"`` keeps the losses.

    Failed trials (``inf``, also ``nan``) are imputed with the worst transformed loss among the successes, so that
    the model learns to avoid them without a failure stretching the scale.

    Parameters
    ----------
    kind : {"log", "identity"}
        The transform.
    percentile : float
        For ``"log"``: the percentile of the losses whose distance to the best loss sets the pole (SMAC: 5).
    min_margin : float
        For ``"log"``: the smallest distance of the pole below the best loss, as a fraction of the loss range
        (when the best losses tie).

    Attributes
    ----------
    targets : numpy.ndarray
        The transformed losses the transform was fitted on (failures imputed): what a model is fitted to.
    incumbent : float
        The best (smallest) transformed loss, on the same scale as :attr:`targets`.
    """

    def __init__(self, kind: TransformKind = "log", percentile: float = 5.0, min_margin: float = 1e-3):
        if kind not in ("log", "identity"):
            raise ValueError(f"kind must be 'log' or 'identity', got {kind!r}")
        if not 0 <= percentile <= 100:
            raise ValueError(f"percentile must be in [0, 100], got {percentile!r}")
        if not min_margin > 0:
            raise ValueError(f"min_margin must be positive, got {min_margin!r}")
        self.kind = kind
        self.percentile = float(percentile)
        self.min_margin = float(min_margin)
        self._low = 0.0
        self._range = 1.0
        self._eps = 1.0
        self._unit = 1.0
        self.targets = np.empty(0)
        self.incumbent = math.nan

    def fit(self, losses: np.ndarray) -> LossTransform:
        """Fit to the raw ``losses`` (``inf``/``nan`` for failures; at least one must be finite)."""
        losses = np.asarray(losses, dtype=float)
        finite = np.isfinite(losses)
        if not finite.any():
            raise ValueError("LossTransform.fit needs at least one finite loss")
        low, high = float(losses[finite].min()), float(losses[finite].max())
        # Losses spanning more than the float range (1e308 and -1e308) are measured in a larger unit; the log
        # transform does not depend on the unit.
        self._unit = 1.0 if math.isfinite(high - low) else max(abs(low), abs(high))
        low, high = low / self._unit, high / self._unit
        self._low = low
        self._range = high - low if high > low else max(abs(low), 1.0)
        spread = float(np.percentile(losses[finite] / self._unit, self.percentile)) - low
        self._eps = max(spread, self.min_margin * self._range)
        targets = np.empty_like(losses)
        targets[finite] = self.transform(losses[finite])
        targets[~finite] = targets[finite].max()
        self.targets = targets
        self.incumbent = float(targets.min())
        return self

    def transform(self, losses: np.ndarray | float) -> np.ndarray:
        """Raw losses onto the model's scale (finite losses only; below the fitted minimum is allowed)."""
        losses = np.asarray(losses, dtype=float)
        if self.kind == "identity":
            return losses.copy()
        eps = self._eps
        losses = losses / self._unit
        # A loss below the fitted minimum (not yet seen when fitting) is clipped just above the pole.
        shifted = np.maximum(losses - self._low + eps, 1e-3 * eps)
        return np.log(shifted / (self._range + eps))

    def inverse(self, values: np.ndarray | float) -> np.ndarray:
        """Transformed values back to raw losses."""
        values = np.asarray(values, dtype=float)
        if self.kind == "identity":
            return values.copy()
        return (np.exp(values) * (self._range + self._eps) + self._low - self._eps) * self._unit


def _check_scale(best: LossTransform) -> float:
    if not isinstance(best, LossTransform):
        raise TypeError(
            "pass the fitted LossTransform, not a number: the incumbent must come from the same scale as the model"
        )
    if math.isnan(best.incumbent):
        raise ValueError("the LossTransform is not fitted")
    return best.incumbent


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: LossTransform, xi: float = 0.0) -> np.ndarray:
    """Expected improvement below ``best.incumbent`` of a Gaussian prediction, on the model's scale.

    Parameters
    ----------
    mean, std : numpy.ndarray
        The model's prediction of the *transformed* loss; ``std`` may be 0.
    best : LossTransform
        The fitted transform; its incumbent is the threshold.
    xi : float
        Exploration margin: improvement is counted below ``incumbent - xi``.

    Returns
    -------
    numpy.ndarray
        ``E[max(incumbent - xi - Y, 0)]`` for ``Y ~ N(mean, std**2)``.
    """
    threshold = _check_scale(best) - xi
    mean, std = np.broadcast_arrays(np.asarray(mean, dtype=float), np.asarray(std, dtype=float))
    gain = threshold - mean
    out = np.maximum(gain, 0.0)
    spread = std > 0
    z = gain[spread] / std[spread]
    out[spread] = std[spread] * (z * ndtr(z) + np.exp(-0.5 * z * z - _LOG_SQRT_2PI))
    return out


def _log_h(z: np.ndarray) -> np.ndarray:
    """``log(z * Phi(z) + phi(z))`` without underflow or cancellation (Ament et al., 2023, "LogEI")."""
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(zu * ndtr(zu) + np.exp(-0.5 * zu * zu - _LOG_SQRT_2PI))
    middle = ~upper & (z > -_INV_SQRT_EPS)
    zm = z[middle]
    # phi(z) * (1 + z * Phi(z) / phi(z)), with Phi/phi = sqrt(pi/2) * erfcx(-z / sqrt(2)) and z < 0
    inner = np.log(erfcx(-zm / math.sqrt(2.0)) * np.abs(zm)) + _LOG_SQRT_PI_OVER_2  # log(|z| Phi/phi) < 0
    out[middle] = -0.5 * zm * zm - _LOG_SQRT_2PI + np.log(-np.expm1(inner))
    lower = ~upper & ~middle
    zl = z[lower]
    out[lower] = -0.5 * zl * zl - _LOG_SQRT_2PI - 2.0 * np.log(np.abs(zl))
    return out


def log_expected_improvement(
    mean: np.ndarray, std: np.ndarray, best: LossTransform, xi: float = 0.0, min_std: float = 1e-12
) -> np.ndarray:
    """The logarithm of :func:`expected_improvement`, finite even where EI underflows to 0.

    It ranks candidates as EI does but keeps distinguishing them far from the incumbent, where EI is 0 in
    floating point for all of them. ``std`` is floored at ``min_std``.
    """
    threshold = _check_scale(best) - xi
    mean, std = np.broadcast_arrays(np.asarray(mean, dtype=float), np.asarray(std, dtype=float))
    std = np.maximum(std, min_std)
    z = (threshold - mean) / std
    return np.log(std) + _log_h(z)

