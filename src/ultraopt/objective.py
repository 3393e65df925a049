"""Calling the user's objective: passing the budget, reading what it returns, catching what it raises.

Every executor, wherever it runs the objective (this process, a worker process, a Pyro5 worker, a Dask
worker), goes through :class:`Objective`, so that the budget reaches the function and failures are recorded
the same way in every strategy.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import numbers
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ultraopt.jsonable import plain_scalar, to_jsonable
from ultraopt.trial import Trial, TrialStatus, is_time

__all__ = ["Evaluation", "Objective", "accepts_budget", "failed_evaluation", "send_by_value_if_unimportable"]


def accepts_budget(func: Callable[..., Any]) -> bool:
    """Whether ``func`` should be called with the budget, as ``func(config, budget)`` or ``func(config, budget=)``.

    That is the case when it has a parameter named ``budget``, a second positional parameter without a
    default, ``*args`` or ``**kwargs`` (which gets ``budget=``); a function ``f(config, seed=0)`` is called with
    the config only.
    """
    return _budget_passing(func) is not None


def _budget_passing(func: Callable[..., Any]) -> str | None:
    """How ``func`` takes the budget: ``"keyword"`` (a ``budget`` parameter that is not positional-only, or
    ``**kwargs``), ``"positional"`` (a second positional place) or ``None`` (it does not)."""
    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError):  # builtins without a signature: call with the config only
        return None
    kinds = inspect.Parameter
    named = parameters.get("budget")
    if named is not None:  # by name, so that a keyword-only or later parameter gets it too
        return "positional" if named.kind is kinds.POSITIONAL_ONLY else "keyword"
    positional = [p for p in parameters.values()
                  if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD, kinds.VAR_POSITIONAL)]
    if len(positional) >= 2 and (positional[1].kind is kinds.VAR_POSITIONAL or positional[1].default is kinds.empty):
        return "positional"
    if positional and positional[0].kind is kinds.VAR_POSITIONAL:  # f(*args)
        return "positional"
    if any(p.kind is kinds.VAR_KEYWORD for p in parameters.values()):
        return "keyword"
    return None


@dataclass
class Evaluation:
    """What one call of the objective produced, as plain data."""

    status: TrialStatus
    loss: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    start_time: float | None = None
    end_time: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, for crossing a process or network boundary."""
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evaluation:
        """Rebuild an evaluation written by :meth:`to_dict` (it may come from another process or the network).

        Raises
        ------
        ValueError, TypeError
            When an entry is missing, unknown or of the wrong type.
        """
        values = dict(data)
        values["status"] = TrialStatus(values["status"])
        for key in ("start_time", "end_time"):
            if not is_time(values.get(key)):
                raise TypeError(f"{key} must be a number of seconds, got {type(values[key]).__name__}")
        if not isinstance(values.get("info", {}), Mapping):
            raise TypeError(f"info must be a dict, got {type(values['info']).__name__}")
        if not isinstance(values.get("error"), (str, type(None))):
            raise TypeError(f"error must be a string, got {type(values['error']).__name__}")
        return cls(**values)

    def apply_to(self, trial: Trial, worker: str | None = None) -> Trial:
        """Copy the outcome into ``trial`` and return it."""
        trial.finish(self.status, self.loss, self.error)
        trial.info = dict(self.info)
        trial.start_time = self.start_time
        trial.end_time = self.end_time
        if worker is not None:
            trial.worker = worker
        return trial


def parse_return_value(value: Any) -> tuple[float, dict[str, Any]]:
    """Split what the objective returned into a loss and the extra entries kept as info.

    The entries of a returned ``"info"`` dict and the other entries beside ``"loss"`` make one info dict; where
    both have an entry of one name, the top-level one keeps it and the nested one becomes ``"info.<name>"``.

    Raises
    ------
    TypeError
        When the value is neither a number nor a mapping with a ``"loss"`` entry.
    ValueError
        When it is a mapping whose ``"status"`` is neither ``"ok"`` nor ``"fail"`` (as Hyperopt refuses it).
    ReportedFailure
        When it is a mapping with ``"status": "fail"`` (Hyperopt's ``STATUS_FAIL``), with or without a loss.
    """
    info: dict[str, Any] = {}
    if isinstance(value, Mapping):
        status = value.get("status", "ok")
        if status == "fail":
            raise ReportedFailure(to_jsonable({key: item for key, item in value.items() if key != "status"}))
        if status != "ok":  # "failed", "FAIL", STATUS_FAIL misspelt: taken for a success, its loss was the optimum
            raise ValueError(f"the objective returned 'status': {status!r}; give 'ok' or 'fail' (Hyperopt's "
                             "STATUS_OK, STATUS_FAIL), or leave it out")
        if "loss" not in value:
            raise TypeError(
                f"the objective returned a dict without a 'loss' entry: keys {sorted(map(str, value))}"
            )
        extra = {key: item for key, item in value.items() if key != "loss"}
        nested = extra.pop("info", None)
        if isinstance(nested, Mapping):
            # an entry of both: the top-level one keeps the name, the nested one is kept as info.<name>
            info.update({f"info.{key}" if key in extra else key: item for key, item in nested.items()})
        elif nested is not None:
            info["info"] = nested
        info.update(extra)
        value = value["loss"]
    return _as_loss(plain_scalar(value)), to_jsonable(info)


class ReportedFailure(Exception):
    """The objective said the trial failed (``{"status": "fail"}``); what else it returned is the trial's info."""

    def __init__(self, info: dict[str, Any]):
        super().__init__("the objective returned 'status': 'fail'")
        self.info = info


def _as_loss(value: Any) -> float:
    """A loss as a float: any real number (``Fraction``, ``Decimal``, ``np.longdouble``, a 0-d tensor), as
    ``float()`` takes it; a number too large for a float is infinite."""
    is_scalar = getattr(value, "ndim", 0) == 0 and hasattr(value, "__float__")
    if isinstance(value, (bool, str, bytes)) or not (isinstance(value, numbers.Real) or is_scalar):
        shape = f" of shape {value.shape}" if hasattr(value, "shape") else ""
        raise TypeError(
            f"the objective must return a number or a dict with a 'loss'; got {type(value).__name__}{shape}"
        )
    try:
        return float(value)
    except OverflowError:  # an int beyond 1.8e308
        return math.inf if value > 0 else -math.inf


def failed_evaluation(exc: BaseException, start: float) -> Evaluation:
    """The ``FAILED`` evaluation of an objective that raised ``exc`` (its traceback is the error)."""
    return Evaluation(
        TrialStatus.FAILED,
        error="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        start_time=start,
        end_time=time.time(),
    )


class Objective:
    """The user's function, called the same way by every executor.

    Parameters
    ----------
    func : callable
        ``func(config)`` or ``func(config, budget)`` (see :func:`accepts_budget`), returning a float loss or a
        dict with ``"loss"`` and optional ``"info"`` and other entries.
    """

    def __init__(self, func: Callable[..., Any]):
        if not callable(func):
            raise TypeError(f"eval_func must be callable, got {type(func).__name__}")
        self.func = func
        self._budget_passing = _budget_passing(func)
        self.passes_budget = self._budget_passing is not None

    def __call__(self, config: dict[str, Any], budget: float) -> Evaluation:
        """Evaluate ``config`` on ``budget``; never raises for what the user's function does."""
        start = time.time()
        config = dict(config)  # the user's function may edit it (``config.pop("lr")``); the trial keeps the original
        try:
            if self._budget_passing == "keyword":
                value = self.func(config, budget=budget)
            else:
                value = self.func(config, budget) if self._budget_passing else self.func(config)
            loss, info = parse_return_value(value)
        except ReportedFailure as failure:  # a result, not an error: no traceback to keep
            return Evaluation(TrialStatus.FAILED, None, failure.info, str(failure), start, time.time())
        except MemoryError as exc:  # out of memory (at a per-trial memory limit, or of the machine's)
            return Evaluation(TrialStatus.MEMOUT, error=f"MemoryError: {exc}", start_time=start, end_time=time.time())
        except KeyboardInterrupt:  # Ctrl-C stops the run
            raise
        # the objective's failure is a recorded trial, not a crashed run; so is its exit() (argparse on a bad
        # value, a training script's sys.exit) and a library's own BaseException (which hung a Dask worker's
        # future), whatever runs it.
        except BaseException as exc:
            return failed_evaluation(exc, start)
        end = time.time()
        if not math.isfinite(loss):
            error = f"the objective returned a non-finite loss ({loss})"
            return Evaluation(TrialStatus.FAILED, None, info, error, start, end)
        return Evaluation(TrialStatus.SUCCESS, loss, info, None, start, end)


def send_by_value_if_unimportable(objective: Any) -> None:
    """Have cloudpickle send the objective's module by value when a fresh interpreter could not import it.

    cloudpickle sends what ``__main__`` defines by value and the rest by module name. A script run in a
    ``multiprocessing`` spawn child is ``__mp_main__`` there, and code run with ``exec`` into a module made on the
    fly has no file: sent by name, every worker process failed with ``No module named ...``.

    Parameters
    ----------
    objective : callable or Objective
        What is about to be pickled for another process; an :class:`Objective` is looked into.
    """
    func = objective
    while isinstance(func, Objective):
        func = func.func
    name = getattr(func, "__module__", None) or type(func).__module__
    module = sys.modules.get(name)
    if module is None or name == "__main__" or (name != "__mp_main__" and _has_spec(name)):
        return
    import cloudpickle

    cloudpickle.register_pickle_by_value(module)


def _has_spec(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except ValueError:  # in sys.modules without a __spec__: made on the fly
        return False
