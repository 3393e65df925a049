"""The progress bar: trials done, the best loss so far and the largest budget reached."""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm

from ultraopt.multi_fidelity.budgets import format_budget
from ultraopt.result import FMinResult
from ultraopt.trial import Trial

__all__ = ["ProgressBar"]


class ProgressBar:
    """A Master callback that advances a tqdm bar by one per finished trial.

    Parameters
    ----------
    total : int
        The number of trials the run plans at most.
    show_budget : bool
        Show the largest budget reached (runs with several budgets).
    disable : bool
        Draw nothing (the callback still works).
    """

    def __init__(self, total: int, show_budget: bool = False, disable: bool = False):
        self.show_budget = show_budget
        self.bar = tqdm(total=total, disable=disable, unit="trial", dynamic_ncols=True)

    def __call__(self, result: FMinResult, trial: Trial) -> None:
        self._show(result)
        self.bar.update(1)

    def catch_up(self, result: FMinResult, n_trials: int) -> None:
        """Count ``n_trials`` trials that ``result`` holds already (those of a resumed run)."""
        if n_trials:
            self._show(result)
            self.bar.update(n_trials)
            self.bar.refresh()  # update() redraws only after tqdm's mininterval: the bar showed 0/N meanwhile

    def _show(self, result: FMinResult) -> None:
        postfix: dict[str, Any] = {"best loss": "-" if result.best_loss is None else f"{result.best_loss:.4g}"}
        if self.show_budget and result.max_budget_reached is not None:
            postfix["max budget"] = format_budget(result.max_budget_reached)
        self.bar.set_postfix(postfix, refresh=False)

    def close(self, complete: bool = False, stop_reason: str | None = None) -> None:
        """Finish the bar; ``complete``: the run ended with its schedule done, so the bar ends full (fewer trials
        than planned ran when failed configs were not promoted); otherwise ``stop_reason`` says why it ends short."""
        if complete and self.bar.total is not None and self.bar.n < self.bar.total:
            self.bar.total = self.bar.n
            self.bar.refresh()
        elif not complete and stop_reason:
            self.bar.set_description_str(f"stopped: {stop_reason}")
        self.bar.close()
