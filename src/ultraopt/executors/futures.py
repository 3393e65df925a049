"""The shared part of executors that run each trial as a future in a pool of workers (local processes, Dask).

A subclass launches a trial (:meth:`FuturesExecutor._launch`) and reports its outcome when it is known, from any
thread; this base class keeps the running trials, hands finished ones back as they complete, and keeps the two
failure channels apart: what the objective did is a result (the evaluation comes back, possibly ``FAILED``); a
worker that died under a trial is an infrastructure failure, and the trial runs again with ``attempt``
incremented, up to ``max_retries`` times, then comes back ``LOST``.
"""

from __future__ import annotations

import logging
import queue
import time
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ultraopt.checks import check_int
from ultraopt.executors.base import Executor, retry_or_lose
from ultraopt.objective import Evaluation
from ultraopt.trial import Trial, TrialStatus

__all__ = ["FuturesExecutor", "InfrastructureFailure", "Outcome", "Report", "TaskError"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InfrastructureFailure:
    """The trial did not run to its end through no fault of the objective (its worker died, it was cancelled)."""

    reason: str


@dataclass(frozen=True)
class TaskError:
    """The task failed outside the objective in a way a retry will not fix (the objective cannot be unpickled on
    the worker, ``ultraopt`` is not importable there, ...); the trial is recorded as ``FAILED`` with this text."""

    error: str


#: What a finished trial came to: ``(evaluation as a dict, worker name)``, or why there is no evaluation.
Outcome = tuple[dict[str, Any], str] | InfrastructureFailure | TaskError

#: ``report(outcome)``: how a launched trial's outcome comes back, once, from whatever thread knows it.
Report = Callable[[Outcome], None]


class FuturesExecutor(Executor):
    """Base of executors whose trials are futures; subclasses implement :meth:`_launch`.

    Parameters
    ----------
    max_retries : int
        How many times a trial runs again after an infrastructure failure before it is returned ``LOST``.
    """

    runs_trials_in_master_process = False  # pool workers or cluster workers

    def __init__(self, max_retries: int = 3) -> None:
        self.max_retries = check_int("max_retries", max_retries, 0)
        self._running: dict[int, tuple[Trial, Any]] = {}
        # Outcomes are reported from other threads; the queue hands them to wait() in the Master's thread.
        self._done: queue.SimpleQueue[tuple[int, int, Outcome]] = queue.SimpleQueue()

    @abstractmethod
    def _launch(self, trial: Trial, report: Report) -> Any:
        """Start ``trial`` on a worker and return its future; call ``report(outcome)`` once it finished."""

    # ------------------------------------------------------------------ the contract
    def submit(self, trial: Trial) -> None:
        trial_id, attempt = trial.trial_id, trial.attempt
        future = self._launch(trial, lambda outcome: self._done.put((trial_id, attempt, outcome)))
        self._running[trial_id] = (trial, future)

    def wait(self, timeout: float | None = None) -> list[Trial]:
        deadline = None if timeout is None else time.monotonic() + timeout
        finished: list[Trial] = []
        while self._running and not finished:
            try:
                left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                reports = [self._done.get(timeout=left)]
            except queue.Empty:
                break
            while not self._done.empty():
                reports.append(self._done.get_nowait())
            for trial_id, attempt, outcome in reports:
                entry = self._running.get(trial_id)
                if entry is None or entry[0].attempt != attempt:
                    continue  # an earlier attempt, or a trial cancelled at shutdown
                trial = entry[0]
                del self._running[trial_id]
                if self._settle(trial, outcome):
                    finished.append(trial)
        return finished

    @property
    def n_running(self) -> int:
        return len(self._running)

    # ------------------------------------------------------------------ internals
    @property
    def _retries_left_to_us(self) -> int:
        """How many times we run a trial again after infrastructure failures (a cluster may retry it first)."""
        return self.max_retries

    def _settle(self, trial: Trial, outcome: Outcome) -> bool:
        """Apply ``outcome`` to ``trial``; ``False`` when the trial was launched again instead."""
        if isinstance(outcome, InfrastructureFailure):
            if retry_or_lose(trial, outcome.reason, self._retries_left_to_us):
                self.submit(trial)
                return False
        elif isinstance(outcome, TaskError):
            logger.error("trial %d failed outside the objective: %s", trial.trial_id, outcome.error)
            trial.finish(TrialStatus.FAILED, error=f"the task failed outside the objective:\n{outcome.error}")
        else:
            evaluation, worker = outcome
            Evaluation.from_dict(evaluation).apply_to(trial, worker=worker)
        return True
