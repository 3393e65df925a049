from tests.executors.contract import ExecutorContract
from ultraopt.executors.serial import SerialExecutor


class TestSerialExecutor(ExecutorContract):
    def make_executor(self):
        return SerialExecutor()
