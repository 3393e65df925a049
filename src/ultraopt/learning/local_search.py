"""Candidate rows for an acquisition function: uniform samples and one-exchange local search.

Everything works on encoded rows (:class:`ultraopt.learning.encoding.SpaceEncoder`) and returns *legal* rows:
snapped to their grids, with the hyperparameters of unmet conditions inactive (``nan``), newly activated
hyperparameters given a value, and forbidden rows dropped. :meth:`SpaceEncoder.decode` turns any of them
into a config.

The one-exchange neighbourhood is SMAC's (ConfigSpace's ``get_one_exchange_neighbourhood``): every neighbour
differs from its row in one active hyperparameter — a Gaussian step for numerical ones, the adjacent values for
ordinals, every other choice for categoricals.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ultraopt.learning.encoding import SpaceEncoder

__all__ = ["local_search", "one_exchange_neighbours", "sample_rows"]

#: ``score(matrix) -> values``, higher is better (an acquisition function over encoded rows).
ScoreFunction = Callable[[np.ndarray], np.ndarray]


def _random_values(encoder: SpaceEncoder, n: int, rng: np.random.Generator) -> np.ndarray:
    """An ``(n, n_dims)`` matrix with an independent uniform value in every cell (not yet legal)."""
    out = rng.random((n, encoder.n_dims))
    for index, dim in enumerate(encoder.dimensions):
        if dim.kind in ("categorical", "ordinal"):
            out[:, index] = np.floor(out[:, index] * dim.n_values)  # type: ignore[operator]
    return out


def sample_rows(encoder: SpaceEncoder, n: int, rng: np.random.Generator) -> np.ndarray:
    """About ``n`` legal rows drawn uniformly per column (fewer when forbidden clauses reject some).

    Numerical columns are uniform on ``[0, 1]``, i.e. on each hyperparameter's own (log) scale; categorical and
    ordinal columns uniform over their values. Much faster than sampling ``Configuration`` objects, which is what
    scoring thousands of candidates needs.
    """
    if n <= 0:
        return np.empty((0, encoder.n_dims))
    legal, allowed = encoder.legalize(_random_values(encoder, n, rng))
    return legal[allowed]


def _reflect(values: np.ndarray) -> np.ndarray:
    """Fold values back into ``[0, 1]`` (a step past a bound bounces off it)."""
    values = np.abs(values)
    return 1.0 - np.abs(1.0 - np.mod(values, 2.0))


def one_exchange_neighbours(
    encoder: SpaceEncoder,
    rows: np.ndarray,
    rng: np.random.Generator,
    n_numerical: int = 4,
    step: float = 0.2,
    max_categorical: int = 16,
    min_step: float | None = None,
    max_dims: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The legal neighbours of legal ``rows`` that differ from their row in one active hyperparameter.

    Parameters
    ----------
    encoder : SpaceEncoder
        The space's encoder.
    rows : numpy.ndarray
        Legal encoded rows, shape ``(n, n_dims)``.
    rng : numpy.random.Generator
        Source of the Gaussian steps and of values for newly activated hyperparameters.
    n_numerical : int
        Neighbours per numerical hyperparameter, each a step ``N(0, step**2)`` on the unit scale.
    step : float
        Standard deviation of a numerical step (SMAC uses 0.2).
    max_categorical : int
        At most this many other choices of a categorical (a random subset when it has more).
    min_step : float or None
        If given, every other numerical neighbour's step has its own standard deviation, log-uniform in
        ``[min_step, step]``: small steps let a walk refine around a good row, the others still leave its basin.
        ``None``: always ``step``.
    max_dims : int or None
        If given and the space has more hyperparameters, the neighbours change only a random subset of this many
        (the same for every row): in a space of 200, each step would otherwise score 800 neighbours per walk.

    Returns
    -------
    neighbours : numpy.ndarray
        Legal rows, none equal to its origin.
    origin : numpy.ndarray
        For each neighbour, the index of its row in ``rows``.
    """
    rows = np.asarray(rows, dtype=float)
    blocks, origins = [], []
    varied = [index for index, dim in enumerate(encoder.dimensions) if dim.kind != "constant"]
    if max_dims is not None and len(varied) > max_dims:
        varied = sorted(rng.choice(varied, size=max_dims, replace=False))
    for index in varied:
        dim = encoder.dimensions[index]
        active = np.flatnonzero(~np.isnan(rows[:, index]))
        if active.size == 0:
            continue
        current = rows[active, index]
        if dim.is_numerical:
            shape = (active.size, n_numerical)
            scale = np.full(shape, step)
            if min_step is not None:
                scale[:, 1::2] = np.exp(rng.uniform(np.log(min_step), np.log(step), scale[:, 1::2].shape))
            new = _reflect(current[:, None] + scale * rng.standard_normal(shape))
        elif dim.kind == "ordinal":
            new = current[:, None] + np.array([-1.0, 1.0])
            new[(new < 0) | (new > dim.n_values - 1)] = np.nan  # type: ignore[operator]
        else:  # categorical: the other choices
            n_values = int(dim.n_values)  # type: ignore[arg-type]
            others = (current[:, None] + np.arange(1, n_values)) % n_values
            if n_values - 1 > max_categorical:
                others = rng.permuted(others, axis=1)[:, :max_categorical]
            new = others
        width = new.shape[1]
        block = np.repeat(rows[active], width, axis=0)
        block[:, index] = new.ravel()
        keep = ~np.isnan(block[:, index])
        blocks.append(block[keep])
        origins.append(np.repeat(active, width)[keep])
    if not blocks:
        return np.empty((0, encoder.n_dims)), np.empty(0, dtype=int)
    neighbours, origin = np.vstack(blocks), np.concatenate(origins)
    # Children of a changed parent may become active (nan -> value) or inactive; forbidden rows go.
    missing = np.isnan(neighbours)
    if missing.any():
        neighbours = np.where(missing, _random_values(encoder, len(neighbours), rng), neighbours)
    legal, allowed = encoder.legalize(neighbours)
    same = _rows_equal(legal, rows[origin])
    keep = allowed & ~same
    return legal[keep], origin[keep]


def _rows_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise equality where ``nan`` equals ``nan``."""
    return ((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)


def local_search(
    encoder: SpaceEncoder,
    starts: np.ndarray,
    score: ScoreFunction,
    rng: np.random.Generator,
    max_steps: int = 30,
    n_numerical: int = 4,
    step: float = 0.2,
    min_step: float | None = None,
    max_dims: int | None = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """Best-improvement hill climbing from each of ``starts`` over the one-exchange neighbourhood.

    All starts move together (one scoring call per step for every neighbour of every walk), so the cost is a few
    vectorised calls of ``score``. A walk stops at a local optimum (no neighbour scores higher) or after
    ``max_steps`` moves.

    Parameters
    ----------
    encoder : SpaceEncoder
        The space's encoder.
    starts : numpy.ndarray
        Legal encoded rows to start from.
    score : callable
        ``score(matrix) -> values``; higher is better.
    rng : numpy.random.Generator
        Source of the neighbourhood's random steps.
    max_steps : int
        Moves per walk at most.
    n_numerical, step, min_step, max_dims : int, float, float or None, int or None
        See :func:`one_exchange_neighbours`; by default a step of a walk in a space of more than 32
        hyperparameters changes one of 32 drawn at random (a different draw at every step).

    Returns
    -------
    rows : numpy.ndarray
        Every row scored on the way (starts, all neighbours), so that a caller can fall back to the next best
        when the best one was already evaluated.
    scores : numpy.ndarray
        Their scores.
    """
    current = np.array(starts, dtype=float)  # a copy: the walks move in place
    current_score = np.asarray(score(current), dtype=float)
    seen_rows, seen_scores = [current], [current_score]
    walking = np.arange(len(current))
    for _ in range(max_steps):
        if walking.size == 0:
            break
        neighbours, origin = one_exchange_neighbours(
            encoder, current[walking], rng, n_numerical, step, min_step=min_step, max_dims=max_dims
        )
        if len(neighbours) == 0:
            break
        values = np.asarray(score(neighbours), dtype=float)
        seen_rows.append(neighbours)
        seen_scores.append(values)
        # Best neighbour of each walk: sort by (walk, value, random tie-break) and take the last of each walk;
        # tree surrogates are piecewise constant, so ties are common and would otherwise go to the last column.
        order = np.lexsort((rng.random(len(values)), values, origin))
        last = np.flatnonzero(np.r_[origin[order][1:] != origin[order][:-1], True])
        best = order[last]
        walks, best_values = origin[best], values[best]
        improved = best_values > current_score[walking[walks]]
        moved = walking[walks[improved]]
        current[moved] = neighbours[best[improved]]
        current_score[moved] = best_values[improved]
        walking = moved
    return np.vstack(seen_rows), np.concatenate(seen_scores)
