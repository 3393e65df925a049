"""Multi-fidelity scheduling: iteration generators and the iterations (brackets) they make.

``HyperBandIterGenerator(min_budget, max_budget, eta)`` gives Hyperband (BOHB with a Bayesian optimizer),
``SuccessiveHalvingIterGenerator`` its most exploratory bracket only, ``CustomIterGenerator`` brackets written out
by hand. Each takes ``promotion="sync"`` (stages complete before configs advance, as in HpBandSter) or
``promotion="async"`` (configs advance as soon as they rank in the top ``1/eta`` of their stage, ASHA-style).
"""

from ultraopt.multi_fidelity.budgets import format_budget, geometric_budgets
from ultraopt.multi_fidelity.iter import (
    AsyncRankReductionIteration,
    BaseIteration,
    RankReductionIteration,
    RunRequest,
    SuccessiveHalvingIteration,
    WarmStartIteration,
)
from ultraopt.multi_fidelity.iter_gen import (
    BaseIterGenerator,
    CustomIterGenerator,
    HyperBandIterGenerator,
    SuccessiveHalvingIterGenerator,
)

__all__ = [
    "AsyncRankReductionIteration",
    "BaseIterGenerator",
    "BaseIteration",
    "CustomIterGenerator",
    "HyperBandIterGenerator",
    "RankReductionIteration",
    "RunRequest",
    "SuccessiveHalvingIteration",
    "SuccessiveHalvingIterGenerator",
    "WarmStartIteration",
    "format_budget",
    "geometric_budgets",
]
