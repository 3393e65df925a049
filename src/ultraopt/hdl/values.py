"""The scalar values an HDL may hold, and matching them without Python's ``True == 1`` conflation.

Choices, constants and condition values are JSON scalars: ``str``, ``int``, ``float`` (finite), ``bool`` or
``None``. Python treats ``True == 1`` and ``1 == 1.0``; configs must not, or a sampled ``1`` and a user's
``True`` would be the same point. Two scalars *match* when they are equal and both or neither is a ``bool``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ultraopt.jsonable import plain_scalar

__all__ = ["find_choice", "is_json_scalar", "is_number", "same_scalar", "type_name"]


def is_json_scalar(value: Any) -> bool:
    """Whether ``value`` is a ``str``, ``int``, finite ``float``, ``bool`` or ``None`` (numpy scalars too)."""
    value = plain_scalar(value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, int, bool))


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite ``int`` or ``float`` that is not a ``bool``."""
    value = plain_scalar(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the largest float: finite, and a number
        return True


def same_scalar(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are the same value: equal, and not a ``bool`` against a number or a string."""
    a, b = plain_scalar(a), plain_scalar(b)
    if isinstance(a, bool) != isinstance(b, bool) or isinstance(a, str) != isinstance(b, str):
        return False
    return bool(a == b)


def find_choice(choices: Sequence[Any], value: Any) -> int | None:
    """The index of the choice that ``value`` matches (see :func:`same_scalar`), or ``None``."""
    for index, choice in enumerate(choices):
        if same_scalar(choice, value):
            return index
    return None


def type_name(value: Any) -> str:
    """A short name of ``value``'s type for error messages."""
    return type(value).__name__
