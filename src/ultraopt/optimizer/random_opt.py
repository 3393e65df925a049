"""Random search: sampling from the space's own distributions, without duplicates."""

from __future__ import annotations

from ultraopt.optimizer.base_opt import BaseOptimizer, Proposal

__all__ = ["RandomOptimizer"]


class RandomOptimizer(BaseOptimizer):
    """Draws configs from the space's own distributions: uniform on each hyperparameter's scale (log where the
    space says log), unless a ConfigSpace space gives a prior (normal or beta hyperparameters, categorical
    weights), which is then followed. The model-based optimizers explore uniformly and ignore such priors.

    Conditions and forbidden clauses hold on every proposal, and no config is proposed twice until a finite
    space is exhausted.
    """

    name = "Random"

    def _propose(self, budget: float) -> Proposal:
        return self.sample_random(1)[0], {"origin": "random"}
