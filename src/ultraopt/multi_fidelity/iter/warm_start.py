"""An earlier run's results, replayed as a finished iteration."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ultraopt.multi_fidelity.iter.base_iter import BaseIteration, RunRequest
from ultraopt.trial import Trial

if TYPE_CHECKING:
    from ultraopt.optimizer.base_opt import BaseOptimizer
    from ultraopt.result import FMinResult

__all__ = ["WarmStartIteration"]

logger = logging.getLogger(__name__)


def _no_sampling(budget: float) -> tuple[dict[str, Any], dict[str, Any]]:
    raise AssertionError("a warm-start iteration never samples configs")


class WarmStartIteration(BaseIteration):
    """The finished trials of an earlier run, as an iteration that is finished from the start.

    It requests no run. :meth:`replay` tells its results to an optimizer, so that the earlier configs inform the
    models of every budget they ran on (HpBandSter's ``WarmStartIteration``). Cancelled trials carry no result
    and are left out; failed ones are replayed as failures.

    Parameters
    ----------
    previous : FMinResult or iterable of Trial
        The earlier run or its trials.
    iteration : int
        The index this iteration stands at (``-1``: before the run's own iterations).
    """

    def __init__(self, previous: FMinResult | Iterable[Trial], iteration: int = -1):
        trials = previous.trials if hasattr(previous, "trials") else previous
        self.trials = [trial for trial in trials if trial.is_success or trial.status.is_failure]
        counts = Counter(trial.budget for trial in self.trials)
        budgets = sorted(counts) or [1.0]
        super().__init__(iteration, [counts[budget] for budget in budgets], budgets, _no_sampling)
        self.is_finished = True

    def get_next_run(self) -> RunRequest | None:
        return None

    def register_result(self, trial: Trial) -> None:
        raise AssertionError(f"{self} requested no run, so it takes no result")

    def replay(self, optimizer: BaseOptimizer) -> int:
        """Tell every replayed result to ``optimizer`` (initialized); return how many were told.

        A result whose config is not one of the optimizer's space (a value outside a narrowed range) is skipped,
        and a logged warning says why, as with ``fmin(previous_result=...)``: stopping at the first one would
        leave the optimizer told only part of the run.
        """
        skipped: list[str] = []
        for trial in self.trials:
            try:
                optimizer.tell(trial.config, trial.loss, trial.budget)
            except ValueError as exc:  # tell() checks the config before it changes anything
                skipped.append(str(exc))
        if skipped:
            logger.warning("warm start: %d of %d earlier result(s) skipped, their configs are not valid in the "
                           "optimizer's space; the first: %s", len(skipped), len(self.trials), skipped[0])
        told = len(self.trials) - len(skipped)
        logger.info("warm start: %d earlier result(s) replayed into %s", told, optimizer.name)
        return told
