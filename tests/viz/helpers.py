"""Runs built by hand, with known configs, losses, budgets and times."""

from __future__ import annotations

from ultraopt.result import FMinResult
from ultraopt.trial import Trial, TrialStatus


def make_trial(trial_id, config, loss=None, budget=1.0, start=None, end=None, config_id=None,
               status=TrialStatus.SUCCESS, error=None):
    """A finished trial; ``start``/``end`` default to ``trial_id`` and ``trial_id + 1`` seconds."""
    trial = Trial(trial_id, config_id or (trial_id, 0, 0), dict(config), float(budget), {"origin": "test"},
                  TrialStatus.RUNNING)
    ok = status is TrialStatus.SUCCESS
    trial.finish(status, loss if ok else None, None if ok else (error or "boom"))
    trial.start_time = 1000.0 + (trial_id if start is None else start)
    trial.end_time = 1000.0 + (trial_id + 1 if end is None else end)
    trial.worker = f"w{trial_id % 2}"
    return trial


def make_result(space, trials, budgets=(1.0,)):
    return FMinResult(space, budgets, trials, meta={"optimizer": "test"})
