"""The executor contract on Pyro5 worker processes (a name server and two workers per test)."""

from tests.executors.contract import ExecutorContract
from ultraopt.executors.async_comm import LocalAsyncCommExecutor


class TestLocalAsyncCommExecutor(ExecutorContract):
    parallelism = 2

    def make_executor(self):
        return LocalAsyncCommExecutor(2)
