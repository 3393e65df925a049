"""Executors: where trials run (this process, local processes, Pyro5 workers, Dask, virtual workers).

The Dask executor is imported from :mod:`ultraopt.executors.dask_executor` (importing Dask takes a moment).
"""

from ultraopt.executors.base import Executor
from ultraopt.executors.batch import BatchExecutor, MapReduceExecutor
from ultraopt.executors.processes import ProcessExecutor
from ultraopt.executors.serial import SerialExecutor
from ultraopt.executors.simulated import SimulatedExecutor, VirtualClock

__all__ = [
    "BatchExecutor",
    "Executor",
    "MapReduceExecutor",
    "ProcessExecutor",
    "SerialExecutor",
    "SimulatedExecutor",
    "VirtualClock",
]
