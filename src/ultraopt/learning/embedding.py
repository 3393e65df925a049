"""Embedding the choices of a many-choice categorical into a few continuous dimensions, learned from losses.

A categorical with many choices spreads the evidence thin: a plain categorical kernel learns about a choice
only from the trials that used it. :func:`embed_choices` places the choices in a small continuous space in which
choices that led to similar losses are close, so that a kernel centred on a good choice also favours the
choices that behaved like it.

Each choice is described by smoothed statistics of the loss ranks of the trials that used it — the mean rank,
the share of trials in the best ``gamma`` and in the best ``2 gamma`` — with a pseudo-count pulling rarely tried
choices towards the average. A principal component analysis of those descriptions gives the coordinates.
The statistics are sums over trials, cheap to recompute whenever the model is refitted.
"""

from __future__ import annotations

import numpy as np

__all__ = ["embed_choices", "loss_ranks"]


def loss_ranks(losses: np.ndarray) -> np.ndarray:
    """Rank of each loss scaled to ``(0, 1)`` (ties share the average rank; ``inf`` ranks last)."""
    n = len(losses)
    if n == 0:
        return np.empty(0)
    order = np.argsort(losses, kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(n, dtype=float)
    # average ties so that equal losses get equal descriptions
    _, inverse, counts = np.unique(losses, return_inverse=True, return_counts=True)
    sums = np.bincount(np.ravel(inverse), weights=ranks)
    return ((sums / counts)[np.ravel(inverse)] + 0.5) / n


def embed_choices(
    codes: np.ndarray,
    ranks: np.ndarray,
    n_choices: int,
    n_dims: int = 2,
    gamma: float = 0.15,
    prior_count: float = 1.0,
) -> np.ndarray:
    """Coordinates ``(n_choices, k)`` of the choices of one categorical, ``k <= min(n_dims, n_choices - 1, 3)``.

    Parameters
    ----------
    codes : numpy.ndarray
        The choice index of each trial where the categorical was active.
    ranks : numpy.ndarray
        The loss rank of each of those trials on ``(0, 1)`` (see :func:`loss_ranks`), small is good.
    n_choices : int
        Number of choices.
    n_dims : int
        Wanted dimensions (at most 3, and fewer than the choices).
    gamma : float
        Share of the best trials whose frequency describes a choice.
    prior_count : float
        Pseudo-trials of average rank added to every choice.

    Returns
    -------
    numpy.ndarray
        Coordinates scaled so that their overall spread is about that of a uniform variable on ``[0, 1]``.
    """
    k = int(max(1, min(n_dims, n_choices - 1, 3)))
    counts = np.bincount(codes, minlength=n_choices).astype(float) + prior_count
    features = np.column_stack(
        [
            (np.bincount(codes, weights=ranks, minlength=n_choices) + 0.5 * prior_count) / counts,
            (np.bincount(codes, weights=(ranks <= gamma).astype(float), minlength=n_choices) + gamma * prior_count)
            / counts,
            (np.bincount(codes, weights=(ranks <= 2 * gamma).astype(float), minlength=n_choices)
             + 2 * gamma * prior_count)
            / counts,
        ]
    )
    spread = features.std(axis=0)
    features = (features - features.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    if not np.any(spread > 0):
        return np.zeros((n_choices, k))
    u, s, _ = np.linalg.svd(features, full_matrices=False)
    coords = u[:, :k] * s[:k]
    # put the choices on a [0, 1]-like scale: the spread of the first coordinate becomes that of U(0, 1)
    scale = float(coords[:, 0].std()) or 1.0
    return coords * (np.sqrt(1 / 12) / scale)
