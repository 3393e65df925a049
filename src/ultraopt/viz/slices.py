"""Slices: the loss against each hyperparameter, one panel per hyperparameter."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ultraopt.hdl.configs import finite_values
from ultraopt.learning.encoding import SpaceEncoder
from ultraopt.viz._common import budget_title, resolve_budget, successful_trials

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ultraopt.result import FMinResult

__all__ = ["plot_slices", "plotted_hyperparameters"]

#: Half the width of the random spread of points around a category, so that equal values do not hide each other.
CATEGORY_JITTER = 0.15


def plotted_hyperparameters(result: FMinResult, params: Sequence[str] | None = None) -> list[str]:
    """``params`` (checked against the space), or every hyperparameter of the space that is not a constant."""
    encoder = SpaceEncoder(result.config_space)
    if params is None:
        return [dim.name for dim in encoder.dimensions if dim.kind != "constant"]
    unknown = [name for name in params if name not in encoder.names]
    if unknown:
        raise ValueError(f"unknown hyperparameter(s) {unknown}; the space has {encoder.names}")
    return list(params)


def plot_slices(
    result: FMinResult,
    params: Sequence[str] | None = None,
    budget: float | None = None,
    axes: Sequence[Axes] | None = None,
    n_cols: int = 3,
) -> np.ndarray:
    """Plot the loss of each successful trial against the value of each hyperparameter.

    Numerical hyperparameters use their own scale (log where the space says log); categorical and ordinal ones
    put each option at its index, with the points spread a little sideways so that they do not overlap. A
    trial appears in a panel only where the hyperparameter is active. Colour is the trial's order.

    Parameters
    ----------
    result : FMinResult
    params : sequence of str, optional
        The hyperparameters, in panel order; every non-constant one by default.
    budget : float, optional
        Whose trials to show; the largest budget with a successful trial by default.
    axes : sequence of matplotlib Axes, optional
        One per hyperparameter; a new figure with ``n_cols`` panels per row by default.
    n_cols : int
        Panels per row of a new figure.

    Returns
    -------
    ndarray of matplotlib.axes.Axes
        One per hyperparameter, in order. Each holds one scatter whose points are ``(value, loss)``
        (``(index + jitter, loss)`` for categories).
    """
    import matplotlib.pyplot as plt

    names = plotted_hyperparameters(result, params)
    budget = resolve_budget(result, budget)
    trials = successful_trials(result, budget) if budget is not None else []
    if axes is None:
        cols = max(1, min(n_cols, len(names)))
        rows = max(1, math.ceil(len(names) / cols))
        _, grid = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), sharey=True, squeeze=False,
                               layout="constrained")
        for extra in grid.flat[len(names):]:
            extra.set_visible(False)
        axes = list(grid.flat[: len(names)])
    elif len(axes) != len(names):
        raise ValueError(f"got {len(axes)} axes for {len(names)} hyperparameters")
    encoder = SpaceEncoder(result.config_space)
    matrix = encoder.encode_many([trial.config for trial in trials])
    losses = np.array([trial.loss for trial in trials], dtype=float)
    order = np.arange(len(trials))
    jitter = np.random.default_rng(0).uniform(-CATEGORY_JITTER, CATEGORY_JITTER, len(trials))
    scatter = None
    for ax, name in zip(axes, names):
        column = encoder.names.index(name)
        dim, hp = encoder.dimensions[column], encoder.hyperparameters[column]
        active = ~np.isnan(matrix[:, column])
        if dim.is_numerical:
            x: Any = np.array([trial.config[name] for trial, on in zip(trials, active) if on], dtype=float)
            if dim.log:
                ax.set_xscale("log")
        else:
            x = matrix[active, column] + jitter[active]
            options = finite_values(hp) or []
            ax.set_xticks(range(len(options)), [str(option) for option in options])
            ax.set_xlim(-0.5, len(options) - 0.5)
        scatter = ax.scatter(x, losses[active], c=order[active], cmap="viridis", s=14, alpha=0.8,
                             vmin=0, vmax=max(len(trials) - 1, 1))
        ax.set_xlabel(name)
        ax.set_ylabel("loss")
        ax.tick_params(axis="x", labelrotation=30 if not dim.is_numerical else 0)
    if axes and scatter is not None:
        figure = axes[0].figure
        figure.colorbar(scatter, ax=list(axes), label="trial", shrink=0.9)
        figure.suptitle(budget_title("loss against each hyperparameter", budget))
    return np.array(axes, dtype=object)
