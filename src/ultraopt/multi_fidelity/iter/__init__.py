"""Iterations (brackets): what runs on which budget within one round of successive halving."""

from ultraopt.multi_fidelity.iter.async_rank_reduction import AsyncRankReductionIteration
from ultraopt.multi_fidelity.iter.base_iter import BaseIteration, ConfigSampler, RunRequest
from ultraopt.multi_fidelity.iter.rank_reduction import RankReductionIteration
from ultraopt.multi_fidelity.iter.successive_halving import Rung, SuccessiveHalvingIteration
from ultraopt.multi_fidelity.iter.warm_start import WarmStartIteration

__all__ = [
    "AsyncRankReductionIteration",
    "BaseIteration",
    "ConfigSampler",
    "RankReductionIteration",
    "RunRequest",
    "Rung",
    "SuccessiveHalvingIteration",
    "WarmStartIteration",
]
