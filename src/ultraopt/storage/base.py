"""The storage contract: a run header and a journal of trial events.

A run is rebuilt from its storage alone: the header says what was run (the space, the settings that define the
run, the trials of a warm start) and the journal says what happened, in order. The Master writes the journal;
:mod:`ultraopt.replay` reads it back to resume a run.
"""

from __future__ import annotations

import copy
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ConfigSpace import ConfigurationSpace

from ultraopt.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from ultraopt.result import FMinResult

__all__ = ["CANCELLED", "CREATED", "Event", "FINISHED", "RESTARTED", "RunHeader", "Storage", "StorageError"]

#: Event kinds. ``created``: the Master submitted a new trial; ``restarted``: a trial that was running when an
#: earlier session stopped was submitted again (its attempt count went up unless that session cancelled it);
#: ``finished``: a trial came back; ``cancelled``: the session stopped cleanly (a limit, Ctrl-C) while the trial
#: ran, so it was not the trial's doing.
CREATED, RESTARTED, FINISHED, CANCELLED = "created", "restarted", "finished", "cancelled"


class StorageError(ValueError):
    """A storage file cannot be used: not an UltraOpt storage, damaged, of another format version, or in use."""


@dataclass(frozen=True)
class Event:
    """One entry of a run's journal.

    Attributes
    ----------
    seq : int
        Position in the journal; increasing over the whole run (every session of it).
    kind : str
        :data:`CREATED`, :data:`RESTARTED`, :data:`FINISHED` or :data:`CANCELLED`.
    trial : Trial
        The trial as it was at that moment: as submitted (``created``, ``restarted``; status ``RUNNING``), as
        it came back (``finished``) or as its session stopped it (``cancelled``; status ``CANCELLED``).
    """

    seq: int
    kind: str
    trial: Trial


@dataclass
class RunHeader:
    """What a run is: written once, when the run starts, and checked when it is resumed.

    Parameters
    ----------
    space : dict
        The search space as ConfigSpace's serialized dict (JSON-able).
    settings : dict
        JSON-able settings that define the run: a storage written with other settings is refused. The number of
        iterations is not among them, so that a run can be extended.
    budgets : list of float
        The budgets of the run's schedule.
    meta : dict
        JSON-able facts that do not define the run (strategy, number of jobs, why it stopped); they may change.
    warm_start : list of Trial
        Finished trials of an earlier run that the run starts from (see ``fmin(previous_result=...)``).
    keep_warm_start : bool
        Whether the warm-start trials belong to the run's result (``"continue"``) or only inform the optimizer
        (``"resume"``).
    """

    space: dict[str, Any]
    settings: dict[str, Any]
    budgets: list[float] = field(default_factory=lambda: [1.0])
    meta: dict[str, Any] = field(default_factory=dict)
    warm_start: list[Trial] = field(default_factory=list)
    keep_warm_start: bool = False

    def differences(self, other: RunHeader) -> list[str]:
        """What makes ``other`` (a run to start) a different run from this one (a stored run), in words."""
        found = _space_differences(_normalized(self.space), _normalized(other.space))
        return found + _setting_differences(_normalized(self.settings), _normalized(other.settings))


def _setting_differences(stored: dict[str, Any], given: dict[str, Any], prefix: str = "") -> list[str]:
    """The differing settings, by their full key (``schedule.iteration``): a nested setting names the entry
    that differs, not the whole setting cut short."""
    found = []
    for key in sorted(set(stored) | set(given)):
        old, new = stored.get(key), given.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            found += _setting_differences(old, new, f"{prefix}{key}.")
        else:
            found.append(f"setting {prefix + key!r}: stored {_short(old)}, given {_short(new)}")
    return found


class Storage(ABC):
    """Where a run is journaled, so that it survives a crash and can be resumed, warm-started from or analysed.

    Contract
    --------
    - :meth:`open_run` is called once, before anything is recorded. On an empty storage it writes the header;
      on a storage that holds a run it checks that the header describes the same run (same space, same
      settings) and raises ``ValueError`` naming every difference otherwise, without modifying the storage.
      It returns whether a run was there already (the caller then resumes it).
    - :meth:`record_created`, :meth:`record_restarted`, :meth:`record_finished` and :meth:`record_cancelled`
      append one event each, with the next sequence number. Each is durable when it returns: a crash of the
      process at any later instant loses nothing that was recorded, and a crash *during* a call loses at most
      that event, never the consistency of what was recorded before.
    - A trial is created once, restarted any number of times, and finished or cancelled at most once; events of
      one trial come in that order. Finished trials never change afterwards; a cancelled one runs again when
      the run resumes.
    - :meth:`events` returns the whole journal in sequence order, the trials as they were at each event.
    - One writer: the Master of the run. Readers (:meth:`load_result`) may read while it writes.
    - Nothing in a storage is a pickle: configs, infos and the space are stored as JSON.
    """

    # ------------------------------------------------------------------ to implement
    @property
    @abstractmethod
    def header(self) -> RunHeader | None:
        """The run's header, or ``None`` while the storage is empty."""

    @abstractmethod
    def _write_header(self, header: RunHeader) -> None:
        """Write the header of a new run (the storage is empty), atomically with its warm-start trials."""

    @abstractmethod
    def update_meta(self, meta: dict[str, Any]) -> None:
        """Replace the header's ``meta`` (facts that may change between sessions, such as why the run stopped)."""

    @abstractmethod
    def _append(self, kind: str, trial: Trial) -> None:
        """Append one event for ``trial`` (see the contract)."""

    @abstractmethod
    def events(self) -> Iterator[Event]:
        """Every event of the journal, in sequence order."""

    @property
    @abstractmethod
    def n_events(self) -> int:
        """How many events the journal holds."""

    def close(self) -> None:  # noqa: B027 - storages without resources have nothing to release
        """Release what the storage holds open; recording after this is an error."""

    # ------------------------------------------------------------------ the contract, in terms of the above
    def open_run(self, header: RunHeader) -> bool:
        """Start a new run, or check that the stored run is the same run; return whether one was stored.

        Raises
        ------
        ValueError
            When the storage holds a different run (the message names each difference).
        """
        stored = self.header
        if stored is None:
            self._write_header(header)
            return False
        differences = stored.differences(header)
        if differences:
            shown = differences[:_DIFFERENCES_SHOWN]
            if len(differences) > len(shown):  # a whole other space would name every hyperparameter
                shown.append(f"and {len(differences) - len(shown)} more difference(s)")
            raise ValueError(
                f"{self} holds a different run, so it is not resumed (it was not modified): "
                + "; ".join(shown)
                + ". Use another checkpoint file to start a new run."
            )
        return True

    def record_created(self, trial: Trial) -> None:
        """Journal a trial the Master has just created (before it is submitted)."""
        self._append(CREATED, trial)

    def record_restarted(self, trial: Trial) -> None:
        """Journal that a trial left running by an earlier session is submitted again (``trial.attempt`` grew)."""
        self._append(RESTARTED, trial)

    def record_cancelled(self, trial: Trial) -> None:
        """Journal that the session stopped cleanly while ``trial`` ran: a resume runs it again without counting
        an attempt against it (only a session that died leaves a trial's fate in doubt)."""
        assert trial.status is TrialStatus.CANCELLED, trial
        self._append(CANCELLED, trial)

    def record_finished(self, trial: Trial) -> None:
        """Journal a trial that came back finished (any status but ``CANCELLED``: those run again on resume)."""
        assert trial.status.is_finished and trial.status is not TrialStatus.CANCELLED, trial
        self._append(FINISHED, trial)

    def load_result(self) -> FMinResult:
        """The run as a result, for analysis: trials in the order they finished.

        Warm-start trials kept by a ``"continue"`` run come first. A trial its session cancelled (Ctrl-C, a
        ``time_limit``) is among the trials, with status ``cancelled``, as in the result ``fmin`` returned, until
        a resumed run starts it again. Trials created but not finished go to the result's ``unfinished`` list as
        they were journaled (running): the storage cannot tell a live run from one that stopped, so it does not
        guess.
        """
        from ultraopt.result import FMinResult  # imported here: the result module imports this one

        header = self.header
        if header is None:
            raise StorageError(f"{self} holds no run")
        ended: dict[int, Trial] = {}  # in the order they ended: a trial ended again moves to the end
        unfinished: dict[int, Trial] = {}
        for event in self.events():
            trial_id = event.trial.trial_id
            ended.pop(trial_id, None)
            unfinished.pop(trial_id, None)
            if event.kind in (FINISHED, CANCELLED):
                ended[trial_id] = event.trial
            else:
                unfinished[trial_id] = event.trial
        finished = (list(header.warm_start) if header.keep_warm_start else []) + list(ended.values())
        space = ConfigurationSpace.from_serialized_dict(copy.deepcopy(header.space))  # it takes the dict apart
        return FMinResult(space, header.budgets, finished, header.meta, [copy.deepcopy(t) for t in unfinished.values()])


# Differences named when a storage holds another run; the rest are counted.
_DIFFERENCES_SHOWN = 5


def snapshot(trial: Trial) -> Trial:
    """A copy of ``trial`` that later changes to the live trial do not reach (its dicts are copied too)."""
    return replace(trial, config=dict(trial.config), config_info=dict(trial.config_info), info=dict(trial.info))


def _normalized(value: Any) -> Any:
    """``value`` as it comes back from JSON (tuples become lists, keys strings), for comparison."""
    return json.loads(json.dumps(value))


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _space_differences(stored: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """The differences between two serialized ConfigSpace spaces, hyperparameter by hyperparameter."""
    if stored == given:
        return []
    old = {hp.get("name"): hp for hp in stored.get("hyperparameters", [])}
    new = {hp.get("name"): hp for hp in given.get("hyperparameters", [])}
    found = [f"the space: hyperparameter {name!r} is only in the stored run" for name in old if name not in new]
    found += [f"the space: hyperparameter {name!r} is not in the stored run" for name in new if name not in old]
    found += [
        f"the space: hyperparameter {name!r} is stored as {_short(old[name])}, given as {_short(new[name])}"
        for name in old
        if name in new and old[name] != new[name]
    ]
    for part in ("conditions", "forbiddens"):
        if stored.get(part) != given.get(part):
            found.append(f"the space: its {part} differ")
    if not found:  # e.g. the order of hyperparameters or another entry of the serialized form
        found.append("the space differs in its serialized form")
    return found

