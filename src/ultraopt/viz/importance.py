"""Hyperparameter importance of a run: the table and the bar plot (numerics in :mod:`ultraopt.learning.importance`)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ultraopt.learning.encoding import SpaceEncoder
from ultraopt.learning.importance import fanova_importance
from ultraopt.viz._common import axes_or_new, budget_title, successful_trials

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ultraopt.result import FMinResult

__all__ = ["MIN_TRIALS_FOR_DEFAULT_BUDGET", "hyperparameter_importance", "importance_budget", "plot_importance"]

#: The default budget of the importance is the largest one with at least this many successful trials.
MIN_TRIALS_FOR_DEFAULT_BUDGET = 10


def importance_budget(result: FMinResult) -> float | None:
    """The largest budget with at least :data:`MIN_TRIALS_FOR_DEFAULT_BUDGET` successful trials, else the budget
    with the most successful trials (the largest of those), else ``None``.

    Hyperband runs few configs on the largest budget; a model of 3 trials says little.
    """
    counts = Counter(trial.budget for trial in successful_trials(result, None))
    if not counts:
        return None
    enough = [budget for budget, n in counts.items() if n >= MIN_TRIALS_FOR_DEFAULT_BUDGET]
    return max(enough) if enough else max(counts, key=lambda budget: (counts[budget], budget))


def hyperparameter_importance(
    result: FMinResult, budget: float | None = None, random_state: int = 0, **kwargs: int
) -> pd.DataFrame:
    """Which hyperparameters explain the loss: a random-forest functional-ANOVA estimate.

    Parameters
    ----------
    result : FMinResult
    budget : float, optional
        Whose successful trials to model; :func:`importance_budget` by default.
    random_state : int
        Seed of the forest and of the sample of the space.
    **kwargs
        ``n_trees``, ``n_grid``, ``n_background`` of :func:`ultraopt.learning.importance.fanova_importance`.

    Returns
    -------
    DataFrame
        Indexed by hyperparameter (constants left out), most important first, with the columns
        ``importance`` (the fraction of the loss variance over the space that the hyperparameter explains on its
        own, in ``[0, 1]``) and ``std`` (its spread over the forest's trees). ``attrs`` holds the ``budget``
        and ``n_trials``.

    Raises
    ------
    ValueError
        When the budget has fewer than 2 successful trials.
    """
    budget = importance_budget(result) if budget is None else result.check_budget(budget)
    trials = successful_trials(result, budget) if budget is not None else []
    encoder = SpaceEncoder(result.config_space)
    found = fanova_importance(
        encoder.encode_many([trial.config for trial in trials]),
        np.array([trial.loss for trial in trials], dtype=float),
        encoder,
        random_state=random_state,
        **kwargs,
    )
    table = pd.DataFrame({"importance": found.importance, "std": found.std}, index=pd.Index(found.names,
                                                                                             name="hyperparameter"))
    table = table.loc[[dim.name for dim in encoder.dimensions if dim.kind != "constant"]]
    table = table.sort_values("importance", ascending=False, kind="stable")
    table.attrs.update(budget=budget, n_trials=found.n_trials)
    return table


def plot_importance(
    result: FMinResult,
    budget: float | None = None,
    ax: Axes | None = None,
    table: pd.DataFrame | None = None,
) -> Axes:
    """Plot :func:`hyperparameter_importance` as horizontal bars, the most important on top.

    Parameters
    ----------
    result : FMinResult
    budget : float, optional
        Whose trials to model; :func:`importance_budget` by default.
    ax : matplotlib Axes, optional
    table : DataFrame, optional
        An importance table already computed (the HTML report reuses its table).

    Returns
    -------
    matplotlib.axes.Axes
        One bar per hyperparameter whose width is its importance, with the spread over trees as error bars.
    """
    if table is None:
        table = hyperparameter_importance(result, budget)
    ax = axes_or_new(ax, (6.5, 0.9 + 0.35 * max(len(table), 2)))
    positions = np.arange(len(table))[::-1]  # the first row on top
    ax.barh(positions, table["importance"], xerr=table["std"], color="C0", alpha=0.85,
            error_kw={"ecolor": "0.3", "capsize": 3})
    ax.set_yticks(positions, list(table.index))
    ax.set_xlabel("fraction of the loss variance explained (main effect)")
    ax.set_xlim(0, max(1e-9, float((table["importance"] + table["std"]).max()) * 1.1))
    title = budget_title("hyperparameter importance", table.attrs.get("budget"))
    ax.set_title(f"{title}, {table.attrs.get('n_trials', '?')} trials")
    return ax
