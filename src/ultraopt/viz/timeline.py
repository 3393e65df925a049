"""The run over wall time: how many configs ran at once, and how many trials had finished."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ultraopt.multi_fidelity.budgets import format_budget
from ultraopt.viz._common import axes_or_new, resolve_budget

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ultraopt.result import FMinResult
    from ultraopt.trial import Trial

Series = Callable[["FMinResult", "float | None"], "tuple[np.ndarray, np.ndarray]"]

__all__ = ["concurrency_over_time", "finished_over_time", "plot_concurrent_over_time", "plot_finished_over_time"]


def _timed_trials(result: FMinResult, budget: float | None) -> list[Trial]:
    """Finished trials with a start and an end time, on ``budget`` (all budgets when ``None``)."""
    return [
        t for t in result.trials
        if t.start_time is not None and t.end_time is not None and (budget is None or t.budget == budget)
    ]


def concurrency_over_time(result: FMinResult, budget: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """How many trials ran at once, as a step function of seconds since the run started.

    Parameters
    ----------
    result : FMinResult
    budget : float, optional
        Count only the trials on this budget; every trial by default.

    Returns
    -------
    times, counts : ndarray
        ``counts[i]`` trials were running from ``times[i]`` until ``times[i + 1]``. A trial that ends when
        another starts is not counted twice.
    """
    trials = _timed_trials(result, budget)
    if not trials:
        return np.zeros(0), np.zeros(0, dtype=int)
    starts = np.array([t.start_time for t in trials], dtype=float)
    ends = np.array([t.end_time for t in trials], dtype=float)
    times = np.concatenate([ends, starts]) - result.start_time
    steps = np.concatenate([-np.ones(len(ends), dtype=int), np.ones(len(starts), dtype=int)])
    order = np.lexsort((steps, times))  # by time; at equal times the ends (-1) first
    times, counts = times[order], np.cumsum(steps[order])
    last_of_each_time = np.append(times[1:] != times[:-1], True)
    return times[last_of_each_time], counts[last_of_each_time]


def finished_over_time(result: FMinResult, budget: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """How many trials had finished, at each end time (seconds since the run started).

    Returns
    -------
    times, counts : ndarray
        ``counts[i]`` trials had finished at ``times[i]``; the last count is the number of timed trials.
    """
    ends = np.sort([t.end_time for t in _timed_trials(result, budget)]).astype(float) - result.start_time
    return ends, np.arange(1, len(ends) + 1)


def _plot_per_budget(
    result: FMinResult, budget: float | None, by_budget: bool, ax: Axes | None, series: Series, ylabel: str,
    title: str,
) -> Axes:
    """One step line for ``budget`` (or all trials), then, with ``by_budget``, one per budget of the run."""
    ax = axes_or_new(ax)
    if budget is not None:
        budget = resolve_budget(result, budget)
    parts: list[tuple[float | None, str]] = [(budget, "all budgets" if budget is None else "")]
    used = sorted({t.budget for t in result.trials})
    if budget is None and by_budget and len(used) > 1:
        parts += [(b, f"budget {format_budget(b)}") for b in used]
    for index, (which, label) in enumerate(parts):
        times, counts = series(result, which)
        ax.step(times, counts, where="post", color=f"C{index}", label=label or None, lw=2 if index == 0 else 1)
    ax.set_xlabel("seconds since the start")
    ax.set_ylabel(ylabel)
    ax.set_title(title if budget is None else f"{title} (budget {format_budget(budget)})")
    if len(parts) > 1:
        ax.legend(loc="best", fontsize="small")
    return ax


def plot_concurrent_over_time(
    result: FMinResult, budget: float | None = None, by_budget: bool = False, ax: Axes | None = None
) -> Axes:
    """Plot how many configs were evaluated at once over the run.

    Parameters
    ----------
    result : FMinResult
    budget : float, optional
        Only the trials on this budget; every trial by default.
    by_budget : bool
        Without ``budget``, also draw one line per budget the run used.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Each line holds :func:`concurrency_over_time` of its trials.
    """
    return _plot_per_budget(result, budget, by_budget, ax, concurrency_over_time, "configs running",
                            "concurrent evaluations")


def plot_finished_over_time(
    result: FMinResult, budget: float | None = None, by_budget: bool = True, ax: Axes | None = None
) -> Axes:
    """Plot the number of finished trials over the run (the throughput).

    Parameters
    ----------
    result : FMinResult
    budget : float, optional
        Only the trials on this budget; every trial by default.
    by_budget : bool
        Without ``budget``, also draw one line per budget the run used.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Each line holds :func:`finished_over_time` of its trials.
    """
    return _plot_per_budget(result, budget, by_budget, ax, finished_over_time, "trials finished", "finished trials")
