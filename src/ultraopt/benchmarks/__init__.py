"""Synthetic test functions with known optima, single- and multi-fidelity, that describe their own domain.

>>> from ultraopt.benchmarks import get_benchmark, list_benchmarks
>>> branin = get_benchmark("branin")
>>> branin.hdl["x0"]
{'_type': 'uniform', '_value': [-5.0, 10.0]}
>>> abs(branin(branin.optimal_configs[0]) - branin.optimum) < 1e-12
True

Single-fidelity benchmarks (:class:`BenchmarkFunction`) are called as ``f(config) -> float``; multi-fidelity
ones (:class:`MultiFidelityBenchmark`) as ``f(config, budget) -> {"loss": ..., "cost": ...}``. Both take a
``seed`` for their noise, which is derived from the config (and budget), never from a global generator.
"""

from ultraopt.benchmarks.base import Benchmark, BenchmarkFunction, HyperParameter, MultiFidelityBenchmark
from ultraopt.benchmarks.continuous import FUNCTIONS, ContinuousFunction
from ultraopt.benchmarks.mixed import CASH_BRANCH_OPTIMA, PROBLEMS, MixedFunction, MixedMultiFidelity
from ultraopt.benchmarks.multi_fidelity import MF_FUNCTIONS, ContinuousMultiFidelity
from ultraopt.benchmarks.registry import get_benchmark, list_benchmarks

__all__ = [
    "CASH_BRANCH_OPTIMA",
    "FUNCTIONS",
    "MF_FUNCTIONS",
    "PROBLEMS",
    "Benchmark",
    "BenchmarkFunction",
    "ContinuousFunction",
    "ContinuousMultiFidelity",
    "HyperParameter",
    "MixedFunction",
    "MixedMultiFidelity",
    "MultiFidelityBenchmark",
    "get_benchmark",
    "list_benchmarks",
]
