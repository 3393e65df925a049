"""Successive halving over rungs: the machinery shared by synchronous and asynchronous promotion.

An iteration (bracket) has one *rung* per stage. New configs enter rung 0; a config that finished successfully on
rung ``k`` may be *promoted* to rung ``k + 1`` (the same config on the next budget). Rung ``k + 1`` takes at most
``num_configs[k + 1]`` configs. The two promotion modes differ only in *when* a config may be promoted, which
subclasses say in :meth:`SuccessiveHalvingIteration._n_promotable`: the synchronous mode waits until a rung is
closed, the asynchronous one promotes as soon as a config ranks high enough among the finished configs of its rung.
Either way, the configs of a rung are ranked by loss (ties broken by config id, so runs are reproducible) and
failed configs are never promoted.
"""

from __future__ import annotations

import bisect
import logging
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from ultraopt.multi_fidelity.iter.base_iter import BaseIteration, ConfigSampler, RunRequest
from ultraopt.trial import ConfigId, Trial

__all__ = ["Rung", "SuccessiveHalvingIteration"]

logger = logging.getLogger(__name__)


@dataclass
class Rung:
    """The configs of one stage of an iteration.

    Attributes
    ----------
    budget : float
        The budget configs run on in this rung.
    capacity : int
        How many configs may enter the rung.
    started : dict
        Config id to the run request of every config that entered the rung.
    finished : dict
        Config id to the finished trial of every config whose run came back (failed ones included).
    promoted : set
        Ids of the configs of this rung that were promoted to the next one.
    """

    budget: float
    capacity: int
    started: dict[ConfigId, RunRequest] = field(default_factory=dict)
    finished: dict[ConfigId, Trial] = field(default_factory=dict)
    promoted: set[ConfigId] = field(default_factory=set)
    # The successes, kept in rank order as they come: sorting them again at every promotion made a bracket of
    # thousands of configs quadratic.
    _ranked: list[Trial] = field(default_factory=list, repr=False)

    def add_finished(self, trial: Trial) -> None:
        """Take the finished trial of a config of the rung."""
        self.finished[trial.config_id] = trial
        if trial.is_success:
            bisect.insort(self._ranked, trial, key=_rank)

    def ranked(self) -> Sequence[Trial]:
        """The successful trials of the rung, best (lowest loss) first, ties broken by config id (do not modify)."""
        return self._ranked

    @property
    def n_successes(self) -> int:
        """How many configs of the rung finished successfully."""
        return len(self._ranked)


def _rank(trial: Trial) -> tuple[float, ConfigId]:
    return trial.loss, trial.config_id  # type: ignore[return-value]  # successes have a loss


class SuccessiveHalvingIteration(BaseIteration):
    """A bracket of successive halving; subclasses say when configs may be promoted.

    :meth:`get_next_run` prefers promotions, from the highest rung down, over new configs, so that the configs
    that already cost the most move on first.

    Parameters
    ----------
    iteration : int
        Index of the iteration in the run.
    num_configs : sequence of int
        How many configs each rung takes at most (non-increasing).
    budgets : sequence of float
        The budget of each rung, increasing.
    config_sampler : callable or None
        ``config_sampler(budget) -> (config, config_info)`` for the new configs of rung 0 (``None``: an
        iteration to look at, which cannot run).
    """

    def __init__(
        self,
        iteration: int,
        num_configs: Sequence[int],
        budgets: Sequence[float],
        config_sampler: ConfigSampler | None = None,
    ):
        super().__init__(iteration, num_configs, budgets, config_sampler)
        self.rungs = [Rung(budget, n) for budget, n in zip(self.budgets, self.num_configs)]
        self._rung_of: dict[ConfigId, int] = {}  # running configs to the rung they run on

    @property
    def stage(self) -> int:
        """The highest rung any config has entered."""
        return max(k for k, rung in enumerate(self.rungs) if rung.started or k == 0)

    @abstractmethod
    def _n_promotable(self, k: int) -> int:
        """How many configs of rung ``k`` may have been promoted to rung ``k + 1`` by now.

        Each promotion takes the best successful config of rung ``k`` not yet promoted.
        """

    def is_closed(self, k: int) -> bool:
        """Whether rung ``k`` will change no more: every config that will enter it did, and came back."""
        rung = self.rungs[k]
        if len(rung.finished) < len(rung.started):
            return False
        if k == 0:
            return self._n_sampled >= rung.capacity
        return self.is_closed(k - 1) and len(rung.started) >= min(rung.capacity, self.rungs[k - 1].n_successes)

    def get_next_run(self) -> RunRequest | None:
        if self.is_finished:
            return None
        for k in reversed(range(self.n_stages - 1)):
            if (request := self._promote_from(k)) is not None:
                return request
        if self._n_sampled < self.rungs[0].capacity:
            request = self._sample(0)
            self._enter(0, request)
            return request
        return None

    def register_result(self, trial: Trial) -> None:
        k = self._rung_of.pop(trial.config_id, None)
        assert k is not None, f"{trial.config_id} is not running in {self}"
        rung = self.rungs[k]
        assert trial.budget == rung.budget, (trial.budget, rung.budget)
        rung.add_finished(trial)
        self._update_finished()

    def _promote_from(self, k: int) -> RunRequest | None:
        rung, upper = self.rungs[k], self.rungs[k + 1]
        if len(upper.started) >= upper.capacity:
            return None
        if len(rung.promoted) >= min(self._n_promotable(k), upper.capacity):
            return None
        # Fewer promoted than allowed: the best config not yet promoted is within the allowed top.
        for trial in rung.ranked():
            if trial.config_id not in rung.promoted:
                rung.promoted.add(trial.config_id)
                request = RunRequest(trial.config_id, trial.config, trial.config_info, upper.budget)
                self._enter(k + 1, request)
                logger.debug("iteration %d: %s promoted to budget %g", self.iteration, trial.config_id, upper.budget)
                return request
        return None

    def _enter(self, k: int, request: RunRequest) -> None:
        self.rungs[k].started[request.config_id] = request
        self._rung_of[request.config_id] = k

    def _update_finished(self) -> None:
        # Promotions happen in get_next_run; a rung closed with no success closes the rungs above it too.
        self.is_finished = self.is_closed(self.n_stages - 1)
