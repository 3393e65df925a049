"""The master of a distributed run: the core Master loop driving the Pyro5 executor.

This is the seed's ``Master``: it decides what runs on which budget (through the one loop of
:class:`ultraopt.master.Master`) and runs it on the workers of ``run_id`` (through
:class:`~ultraopt.executors.async_comm.AsyncCommExecutor`, whose dispatcher finds them in the name server). It
adds what the seed promises on top: waiting for workers, incumbents per budget, a result logger and a progress
callback.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
from collections.abc import Callable, Mapping
from typing import Any

from ultraopt.executors.async_comm import AsyncCommExecutor
from ultraopt.interrupts import interrupt_deferred
from ultraopt.master import Master as _CoreMaster
from ultraopt.multi_fidelity.iter.base_iter import BaseIteration
from ultraopt.multi_fidelity.iter_gen.base_gen import BaseIterGenerator
from ultraopt.optimizer.base_opt import BaseOptimizer
from ultraopt.result import FMinResult
from ultraopt.storage import Storage, open_storage
from ultraopt.storage.identity import describe_run, load_previous_result, warm_start_trials
from ultraopt.trial import Trial

__all__ = ["Master", "no_progress_callback"]

logger = logging.getLogger(__name__)


def no_progress_callback(*args: Any, **kwargs: Any) -> None:
    """The default progress callback: shows nothing."""


class _Loop(_CoreMaster):
    """The core loop, creating iterations through the seed Master (which users may override)."""

    def __init__(self, owner: Master, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.owner = owner

    def _new_iteration(self, index: int) -> BaseIteration:
        return self.owner.get_next_iteration(index, self.owner.iteration_kwargs)


class Master:
    """Decides what runs on which budget, runs it on the workers of ``run_id`` and records the results.

    Parameters
    ----------
    run_id : str
        The run; its workers register under it.
    optimizer : BaseOptimizer
        An initialized optimizer (``optimizer.initialize(config_space, budgets=iter_generator.get_budgets())``).
    iter_generator : BaseIterGenerator
        The schedule of iterations (Hyperband, successive halving, or one evaluation per iteration).
    progress_callback : callable
        ``progress_callback(result, trial)`` after each finished trial (an :class:`ultraopt.progress.ProgressBar`
        fits; its ``catch_up(result, n)`` is called with the trials a resumed run restored).
    checkpoint_file : str, Path or Storage, optional
        Journal the run in this SQLite file (see ``fmin(checkpoint_file=...)``): every trial is committed as it
        is created and as it finishes. When the file holds this run (same space, optimizer, schedule and warm
        start), :meth:`run` continues it: finished trials are kept and told to the optimizer, trials that were
        running run again, brackets continue, and the iterations of every :meth:`run` call count from the
        start of the stored run. A file of another run is refused with a ``ValueError`` and left unmodified.
    checkpoint_freq : int
        Has no effect (kept for the seed's signature): every trial is committed as it finishes.
    previous_result : FMinResult or path, optional
        An earlier run (a result, a saved JSON result or a checkpoint file) whose finished trials are told to the
        optimizer before the run, as HpBandSter's warm start does; they are not part of this run's result.
    working_directory : str
        Directory shared with the workers: passed to their ``compute``, and where the name server's credentials
        file is looked for.
    ping_interval : float
        Seconds between two looks for new workers in the name server (workers also announce themselves at once).
    time_left_for_this_task : float
        Seconds after which :meth:`run` starts no new trial and cancels the running ones.
    nameserver, nameserver_port : str, int, optional
        The run's name server; found in this process or in ``working_directory`` when not given.
    host : str, optional
        Address the dispatcher binds to, reachable from the workers; ``127.0.0.1`` by default.
    shutdown_workers : bool
        Whether :meth:`shutdown` also stops the workers.
    job_queue_sizes : tuple of int
        ``(low, high)``: when no more than ``low`` trials are held, submit more up to ``high``.
    dynamic_queue_size : bool
        Whether ``job_queue_sizes`` are relative to the number of workers (``(-1, 0)``: one trial per worker).
    result_logger : callable, optional
        ``result_logger(trial)`` with each finished trial, e.g. to write live results to disk.
    incumbents, incumbent_performances : dict, optional
        Best config and loss per budget known before the run; kept up to date during the run.
    secret : str, optional
        The run's secret (found like ``nameserver``, or in ``ULTRAOPT_SECRET``).
    **executor_kwargs
        ``max_retries``, ``heartbeat_timeout``, ``prefetch``: see :class:`~ultraopt.async_comm.dispatcher.Dispatcher`.
    """

    def __init__(
        self,
        run_id: str,
        optimizer: BaseOptimizer,
        iter_generator: BaseIterGenerator,
        progress_callback: Callable[..., Any] = no_progress_callback,
        checkpoint_file: str | os.PathLike[str] | Storage | None = None,
        checkpoint_freq: int = 10,
        working_directory: str | os.PathLike[str] = ".",
        ping_interval: float = 60,
        time_left_for_this_task: float = math.inf,
        nameserver: str | None = "127.0.0.1",
        nameserver_port: int | None = None,
        host: str | None = None,
        shutdown_workers: bool = True,
        job_queue_sizes: tuple[int, int] = (-1, 0),
        dynamic_queue_size: bool = True,
        result_logger: Callable[[Trial], Any] | None = None,
        previous_result: Any = None,
        incumbents: dict[float, dict] | None = None,
        incumbent_performances: dict[float, float] | None = None,
        *,
        secret: str | None = None,
        **executor_kwargs: Any,
    ):
        if getattr(optimizer, "config_space", None) is None:
            raise ValueError(
                "initialize the optimizer first: "
                "optimizer.initialize(config_space, budgets=iter_generator.get_budgets())"
            )
        meta = {"optimizer": getattr(optimizer, "name", type(optimizer).__name__), "run_id": str(run_id),
                "parallel_strategy": "AsyncComm"}
        warm_start = ([] if previous_result is None
                      else warm_start_trials(load_previous_result(previous_result), optimizer.config_space))
        self.storage = open_storage(checkpoint_file)
        try:  # a failure leaves no Master to shut down, so the file is released here (a failed start cleans up)
            # the optimizer was seeded by the caller, so the seed is not part of what defines the run
            self.storage.open_run(describe_run(optimizer.config_space, iter_generator, optimizer, None,
                                               warm_start=warm_start, meta=meta))
            self.run_id = str(run_id)
            self.optimizer = optimizer
            self.iter_generator = iter_generator
            self.progress_callback = progress_callback
            self.working_directory = str(working_directory)
            self.shutdown_workers = shutdown_workers
            self.result_logger = result_logger
            self.incumbents: dict[float, dict] = dict(incumbents or {})
            self.incumbent_performances: dict[float, float] = dict(incumbent_performances or {})
            self.iteration_kwargs: dict[str, Any] = {}
            self.executor = AsyncCommExecutor(
                self.run_id, nameserver, nameserver_port, host, secret=secret, ping_interval=ping_interval,
                job_queue_sizes=job_queue_sizes, dynamic_queue_size=dynamic_queue_size,
                working_directory=self.working_directory, queue_callback=self.adjust_queue_size, **executor_kwargs,
            )
            self.result = FMinResult(optimizer.config_space, iter_generator.get_budgets(), meta=meta)
            self._loop = _Loop(
                self, optimizer, iter_generator, self.executor, self.result, time_limit=float(time_left_for_this_task),
                callbacks=[lambda result, trial: self.job_callback(trial)], storage=self.storage,
            )
            self._n_iterations = 0
            self._shut_down = False
            self.executor.start()  # workers can join from now on
        except BaseException:
            self.storage.close()
            raise

    def run(self, n_iterations: int = 1, min_n_workers: int = 1,
            iteration_kwargs: Mapping[str, Any] = {},  # noqa: B006 - the seed's signature; only ever copied
            ) -> FMinResult:
        """Run ``n_iterations`` more iterations (once ``min_n_workers`` workers joined); returns the result so far.

        Parameters
        ----------
        n_iterations : int
            Iterations to add to those of earlier calls.
        min_n_workers : int
            Workers to wait for before the first trial is submitted.
        iteration_kwargs : dict, optional
            Extra keyword arguments of every new iteration.

        Raises
        ------
        TypeError
            When ``n_iterations`` is not an int (a bool included).
        ValueError
            When ``n_iterations`` is not positive.
        """
        # Checked before any state changes: the count adds up over calls, so a negative one would be taken off
        # later runs, and a float would break the iteration slices for good.
        if isinstance(n_iterations, bool) or not isinstance(n_iterations, numbers.Integral):
            raise TypeError(f"n_iterations must be a positive int, got {n_iterations!r}")
        if n_iterations < 1:
            raise ValueError(f"n_iterations must be a positive int, got {n_iterations!r}")
        if self._shut_down:
            raise RuntimeError(f"the master of run {self.run_id!r} was shut down: make a new Master to run more")
        started_at = self._loop.clock()  # time_left_for_this_task counts the wait for workers too
        self.iteration_kwargs = dict(iteration_kwargs or {})
        self._n_iterations += int(n_iterations)
        self._loop.stop_reason = None
        try:
            if self._loop.restore(self._n_iterations):  # trials of a stored run: no callbacks, but incumbents
                for trial in self.result.trials:
                    self._update_incumbent(trial)
                catch_up = getattr(self.progress_callback, "catch_up", None)  # a ProgressBar counts them at once
                if catch_up is not None:
                    catch_up(self.result, len(self.result.trials))
            if self._loop.is_done:  # a finished run started again (a requeued cluster job): no worker will come
                self._loop.stop_reason = "finished"
                return self.result
            try:
                joined = self._wait_for_workers(min_n_workers, deadline=started_at + self._loop.time_limit)
            except KeyboardInterrupt:  # as during the run: the result so far, and the reason, are kept
                logger.warning("interrupted while waiting for workers of run %r", self.run_id)
                self._loop.stop_reason = "interrupted"
                return self.result
            if not joined:
                self._loop.stop_reason = "time limit"
                return self.result
            return self._loop.run(self._n_iterations, started_at=started_at)
        finally:
            self.result.meta["stop_reason"] = self._loop.stop_reason
            self.storage.update_meta(self.result.meta)

    def wait_for_workers(self, min_n_workers: int = 1) -> None:
        """Block until at least ``min_n_workers`` workers joined.

        Raises
        ------
        RuntimeError
            When the master is shut down meanwhile (from another thread).
        """
        self._wait_for_workers(min_n_workers, deadline=math.inf)

    def _wait_for_workers(self, min_n_workers: int, deadline: float) -> bool:
        """Wait for ``min_n_workers`` until ``deadline`` (on the loop's clock); ``False`` when it passed."""
        while not self.executor.wait_for_workers(min_n_workers, timeout=min(10.0, deadline - self._loop.clock())):
            if self._shut_down:
                raise RuntimeError(f"the master of run {self.run_id!r} was shut down while it waited for workers")
            if self._loop.clock() >= deadline:
                return False
            logger.info("waiting for workers of run %r: %d of %d", self.run_id,
                        self.executor.dispatcher.number_of_workers(), min_n_workers)
        return True

    def shutdown(self, shutdown_workers: bool = False) -> None:
        """Stop the dispatcher; the workers too when ``shutdown_workers`` (or the constructor's) says so."""
        self._shut_down = True
        self.executor.shutdown_workers = shutdown_workers or self.shutdown_workers
        # Ctrl-C (again) meanwhile waits until the shutdown is done: stopped half-way, it left a Pyro5 traceback
        # and the run's credentials and lock files behind
        with interrupt_deferred(until="the master has shut down"):
            try:
                self.executor.shutdown()
            finally:
                self.storage.close()

    def __enter__(self) -> Master:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    # ------------------------------------------------------------------ the seed's hooks
    def get_next_iteration(self, iteration: int, iteration_kwargs: Mapping[str, Any]) -> BaseIteration:
        """Make iteration ``iteration``; override to change how iterations are made."""
        return self.iter_generator.get_next_iteration(iteration, self._loop._sample, **iteration_kwargs)

    def active_iterations(self) -> list[BaseIteration]:
        """The iterations that are not finished."""
        return [iteration for iteration in self._loop.iterations if not iteration.is_finished]

    def adjust_queue_size(self, number_of_workers: int | None = None) -> tuple[int, int]:
        """The ``(low, high)`` job queue sizes for ``number_of_workers`` (called when workers join or leave)."""
        sizes = self.executor.queue_sizes(number_of_workers)
        logger.debug("run %r: %s worker(s), job queue sizes %s", self.run_id, number_of_workers, sizes)
        return sizes

    def job_callback(self, job: Trial) -> None:
        """Book-keeping after each finished trial: incumbents, result logger, progress callback."""
        self._update_incumbent(job)
        if self.result_logger is not None:
            self.result_logger(job)
        self.progress_callback(self.result, job)

    def _update_incumbent(self, job: Trial) -> None:
        if job.is_success and job.loss < self.incumbent_performances.get(job.budget, math.inf):  # type: ignore[operator]
            self.incumbents[job.budget] = dict(job.config)
            self.incumbent_performances[job.budget] = float(job.loss)  # type: ignore[arg-type]
