"""Trials run one at a time in this process."""

from __future__ import annotations

from ultraopt.executors.base import Executor
from ultraopt.objective import Objective
from ultraopt.trial import Trial

__all__ = ["SerialExecutor"]


class SerialExecutor(Executor):
    """Evaluates each trial in the calling process when the Master waits for it.

    The simplest executor and the fastest for cheap objectives: no process, no copy of the objective.
    """

    worker_name = "serial"

    def __init__(self) -> None:
        self._objective: Objective | None = None
        self._submitted: list[Trial] = []

    def start(self, objective: Objective) -> None:
        self._objective = objective

    def submit(self, trial: Trial) -> None:
        assert self._objective is not None, "start() must be called before submit()"
        self._submitted.append(trial)

    def wait(self, timeout: float | None = None) -> list[Trial]:
        assert self._objective is not None, "start() must be called before wait()"
        finished = []
        while self._submitted:
            trial = self._submitted.pop(0)
            self._objective(trial.config, trial.budget).apply_to(trial, worker=self.worker_name)
            finished.append(trial)
        return finished

    @property
    def n_slots(self) -> int:
        return 1

    @property
    def n_running(self) -> int:
        return len(self._submitted)
