"""A schedule written out by hand: one bracket, or a list of brackets used in turn."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ultraopt.jsonable import plain_scalar
from ultraopt.multi_fidelity.budgets import match_budget
from ultraopt.multi_fidelity.iter.base_iter import BaseIteration
from ultraopt.multi_fidelity.iter_gen.base_gen import BaseIterGenerator

__all__ = ["CustomIterGenerator"]


def _as_brackets(values: Sequence[Any], name: str) -> list[list[Any]]:
    if isinstance(values, np.ndarray):  # numpy arrays and numpy scalars are lists and numbers here
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ValueError(f"{name} must be a non-empty list (or a list of lists), got {values!r}")
    if all(isinstance(item, (Sequence, np.ndarray)) and not isinstance(item, str) for item in values):
        return [[plain_scalar(value) for value in item] for item in values]
    return [[plain_scalar(value) for value in values]]


def _is_budget(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf


class CustomIterGenerator(BaseIterGenerator):
    """Brackets given explicitly.

    Parameters
    ----------
    num_configs_list : list of int, or list of lists of int
        The number of configs per stage of one bracket (``[9, 3, 1]``), or of several brackets used in turn
        (``[[9, 3, 1], [3, 1]]``).
    budgets_list : list of float, or list of lists of float
        The budget of each stage, in the same shape.
    iter_klass, iter_kwargs, promotion
        How configs advance; see :class:`~ultraopt.multi_fidelity.iter_gen.base_gen.BaseIterGenerator`.

    Examples
    --------
    One evaluation per iteration on budget 1 (what ``fmin`` does without multi-fidelity):

    >>> CustomIterGenerator([1], [1]).num_all_configs(10)
    10
    """

    def __init__(
        self,
        num_configs_list: Sequence[Any],
        budgets_list: Sequence[Any],
        iter_klass: type[BaseIteration] | None = None,
        iter_kwargs: dict[str, Any] | None = None,
        promotion: str = "sync",
    ):
        super().__init__(iter_klass, iter_kwargs, promotion)
        num_configs = _as_brackets(num_configs_list, "num_configs_list")
        budgets = _as_brackets(budgets_list, "budgets_list")
        if len(num_configs) != len(budgets):
            raise ValueError(f"{len(num_configs)} brackets of num_configs but {len(budgets)} of budgets")
        for index, (counts, stage_budgets) in enumerate(zip(num_configs, budgets)):
            if len(counts) != len(stage_budgets):
                raise ValueError(f"bracket {index}: num_configs {counts} and budgets {stage_budgets} differ in length")
            if not counts:
                raise ValueError(f"bracket {index} is empty: a bracket needs at least one stage")
            if any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in counts):
                raise ValueError(f"bracket {index}: num_configs must be positive ints, got {counts}")
            if any(later > earlier for earlier, later in zip(counts, counts[1:])):
                raise ValueError(f"bracket {index}: num_configs must not grow from stage to stage, got {counts}")
            if any(not _is_budget(b) for b in stage_budgets):
                raise ValueError(f"bracket {index}: budgets must be positive finite numbers, got {stage_budgets}")
            if any(later <= earlier for earlier, later in zip(stage_budgets, stage_budgets[1:])):
                raise ValueError(f"bracket {index}: budgets must increase from stage to stage, got {stage_budgets}")
        self._num_configs = num_configs
        # budgets equal up to float rounding (1/3 and 0.333333333333) are one budget, in tables and in the model
        distinct: list[float] = []

        def first_equal(budget: float) -> float:
            found = match_budget(budget, distinct)
            if found is None:
                distinct.append(budget)
            return budget if found is None else found

        self._budgets = [[first_equal(float(b)) for b in stage_budgets] for stage_budgets in budgets]
        for index, (given, merged) in enumerate(zip(budgets, self._budgets)):
            if any(later <= earlier for earlier, later in zip(merged, merged[1:])):  # 1 and 1 + 1e-12, say
                raise ValueError(f"bracket {index}: budgets must increase from stage to stage, got {given}, which "
                                 "are equal up to float rounding")

    @property
    def n_brackets(self) -> int:
        return len(self._num_configs)

    def get_bracket(self, iteration: int) -> tuple[list[int], list[float]]:
        index = iteration % self.n_brackets
        return list(self._num_configs[index]), list(self._budgets[index])
