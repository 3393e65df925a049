"""An interactive parallel-coordinates view through HiPlot, when it is installed (``pip install hiplot``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ultraopt.viz._common import successful_trials

if TYPE_CHECKING:
    from ultraopt.result import FMinResult

__all__ = ["plot_hi"]


def plot_hi(result: FMinResult, budget: float | None = None) -> Any:
    """A HiPlot experiment with one point per successful trial: its id, budget, loss and hyperparameters.

    Display it in a notebook with ``.display()`` or write a page with ``.to_html(path)``.

    Parameters
    ----------
    result : FMinResult
    budget : float, optional
        Only the trials on this budget; every successful trial by default (filter by the ``budget`` column
        in HiPlot).

    Returns
    -------
    hiplot.Experiment

    Raises
    ------
    ImportError
        When hiplot is not installed.
    """
    try:
        import hiplot
    except ImportError as exc:
        raise ImportError("plot_hi needs the hiplot package: pip install hiplot") from exc
    if budget is not None:
        budget = result.check_budget(budget)
    rows = [
        {"trial_id": trial.trial_id, "budget": trial.budget, "loss": trial.loss, **trial.config}
        for trial in successful_trials(result, budget)
    ]
    return hiplot.Experiment.from_iterable(rows)
