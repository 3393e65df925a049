"""The Master loop: one loop for every strategy.

The Master takes iterations from an iteration generator, fills the free slots of an executor with the runs
they request (new configs come from the optimizer's ``ask``), records every finished trial, tells the optimizer
and hands the trial back to its iteration. It knows nothing of processes or sockets: the executor decides where
a trial runs, and the clock it reads may be simulated.

Every trial the Master creates and every trial that comes back is journaled in its storage first, so that a run
can be rebuilt from its storage: :meth:`Master.restore` replays the journal (:mod:`ultraopt.replay`).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ultraopt.executors.base import Executor, retry_or_lose
from ultraopt.multi_fidelity.iter.base_iter import BaseIteration, RunRequest
from ultraopt.multi_fidelity.iter_gen.base_gen import BaseIterGenerator
from ultraopt.optimizer.base_opt import BaseOptimizer
from ultraopt.replay import replay
from ultraopt.result import FMinResult
from ultraopt.storage import InMemoryStorage, RunHeader, Storage
from ultraopt.trial import Trial, TrialStatus

__all__ = ["Callback", "Master", "ObjectiveError"]

logger = logging.getLogger(__name__)

#: ``callback(result, trial)`` after each finished trial; a truthy return value stops the run.
Callback = Callable[[FMinResult, Trial], Any]

#: With this many failures in a row at the start of a run, the objective is considered broken.
BROKEN_OBJECTIVE_TRIALS = 5
#: A trial that was running whenever a session of the run stopped is started again this many times at most.
RESUMED_TRIAL_RETRIES = 3


class ObjectiveError(RuntimeError):
    """Every one of the first trials of a run failed: the objective is broken.

    Attributes
    ----------
    result : FMinResult
        The run up to the moment it stopped, failed trials included.
    """

    def __init__(self, message: str, result: FMinResult):
        super().__init__(message)
        self.result = result


@dataclass
class _Running:
    trial: Trial
    iteration: BaseIteration


class Master:
    """Decides what runs on which budget and records what comes back.

    Parameters
    ----------
    optimizer : BaseOptimizer
        An initialized optimizer; it proposes every new config.
    iter_generator : BaseIterGenerator
        The schedule of iterations (one evaluation per iteration without multi-fidelity).
    executor : Executor
        Where trials run; it must be started with the objective.
    result : FMinResult
        Where finished trials are recorded.
    time_limit : float
        Seconds (on the executor's clock) after which no new trial starts and running ones are cancelled.
    callbacks : iterable of callable
        ``callback(result, trial)`` after each finished trial; a truthy return value stops the run.
    early_stopping_rounds : int, optional
        Stop when this many trials in a row on the schedule's largest budget finished without improving the
        best loss there (trials on smaller budgets neither count nor reset the count).
    clock : callable, optional
        Time source; the executor's clock by default.
    storage : Storage, optional
        Where the run is journaled, its header already written by ``storage.open_run``; when it holds trials
        of an earlier session, :meth:`run` continues that run. By default a fresh in-memory storage.
    """

    def __init__(
        self,
        optimizer: BaseOptimizer,
        iter_generator: BaseIterGenerator,
        executor: Executor,
        result: FMinResult,
        time_limit: float = math.inf,
        callbacks: Iterable[Callback] = (),
        early_stopping_rounds: int | None = None,
        clock: Callable[[], float] | None = None,
        storage: Storage | None = None,
    ):
        self.optimizer = optimizer
        self.iter_generator = iter_generator
        self._largest_budget = max(iter_generator.get_budgets())
        self.executor = executor
        self.result = result
        self.time_limit = time_limit
        self.callbacks = list(callbacks)
        self.early_stopping_rounds = early_stopping_rounds
        self.clock = clock or executor.clock
        self.iterations: list[BaseIteration] = []
        self._open_iterations: list[BaseIteration] = []  # the unfinished ones, oldest first
        self.stop_reason: str | None = None
        self._running: dict[int, _Running] = {}
        self._next_trial_id = 0
        self._n_iterations = 0
        self._start = math.nan
        self._rounds_without_improvement = 0
        if storage is None:
            storage = InMemoryStorage()
            storage.open_run(RunHeader(optimizer.config_space.to_serialized_dict(), {}, iter_generator.get_budgets()))
        self.storage = storage
        self._sampler = self._ask  # the replay of a journal swaps in the stored configs
        self._to_submit: deque[int] = deque()  # ids of running trials not handed to the executor yet
        self._cancelled_before: set[int] = set()  # ids among them that an earlier session stopped cleanly
        self._lost_on_resume: set[int] = set()  # ids of those lost for their earlier sessions' deaths
        self._n_warm_start = 0  # trials of a warm start at the head of the result
        # trials restored from storage (warm start and journal): a broken objective is judged on the trials after
        self._n_restored = 0
        self._restored = False
        self._space_exhausted = False  # every config of a finite space ran: the run ends rather than repeat one
        self._warned_repeats = False

    # ------------------------------------------------------------------ the loop
    def run(self, n_iterations: int, started_at: float | None = None) -> FMinResult:
        """Run until ``n_iterations`` iterations are finished, or a limit or a callback stops the run.

        Ctrl-C stops the run like a limit does: running trials are cancelled and the result so far is returned.
        A run whose storage holds an earlier session is first restored (:meth:`restore`): its trials count.

        Parameters
        ----------
        n_iterations : int
            Iterations of the schedule to finish.
        started_at : float, optional
            Time on the executor's clock from which ``time_limit`` counts (by default, now): ``fmin`` passes the
            time of its call, so that starting the workers counts too.

        Raises
        ------
        ObjectiveError
            When every one of the first trials failed.
        """
        self._start = self.clock() if started_at is None else started_at
        try:
            self.restore(n_iterations)
            while self.stop_reason is None:
                self._fill_free_slots()
                if not self._running:
                    self.stop_reason = "space exhausted" if self._space_exhausted else "finished"
                    self._check_broken_objective(finished=True)
                    break
                for trial in self.executor.wait(timeout=self._wait_timeout()):
                    self._record(trial)
                self._check_time_limit()
            self._record_held_back()
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
            self._record_held_back()
            logger.warning("interrupted: cancelling %d running trial(s)", len(self._running))
        finally:
            self._cancel_running()
        return self.result

    @property
    def n_iterations(self) -> int:
        """How many iterations the run has in all: as many as asked for, or more when its journal holds more."""
        return max(self._n_iterations, len(self.iterations))

    @property
    def is_done(self) -> bool:
        """Whether every one of the run's iterations is finished, with no trial left to run (after :meth:`restore`:
        a finished run started again)."""
        return (not self._running and len(self.iterations) >= self._n_iterations
                and all(iteration.is_finished for iteration in self.iterations))

    def restore(self, n_iterations: int) -> int:
        """Rebuild the run from its storage (warm start, then the journal); return how many events were replayed.

        :meth:`run` calls it; call it first to see the restored :attr:`result` before the run goes on. Trials
        that were running when the journal ends are submitted again by :meth:`run`. Calling it again does
        nothing.

        Raises
        ------
        ultraopt.replay.ReplayError
            When the journal and the schedule disagree (the storage was written by another schedule).
        """
        self._n_iterations = max(self._n_iterations, n_iterations)
        if self._restored:
            return 0
        self._restored = True
        n_events = replay(self)
        self._n_restored = len(self.result.trials)
        return n_events

    def _fill_free_slots(self) -> None:
        while self.stop_reason is None and self.executor.n_free_slots > 0:
            if self._to_submit:  # running when an earlier session stopped: runs again, a few times at most
                trial = self._running[self._to_submit.popleft()].trial
                # a config that kills the process (a crash in a C extension, an out-of-memory kill) would
                # otherwise stop every resumed session at the same trial; one its session cancelled, or one that
                # ran in another process, is not suspect
                cancelled = trial.trial_id in self._cancelled_before
                self._cancelled_before.discard(trial.trial_id)
                if cancelled or not self.executor.runs_trials_in_master_process or retry_or_lose(
                    trial, "the run stopped while it ran (its process died or was killed)", RESUMED_TRIAL_RETRIES
                ):
                    self.storage.record_restarted(trial)
                    self.executor.submit(trial)
                else:
                    self._lost_on_resume.add(trial.trial_id)
                    self._record(trial)
                continue
            found = self._next_run()
            if found is None or (found[0].config_info.get("duplicate") and self._end_on_repeat(*found)):
                return
            trial = self._create_trial(*found)
            self.storage.record_created(trial)
            self.executor.submit(trial)

    def _end_on_repeat(self, request: RunRequest, iteration: BaseIteration) -> bool:
        """Whether the run ends here rather than evaluate ``request``, a config the optimizer proposed again
        because every config of the (finite) space was proposed already.

        An iteration of one evaluation (a run without multi-fidelity) is dropped, and no other starts: evaluating a
        config again would spend the objective's time for nothing new. A multi-fidelity iteration needs its
        configs to fill its stages, so there the repeat runs, with a warning.
        """
        if sum(iteration.num_configs) != 1:
            if not self._warned_repeats:
                self._warned_repeats = True
                logger.warning("every config of the space was proposed already: iteration %d evaluates some again "
                               "(the schedule asks for more configs than the space has)", iteration.iteration)
            return False
        self.iterations.remove(iteration)
        self._open_iterations.remove(iteration)
        self.optimizer.forget(request.config)
        logger.warning("every config of the space has been evaluated or is running: the run ends after %d "
                       "iteration(s) instead of %d, rather than evaluate a config again",
                       len(self.iterations), self._n_iterations)
        self._n_iterations = len(self.iterations)
        self._space_exhausted = True
        return True

    def _create_trial(self, request: RunRequest, iteration: BaseIteration) -> Trial:
        """The trial for ``request``, with the next trial id, counted as running."""
        trial = Trial(
            trial_id=self._next_trial_id,
            config_id=request.config_id,
            config=request.config,
            budget=request.budget,
            config_info=request.config_info,
            status=TrialStatus.RUNNING,
            attempt=1,
        )
        self._next_trial_id += 1
        self._running[trial.trial_id] = _Running(trial, iteration)
        return trial

    def _next_run(self) -> tuple[RunRequest, BaseIteration] | None:
        """A run from the oldest iteration that has one; a new iteration is opened when all are waiting."""
        self._open_iterations = [iteration for iteration in self._open_iterations if not iteration.is_finished]
        for iteration in self._open_iterations:
            if (request := iteration.get_next_run()) is not None:
                return request, iteration
        while len(self.iterations) < self._n_iterations:
            iteration = self._new_iteration(len(self.iterations))
            self.iterations.append(iteration)
            self._open_iterations.append(iteration)
            if (request := iteration.get_next_run()) is not None:
                return request, iteration
        return None

    def _new_iteration(self, index: int) -> BaseIteration:
        """Iteration ``index`` of the schedule; a subclass may pass extra arguments to the iteration."""
        return self.iter_generator.get_next_iteration(index, self._sample)

    def _sample(self, budget: float) -> tuple[dict[str, Any], dict[str, Any]]:
        return self._sampler(budget)

    def _ask(self, budget: float) -> tuple[dict[str, Any], dict[str, Any]]:
        config, info = self.optimizer.ask(budget=budget)
        return config, info

    def _wait_timeout(self) -> float | None:
        left = self.time_limit - (self.clock() - self._start)
        return None if math.isinf(left) else max(left, 0.0)

    # ------------------------------------------------------------------ results
    def _record(self, trial: Trial, replaying: bool = False) -> None:
        """Take a finished trial into account; a replayed one is not journaled again nor shown to callbacks."""
        running = self._running.pop(trial.trial_id)
        assert trial.status.is_finished, trial
        if not replaying:
            self.storage.record_finished(trial)
        self.optimizer.tell(trial.config, trial.loss, trial.budget)
        running.iteration.register_result(trial)
        incumbent_before = self._incumbent()
        self.result.add_trial(trial)
        if trial.status.is_failure and not replaying:
            logger.info("trial %d %s: %s", trial.trial_id, trial.status.value,
                        (trial.error or "").strip().splitlines()[-1:])
        if not replaying:  # the failures of a resumed run's past are not this session's objective
            self._check_broken_objective()
        self._check_early_stopping(trial, incumbent_before)
        if replaying:
            return
        for callback in self.callbacks:
            if callback(self.result, trial) and self.stop_reason is None:
                self.stop_reason = "callback"

    def _check_broken_objective(self, finished: bool = False) -> None:
        """Raise :class:`ObjectiveError` when the first trials of this session all failed; ``finished``: the run has
        no more trials to come (promotions planned for a short Hyperband run never happen when everything fails).

        Restored trials do not count: a run stopped by a broken objective resumes once the objective is fixed. Nor
        do trials lost because earlier sessions died while they ran: the objective may never have failed.
        """
        if len(self.result.trials) - self._n_restored - len(self._lost_on_resume) > BROKEN_OBJECTIVE_TRIALS:
            return  # only the first trials of the session decide
        trials = [t for t in self.result.trials[self._n_restored:] if t.trial_id not in self._lost_on_resume]
        planned = (self.iter_generator.num_all_configs(self._n_iterations) - (self._n_restored - self._n_warm_start)
                   - len(self._lost_on_resume))
        first = min(BROKEN_OBJECTIVE_TRIALS, planned)
        if not trials or not (len(trials) == first or finished) or not all(t.status.is_failure for t in trials):
            return
        self._cancel_running()
        error = trials[0].error or trials[0].status.value
        raise ObjectiveError(
            f"the objective failed on each of the first {len(trials)} trial(s), so the run stopped; "
            f"the first failure was:\n{error}",
            self.result,
        )

    def _incumbent(self) -> tuple[float, float]:
        """``(-largest budget reached, best loss there)``: smaller is better."""
        budget = self.result.max_budget_reached
        return (math.inf, math.inf) if budget is None else (-budget, self.result.best_loss)  # type: ignore[return-value]

    def _check_early_stopping(self, trial: Trial, incumbent_before: tuple[float, float]) -> None:
        # a Hyperband run's first stages say nothing about the largest budget, where the optimum is reported
        if self.early_stopping_rounds is None or trial.budget < self._largest_budget:
            return
        improved = self._incumbent() < incumbent_before
        self._rounds_without_improvement = 0 if improved else self._rounds_without_improvement + 1
        if self._rounds_without_improvement >= self.early_stopping_rounds and self.stop_reason is None:
            self.stop_reason = "early stopping"
            logger.info("no improvement in %d trials: stopping early", self.early_stopping_rounds)

    def _check_time_limit(self) -> None:
        if self.stop_reason is None and self.clock() - self._start >= self.time_limit:
            self.stop_reason = "time limit"
            logger.info("time limit of %.1f s reached", self.time_limit)

    def _record_held_back(self) -> None:
        """Record the trials that finished but that the executor still held back when the run stopped."""
        for trial in self.executor.collect_finished():
            if trial.trial_id in self._running:
                self._record(trial)

    def _cancel_running(self) -> None:
        """Record trials still running as cancelled; they tell the optimizer nothing, and a resume runs them again
        (as it does the ones an earlier session left to run, still unsubmitted)."""
        for running in self._running.values():
            trial = running.trial
            trial.finish(TrialStatus.CANCELLED, error=f"the run stopped ({self.stop_reason or 'error'})")
            self.optimizer.forget(trial.config)
            self.result.add_trial(trial)
            try:
                self.storage.record_cancelled(trial)
            except Exception as exc:  # a failing storage must not hide why the run stopped; the resume then counts
                logger.warning("trial %d: its cancellation could not be journaled: %s", trial.trial_id, exc)
        self._running.clear()
        self._to_submit.clear()
        self._cancelled_before.clear()
