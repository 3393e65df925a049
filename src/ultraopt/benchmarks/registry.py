"""Benchmarks by name: :func:`get_benchmark` and :func:`list_benchmarks`.

Functions defined in any dimension are registered under their plain name (``"ackley"``, dimension 2 unless
``dim=`` is given) and are also found as ``"{name}{dim}d"`` (``"ackley10d"``), which is the name such an
instance carries, so ``get_benchmark(bench.name)`` rebuilds any benchmark.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from ultraopt.benchmarks.base import Benchmark
from ultraopt.benchmarks.continuous import FUNCTIONS, ContinuousFunction
from ultraopt.benchmarks.mixed import PROBLEMS, MixedFunction, MixedMultiFidelity
from ultraopt.benchmarks.multi_fidelity import MF_FUNCTIONS, ContinuousMultiFidelity

__all__ = ["get_benchmark", "list_benchmarks"]

_SINGLE: dict[str, Callable[..., Benchmark]] = {
    **{name: partial(ContinuousFunction, name) for name in FUNCTIONS},
    **{name: partial(MixedFunction, name) for name in PROBLEMS},
}
_MULTI: dict[str, Callable[..., Benchmark]] = {
    **{name: partial(ContinuousMultiFidelity, name) for name in MF_FUNCTIONS},
    **{f"{name}_mf": partial(MixedMultiFidelity, name) for name in PROBLEMS},
}
# The Rosenbrock dimensions of the usual benchmark suites (HPOlib), listed for discovery.
_LISTED_DIMS = {"rosenbrock": (2, 5, 10, 20)}
_WITH_DIM = re.compile(r"^(?P<function>[a-z_]+?)(?P<dim>\d+)d$")


def list_benchmarks(multi_fidelity: bool | None = None) -> list[str]:
    """Names accepted by :func:`get_benchmark`, sorted.

    Parameters
    ----------
    multi_fidelity : bool or None
        ``True``: only multi-fidelity benchmarks; ``False``: only single-fidelity ones; ``None``: all.
    """
    names: list[str] = []
    if multi_fidelity in (None, False):
        names += list(_SINGLE)
        names += [f"{function}{dim}d" for function, dims in _LISTED_DIMS.items() for dim in dims]
    if multi_fidelity in (None, True):
        names += list(_MULTI)
    return sorted(names)


def get_benchmark(name: str, **kwargs: Any) -> Benchmark:
    """Build the benchmark called ``name``.

    Parameters
    ----------
    name : str
        One of :func:`list_benchmarks` (case-insensitive), or ``"{function}{dim}d"`` for a function defined in
        any dimension, e.g. ``"levy7d"``.
    **kwargs
        Passed to the benchmark's constructor: ``seed``, ``noise_std``, ``dim`` (functions of any dimension),
        ``min_budget``, ``max_budget`` and ``fidelity_bias`` (multi-fidelity benchmarks).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the close matches and all names), or a ``dim`` that contradicts
        the name.

    Examples
    --------
    >>> bench = get_benchmark("hartmann6_mf", seed=1)
    >>> sorted(bench(bench.optimal_configs[0], budget=1.0))
    ['cost', 'loss']
    """
    key = name.strip().lower() if isinstance(name, str) else name
    if not isinstance(key, str):
        raise TypeError(f"a benchmark name must be a str, got {type(name).__name__}")
    factories = {**_SINGLE, **_MULTI}
    if key in factories:
        return factories[key](**kwargs)
    match = _WITH_DIM.match(key)
    if match and match["function"] in FUNCTIONS and FUNCTIONS[match["function"]].dim is None:
        dim = int(match["dim"])
        if kwargs.setdefault("dim", dim) != dim:
            raise ValueError(f"benchmark {name!r} has dimension {dim}, but dim={kwargs['dim']!r} was given")
        return ContinuousFunction(match["function"], **kwargs)
    close = difflib.get_close_matches(key, list_benchmarks(), n=3)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ValueError(f"unknown benchmark {name!r}.{hint} Known benchmarks: {', '.join(list_benchmarks())}")
