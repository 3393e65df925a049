"""Plots and analysis of a run (matplotlib): each plot takes an FMinResult and returns the Axes it drew on.

``FMinResult`` has a thin method for each (``result.plot_convergence()``, ...).
"""

from ultraopt.viz.budgets import plot_correlation_across_budgets, rank_correlation_across_budgets
from ultraopt.viz.convergence import plot_convergence
from ultraopt.viz.hiplot import plot_hi
from ultraopt.viz.importance import hyperparameter_importance, plot_importance
from ultraopt.viz.parallel_coords import plot_parallel_coordinates
from ultraopt.viz.slices import plot_slices
from ultraopt.viz.space import plot_space, render_space, space_to_dot
from ultraopt.viz.timeline import (
    concurrency_over_time,
    finished_over_time,
    plot_concurrent_over_time,
    plot_finished_over_time,
)

__all__ = [
    "concurrency_over_time",
    "finished_over_time",
    "hyperparameter_importance",
    "plot_concurrent_over_time",
    "plot_convergence",
    "plot_correlation_across_budgets",
    "plot_finished_over_time",
    "plot_hi",
    "plot_importance",
    "plot_parallel_coordinates",
    "plot_slices",
    "plot_space",
    "rank_correlation_across_budgets",
    "render_space",
    "space_to_dot",
]
