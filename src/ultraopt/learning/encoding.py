"""Configs as rows of a float matrix, the form every model works on.

Column ``j`` holds the ``j``-th hyperparameter of the space (ConfigSpace order, which is topological):

- continuous and integer hyperparameters on ``[0, 1]`` along their own scale (log where the space says log),
  as ConfigSpace's vector representation does;
- ordinal and categorical hyperparameters as the index of their value;
- ``nan`` where the hyperparameter is inactive.

Candidate matrices made by a model (perturbed, sampled) are made legal with :meth:`SpaceEncoder.snap` (onto
integer and q grids), :meth:`SpaceEncoder.deactivate` (conditions) and :meth:`SpaceEncoder.allowed`
(forbidden clauses), all vectorised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from ConfigSpace import ConfigurationSpace
from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
    Constant,
    FloatHyperparameter,
    Hyperparameter,
    IntegerHyperparameter,
    NumericalHyperparameter,
    OrdinalHyperparameter,
)
from ConfigSpace.hyperparameters.hp_components import ROUND_PLACES

from ultraopt.hdl.configs import grid_step, plain_config, scale_value, snap_to_grid

__all__ = ["Dimension", "DimensionKind", "SpaceEncoder"]

DimensionKind = Literal["continuous", "discrete", "ordinal", "categorical", "constant"]


@dataclass(frozen=True)
class Dimension:
    """One column of the encoding.

    Attributes
    ----------
    name : str
        The hyperparameter.
    kind : {"continuous", "discrete", "ordinal", "categorical", "constant"}
        ``discrete`` is a numerical hyperparameter with finitely many values (integers, q-grids).
    n_values : int or None
        How many values the column can take (``None`` for continuous ones).
    log : bool
        Whether the column is on a log scale.
    """

    name: str
    kind: DimensionKind
    n_values: int | None
    log: bool

    @property
    def is_numerical(self) -> bool:
        """Continuous or discrete: a position on ``[0, 1]``."""
        return self.kind in ("continuous", "discrete")


def _dimension(hp: Hyperparameter) -> Dimension:
    if isinstance(hp, Constant):
        return Dimension(hp.name, "constant", 1, False)
    if isinstance(hp, CategoricalHyperparameter):
        return Dimension(hp.name, "categorical", len(hp.choices), False)
    if isinstance(hp, OrdinalHyperparameter):
        return Dimension(hp.name, "ordinal", len(hp.sequence), False)
    assert isinstance(hp, NumericalHyperparameter), hp
    q = grid_step(hp)
    log = bool(hp.log)
    if q is not None:
        return Dimension(hp.name, "discrete", int(round((float(hp.upper) - float(hp.lower)) / q)) + 1, log)
    if isinstance(hp, IntegerHyperparameter):
        return Dimension(hp.name, "discrete", int(hp.upper) - int(hp.lower) + 1, log)
    return Dimension(hp.name, "continuous", None, log)


class SpaceEncoder:
    """Converts configs of ``config_space`` to and from rows of a float matrix.

    Parameters
    ----------
    config_space : ConfigurationSpace
        The space; its hyperparameter order is the column order.
    """

    def __init__(self, config_space: ConfigurationSpace):
        self.config_space = config_space
        self.hyperparameters = list(config_space.values())
        self.dimensions = [_dimension(hp) for hp in self.hyperparameters]
        self.names = [dim.name for dim in self.dimensions]
        self._conditions = self._conditions_in_topological_order()
        self._continuous = self.columns("continuous")

    @property
    def n_dims(self) -> int:
        """The number of columns."""
        return len(self.dimensions)

    def columns(self, *kinds: DimensionKind) -> np.ndarray:
        """Indices of the columns of the given kinds."""
        return np.array([i for i, dim in enumerate(self.dimensions) if dim.kind in kinds], dtype=int)

    # ------------------------------------------------------------------ configs <-> rows
    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """The row of one plain config of the space (``nan`` where inactive), as a ConfigSpace ``Configuration``
        has it; like :meth:`encode_many`, it does not validate the config (building a ``Configuration`` for that
        took most of a resume, after the config had been checked already)."""
        row = np.full(self.n_dims, np.nan)
        for index, hp in enumerate(self.hyperparameters):
            if hp.name in config:  # one value at a time and floats rounded, as Configuration does
                value = config[hp.name]
                if isinstance(hp, FloatHyperparameter):
                    value = float(np.round(value, ROUND_PLACES))
                row[index] = hp.to_vector(value)
        return row

    def encode_many(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The matrix of several configs, one row each (``nan`` where a config leaves a hyperparameter out).

        Vectorised column by column, so encoding the 10,000 configs of a long run takes milliseconds. Unlike
        :meth:`encode` the configs are not validated: they must be plain configs of the space (as trials hold).
        """
        out = np.full((len(configs), self.n_dims), np.nan)
        for index, hp in enumerate(self.hyperparameters):
            rows = [row for row, config in enumerate(configs) if hp.name in config]
            if not rows:
                continue
            values = np.empty(len(rows), dtype=object)
            values[:] = [configs[row][hp.name] for row in rows]  # object array: keeps True apart from "True"
            if self.dimensions[index].is_numerical:
                values = values.astype(float)
            out[rows, index] = hp.to_vector(values)
        return out

    def decode(self, row: np.ndarray) -> dict[str, Any]:
        """The plain config of a legal row (snapped and deactivated)."""
        values = {}
        for index, hp in enumerate(self.hyperparameters):
            if not np.isnan(row[index]):
                # a constant is its value (ConfigSpace 1.1 cannot give back one that is a tuple)
                values[hp.name] = hp.value if isinstance(hp, Constant) else hp.to_value(np.array([row[index]]))[0]
        return plain_config(self.config_space, values)

    # ------------------------------------------------------------------ making candidates legal
    def snap(self, matrix: np.ndarray) -> np.ndarray:
        """Clip numerical columns to ``[0, 1]`` and round every finite-valued column onto its grid.

        Integer and q-grid columns move to the vector position of their nearest legal value; ordinal and
        categorical columns to the nearest index; constants to their only position.
        """
        out = np.array(matrix, dtype=float, copy=True)
        if self._continuous.size:  # one clip for every continuous column (nan stays nan)
            out[:, self._continuous] = np.clip(out[:, self._continuous], 0.0, 1.0)
        for index, (dim, hp) in enumerate(zip(self.dimensions, self.hyperparameters)):
            if dim.kind == "continuous":
                continue
            column = out[:, index]
            active = ~np.isnan(column)
            if dim.kind in ("categorical", "ordinal"):
                column[active] = np.clip(np.rint(column[active]), 0, (dim.n_values or 1) - 1)
            elif isinstance(hp, Constant):
                value = np.empty(1, dtype=object)  # np.array([(64, 64)]) would be two values, not one tuple
                value[0] = hp.value
                column[active] = np.asarray(hp.to_vector(value), dtype=float)[0]
            else:
                column[active] = np.clip(column[active], 0.0, 1.0)
                if dim.kind == "discrete" and active.any():
                    assert isinstance(hp, NumericalHyperparameter)
                    column[active] = self._snap_discrete(hp, column[active])
        return out

    @staticmethod
    def _snap_discrete(hp: NumericalHyperparameter, vectors: np.ndarray) -> np.ndarray:
        q = grid_step(hp)
        values = np.asarray(hp.to_value(vectors) if q is None else scale_value(hp, vectors), dtype=float)
        if q is not None:
            lower, upper = float(hp.lower), float(hp.upper)
            values = np.clip(lower + np.floor((values - lower) / q + 0.5) * q, lower, upper)
            # The values configs get (lower + k*q without its float noise): conditions and forbidden clauses then
            # see the very vector ConfigSpace gives such a value (0.1 + 0.2 would sit an ulp off 0.3's). Once per
            # grid point hit, not per row.
            points, where = np.unique(values, return_inverse=True)
            values = np.array([snap_to_grid(hp, point) for point in points], dtype=float)[where.ravel()]
        if isinstance(hp, IntegerHyperparameter):
            values = np.rint(values).astype(np.int64)
        return np.asarray(hp.to_vector(values), dtype=float)

    def deactivate(self, matrix: np.ndarray) -> np.ndarray:
        """Set to ``nan`` the hyperparameters whose conditions the rest of their row does not satisfy.

        Rows may come with values everywhere (e.g. sampled independently per column); inactive values are
        dropped, parents first, so that each condition sees its parents' final values (``nan`` if inactive).
        """
        out = np.array(matrix, dtype=float, copy=True)
        for child, condition in self._conditions:
            satisfied = np.asarray(condition.satisfied_by_vector_array(out.T), dtype=bool)
            out[~satisfied, child] = np.nan
        return out

    def allowed(self, matrix: np.ndarray) -> np.ndarray:
        """A boolean mask of the rows that no forbidden clause forbids (rows must be deactivated first)."""
        mask = np.ones(len(matrix), dtype=bool)
        for clause in self.config_space.forbidden_clauses:
            mask &= ~np.asarray(clause.is_forbidden_vector_array(matrix.T), dtype=bool)
        return mask

    def legalize(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Snap and deactivate ``matrix``; return it with the mask of its allowed rows."""
        legal = self.deactivate(self.snap(matrix))
        return legal, self.allowed(legal)

    def _conditions_in_topological_order(self) -> list[tuple[int, Any]]:
        """``(child column, condition)`` sorted so that parents are settled before children.

        A condition sees an inactive parent as ``nan``, as ConfigSpace's own check does (so ``x != 3`` holds
        when x is inactive, ``x == 3`` does not): configs stay valid by :func:`check_config`'s rules.
        """
        index = self.config_space.index_of
        found = [(index[condition.child.name], condition) for condition in self.config_space.conditions]
        return sorted(found, key=lambda item: item[0])
