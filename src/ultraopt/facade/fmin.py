"""``fmin``: minimise a function over a search space in one call."""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np
from ConfigSpace import ConfigurationSpace

from ultraopt.checks import CONFIG_LIST, is_config_list
from ultraopt.executors.base import Executor
from ultraopt.executors.serial import SerialExecutor
from ultraopt.facade.checks import (
    InvalidArgumentError,
    check_arguments,
    is_callables,
    is_dask_client,
    is_positive_int,
    is_positive_number,
    is_seed,
    optional,
)
from ultraopt.facade.in_use import held_by_this_run
from ultraopt.facade.registry import DASK_STRATEGIES, EXECUTOR_FACTORIES, make_optimizer
from ultraopt.hdl import as_config_space
from ultraopt.hdl.configs import values_json_cannot_hold
from ultraopt.jsonable import to_jsonable
from ultraopt.limits import LimitedObjective
from ultraopt.master import Callback, Master, ObjectiveError
from ultraopt.multi_fidelity.iter_gen.base_gen import BaseIterGenerator
from ultraopt.multi_fidelity.iter_gen.custom_gen import CustomIterGenerator
from ultraopt.objective import Objective
from ultraopt.optimizer.base_opt import BaseOptimizer
from ultraopt.progress import ProgressBar
from ultraopt.result import FMinResult
from ultraopt.storage import Storage, open_storage
from ultraopt.storage.identity import (
    WARM_START_STRATEGIES,
    describe_run,
    load_previous_result,
    session_seed,
    warm_start_trials,
)
from ultraopt.trial import Trial

__all__ = ["fmin"]

logger = logging.getLogger(__name__)

_CONSTRAINTS = {
    "n_iterations": (is_positive_int, "a positive int"),
    "n_jobs": (is_positive_int, "a positive int"),
    "random_state": (is_seed, "None, a non-negative int or a numpy Generator"),
    "auto_identify_serial_strategy": (lambda v: isinstance(v, bool), "True or False"),
    "show_progressbar": (lambda v: isinstance(v, bool), "True or False"),
    "time_limit": (optional(is_positive_number), "None or a positive number of seconds"),
    "early_stopping_rounds": (optional(is_positive_int), "None or a positive int"),
    "callbacks": (optional(is_callables), "None or a list of callables callback(result, trial)"),
    "initial_points": (optional(is_config_list), f"None or {CONFIG_LIST}"),
    "verbose": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a non-negative int"),
    "multi_fidelity_iter_generator": (
        lambda v: v is None or isinstance(v, BaseIterGenerator),
        "None or an iteration generator such as HyperBandIterGenerator(min_budget, max_budget, eta)",
    ),
    "parallel_strategy": (
        lambda v: isinstance(v, Executor) or v in EXECUTOR_FACTORIES,
        "one of 'Serial', 'AsyncComm', 'MapReduce', 'Dask' or an Executor",
    ),
    "previous_result": (
        lambda v: v is None or isinstance(v, (FMinResult, str, os.PathLike)),
        "None, an FMinResult or the path of a saved result (JSON) or of a checkpoint file (SQLite)",
    ),
    "warm_start_strategy": (lambda v: v in WARM_START_STRATEGIES, f"one of {list(WARM_START_STRATEGIES)}"),
    "checkpoint_file": (
        lambda v: v is None or isinstance(v, Storage) or (isinstance(v, (str, os.PathLike)) and os.fspath(v) != ""),
        "None, the path of an SQLite file or a Storage",
    ),
    "checkpoint_freq": (optional(is_positive_int), "None or a positive int (it has no effect, see the docstring)"),
    "trial_time_limit": (optional(is_positive_number), "None or a positive number of seconds"),
    "trial_memory_limit": (optional(is_positive_number), "None or a positive number of MB"),
    "dask_client": (optional(is_dask_client), "None or a distributed.Client that is not closed"),
}


def fmin(
    eval_func: Callable[..., Any],
    config_space: Mapping[str, Any] | ConfigurationSpace,
    optimizer: str | type[BaseOptimizer] | BaseOptimizer = "ETPE",
    initial_points: Iterable[Mapping[str, Any]] | None = None,
    random_state: int | np.random.Generator | None = 42,
    n_iterations: int = 100,
    n_jobs: int = 1,
    parallel_strategy: str | Executor = "AsyncComm",
    auto_identify_serial_strategy: bool = True,
    multi_fidelity_iter_generator: BaseIterGenerator | None = None,
    previous_result: FMinResult | str | os.PathLike[str] | None = None,
    warm_start_strategy: str = "resume",
    show_progressbar: bool = True,
    checkpoint_file: str | os.PathLike[str] | Storage | None = None,
    checkpoint_freq: int | None = 10,
    time_limit: float | None = None,
    callbacks: Iterable[Callback] | None = None,
    early_stopping_rounds: int | None = None,
    trial_time_limit: float | None = None,
    trial_memory_limit: float | None = None,
    verbose: int = 0,
    dask_client: Any = None,
) -> FMinResult:
    """Minimise ``eval_func`` over ``config_space``.

    Parameters
    ----------
    eval_func : callable
        ``eval_func(config)`` or ``eval_func(config, budget)`` (the budget is passed whenever the function has a
        ``budget`` parameter or a second required one). It returns a float loss or a dict with ``"loss"`` and
        optional ``"info"`` and other entries, kept with the trial. An exception or a non-finite loss makes a
        failed trial and the run goes on; if each of the first trials fails, the run stops with
        :class:`~ultraopt.master.ObjectiveError`.
    config_space : dict or ConfigurationSpace
        The search space: an HDL dict (see :mod:`ultraopt.hdl`) or a ConfigSpace space.
    optimizer : str, BaseOptimizer subclass or instance
        ``"ETPE"`` (default), ``"TPE"``, ``"Forest"``, ``"GBRT"``, ``"Random"``, or your own. An instance (like
        an executor instance) serves one run at a time: another ``fmin`` call running with it is refused.
    initial_points : list of dict, optional
        Configs evaluated first, validated against the space: flat (``{"est:__choice__": "svc", "est:svc:C":
        1.0}``) or nested as :func:`~ultraopt.hdl.layering_config` gives them (``{"est": {"svc": {"C": 1.0}}}``).
    random_state : int, numpy.random.Generator or None
        Seed: the same seed and the same results, told in the same order, give the same proposals. Serial and
        MapReduce runs repeat exactly; AsyncComm tells results as workers finish them, so its runs repeat only
        with the Random optimizer. A Generator is used as it is and its state is not stored: pass an int for
        runs that resume reproducibly.
    n_iterations : int
        Iterations of the schedule: without ``multi_fidelity_iter_generator``, the number of evaluations (fewer
        when a finite space has fewer configs: the run then ends once each was evaluated, with
        ``result.meta["stop_reason"] == "space exhausted"``); with Hyperband, the number of brackets.
    n_jobs : int
        How many evaluations run at once.
    parallel_strategy : str or Executor
        Where the evaluations run; every strategy passes the budget and runs multi-fidelity schedules.

        - ``"Serial"``: one at a time in this process. For cheap objectives and debugging.
        - On one machine, ``"AsyncComm"`` or ``"MapReduce"``. ``"AsyncComm"`` is asynchronous: a worker process
          takes the next config as soon as it is free, which pays when trials take unequal times (Hyperband
          budgets, say). ``"MapReduce"`` runs batches of ``n_jobs`` distinct configs in local processes (on the
          process's default Dask client instead, if one is active) and tells the optimizer a whole batch before
          asking for the next; simple, and as fast when trials take similar times.
        - On a cluster with a shared filesystem: ``"AsyncComm"``, with workers started on the nodes by
          ``ultraopt worker`` (they find the name server through the working directory).
        - On a Dask cluster (SLURM or PBS through dask-jobqueue, Kubernetes through dask-kubernetes, ...):
          ``"Dask"`` with ``dask_client``; asynchronous like AsyncComm, with no server of ours. Without a client,
          ``"Dask"`` creates a ``LocalCluster`` of ``n_jobs`` worker processes bound to 127.0.0.1 and closes it
          at the end.

        An :class:`~ultraopt.executors.base.Executor` instance is used as given, e.g.
        ``SimulatedExecutor(n_workers=8)`` to run on virtual workers and a virtual clock
        (:mod:`ultraopt.executors.simulated`).
    auto_identify_serial_strategy : bool
        With ``n_jobs == 1`` and no ``dask_client``, run serially whatever ``parallel_strategy`` says (nothing
        would run in parallel).
    multi_fidelity_iter_generator : BaseIterGenerator, optional
        A multi-fidelity schedule such as Hyperband; by default one evaluation per iteration on budget 1.
    previous_result : FMinResult or path, optional
        An earlier run to warm-start from: a result, a result saved with :meth:`FMinResult.save` (JSON) or the
        ``checkpoint_file`` of a run (SQLite). Its finished trials whose configs are valid in
        ``config_space`` are told to the new optimizer before the run (others are skipped and logged); they
        do not count towards ``n_iterations``. The new run keeps its own space, seed and settings.
    warm_start_strategy : {"resume", "continue"}
        ``"resume"``: the earlier trials only inform the optimizer. ``"continue"``: they also stay in the new
        result (its trials, table and best config), ahead of the new trials, which are numbered after them.
    show_progressbar : bool
        Show trials done, the best loss and the largest budget reached.
    checkpoint_file : str, Path or Storage, optional
        Journal the run in this SQLite file (or in this :class:`~ultraopt.storage.Storage`): every trial is
        committed when it is created and when it finishes, so a crash at any instant loses no finished trial.
        When the file already holds this run (same space, optimizer and its ``get_params()``, seed, schedule,
        initial points and warm start), the call continues it: finished trials are kept and told to a fresh
        optimizer, trials that were running run again, brackets continue where they were, and the run ends
        with ``n_iterations`` iterations in all (``n_iterations`` may grow from one call to the next). A file
        holding another run, or one that is not an UltraOpt storage, is refused with a ``ValueError`` and left
        unmodified.
        :meth:`FMinResult.load` reads the file for analysis. Without it the run is kept in memory only.
    checkpoint_freq : int, optional
        Has no effect, and is accepted so that calls written for the 2021 library run: every trial is
        committed to ``checkpoint_file`` as it finishes, not every ``checkpoint_freq`` trials.
    time_limit : float, optional
        Seconds (from the start of this call) after which no new trial starts; running trials are cancelled
        (with a ``checkpoint_file`` they run again when the run is resumed). ``"Serial"`` runs the objective in
        this process, so its running trial ends first; ``trial_time_limit`` bounds that.
    callbacks : list of callable, optional
        ``callback(result, trial)`` after each finished trial; a truthy return value stops the run: no new trial
        starts, and the trials already running (with ``n_jobs > 1``) still finish, are recorded and are shown to
        the callbacks. Trials restored from a ``checkpoint_file`` are not shown to callbacks. An exception raised
        by a callback stops the run and leaves ``fmin``; the run so far is its ``.result``.
    early_stopping_rounds : int, optional
        Stop when this many trials in a row on the largest budget (``max_budget`` with Hyperband) did not
        improve the best loss there; trials on smaller budgets neither count nor reset the count.
    trial_time_limit : float, optional
        Seconds an evaluation may take: each evaluation runs in a child process, killed at the limit and
        recorded as a ``timeout`` trial; the run goes on. Applies in every parallel strategy whose workers
        evaluate ``eval_func``; workers started elsewhere (an ``AsyncCommExecutor`` of a run) take their own limits
        (``ultraopt worker --trial-time-limit``), and giving one here is an error.
    trial_memory_limit : float, optional
        MB an evaluation may allocate (address space, beyond the fresh child process's own; Linux only): an
        evaluation over the limit is stopped and recorded as a ``memout`` trial.
    verbose : int
        ``1`` or more logs every new best loss at INFO level on the ``ultraopt`` logger.
    dask_client : distributed.Client, optional
        Run on this Dask cluster, with ``parallel_strategy="Dask"`` or ``"MapReduce"``. It is left running. The
        cluster's worker threads set how many trials run at once; ``n_jobs > 1`` caps that number (``"Dask"``) or
        sets the batch size (``"MapReduce"``). Workers must be able to import ``ultraopt`` and unpickle
        ``eval_func``.

    Returns
    -------
    FMinResult
        Every trial, the best config and loss per budget; ``print(result)`` shows the optimum table. Ctrl-C
        stops the run and returns the result so far (``result.meta["stop_reason"] == "interrupted"``).

    Examples
    --------
    >>> from ultraopt import fmin
    >>> space = {"x": {"_type": "uniform", "_value": [-5, 5]}}
    >>> result = fmin(lambda c: (c["x"] - 1) ** 2, space, optimizer="Random", n_iterations=20,
    ...               show_progressbar=False)
    >>> len(result.trials)
    20
    """
    # both are read more than once below: a generator would be empty after the first time
    if isinstance(initial_points, Iterator):
        initial_points = list(initial_points)
    if isinstance(callbacks, Iterator):
        callbacks = list(callbacks)
    check_arguments(locals(), _CONSTRAINTS, "fmin")
    n_iterations, n_jobs = int(n_iterations), int(n_jobs)  # numpy ints pass the checks; the saved meta is JSON
    objective: Objective = Objective(eval_func)
    takes_budget = objective.passes_budget
    if trial_time_limit is not None or trial_memory_limit is not None:
        objective = LimitedObjective(objective, time_limit=trial_time_limit, memory_limit=trial_memory_limit)
    if checkpoint_freq not in (None, 10):
        logger.info("checkpoint_freq=%s has no effect: every trial is committed as it finishes", checkpoint_freq)
    space = as_config_space(config_space)
    if checkpoint_file is not None:
        _refuse_values_json_changes(space, "checkpoint_file stores configs as JSON", "the run could not be resumed",
                                    "run without a checkpoint_file")
    generator = multi_fidelity_iter_generator or CustomIterGenerator([1], [1.0])
    budgets = generator.get_budgets()
    the_optimizer = make_optimizer(optimizer)
    strategy = _choose_strategy(parallel_strategy, n_jobs, auto_identify_serial_strategy, dask_client)
    executor = _make_executor(strategy, n_jobs, dask_client)
    if executor.sends_configs_as_json:
        _refuse_values_json_changes(space, f"the {type(executor).__name__} workers receive configs as JSON",
                                    "the objective would get another value than the one recorded",
                                    "use parallel_strategy='MapReduce' or 'Dask'")
    if isinstance(objective, LimitedObjective) and not executor.runs_given_objective:
        raise InvalidArgumentError(
            f"fmin: trial_time_limit and trial_memory_limit cannot reach the workers of {type(executor).__name__}: "
            "they evaluate their own objective. Set the limits where the workers start (`ultraopt worker "
            "--trial-time-limit S --trial-memory-limit MB`, or Worker(...).initialize(LimitedObjective(...)))"
        )
    if len(budgets) > 1 and executor.runs_given_objective and not takes_budget:
        logger.warning(
            "fmin: the schedule has %d budgets but the objective takes none (it is called as f(config)), so every "
            "stage repeats the same evaluation; give it a second parameter: f(config, budget)", len(budgets))
    n_points, n_new = len(list(initial_points or [])), generator.num_new_configs(n_iterations)
    if n_points > n_new:
        logger.warning(
            "fmin: %d initial_points, but %d iterations sample %d new configs: the last %d initial points are not "
            "evaluated; raise n_iterations to evaluate them all", n_points, n_iterations, n_new, n_points - n_new)
    if isinstance(executor, SerialExecutor) and n_jobs > 1:
        logger.warning("fmin: n_jobs=%d has no effect with parallel_strategy 'Serial': trials run one at a time; "
                       "give 'AsyncComm', 'MapReduce' or 'Dask' to run them in parallel", n_jobs)
    started_at = executor.clock()  # time_limit counts from the call: starting workers or a cluster takes time too
    meta = {
        "optimizer": the_optimizer.name,
        "random_state": int(random_state) if isinstance(random_state, numbers.Integral) else None,
        "n_iterations": n_iterations,
        "n_jobs": _jobs_at_once(executor, parallel_strategy, n_jobs, dask_client),
        "parallel_strategy": strategy if isinstance(strategy, str) else type(strategy).__name__,
        # A ConfigurationSpace is a Mapping too (of hyperparameter objects): only an HDL dict is kept.
        # to_jsonable: an HDL written with numpy (list(np.arange(1, 6))) made save() fail after the run
        "hdl": None if isinstance(config_space, ConfigurationSpace) else to_jsonable(dict(config_space)),
    }
    warm_start = [] if previous_result is None else warm_start_trials(load_previous_result(previous_result), space)
    header = describe_run(space, generator, the_optimizer, random_state, initial_points, warm_start,
                          warm_start_strategy, meta)
    result = FMinResult(space, budgets, meta=meta)
    storage = open_storage(checkpoint_file)
    progress = None
    master = None
    held = contextlib.ExitStack()
    try:
        held.enter_context(held_by_this_run(optimizer=the_optimizer, parallel_strategy=executor))
        seed = session_seed(random_state, storage.n_events)
        if the_optimizer.n_told:
            logger.warning(
                "fmin: the %s given was told %d result(s) before; fmin starts it afresh on this run's space. To "
                "start from earlier results, pass them as previous_result= (an FMinResult or its file)",
                type(the_optimizer).__name__, the_optimizer.n_told)
        the_optimizer.initialize(space, budgets=budgets, random_state=seed, initial_points=initial_points)
        storage.open_run(header)
        storage.update_meta(result.meta)
        user_callbacks: list[Callback] = list(callbacks or [])
        if verbose:
            user_callbacks.append(_log_new_best)
        master = Master(
            the_optimizer,
            generator,
            executor,
            result,
            time_limit=math.inf if time_limit is None else float(time_limit),
            callbacks=user_callbacks,
            early_stopping_rounds=early_stopping_rounds,
            storage=storage,
        )
        master.restore(n_iterations)
        result.meta["n_iterations"] = master.n_iterations  # a checkpoint may hold more than asked for this time
        progress = ProgressBar(
            generator.num_all_configs(master.n_iterations), show_budget=len(budgets) > 1, disable=not show_progressbar
        )
        progress.catch_up(result, len(result.trials) - (len(warm_start) if header.keep_warm_start else 0))
        master.callbacks.insert(0, progress)
        try:
            with executor:
                try:
                    executor.start(objective)
                except KeyboardInterrupt:  # Ctrl-C while the workers start: the result so far, as during the run
                    master.stop_reason = "interrupted"
                    logger.warning("interrupted while the executor started")
                master.run(n_iterations, started_at=started_at)
        except KeyboardInterrupt:  # the run handles Ctrl-C itself: this one came as the executor shut down
            logger.warning("interrupted while the executor shut down; the result so far is kept")
            master.stop_reason = master.stop_reason or "interrupted"
        except Exception as error:  # a callback's bug, or an executor's failing shutdown: it must not take the
            _attach_result(error, result)  # finished trials with it
            raise
    finally:
        held.close()  # first: whatever fails below, the instances are free for the next run
        if progress is not None:
            stop_reason = None if master is None else master.stop_reason
            progress.close(complete=stop_reason == "finished", stop_reason=stop_reason or "error")
        try:
            if master is not None:
                result.meta["stop_reason"] = master.stop_reason or "error"  # None: an error left the run
                storage.update_meta(result.meta)
        except Exception as error:  # a full disk: the error replaces the run's, so it carries the trials too
            _attach_result(error, result)
            raise
        finally:
            storage.close()
            if isinstance(objective, LimitedObjective):
                objective.close()
    return result


def _attach_result(error: Exception, result: FMinResult) -> None:
    """Give ``error`` the run so far as ``error.result``, as :class:`~ultraopt.master.ObjectiveError` has it."""
    if isinstance(error, ObjectiveError):
        return
    try:
        error.result = result  # type: ignore[attr-defined]
    except AttributeError:  # an exception type with __slots__
        return
    if hasattr(error, "add_note"):  # Python 3.11+
        error.add_note(f"fmin: the run stopped; its {len(result.trials)} finished trials are in this error's .result")


def _refuse_values_json_changes(space: ConfigurationSpace, how: str, consequence: str, alternative: str) -> None:
    """Raise an ``InvalidArgumentError`` when a value of ``space`` would not survive a JSON round trip."""
    if unsavable := values_json_cannot_hold(space):
        raise InvalidArgumentError(
            f"fmin: {how}, which cannot give back {unsavable[0]}: {consequence}. Use strings, numbers, bools or None "
            f"as choices (e.g. '20,20' for (20, 20)) and convert them in the objective, or {alternative}"
        )


def _choose_strategy(
    parallel_strategy: str | Executor, n_jobs: int, auto_serial: bool, dask_client: Any
) -> str | Executor:
    """The strategy that will run: an executor instance as given, else Serial for one job when allowed.

    A ``dask_client`` goes with the Dask strategies only, and keeps one job from meaning Serial: with a client,
    the cluster sets how many trials run at once.
    """
    if dask_client is not None and parallel_strategy not in DASK_STRATEGIES:
        raise InvalidArgumentError(
            f"fmin: dask_client is used with parallel_strategy 'Dask' or 'MapReduce', got {parallel_strategy!r}"
        )
    if isinstance(parallel_strategy, Executor):
        return parallel_strategy
    return "Serial" if auto_serial and n_jobs == 1 and dask_client is None else parallel_strategy


def _make_executor(strategy: str | Executor, n_jobs: int, dask_client: Any) -> Executor:
    if isinstance(strategy, Executor):
        return strategy
    options = {} if dask_client is None else {"dask_client": dask_client}
    return EXECUTOR_FACTORIES[strategy](n_jobs, **options)


def _jobs_at_once(executor: Executor, parallel_strategy: Any, n_jobs: int, dask_client: Any) -> int | None:
    """How many trials the run takes at once, for its meta; ``None`` when it is not known here."""
    if dask_client is not None and n_jobs == 1:
        return None  # no cap: the cluster's worker threads decide
    if executor is parallel_strategy or isinstance(executor, SerialExecutor):
        return _workers_of(executor)  # the user's executor, or Serial, which ignores n_jobs
    return n_jobs


def _workers_of(executor: Executor) -> int | None:
    """How many trials an executor the user made runs at once (its ``n_workers`` or ``n_jobs``; ``None``: not
    known here, e.g. workers started elsewhere), for the run's meta: fmin's ``n_jobs`` did not size it."""
    for name in ("n_workers", "n_jobs"):
        value: Any = getattr(executor, name, None)
        if is_positive_int(value):
            return int(value)
    return 1 if isinstance(executor, SerialExecutor) else None


def _log_new_best(result: FMinResult, trial: Trial) -> None:
    best = result.best_trial(trial.budget)
    if best is trial:
        logger.info("trial %d: new best loss %.6g on budget %g", trial.trial_id, trial.loss, trial.budget)
