"""Optimizers: objects that propose configs (``ask``) and learn from results (``tell``).

Each is imported on first use, so that a run with ETPE does not load the tree surrogates' scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ultraopt._lazy import lazy_attributes

__all__ = ["BaseOptimizer", "ETPEOptimizer", "ForestOptimizer", "GBRTOptimizer", "RandomOptimizer", "TPEOptimizer"]

_LAZY = {
    "BaseOptimizer": "ultraopt.optimizer.base_opt",
    "ETPEOptimizer": "ultraopt.optimizer.etpe",
    "ForestOptimizer": "ultraopt.optimizer.forest_opt",
    "GBRTOptimizer": "ultraopt.optimizer.gbrt_opt",
    "RandomOptimizer": "ultraopt.optimizer.random_opt",
    "TPEOptimizer": "ultraopt.optimizer.tpe",
}

if TYPE_CHECKING:
    from ultraopt.optimizer.base_opt import BaseOptimizer
    from ultraopt.optimizer.etpe import ETPEOptimizer
    from ultraopt.optimizer.forest_opt import ForestOptimizer
    from ultraopt.optimizer.gbrt_opt import GBRTOptimizer
    from ultraopt.optimizer.random_opt import RandomOptimizer
    from ultraopt.optimizer.tpe import TPEOptimizer

__getattr__, __dir__ = lazy_attributes("ultraopt.optimizer", globals(), _LAZY)
