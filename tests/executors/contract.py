"""The executor contract as a test class: every executor's tests subclass it and provide ``make_executor``.

Objectives used here are module-level functions so that process-based executors can ship them.
"""

from __future__ import annotations

import math
import time

import pytest

from ultraopt.executors.base import Executor
from ultraopt.objective import Objective
from ultraopt.trial import Trial, TrialStatus


def square(config: dict) -> float:
    return float(config["x"]) ** 2


def budget_times_x(config: dict, budget: float) -> float:
    return budget * config["x"]


def raise_on_negative(config: dict) -> float:
    if config["x"] < 0:
        raise ValueError(f"negative x: {config['x']}")
    return float(config["x"])


def nan_loss(config: dict) -> float:
    return math.nan


def sleep_x(config: dict) -> float:
    time.sleep(config["x"])
    return float(config["x"])


def make_trial(trial_id: int, x: float, budget: float = 1.0) -> Trial:
    return Trial(trial_id, (trial_id, 0, 0), {"x": x}, budget, {"origin": "test"}, TrialStatus.RUNNING, attempt=1)


def run_all(executor: Executor, trials: list[Trial], timeout: float = 60.0) -> list[Trial]:
    """Submit as slots free up and wait until every trial came back."""
    pending, finished = list(trials), []
    deadline = time.monotonic() + timeout
    while len(finished) < len(trials):
        while pending and executor.n_free_slots > 0:
            executor.submit(pending.pop(0))
        finished += executor.wait(timeout=1.0)
        assert time.monotonic() < deadline, f"only {len(finished)} of {len(trials)} trials came back"
    return finished


class ExecutorContract:
    """Behaviour every executor must have."""

    #: How many trials the executor runs at once (for the concurrency test).
    parallelism = 1

    def make_executor(self) -> Executor:
        raise NotImplementedError

    @pytest.fixture
    def executor(self):
        executor = self.make_executor()
        yield executor
        executor.shutdown()

    def test_every_trial_comes_back_once_with_its_result(self, executor):
        executor.start(Objective(square))
        trials = [make_trial(i, float(i)) for i in range(6)]
        finished = run_all(executor, trials)
        assert sorted(t.trial_id for t in finished) == list(range(6))
        for trial in finished:
            assert trial.status is TrialStatus.SUCCESS
            assert trial.loss == float(trial.trial_id) ** 2
            assert trial.start_time is not None and trial.end_time >= trial.start_time
            assert trial.worker
        assert executor.n_running == 0

    def test_budget_reaches_the_objective(self, executor):
        executor.start(Objective(budget_times_x))
        finished = run_all(executor, [make_trial(0, 3.0, budget=0.25), make_trial(1, 3.0, budget=4.0)])
        assert {t.budget: t.loss for t in finished} == {0.25: 0.75, 4.0: 12.0}

    def test_exceptions_and_nan_are_failed_trials(self, executor):
        executor.start(Objective(raise_on_negative))
        finished = {t.trial_id: t for t in run_all(executor, [make_trial(0, -1.0), make_trial(1, 2.0)])}
        assert finished[0].status is TrialStatus.FAILED
        assert "ValueError: negative x: -1.0" in finished[0].error
        assert finished[1].status is TrialStatus.SUCCESS and finished[1].loss == 2.0

    def test_non_finite_loss_is_a_failed_trial(self, executor):
        executor.start(Objective(nan_loss))
        (trial,) = run_all(executor, [make_trial(0, 1.0)])
        assert trial.status is TrialStatus.FAILED and trial.loss is None
        assert "non-finite" in trial.error

    def test_slots_limit_submissions(self, executor):
        executor.start(Objective(square))
        assert executor.n_slots >= 1
        for i in range(executor.n_free_slots):
            executor.submit(make_trial(i, 1.0))
        assert executor.n_free_slots == 0
        assert len(run_all(executor, [])) == 0  # nothing extra was queued
        finished = []
        while executor.n_running:
            finished += executor.wait(timeout=5.0)
        assert len(finished) == executor.n_slots

    def test_shutdown_twice_is_harmless(self, executor):
        executor.start(Objective(square))
        executor.shutdown()
        executor.shutdown()

    def test_after_shutdown_it_runs_again_or_says_it_serves_one_run(self, executor):
        # fmin(parallel_strategy=executor) twice in a row: the second run must work, or be refused in words
        executor.start(Objective(square))
        run_all(executor, [make_trial(0, 1.0)])
        executor.shutdown()
        try:
            executor.start(Objective(square))
        except RuntimeError as error:
            assert "serves one run, so give each fmin call a new one" in str(error)
            return
        (trial,) = run_all(executor, [make_trial(1, 2.0)])
        assert trial.status is TrialStatus.SUCCESS and trial.loss == 4.0
