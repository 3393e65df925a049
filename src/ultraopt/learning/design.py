"""Initial designs: space-filling first points that try every choice of the top-level categoricals."""

from __future__ import annotations

import numpy as np

from ultraopt.learning.kernel_space import KernelSpace

__all__ = ["initial_design"]


def initial_design(space: KernelSpace, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows (model form, not yet legal): a Latin hypercube on the numerical columns, and every categorical
    column cycling through its choices in shuffled order, so that each choice appears ``n // n_choices`` or one
    more times (all of them when ``n >= n_choices``).

    Conditional columns get values too; :meth:`KernelSpace.legalize` drops those of inactive hyperparameters,
    so only the top-level categoricals are sure to show every choice.
    """
    num = (np.argsort(rng.random((n, space.n_num)), axis=0) + rng.random((n, space.n_num))) / max(n, 1)
    cat = np.empty((n, space.n_cat), dtype=np.int64)
    for j, n_choices in enumerate(space.n_choices):
        cycles = -(-n // int(n_choices))
        column = np.concatenate([rng.permutation(int(n_choices)) for _ in range(cycles)])[:n]
        cat[:, j] = rng.permutation(column) if n >= n_choices else column
    return num, cat
