"""Executors: where trials run (this process, local processes, Pyro5 workers, Dask)."""

from ultraopt.executors.base import Executor
from ultraopt.executors.serial import SerialExecutor

__all__ = ["Executor", "SerialExecutor"]
