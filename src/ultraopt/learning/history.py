"""Observations kept as growing arrays, so that a model never re-encodes the whole history.

:class:`GrowingArrays` appends one row at a time into preallocated arrays whose capacity doubles, so ``n``
appends cost ``O(n)`` in total and reading the history is a slice, not a rebuild.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GrowingArrays"]


class GrowingArrays:
    """Named columns that grow one row at a time.

    Parameters
    ----------
    columns : dict
        Column name to ``(shape of one row, dtype, fill value)``; e.g. ``{"x": ((3,), float, np.nan)}``.
    capacity : int
        Rows allocated at first; doubled whenever full.

    Examples
    --------
    >>> store = GrowingArrays({"loss": ((), float, np.nan)})
    >>> store.append(loss=1.5)
    >>> store["loss"]
    array([1.5])
    """

    def __init__(self, columns: dict[str, tuple[tuple[int, ...], type, object]], capacity: int = 64):
        self._spec = columns
        self._size = 0
        self._data: dict[str, np.ndarray] = {
            name: np.full((capacity, *shape), fill, dtype=dtype) for name, (shape, dtype, fill) in columns.items()
        }

    def __len__(self) -> int:
        return self._size

    def append(self, **values: object) -> None:
        """Add one row; every column must be given."""
        if self._size == len(next(iter(self._data.values()))):
            self._grow()
        for name, array in self._data.items():
            array[self._size] = values[name]
        self._size += 1

    def __getitem__(self, name: str) -> np.ndarray:
        """A view of the filled rows of column ``name`` (do not keep it across appends)."""
        return self._data[name][: self._size]

    def _grow(self) -> None:
        for name, array in self._data.items():
            shape, _, fill = self._spec[name]
            bigger = np.full((2 * len(array), *shape), fill, dtype=array.dtype)
            bigger[: len(array)] = array
            self._data[name] = bigger
