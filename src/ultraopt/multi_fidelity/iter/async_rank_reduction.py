"""Asynchronous successive halving (ASHA-style promotion inside Hyperband's brackets)."""

from __future__ import annotations

from ultraopt.multi_fidelity.iter.successive_halving import SuccessiveHalvingIteration

__all__ = ["AsyncRankReductionIteration"]


class AsyncRankReductionIteration(SuccessiveHalvingIteration):
    """Successive halving in which no config waits for its rung to fill.

    Once ``n_finished`` configs of rung ``k`` came back, up to ``floor(n_finished * num_configs[k + 1] /
    num_configs[k])`` of them (the top ``1/eta`` in Hyperband) may have been promoted to rung ``k + 1``, and each
    promotion takes the best successful config not yet promoted: a config is promoted as soon as it ranks in the
    top ``1/eta`` of the finished configs of its rung and a place is free, without waiting for the rest of the
    rung (the promotion rule of ASHA, Li et al., 2020). Failed configs count as finished, rank last and are never
    promoted.

    Unlike ASHA, the bracket keeps its size: rung ``k + 1`` takes at most ``num_configs[k + 1]`` configs and,
    once rung ``k`` is closed, the best configs not yet promoted fill the places left. A finished bracket has
    therefore run exactly as many evaluations per budget as the synchronous mode
    (:class:`~ultraopt.multi_fidelity.iter.rank_reduction.RankReductionIteration`), so that ``n_iterations``,
    ``num_all_configs`` and ``get_table`` mean the same in both modes; only the order differs. Counting
    promotions (rather than promoting every config that is in the top ``1/eta`` at some moment, as ASHA does)
    keeps at least one place free until the rung is closed, so the rung's final best config always advances;
    configs promoted early may not be among its final top ``1/eta``, which is the price of never waiting.
    """

    def _n_promotable(self, k: int) -> int:
        rung, upper = self.rungs[k], self.rungs[k + 1]
        early = len(rung.finished) * upper.capacity // rung.capacity
        return max(early, upper.capacity if self.is_closed(k) else 0)
