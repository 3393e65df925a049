"""The encoded space as kernel density estimators see it: numerical columns, categorical columns, groups.

:class:`KernelSpace` splits an encoded matrix (see :class:`~ultraopt.learning.encoding.SpaceEncoder`) into

- ``num``: a float matrix of the numerical hyperparameters on ``[0, 1]`` — continuous, integer, q-grid and
  ordinal ones (an ordinal of ``n`` values sits at ``index / (n - 1)``, so its order is kept);
- ``cat``: an int matrix of the categorical hyperparameters' choice indices;

with ``nan`` / ``-1`` where a hyperparameter is inactive. Constants carry no information and are left out.

It also names the *group* of each row: the set of active hyperparameters together with the values of the
categoricals that decide activity (parents of conditions). Rows of one group live in the same sub-space, so a
density fitted to a group never needs to impute an inactive value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ultraopt.learning.encoding import SpaceEncoder

__all__ = ["KernelSpace"]


class KernelSpace:
    """Model-side view of a :class:`SpaceEncoder`.

    Parameters
    ----------
    encoder : SpaceEncoder
        The encoding of the search space.

    Attributes
    ----------
    num_columns, cat_columns : numpy.ndarray
        Encoder columns of the numerical and categorical model columns.
    steps : numpy.ndarray
        Grid step on ``[0, 1]`` of each numerical column (``0`` for continuous ones).
    n_choices : numpy.ndarray
        Number of choices of each categorical column.
    structural : numpy.ndarray
        Boolean mask over categorical columns: the ones whose value decides which hyperparameters are active.
    conditional : bool
        Whether the space has conditions (otherwise every row is in group 0).
    """

    def __init__(self, encoder: SpaceEncoder):
        self.encoder = encoder
        dims = encoder.dimensions
        self.num_columns = encoder.columns("continuous", "discrete", "ordinal")
        self.cat_columns = np.array(
            [i for i, dim in enumerate(dims) if dim.kind == "categorical" and (dim.n_values or 0) >= 2], dtype=int
        )
        self.constant_columns = np.array(
            [i for i in range(encoder.n_dims) if i not in set(self.num_columns) | set(self.cat_columns)], dtype=int
        )
        self.ordinal_sizes = np.array(
            [dims[i].n_values if dims[i].kind == "ordinal" else 0 for i in self.num_columns], dtype=float
        )
        self.steps = np.array(
            [1.0 / max(dims[i].n_values - 1, 1) if dims[i].kind != "continuous" else 0.0 for i in self.num_columns]
        )
        # Uniform draws are stretched by half a cell beyond both ends of a linear grid (see grid_cells); a log
        # grid's points keep the log-uniform mass nearest them, as sampled configs give them.
        self._stretch = np.where([dims[i].log for i in self.num_columns], 0.0, self.steps)
        self.n_choices = np.array([dims[i].n_values for i in self.cat_columns], dtype=int)
        space = encoder.config_space
        parents = {
            space.index_of[parent.name]
            for condition in space.conditions
            for parent in _parents(condition)
        }
        self.structural = np.array([column in parents for column in self.cat_columns], dtype=bool)
        self.conditional = bool(space.conditions)
        self._groups: dict[bytes, int] = {}

    @property
    def n_num(self) -> int:
        """Number of numerical model columns."""
        return len(self.num_columns)

    @property
    def n_cat(self) -> int:
        """Number of categorical model columns."""
        return len(self.cat_columns)

    # ------------------------------------------------------------------ encoder rows <-> model arrays
    def split(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(num, cat)`` of encoded ``rows``."""
        rows = np.atleast_2d(rows)
        num = rows[:, self.num_columns].astype(float)
        ordinal = self.ordinal_sizes > 0
        if ordinal.any():
            num[:, ordinal] /= np.maximum(self.ordinal_sizes[ordinal] - 1, 1)
        raw = rows[:, self.cat_columns]
        cat = np.where(np.isnan(raw), -1, np.nan_to_num(raw, nan=-1)).astype(np.int64)
        return num, cat

    def join(self, num: np.ndarray, cat: np.ndarray) -> np.ndarray:
        """Encoded rows from model arrays (constants take their only value)."""
        rows = np.full((len(num), self.encoder.n_dims), np.nan)
        values = np.array(num, dtype=float, copy=True)
        ordinal = self.ordinal_sizes > 0
        if ordinal.any():
            values[:, ordinal] *= np.maximum(self.ordinal_sizes[ordinal] - 1, 1)
        rows[:, self.num_columns] = values
        rows[:, self.cat_columns] = np.where(cat < 0, np.nan, cat)
        rows[:, self.constant_columns] = 0.0  # snap moves a constant to its only position
        if self.conditional and self.constant_columns.size:
            # The model arrays do not say where a constant is active: its conditions do.
            rows = self.encoder.deactivate(self.encoder.snap(rows))
        return rows

    # ------------------------------------------------------------------ sampling and legality
    def uniform(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` rows drawn uniformly on every column (not yet legal: see :meth:`legalize`)."""
        num = self.grid_cells(rng.random((n, self.n_num)))
        cat = (rng.random((n, self.n_cat)) * self.n_choices).astype(np.int64)
        return num, cat

    def grid_cells(self, positions: np.ndarray, stretch: np.ndarray | None = None) -> np.ndarray:
        """Spread uniform ``positions`` in ``[0, 1]`` so that snapping gives every point of a linear grid the
        same share.

        A linear grid's points sit at ``0, step, ..., 1`` and snap to the nearest one, so the two end points would
        get half a cell each; the positions are stretched by half a step beyond both ends (clipped later).
        ``stretch`` holds the steps of the positions' columns (by default, rows of every numerical column; ``0``
        for continuous and log columns).
        """
        stretch = self._stretch if stretch is None else stretch
        return positions * (1.0 + stretch) - stretch / 2

    def legalize(
        self, num: np.ndarray, cat: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Make candidate rows legal configs of the space.

        Inactive (``nan`` / ``-1``) entries are first filled with uniform draws, so that a hyperparameter that
        a candidate's values activate gets a value; then numerical columns are clipped and snapped to their
        grids and hyperparameters whose conditions fail are deactivated.

        Returns
        -------
        num, cat : numpy.ndarray
            The legal rows in model form.
        allowed : numpy.ndarray
            Boolean mask of the rows no forbidden clause forbids.
        """
        num = np.array(num, dtype=float, copy=True)
        cat = np.array(cat, dtype=np.int64, copy=True)
        holes = np.isnan(num)
        if holes.any():
            num[holes] = self.grid_cells(rng.random(int(holes.sum())), np.broadcast_to(self._stretch, num.shape)[holes])
        holes = cat < 0
        if holes.any():
            draws = (rng.random(cat.shape) * self.n_choices).astype(np.int64)
            cat[holes] = draws[holes]
        rows = self.encoder.snap(self.join(num, cat))
        if self.conditional:
            rows = self.encoder.deactivate(rows)
        allowed = self.encoder.allowed(rows) if self.encoder.config_space.forbidden_clauses else np.ones(
            len(rows), dtype=bool
        )
        legal_num, legal_cat = self.split(rows)
        return legal_num, legal_cat, allowed

    # ------------------------------------------------------------------ groups
    def groups(self, num: np.ndarray, cat: np.ndarray) -> np.ndarray:
        """The group id of each row (ids are given in order of first appearance and kept for the run)."""
        if not self.conditional:
            return np.zeros(len(num), dtype=np.int64)
        signature = np.hstack([np.isnan(num), cat < 0, cat[:, self.structural] + 1]).astype(np.int16)
        groups = self._groups
        return np.fromiter(
            (groups.setdefault(row.tobytes(), len(groups)) for row in signature), dtype=np.int64, count=len(signature)
        )


def _parents(condition: Any) -> list[Any]:
    if hasattr(condition, "parent"):
        return [condition.parent]
    found: list[Any] = []
    for component in getattr(condition, "components", []):
        found.extend(_parents(component))
    return found
