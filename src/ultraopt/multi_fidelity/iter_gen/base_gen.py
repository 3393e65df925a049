"""Iteration generators: the schedule of brackets a run goes through."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ultraopt.multi_fidelity.budgets import format_budget
from ultraopt.multi_fidelity.iter.async_rank_reduction import AsyncRankReductionIteration
from ultraopt.multi_fidelity.iter.base_iter import BaseIteration, ConfigSampler
from ultraopt.multi_fidelity.iter.rank_reduction import RankReductionIteration

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PROMOTION_MODES", "BaseIterGenerator"]

#: ``promotion`` argument to the iteration class it selects.
PROMOTION_MODES: dict[str, type[BaseIteration]] = {
    "sync": RankReductionIteration,
    "async": AsyncRankReductionIteration,
}


class BaseIterGenerator(ABC):
    """Says, for each iteration index, how many configs run on which budgets, and makes the iteration.

    Subclasses implement :meth:`get_bracket` and :attr:`n_brackets` (after how many iterations the schedule
    repeats).

    Parameters
    ----------
    iter_klass : type of BaseIteration, optional
        The iteration class (how configs advance); by default the one ``promotion`` names.
    iter_kwargs : dict, optional
        Extra keyword arguments for ``iter_klass``.
    promotion : {"sync", "async"}
        ``"sync"`` (default): a stage is complete before its best configs advance, as in Hyperband and BOHB
        (:class:`~ultraopt.multi_fidelity.iter.rank_reduction.RankReductionIteration`). ``"async"``: a config
        advances as soon as it ranks in the top ``1/eta`` of the finished configs of its stage, so that no worker
        waits for a stage to fill (ASHA-style,
        :class:`~ultraopt.multi_fidelity.iter.async_rank_reduction.AsyncRankReductionIteration`). Both run the
        same number of evaluations per budget in a finished bracket. Ignored when ``iter_klass`` is given.
    """

    def __init__(
        self,
        iter_klass: type[BaseIteration] | None = None,
        iter_kwargs: dict[str, Any] | None = None,
        promotion: str = "sync",
    ):
        if promotion not in PROMOTION_MODES:
            raise ValueError(f"promotion must be one of {sorted(PROMOTION_MODES)}, got {promotion!r}")
        self.promotion = promotion
        self.iter_klass = iter_klass or PROMOTION_MODES[promotion]
        self.iter_kwargs = dict(iter_kwargs or {})

    @abstractmethod
    def get_bracket(self, iteration: int) -> tuple[list[int], list[float]]:
        """The number of configs and the budget of each stage of iteration ``iteration``."""

    @property
    @abstractmethod
    def n_brackets(self) -> int:
        """How many iterations make one cycle of the schedule."""

    def get_budgets(self) -> list[float]:
        """Every budget the schedule uses, smallest first."""
        return sorted({budget for i in range(self.n_brackets) for budget in self.get_bracket(i)[1]})

    def get_next_iteration(
        self, iteration: int, config_sampler: ConfigSampler | None = None, **iteration_kwargs: Any
    ) -> BaseIteration:
        """Make iteration ``iteration``, drawing new configs from ``config_sampler(budget)``.

        Parameters
        ----------
        iteration : int
            Its number, from 0; the schedule's bracket ``iteration mod n_brackets`` sets its stages.
        config_sampler : callable, optional
            ``config_sampler(budget) -> (config, info)``, called for each new config. Without it the iteration
            shows its stages (``num_configs``, ``budgets``) but cannot run.
        **iteration_kwargs
            Extra arguments of the iteration class, over those the generator was made with.

        Returns
        -------
        BaseIteration
        """
        num_configs, budgets = self.get_bracket(iteration)
        kwargs = {**self.iter_kwargs, **iteration_kwargs}
        return self.iter_klass(iteration, num_configs, budgets, config_sampler, **kwargs)

    def num_all_configs(self, n_iterations: int) -> int:
        """How many evaluations ``n_iterations`` iterations make at most (every stage full).

        The schedule repeats every :attr:`n_brackets` iterations, so this takes no longer for a million iterations.
        """
        return self._over_iterations(n_iterations, lambda num_configs: sum(num_configs))

    def num_new_configs(self, n_iterations: int) -> int:
        """How many new configs ``n_iterations`` iterations sample (the first stage of each takes new ones)."""
        return self._over_iterations(n_iterations, lambda num_configs: num_configs[0])

    def _over_iterations(self, n_iterations: int, count: Callable[[list[int]], int]) -> int:
        """The sum of ``count(num_configs)`` over the first ``n_iterations`` iterations."""
        sizes = [count(self.get_bracket(i)[0]) for i in range(min(n_iterations, self.n_brackets))]
        full_cycles, rest = divmod(n_iterations, self.n_brackets)
        return full_cycles * sum(sizes) + sum(sizes[:rest])

    def get_table(self) -> pd.DataFrame:
        """One cycle of the schedule: a row per (iteration, stage) with its number of configs and budget.

        ``budget`` holds the float; ``budget_label`` writes it as the user would (``1/16`` rather than 0.0625).
        """
        import pandas as pd  # here, not at the top: only tables need it, and importing it takes a moment

        rows = [
            {"iteration": i, "stage": stage, "num_configs": n, "budget": budget, "budget_label": format_budget(budget)}
            for i in range(self.n_brackets)
            for stage, (n, budget) in enumerate(zip(*self.get_bracket(i)))
        ]
        return pd.DataFrame(rows).set_index(["iteration", "stage"])

    def __repr__(self) -> str:
        budgets = ", ".join(format_budget(budget) for budget in self.get_budgets())
        return f"{type(self).__name__}(budgets=[{budgets}], {self._iterations_repr()})"

    def _iterations_repr(self) -> str:
        """What the iterations are, for ``repr``: the promotion mode, or the user's own iteration class."""
        if self.iter_klass is PROMOTION_MODES[self.promotion]:
            return f"promotion={self.promotion!r}"
        return f"iter_klass={self.iter_klass.__name__}"
