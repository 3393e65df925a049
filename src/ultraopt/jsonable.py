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
    are replaced by their ``repr`` so that an exotic ``info`` entry never makes a finished trial unrecordable.
    """
    value = plain_scalar(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(item) for item in value]
    return repr(value)
