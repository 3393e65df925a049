"""The default storage: the journal kept in memory, for the life of the process."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from ultraopt.storage.base import Event, RunHeader, Storage, snapshot
from ultraopt.trial import Trial

__all__ = ["InMemoryStorage"]


class InMemoryStorage(Storage):
    """Keeps the header and the journal in this process: what a run without ``checkpoint_file`` uses.

    Nothing survives the process, but within it a run can be resumed (a new Master on the same storage continues
    it), and the storage follows the same contract as :class:`~ultraopt.storage.sqlite.SQLiteStorage`.
    """

    def __init__(self) -> None:
        self._header: RunHeader | None = None
        self._events: list[Event] = []

    @property
    def header(self) -> RunHeader | None:
        return self._header

    def _write_header(self, header: RunHeader) -> None:
        self._header = copy.deepcopy(header)

    def update_meta(self, meta: dict[str, Any]) -> None:
        assert self._header is not None, "open_run() must come first"
        self._header.meta = copy.deepcopy(meta)

    def _append(self, kind: str, trial: Trial) -> None:
        assert self._header is not None, "open_run() must come first"
        self._events.append(Event(len(self._events) + 1, kind, snapshot(trial)))

    def events(self) -> Iterator[Event]:
        return iter(list(self._events))

    @property
    def n_events(self) -> int:
        return len(self._events)

    def __repr__(self) -> str:
        return f"InMemoryStorage({len(self._events)} events)"
