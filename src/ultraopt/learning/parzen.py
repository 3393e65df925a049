"""Parzen (kernel density) estimators over mixed, conditional spaces, vectorised over candidates and kernels.

A :class:`ParzenEstimator` is a weighted mixture of kernels, one per observation, plus a *prior* component
(the uniform distribution of the space) that keeps every region reachable:

- numerical columns (continuous, integer, q-grid, ordinal; all on ``[0, 1]``): Gaussians truncated to
  ``[0, 1]``. Bandwidths follow one of two rules: ``"scott"``, one bandwidth per column from the weighted
  spread of the kernels (optionally with Abramson's per-kernel multipliers), or ``"neighbor"``, one bandwidth
  per kernel and column, the larger gap to its neighbours in that column (Hyperopt's and Optuna's rule: kernels
  are narrow where points are dense), clipped below by ``1 / min(100, n + 2)`` for ``n`` kernels (Optuna's
  "magic clip"). Both are clipped below by ``min_bandwidth`` and by the column's grid step;
- categorical columns: a kernel keeps most of its mass on its own choice and spreads the rest uniformly; when
  the column has an *embedding* (coordinates of the choices learned from the losses, see
  :mod:`ultraopt.learning.embedding`), the mass spreads by a Gaussian kernel over the embedded distances, so
  that similar choices share evidence;
- conditional spaces: in the multivariate estimator a kernel only covers rows of its own *group* (same active
  hyperparameters, same values of the categoricals that decide activity; see
  :class:`~ultraopt.learning.kernel_space.KernelSpace`), so each group has its own joint density and no
  inactive value is ever imputed. The weight of a group in the mixture chooses the group.

``multivariate=False`` gives the classic independent TPE estimator: a product over columns of
one-dimensional mixtures, each over the observations where that column is active.

Log-densities of ``m`` candidates against ``n`` kernels cost three matrix products (squared scaled distances
with per-kernel bandwidths, and one-hot categorical log-probabilities) and one log-sum-exp over an ``m x n``
matrix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy.special import ndtr, ndtri

from ultraopt.learning.kernel_space import KernelSpace

__all__ = ["BANDWIDTH_RULES", "ParzenEstimator", "neighbor_bandwidths", "scott_bandwidth"]

#: The numerical bandwidth rules of :class:`ParzenEstimator`.
BANDWIDTH_RULES = ("scott", "neighbor")

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def scott_bandwidth(
    values: np.ndarray, weights: np.ndarray, n_dims: int, factor: float = 1.0, prior_weight: float = 0.0
) -> float:
    """Scott-like bandwidth of weighted points on ``[0, 1]``.

    ``factor * sigma * n_eff ** (-1 / (n_dims + 4))`` where ``sigma`` is the weighted standard deviation of the
    points, pooled with ``prior_weight`` pseudo-points spread uniformly on ``[0, 1]`` (variance 1/12), and
    ``n_eff`` Kish's effective sample size. With no point the prior alone gives ``sigma``.
    """
    total = float(weights.sum())
    if total <= 0 or len(values) == 0:
        return factor * math.sqrt(1 / 12)
    mean = float(weights @ values) / total
    var = float(weights @ (values - mean) ** 2)
    var = (var + prior_weight * (1 / 12 + (0.5 - mean) ** 2)) / (total + prior_weight)
    n_eff = total**2 / float(weights @ weights)
    return factor * math.sqrt(var) * n_eff ** (-1.0 / (n_dims + 4))


def neighbor_bandwidths(num: np.ndarray, clip_kernels: float = 100.0) -> np.ndarray:
    """Per-kernel bandwidths ``(n_kernels, n_columns)``: in each column, the larger gap to a neighbour.

    Kernel centres are sorted per column (inactive ``nan`` entries are left out and get ``nan``); a centre's
    bandwidth is the larger of the gaps to its left and right neighbours, the interval's ends ``0`` and ``1``
    counting as neighbours except for the outermost centres, which take their inner gap (Optuna's
    ``consider_endpoints=False``). No bandwidth is below ``1 / min(clip_kernels, n + 2)`` for ``n`` active
    centres (Optuna's "magic clip", with ``clip_kernels`` 100; the prior counts as one more kernel), nor above 1.
    """
    out = np.full(num.shape, np.nan)
    complete = ~np.isnan(num).any(axis=0)
    if num.shape[0] and complete.any():  # columns active in every kernel: all at once
        columns = np.flatnonzero(complete)
        out[:, columns] = _gap_bandwidths(num[:, columns], clip_kernels)
    for j in np.flatnonzero(~complete):
        rows = np.flatnonzero(~np.isnan(num[:, j]))
        if len(rows):
            out[rows, j] = _gap_bandwidths(num[rows, j : j + 1], clip_kernels)[:, 0]
    return out


def _gap_bandwidths(values: np.ndarray, clip_kernels: float) -> np.ndarray:
    """:func:`neighbor_bandwidths` of the columns of ``values``, which has no ``nan``."""
    n, n_columns = values.shape
    order = np.argsort(values, axis=0, kind="stable")
    edges = np.vstack([np.zeros(n_columns), np.take_along_axis(values, order, axis=0), np.ones(n_columns)])
    gaps = np.diff(edges, axis=0)
    sigma = np.maximum(gaps[:-1], gaps[1:])
    if n >= 2:
        sigma[0], sigma[-1] = gaps[1], gaps[-2]
    sigma = np.clip(sigma, 1.0 / min(clip_kernels, n + 2.0), 1.0)
    out = np.empty_like(sigma)
    np.put_along_axis(out, order, sigma, axis=0)
    return out


def _log_mass(mu: np.ndarray, h: np.ndarray) -> np.ndarray:
    """log of the mass a Gaussian ``N(mu, h)`` puts on ``[0, 1]``."""
    upper, lower = ndtr((1 - mu) / h), ndtr(-mu / h)
    return np.log(np.maximum(upper - lower, 1e-300))


def _truncnorm(mu: np.ndarray, h: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per entry from ``N(mu, h)`` truncated to ``[0, 1]`` (inverse CDF)."""
    low, high = ndtr(-mu / h), ndtr((1 - mu) / h)
    u = low + rng.random(np.shape(mu)) * (high - low)
    return np.clip(mu + h * ndtri(np.clip(u, 1e-300, 1 - 1e-16)), 0.0, 1.0)


def _logsumexp_rows(matrix: np.ndarray) -> np.ndarray:
    top = matrix.max(axis=1)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(under="ignore"):
        return top + np.log(np.exp(matrix - top[:, None]).sum(axis=1))


class ParzenEstimator:
    """A weighted kernel mixture over the rows of a :class:`KernelSpace`, with a uniform prior component.

    Parameters
    ----------
    space : KernelSpace
        The model view of the search space.
    num, cat : numpy.ndarray
        The kernels' centres: numerical values (``nan`` if inactive) and choice indices (``-1`` if inactive).
    groups : numpy.ndarray
        Group id of each kernel (used by the multivariate estimator of a conditional space).
    weights : numpy.ndarray
        Non-negative weight of each kernel.
    prior_weight : float
        Weight of the uniform prior component, relative to a kernel of weight 1. It also sets how much mass a
        categorical kernel spreads over other choices (``prior_weight / n_kernels`` per choice, as in Optuna).
    bandwidth : {"scott", "neighbor"}
        Rule of the numerical bandwidths (see the module docstring): one Scott-like bandwidth per column, or
        per-kernel neighbour gaps with the magic clip.
    neighbor_clip : float
        ``"neighbor"`` rule: no bandwidth is below ``1 / min(neighbor_clip, n_kernels + 2)``.
    bandwidth_factor : float
        Multiplies every numerical bandwidth.
    min_bandwidth : float
        Smallest bandwidth of a numerical column, on ``[0, 1]``.
    min_bandwidth_steps : float
        Smallest bandwidth of a discrete column, in grid steps.
    bandwidth_prior : float
        Pseudo-points spread uniformly that are pooled with the kernels when the spread of a column is
        measured; keeps bandwidths from collapsing while few points agree.
    adaptive : float
        Exponent of Abramson's adaptive bandwidths (multivariate, ``"scott"`` rule only): a kernel where the
        kernels are dense gets its bandwidths multiplied by ``(pilot density / its geometric mean) ** -adaptive``
        (``0`` keeps one bandwidth per column; ``0.5`` is Abramson's square-root law). Lets the good density
        sharpen inside a cluster of good points while staying wide around isolated ones.
    multivariate : bool
        Joint kernels (ETPE) or a product of one-dimensional mixtures (classic TPE).
    embeddings : dict, optional
        Categorical model column to the coordinates of its choices (``n_choices x k``).
    group_log_prior : numpy.ndarray, optional
        log-probability of each group under uniform sampling of the space (multivariate, conditional spaces).
    """

    def __init__(
        self,
        space: KernelSpace,
        num: np.ndarray,
        cat: np.ndarray,
        groups: np.ndarray,
        weights: np.ndarray,
        *,
        prior_weight: float = 1.0,
        bandwidth: str = "scott",
        neighbor_clip: float = 100.0,
        bandwidth_factor: float = 1.0,
        min_bandwidth: float = 0.01,
        min_bandwidth_steps: float = 1.0,
        bandwidth_prior: float = 0.0,
        adaptive: float = 0.0,
        multivariate: bool = True,
        embeddings: Mapping[int, np.ndarray] | None = None,
        group_log_prior: np.ndarray | None = None,
    ):
        self.space = space
        self.num, self.cat, self.groups = num, cat, groups
        self.weights = np.asarray(weights, dtype=float)
        self.prior_weight = float(prior_weight)
        self.multivariate = multivariate
        self.embeddings = dict(embeddings or {})
        self.group_log_prior = group_log_prior
        if bandwidth not in BANDWIDTH_RULES:
            raise ValueError(f"bandwidth must be one of {BANDWIDTH_RULES}, got {bandwidth!r}")
        self.bandwidth_rule = bandwidth
        self.neighbor_clip = float(neighbor_clip)
        self._bw = dict(factor=bandwidth_factor, prior=bandwidth_prior)
        self.adaptive = float(adaptive)
        self._min_h = np.maximum(min_bandwidth, min_bandwidth_steps * space.steps)
        n_dims = space.n_num if multivariate else 1
        self.bandwidths = self._numerical_bandwidths(n_dims)
        self.kernel_bandwidths = self._kernel_bandwidths()
        self.cat_tables = [self._categorical_table(j, n_dims) for j in range(space.n_cat)]
        if multivariate:
            self._prepare_joint()

    # ------------------------------------------------------------------ fitting
    def _numerical_bandwidths(self, n_dims: int) -> np.ndarray:
        """Scott-like bandwidth of every numerical column at once (see :func:`scott_bandwidth`)."""
        active = ~np.isnan(self.num)
        w = active * self.weights[:, None]
        values = np.where(active, self.num, 0.0)
        total = w.sum(axis=0)
        safe_total = np.where(total > 0, total, 1.0)
        mean = (w * values).sum(axis=0) / safe_total
        var = (w * (values - mean) ** 2).sum(axis=0)
        prior = self._bw["prior"]
        var = (var + prior * (1 / 12 + (0.5 - mean) ** 2)) / np.maximum(total + prior, 1e-12)
        n_eff = total**2 / np.maximum((w * w).sum(axis=0), 1e-300)
        h = self._bw["factor"] * np.sqrt(var) * np.maximum(n_eff, 1.0) ** (-1.0 / (n_dims + 4))
        h = np.where(total > 0, h, self._bw["factor"] * math.sqrt(1 / 12))
        return np.clip(h, self._min_h, 1.0)

    def _kernel_bandwidths(self) -> np.ndarray:
        """Bandwidth of every kernel in every numerical column, ``(n_kernels, n_num)`` (1 where inactive)."""
        if self.bandwidth_rule == "neighbor":
            h = self._bw["factor"] * neighbor_bandwidths(self.num, self.neighbor_clip)
            return np.nan_to_num(np.clip(h, self._min_h, 1.0), nan=1.0)
        scales = self._local_scales(~np.isnan(self.num)) if self.multivariate else np.ones(len(self.weights))
        return self.bandwidths[None, :] * scales[:, None]

    def _categorical_table(self, j: int, n_dims: int) -> np.ndarray:
        """Probabilities ``(n_kernels, n_choices)`` of column ``j`` under each kernel (rows of inactive ones: 0)."""
        n_choices = int(self.space.n_choices[j])
        codes = self.cat[:, j]
        active = codes >= 0
        table = np.zeros((len(codes), n_choices))
        if not active.any():
            return table
        coords = self.embeddings.get(j)
        if coords is None:
            table[active, codes[active]] = 1.0
        else:
            points = coords[codes[active]]
            h = max(
                math.sqrt(
                    sum(
                        scott_bandwidth(points[:, a], self.weights[active], n_dims, self._bw["factor"]) ** 2
                        for a in range(points.shape[1])
                    )
                    / points.shape[1]
                ),
                0.05,
            )
            sq = ((points[:, None, :] - coords[None, :, :]) ** 2).sum(axis=2)
            kernel = np.exp(-0.5 * sq / h**2)
            table[active] = kernel / kernel.sum(axis=1, keepdims=True)
        spread = self.prior_weight / max(int(active.sum()), 1)
        table[active] = (table[active] + spread) / (1.0 + n_choices * spread)
        return table

    def _prepare_joint(self) -> None:
        mu = self.num
        active = ~np.isnan(mu)
        kernel_h = self.kernel_bandwidths
        # -0.5 sum_d (x_d - mu_kd)^2 / h_kd^2 = x^2 @ a - 2 x @ b + c, with inactive entries contributing 0
        self._inv_h2 = np.where(active, 1.0 / kernel_h**2, 0.0)
        self._mu_inv_h2 = np.where(active, mu, 0.0) * self._inv_h2
        safe = np.where(active, mu, 0.5)
        log_norm = np.where(active, -np.log(kernel_h) - _LOG_SQRT_2PI - _log_mass(safe, kernel_h), 0.0)
        self._sq_norm = (np.where(active, mu, 0.0) * self._mu_inv_h2).sum(axis=1)
        self._const = log_norm.sum(axis=1)
        free = np.flatnonzero(~self.space.structural)
        self._free_cats = free
        offsets = np.concatenate([[0], np.cumsum(self.space.n_choices[free])]).astype(int)
        self._offsets = offsets
        log_tables = np.zeros((offsets[-1], len(self.weights)))
        for position, j in enumerate(free):
            with np.errstate(divide="ignore"):
                log_tables[offsets[position] : offsets[position + 1]] = np.log(self.cat_tables[j]).T
        self._log_tables = np.where(np.isfinite(log_tables), log_tables, 0.0)
        total = self.weights.sum() + self.prior_weight
        with np.errstate(divide="ignore"):
            self._log_w = np.log(self.weights / total)
        self._log_prior_w = math.log(self.prior_weight / total) if self.prior_weight > 0 else -math.inf

    def _local_scales(self, active: np.ndarray) -> np.ndarray:
        """Abramson's per-kernel bandwidth multipliers from a pilot density at the kernels' centres."""
        n = len(self.weights)
        if self.adaptive <= 0 or n < 3 or self.space.n_num == 0:
            return np.ones(n)
        scaled = np.where(active, self.num, 0.0) / self.bandwidths
        sq_norm = (scaled**2).sum(axis=1)
        sq = sq_norm[:, None] + sq_norm[None, :] - 2.0 * scaled @ scaled.T
        log_k = -0.5 * np.maximum(sq, 0.0)
        if self.space.conditional:
            log_k[self.groups[:, None] != self.groups[None, :]] = -np.inf
        with np.errstate(divide="ignore"):
            log_pilot = _logsumexp_rows(log_k + np.log(self.weights)[None, :])
        w = self.weights / self.weights.sum()
        scales = np.exp(-self.adaptive * (log_pilot - float(w @ log_pilot)))
        # never below the smallest bandwidths allowed, never wider than four times the common one
        floor = float(np.max(self._min_h / self.bandwidths))
        return np.clip(scales, max(floor, 0.25), 4.0)

    # ------------------------------------------------------------------ density
    def log_pdf(self, num: np.ndarray, cat: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """log-density of legal candidate rows (model form) with their group ids."""
        if self.multivariate:
            return self._log_pdf_joint(num, cat, groups)
        return self._log_pdf_independent(num, cat)

    def _log_prior(self, cat: np.ndarray, groups: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """log-density of the uniform prior: group probability times uniform choices of the given columns."""
        log_choices = np.log(self.space.n_choices[columns]).astype(float)
        out = -((cat[:, columns] >= 0) * log_choices).sum(axis=1)
        if self.group_log_prior is not None and self.space.conditional:
            known = groups < len(self.group_log_prior)
            floor = float(self.group_log_prior.min()) if len(self.group_log_prior) else 0.0
            out = out + np.where(known, self.group_log_prior[np.minimum(groups, len(self.group_log_prior) - 1)], floor)
        return out

    def _log_pdf_joint(self, num: np.ndarray, cat: np.ndarray, groups: np.ndarray) -> np.ndarray:
        m = len(num)
        prior = self._log_prior_w + self._log_prior(cat, groups, self._free_cats)
        if len(self.weights) == 0:
            return prior
        x = np.nan_to_num(num, nan=0.0) if self.space.conditional else num
        log_k = x @ self._mu_inv_h2.T  # becomes -0.5 * squared distance + log normaliser + log weight
        log_k *= 2.0
        log_k -= self._sq_norm[None, :]
        log_k -= (x * x) @ self._inv_h2.T
        np.minimum(log_k, 0.0, out=log_k)
        log_k *= 0.5
        log_k += (self._const + self._log_w)[None, :]
        if len(self._free_cats):
            onehot = np.zeros((m, self._offsets[-1]))
            for position, j in enumerate(self._free_cats):
                codes = cat[:, j]
                rows = np.flatnonzero(codes >= 0)
                onehot[rows, self._offsets[position] + codes[rows]] = 1.0
            log_k += onehot @ self._log_tables
        if self.space.conditional:
            log_k[groups[:, None] != self.groups[None, :]] = -np.inf
        top = np.maximum(log_k.max(axis=1), prior)
        np.subtract(log_k, top[:, None], out=log_k)
        np.exp(log_k, out=log_k)
        return top + np.log(log_k.sum(axis=1) + np.exp(prior - top))

    def _log_pdf_independent(self, num: np.ndarray, cat: np.ndarray) -> np.ndarray:
        out = np.zeros(len(num))
        # columns active in every kernel and candidate: all at once; the others one by one
        complete = ~(np.isnan(self.num).any(axis=0) | np.isnan(num).any(axis=0))
        if complete.any():
            columns = np.flatnonzero(complete)
            out += self._log_mixture_1d(num[:, columns], self.num[:, columns], self.weights,
                                        self.kernel_bandwidths[:, columns]).sum(axis=1)
        for column in np.flatnonzero(~complete):
            rows = np.flatnonzero(~np.isnan(num[:, column]))
            kernels = ~np.isnan(self.num[:, column])
            one = slice(column, column + 1)
            out[rows] += self._log_mixture_1d(num[rows, one], self.num[kernels, one], self.weights[kernels],
                                              self.kernel_bandwidths[kernels, one])[:, 0]
        for j in range(self.space.n_cat):
            rows = np.flatnonzero(cat[:, j] >= 0)
            out[rows] += np.log(self._marginal(j))[cat[rows, j]]
        return out

    def _log_mixture_1d(self, x: np.ndarray, mu: np.ndarray, w: np.ndarray, h: np.ndarray) -> np.ndarray:
        """log-density ``(m, c)`` of each of ``c`` columns of ``x`` under its own one-dimensional mixture: the
        kernels ``mu``, ``h`` (``(n, c)``) with weights ``w`` and the uniform prior."""
        total = w.sum() + self.prior_weight
        with np.errstate(divide="ignore"):
            const = np.log(w / total)[:, None] - np.log(h) - _LOG_SQRT_2PI - _log_mass(mu, h)
            log_prior = math.log(self.prior_weight / total) if self.prior_weight else -np.inf
        log_k = -0.5 * ((x[:, None, :] - mu[None, :, :]) / h[None, :, :]) ** 2 + const[None, :, :]
        top = np.maximum(log_k.max(axis=1, initial=-np.inf), log_prior)
        top = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(under="ignore"):
            return top + np.log(np.exp(log_k - top[:, None, :]).sum(axis=1) + np.exp(log_prior - top))

    def _marginal(self, j: int) -> np.ndarray:
        """The one-dimensional mixture of categorical column ``j`` (independent estimator)."""
        active = self.cat[:, j] >= 0
        w = self.weights[active]
        probs = w @ self.cat_tables[j][active] + self.prior_weight / self.space.n_choices[j]
        return probs / probs.sum()

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` rows drawn from the mixture, in model form and not yet legal (see ``KernelSpace.legalize``)."""
        if self.multivariate:
            return self._sample_joint(n, rng)
        return self._sample_independent(n, rng)

    def _sample_joint(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        num, cat = self.space.uniform(n, rng)
        probs = np.append(self.weights, self.prior_weight)
        component = rng.choice(len(probs), size=n, p=probs / probs.sum())
        from_kernel = np.flatnonzero(component < len(self.weights))
        k = component[from_kernel]
        mu = self.num[k]
        active = ~np.isnan(mu)
        h = self.kernel_bandwidths[k]
        drawn = np.full(mu.shape, np.nan)
        drawn[active] = _truncnorm(mu[active], h[active], rng)
        num[from_kernel] = drawn
        codes = self.cat[k].copy()
        for j in self._free_cats:
            rows = np.flatnonzero(codes[:, j] >= 0)
            codes[rows, j] = _draw_categorical(self.cat_tables[j][k[rows]], rng)
        cat[from_kernel] = codes
        return num, cat

    def _sample_independent(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        num, cat = self.space.uniform(n, rng)
        for j in range(self.space.n_num):
            kernels = np.flatnonzero(~np.isnan(self.num[:, j]))
            probs = np.append(self.weights[kernels], self.prior_weight)
            component = rng.choice(len(probs), size=n, p=probs / probs.sum())
            rows = np.flatnonzero(component < len(kernels))
            chosen = kernels[component[rows]]
            num[rows, j] = _truncnorm(self.num[chosen, j], self.kernel_bandwidths[chosen, j], rng)
        for j in range(self.space.n_cat):
            cat[:, j] = _draw_categorical(np.broadcast_to(self._marginal(j), (n, self.space.n_choices[j])), rng)
        return num, cat


def _draw_categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One choice per row of a probability matrix."""
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cumulative[:, -1]
    return np.minimum((cumulative < u[:, None]).sum(axis=1), probs.shape[1] - 1)
