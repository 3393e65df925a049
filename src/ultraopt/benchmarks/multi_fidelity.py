"""Multi-fidelity counterparts of Branin and Hartmann, with the bias, noise and cost model of
:class:`~ultraopt.benchmarks.base.MultiFidelityBenchmark`.

The low-fidelity counterparts ``f_g`` follow Kandasamy et al. (2017, "Multi-fidelity Bayesian optimisation
with continuous approximations") with a single fidelity: Branin's ``b``, ``c`` and ``t`` are shifted by
``-0.01 g``, ``-0.1 g`` and ``+0.005 g``; Hartmann's weights ``alpha`` by ``-0.1 g``. Those shifts alone
barely change rankings (Spearman > 0.99 between fidelities) and make Branin *better* at low budgets, so the
shared bias term and noise of the base class do the rest: a config's slowness is the mean of its coordinates
scaled to [0, 1], which tilts the low-fidelity landscape and moves its minimiser.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ultraopt.benchmarks.base import MultiFidelityBenchmark
from ultraopt.benchmarks.continuous import (
    BRANIN_PARAMS,
    HARTMANN3_A,
    HARTMANN3_P,
    HARTMANN6_A,
    HARTMANN6_P,
    HARTMANN_ALPHA,
    Array,
    ContinuousFunction,
    as_points,
    branin,
    hartmann,
)

__all__ = ["MF_FUNCTIONS", "ContinuousMultiFidelity", "MultiFidelitySpec"]


@dataclass(frozen=True)
class MultiFidelitySpec:
    """A multi-fidelity counterpart of a continuous function.

    Attributes
    ----------
    function : str
        The key of the true function in :data:`~ultraopt.benchmarks.continuous.FUNCTIONS`.
    counterpart : callable
        ``counterpart(X, gap)``, the low-fidelity counterpart; ``counterpart(X, 0)`` is the true function.
    scale : float
        Size of the differences between good configs; sets the bias (and the default noise). Chosen so that
        with the defaults Spearman's rank correlation between the minimal and the maximal budget over random
        configs is about 0.8.
    """

    function: str
    counterpart: Callable[[Array, float], Array]
    scale: float


def _branin_counterpart(X: Array, gap: float) -> Array:
    p = BRANIN_PARAMS
    return branin(X, b=p["b"] - 0.01 * gap, c=p["c"] - 0.1 * gap, t=p["t"] + 0.005 * gap)


MF_FUNCTIONS: dict[str, MultiFidelitySpec] = {
    "branin_mf": MultiFidelitySpec("branin", _branin_counterpart, scale=5.0),
    "hartmann3_mf": MultiFidelitySpec(
        "hartmann3",
        lambda X, gap: hartmann(X, HARTMANN3_A, HARTMANN3_P, HARTMANN_ALPHA - 0.1 * gap),
        scale=1.0,
    ),
    "hartmann6_mf": MultiFidelitySpec(
        "hartmann6",
        lambda X, gap: hartmann(X, HARTMANN6_A, HARTMANN6_P, HARTMANN_ALPHA - 0.1 * gap),
        scale=1.0,
    ),
}


class ContinuousMultiFidelity(MultiFidelityBenchmark):
    """A continuous function with budgets: its domain and optimum are those of the true function.

    Parameters
    ----------
    function : str
        A key of :data:`MF_FUNCTIONS`: ``"branin_mf"``, ``"hartmann3_mf"`` or ``"hartmann6_mf"``.
    min_budget, max_budget : float
        The budget range (default 1/27 to 1: four rungs of Hyperband with ``eta=3``).
    noise_std : float or None
        Noise standard deviation at ``min_budget``; ``None`` gives ``0.1 * scale``; 0 is noise-free.
    fidelity_bias : float
        Weight of the low-fidelity bias.
    seed : int
        Seed of the noise.
    """

    def __init__(
        self,
        function: str,
        *,
        min_budget: float = 1 / 27,
        max_budget: float = 1.0,
        noise_std: float | None = None,
        fidelity_bias: float = 2.0,
        seed: int = 0,
    ) -> None:
        if function not in MF_FUNCTIONS:
            raise ValueError(f"unknown multi-fidelity function {function!r}; known: {sorted(MF_FUNCTIONS)}")
        spec = MF_FUNCTIONS[function]
        self.function = function
        self._counterpart = spec.counterpart
        true_function = ContinuousFunction(spec.function)
        self._bounds = true_function.bounds
        self._box = [(float(low), float(high)) for low, high in self._bounds]
        super().__init__(
            function,
            true_function.hdl,
            true_function.optimum,
            true_function.optimal_configs,
            scale=spec.scale,
            min_budget=min_budget,
            max_budget=max_budget,
            noise_std=noise_std,
            fidelity_bias=fidelity_bias,
            seed=seed,
        )

    @property
    def bounds(self) -> Array:
        """The box as an array of shape ``(dim, 2)`` of ``[lower, upper]`` rows (a copy)."""
        return self._bounds.copy()

    def evaluate_array(self, X: ArrayLike, budget: float | None = None) -> Array:
        """Noise-free losses of the rows of ``X`` (shape ``(n, dim)``) at ``budget`` (default: maximal)."""
        X = as_points(X, self._bounds, self.name)
        gap = self.gap(budget)
        return self._counterpart(X, gap) + self.fidelity_bias * self.scale * gap * self._unit_mean(X)

    def _unit_mean(self, X: Array) -> Array:
        low, high = self._bounds[:, 0], self._bounds[:, 1]
        return np.mean((X - low) / (high - low), axis=1)

    def _value(self, values: dict[str, Any], gap: float) -> float:
        # check_config returns the values in domain order, x0 .. x{d-1}
        return float(self._counterpart(np.array([list(values.values())]), gap)[0])

    def _slowness(self, values: dict[str, Any]) -> float:
        # Plain Python: on one point it is several times faster than the numpy path of _unit_mean.
        units = [(x - low) / (high - low) for x, (low, high) in zip(values.values(), self._box, strict=True)]
        return sum(units) / len(units)
