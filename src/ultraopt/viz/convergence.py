"""Convergence: the loss of each trial and the best loss so far."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ultraopt.viz._common import axes_or_new, budget_title, resolve_budget, successful_trials

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ultraopt.result import FMinResult

__all__ = ["plot_convergence"]


def plot_convergence(
    result: FMinResult,
    budget: float | None = None,
    over: str = "iterations",
    ax: Axes | None = None,
    log_scale: bool = False,
) -> Axes:
    """Plot the losses of the successful trials on ``budget`` and the best loss so far.

    Parameters
    ----------
    result : FMinResult
        The run.
    budget : float, optional
        Which budget's trials to show; the largest budget with a successful trial by default.
    over : {"iterations", "time"}
        The x axis: the trial's position among the finished trials of that budget, or seconds since the run
        started (the trial's end time).
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    log_scale : bool
        Draw the loss on a log scale (losses must be positive).

    Returns
    -------
    matplotlib.axes.Axes
        The axes, whose first line is the best-so-far curve.
    """
    if over not in ("iterations", "time"):
        raise ValueError(f"over must be 'iterations' or 'time', got {over!r}")
    budget = resolve_budget(result, budget)
    trials = successful_trials(result, budget) if budget is not None else []
    ax = axes_or_new(ax)
    losses = np.array([trial.loss for trial in trials], dtype=float)
    if over == "time":
        start = result.start_time
        x: Any = np.array([trial.end_time for trial in trials], dtype=float) - start
        order = np.argsort(x, kind="stable")
        x, losses = x[order], losses[order]
        ax.set_xlabel("seconds since the start")
    else:
        x = np.arange(1, len(trials) + 1)
        ax.set_xlabel("trial")
    best = np.minimum.accumulate(losses) if len(losses) else losses
    ax.step(x, best, where="post", color="C0", label="best so far")
    ax.scatter(x, losses, s=12, color="C1", alpha=0.6, label="trial loss")
    if log_scale:
        ax.set_yscale("log")
    ax.set_ylabel("loss")
    ax.set_title(budget_title("convergence", budget))
    ax.legend(loc="best")  # where it hides the fewest points: a late poor trial may sit top right
    return ax
