"""Optimizers: objects that propose configs (``ask``) and learn from results (``tell``)."""

from ultraopt.optimizer.base_opt import BaseOptimizer
from ultraopt.optimizer.etpe import ETPEOptimizer
from ultraopt.optimizer.forest_opt import ForestOptimizer
from ultraopt.optimizer.gbrt_opt import GBRTOptimizer
from ultraopt.optimizer.random_opt import RandomOptimizer
from ultraopt.optimizer.tpe import TPEOptimizer

__all__ = ["BaseOptimizer", "ETPEOptimizer", "ForestOptimizer", "GBRTOptimizer", "RandomOptimizer", "TPEOptimizer"]
