"""The trial record: one evaluation of one config on one budget.

A :class:`Trial` is the only record type that travels from the Master to the executors, the storage and the
result. It holds plain JSON-able data so that it can cross process and network boundaries unchanged.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

__all__ = ["ConfigId", "Trial", "TrialStatus"]

#: ``(iteration, stage, running index)``, the HpBandSter convention used by workers' ``compute``.
ConfigId = tuple[int, int, int]


class TrialStatus(str, Enum):
    """Where a trial stands.

    ``SUCCESS`` is the only status whose loss informs the models as a real observation; every other finished
    status is a failure that the optimizers treat as worse than any success.
    """

    PENDING = "pending"  #: a Trial's default status only: the Master creates trials as RUNNING
    RUNNING = "running"  #: handed to an executor
    SUCCESS = "success"  #: the objective returned a finite loss
    FAILED = "failed"  #: the objective raised or returned a non-finite loss
    TIMEOUT = "timeout"  #: killed at its wall-time limit
    MEMOUT = "memout"  #: out of memory: at its memory limit, or the objective raised MemoryError
    LOST = "lost"  #: its worker died more often than the retry limit allows
    CANCELLED = "cancelled"  #: stopped because the run ended (time limit, Ctrl-C) before it finished

    @property
    def is_finished(self) -> bool:
        """Whether the trial will not change any more."""
        return self not in (TrialStatus.PENDING, TrialStatus.RUNNING)

    @property
    def is_failure(self) -> bool:
        """Whether the trial finished without a usable loss (cancelled: neither success nor failure)."""
        return self.is_finished and self not in (TrialStatus.SUCCESS, TrialStatus.CANCELLED)


@dataclass
class Trial:
    """One evaluation of ``config`` on ``budget``.

    Parameters
    ----------
    trial_id : int
        Position of the trial in the run, unique, starting at 0.
    config_id : tuple of int
        ``(iteration, stage, running index)`` of the config; the same config keeps its id when promoted to a
        larger budget.
    config : dict
        The flat config (hyperparameter name to a JSON scalar) as the objective receives it.
    budget : float
        The fidelity the config is evaluated on.
    config_info : dict
        Where the config came from (``{"origin": "model" | "random" | "initial design" | "user" | ...}``).
    status : TrialStatus
        Where the trial stands.
    loss : float or None
        The minimised value, ``None`` until the trial succeeded.
    info : dict
        Extra entries the objective returned (``"info"``, costs, user attributes).
    error : str or None
        Why the trial failed (a traceback, ``"loss is nan"``, ...).
    start_time, end_time : float or None
        Seconds since the epoch (or on the Master's clock) when the evaluation started and ended.
    worker : str or None
        The name of the worker that evaluated the trial.
    attempt : int
        How many times the trial was started; more than 1 when a worker died under it and it ran again.
    """

    trial_id: int
    config_id: ConfigId
    config: dict[str, Any]
    budget: float
    config_info: dict[str, Any] = field(default_factory=dict)
    status: TrialStatus = TrialStatus.PENDING
    loss: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    start_time: float | None = None
    end_time: float | None = None
    worker: str | None = None
    attempt: int = 0

    @property
    def duration(self) -> float | None:
        """Seconds the evaluation took, when it started and ended."""
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time

    @property
    def is_success(self) -> bool:
        """Whether the trial finished with a finite loss."""
        return self.status is TrialStatus.SUCCESS

    def to_dict(self) -> dict[str, Any]:
        """The trial as JSON-able data (the status as its string value, the config id as a list)."""
        # as dataclasses.asdict, without deep-copying every scalar of the config (the values are scalars): that
        # took seconds on the 10,000 trials of a warm start
        data = {name: getattr(self, name) for name in _FIELD_NAMES}
        data.update(status=self.status.value, config_id=list(self.config_id), config=dict(self.config),
                    config_info=copy.deepcopy(self.config_info), info=copy.deepcopy(self.info))
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trial:
        """Rebuild a trial written by :meth:`to_dict` (also after a JSON round-trip).

        Raises
        ------
        ValueError
            When the data is not a trial (a damaged file): the message names the trial and the field.
        """
        try:
            values = dict(data)
            values["status"] = TrialStatus(values["status"])
            values["config_id"] = tuple(int(part) for part in values["config_id"])
            values["budget"] = float(values["budget"])
            loss = values.get("loss")
            values["loss"] = None if loss is None else float(loss)
            trial = cls(**values)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"not a trial ({type(exc).__name__}: {exc}): {str(data)[:200]}") from exc
        return trial.checked()

    def checked(self) -> Trial:
        """This trial, if each field has a value it can hold (a trial read from a file may not).

        Raises
        ------
        ValueError
            Naming the trial and each field that is wrong.
        """
        wrong = []
        if isinstance(self.trial_id, bool) or not isinstance(self.trial_id, int):
            wrong.append(f"trial_id {self.trial_id!r} is not an int")
        if len(self.config_id) != 3 or not all(isinstance(part, int) for part in self.config_id):
            wrong.append(f"config_id {self.config_id!r} is not three ints")
        if not isinstance(self.config, dict) or not all(isinstance(name, str) for name in self.config):
            wrong.append("config is not a dict of hyperparameter values")
        if not (isinstance(self.budget, (int, float)) and 0 < self.budget < math.inf):
            wrong.append(f"budget {self.budget!r} is not a positive number")
        for name in ("config_info", "info"):
            if not isinstance(getattr(self, name), dict):
                wrong.append(f"{name} is not a dict")
        if self.status is TrialStatus.SUCCESS and not (
            isinstance(self.loss, (int, float)) and math.isfinite(self.loss)
        ):
            wrong.append(f"a success has loss {self.loss!r}, not a finite number")
        for name in ("start_time", "end_time"):
            if not is_time(getattr(self, name)):
                wrong.append(f"{name} {getattr(self, name)!r} is not a number")
        for name in ("error", "worker"):
            if not isinstance(getattr(self, name), (str, type(None))):
                wrong.append(f"{name} is not a string")
        if isinstance(self.attempt, bool) or not isinstance(self.attempt, int) or self.attempt < 0:
            wrong.append(f"attempt {self.attempt!r} is not a count")
        if wrong:
            raise ValueError(f"trial {self.trial_id!r} is damaged: " + "; ".join(wrong))
        return self

    def finish(self, status: TrialStatus, loss: float | None = None, error: str | None = None) -> None:
        """Mark the trial finished; a ``SUCCESS`` needs a finite loss."""
        assert status.is_finished, status
        if status is TrialStatus.SUCCESS:
            assert loss is not None and math.isfinite(loss), loss
        self.status = status
        self.loss = loss
        self.error = error


#: The fields of a trial, in order (for :meth:`Trial.to_dict`).
_FIELD_NAMES = tuple(f.name for f in fields(Trial))


def is_time(value: Any) -> bool:
    """Whether ``value`` can be a trial's start or end time: ``None`` or a number of seconds."""
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
