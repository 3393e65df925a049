"""Trials on virtual workers and a virtual clock: asynchronous dynamics with many workers, measured in seconds.

:class:`SimulatedExecutor` evaluates the objective in this process, at once, but makes each trial *last* on one of
``n_workers`` virtual workers for the duration the objective reports (its ``"cost"`` entry) or a ``duration``
function gives. Its :class:`VirtualClock` jumps from one trial end to the next, so a run of hours of "training" on
many workers takes the seconds the objective itself costs, and the schedule, the promotions and the workers'
utilization are exactly those the same durations would give on real workers. Use it to benchmark schedulers
(Hyperband, asynchronous promotion, your own iteration classes) on synthetic functions::

    from ultraopt import fmin
    from ultraopt.executors import SimulatedExecutor

    executor = SimulatedExecutor(n_workers=8)
    result = fmin(bench, bench.hdl, multi_fidelity_iter_generator=generator, parallel_strategy=executor)
    print(executor.clock(), executor.utilization())
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ultraopt.checks import check_int
from ultraopt.executors.base import Executor
from ultraopt.objective import Evaluation, Objective
from ultraopt.trial import Trial, TrialStatus

__all__ = ["SimulatedExecutor", "VirtualClock"]

logger = logging.getLogger(__name__)

#: ``duration(config, budget) -> seconds`` of virtual time a trial takes.
DurationFunction = Callable[[dict[str, Any], float], float]


class VirtualClock:
    """A clock that only moves when told to: ``clock()`` reads it, :meth:`advance_to` moves it forward.

    Parameters
    ----------
    start : float
        The time it shows at first.
    """

    def __init__(self, start: float = 0.0):
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance_to(self, time: float) -> None:
        """Move the clock to ``time``; it never goes back."""
        assert time >= self.now - 1e-12 * max(1.0, abs(self.now)), (time, self.now)
        self.now = max(self.now, float(time))

    def __repr__(self) -> str:
        return f"VirtualClock(now={self.now})"


@dataclass(order=True)
class _Job:
    end_time: float
    order: int
    start_time: float = field(compare=False)
    trial: Trial = field(compare=False)
    evaluation: Evaluation = field(compare=False)
    worker: int = field(compare=False)


def _as_duration(value: Any) -> float | None:
    """``value`` as a number of seconds, or ``None`` when it is not a finite number >= 0."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class SimulatedExecutor(Executor):
    """Runs trials on ``n_workers`` virtual workers on a virtual clock.

    A submitted trial starts at once on a free worker (the Master submits only while a worker is free), is
    evaluated in this process, and finishes ``duration`` virtual seconds later; :meth:`wait` moves the clock to
    the next end and returns the trials that end then. No real time passes and nothing sleeps.

    Parameters
    ----------
    n_workers : int
        How many trials run at once.
    duration : callable, optional
        ``duration(config, budget) -> seconds``. By default the objective's ``"cost"`` entry (the key
        ``cost_key``), and for trials that report none (failures, plain float losses) the budget.
    cost_key : str
        The entry of the objective's returned dict that holds the duration.
    clock : VirtualClock, optional
        The clock to advance (a new one starting at 0 by default); the Master reads it through :attr:`clock`.

    Attributes
    ----------
    busy_time : float
        Virtual seconds the workers spent on trials that came back (the sum of their durations).
    """

    def __init__(
        self,
        n_workers: int = 1,
        duration: DurationFunction | None = None,
        cost_key: str = "cost",
        clock: VirtualClock | None = None,
    ):
        if duration is not None and not callable(duration):
            raise ValueError(f"duration must be None or a callable duration(config, budget), got {duration!r}")
        self.n_workers = check_int("n_workers", n_workers, 1)
        self.duration = duration
        self.cost_key = cost_key
        self.clock: VirtualClock = clock or VirtualClock()
        self.busy_time = 0.0
        self.start_time = self.clock()
        self._objective: Objective | None = None
        self._jobs: list[_Job] = []  # a heap on (end time, submission order)
        self._free_workers = list(range(n_workers))
        self._n_submitted = 0

    def start(self, objective: Objective) -> None:
        self._objective = objective
        self.start_time = self.clock()
        self.busy_time = 0.0  # a reused executor measures each run on its own

    def submit(self, trial: Trial) -> None:
        assert self._objective is not None, "start() must be called before submit()"
        assert self._free_workers, "submit() called with no free worker"
        evaluation = self._objective(trial.config, trial.budget)
        seconds = self._duration_of(trial, evaluation)
        now = self.clock()
        worker = heapq.heappop(self._free_workers)
        evaluation.start_time, evaluation.end_time = now, now + seconds
        heapq.heappush(self._jobs, _Job(now + seconds, self._n_submitted, now, trial, evaluation, worker))
        self._n_submitted += 1

    def wait(self, timeout: float | None = None) -> list[Trial]:
        if not self._jobs:
            return []
        next_end = self._jobs[0].end_time
        if timeout is not None and next_end > self.clock() + timeout:
            self.clock.advance_to(self.clock() + timeout)
            return []
        self.clock.advance_to(next_end)
        finished = []
        while self._jobs and self._jobs[0].end_time <= next_end:
            job = heapq.heappop(self._jobs)
            job.evaluation.apply_to(job.trial, worker=f"virtual-{job.worker}")
            self.busy_time += job.end_time - job.start_time
            heapq.heappush(self._free_workers, job.worker)
            finished.append(job.trial)
        return finished

    @property
    def n_slots(self) -> int:
        return self.n_workers

    @property
    def n_running(self) -> int:
        return len(self._jobs)

    def utilization(self) -> float:
        """The share of worker time spent on trials since :meth:`start`, on the virtual clock.

        Trials still running count for the time they have run so far; ``nan`` before any time passed.
        """
        now = self.clock()
        elapsed = now - self.start_time
        if elapsed <= 0:
            return math.nan
        running = sum(now - job.start_time for job in self._jobs)
        return (self.busy_time + running) / (self.n_workers * elapsed)

    def shutdown(self) -> None:
        """Abandon the trials still running (the Master records them as cancelled)."""
        if self._jobs:
            logger.debug("abandoning %d simulated trial(s) at t=%g", len(self._jobs), self.clock())
        now = self.clock()
        self.busy_time += sum(now - job.start_time for job in self._jobs)
        self._free_workers.extend(job.worker for job in self._jobs)
        heapq.heapify(self._free_workers)
        self._jobs.clear()

    def _duration_of(self, trial: Trial, evaluation: Evaluation) -> float:
        """How long the trial runs; an unusable cost reported by the objective fails the trial (which then takes
        its budget), a bad ``duration`` function is the caller's error."""
        if self.duration is not None:
            reported = self.duration(trial.config, trial.budget)
            if (seconds := _as_duration(reported)) is None:
                raise ValueError(f"duration(config, budget) of trial {trial.trial_id} must be a finite number >= 0, "
                                 f"got {reported!r}")
            return seconds
        reported = evaluation.info.get(self.cost_key, trial.budget)
        if (seconds := _as_duration(reported)) is None:
            evaluation.status, evaluation.loss = TrialStatus.FAILED, None
            evaluation.error = f"the objective's {self.cost_key!r} entry must be a finite number >= 0, got {reported!r}"
            return float(trial.budget)
        return seconds

    def __repr__(self) -> str:
        return f"SimulatedExecutor(n_workers={self.n_workers}, clock={self.clock!r})"
