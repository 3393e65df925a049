"""Optimizers: objects that propose configs (``ask``) and learn from results (``tell``)."""

from ultraopt.optimizer.base_opt import BaseOptimizer
from ultraopt.optimizer.random_opt import RandomOptimizer

__all__ = ["BaseOptimizer", "RandomOptimizer"]
