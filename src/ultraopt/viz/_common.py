"""What the plots share: choosing a budget, picking trials, making axes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ultraopt.multi_fidelity.budgets import format_budget

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ultraopt.result import FMinResult
    from ultraopt.trial import Trial

__all__ = ["axes_or_new", "budget_title", "resolve_budget", "successful_trials"]


def resolve_budget(result: FMinResult, budget: float | None) -> float | None:
    """The budget a plot shows: ``budget`` itself (checked), or the largest budget with a successful trial."""
    return result.max_budget_reached if budget is None else result.check_budget(budget)


def successful_trials(result: FMinResult, budget: float | None) -> list[Trial]:
    """The successful trials on ``budget`` (on every budget when ``None``), in the order they finished."""
    return [t for t in result.trials if t.is_success and (budget is None or t.budget == budget)]


def budget_title(what: str, budget: float | None) -> str:
    """``"what (budget 1/9)"``, or ``what`` alone when there is no budget to name."""
    return what if budget is None else f"{what} (budget {format_budget(budget)})"


def axes_or_new(ax: Axes | None, figsize: tuple[float, float] = (7.0, 4.0)) -> Axes:
    """``ax`` itself, or the axes of a new figure of ``figsize`` inches."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=figsize)
    return new_ax

