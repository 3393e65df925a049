"""Budgets as people write them (``1/16`` rather than ``0.0625``) and the geometric ladders of Hyperband."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from fractions import Fraction

__all__ = ["as_fraction", "format_budget", "geometric_budgets", "match_budget"]

# More stages than anyone runs: Hyperband's first bracket would hold about eta**stages configs.
_MAX_STAGES = 1000
# A ratio within this relative distance of a power of eta counts as that power (float rounding, not intent).
_REL_TOL = Fraction(1, 10**9)


def format_budget(budget: float) -> str:
    """Write ``budget`` as people write it: an integer, a fraction where a decimal would be long or a unit
    fraction (``1/3``, ``2/9``, ``1/16`` as Hyperband ladders have them), else a short decimal (``0.3``, ``1.024``).

    A fraction is one with a denominator of at most 1000 that matches the float to 1e-9 relative precision.
    """
    budget = float(budget)
    if budget == int(budget) and abs(budget) < 1e15:
        return str(int(budget))
    fraction = Fraction(budget).limit_denominator(1000)
    if abs(float(fraction) - budget) <= 1e-9 * abs(budget) and fraction.denominator > 1:
        if fraction.numerator == 1 or not _terminates(fraction.denominator):
            return f"{fraction.numerator}/{fraction.denominator}"
        return f"{float(fraction):.6g}"
    return f"{budget:.6g}"


def _terminates(denominator: int) -> bool:
    """Whether a fraction of this denominator has a finite decimal expansion (its primes are 2 and 5 only)."""
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


def match_budget(value: float, budgets: Iterable[float]) -> float | None:
    """The budget among ``budgets`` that ``value`` denotes: equal up to float rounding (1e-9 relative, so that
    ``1/3`` typed as ``0.333333333333`` finds it), or ``None``."""
    value = float(value)
    return next((b for b in sorted(budgets) if abs(b - value) <= 1e-9 * max(abs(b), abs(value))), None)


def as_fraction(value: float | Fraction) -> Fraction:
    """The simple fraction a user most likely meant by ``value`` (``0.1`` is 1/10, ``1/3`` is 1/3).

    Floats are matched to a fraction with a denominator of at most 10**6 when it equals them to 1e-12 relative
    precision; other floats are taken exactly.
    """
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    exact = Fraction(float(value))
    simple = exact.limit_denominator(10**6)
    return simple if abs(simple - exact) <= 1e-12 * abs(exact) else exact


def geometric_budgets(min_budget: float, max_budget: float, eta: float) -> list[float]:
    """The budgets ``max_budget * eta**-k`` that are not below ``min_budget``, smallest first.

    The arithmetic is exact on the fractions the user meant: ``(0.001, 1, 10)`` gives the four budgets
    0.001, 0.01, 0.1 and 1 (a float rounding error must not drop a stage), and ``(1/16, 1, 4)`` gives
    1/16, 1/4 and 1 exactly.

    Raises
    ------
    TypeError
        When a budget or ``eta`` is not a real number (a bool included).
    ValueError
        When the budgets are not positive, ``min_budget > max_budget`` or ``eta <= 1``.
    """
    # Named here: the comparisons below would fail on a str or None with a message naming no parameter.
    for name, value in (("min_budget", min_budget), ("max_budget", max_budget), ("eta", eta)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {value!r}")
    if not (min_budget > 0 and max_budget > 0 and math.isfinite(max_budget)):
        raise ValueError(f"budgets must be positive and finite, got min_budget={min_budget}, max_budget={max_budget}")
    if min_budget > max_budget * (1 + float(_REL_TOL)):
        raise ValueError(f"min_budget ({min_budget}) must not exceed max_budget ({max_budget})")
    if not (eta > 1 and math.isfinite(eta)):
        raise ValueError(f"eta must be a finite number greater than 1, got {eta}")
    low, high, ratio = as_fraction(min_budget), as_fraction(max_budget), as_fraction(eta)
    # How many times eta fits into max/min: the floor of a logarithm, corrected for rounding both ways.
    n_steps = max(int(math.floor(math.log(high / low) / math.log(ratio))), 0)
    if n_steps > _MAX_STAGES:  # exact powers of an eta this close to 1 would take minutes, for no usable schedule
        raise ValueError(f"eta={eta} is too close to 1 for budgets from {min_budget} to {max_budget}: they would "
                         f"make {n_steps + 1} stages (at most {_MAX_STAGES + 1})")
    floor = low * (1 - _REL_TOL)
    while high / ratio ** (n_steps + 1) >= floor:
        n_steps += 1
    while n_steps > 0 and high / ratio**n_steps < floor:
        n_steps -= 1
    budgets = [float(high / ratio**k) for k in range(n_steps, -1, -1)]
    if budgets[0] < min_budget:  # a hair below it (within the tolerance): an eta like sqrt(10) is not exact
        budgets[0] = float(min_budget)
    return budgets
