"""Synthetic test functions with known optima that describe their own domain.

>>> from ultraopt.benchmarks import ContinuousFunction
>>> branin = ContinuousFunction("branin")
>>> branin.hdl["x0"]
{'_type': 'uniform', '_value': [-5.0, 10.0]}
>>> abs(branin(branin.optimal_configs[0]) - branin.optimum) < 1e-12
True

Benchmarks are called as ``f(config) -> float`` and take a ``seed`` for their noise, which is derived from
the config, never from a global generator.
"""

from ultraopt.benchmarks.base import Benchmark, BenchmarkFunction, HyperParameter, MultiFidelityBenchmark
from ultraopt.benchmarks.continuous import FUNCTIONS, ContinuousFunction
from ultraopt.benchmarks.mixed import CASH_BRANCH_OPTIMA, PROBLEMS, MixedFunction, MixedMultiFidelity

__all__ = [
    "CASH_BRANCH_OPTIMA",
    "FUNCTIONS",
    "PROBLEMS",
    "Benchmark",
    "BenchmarkFunction",
    "ContinuousFunction",
    "HyperParameter",
    "MixedFunction",
    "MixedMultiFidelity",
    "MultiFidelityBenchmark",
]
