"""Synchronous successive halving: a stage is complete before its best configs advance."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from ultraopt.multi_fidelity.iter.base_iter import BaseIteration, ConfigSampler, RunRequest
from ultraopt.trial import ConfigId, Trial

__all__ = ["RankReductionIteration"]


class RankReductionIteration(BaseIteration):
    """Successive halving as in Hyperband and BOHB.

    Stage 0 evaluates ``num_configs[0]`` new configs on ``budgets[0]``. When every config of a stage has finished,
    the ``num_configs[s + 1]`` configs with the lowest loss advance to ``budgets[s + 1]``; failed configs never
    advance (a stage may then hold fewer configs), and ties are broken by config id so that runs are reproducible.
    """

    def __init__(
        self,
        iteration: int,
        num_configs: Sequence[int],
        budgets: Sequence[float],
        config_sampler: ConfigSampler,
    ):
        super().__init__(iteration, num_configs, budgets, config_sampler)
        self.stage = 0
        self._members: dict[ConfigId, RunRequest] = {}  # configs of the current stage
        self._results: dict[ConfigId, Trial] = {}  # finished trials of the current stage
        self._queue: deque[RunRequest] = deque()  # promoted runs not yet handed out

    def get_next_run(self) -> RunRequest | None:
        if self.is_finished:
            return None
        if self.stage == 0 and self._n_sampled < self.num_configs[0]:
            request = self._sample(0)
            self._members[request.config_id] = request
            return request
        return self._queue.popleft() if self._queue else None

    def register_result(self, trial: Trial) -> None:
        assert trial.config_id in self._members, f"{trial.config_id} is not in stage {self.stage} of {self}"
        assert trial.budget == self.budgets[self.stage], (trial.budget, self.budgets[self.stage])
        self._results[trial.config_id] = trial
        stage_size = self.num_configs[0] if self.stage == 0 else len(self._members)
        if len(self._results) == stage_size:
            self._advance()

    def _advance(self) -> None:
        ranked = sorted(
            (trial for trial in self._results.values() if trial.is_success),
            key=lambda trial: (trial.loss, trial.config_id),
        )
        if self.stage + 1 >= self.n_stages or not ranked:
            self.is_finished = True
            return
        self.stage += 1
        budget = self.budgets[self.stage]
        promoted = ranked[: self.num_configs[self.stage]]
        self._members = {
            trial.config_id: RunRequest(trial.config_id, trial.config, trial.config_info, budget) for trial in promoted
        }
        self._results = {}
        self._queue = deque(self._members.values())
