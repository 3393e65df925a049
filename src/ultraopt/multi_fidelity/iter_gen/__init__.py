"""Iteration generators: the schedule of brackets of a run."""

from ultraopt.multi_fidelity.iter_gen.base_gen import PROMOTION_MODES, BaseIterGenerator
from ultraopt.multi_fidelity.iter_gen.custom_gen import CustomIterGenerator
from ultraopt.multi_fidelity.iter_gen.hyperband import HyperBandIterGenerator, SuccessiveHalvingIterGenerator

__all__ = [
    "PROMOTION_MODES",
    "BaseIterGenerator",
    "CustomIterGenerator",
    "HyperBandIterGenerator",
    "SuccessiveHalvingIterGenerator",
]
