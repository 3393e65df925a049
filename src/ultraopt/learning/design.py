"""Initial designs: space-filling first points that try every choice of the top-level categoricals."""

from __future__ import annotations

import numpy as np
from scipy.stats import qmc

from ultraopt.learning.encoding import SpaceEncoder
from ultraopt.learning.kernel_space import KernelSpace

__all__ = ["initial_design", "sobol_rows"]


def initial_design(space: KernelSpace, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows (model form, not yet legal): a Latin hypercube on the numerical columns, and every categorical
    column cycling through its choices in shuffled order, so that each choice appears ``n // n_choices`` or one
    more times (all of them when ``n >= n_choices``).

    Conditional columns get values too; :meth:`KernelSpace.legalize` drops those of inactive hyperparameters,
    so only the top-level categoricals are sure to show every choice. ``n = 0`` gives empty arrays (an
    optimizer without a startup phase).
    """
    if n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    strata = np.argsort(rng.random((n, space.n_num)), axis=0)
    num = space.grid_cells((strata + rng.random((n, space.n_num))) / max(n, 1))
    cat = np.empty((n, space.n_cat), dtype=np.int64)
    for j, n_choices in enumerate(space.n_choices):
        cycles = max(-(-n // int(n_choices)), 1)  # one at least: n = 0 has nothing to concatenate otherwise
        column = np.concatenate([rng.permutation(int(n_choices)) for _ in range(cycles)])[:n]
        cat[:, j] = rng.permutation(column) if n >= n_choices else column
    return num, cat


def sobol_rows(encoder: SpaceEncoder, n: int, rng: np.random.Generator) -> np.ndarray:
    """The legal rows of the first ``n`` points of a scrambled Sobol sequence over every column (SMAC3's design).

    A categorical or ordinal column with ``k`` values takes value ``floor(k * u)`` of its coordinate ``u``, so
    its values are spread as evenly as the points are: for ``n`` a power of two, one point falls in each
    interval of width ``1 / n``, so every value appears about ``n / k`` times (at least once when
    ``n >= 2 k``). Children of a conditional take the values of their own coordinate when active. Forbidden
    rows are dropped.
    """
    if n <= 0:
        return np.empty((0, encoder.n_dims))
    sampler = qmc.Sobol(max(encoder.n_dims, 1), scramble=True, seed=int(rng.integers(2**31 - 1)))
    points = sampler.random_base2(max(int(np.ceil(np.log2(n))), 0))[:n, : encoder.n_dims]
    for index, dim in enumerate(encoder.dimensions):
        if dim.kind in ("categorical", "ordinal"):
            n_values = int(dim.n_values)  # type: ignore[arg-type]
            points[:, index] = np.minimum(np.floor(points[:, index] * n_values), n_values - 1)
    legal, allowed = encoder.legalize(points)
    return legal[allowed]
