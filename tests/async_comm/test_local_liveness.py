"""Local worker processes whose objective holds the GIL: busy, not dead; a stopped one is still noticed."""

from __future__ import annotations

import os
import signal
import time

from tests.async_comm.helpers import wait_until
from ultraopt.async_comm.process import process_is_running
from ultraopt.executors.async_comm import LocalAsyncCommExecutor
from ultraopt.objective import Objective
from ultraopt.trial import Trial, TrialStatus


def _objective(name):
    from tests.async_comm import objectives

    return Objective(getattr(objectives, name))


def _wait_one(executor, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not (finished := executor.wait(timeout=0.5)):
        assert time.monotonic() < deadline, "no result"
    return finished


def test_a_local_worker_holding_the_gil_longer_than_the_heartbeat_timeout_is_busy_not_dead():
    executor = LocalAsyncCommExecutor(1, heartbeat_timeout=1.2)
    try:
        executor.start(_objective("hold_the_gil"))
        executor.submit(Trial(0, (0, 0, 0), {"x": 2.0}, 1.0, status=TrialStatus.RUNNING, attempt=1))
        (trial,) = _wait_one(executor)
        assert trial.status is TrialStatus.SUCCESS and trial.loss == 4.0
        assert trial.attempt == 1  # run once: its worker was never taken for dead
        assert executor.dispatcher.number_of_workers() == 1
    finally:
        executor.shutdown()


def test_a_stopped_local_worker_is_still_declared_dead():
    executor = LocalAsyncCommExecutor(1, heartbeat_timeout=1.2)
    try:
        executor.start(_objective("square"))
        (worker,) = executor.workers
        os.kill(worker.process.pid, signal.SIGSTOP)
        wait_until(lambda: process_is_running(worker.process.pid) is False, timeout=5, what="the stop")
        detection = wait_until(lambda: executor.dispatcher.number_of_workers() == 0, timeout=10)
        assert detection < 3.0
        os.kill(worker.process.pid, signal.SIGCONT)
    finally:
        executor.shutdown()


def test_process_is_running():
    assert process_is_running(os.getpid()) is True
