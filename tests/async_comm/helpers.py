"""Helpers shared by the distributed tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ultraopt.async_comm.master import Master
from ultraopt.multi_fidelity import CustomIterGenerator
from ultraopt.optimizer import RandomOptimizer


def make_master(run_id: str, space: Any, generator: Any = None, **kwargs: Any) -> Master:
    generator = generator or CustomIterGenerator([1], [1.0])
    optimizer = RandomOptimizer()
    optimizer.initialize(space, budgets=generator.get_budgets(), random_state=0)
    return Master(run_id, optimizer, generator, **kwargs)


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> float:
    """Poll ``condition`` until it holds; returns the seconds it took."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"timed out waiting for {what}"
        time.sleep(0.02)
    return time.monotonic() - start


class Background:
    """``fn()`` in a thread; :meth:`result` joins it and re-raises what it raised."""

    def __init__(self, fn: Callable[[], Any]):
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self._value = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self._error = exc

    def result(self, timeout: float = 120.0) -> Any:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "still running"
        if self._error is not None:
            raise self._error
        return self._value
