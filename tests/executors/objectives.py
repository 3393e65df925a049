"""Objectives that worker processes run in the tests of MapReduce and Dask.

A worker process imports the module of a module-level objective to unpickle it, so this module imports nothing
but the standard library: a test module (pytest, fmin, ConfigSpace, Dask) would make every worker start slowly.
"""

from __future__ import annotations

import os
import time


def quadratic(config: dict) -> float:
    """Minimum 0 at x = 1, c = 'a' (as ``tests.conftest.quadratic``)."""
    return (config["x"] - 1.0) ** 2 + (config["c"] == "b")


def mixed_quadratic(config: dict) -> float:
    return quadratic(config) + config["k"]


def slow_quadratic(config: dict, budget: float) -> float:
    time.sleep(0.05)
    return quadratic(config) / budget


def sleepy_quadratic(config: dict) -> float:
    time.sleep(0.5)
    return quadratic(config)


def hangs_on_b(config: dict) -> float:
    if config["c"] == "b":
        time.sleep(60)
    return quadratic(config)


def fails_on_b(config: dict) -> float:
    if config["c"] == "b":
        raise ValueError("b is broken")
    return quadratic(config)


def interrupts_on_b(config: dict) -> float:
    if config["c"] == "b":  # the objective's own KeyboardInterrupt, not the user's Ctrl-C
        raise KeyboardInterrupt("b interrupts itself")
    return quadratic(config)


def always_fails(config: dict) -> float:
    raise RuntimeError("broken objective")


def die_once_per_marker(config: dict) -> float:
    """Kill the worker process the first time a config with ``die`` runs (the marker file remembers)."""
    marker = config.get("die")
    if marker and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    time.sleep(0.2)
    return float(config["x"])


def always_die(config: dict) -> float:
    os._exit(1)


def die_if_marked(config: dict) -> float:
    """Kill the worker process on every run of a config with ``die``; others take ``x`` seconds."""
    if config.get("die"):
        os._exit(1)
    time.sleep(config["x"])
    return float(config["x"])


def thread_limit(config: dict) -> float:
    return float(os.environ["OMP_NUM_THREADS"])
