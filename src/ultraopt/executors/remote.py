"""Running trials in other processes: the objective is installed once per worker, tasks carry a token.

Executors that run trials in other processes (MapReduce on loky or Dask, the Dask executor) do not send the
objective with every trial. It is installed once in each worker process — by the process pool's initializer or
by a Dask worker plugin — under a token unique to the run, and a task carries only the token, the trial id, the
config and the budget. Large objects the objective closes over (a data set, say) cross the wire once per worker,
not once per trial, and workers that join or restart later get the objective the same way.

This module is imported by every worker process, so it imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

from ultraopt.objective import Objective, failed_evaluation

__all__ = [
    "explain_unpicklable",
    "install_objective",
    "new_token",
    "refuse_in_daemonic_process",
    "run_installed",
    "uninstall_objective",
    "worker_name",
]


#: Objectives installed in this process, by run token.
_INSTALLED: dict[str, Objective] = {}


def refuse_in_daemonic_process(strategy: str) -> None:
    """Raise a ``RuntimeError`` that says what to do when this process may not start worker processes.

    A ``multiprocessing.Pool`` worker is daemonic, and multiprocessing forbids it children: the pools of loky and
    of a local Dask cluster failed with a bare ``AssertionError``.
    """
    if multiprocessing.current_process().daemon:
        raise RuntimeError(
            f"parallel_strategy {strategy!r} starts worker processes, which this process may not have: it is "
            "daemonic (a multiprocessing.Pool worker, say). Use parallel_strategy='AsyncComm' (its workers are "
            "plain subprocesses) or n_jobs=1 here, or start this process with daemon=False"
        )


@contextlib.contextmanager
def explain_unpicklable(objective: Any) -> Iterator[None]:
    """Say that the objective cannot be pickled when what the block raises comes from that.

    Process pools and Dask pickle the objective deep inside their own code and raise an error that does not name
    it. The check runs only on the way out of a failure, so the objective is pickled no more than before.
    """
    try:
        yield
    except Exception as exc:
        import cloudpickle

        try:
            cloudpickle.dumps(objective)
        except Exception as reason:
            raise TypeError(
                f"the objective cannot be sent to the worker processes: {reason}. The objective (and whatever it "
                "refers to) must be picklable with cloudpickle, or run it serially (n_jobs=1)"
            ) from exc
        raise


def new_token() -> str:
    """A token naming one run's objective on the workers (and its Dask task keys)."""
    return uuid.uuid4().hex[:12]


def install_objective(token: str, objective: Objective) -> None:
    """Make ``objective`` callable by :func:`run_installed` in this process."""
    _INSTALLED[token] = objective


def uninstall_objective(token: str) -> None:
    """Forget the objective installed under ``token`` (nothing happens if there is none)."""
    _INSTALLED.pop(token, None)


def worker_name() -> str:
    """The Dask worker's address inside a Dask worker, ``host:pid`` elsewhere."""
    distributed = sys.modules.get("distributed")  # imported only where Dask runs the task
    if distributed is not None:
        try:
            return str(distributed.get_worker().address)
        except ValueError:  # not inside a Dask worker
            pass
    return f"{socket.gethostname()}:{os.getpid()}"


def run_installed(token: str, trial_id: int, config: dict[str, Any], budget: float) -> tuple[int, dict[str, Any], str]:
    """Evaluate ``config`` on ``budget`` with the objective installed under ``token``, in a worker.

    Returns
    -------
    (trial_id, evaluation, worker)
        The trial id (results may come back in any order), the :class:`~ultraopt.objective.Evaluation` as plain
        data, and the name of the worker that ran it.

    Raises
    ------
    LookupError
        When no objective is installed under ``token`` in this process (an infrastructure error: the objective's
        own exceptions are recorded in the evaluation, never raised).
    """
    objective = _INSTALLED.get(token)
    if objective is None:
        raise LookupError(f"no UltraOpt objective installed under {token!r} in process {os.getpid()}")
    start = time.time()
    try:
        evaluation = objective(config, budget)
    except KeyboardInterrupt as exc:  # raised by the objective itself: a worker's trial fails, as in AsyncComm
        evaluation = failed_evaluation(exc, start)
    return trial_id, evaluation.to_dict(), worker_name()
