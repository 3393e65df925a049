"""Checks of arguments and settings from a table of rules, so that a bad value fails at once with its name rather
than deep inside a run (after the initial design ran, in scikit-learn's or numpy's words).

Imports nothing of UltraOpt: the facade's argument checks and the optimizers' setting checks share it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "CONFIG_LIST", "Rules", "check_int", "check_settings", "is_config_list", "is_int", "is_number", "is_seed",
]

#: Setting name to its check and what it must be (for the message).
Rules = Mapping[str, tuple[Callable[[Any], bool], str]]


def is_int(value: Any, low: int) -> bool:
    """Whether ``value`` is an int (not a bool) of at least ``low``."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and bool(value >= low)


def check_int(name: str, value: Any, low: int) -> int:
    """``value`` as an int; a ``ValueError`` naming ``name`` unless it is an int (not a bool) of at least ``low``."""
    if not is_int(value, low):
        what = {0: "a non-negative int", 1: "a positive int"}.get(low, f"an int of at least {low}")
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def is_number(
    value: Any, low: float, high: float = math.inf, low_open: bool = False, high_open: bool = False
) -> bool:
    """Whether ``value`` is a finite real number (not a bool) between ``low`` and ``high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    above = low < value if low_open else low <= value
    below = value < high if high_open else value <= high
    return bool(above and below and math.isfinite(value))


def is_seed(value: Any) -> bool:
    """What ``numpy.random.default_rng`` takes here: ``None``, a non-negative int or a Generator."""
    if value is None or isinstance(value, np.random.Generator):
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 0


def check_settings(
    settings: Mapping[str, Any], rules: Rules, error: type[Exception] = ValueError, prefix: str = ""
) -> None:
    """Raise ``error`` naming the first of ``settings`` that breaks its rule (``prefix``: e.g. ``"fmin: "``)."""
    for name, (valid, what) in rules.items():
        if name in settings and not valid(settings[name]):
            raise error(f"{prefix}{name} must be {what}, got {settings[name]!r}")


#: What :func:`is_config_list` accepts, for messages.
CONFIG_LIST = "a list of configs (dicts; pass [config] for one)"


def is_config_list(value: Any) -> bool:
    """Whether ``value`` is a list (or other iterable, not one dict or string) of dicts."""
    if isinstance(value, (Mapping, str, bytes)) or not isinstance(value, Iterable):
        return False
    return all(isinstance(item, Mapping) for item in value)
