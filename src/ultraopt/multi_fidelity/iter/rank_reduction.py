"""Synchronous successive halving: a rung is complete before its best configs advance."""

from __future__ import annotations

from ultraopt.multi_fidelity.iter.successive_halving import SuccessiveHalvingIteration

__all__ = ["RankReductionIteration"]


class RankReductionIteration(SuccessiveHalvingIteration):
    """Successive halving as in Hyperband and BOHB (HpBandSter's behaviour).

    Stage 0 evaluates ``num_configs[0]`` new configs on ``budgets[0]``. When every config of a stage has finished,
    the ``num_configs[s + 1]`` configs with the lowest loss advance to ``budgets[s + 1]``; failed configs never
    advance (a stage may then hold fewer configs), and ties are broken by config id so that runs are reproducible.
    While a stage waits for its last results, the Master gives free workers runs of the next iterations.
    """

    def _n_promotable(self, k: int) -> int:
        return self.rungs[k + 1].capacity if self.is_closed(k) else 0
