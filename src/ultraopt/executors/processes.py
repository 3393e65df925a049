"""Trials run in a pool of local worker processes (loky, joblib's process engine)."""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from concurrent.futures import Future
from typing import Any

from joblib.externals import loky
from joblib.externals.loky.process_executor import ShutdownExecutorError

from ultraopt.checks import check_int
from ultraopt.executors.futures import FuturesExecutor, InfrastructureFailure, Outcome, Report, TaskError
from ultraopt.executors.remote import (
    explain_unpicklable,
    install_objective,
    new_token,
    refuse_in_daemonic_process,
    run_installed,
)
from ultraopt.objective import Objective, send_by_value_if_unimportable
from ultraopt.trial import Trial

__all__ = ["ProcessExecutor", "worker_environment"]

logger = logging.getLogger(__name__)

#: Thread pools of the numerical libraries an objective may use (OpenMP, BLAS, numexpr, numba).
THREAD_VARIABLES = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS",
)


def worker_environment(n_workers: int) -> dict[str, str]:
    """Thread limits for ``n_workers`` worker processes sharing this machine's cores, as joblib sets them.

    Without them, every worker's OpenMP or BLAS pool would take all the cores (``n_workers`` times
    oversubscribed). A limit the user set in the environment is kept.
    """
    threads = str(max(loky.cpu_count() // n_workers, 1))
    return {variable: os.environ.get(variable, threads) for variable in THREAD_VARIABLES}


# How often a pool worker looks whether the process that started it is still there.
_PARENT_CHECK_SECONDS = 1.0


def _start_worker(token: str, objective: Objective, parent_pid: int) -> None:
    """Pool initializer: install the objective, and end this worker once the process that started the pool is gone
    (an ``fmin`` killed by SIGKILL or the OOM killer must not leave workers computing for nobody)."""
    install_objective(token, objective)
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), name="ultraopt-parent-watch", daemon=True).start()


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(1)


class ProcessExecutor(FuturesExecutor):
    """Runs trials asynchronously in ``n_workers`` local processes.

    The pool is loky's, the process engine of joblib: functions and closures travel with cloudpickle, a worker
    that dies is detected at once, and the workers are killed, not orphaned, when the executor shuts down. As
    with joblib, the thread pools of OpenMP and BLAS in each worker are limited to its share of the cores. The
    objective is installed once in each worker process by the pool's initializer (see
    :mod:`ultraopt.executors.remote`); a task carries only the config and the budget. The pool lives as long as
    the executor, so MapReduce batches reuse the same warm workers.

    A worker that dies (a segfault, the OOM killer) breaks a loky pool: every trial running in it is an
    infrastructure failure and runs again, up to ``max_retries`` times. The pool cannot tell which trial killed
    it, so each runs again apart, in a one-worker pool of its own: a trial that kills its worker on every run
    ends ``LOST`` without taking the trials that ran beside it down too. The workers end by themselves when the
    process that started the pool dies.

    Parameters
    ----------
    n_workers : int
        How many worker processes, hence how many trials run at once.
    max_retries : int
        How many times a trial runs again after its worker died, before it is returned ``LOST``.
    """

    def __init__(self, n_workers: int = 2, max_retries: int = 3) -> None:
        super().__init__(max_retries)
        self.n_workers = check_int("n_workers", n_workers, 1)
        self._objective: Objective | None = None
        self._token = ""
        self._pool: loky.ProcessPoolExecutor | None = None
        self._apart: list[tuple[loky.ProcessPoolExecutor, Future]] = []  # one-worker pools of retried trials

    def start(self, objective: Objective) -> None:
        refuse_in_daemonic_process("MapReduce")
        send_by_value_if_unimportable(objective)
        self._objective = objective
        self._token = new_token()
        self._pool = self._new_pool()

    def _new_pool(self, n_workers: int | None = None) -> loky.ProcessPoolExecutor:
        return loky.ProcessPoolExecutor(
            max_workers=n_workers or self.n_workers,
            initializer=_start_worker,
            initargs=(self._token, self._objective, os.getpid()),
            env=worker_environment(self.n_workers),
        )

    def _launch(self, trial: Trial, report: Report) -> Future:
        assert self._pool is not None, "start() must be called before submit()"
        args = (run_installed, self._token, trial.trial_id, trial.config, trial.budget)
        with explain_unpicklable(self._objective):  # the pool pickles it when it starts a worker
            if trial.attempt > 1:
                future = self._run_apart(args)
            else:
                try:
                    future = self._pool.submit(*args)
                except loky.BrokenProcessPool:  # a worker died earlier: the trials it broke are being retried
                    logger.info("the process pool broke; starting a new one")
                    self._pool.shutdown(wait=False, kill_workers=True)
                    self._pool = self._new_pool()
                    future = self._pool.submit(*args)
        future.add_done_callback(lambda done: report(self._outcome(done)))
        return future

    def _run_apart(self, args: tuple[Any, ...]) -> Future:
        """Run a trial whose worker died in a pool of its own: the trial that killed the worker may be another."""
        for pool, future in [entry for entry in self._apart if entry[1].done()]:
            pool.shutdown(wait=False)
            self._apart.remove((pool, future))
        pool = self._new_pool(n_workers=1)
        future = pool.submit(*args)
        self._apart.append((pool, future))
        return future

    @staticmethod
    def _outcome(future: Future) -> Outcome:
        if future.cancelled():
            return InfrastructureFailure("the task was cancelled")
        error = future.exception()
        if error is None:
            _, evaluation, worker = future.result()
            return evaluation, worker
        if isinstance(error, (loky.BrokenProcessPool, ShutdownExecutorError)):
            return InfrastructureFailure(f"{type(error).__name__}: {error}")
        return TaskError("".join(traceback.format_exception(type(error), error, error.__traceback__)))

    @property
    def n_slots(self) -> int:
        return self.n_workers

    def shutdown(self) -> None:
        """Stop the workers: at once (killing them) when trials are still running, else gracefully."""
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        running = bool(self._running)
        for _, future in self._running.values():
            future.cancel()
        self._running.clear()
        for apart, _ in self._apart:
            apart.shutdown(wait=True, kill_workers=running)
        self._apart.clear()
        pool.shutdown(wait=True, kill_workers=running)
