"""Holding Ctrl-C back while something must not be left half done (starting or stopping workers)."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["interrupt_deferred"]

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def interrupt_deferred(until: str) -> Iterator[None]:
    """Hold Ctrl-C back until the block ends (in the main thread), then raise ``KeyboardInterrupt``.

    ``until`` says what the block does, for the warning. A second Ctrl-C raises at once, so that a block that
    hangs can still be left. An error of the block after a held Ctrl-C becomes the ``KeyboardInterrupt`` (the
    signal reaches the processes the block starts, too, which then fail).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    interrupted: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        if interrupted:
            raise KeyboardInterrupt
        logger.warning("interrupted: stopping once %s (Ctrl-C again to stop at once)", until)
        interrupted.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    except Exception as error:
        if interrupted:
            raise KeyboardInterrupt from error
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt
