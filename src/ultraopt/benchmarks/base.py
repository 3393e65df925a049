"""Base classes of the synthetic benchmarks: domain, known optimum, reproducible noise, budgets and cost.

A benchmark describes its own domain as an HDL dict (plain data, no compiler needed) and evaluates flat
configs as UltraOpt's optimizers produce them: ``{"x0": 1.5, "x1": 2.0}`` or, for conditional spaces,
``{"model:__choice__": "svm", "model:svm:C": 10.0, ...}`` holding the active hyperparameters.

Noise is never drawn from a global or stateful generator. It is a pure function of the benchmark's name,
its ``seed``, the active values of the config and the budget (hashed with BLAKE2b and mapped to a standard
normal through the inverse normal CDF), so the same config, budget and seed always give the same loss, in any
process and in any order of evaluation. Evaluating a config twice therefore gives the same value, as
re-running a seeded training run would; use another ``seed`` for an independent replicate.
"""

from __future__ import annotations

import copy
import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, ClassVar

import numpy as np

__all__ = ["Benchmark", "BenchmarkFunction", "MultiFidelityBenchmark", "HyperParameter", "flatten_hdl"]

Config = Mapping[str, Any]

_CATEGORICAL_TYPES = frozenset({"choice", "ordinal"})
_KNOWN_TYPES = _CATEGORICAL_TYPES | {
    f"{kind}{scale}"
    for kind in ("", "int_")
    for scale in ("uniform", "loguniform", "quniform", "qloguniform")
}
_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True)
class HyperParameter:
    """One hyperparameter of a flattened HDL space.

    Attributes
    ----------
    name : str
        Flat name, e.g. ``"x0"`` or ``"model:svm:C"``.
    type : str
        The HDL ``_type``.
    value : tuple
        The HDL ``_value``: bounds (and step) of a numerical hyperparameter, options of a categorical one.
    conditions : tuple of (str, object)
        ``(parent, value)`` pairs that must all hold for the hyperparameter to be active.
    """

    name: str
    type: str
    value: tuple[Any, ...]
    conditions: tuple[tuple[str, Any], ...] = ()

    def is_active(self, config: Config) -> bool:
        """Whether every parent of this hyperparameter has the value that activates it in ``config``."""
        return all(parent in config and config[parent] == value for parent, value in self.conditions)

    def check(self, value: Any) -> Any:
        """Return ``value`` as a plain Python scalar, or raise ``ValueError`` if it is outside the domain."""
        if isinstance(value, np.generic):
            value = value.item()
        if self.type in _CATEGORICAL_TYPES:
            if value not in self.value:
                raise ValueError(f"hyperparameter {self.name!r}: {value!r} is not one of {list(self.value)}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"hyperparameter {self.name!r}: expected a finite number, got {value!r}")
        low, high = self.value[0], self.value[1]
        if not low <= value <= high:
            raise ValueError(f"hyperparameter {self.name!r}: {value!r} is outside [{low}, {high}]")
        if self.type.startswith("int"):
            if float(value) != round(value):
                raise ValueError(f"hyperparameter {self.name!r}: {value!r} is not an integer")
            return int(round(value))
        return float(value)


def flatten_hdl(hdl: Mapping[str, Any]) -> list[HyperParameter]:
    """List the hyperparameters of an HDL dict with their flat names and activation conditions.

    Only what the benchmarks use is understood: hyperparameters (``{"_type": ..., "_value": ...}``), nested
    sub-spaces and conditional choices ``"name(choice)": {"option": {...}, ...}``, which give a categorical
    ``name:__choice__`` whose value activates ``name:option:*``.
    """
    return _flatten(hdl, prefix="", conditions=())


def _flatten(
    hdl: Mapping[str, Any], prefix: str, conditions: tuple[tuple[str, Any], ...]
) -> list[HyperParameter]:
    params: list[HyperParameter] = []
    for key, spec in hdl.items():
        if key.endswith("(choice)"):
            name = prefix + key[: -len("(choice)")]
            choice = f"{name}:__choice__"
            params.append(HyperParameter(choice, "choice", tuple(spec), conditions))
            for option, subspace in spec.items():
                params += _flatten(subspace, f"{name}:{option}:", (*conditions, (choice, option)))
        elif isinstance(spec, Mapping) and "_type" in spec:
            if spec["_type"] not in _KNOWN_TYPES:
                raise ValueError(f"HDL entry {prefix + key!r}: unknown _type {spec['_type']!r}")
            params.append(HyperParameter(prefix + key, spec["_type"], tuple(spec["_value"]), conditions))
        elif isinstance(spec, Mapping):
            params += _flatten(spec, f"{prefix}{key}:", conditions)
        else:
            raise ValueError(f"unsupported HDL entry {prefix + key!r}: {spec!r}")
    return params


def _standard_normal(*key: Any) -> float:
    """A standard-normal number that depends only on ``key``, the same on every platform and Python run.

    ``key`` holds str, float, int, bool and None only, nested in tuples: their ``repr`` is exact and stable
    (unlike ``hash()`` of a str, which is salted per process).
    """
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    # 53 random bits, centred in their cell so that the uniform is strictly inside (0, 1).
    uniform = ((int.from_bytes(digest, "little") >> 11) + 0.5) / 2.0**53
    return _STANDARD_NORMAL.inv_cdf(uniform)


def _noise_key(config: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    # Numbers as floats, so that the int 2 and the float 2.0 (the same point) share their noise.
    return tuple(
        (name, float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value)
        for name, value in sorted(config.items())
    )


class Benchmark:
    """A synthetic objective with a known optimum that describes its own domain.

    Not used directly: subclass :class:`BenchmarkFunction` or :class:`MultiFidelityBenchmark`, which set the
    domain in ``__init__`` and implement the value. This class checks configs and derives the noise.

    Parameters
    ----------
    name : str
        Name of this instance (as listed by :func:`~ultraopt.benchmarks.list_benchmarks`).
    hdl : dict
        The domain in HDL.
    optimum : float
        The known minimum of the noise-free value (at the maximal budget for multi-fidelity benchmarks).
    optimal_configs : list of dict
        Configs where ``optimum`` is attained.
    noise_std : float
        Standard deviation of the Gaussian noise added to the loss (at the minimal budget for multi-fidelity
        benchmarks); 0 gives deterministic losses.
    seed : int
        Seed of the noise.
    """

    multi_fidelity: ClassVar[bool] = False

    def __init__(
        self,
        name: str,
        hdl: Mapping[str, Any],
        optimum: float,
        optimal_configs: list[dict[str, Any]],
        *,
        noise_std: float = 0.0,
        seed: int = 0,
    ) -> None:
        if not (isinstance(noise_std, (int, float)) and math.isfinite(noise_std) and noise_std >= 0):
            raise ValueError(f"noise_std must be a finite number >= 0, got {noise_std!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self.name = name
        self.optimum = float(optimum)
        self.noise_std = float(noise_std)
        self.seed = int(seed)
        self._hdl = copy.deepcopy(dict(hdl))
        self._optimal_configs = copy.deepcopy(optimal_configs)
        self._params = flatten_hdl(self._hdl)
        self._names = {param.name for param in self._params}

    @property
    def hdl(self) -> dict[str, Any]:
        """The domain as an HDL dict (a copy: changing it does not change the benchmark)."""
        return copy.deepcopy(self._hdl)

    @property
    def optimal_configs(self) -> list[dict[str, Any]]:
        """Configs where the optimum is attained (a copy)."""
        return copy.deepcopy(self._optimal_configs)

    @property
    def hyperparameters(self) -> list[HyperParameter]:
        """The hyperparameters of the domain, flattened, in HDL order."""
        return list(self._params)

    @property
    def dim(self) -> int:
        """Number of hyperparameters of the domain (a conditional choice counts as one)."""
        return len(self._params)

    def check_config(self, config: Config) -> dict[str, Any]:
        """Return the active values of ``config`` as plain Python scalars.

        Values of inactive hyperparameters (of unchosen branches) are ignored.

        Raises
        ------
        ValueError
            If a name is not in the domain, an active hyperparameter is missing, or a value is outside its
            domain.
        """
        if not isinstance(config, Mapping):
            raise TypeError(f"{self.name}: a config must be a dict, got {type(config).__name__}")
        unknown = sorted(set(config) - self._names)
        if unknown:
            raise ValueError(
                f"{self.name}: unknown hyperparameter(s) {unknown}; the domain has {sorted(self._names)}"
            )
        values: dict[str, Any] = {}
        for param in self._params:  # HDL order: parents come before their children
            if not param.is_active(values):
                continue
            if param.name not in config:
                raise ValueError(f"{self.name}: the config lacks the active hyperparameter {param.name!r}")
            values[param.name] = param.check(config[param.name])
        return values

    def _noise(self, values: Mapping[str, Any], std: float, budget: float | None = None) -> float:
        if std == 0.0:
            return 0.0
        return std * _standard_normal(self.name, self.seed, budget, _noise_key(values))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, optimum={self.optimum!r})"


class BenchmarkFunction(Benchmark, ABC):
    """A single-fidelity benchmark: ``f(config) -> float``.

    The loss is the noise-free value plus, when ``noise_std > 0``, Gaussian noise of that standard deviation
    derived reproducibly from the config and the seed.
    """

    def __call__(self, config: Config) -> float:
        """The (noisy) loss of ``config``."""
        return self.loss(config)

    def loss(self, config: Config, *, noise: bool = True) -> float:
        """The loss of ``config``; ``noise=False`` gives the noise-free value whose minimum is ``optimum``."""
        values = self.check_config(config)
        value = self._value(values)
        return value + self._noise(values, self.noise_std) if noise else value

    @abstractmethod
    def _value(self, values: dict[str, Any]) -> float:
        """The noise-free value at checked, active ``values``."""


class MultiFidelityBenchmark(Benchmark, ABC):
    """A multi-fidelity benchmark: ``f(config, budget) -> {"loss": float, "cost": float}``.

    The model, for a budget ``b`` in ``[min_budget, max_budget]``:

    - the *gap* ``g(b) = log(max_budget / b) / log(max_budget / min_budget)`` runs from 1 at the minimal
      budget to 0 at the maximal one (budgets are usually geometric, so each Hyperband rung moves it by the
      same step);
    - ``loss(x, b) = f_g(x) + fidelity_bias * scale * g * s(x) + noise``, where ``f_g`` is the benchmark's
      low-fidelity counterpart (``f_0`` is the true function), ``s(x)`` in [0, 1] is how slowly the config
      learns and ``scale`` is the typical regret of a good config of that benchmark, so the bias is felt among
      good configs: lower budgets are worse on average and rank configs differently, more so the lower the
      budget;
    - the noise is Gaussian with standard deviation ``noise_std * sqrt(min_budget / b)`` (like a validation
      loss measured on data proportional to the budget), derived reproducibly from the config, the budget
      and the seed;
    - ``cost(x, b) = b * (0.5 + s(x))``: slow learners are also the expensive configs, as large models are.

    ``optimum`` and ``optimal_configs`` are those of the noise-free loss at ``max_budget``, the true
    function.

    Parameters
    ----------
    name, hdl, optimum, optimal_configs
        As for :class:`Benchmark`.
    scale : float
        The typical regret of a good config (sets the size of the low-fidelity bias and the default noise).
    min_budget, max_budget : float
        The budget range, ``0 < min_budget <= max_budget``.
    noise_std : float or None
        Noise standard deviation at ``min_budget``; ``None`` gives ``0.1 * scale``.
    fidelity_bias : float
        Weight of the low-fidelity bias, >= 0.
    seed : int
        Seed of the noise.
    """

    multi_fidelity: ClassVar[bool] = True

    def __init__(
        self,
        name: str,
        hdl: Mapping[str, Any],
        optimum: float,
        optimal_configs: list[dict[str, Any]],
        *,
        scale: float,
        min_budget: float,
        max_budget: float,
        noise_std: float | None = None,
        fidelity_bias: float = 2.0,
        seed: int = 0,
    ) -> None:
        if not 0 < min_budget <= max_budget < math.inf:
            raise ValueError(
                f"budgets must satisfy 0 < min_budget <= max_budget, got {min_budget!r}, {max_budget!r}"
            )
        if not (math.isfinite(fidelity_bias) and fidelity_bias >= 0):
            raise ValueError(f"fidelity_bias must be a finite number >= 0, got {fidelity_bias!r}")
        super().__init__(
            name,
            hdl,
            optimum,
            optimal_configs,
            noise_std=0.1 * scale if noise_std is None else noise_std,
            seed=seed,
        )
        self.scale = float(scale)
        self.min_budget = float(min_budget)
        self.max_budget = float(max_budget)
        self.fidelity_bias = float(fidelity_bias)

    def __call__(self, config: Config, budget: float | None = None) -> dict[str, float]:
        """The (noisy) loss and the cost of ``config`` at ``budget`` (``None``: the maximal budget)."""
        values = self.check_config(config)
        budget = self._check_budget(budget)
        slowness = self._slowness(values)
        return {"loss": self._loss(values, budget, slowness, noise=True), "cost": budget * (0.5 + slowness)}

    def loss(self, config: Config, budget: float | None = None, *, noise: bool = True) -> float:
        """The loss of ``config`` at ``budget``; ``noise=False`` gives the noise-free value."""
        values = self.check_config(config)
        return self._loss(values, self._check_budget(budget), self._slowness(values), noise=noise)

    def cost(self, config: Config, budget: float | None = None) -> float:
        """The cost (e.g. seconds of simulated time) of evaluating ``config`` at ``budget``."""
        return self._check_budget(budget) * (0.5 + self._slowness(self.check_config(config)))

    def gap(self, budget: float | None = None) -> float:
        """Distance of ``budget`` from the maximum, on a log scale: 1 at the minimal one, 0 at the maximal."""
        budget = self._check_budget(budget)
        if self.max_budget == self.min_budget:
            return 0.0
        return min(
            1.0, max(0.0, math.log(self.max_budget / budget) / math.log(self.max_budget / self.min_budget))
        )

    def _loss(self, values: dict[str, Any], budget: float, slowness: float, noise: bool) -> float:
        gap = self.gap(budget)
        value = self._value(values, gap) + self.fidelity_bias * self.scale * gap * slowness
        if noise:
            value += self._noise(values, self.noise_std * math.sqrt(self.min_budget / budget), budget)
        return value

    def _check_budget(self, budget: float | None) -> float:
        if budget is None:
            return self.max_budget
        if isinstance(budget, bool) or not isinstance(budget, (int, float, np.integer, np.floating)):
            raise TypeError(f"{self.name}: budget must be a number, got {type(budget).__name__}")
        budget = float(budget)
        # Budgets computed as max_budget * eta**-k may miss the bounds by a rounding error.
        tol = 1e-9 * self.max_budget
        if not self.min_budget - tol <= budget <= self.max_budget + tol:
            raise ValueError(
                f"{self.name}: budget {budget!r} is outside [{self.min_budget}, {self.max_budget}]"
            )
        return min(max(budget, self.min_budget), self.max_budget)

    @abstractmethod
    def _value(self, values: dict[str, Any], gap: float) -> float:
        """The noise-free low-fidelity counterpart ``f_gap`` at checked values (``f_0`` is the true one)."""

    @abstractmethod
    def _slowness(self, values: dict[str, Any]) -> float:
        """How slowly the config learns, in [0, 1]; it sets the config's share of the bias and its cost."""
