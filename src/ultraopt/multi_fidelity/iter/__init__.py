"""Iterations (brackets): what runs on which budget within one round of successive halving."""

from ultraopt.multi_fidelity.iter.base_iter import BaseIteration, ConfigSampler, RunRequest
from ultraopt.multi_fidelity.iter.rank_reduction import RankReductionIteration

__all__ = ["BaseIteration", "ConfigSampler", "RankReductionIteration", "RunRequest"]
