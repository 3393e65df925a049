"""Iteration generators: the schedule of brackets of a run."""

from ultraopt.multi_fidelity.iter_gen.base_gen import BaseIterGenerator
from ultraopt.multi_fidelity.iter_gen.custom_gen import CustomIterGenerator

__all__ = ["BaseIterGenerator", "CustomIterGenerator"]
