"""Classic continuous test functions with exactly known minima, vectorised over rows of an array.

Every function is one entry of :data:`FUNCTIONS`: a vectorised formula, its standard domain, its minimum and
where the minimum is attained. :class:`ContinuousFunction` turns an entry into a benchmark whose parameters
are ``x0 .. x{d-1}``. Formulas are written so that the minimum is computed exactly (e.g. ``1 - cos`` rather
than a constant minus a cosine), so that no point evaluates below the stated optimum by a rounding error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ultraopt.benchmarks.base import BenchmarkFunction

__all__ = ["FUNCTIONS", "ContinuousFunction", "FunctionSpec"]

Array = NDArray[np.float64]

# Branin's constants (Dixon & Szegö 1978).
BRANIN_PARAMS = {"b": 5.1 / (4 * math.pi**2), "c": 5 / math.pi, "t": 1 / (8 * math.pi)}
HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
HARTMANN3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
# 0.03815 (not 0.0381 as some tables print) is Dixon & Szegö's value; with it the minimum is the published
# -3.86278214782076 at (0.114614, 0.555649, 0.852547).
HARTMANN3_P = np.array(
    [[0.3689, 0.1170, 0.2673], [0.4699, 0.4387, 0.7470], [0.1091, 0.8732, 0.5547], [0.03815, 0.5743, 0.8828]]
)
HARTMANN6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
HARTMANN6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
# The minimiser of Styblinski-Tang per coordinate: the smallest root of 4x^3 - 32x + 5 (Newton-polished).
STYBLINSKI_TANG_ARGMIN = -2.903534027771177
STYBLINSKI_TANG_MIN = 0.5 * (
    STYBLINSKI_TANG_ARGMIN**4 - 16 * STYBLINSKI_TANG_ARGMIN**2 + 5 * STYBLINSKI_TANG_ARGMIN
)


def branin(
    X: Array, b: float = BRANIN_PARAMS["b"], c: float = BRANIN_PARAMS["c"], t: float = BRANIN_PARAMS["t"]
) -> Array:
    """Branin-Hoo with its shape parameters exposed (the multi-fidelity variant shifts them)."""
    x1, x2 = X[:, 0], X[:, 1]
    return (x2 - b * x1**2 + c * x1 - 6.0) ** 2 + 10.0 * (1.0 - t) * np.cos(x1) + 10.0


def hartmann(X: Array, A: Array, P: Array, alpha: Array = HARTMANN_ALPHA) -> Array:
    """Hartmann's family ``-sum_i alpha_i exp(-sum_j A_ij (x_j - P_ij)^2)``."""
    return -(np.exp(-np.einsum("ij,nij->ni", A, (X[:, None, :] - P[None]) ** 2)) @ alpha)


def camelback(X: Array) -> Array:
    """Six-hump camelback."""
    x, y = X[:, 0], X[:, 1]
    return (4.0 - 2.1 * x**2 + x**4 / 3.0) * x**2 + x * y + (-4.0 + 4.0 * y**2) * y**2


def rosenbrock(X: Array) -> Array:
    """Rosenbrock's valley, ``sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2``."""
    return np.sum(100.0 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1.0 - X[:, :-1]) ** 2, axis=1)


def levy(X: Array) -> Array:
    """Levy function."""
    w = 1.0 + (X - 1.0) / 4.0
    inner = np.sum((w[:, :-1] - 1.0) ** 2 * (1.0 + 10.0 * np.sin(np.pi * w[:, :-1] + 1.0) ** 2), axis=1)
    last = (w[:, -1] - 1.0) ** 2 * (1.0 + np.sin(2.0 * np.pi * w[:, -1]) ** 2)
    return np.sin(np.pi * w[:, 0]) ** 2 + inner + last


def ackley(X: Array) -> Array:
    """Ackley with a=20, b=0.2, c=2*pi, written with ``expm1`` so that its minimum is exactly 0."""
    radius = np.sqrt(np.mean(X**2, axis=1))
    mean_cos = np.mean(np.cos(2.0 * np.pi * X), axis=1)
    return -20.0 * np.expm1(-0.2 * radius) - math.e * np.expm1(mean_cos - 1.0)


def bohachevsky(X: Array) -> Array:
    """Bohachevsky's first function, ``x^2 + 2y^2 - 0.3 cos(3 pi x) - 0.4 cos(4 pi y) + 0.7``."""
    x, y = X[:, 0], X[:, 1]
    return x**2 + 2.0 * y**2 + 0.3 * (1.0 - np.cos(3.0 * np.pi * x)) + 0.4 * (1.0 - np.cos(4.0 * np.pi * y))


def rastrigin(X: Array) -> Array:
    """Rastrigin, ``10 d + sum x_i^2 - 10 cos(2 pi x_i)``."""
    return np.sum(X**2 + 10.0 * (1.0 - np.cos(2.0 * np.pi * X)), axis=1)


def styblinski_tang(X: Array) -> Array:
    """Styblinski-Tang, ``sum (x_i^4 - 16 x_i^2 + 5 x_i) / 2``."""
    return 0.5 * np.sum(X**4 - 16.0 * X**2 + 5.0 * X, axis=1)


@dataclass(frozen=True)
class FunctionSpec:
    """A test function: formula, standard domain, minimum and minimisers.

    Attributes
    ----------
    func : callable
        ``func(X)`` with ``X`` of shape ``(n, d)`` returns the ``n`` values.
    lower, upper : tuple of float
        Per-coordinate bounds; a single entry applies to every coordinate of a function of any dimension.
    optimum : callable
        ``optimum(d)``, the minimum in ``d`` dimensions.
    argmins : callable
        ``argmins(d)``, the minimisers in ``d`` dimensions.
    dim : int or None
        The dimension, or ``None`` for a function defined in any dimension ``>= min_dim``.
    min_dim : int
        Smallest dimension of a function of any dimension.
    """

    func: Callable[[Array], Array]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    optimum: Callable[[int], float]
    argmins: Callable[[int], list[list[float]]]
    dim: int | None = None
    min_dim: int = 1


def _constant(value: float) -> Callable[[int], float]:
    return lambda d: value


def _repeat(value: float) -> Callable[[int], list[list[float]]]:
    return lambda d: [[value] * d]


FUNCTIONS: dict[str, FunctionSpec] = {
    "branin": FunctionSpec(
        branin,
        (-5.0, 0.0),
        (10.0, 15.0),
        optimum=_constant(5.0 / (4.0 * math.pi)),  # = 10 t, printed as 0.397887357729738
        argmins=lambda d: [[-math.pi, 12.275], [math.pi, 2.275], [3.0 * math.pi, 2.475]],
        dim=2,
    ),
    "camelback": FunctionSpec(
        camelback,
        (-3.0, -2.0),
        (3.0, 2.0),
        optimum=_constant(-1.031628453489877),
        # Newton-polished; the function is symmetric under x -> -x.
        argmins=lambda d: [
            [0.08984201310031807, -0.7126564030207396],
            [-0.08984201310031807, 0.7126564030207396],
        ],
        dim=2,
    ),
    "hartmann3": FunctionSpec(
        lambda X: hartmann(X, HARTMANN3_A, HARTMANN3_P),
        (0.0,) * 3,
        (1.0,) * 3,
        optimum=_constant(-3.86278214782076),
        argmins=lambda d: [[0.11461435188038982, 0.5556488481797641, 0.8525469530416117]],
        dim=3,
    ),
    "hartmann6": FunctionSpec(
        lambda X: hartmann(X, HARTMANN6_A, HARTMANN6_P),
        (0.0,) * 6,
        (1.0,) * 6,
        optimum=_constant(-3.32236801141551),
        argmins=lambda d: [
            [
                0.20168951187114326,
                0.1500106877127264,
                0.4768739762240153,
                0.2753324293081809,
                0.3116516161448476,
                0.6573005334338057,
            ]
        ],
        dim=6,
    ),
    "bohachevsky": FunctionSpec(
        bohachevsky, (-100.0, -100.0), (100.0, 100.0), optimum=_constant(0.0), argmins=_repeat(0.0), dim=2
    ),
    "rosenbrock": FunctionSpec(
        rosenbrock, (-5.0,), (10.0,), optimum=_constant(0.0), argmins=_repeat(1.0), min_dim=2
    ),
    "levy": FunctionSpec(levy, (-10.0,), (10.0,), optimum=_constant(0.0), argmins=_repeat(1.0)),
    "ackley": FunctionSpec(ackley, (-32.768,), (32.768,), optimum=_constant(0.0), argmins=_repeat(0.0)),
    "rastrigin": FunctionSpec(rastrigin, (-5.12,), (5.12,), optimum=_constant(0.0), argmins=_repeat(0.0)),
    "styblinski_tang": FunctionSpec(
        styblinski_tang,
        (-5.0,),
        (5.0,),
        optimum=lambda d: d * STYBLINSKI_TANG_MIN,
        argmins=_repeat(STYBLINSKI_TANG_ARGMIN),
    ),
}


def resolve_dim(function: str, dim: int | None) -> tuple[FunctionSpec, int]:
    """Look ``function`` up in :data:`FUNCTIONS` and check ``dim`` against it (``None``: the default, 2)."""
    if function not in FUNCTIONS:
        raise ValueError(f"unknown continuous function {function!r}; known: {sorted(FUNCTIONS)}")
    spec = FUNCTIONS[function]
    if spec.dim is not None:
        if dim not in (None, spec.dim):
            raise ValueError(f"{function} is defined in {spec.dim} dimensions only, got dim={dim!r}")
        return spec, spec.dim
    dim = 2 if dim is None else dim
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < spec.min_dim:
        raise ValueError(f"{function}: dim must be an int >= {spec.min_dim}, got {dim!r}")
    return spec, int(dim)


def as_points(X: ArrayLike, bounds: Array, name: str) -> Array:
    """``X`` as a float array of shape ``(n, d)`` after checking it against ``bounds`` (shape ``(d, 2)``)."""
    points = np.atleast_2d(np.asarray(X, dtype=float))
    if points.ndim != 2 or points.shape[1] != len(bounds):
        raise ValueError(
            f"{name}: expected points of dimension {len(bounds)}, got an array of shape {points.shape}"
        )
    lower, upper = bounds[:, 0], bounds[:, 1]
    outside = ~((lower <= points) & (points <= upper))  # also catches NaN
    if outside.any():
        row, col = map(int, np.argwhere(outside)[0])
        raise ValueError(
            f"{name}: x{col} = {points[row, col]!r} (row {row}) is outside {bounds[col].tolist()}"
        )
    return points


def continuous_name(function: str, dim: int) -> str:
    """Instance name: the function's name, with ``"{dim}d"`` appended when it is defined in any dimension."""
    return function if FUNCTIONS[function].dim is not None else f"{function}{dim}d"


class ContinuousFunction(BenchmarkFunction):
    """A classic test function on its standard box, parameters ``x0 .. x{d-1}``.

    Parameters
    ----------
    function : str
        A key of :data:`FUNCTIONS`, e.g. ``"branin"`` or ``"rosenbrock"``.
    dim : int or None
        Dimension of a function defined in any dimension (default 2); must be ``None`` or the function's own
        dimension otherwise.
    noise_std : float
        Standard deviation of the Gaussian noise added to the loss by ``__call__``; 0 (default) is noise-free.
    seed : int
        Seed of the noise.

    Examples
    --------
    >>> f = ContinuousFunction("branin")
    >>> round(f({"x0": 3.141592653589793, "x1": 2.275}), 6)
    0.397887
    """

    def __init__(
        self, function: str, dim: int | None = None, *, noise_std: float = 0.0, seed: int = 0
    ) -> None:
        spec, dim = resolve_dim(function, dim)
        self.function = function
        self._func = spec.func
        lower = np.broadcast_to(np.asarray(spec.lower, dtype=float), (dim,))
        upper = np.broadcast_to(np.asarray(spec.upper, dtype=float), (dim,))
        self._bounds = np.column_stack([lower, upper])
        hdl = {
            f"x{i}": {"_type": "uniform", "_value": [float(lo), float(hi)]}
            for i, (lo, hi) in enumerate(self._bounds)
        }
        optimal = [{f"x{i}": float(v) for i, v in enumerate(point)} for point in spec.argmins(dim)]
        super().__init__(
            continuous_name(function, dim), hdl, spec.optimum(dim), optimal, noise_std=noise_std, seed=seed
        )

    @property
    def bounds(self) -> Array:
        """The box as an array of shape ``(dim, 2)`` of ``[lower, upper]`` rows (a copy)."""
        return self._bounds.copy()

    def evaluate_array(self, X: ArrayLike) -> Array:
        """Noise-free values of the rows of ``X`` (shape ``(n, dim)``, or ``(dim,)`` for one point).

        Raises
        ------
        ValueError
            If ``X`` has the wrong number of columns or a point lies outside the domain.
        """
        return self._func(as_points(X, self._bounds, self.name))

    def to_array(self, config: dict[str, Any]) -> Array:
        """The point of a config as an array of shape ``(dim,)``."""
        return np.array(list(self.check_config(config).values()))

    def _value(self, values: dict[str, Any]) -> float:
        # check_config returns the values in domain order, x0 .. x{d-1}
        return float(self._func(np.array([list(values.values())]))[0])
