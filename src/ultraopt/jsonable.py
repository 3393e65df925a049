"""Turning what users return into plain JSON-able data.

Configs, losses and infos cross process and network boundaries and are stored as JSON, so numpy scalars,
arrays, tuples and the like are converted once, where they enter the run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["json_text", "to_jsonable", "plain_scalar"]


def plain_scalar(value: Any) -> Any:
    """Return ``value`` as a Python ``bool``, ``int``, ``float``, ``str`` or ``None`` when it is a scalar.

    numpy scalars (``np.bool_``, ``np.int64``, ``np.float32``, ...) and 0-d arrays (what many reductions and
    ``tensor.numpy()`` give) become their Python counterparts; other values are returned unchanged.
    """
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item()
    return value


def json_text(value: Any, indent: int | None = None) -> str:
    """``value`` (made of JSON types, as :func:`to_jsonable` gives) as standard JSON text.

    JSON has no NaN nor infinity: Python writes them as bare ``NaN``/``Infinity``, which other readers
    (JavaScript's ``JSON.parse``, most languages) refuse; they are written ``null`` here.
    """
    return json.dumps(_finite_or_none(value), indent=indent, allow_nan=False)


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(item) for item in value]
    return value


def to_jsonable(value: Any) -> Any:
    """Return a copy of ``value`` made of dicts with string keys, lists and Python scalars.

    Non-finite floats are kept (Python's JSON writer spells them ``NaN``/``Infinity``; :func:`json_text` writes
    standard JSON for files that leave Python); objects that have no JSON form
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
