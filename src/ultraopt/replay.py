"""Resume: rebuild a Master's state by replaying its storage's journal through the Master itself.

The journal holds, in order, every trial the Master created and every trial that came back. Replaying it
through the same code paths as the live loop gives back exactly the state an uninterrupted run would have had
at that point — the iterations (brackets, rungs, promotions), the optimizer's observations and pending configs,
the result, the trial ids — for every iteration type and every executor, with no code per strategy:

- a ``created`` event is reproduced by asking the iterations for their next run, as the live loop does
  (``Master._next_run``); where an iteration wants a new config, the stored one is handed out instead of the
  optimizer's ``ask`` (and marked pending in the optimizer), and the request must match the stored trial (config
  id, budget, config) — otherwise the journal was written by another schedule and :class:`ReplayError` says so;
- a ``restarted`` event updates the attempt count of a trial that ran again;
- a ``finished`` event is recorded as the live loop records it (the optimizer is told, the iteration gets the
  result, the result adds the trial), without running anything, journaling it again or calling callbacks.

Trials created but not finished when the journal ends (running when the process died, or cancelled by a time
limit or Ctrl-C) are queued to run again when the Master's loop starts. The optimizer is a fresh one: it is
told every finished trial, in the order they finished.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ultraopt.multi_fidelity.iter.warm_start import WarmStartIteration
from ultraopt.storage.base import CANCELLED, CREATED, FINISHED, RESTARTED, Event
from ultraopt.storage.base import snapshot as copy_trial
from ultraopt.trial import Trial

if TYPE_CHECKING:
    from ultraopt.master import Master

__all__ = ["ReplayError", "replay"]

logger = logging.getLogger(__name__)


class ReplayError(RuntimeError):
    """The journal of a storage and the Master's schedule disagree, so the run cannot be resumed."""


class _StoredConfigs:
    """The sampler of a replay: hands out the config of the journal's current ``created`` event."""

    def __init__(self) -> None:
        self.expected: Trial | None = None
        self.used = False

    def __call__(self, budget: float) -> tuple[dict[str, Any], dict[str, Any]]:
        trial = self.expected
        if trial is None or self.used:
            raise ReplayError("an iteration sampled a config where the journal holds none")
        if float(budget) != trial.budget:
            raise ReplayError(f"the schedule samples a new config for budget {budget} where the journal's trial "
                              f"{trial.trial_id} ran on budget {trial.budget}")
        self.used = True
        return dict(trial.config), dict(trial.config_info)


def replay(master: Master) -> int:
    """Bring ``master`` (fresh, not run yet) to the state its storage journals; return the number of events.

    The warm-start trials of the storage's header are told to the optimizer first (and, for a ``"continue"``
    warm start, put at the head of the result).
    """
    header = master.storage.header
    assert header is not None, "the storage must be opened (open_run) before the Master runs"
    _warm_start(master, header.warm_start, header.keep_warm_start)
    events = list(master.storage.events())
    if not events:
        return 0
    iterations = 1 + max(event.trial.config_id[0] for event in events if event.kind == CREATED)
    if iterations > master._n_iterations:  # a journal longer than asked is completed
        logger.warning("%s holds %d iteration(s), more than the %d asked for: those begun are completed, and no "
                       "new one starts", master.storage, iterations, master._n_iterations)
        master._n_iterations = iterations
    sampler = _StoredConfigs()
    master._sampler = sampler
    try:
        for event in events:
            if event.kind == CREATED:
                _replay_created(master, sampler, event)
            elif event.kind == RESTARTED:
                master._running[event.trial.trial_id].trial.attempt = event.trial.attempt
                master._cancelled_before.discard(event.trial.trial_id)
            elif event.kind == CANCELLED:
                master._cancelled_before.add(event.trial.trial_id)
            else:
                assert event.kind == FINISHED, event
                master._record(copy_trial(event.trial), replaying=True)
    finally:
        master._sampler = master._ask
    master._to_submit.extend(master._running)
    logger.info("resumed from %s: %d event(s), %d finished trial(s), %d to run again", master.storage,
                len(events), len(master.result.trials) - master._n_warm_start, len(master._to_submit))
    return len(events)


def _replay_created(master: Master, sampler: _StoredConfigs, event: Event) -> None:
    stored = event.trial
    sampler.expected, sampler.used = stored, False
    found = master._next_run()
    if found is None:
        raise ReplayError(f"event {event.seq}: the journal created trial {stored.trial_id} (config "
                          f"{stored.config_id} on budget {stored.budget}) where the schedule has no run to give")
    request, iteration = found
    if (request.config_id, request.budget, request.config) != (stored.config_id, stored.budget, stored.config):
        raise ReplayError(f"event {event.seq}: the journal created trial {stored.trial_id} as config "
                          f"{stored.config_id} on budget {stored.budget}, the schedule asks for config "
                          f"{request.config_id} on budget {request.budget}")
    if master._next_trial_id != stored.trial_id:
        raise ReplayError(f"event {event.seq}: the journal's trial id {stored.trial_id} should be "
                          f"{master._next_trial_id}")
    if sampler.used:  # a new config: the live loop had asked the optimizer for it
        master.optimizer.mark_pending(request.config, request.budget)
    trial = master._create_trial(request, iteration)
    trial.attempt = stored.attempt


def _warm_start(master: Master, trials: list[Trial], keep: bool) -> None:
    """Tell an earlier run's finished trials to the optimizer; keep them in the result for ``"continue"``."""
    if not trials:
        return
    WarmStartIteration(trials).replay(master.optimizer)  # cancelled trials carry no result and are left out
    if keep:
        for trial in trials:
            master.result.add_trial(copy_trial(trial))
        master._n_warm_start = len(trials)
        master._next_trial_id = max((trial.trial_id + 1 for trial in trials), default=0)
        logger.info("warm start: the %d earlier trial(s) are kept in the result", len(trials))
