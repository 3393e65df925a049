"""Noise of single-fidelity benchmarks: reproducible per config and seed, independent of global state."""

from __future__ import annotations

import numpy as np
import pytest

from ultraopt.benchmarks import ContinuousFunction


def test_noise_is_a_function_of_config_and_seed_only(sample_configs) -> None:
    bench = ContinuousFunction("hartmann3", noise_std=0.1, seed=11)
    configs = sample_configs(bench.hdl, 50)
    first = [bench(c) for c in configs]
    np.random.seed(0)  # global state must not matter, nor the order of the calls
    again = [ContinuousFunction("hartmann3", noise_std=0.1, seed=11)(c) for c in reversed(configs)][::-1]
    assert first == again
    other = [ContinuousFunction("hartmann3", noise_std=0.1, seed=12)(c) for c in configs]
    assert all(a != b for a, b in zip(first, other, strict=True))


def test_noise_has_the_requested_spread(sample_configs) -> None:
    bench = ContinuousFunction("rosenbrock", 3, noise_std=0.5, seed=1)
    configs = sample_configs(bench.hdl, 3000)
    noise = np.array([bench(c) - bench.loss(c, noise=False) for c in configs])
    assert abs(noise.mean()) < 4 * 0.5 / np.sqrt(len(noise))
    assert noise.std() == pytest.approx(0.5, rel=0.08)


def test_noise_free_by_default_and_validated() -> None:
    bench = ContinuousFunction("branin")
    assert bench({"x0": 1.0, "x1": 2.0}) == bench.loss({"x0": 1.0, "x1": 2.0}, noise=False)
    with pytest.raises(ValueError, match="noise_std"):
        ContinuousFunction("branin", noise_std=-1.0)
    with pytest.raises(TypeError, match="seed"):
        ContinuousFunction("branin", seed=1.5)
