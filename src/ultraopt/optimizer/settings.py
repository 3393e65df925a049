"""Checks of optimizer settings at construction, so that a bad setting fails at once with its name rather
than at the first model proposal, after the initial design ran (and in scikit-learn's words)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["Rules", "check_settings", "is_int", "is_number"]

#: Setting name to its check and what it must be (for the message).
Rules = Mapping[str, tuple[Callable[[Any], bool], str]]


def is_int(value: Any, low: int) -> bool:
    """Whether ``value`` is an int (not a bool) of at least ``low``."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and bool(value >= low)


def is_number(
    value: Any, low: float, high: float = math.inf, low_open: bool = False, high_open: bool = False
) -> bool:
    """Whether ``value`` is a finite real number (not a bool) between ``low`` and ``high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    above = low < value if low_open else low <= value
    below = value < high if high_open else value <= high
    return bool(above and below and math.isfinite(value))


def check_settings(settings: Mapping[str, Any], rules: Rules) -> None:
    """Raise a ValueError naming the first setting that breaks its rule."""
    for name, (valid, what) in rules.items():
        if not valid(settings[name]):
            raise ValueError(f"{name} must be {what}, got {settings[name]!r}")
