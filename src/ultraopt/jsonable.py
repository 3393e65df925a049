"""Turning what users return into plain JSON-able data.

Configs, losses and infos cross process and network boundaries and are stored as JSON, so numpy scalars,
arrays, tuples and the like are converted once, where they enter the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["to_jsonable", "plain_scalar"]


def plain_scalar(value: Any) -> Any:
    """Return ``value`` as a Python ``bool``, ``int``, ``float``, ``str`` or ``None`` when it is a scalar.

    numpy scalars (``np.bool_``, ``np.int64``, ``np.float32``, ...) and 0-d arrays (what many reductions and
    ``tensor.numpy()`` give) become their Python counterparts; other values are returned unchanged.
    """
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item()
    return value


def to_jsonable(value: Any) -> Any:
    """Return a copy of ``value`` made of dicts with string keys, lists and Python scalars.

    Non-finite floats are kept (JSON writers spell them ``NaN``/``Infinity``); objects that have no JSON form
    are replaced by their ``repr`` so that an exotic ``info`` entry never makes a finished trial unrecordable; a
    container that holds itself becomes ``"<cycle>"`` where it recurs.
    """
    return _jsonable(value, set())


def _jsonable(value: Any, path: set[int]) -> Any:
    """:func:`to_jsonable`; ``path``: the ids of the containers ``value`` is inside of."""
    value = plain_scalar(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist(), path)
    if not isinstance(value, (Mapping, list, tuple, set, frozenset)):
        return repr(value)
    if id(value) in path:
        return "<cycle>"
    path.add(id(value))
    try:
        if isinstance(value, Mapping):
            return {str(key): _jsonable(item, path) for key, item in value.items()}
        return [_jsonable(item, path) for item in value]
    finally:
        path.discard(id(value))
