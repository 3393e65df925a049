"""The shared part of executors that run each trial as a future in a pool of workers (local processes, Dask).

A subclass launches a trial (:meth:`FuturesExecutor._launch`) and reads finished futures
(:meth:`FuturesExecutor._outcomes`); this base class keeps the running trials, hands finished ones back as they
complete, and keeps the two failure channels apart: what the objective did is a result (the evaluation comes
back, possibly ``FAILED``); a worker that died under a trial is an infrastructure failure, and the trial runs
again with ``attempt`` incremented, up to ``max_retries`` times, then comes back ``LOST``.
"""

from __future__ import annotations

import logging
import queue
import time
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ultraopt.executors.base import Executor
from ultraopt.executors.remote import retry_or_lose
from ultraopt.objective import Evaluation
from ultraopt.trial import Trial, TrialStatus

__all__ = ["FuturesExecutor", "InfrastructureFailure", "TaskError"]

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


#: What a finished future holds: ``(evaluation as a dict, worker name)``, or why there is no evaluation.
Outcome = tuple[dict[str, Any], str] | InfrastructureFailure | TaskError


class FuturesExecutor(Executor):
    """Base of executors whose trials are futures; subclasses implement :meth:`_launch` and :meth:`_outcomes`.

    Parameters
    ----------
    max_retries : int
        How many times a trial runs again after an infrastructure failure before it is returned ``LOST``.
    """

    def __init__(self, max_retries: int = 3) -> None:
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative int, got {max_retries!r}")
        self.max_retries = max_retries
        self._running: dict[int, tuple[Trial, Any]] = {}
        # Futures report completion from their own threads; the queue hands them to wait() in the Master's thread.
        self._done: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()

    @abstractmethod
    def _launch(self, trial: Trial) -> Any:
        """Start ``trial`` on a worker and return its future (one with ``add_done_callback``)."""

    @abstractmethod
    def _outcomes(self, futures: Sequence[Any]) -> list[Outcome]:
        """What each of the finished ``futures`` holds."""

    # ------------------------------------------------------------------ the contract
    def submit(self, trial: Trial) -> None:
        future = self._launch(trial)
        self._running[trial.trial_id] = (trial, future)
        future.add_done_callback(lambda done, trial_id=trial.trial_id: self._done.put((trial_id, done)))

    def wait(self, timeout: float | None = None) -> list[Trial]:
        deadline = None if timeout is None else time.monotonic() + timeout
        finished: list[Trial] = []
        while self._running and not finished:
            try:
                left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                items = [self._done.get(timeout=left)]
            except queue.Empty:
                break
            while not self._done.empty():
                items.append(self._done.get_nowait())
            # A callback may come from a future already dealt with (cancelled at shutdown, or an earlier attempt).
            current = [(self._running[tid][0], future) for tid, future in items
                       if tid in self._running and self._running[tid][1] is future]
            for (trial, _), outcome in zip(current, self._outcomes([future for _, future in current])):
                del self._running[trial.trial_id]
                if self._settle(trial, outcome):
                    finished.append(trial)
        return finished

    @property
    def n_running(self) -> int:
        return len(self._running)

    @property
    def running_futures(self) -> list[Any]:
        """The futures of the trials still running."""
        return [future for _, future in self._running.values()]

    # ------------------------------------------------------------------ internals
    def _settle(self, trial: Trial, outcome: Outcome) -> bool:
        """Apply ``outcome`` to ``trial``; ``False`` when the trial was launched again instead."""
        if isinstance(outcome, InfrastructureFailure):
            if retry_or_lose(trial, outcome.reason, self.max_retries):
                self.submit(trial)
                return False
        elif isinstance(outcome, TaskError):
            logger.error("trial %d failed outside the objective: %s", trial.trial_id, outcome.error)
            trial.finish(TrialStatus.FAILED, error=f"the task failed outside the objective:\n{outcome.error}")
        else:
            evaluation, worker = outcome
            Evaluation.from_dict(evaluation).apply_to(trial, worker=worker)
        return True
