"""Names users type for optimizers and parallel strategies, and what they stand for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ultraopt import optimizer as optimizers
from ultraopt.executors.base import Executor
from ultraopt.executors.batch import MapReduceExecutor
from ultraopt.executors.serial import SerialExecutor
from ultraopt.facade.checks import InvalidArgumentError
from ultraopt.optimizer.base_opt import BaseOptimizer

__all__ = ["DASK_STRATEGIES", "EXECUTOR_FACTORIES", "OPTIMIZERS", "make_optimizer"]

#: Optimizer name (case-insensitive) to the name of its class in :mod:`ultraopt.optimizer`, which imports a
#: class when it is first used (the tree surrogates need scikit-learn, which ETPE runs need not load).
OPTIMIZERS: dict[str, str] = {
    "ETPE": "ETPEOptimizer",
    "TPE": "TPEOptimizer",
    "Random": "RandomOptimizer",
    "Forest": "ForestOptimizer",
    "GBRT": "GBRTOptimizer",
}
_BY_LOWER_NAME = {name.lower(): class_name for name, class_name in OPTIMIZERS.items()}


def _async_comm_executor(n_jobs: int) -> Executor:
    """A name server and ``n_jobs`` worker processes on this machine (Pyro5 is imported only when used)."""
    from ultraopt.executors.async_comm import LocalAsyncCommExecutor

    return LocalAsyncCommExecutor(n_jobs)


def _dask_executor(n_jobs: int, dask_client: Any = None) -> Executor:
    """On ``dask_client``'s cluster (at most ``n_jobs`` trials at once if ``n_jobs > 1``), or on a LocalCluster
    of ``n_jobs`` worker processes created for the run."""
    from ultraopt.executors.dask_executor import DaskExecutor  # importing Dask takes a moment

    if dask_client is None:
        return DaskExecutor(n_workers=n_jobs)
    return DaskExecutor(dask_client, max_running=n_jobs if n_jobs > 1 else None)


#: Parallel strategy name to ``factory(n_jobs, **options) -> Executor``; ``dask_client`` is the only option, and
#: only the strategies of :data:`DASK_STRATEGIES` take it.
EXECUTOR_FACTORIES: dict[str, Callable[..., Executor]] = {
    "Serial": lambda n_jobs: SerialExecutor(),
    "AsyncComm": _async_comm_executor,
    "MapReduce": lambda n_jobs, dask_client=None: MapReduceExecutor(n_jobs, dask_client=dask_client),
    "Dask": _dask_executor,
}

#: The strategies that can run on a Dask cluster passed as ``dask_client``.
DASK_STRATEGIES = ("Dask", "MapReduce")


def make_optimizer(optimizer: Any) -> BaseOptimizer:
    """An optimizer instance from a name, a :class:`BaseOptimizer` subclass or an instance."""
    if isinstance(optimizer, BaseOptimizer):
        return optimizer
    if isinstance(optimizer, type) and issubclass(optimizer, BaseOptimizer):
        return optimizer()
    if isinstance(optimizer, str) and optimizer.lower() in _BY_LOWER_NAME:
        optimizer_class: type[BaseOptimizer] = getattr(optimizers, _BY_LOWER_NAME[optimizer.lower()])
        return optimizer_class()
    names = sorted(OPTIMIZERS)
    raise InvalidArgumentError(
        f"fmin: optimizer must be one of {names}, a BaseOptimizer subclass or instance, got {optimizer!r}"
    )
