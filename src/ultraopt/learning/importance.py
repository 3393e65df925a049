"""Hyperparameter importance: how much of the loss's variance each hyperparameter explains on its own.

A functional-ANOVA estimate in the spirit of fANOVA (Hutter, Hoos & Leyton-Brown, 2014), made fast:

1. a random forest is fitted to the encoded trials (inactive hyperparameters as ``-1``);
2. a background sample is drawn uniformly from the *space* (not from the trials, which an optimizer
   concentrates), conditions applied;
3. for hyperparameter ``j`` and each point ``v`` of a grid over its range, ``m_j(v)`` is the mean prediction of
   a tree over the background sample with ``j`` set to ``v`` (conditions re-applied, so that setting a
   conditional choice switches its sub-space on and off) — the marginal of ``j``;
4. the importance of ``j`` is ``Var_v m_j(v) / Var f``, the fraction of the variance of the tree's predictions
   over the space that ``j``'s main effect explains; computed per tree, then averaged (the spread over trees
   is the ``std``).

Everything is vectorised over grid points and background rows: one ``predict`` per tree on a matrix of
``n_dims * n_grid * n_background`` rows, and each tree is fitted to a bounded bootstrap sample, so that 10,000
trials of a 10-dimensional space take about a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ultraopt.learning.encoding import SpaceEncoder

__all__ = ["MarginalImportance", "fanova_importance", "uniform_rows"]

#: The value an inactive hyperparameter takes in the forest's input (outside every legal position).
INACTIVE = -1.0
# Trials below which no tree can split (leaves of 2, bootstrap repeats): every importance came out 0 +- 0.
_MIN_TRIALS = 5


@dataclass(frozen=True)
class MarginalImportance:
    """Importances of the columns of an encoder, and the forest's fit.

    Attributes
    ----------
    names : list of str
        The hyperparameters, in the encoder's column order.
    importance : ndarray
        Fraction of the loss variance over the space explained by each hyperparameter alone (mean over trees).
    std : ndarray
        Its standard deviation over the trees.
    n_trials : int
        How many trials the forest was fitted to.
    """

    names: list[str]
    importance: np.ndarray
    std: np.ndarray
    n_trials: int


def uniform_rows(encoder: SpaceEncoder, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows drawn uniformly from the space, every column filled (conditions not yet applied).

    Numerical columns are uniform on ``[0, 1]`` and snapped to their grids; categorical, ordinal and constant
    columns a uniform index. Apply :meth:`SpaceEncoder.deactivate` to get legal rows.
    """
    rows = rng.random((n, encoder.n_dims))
    for index, dim in enumerate(encoder.dimensions):
        if not dim.is_numerical:
            rows[:, index] = rng.integers(0, dim.n_values or 1, n)
    return encoder.snap(rows)


def _grid(encoder: SpaceEncoder, column: int, n_grid: int) -> np.ndarray:
    """Points spread evenly over a column's range (each value once for categories and ordinals)."""
    dim = encoder.dimensions[column]
    if not dim.is_numerical:
        return np.arange(dim.n_values or 1, dtype=float)
    points = np.full((n_grid, encoder.n_dims), 0.5)
    points[:, column] = (np.arange(n_grid) + 0.5) / n_grid
    return encoder.snap(points)[:, column]  # integer and q-grid columns: duplicates keep the weights uniform


def fanova_importance(
    matrix: np.ndarray,
    losses: np.ndarray,
    encoder: SpaceEncoder,
    n_trees: int = 32,
    n_grid: int = 16,
    n_background: int = 256,
    max_samples: int = 1500,
    random_state: int = 0,
) -> MarginalImportance:
    """Estimate each hyperparameter's main-effect share of the loss variance (see the module docstring).

    Parameters
    ----------
    matrix : ndarray of shape (n_trials, n_dims)
        Encoded configs (:meth:`SpaceEncoder.encode_many`), ``nan`` where inactive.
    losses : ndarray of shape (n_trials,)
        Their finite losses.
    encoder : SpaceEncoder
        The encoder of the space.
    n_trees : int
        Trees of the random forest.
    n_grid : int
        Grid points along a numerical hyperparameter (categories use each option).
    n_background : int
        Rows of the uniform sample of the space over which the marginals average.
    max_samples : int
        Each tree is fitted to a bootstrap sample of at most this many trials (the forest as a whole sees them
        all); this bounds the time on long runs.
    random_state : int
        Seed of the forest and of the background sample.

    Returns
    -------
    MarginalImportance
        Importances in ``[0, 1]`` that sum to at most about 1 (the rest is interactions); all zero when the
        loss does not vary.

    Raises
    ------
    ValueError
        With fewer than 5 trials (too few for a tree to split), or shapes that do not match.
    """
    from sklearn.ensemble import RandomForestRegressor

    matrix, losses = np.asarray(matrix, dtype=float), np.asarray(losses, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] != encoder.n_dims or len(matrix) != len(losses):
        raise ValueError(f"matrix {matrix.shape} and losses {losses.shape} do not match {encoder.n_dims} columns")
    if len(losses) < _MIN_TRIALS:
        raise ValueError(f"hyperparameter importance needs at least {_MIN_TRIALS} successful trials, "
                         f"got {len(losses)}")
    rng = np.random.default_rng(random_state)
    zeros = np.zeros(encoder.n_dims)
    if np.ptp(losses) == 0:
        return MarginalImportance(list(encoder.names), zeros, zeros.copy(), len(losses))
    forest = RandomForestRegressor(
        n_estimators=n_trees,
        min_samples_leaf=2,
        # every split looks at every hyperparameter (the bootstrap decorrelates the trees): with a fraction, a
        # space of two forces half the splits onto one hyperparameter however little it matters
        max_features=1.0,
        max_samples=min(max_samples, len(losses)),
        random_state=random_state,
        n_jobs=1,
    ).fit(np.nan_to_num(matrix, nan=INACTIVE), losses)
    full = uniform_rows(encoder, n_background, rng)
    legal = encoder.deactivate(full)
    keep = encoder.allowed(legal)
    full, legal = full[keep], legal[keep]
    columns = [j for j, dim in enumerate(encoder.dimensions) if dim.kind != "constant"]
    grids = [_grid(encoder, j, n_grid) for j in columns]
    # Block 0 is the background itself, for the total variance; then one block per column and grid point. Written
    # into one float32 array, as the trees take it: a 240-dim space has a million rows of 240 columns, and each
    # tree's predict converted them all again.
    inputs = np.empty((len(legal) * (1 + sum(len(grid) for grid in grids)), encoder.n_dims), dtype=np.float32)
    inputs[: len(legal)] = legal
    offset = len(legal)
    for column, grid in zip(columns, grids):
        varied = np.repeat(full[None], len(grid), axis=0)
        varied[:, :, column] = grid[:, None]
        block = encoder.deactivate(varied.reshape(-1, encoder.n_dims))
        inputs[offset: offset + len(block)] = block
        offset += len(block)
    inputs[np.isnan(inputs)] = INACTIVE
    importance, spread = zeros.copy(), zeros.copy()
    per_tree = np.empty((n_trees, len(columns)))
    for t, tree in enumerate(forest.estimators_):
        predictions = tree.predict(inputs, check_input=False)
        total = predictions[: len(legal)].var()
        offset = len(legal)
        for k, grid in enumerate(grids):
            block = predictions[offset: offset + len(grid) * len(legal)].reshape(len(grid), len(legal))
            offset += block.size
            # the two variances are estimated on different samples: a main effect of nearly all the variance
            # can come out a little above it
            per_tree[t, k] = min(block.mean(axis=1).var() / total, 1.0) if total > 0 else 0.0
    importance[columns], spread[columns] = per_tree.mean(axis=0), per_tree.std(axis=0)
    return MarginalImportance(list(encoder.names), importance, spread, len(losses))
