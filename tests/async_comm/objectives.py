"""Objectives for worker processes started by the tests (importable as ``tests.async_comm.objectives:name``)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

#: Directory where :func:`marked_sleep` notes which process starts and ends which config.
MARKERS_ENV = "ULTRAOPT_TEST_MARKERS"


def square(config: dict) -> float:
    return float(config["x"]) ** 2


def marked_sleep(config: dict, budget: float) -> float:
    """Sleep ``config["x"]``-independent 0.3 s; note start and end in ``$ULTRAOPT_TEST_MARKERS/<pid>``."""
    markers = os.environ.get(MARKERS_ENV)
    path = Path(markers) / str(os.getpid()) if markers else None
    if path is not None:
        with path.open("a") as file:
            file.write(f"start {config['x']!r}\n")
    time.sleep(0.3)
    if path is not None:
        with path.open("a") as file:
            file.write(f"end {config['x']!r}\n")
    return float(config["x"]) ** 2 * budget


def hang_on_negative_x(config: dict) -> float:
    """Never returns when ``x < 0``."""
    if config["x"] < 0:
        time.sleep(3600)
    return float(config["x"]) ** 2


def kill_own_process_on_positive_x(config: dict) -> float:
    """Dies like a segfault would (SIGKILL of its own process) when ``x > 0``."""
    if config["x"] > 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return float(config["x"])


def cpu_bound(config: dict) -> float:
    """About 0.2-0.4 s of pure-Python work (holds the GIL: threads would not run it in parallel)."""
    total = 0
    for i in range(3_000_000):
        total += i % 7
    return float(config["x"]) ** 2 + total * 0.0


def getpid_after_work(config: dict) -> float:
    """:func:`cpu_bound`, returning the id of the process that did the work."""
    cpu_bound(config)
    return float(os.getpid())


def hold_the_gil(config: dict) -> float:
    """Hold the GIL for 2.5 s without a break, as one long C call does (no other thread of the process runs)."""
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(100.0)  # other threads would otherwise get the GIL every 5 ms
    try:
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            pass
    finally:
        sys.setswitchinterval(switch_interval)
    return float(config["x"]) ** 2
