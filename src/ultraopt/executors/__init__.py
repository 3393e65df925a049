"""Executors: where trials run (this process, local processes, Pyro5 workers, Dask, virtual workers)."""

from ultraopt.executors.base import Executor
from ultraopt.executors.serial import SerialExecutor
from ultraopt.executors.simulated import SimulatedExecutor, VirtualClock

__all__ = ["Executor", "SerialExecutor", "SimulatedExecutor", "VirtualClock"]
