"""Arguments checked once, at the boundary, from a table of constraints.

The error names the argument, what is allowed and what was given, like scikit-learn's parameter validation.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ultraopt.checks import Rules, check_settings, is_int, is_seed

__all__ = ["InvalidArgumentError", "check_arguments", "is_positive_int", "is_seed"]


class InvalidArgumentError(ValueError, TypeError):
    """An argument of a public function has a wrong type or value."""


def is_positive_int(value: Any) -> bool:
    """A positive integer (``bool`` excluded)."""
    return is_int(value, 1)


def is_positive_number(value: Any) -> bool:
    """A positive real number (``bool`` excluded)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value) > 0


def is_dask_client(value: Any) -> bool:
    """A ``distributed.Client`` that is not closed (Dask is imported only when a value is given)."""
    from distributed import Client

    from ultraopt.executors.dask_executor import is_closed

    return isinstance(value, Client) and not is_closed(value)


def optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """``check``, or ``None``."""
    return lambda value: value is None or check(value)


def is_callables(value: Any) -> bool:
    """An iterable of callables (a single callable is not accepted, to catch ``callbacks=f``)."""
    return isinstance(value, Iterable) and all(callable(item) for item in value)


def check_arguments(values: Mapping[str, Any], constraints: Rules, function: str) -> None:
    """Raise :class:`InvalidArgumentError` for the first value that breaks its constraint."""
    check_settings(values, constraints, InvalidArgumentError, prefix=f"{function}: ")
