"""The executor contract: where trials run.

The Master decides *what* runs; an executor decides *where*. Every parallel strategy (in-process, local
processes, Pyro5 workers, Dask) is an executor behind this small interface, and one shared contract test suite
runs against each of them.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType

from ultraopt.interrupts import interrupt_deferred
from ultraopt.objective import Objective
from ultraopt.trial import Trial, TrialStatus

__all__ = ["Executor", "NoWorkerReminder", "retry_or_lose"]

logger = logging.getLogger(__name__)


class Executor(ABC):
    """Runs trials and hands them back finished.

    Contract
    --------
    - :meth:`start` is called once, with the objective, before any :meth:`submit`.
    - :meth:`submit` takes a trial whose status is ``RUNNING``; the executor owns it until :meth:`wait` returns
      it with a finished status, its loss or error, its start and end time and its worker set.
    - An objective that raises or returns a non-finite loss is a *result* (status ``FAILED``), returned like any
      other. A worker that dies under a trial is an *infrastructure* failure: the executor runs the trial again
      (incrementing ``trial.attempt``) up to its retry limit, then returns it as ``LOST``.
    - :meth:`wait` blocks until at least one trial has finished or ``timeout`` seconds have passed, and returns
      the finished trials (possibly none on timeout). Every submitted trial is returned exactly once.
    - :attr:`n_slots` is how many trials the executor can hold right now (running or queued); it may change
      while workers join or leave. The Master submits while :attr:`n_free_slots` is positive.
    - :meth:`shutdown` stops everything the executor started; trials still running are abandoned, and the
      Master records them as cancelled. Calling it twice is harmless.
    - :attr:`clock` is the time source of trial times; a simulated executor advances its own clock.
    """

    #: Time source for trial start/end times and the Master's time limit.
    clock: Callable[[], float] = staticmethod(time.time)
    #: Whether trials run the objective given to :meth:`start` (not one the workers brought themselves), so that
    #: what wraps it (per-trial limits) applies.
    runs_given_objective: bool = True
    #: Whether configs reach the objective through JSON (over the network), so that choices JSON cannot give back
    #: (a tuple comes back a list) would reach it changed.
    sends_configs_as_json: bool = False
    #: Whether the objective runs in the Master's own process, so that a config that crashes it (a fault in a C
    #: extension, an out-of-memory kill) takes the session down with it: a resumed session then charges the trials
    #: it finds running an attempt. Where trials run in other processes, a dead session says nothing of them.
    runs_trials_in_master_process: bool = True

    @abstractmethod
    def start(self, objective: Objective) -> None:
        """Get ready to run ``objective``."""

    @abstractmethod
    def submit(self, trial: Trial) -> None:
        """Run ``trial`` (asynchronously where the executor can)."""

    @abstractmethod
    def wait(self, timeout: float | None = None) -> list[Trial]:
        """Block until a trial finishes or ``timeout`` seconds pass; return the finished trials.

        An executor whose slots grow while it waits (a worker joined) may return early with none, so that the
        caller fills the new slots at once.
        """

    @property
    @abstractmethod
    def n_slots(self) -> int:
        """How many trials the executor can hold at once right now."""

    @property
    @abstractmethod
    def n_running(self) -> int:
        """How many submitted trials have not been returned by :meth:`wait` yet."""

    @property
    def n_free_slots(self) -> int:
        """How many more trials :meth:`submit` may take now."""
        return max(self.n_slots - self.n_running, 0)

    def collect_finished(self) -> list[Trial]:
        """Trials that finished but that :meth:`wait` holds back (a batch waiting for the rest of it).

        A stopping run records them instead of cancelling them; they no longer count as running.
        """
        return []

    def shutdown(self) -> None:  # noqa: B027 - executors without resources have nothing to stop
        """Stop whatever the executor started."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        # a Ctrl-C pressed again while the first one's shutdown runs would leave workers behind
        with interrupt_deferred(until="the executor has shut down"):
            self.shutdown()


def retry_or_lose(trial: Trial, reason: str, max_retries: int) -> bool:
    """Decide what happens to ``trial`` after an infrastructure failure (its worker died, say).

    Returns ``True`` when the trial should run again; its ``attempt`` is then incremented. After ``max_retries``
    retries the trial is finished as ``LOST`` with ``reason`` as its error and ``False`` is returned.
    """
    if trial.attempt <= max_retries:
        trial.attempt += 1
        logger.warning("trial %d: %s; running it again (attempt %d)", trial.trial_id, reason, trial.attempt)
        return True
    logger.error("trial %d lost after %d attempt(s): %s", trial.trial_id, trial.attempt, reason)
    trial.finish(TrialStatus.LOST, error=f"lost after {trial.attempt} attempt(s): {reason}")
    return False


#: Seconds without any worker before :class:`NoWorkerReminder` says so.
NO_WORKER_WARNING_AFTER = 10.0


class NoWorkerReminder:
    """Say (to ``log``, the executor's logger) that trials wait for workers once none has been there for
    ``after`` seconds, then once a minute: workers started elsewhere may never come, and a wait without a word
    looks like a hang."""

    def __init__(self, log: logging.Logger, after: float | None = None) -> None:
        self.log = log
        self.after = NO_WORKER_WARNING_AFTER if after is None else after
        self._next: float | None = None

    def check(self, n_workers: int, message: str, *args: object) -> None:
        """Note how many workers there are now; log ``message % args`` when it is time."""
        now = time.monotonic()
        if n_workers:
            self._next = None
        elif self._next is None:
            self._next = now + self.after
        elif now >= self._next:
            self.log.warning(message, *args)
            self._next = now + 60.0
