"""Asynchronous successive halving (ASHA-style promotion inside Hyperband's brackets)."""

from __future__ import annotations

from ultraopt.multi_fidelity.iter.successive_halving import SuccessiveHalvingIteration

__all__ = ["AsyncRankReductionIteration"]


class AsyncRankReductionIteration(SuccessiveHalvingIteration):
    """Successive halving in which no config waits for its rung to fill.

    A config of rung ``k`` is promoted as soon as it ranks among the best
    ``floor(n_finished * num_configs[k + 1] / num_configs[k])`` successful configs of the ``n_finished`` configs
    that came back from rung ``k`` (the top ``1/eta`` in Hyperband; failed configs count as finished and rank
    last, so they are never promoted). This is the promotion rule of ASHA (Li et al., 2020).

    Unlike ASHA, the bracket keeps its size: rung ``k + 1`` takes at most ``num_configs[k + 1]`` configs and,
    once rung ``k`` is closed, the best configs not yet promoted fill the places left. A finished bracket has
    therefore run exactly as many evaluations per budget as the synchronous mode
    (:class:`~ultraopt.multi_fidelity.iter.rank_reduction.RankReductionIteration`), so that ``n_iterations``,
    ``num_all_configs`` and ``get_table`` mean the same in both modes; only the order differs, and a config
    promoted early may not be among the final top ``1/eta`` of its rung (the price of never waiting).
    """

    def _n_promotable(self, k: int) -> int:
        rung, upper = self.rungs[k], self.rungs[k + 1]
        early = len(rung.finished) * upper.capacity // rung.capacity
        return max(early, upper.capacity if self.is_closed(k) else 0)
