"""One run at a time per optimizer or executor instance.

``fmin`` re-initializes the optimizer it is given and starts the executor it is given: a second call running at
the same time (another thread, or an objective that calls ``fmin``) with the same instance would silently mix the
two runs' observations, or share and stop the other run's workers. It is refused instead.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from ultraopt.facade.checks import InvalidArgumentError

__all__ = ["held_by_this_run"]

_lock = threading.Lock()
_held: set[int] = set()  # id() of every instance a running fmin call holds (alive while held, so ids are unique)


@contextlib.contextmanager
def held_by_this_run(**instances: object) -> Iterator[None]:
    """Hold each instance (keyed by the fmin parameter that gave it) until the block ends.

    Raises
    ------
    InvalidArgumentError
        When one of them is held by another fmin call running now; nothing is held then.
    """
    with _lock:
        for parameter, instance in instances.items():
            if id(instance) in _held:
                raise InvalidArgumentError(
                    f"fmin: the {type(instance).__name__} given as {parameter} is in use by another fmin call "
                    f"running now; give each concurrent run its own {parameter} (a new instance, or a name)"
                )
        _held.update(id(instance) for instance in instances.values())
    try:
        yield
    finally:
        with _lock:
            _held.difference_update(id(instance) for instance in instances.values())
