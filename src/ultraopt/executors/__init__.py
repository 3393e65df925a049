"""Executors: where trials run (this process, local processes, Pyro5 workers, Dask).

The Dask executor is imported from :mod:`ultraopt.executors.dask_executor` (importing Dask takes a moment).
"""

from ultraopt.executors.base import Executor
from ultraopt.executors.batch import BatchExecutor, MapReduceExecutor
from ultraopt.executors.processes import ProcessExecutor
from ultraopt.executors.serial import SerialExecutor

__all__ = ["BatchExecutor", "Executor", "MapReduceExecutor", "ProcessExecutor", "SerialExecutor"]
