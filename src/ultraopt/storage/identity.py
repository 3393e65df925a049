"""What defines a run (its header), and the trials an earlier run gives a warm start.

The header of a run is what a resumed run must share with the stored one: the space, the optimizer, the seed,
the schedule of iterations, the initial points and the warm start. The number of iterations, the executor, the
limits and the callbacks are not part of it, so a run can be extended, or continued with more workers.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from ConfigSpace import ConfigurationSpace

from ultraopt.hdl.configs import check_config
from ultraopt.jsonable import plain_scalar, to_jsonable
from ultraopt.storage.base import RunHeader
from ultraopt.trial import Trial

if TYPE_CHECKING:
    from ultraopt.multi_fidelity.iter_gen.base_gen import BaseIterGenerator
    from ultraopt.optimizer.base_opt import BaseOptimizer
    from ultraopt.result import FMinResult

__all__ = ["WARM_START_STRATEGIES", "describe_run", "load_previous_result", "session_seed", "warm_start_trials"]

logger = logging.getLogger(__name__)

#: ``"resume"``: an earlier run's trials inform the new optimizer; ``"continue"``: they also stay in the result.
WARM_START_STRATEGIES = ("resume", "continue")


def describe_schedule(iter_generator: BaseIterGenerator) -> dict[str, Any]:
    """The schedule as data: the generator's class, its iteration class and every bracket of one cycle."""
    return to_jsonable({
        "generator": type(iter_generator).__qualname__,
        "iteration": iter_generator.iter_klass.__qualname__,
        "iteration_kwargs": iter_generator.iter_kwargs,
        "brackets": [iter_generator.get_bracket(i) for i in range(iter_generator.n_brackets)],
    })


def describe_run(
    config_space: ConfigurationSpace,
    iter_generator: BaseIterGenerator,
    optimizer: BaseOptimizer,
    random_state: Any,
    initial_points: Iterable[Mapping[str, Any]] | None = None,
    warm_start: Sequence[Trial] = (),
    warm_start_strategy: str = "resume",
    meta: Mapping[str, Any] | None = None,
) -> RunHeader:
    """The header of a run: its space, the settings that define it, its warm start and its meta."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        seed: Any = int(random_state)
    else:
        seed = None if random_state is None else f"a {type(random_state).__name__}"
    warm = None
    if warm_start:
        text = json.dumps([trial.to_dict() for trial in warm_start], sort_keys=True)
        warm = {"strategy": warm_start_strategy, "n_trials": len(warm_start),
                "sha256": hashlib.sha256(text.encode()).hexdigest()}
    settings = {
        "optimizer": f"{optimizer.name} ({type(optimizer).__qualname__})",
        "optimizer_settings": _optimizer_settings(optimizer),
        "random_state": seed,
        "schedule": describe_schedule(iter_generator),
        "initial_points": to_jsonable(list(initial_points or [])),
        "warm_start": warm,
    }
    return RunHeader(
        space=config_space.to_serialized_dict(),
        settings=settings,
        budgets=list(iter_generator.get_budgets()),
        meta=to_jsonable(dict(meta or {})),
        warm_start=list(warm_start),
        keep_warm_start=bool(warm_start) and warm_start_strategy == "continue",
    )


_UNSTABLE = object()  # a setting with no JSON form that is the same in every process


def _optimizer_settings(optimizer: BaseOptimizer) -> dict[str, Any]:
    """The optimizer's scalar settings (numbers, strings, ``None``) and functions, as JSON that is the same in
    every process. Other values, such as a list the optimizer fills as it runs, are state rather than settings."""
    found = {name: _stable(value) for name, value in optimizer.get_params().items()}
    return {name: value for name, value in found.items() if value is not _UNSTABLE}


def _stable(value: Any) -> Any:
    """``value`` as JSON that is the same in every process, or ``_UNSTABLE``. A function is named (its repr holds
    its address), a ``functools.partial`` by its function and arguments; a lambda is only ``<lambda>``."""
    value = plain_scalar(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, functools.partial):
        def part(item: Any) -> Any:
            found = _stable(item)
            return f"<{type(item).__qualname__}>" if found is _UNSTABLE else found

        return {"partial": part(value.func), "args": [part(item) for item in value.args],
                "keywords": {str(key): part(item) for key, item in value.keywords.items()}}
    if callable(value):
        named = value if hasattr(value, "__qualname__") else type(value)
        return f"{getattr(named, '__module__', '?')}.{named.__qualname__}"
    return _UNSTABLE


def session_seed(random_state: Any, n_events: int) -> Any:
    """The optimizer's seed for a session that resumes a journal of ``n_events`` events.

    A fresh optimizer seeded as the first session would propose that session's configs again (all duplicates);
    seeding with ``(random_state, n_events)`` keeps a resumed run reproducible and its proposals new.
    """
    if n_events == 0 or not isinstance(random_state, numbers.Integral) or isinstance(random_state, bool):
        return random_state
    return np.random.default_rng([int(random_state), n_events])


def load_previous_result(previous_result: FMinResult | str | os.PathLike[str]) -> FMinResult:
    """An earlier run given as a result, or as the path of a saved result (JSON) or of a checkpoint file (SQLite).

    Raises
    ------
    ValueError
        When the path does not exist or holds neither.
    """
    from ultraopt.result import FMinResult  # imported here: the result module imports the storage

    if isinstance(previous_result, FMinResult):
        return previous_result
    if not os.path.exists(previous_result):
        raise ValueError(f"previous_result {os.fspath(previous_result)!r} does not exist")
    return FMinResult.load(previous_result)


def warm_start_trials(previous: FMinResult, config_space: ConfigurationSpace) -> list[Trial]:
    """The finished trials of ``previous`` whose configs are valid in ``config_space`` (others are skipped).

    Their iterations move below 0 (the last one becomes -1), as the new run numbers its own from 0: kept in its
    result (``"continue"``), a config id still names one config.
    """
    kept: list[Trial] = []
    skipped: list[str] = []
    shift = max((trial.config_id[0] for trial in previous.trials), default=-1) + 1
    for trial in previous.trials:
        try:
            config = check_config(config_space, trial.config, what=f"trial {trial.trial_id}")
        except ValueError as exc:
            skipped.append(str(exc))
            continue
        config_id = [trial.config_id[0] - shift, *trial.config_id[1:]]
        kept.append(Trial.from_dict({**trial.to_dict(), "config": config, "config_id": config_id}))
    if skipped:
        logger.warning("warm start: %d of %d earlier trial(s) skipped, their configs are not valid in the new "
                       "space; the first: %s", len(skipped), len(previous.trials), skipped[0])
    return kept
