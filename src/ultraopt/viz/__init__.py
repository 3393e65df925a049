"""Plots of a run (matplotlib): each function takes an FMinResult and returns the Axes it drew on."""

from ultraopt.viz.convergence import plot_convergence

__all__ = ["plot_convergence"]
