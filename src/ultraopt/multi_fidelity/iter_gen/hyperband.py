"""Hyperband and successive halving: brackets over the geometric budgets ``max_budget * eta**-k``."""

from __future__ import annotations

import logging
import math
from typing import Any

from ultraopt.multi_fidelity.budgets import as_fraction, format_budget, geometric_budgets
from ultraopt.multi_fidelity.iter.base_iter import BaseIteration
from ultraopt.multi_fidelity.iter_gen.base_gen import BaseIterGenerator

__all__ = ["HyperBandIterGenerator", "SuccessiveHalvingIterGenerator"]

logger = logging.getLogger(__name__)


class HyperBandIterGenerator(BaseIterGenerator):
    """Hyperband (Li et al., 2018) with HpBandSter's bracket sizes; with a Bayesian optimizer, BOHB.

    With ``S`` budgets, iteration ``i`` is the bracket ``s = S - 1 - (i mod S)``: it starts
    ``n_0 = floor(floor(S / (s + 1)) * eta**s)`` configs on the budget ``max_budget * eta**-s`` and keeps
    ``n_j = max(floor(n_0 * eta**-j), 1)`` of them on each following budget up to ``max_budget`` (exact arithmetic,
    no float truncation). Brackets go from the most exploratory (``s = S - 1``, every budget) to plain evaluations
    on ``max_budget`` (``s = 0``) and cycle.

    Parameters
    ----------
    min_budget, max_budget : float
        The budget range; the budgets are every ``max_budget * eta**-k`` not below ``min_budget`` (computed on
        the fractions the numbers stand for, so ``(0.001, 1, 10)`` has the four budgets 0.001 to 1).
    eta : float
        The reduction factor: the best ``1/eta`` of a stage advance to a budget ``eta`` times larger.
    SH_only : bool
        Run only the most exploratory bracket, every iteration (successive halving).
    promotion : {"sync", "async"}
        When configs advance; see :class:`~ultraopt.multi_fidelity.iter_gen.base_gen.BaseIterGenerator`.
    iter_klass, iter_kwargs
        A custom iteration class and its extra arguments (``promotion`` is then ignored).

    Examples
    --------
    >>> generator = HyperBandIterGenerator(min_budget=1 / 16, max_budget=1, eta=4)
    >>> generator.get_bracket(0), generator.get_bracket(1), generator.get_bracket(2)
    (([16, 4, 1], [0.0625, 0.25, 1.0]), ([4, 1], [0.25, 1.0]), ([3], [1.0]))
    >>> generator.num_all_configs(3)
    29
    """

    def __init__(
        self,
        min_budget: float,
        max_budget: float,
        eta: float = 3,
        SH_only: bool = False,  # noqa: N803 - the name is the public API (SPEC §5)
        promotion: str = "sync",
        iter_klass: type[BaseIteration] | None = None,
        iter_kwargs: dict[str, Any] | None = None,
    ):
        super().__init__(iter_klass, iter_kwargs, promotion)
        self.budgets = geometric_budgets(min_budget, max_budget, eta)
        self.min_budget = float(min_budget)
        self.max_budget = float(max_budget)
        self.eta = eta
        self.SH_only = bool(SH_only)
        if len(self.budgets) == 1 and self.min_budget < self.max_budget:
            logger.warning("eta=%s is more than max_budget / min_budget (%s / %s): every trial runs on max_budget, "
                           "nothing is stopped early", eta, format_budget(self.max_budget),
                           format_budget(self.min_budget))
        # Iteration i of a cycle is bracket s = S - 1 - i: the most exploratory first.
        self._brackets = [self._make_bracket(s) for s in reversed(range(self.n_stages))]

    @property
    def n_stages(self) -> int:
        """``S``: how many budgets the most exploratory bracket climbs."""
        return len(self.budgets)

    @property
    def n_brackets(self) -> int:
        return 1 if self.SH_only else self.n_stages

    def get_bracket(self, iteration: int) -> tuple[list[int], list[float]]:
        num_configs, budgets = self._brackets[0 if self.SH_only else iteration % self.n_stages]
        return list(num_configs), list(budgets)

    def _make_bracket(self, s: int) -> tuple[list[int], list[float]]:
        """Bracket ``s``: ``s + 1`` stages ending on ``max_budget``."""
        eta = as_fraction(self.eta)  # exact: 27 * 3**-3 must be 1, not 0.999...
        n0 = math.floor((self.n_stages // (s + 1)) * eta**s)  # a whole number of configs first, as HpBandSter
        num_configs = [max(math.floor(n0 / eta**j), 1) for j in range(s + 1)]
        return num_configs, self.budgets[self.n_stages - 1 - s :]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(min_budget={format_budget(self.min_budget)}, "
            f"max_budget={format_budget(self.max_budget)}, eta={self.eta}, "
            f"SH_only={self.SH_only}, {self._iterations_repr()})"
        )


class SuccessiveHalvingIterGenerator(HyperBandIterGenerator):
    """Successive halving: only Hyperband's most exploratory bracket, every iteration.

    The same as ``HyperBandIterGenerator(..., SH_only=True)``.

    Parameters
    ----------
    min_budget, max_budget, eta, promotion, iter_klass, iter_kwargs
        As for :class:`HyperBandIterGenerator`: the budget range, the reduction factor, when configs advance
        (``"sync"`` or ``"async"``) and a custom iteration class with its extra arguments.

    Examples
    --------
    >>> SuccessiveHalvingIterGenerator(min_budget=1 / 16, max_budget=1, eta=4).get_bracket(5)
    ([16, 4, 1], [0.0625, 0.25, 1.0])
    """

    def __init__(
        self,
        min_budget: float,
        max_budget: float,
        eta: float = 3,
        promotion: str = "sync",
        iter_klass: type[BaseIteration] | None = None,
        iter_kwargs: dict[str, Any] | None = None,
    ):
        super().__init__(min_budget, max_budget, eta, True, promotion, iter_klass, iter_kwargs)
