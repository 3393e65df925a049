"""Budgets as people write them: ``1/16`` rather than ``0.0625``."""

from __future__ import annotations

from fractions import Fraction

__all__ = ["format_budget"]


def format_budget(budget: float) -> str:
    """Write ``budget`` as an integer, a simple fraction (``1/16``, ``1/3``) or a short decimal.

    A fraction is used when one with a denominator of at most 1000 matches the float to 1e-9 relative precision.
    """
    budget = float(budget)
    if budget == int(budget) and abs(budget) < 1e15:
        return str(int(budget))
    fraction = Fraction(budget).limit_denominator(1000)
    if abs(float(fraction) - budget) <= 1e-9 * abs(budget) and fraction.denominator > 1:
        return f"{fraction.numerator}/{fraction.denominator}"
    return f"{budget:.6g}"
