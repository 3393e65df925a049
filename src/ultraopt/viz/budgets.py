"""Do small budgets rank configs like large ones? Spearman correlation of losses across budgets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ultraopt.multi_fidelity.budgets import format_budget
from ultraopt.trial import ConfigId
from ultraopt.viz._common import axes_or_new

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ultraopt.result import FMinResult

__all__ = ["plot_correlation_across_budgets", "rank_correlation_across_budgets"]

#: Fewer shared configs than this give no correlation (``nan``).
MIN_SHARED = 3


def rank_correlation_across_budgets(
    result: FMinResult, budgets: Sequence[float] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spearman's rank correlation between the losses of the same configs on two budgets, for each pair.

    A config is the same on two budgets when it keeps its ``config_id`` (successive halving promotes configs
    that way); when a config has several successful trials on one budget the last one counts.

    Parameters
    ----------
    result : FMinResult
    budgets : sequence of float, optional
        The budgets to compare; every budget with a successful trial by default.

    Returns
    -------
    rho, n_shared : DataFrame
        Square tables indexed by budget both ways. ``rho`` is ``nan`` on the diagonal and where fewer than
        :data:`MIN_SHARED` configs were evaluated on both budgets (or their losses are all equal); ``n_shared``
        counts the configs evaluated on both.
    """
    chosen = result.budgets_reached if budgets is None else [result.check_budget(b) for b in budgets]
    losses: dict[float, dict[ConfigId, float]] = {b: {} for b in chosen}
    for trial in result.trials:
        if trial.is_success and trial.budget in losses and trial.loss is not None:
            losses[trial.budget][trial.config_id] = trial.loss
    size = len(chosen)
    rho, shared = np.full((size, size), np.nan), np.zeros((size, size), dtype=int)
    for i in range(size):
        for j in range(i + 1, size):
            first, second = losses[chosen[i]], losses[chosen[j]]
            ids = sorted(first.keys() & second.keys())
            shared[i, j] = shared[j, i] = len(ids)
            a, b = np.array([first[k] for k in ids]), np.array([second[k] for k in ids])
            if len(ids) >= MIN_SHARED and np.ptp(a) > 0 and np.ptp(b) > 0:
                rho[i, j] = rho[j, i] = spearmanr(a, b).statistic
    index = pd.Index(chosen, name="budget")
    return pd.DataFrame(rho, index=index, columns=index), pd.DataFrame(shared, index=index, columns=index)


def plot_correlation_across_budgets(
    result: FMinResult, budgets: Sequence[float] | None = None, ax: Axes | None = None
) -> Axes:
    """Plot :func:`rank_correlation_across_budgets` as a lower-triangular heat map.

    Each cell shows Spearman's rho and the number of configs evaluated on both budgets. A high correlation
    between a small and the largest budget means the small budget is a good proxy: successive halving
    discards the right configs early.

    Parameters
    ----------
    result : FMinResult
    budgets : sequence of float, optional
        The budgets to compare; every budget with a successful trial by default.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Its image holds rho below the diagonal (``nan`` elsewhere); its texts read ``"rho\\nn=N"``.
    """
    rho, shared = rank_correlation_across_budgets(result, budgets)
    size = len(rho)
    if size < 2:  # a 1 x 1 picture with nothing in it, and matplotlib's warnings
        reached = ", ".join(format_budget(b) for b in rho.index) or "none"
        raise ValueError(f"a correlation across budgets needs two budgets with successful trials; this run has "
                         f"{reached}")
    ax = axes_or_new(ax, (1.6 + 1.1 * size, 1.2 + 0.9 * size))
    lower = np.where(np.tril(np.ones((size, size), dtype=bool), k=-1), rho.to_numpy(), np.nan)
    image = ax.imshow(lower, vmin=-1, vmax=1, cmap="RdBu_r")
    for i in range(size):
        for j in range(i):
            value = lower[i, j]
            text = "n/a" if np.isnan(value) else f"{value:.2f}"
            colour = "white" if abs(value) > 0.6 else "black"  # readable on the dark ends of the colour map
            ax.text(j, i, f"{text}\nn={shared.iat[i, j]}", ha="center", va="center", fontsize="small", color=colour)
    labels = [format_budget(b) for b in rho.index]
    ax.set_xticks(range(size), labels)
    ax.set_yticks(range(size), labels)
    ax.set_xlabel("budget")
    ax.set_ylabel("budget")
    ax.set_title("rank correlation of losses across budgets")
    ax.figure.colorbar(image, ax=ax, label="Spearman's rho")
    return ax
