"""Ctrl-C around an executor's start and shutdown: held back until they finish, never losing the result."""

import os
import signal

import pytest

from ultraopt import fmin
from ultraopt.executors.serial import SerialExecutor
from ultraopt.interrupts import interrupt_deferred


def _ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def test_a_held_ctrl_c_is_raised_once_the_block_finished():
    finished = []
    with pytest.raises(KeyboardInterrupt), interrupt_deferred(until="the test's block ends"):
        _ctrl_c()
        finished.append(True)
    assert finished == [True]


def test_a_second_ctrl_c_raises_at_once():
    finished = []
    with pytest.raises(KeyboardInterrupt), interrupt_deferred(until="the test's block ends"):
        _ctrl_c()
        _ctrl_c()
        finished.append(True)
    assert finished == []


def test_an_error_after_a_held_ctrl_c_becomes_the_interrupt():
    # the signal reaches the processes the block starts, too: their failure is the user's stop, not a bug
    with pytest.raises(KeyboardInterrupt) as caught, interrupt_deferred(until="the test's block ends"):
        _ctrl_c()
        raise RuntimeError("Nanny failed to start.")
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_without_ctrl_c_an_error_stays_itself():
    with pytest.raises(RuntimeError), interrupt_deferred(until="the test's block ends"):
        raise RuntimeError("a real failure")


class _InterruptedShutdown(SerialExecutor):
    """Ctrl-C pressed (again) while the executor shuts down."""

    def __init__(self):
        super().__init__()
        self.shut_down = False

    def shutdown(self):
        _ctrl_c()
        super().shutdown()
        self.shut_down = True


def test_ctrl_c_during_the_shutdown_keeps_the_result_and_lets_the_shutdown_finish():
    executor = _InterruptedShutdown()
    result = fmin(lambda config: config["x"], {"x": {"_type": "uniform", "_value": [0, 1]}}, optimizer="Random",
                  n_iterations=5, parallel_strategy=executor, show_progressbar=False)
    assert len(result.trials) == 5 and executor.shut_down
