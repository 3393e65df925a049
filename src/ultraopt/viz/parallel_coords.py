"""Parallel coordinates: the best trials as lines across one vertical axis per hyperparameter and the loss."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from ConfigSpace.hyperparameters import NumericalHyperparameter

from ultraopt.hdl.configs import finite_values
from ultraopt.learning.encoding import SpaceEncoder
from ultraopt.viz._common import axes_or_new, budget_title, resolve_budget, successful_trials
from ultraopt.viz.slices import plotted_hyperparameters

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ultraopt.result import FMinResult
    from ultraopt.trial import Trial

__all__ = ["best_trials", "plot_parallel_coordinates"]


def best_trials(result: FMinResult, budget: float | None, top: int | float) -> list[Trial]:
    """The ``top`` successful trials of ``budget`` with the lowest losses, best first.

    ``top`` is a count (an int), or a fraction of the trials (a float in ``(0, 1]``; at least one trial).
    """
    trials = sorted(successful_trials(result, budget), key=lambda t: math.inf if t.loss is None else t.loss)
    if isinstance(top, float) and 0 < top <= 1:
        count = max(1, round(top * len(trials)))
    elif isinstance(top, int) and not isinstance(top, bool) and top > 0:
        count = top
    else:
        raise ValueError(f"top must be a positive int or a fraction in (0, 1], got {top!r}")
    return trials[:count]


def _tick_labels(encoder: SpaceEncoder, column: int) -> tuple[str, str]:
    """What the bottom and top of a hyperparameter's axis stand for."""
    hp = encoder.hyperparameters[column]
    if isinstance(hp, NumericalHyperparameter):
        return f"{hp.lower:.4g}", f"{hp.upper:.4g}"
    options = finite_values(hp) or [""]
    return str(options[0]), str(options[-1])


def plot_parallel_coordinates(
    result: FMinResult,
    budget: float | None = None,
    top: int | float = 50,
    params: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw each of the best trials as a line through one vertical axis per hyperparameter, then the loss.

    Every axis runs from the bottom of the hyperparameter's range (its first option) to the top (its last),
    on the hyperparameter's own scale (log where the space says log). The loss axis runs from the lowest to
    the highest loss shown. A dot marks each value, and a line breaks where a hyperparameter is inactive (the
    dots still show every loss). Darker lines have lower losses (viridis, from purple to yellow) and are drawn
    on top.

    Parameters
    ----------
    result : FMinResult
    budget : float, optional
        Whose trials to show; the largest budget with a successful trial by default.
    top : int or float
        How many of the best trials to show (an int), or which fraction of them (a float in ``(0, 1]``).
    params : sequence of str, optional
        The hyperparameters, left to right; every non-constant one by default.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Its trial lines have the gid ``"trial <trial_id>"``; their y data are the positions in ``[0, 1]`` on
        each axis (``nan`` where inactive), the last one the scaled loss.
    """
    import matplotlib.pyplot as plt

    names = plotted_hyperparameters(result, params)
    budget = resolve_budget(result, budget)
    trials = best_trials(result, budget, top) if budget is not None else []
    ax = axes_or_new(ax, (max(6.0, 1.3 * (len(names) + 1)), 4.5))
    encoder = SpaceEncoder(result.config_space)
    columns = [encoder.names.index(name) for name in names]
    matrix = encoder.encode_many([trial.config for trial in trials])[:, columns]
    for position, column in enumerate(columns):  # categories and ordinals: index -> [0, 1]
        n_values = encoder.dimensions[column].n_values or 0
        if not encoder.dimensions[column].is_numerical:
            matrix[:, position] = matrix[:, position] / max(n_values - 1, 1)
    losses = np.array([trial.loss for trial in trials], dtype=float)
    low, high = (losses.min(), losses.max()) if len(losses) else (0.0, 1.0)
    scaled = (losses - low) / (high - low) if high > low else np.zeros_like(losses)
    colours = plt.get_cmap("viridis")(scaled)
    x = np.arange(len(columns) + 1)
    for index in reversed(range(len(trials))):  # worst first, so the best end up on top
        line, = ax.plot(x, np.append(matrix[index], scaled[index]), color=colours[index], lw=1.2, alpha=0.8,
                        marker="o", markersize=3)
        line.set_gid(f"trial {trials[index].trial_id}")
    for position, column in enumerate(columns):
        ax.axvline(position, color="0.4", lw=0.8)
        bottom, top_label = _tick_labels(encoder, column)
        ax.annotate(bottom, (position, 0), xytext=(3, -2), textcoords="offset points", fontsize="x-small", va="top")
        ax.annotate(top_label, (position, 1), xytext=(3, 2), textcoords="offset points", fontsize="x-small")
    ax.axvline(len(columns), color="0.4", lw=0.8)
    ax.annotate(f"{low:.4g}", (len(columns), 0), xytext=(3, -2), textcoords="offset points", fontsize="x-small",
                va="top")
    ax.annotate(f"{high:.4g}", (len(columns), 1), xytext=(3, 2), textcoords="offset points", fontsize="x-small")
    ax.set_xticks(x, [*names, "loss"], rotation=30, ha="right")
    ax.set_yticks([])
    ax.set_ylim(-0.08, 1.08)
    ax.set_xlim(-0.2, len(columns) + 0.5)
    ax.set_title(budget_title(f"parallel coordinates of the {len(trials)} best trials", budget))
    return ax
