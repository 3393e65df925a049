"""Names users type for optimizers and parallel strategies, and what they stand for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ultraopt.executors.base import Executor
from ultraopt.executors.serial import SerialExecutor
from ultraopt.facade.checks import InvalidArgumentError
from ultraopt.optimizer.base_opt import BaseOptimizer
from ultraopt.optimizer.etpe import ETPEOptimizer
from ultraopt.optimizer.forest_opt import ForestOptimizer
from ultraopt.optimizer.gbrt_opt import GBRTOptimizer
from ultraopt.optimizer.random_opt import RandomOptimizer
from ultraopt.optimizer.tpe import TPEOptimizer

__all__ = ["EXECUTOR_FACTORIES", "OPTIMIZERS", "make_optimizer"]

#: Optimizer name (case-insensitive) to class.
OPTIMIZERS: dict[str, type[BaseOptimizer]] = {
    "etpe": ETPEOptimizer,
    "tpe": TPEOptimizer,
    "random": RandomOptimizer,
    "forest": ForestOptimizer,
    "gbrt": GBRTOptimizer,
}

def _async_comm_executor(n_jobs: int) -> Executor:
    """A name server and ``n_jobs`` worker processes on this machine (Pyro5 is imported only when used)."""
    from ultraopt.executors.async_comm import LocalAsyncCommExecutor

    return LocalAsyncCommExecutor(n_jobs)


#: Parallel strategy name to ``factory(n_jobs) -> Executor``.
EXECUTOR_FACTORIES: dict[str, Callable[[int], Executor]] = {
    "Serial": lambda n_jobs: SerialExecutor(),
    "AsyncComm": _async_comm_executor,
}


def make_optimizer(optimizer: Any) -> BaseOptimizer:
    """An optimizer instance from a name, a :class:`BaseOptimizer` subclass or an instance."""
    if isinstance(optimizer, BaseOptimizer):
        return optimizer
    if isinstance(optimizer, type) and issubclass(optimizer, BaseOptimizer):
        return optimizer()
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    names = sorted(cls.name for cls in OPTIMIZERS.values())
    raise InvalidArgumentError(
        f"fmin: optimizer must be one of {names}, a BaseOptimizer subclass or instance, got {optimizer!r}"
    )
