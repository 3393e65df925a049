"""Multi-fidelity scheduling: iteration generators and the iterations (brackets) they make."""

from ultraopt.multi_fidelity.budgets import format_budget
from ultraopt.multi_fidelity.iter import BaseIteration, RankReductionIteration, RunRequest
from ultraopt.multi_fidelity.iter_gen import BaseIterGenerator, CustomIterGenerator

__all__ = [
    "BaseIterGenerator",
    "BaseIteration",
    "CustomIterGenerator",
    "RankReductionIteration",
    "RunRequest",
    "format_budget",
]
