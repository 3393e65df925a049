"""Random search: uniform sampling without duplicates."""

from __future__ import annotations

from ultraopt.optimizer.base_opt import BaseOptimizer, Proposal

__all__ = ["RandomOptimizer"]


class RandomOptimizer(BaseOptimizer):
    """Draws configs uniformly on each hyperparameter's own scale (log where the space says log).

    Conditions and forbidden clauses hold on every proposal, and no config is proposed twice until a finite
    space is exhausted.
    """

    name = "Random"

    def _propose(self, budget: float) -> Proposal:
        return self.sample_random(1)[0], {"origin": "random"}
