"""The result of a run: every trial, the optimum per budget, tables, exports and plots."""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from ConfigSpace import ConfigurationSpace

from ultraopt.checks import is_number
from ultraopt.files import write_text_atomically
from ultraopt.jsonable import json_text, plain_scalar
from ultraopt.multi_fidelity.budgets import format_budget, match_budget
from ultraopt.text_table import render_table
from ultraopt.trial import Trial, TrialStatus

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["FMinResult"]

_FORMAT_VERSION = 1
# The columns of to_dataframe before the config columns.
_TRIAL_COLUMNS = ["trial_id", "iteration", "config_id", "budget", "status", "loss", "origin", "start_time",
                  "end_time", "duration", "worker", "attempt", "error"]
_INACTIVE = object()  # a hyperparameter's place in a trial where it was inactive
_SCALARS = (bool, int, float, str)


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class FMinResult:
    """Every trial of a run, and what can be read from them.

    Parameters
    ----------
    config_space : ConfigurationSpace
        The space the run searched.
    budgets : sequence of float
        The budgets of the run's schedule.
    trials : iterable of Trial, optional
        Finished trials, in the order they finished.
    meta : dict, optional
        JSON-able facts about the run (optimizer, seed, strategy, ...), kept in exports.

    unfinished : iterable of Trial, optional
        Trials created but not finished when the run was read from its storage: still running in a live run, or
        stopped before they finished (they run again when the run is resumed).
    Attributes
    ----------
    trials : list of Trial
        Every finished trial (cancelled ones included), in the order they finished.
    unfinished : list of Trial
        Trials of a run read from storage that had not finished when it was read.
    """

    def __init__(
        self,
        config_space: ConfigurationSpace,
        budgets: Sequence[float] = (1.0,),
        trials: Iterable[Trial] = (),
        meta: Mapping[str, Any] | None = None,
        unfinished: Iterable[Trial] = (),
    ):
        self.config_space = config_space
        self.budgets = sorted(float(budget) for budget in budgets)
        self.trials: list[Trial] = []
        self.meta: dict[str, Any] = dict(meta or {})
        self.unfinished = list(unfinished)
        self._best: dict[float, Trial] = {}
        for trial in trials:
            self.add_trial(trial)

    # ------------------------------------------------------------------ building
    def add_trial(self, trial: Trial) -> None:
        """Add a finished trial and update the optimum of its budget."""
        assert trial.status.is_finished, trial
        self.trials.append(trial)
        if trial.is_success:
            best = self._best.get(trial.budget)
            if best is None or trial.loss < best.loss:  # type: ignore[operator]
                self._best[trial.budget] = trial

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self.trials)

    @property
    def start_time(self) -> float:
        """The earliest start time of any trial (``nan`` when there is none)."""
        starts = [trial.start_time for trial in self.trials if trial.start_time is not None]
        return min(starts) if starts else math.nan

    @property
    def budgets_reached(self) -> list[float]:
        """Budgets with at least one successful trial, smallest first."""
        return sorted(self._best)

    @property
    def max_budget_reached(self) -> float | None:
        """The largest budget with a successful trial, or ``None``."""
        return max(self._best) if self._best else None

    @property
    def all_budgets(self) -> list[float]:
        """The schedule's budgets and any other a trial ran on, smallest first."""
        return sorted(set(self.budgets) | {trial.budget for trial in self.trials})

    def check_budget(self, budget: float) -> float:
        """The run's budget that ``budget`` denotes (equal up to float rounding).

        Raises
        ------
        ValueError
            When it is none of the run's budgets (the message lists them).
        """
        found = match_budget(budget, self.all_budgets)
        if found is None:
            listed = ", ".join(format_budget(b) for b in self.all_budgets) or "none"
            raise ValueError(f"budget {format_budget(budget)} is not a budget of this run (its budgets: {listed})")
        return found

    def best_trial(self, budget: float | None = None) -> Trial | None:
        """The successful trial with the lowest loss on ``budget`` (the largest budget reached by default);
        ``None`` when that budget has none.

        Raises
        ------
        ValueError
            When ``budget`` is none of the run's budgets.
        """
        if budget is None:
            budget = self.max_budget_reached
            return None if budget is None else self._best[budget]
        if (best := self._best.get(float(budget))) is not None:  # the Master's and callbacks' way, on every trial
            return best
        return self._best.get(self.check_budget(budget))

    @property
    def best_config(self) -> dict[str, Any] | None:
        """The config of :meth:`best_trial` on the largest budget reached."""
        trial = self.best_trial()
        return None if trial is None else dict(trial.config)

    @property
    def best_loss(self) -> float | None:
        """The loss of :meth:`best_trial` on the largest budget reached."""
        trial = self.best_trial()
        return None if trial is None else trial.loss

    @property
    def incumbents(self) -> dict[float, dict[str, Any]]:
        """Budget to the best config on that budget."""
        return {budget: dict(trial.config) for budget, trial in sorted(self._best.items())}

    @property
    def incumbent_performances(self) -> dict[float, float]:
        """Budget to the best loss on that budget."""
        return {budget: float(trial.loss) for budget, trial in sorted(self._best.items())}  # type: ignore[arg-type]

    def trials_with_status(self, *statuses: TrialStatus) -> list[Trial]:
        """The trials whose status is one of ``statuses``."""
        return [trial for trial in self.trials if trial.status in statuses]

    def summary(self) -> dict[str, Any]:
        """``n_trials``: the finished trials (``len(trials)``); ``status``: their counts per status, and under
        ``"unfinished"`` the trials of a checkpoint created but not finished (running, or cut short by a killed
        run), which ``n_trials`` does not count; ``budgets``: evaluations per budget (cancelled trials left out:
        they never ran to an end); ``best_loss``."""
        return {
            "n_trials": len(self.trials),
            "status": {
                **{status.value: n for status in TrialStatus if (n := len(self.trials_with_status(status)))},
                **({"unfinished": len(self.unfinished)} if self.unfinished else {}),
            },
            "budgets": {format_budget(b): n for b, n in sorted(self._evaluations_per_budget().items())},
            "best_loss": self.best_loss,
        }

    # ------------------------------------------------------------------ tables
    def optimum_rows(self) -> tuple[list[str], list[list[str] | None]]:
        """The cells of the optimum table: a header and rows of text (``None`` is a separator line).

        One column per budget evaluated on: each hyperparameter's value in the best config (``-`` where
        inactive), then the optimal loss and the number of configs evaluated on that budget (cancelled trials left
        out). A budget whose trials all failed has an empty column with ``none`` as its optimal loss.
        """
        counts = self._evaluations_per_budget()
        # a budget whose trials all failed shows too: left out, the largest budget of a run vanished from the table
        budgets = sorted(set(self.budgets_reached) | set(counts))
        best = [self._best.get(budget) for budget in budgets]
        rows: list[list[str] | None] = [
            [name] + ["" if trial is None else _format_value(trial.config[name]) if name in trial.config else "-"
                      for trial in best]
            for name in self.config_space
        ]
        rows.append(None)
        rows.append(["Optimal Loss"] + ["none" if trial is None else f"{trial.loss:.6g}" for trial in best])
        rows.append(["Num Configs"] + [str(counts[budget]) for budget in budgets])
        header = ["HyperParameters"] + [f"budget {format_budget(budget)}" for budget in budgets]
        return header, rows

    def _evaluations_per_budget(self) -> Counter[float]:
        return Counter(t.budget for t in self.trials if t.status is not TrialStatus.CANCELLED)

    def optimum_table(self) -> str:
        """The best config per budget as a text table; inactive hyperparameters show as ``-``."""
        if not self.budgets_reached:
            return f"no successful trial among {len(self.trials)}"
        return render_table(*self.optimum_rows())

    def __str__(self) -> str:
        return self.optimum_table()

    def __repr__(self) -> str:
        return f"FMinResult(n_trials={len(self.trials)}, best_loss={self.best_loss}, budgets={self.budgets_reached})"

    def to_dataframe(self) -> pd.DataFrame:
        """One row per trial: ids, budget, status, loss (NaN without one), times, worker, origin, error, a
        ``config:<name>`` column per hyperparameter of the space (missing where inactive), and an ``info:<key>``
        column per entry the objective returned beside the loss (missing where it did not; entries that are not
        scalars, such as arrays, are left to :meth:`to_dict`).

        A config column holds the values the objective got: an integer (or boolean) hyperparameter inactive in
        some trials gets a nullable ``Int64`` (``boolean``) column, so that its values stay integers (``15``, not
        ``15.0``, in a CSV export); a choice whose options differ in type (``[None, 5, 10]``, ``[2, 0.1]``) gets an
        ``object`` column of its options as written, where an active ``None`` is ``None`` and an inactive cell
        NaN."""
        records = []
        for trial in self.trials:
            record: dict[str, Any] = {
                "trial_id": trial.trial_id,
                "iteration": trial.config_id[0],
                "config_id": trial.config_id,
                "budget": trial.budget,
                "status": trial.status.value,
                "loss": math.nan if trial.loss is None else trial.loss,  # a float column even if none succeeded
                "origin": trial.config_info.get("origin"),
                "start_time": trial.start_time,
                "end_time": trial.end_time,
                "duration": trial.duration,
                "worker": trial.worker,
                "attempt": trial.attempt,
                "error": trial.error,
            }
            records.append(record)
        import pandas as pd  # here, not at the top: a run that never makes a table need not load pandas

        frame = pd.DataFrame.from_records(records, columns=_TRIAL_COLUMNS)
        if not records:  # pandas gives an empty frame object columns: keep the numbers numbers
            frame = frame.astype({name: float for name in ("budget", "loss", "start_time", "end_time", "duration")})
        seen = dict.fromkeys(name for trial in self.trials for name in trial.config)
        names = list(self.config_space) + [name for name in seen if name not in self.config_space]
        # pandas makes floats of ints beside a missing value and NaN of None: build each column from the values
        columns = {f"config:{name}": _config_column([trial.config.get(name, _INACTIVE) for trial in self.trials])
                   for name in names}
        for key in self.info_keys():
            columns[f"info:{key}"] = _config_column(
                [plain_scalar(trial.info[key]) if key in trial.info else _INACTIVE for trial in self.trials])
        return pd.concat([frame, pd.DataFrame(columns, index=frame.index)], axis=1)

    def info_keys(self) -> list[str]:
        """The entries the objectives returned beside the loss (``info``) that are scalars wherever they occur,
        in order of first appearance: the extra columns of :meth:`to_dataframe` and of the report's trials."""
        keys: dict[str, bool] = {}
        for trial in self.trials:
            for key, value in trial.info.items():
                value = plain_scalar(value)
                keys[key] = keys.get(key, True) and (value is None or isinstance(value, _SCALARS))
        return [key for key, scalar in keys.items() if scalar]

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The run as JSON-able data: the space, the budgets, the meta and every trial."""
        from ultraopt.hdl import space_to_json

        return {
            "format": "ultraopt-result",
            "version": _FORMAT_VERSION,
            "config_space": json.loads(space_to_json(self.config_space)),
            "budgets": self.budgets,
            "meta": self.meta,
            "trials": [trial.to_dict() for trial in self.trials],
            "unfinished": [trial.to_dict() for trial in self.unfinished],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FMinResult:
        """Rebuild a result written by :meth:`to_dict`."""
        from ultraopt.hdl import space_from_json
        from ultraopt.hdl.configs import check_config

        if not isinstance(data, Mapping) or data.get("format") != "ultraopt-result":
            raise ValueError("not an UltraOpt result: the 'format' entry is missing or different")
        if data.get("version") != _FORMAT_VERSION:
            raise ValueError(f"UltraOpt result format version {data.get('version')} is not {_FORMAT_VERSION}")
        _check_entries(data)
        try:
            space = space_from_json(json.dumps(data["config_space"]))
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"a damaged UltraOpt result: 'config_space' is not a search space ({exc})") from exc
        trials = [Trial.from_dict(item) for item in data["trials"]]
        unfinished = [Trial.from_dict(item) for item in data.get("unfinished", [])]
        seen: set[int] = set()
        for trial in trials + unfinished:  # a hand-edited value would fail only later, in a plot
            check_config(space, trial.config, what=f"a damaged UltraOpt result: trial {trial.trial_id}'s config")
            if trial.trial_id in seen:
                raise ValueError(f"a damaged UltraOpt result: two trials have the id {trial.trial_id}")
            seen.add(trial.trial_id)
        return cls(space, data["budgets"], trials, data.get("meta"), unfinished)

    def save(self, path: str | Path) -> None:
        """Write the result to ``path`` as JSON (standard JSON: a NaN or infinite ``info`` entry is ``null``).

        Raises
        ------
        ValueError
            When a hyperparameter has a value JSON cannot give back (a tuple, a function), or when ``path`` is a
            run's checkpoint file, which JSON would replace; nothing is written.
        """
        from ultraopt.hdl.configs import values_json_cannot_hold
        from ultraopt.storage.sqlite import is_sqlite_file

        if is_sqlite_file(path):
            raise ValueError(f"{path} is a run's checkpoint file (SQLite), which saving would replace, losing the "
                             "journal a resume reads; save the result under another name, or delete the file first")
        if unsavable := values_json_cannot_hold(self.config_space):
            raise ValueError(f"this result cannot be saved as JSON, which cannot give back {unsavable[0]}; "
                             "use strings, numbers, bools or None as choices")
        write_text_atomically(path, json_text(self.to_dict(), indent=1))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FMinResult:
        """Read a result written by :meth:`save` (JSON), or a run's ``checkpoint_file`` (an SQLite storage).

        The kind of file is told by its first bytes. A storage is opened read-only (it may be read while its run
        writes to it); trials it holds as created but not finished are in :attr:`unfinished`.

        Raises
        ------
        ValueError
            When the file is neither (:class:`~ultraopt.storage.StorageError` for a damaged storage).
        """
        from ultraopt.storage.sqlite import SQLiteStorage, is_sqlite_file

        if is_sqlite_file(path):
            storage = SQLiteStorage(path, read_only=True)
            try:
                return storage.load_result()
            finally:
                storage.close()
        try:
            data = json.loads(Path(path).read_text())
        except (json.JSONDecodeError, RecursionError) as exc:  # RecursionError: nested deeper than any result
            raise ValueError(f"{path} is neither a JSON UltraOpt result nor a checkpoint file (SQLite): {exc}") from exc
        return cls.from_dict(data)

    # ------------------------------------------------------------------ analysis and plots (in ultraopt.viz)
    def plot_convergence(self, budget: float | None = None, over: str = "iterations", ax: Axes | None = None,
                         log_scale: bool = False) -> Axes:
        """Plot the loss of each trial and the best loss so far; see :func:`ultraopt.viz.plot_convergence`."""
        from ultraopt.viz import plot_convergence

        return plot_convergence(self, budget=budget, over=over, ax=ax, log_scale=log_scale)

    def plot_concurrent_over_time(self, budget: float | None = None, by_budget: bool = False,
                                  ax: Axes | None = None) -> Axes:
        """Plot how many configs ran at once; see :func:`ultraopt.viz.plot_concurrent_over_time`."""
        from ultraopt.viz import plot_concurrent_over_time

        return plot_concurrent_over_time(self, budget=budget, by_budget=by_budget, ax=ax)

    def plot_finished_over_time(self, budget: float | None = None, by_budget: bool = True,
                                ax: Axes | None = None) -> Axes:
        """Plot how many trials had finished over time; see :func:`ultraopt.viz.plot_finished_over_time`."""
        from ultraopt.viz import plot_finished_over_time

        return plot_finished_over_time(self, budget=budget, by_budget=by_budget, ax=ax)

    def plot_correlation_across_budgets(self, budgets: Sequence[float] | None = None, ax: Axes | None = None) -> Axes:
        """Plot Spearman's rank correlation of losses between budgets;
        see :func:`ultraopt.viz.plot_correlation_across_budgets`."""
        from ultraopt.viz import plot_correlation_across_budgets

        return plot_correlation_across_budgets(self, budgets=budgets, ax=ax)

    def plot_slices(self, params: Sequence[str] | None = None, budget: float | None = None,
                    axes: Sequence[Axes] | None = None, n_cols: int = 3) -> np.ndarray:
        """Plot the loss against each hyperparameter, one panel each; see :func:`ultraopt.viz.plot_slices`."""
        from ultraopt.viz import plot_slices

        return plot_slices(self, params=params, budget=budget, axes=axes, n_cols=n_cols)

    def plot_parallel_coordinates(self, budget: float | None = None, top: int | float = 50,
                                  params: Sequence[str] | None = None, ax: Axes | None = None) -> Axes:
        """Draw the best trials across one axis per hyperparameter;
        see :func:`ultraopt.viz.plot_parallel_coordinates`."""
        from ultraopt.viz import plot_parallel_coordinates

        return plot_parallel_coordinates(self, budget=budget, top=top, params=params, ax=ax)

    def hyperparameter_importance(self, budget: float | None = None, random_state: int = 0,
                                  **kwargs: int) -> pd.DataFrame:
        """Which hyperparameters explain the loss, most important first;
        see :func:`ultraopt.viz.hyperparameter_importance`."""
        from ultraopt.viz import hyperparameter_importance

        return hyperparameter_importance(self, budget=budget, random_state=random_state, **kwargs)

    def plot_importance(self, budget: float | None = None, ax: Axes | None = None,
                        table: pd.DataFrame | None = None) -> Axes:
        """Plot the hyperparameter importance as bars; see :func:`ultraopt.viz.plot_importance`."""
        from ultraopt.viz import plot_importance

        return plot_importance(self, budget=budget, ax=ax, table=table)

    def plot_hi(self, budget: float | None = None) -> Any:
        """An interactive HiPlot experiment of the trials (needs ``hiplot``); see :func:`ultraopt.viz.plot_hi`."""
        from ultraopt.viz import plot_hi

        return plot_hi(self, budget=budget)

    def draw_space(self) -> str:
        """The searched space as a text tree; see :func:`ultraopt.hdl.draw_space`."""
        from ultraopt.hdl import draw_space

        return draw_space(self.config_space)

    def plot_space(self, ax: Axes | None = None) -> Axes:
        """Draw the searched space as a tree with matplotlib; see :func:`ultraopt.viz.plot_space`
        (:func:`ultraopt.viz.render_space` uses Graphviz when it is installed)."""
        from ultraopt.viz import plot_space

        return plot_space(self.config_space, ax=ax)

    def report(self, path: str | Path, title: str | None = None) -> Path:
        """Write the run report, one self-contained HTML file; see :func:`ultraopt.report.write_report`."""
        from ultraopt.report import write_report

        return write_report(self, path, title=title)


def _check_entries(data: Mapping[str, Any]) -> None:
    """Raise a ``ValueError`` naming the first top-level entry of a saved result that is missing or mistyped."""
    rules = [
        ("config_space", lambda v: isinstance(v, Mapping), "a dict"),
        ("budgets", lambda v: isinstance(v, list) and bool(v) and all(is_number(b, 0.0, low_open=True) for b in v),
         "a list of positive numbers"),
        ("trials", lambda v: isinstance(v, list), "a list of trials"),
    ]
    for key, valid, what in rules:
        if key not in data:
            raise ValueError(f"a damaged UltraOpt result: the '{key}' entry is missing")
        if not valid(data[key]):
            raise ValueError(f"a damaged UltraOpt result: '{key}' must be {what}, got {data[key]!r:.100}")
    for key, kind, what in (("meta", Mapping, "a dict"), ("unfinished", list, "a list of trials")):
        if data.get(key) is not None and not isinstance(data[key], kind):
            raise ValueError(f"a damaged UltraOpt result: '{key}' must be {what}, got {data[key]!r:.100}")


def _config_column(values: list[Any]) -> pd.Series:
    """A hyperparameter's column: its value in each trial, ``_INACTIVE`` where it was inactive (missing)."""
    import pandas as pd

    active = [value for value in values if value is not _INACTIVE]
    kinds = {type(value) for value in active}
    missing = len(active) < len(values)
    column = pd.Series([math.nan if value is _INACTIVE else value for value in values], dtype=object)
    if kinds == {bool}:
        return column.astype("boolean" if missing else bool)
    if kinds == {int}:
        return column.astype("Int64" if missing else "int64")
    if kinds == {float}:
        return column.astype(float)
    return column  # strings, or options of several types (None among them): as written
