"""The sections of the run report, each a function from a :class:`ReportedRun` to an HTML fragment."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from ultraopt.jsonable import plain_scalar
from ultraopt.multi_fidelity.budgets import format_budget
from ultraopt.report.html import Cell, Raw, esc, figure_png, format_number, image, table

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from ultraopt.result import FMinResult
    from ultraopt.trial import Trial

__all__ = ["ReportedRun", "importance", "optimum", "plots", "space", "summary", "trials"]

logger = logging.getLogger(__name__)

#: Parallel coordinates show at most this many of the best trials.
PARALLEL_TOP = 50
#: Slices and parallel coordinates show at most this many hyperparameters, the most important ones (a panel each
#: for 240 of them took minutes and 20 MB).
PLOTTED_MAX = 24


class ReportedRun:
    """The result a report shows, with what more than one section needs computed once.

    Parameters
    ----------
    result : FMinResult
    """

    def __init__(self, result: FMinResult) -> None:
        self.result = result

    @cached_property
    def importance(self) -> pd.DataFrame:
        """:func:`~ultraopt.viz.hyperparameter_importance` of the run (the plots of a wide space and the importance
        section both need it, and fitting its forest is the slow part of a report); ``ValueError`` when there are
        too few trials."""
        from ultraopt.viz import hyperparameter_importance

        return hyperparameter_importance(self.result)


def _note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def _card(label: str, value: Any) -> str:
    return f'<div class="card"><div class="label">{esc(label)}</div><div class="value">{esc(value)}</div></div>'


def summary(run: ReportedRun) -> str:
    """Counts, the best loss and config, what ran the run and how long it took."""
    result = run.result
    facts = result.summary()
    starts = [t.start_time for t in result.trials if t.start_time is not None]
    ends = [t.end_time for t in result.trials if t.end_time is not None]
    durations = [t.duration for t in result.trials if t.duration is not None]
    best = result.best_trial()
    cards = [
        _card("trials", facts["n_trials"]),
        _card("best loss", "-" if best is None else format_number(best.loss)),
        _card("largest budget reached", "-" if best is None else format_budget(best.budget)),
        _card("wall time", f"{max(ends) - min(starts):.4g} s" if starts and ends else "-"),
        _card("evaluation time (sum)", f"{sum(durations):.4g} s" if durations else "-"),
    ]
    rows: list[list[Any]] = [["status", ", ".join(f"{k}: {n}" for k, n in facts["status"].items()) or "-"],
                             ["trials per budget", ", ".join(f"{b}: {n}" for b, n in facts["budgets"].items()) or "-"]]
    rows += [[key.replace("_", " "), str(value)] for key, value in sorted(result.meta.items())
             if key != "hdl" and value is not None]
    if best is not None:
        rows.append(["best config", ", ".join(f"{name}={value!r}" for name, value in best.config.items())])
    return f'<div class="cards">{"".join(cards)}</div><h3>Run</h3>{table(None, rows)}'


def optimum(run: ReportedRun) -> str:
    """The optimum table of :meth:`FMinResult.optimum_table`, as HTML."""
    result = run.result
    if not result.budgets_reached:
        return _note(f"no successful trial among {len(result.trials)}")
    header, rows = result.optimum_rows()
    return table(header, rows, classes="optimum")


def _plot(title: str, caption: str, draw: Callable[[], Axes | np.ndarray]) -> str:
    """A plot as an embedded PNG, or a note saying why it could not be drawn."""
    try:
        png = figure_png(draw())
    except Exception as exc:  # a report shows what it can: one plot failing must not lose the others
        logger.warning("report: could not draw %s", title, exc_info=True)
        return f"<figure><h3>{esc(title)}</h3>{_note(f'could not draw this plot: {exc}')}</figure>"
    return f"<figure><h3>{esc(title)}</h3>{image(png, 'image/png', title, caption)}</figure>"


def plots(run: ReportedRun) -> str:
    """Convergence, timeline, budget correlation, slices and parallel coordinates."""
    result = run.result
    from ultraopt import viz
    from ultraopt.viz.importance import importance_budget

    if not result.budgets_reached:
        return _note("no successful trial: nothing to plot")
    model_budget = importance_budget(result)
    parts = [
        _plot("Convergence", "Loss of each trial on the largest budget reached and the best loss so far.",
              lambda: viz.plot_convergence(result)),
        _plot("Convergence over time", "The same against seconds since the start.",
              lambda: viz.plot_convergence(result, over="time")),
        _plot("Concurrent evaluations", "How many configs were evaluated at once.",
              lambda: viz.plot_concurrent_over_time(result)),
        _plot("Finished trials", "How many trials had finished (every status).",
              lambda: viz.plot_finished_over_time(result)),
    ]
    if len(result.budgets_reached) > 1:
        parts.append(_plot("Rank correlation across budgets",
                           "Spearman's rho between the losses of the same configs on two budgets, and their number.",
                           lambda: viz.plot_correlation_across_budgets(result)))
    budget_words = f"budget {format_budget(model_budget)}" if model_budget is not None else "every budget"
    params, which = _plotted_params(run)
    parts.append(_plot("Loss against each hyperparameter", f"Successful trials on {budget_words}{which}.",
                       lambda: viz.plot_slices(result, params=params, budget=model_budget)))
    parts.append(_plot("Parallel coordinates", f"The best trials (at most {PARALLEL_TOP}) on {budget_words}{which}.",
                       lambda: viz.plot_parallel_coordinates(result, params=params, budget=model_budget,
                                                             top=PARALLEL_TOP)))
    return f'<div class="plots">{"".join(parts)}</div>'


def _plotted_params(run: ReportedRun) -> tuple[list[str] | None, str]:
    """The hyperparameters the plots show (``None``: all of them), and words saying which, for wide spaces."""
    from ConfigSpace import Constant

    varying = [name for name, hp in run.result.config_space.items() if not isinstance(hp, Constant)]
    if len(varying) <= PLOTTED_MAX:
        return None, ""
    try:
        found = run.importance
    except ValueError:  # too few trials for importance: the first ones, in the space's order
        return varying[:PLOTTED_MAX], f"; the first {PLOTTED_MAX} of {len(varying)} hyperparameters"
    top = list(found.index[:PLOTTED_MAX])
    return top, f"; the {PLOTTED_MAX} most important of {len(varying)} hyperparameters"


def importance(run: ReportedRun) -> str:
    """The importance table and bar plot."""
    from ultraopt.viz import plot_importance

    result = run.result
    try:
        found = run.importance
    except ValueError as exc:
        return _note(f"no importance: {exc}")
    budget = found.attrs["budget"]
    rows = [[name, row["importance"], row["std"]] for name, row in found.iterrows()]
    words = (f"A random forest fitted to the {found.attrs['n_trials']} successful trials on budget "
             f"{format_budget(budget)}; each hyperparameter's share of the loss variance over the space that it "
             "explains on its own (functional ANOVA main effect), with its spread over the trees.")
    bars = _plot("Importance", "", lambda: plot_importance(result, table=found))
    return f"<p>{esc(words)}</p>" + table(["hyperparameter", "importance", "std"], rows) + bars


def space(run: ReportedRun) -> str:
    """The space as a picture and as the text tree."""
    result = run.result
    from ultraopt.hdl import draw_space
    from ultraopt.viz import render_space

    text = f"<pre>{esc(draw_space(result.config_space))}</pre>"
    try:
        picture, engine = render_space(result.config_space, "svg")
    except Exception as exc:  # the text tree is still there
        logger.warning("report: could not draw the space", exc_info=True)
        return _note(f"could not draw the space: {exc}") + text
    return image(picture, "image/svg+xml", "the search space", f"drawn with {engine}") + text


def _trial_row(trial: Trial, names: list[str], info_keys: list[str], start: float) -> list[Any]:
    iteration, stage, index = trial.config_id
    error: Any = ""
    if trial.error:
        headline = trial.error.strip().splitlines()[-1] if trial.error.strip() else trial.error  # the exception
        error = Cell(Raw(f"<details><summary>{esc(headline)}</summary><pre>{esc(trial.error)}</pre></details>"),
                     sort=headline)
    started = None if trial.start_time is None or math.isnan(start) else trial.start_time - start
    return [
        trial.trial_id,
        Cell(f"{iteration}-{stage}-{index}", sort=f"{iteration:09d}.{stage:04d}.{index:09d}"),
        Cell(format_budget(trial.budget), sort=trial.budget, classes="num"),
        Cell(trial.status.value, classes=f"status-{trial.status.value}"),
        trial.loss,
        started,
        trial.duration,
        trial.worker or "",
        trial.config_info.get("origin", ""),
        *[_config_cell(trial.config[name]) if name in trial.config else "" for name in names],
        *[_config_cell(plain_scalar(trial.info[key])) if key in trial.info else "" for key in info_keys],
        error,
    ]


def _config_cell(value: Any) -> Any:
    """Numbers stay numbers (right-aligned, sorted by value); bools, None and strings are shown as written."""
    if isinstance(value, (bool, str)) or value is None:
        return Cell(repr(value) if not isinstance(value, str) else value)
    return value


def trials(run: ReportedRun) -> str:
    """Every trial in a sortable, filterable table."""
    result = run.result
    names, info_keys = list(result.config_space), result.info_keys()
    header = ["trial", "config id", "budget", "status", "loss", "start [s]", "duration [s]", "worker", "origin",
              *names, *[f"info: {key}" for key in info_keys], "error"]
    start = result.start_time  # a property that scans every trial: once, not once per row
    rows = [_trial_row(trial, names, info_keys, start) for trial in result.trials]
    toolbar = ('<div class="toolbar"><input id="trial-filter" type="search" placeholder="filter rows by text" '
               'aria-label="filter trials"><span id="trial-count"></span>'
               "<span class=\"note\">click a column header to sort</span></div>")
    return toolbar + f'<div class="table-wrap">{table(header, rows, table_id="trials-table")}</div>'
