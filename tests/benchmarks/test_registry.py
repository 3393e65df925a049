"""The registry: every name builds, filters work, unknown names fail clearly, instance names round-trip."""

from __future__ import annotations

import pytest

from ultraopt.benchmarks import (
    Benchmark,
    BenchmarkFunction,
    MultiFidelityBenchmark,
    get_benchmark,
    list_benchmarks,
)


def test_listing_is_split_by_fidelity() -> None:
    single, multi = list_benchmarks(multi_fidelity=False), list_benchmarks(multi_fidelity=True)
    assert sorted(single + multi) == list_benchmarks()
    assert not set(single) & set(multi)
    expected = {"branin", "camelback", "hartmann3", "hartmann6", "bohachevsky", "levy", "ackley", "cash"}
    assert expected | {
        "categorical20",
        "rosenbrock2d",
        "rosenbrock5d",
        "rosenbrock10d",
        "rosenbrock20d",
    } <= set(single)
    assert all(isinstance(get_benchmark(n), BenchmarkFunction) for n in single)
    assert all(isinstance(get_benchmark(n), MultiFidelityBenchmark) for n in multi)


@pytest.mark.parametrize("name", list_benchmarks())
def test_every_benchmark_describes_itself_and_its_name_round_trips(name: str) -> None:
    bench = get_benchmark(name, seed=3)
    assert isinstance(bench, Benchmark)
    assert bench.seed == 3
    assert isinstance(bench.optimum, float)
    assert bench.dim == len(bench.hyperparameters) >= 1
    assert type(get_benchmark(bench.name)) is type(bench)
    assert get_benchmark(bench.name).hdl == bench.hdl
    assert bench.name in repr(bench)


def test_dimensions_come_from_the_name_or_the_keyword() -> None:
    assert get_benchmark("Levy7D").dim == 7
    assert get_benchmark("ackley", dim=10).name == "ackley10d"
    assert get_benchmark("rosenbrock20d").optimal_configs == [{f"x{i}": 1.0 for i in range(20)}]
    with pytest.raises(ValueError, match="dimension 5"):
        get_benchmark("rosenbrock5d", dim=6)


def test_unknown_names_fail_with_suggestions() -> None:
    with pytest.raises(ValueError, match=r"unknown benchmark 'branim'\. Did you mean 'branin'"):
        get_benchmark("branim")
    with pytest.raises(ValueError, match="Known benchmarks: ackley"):
        get_benchmark("hartmann4")
    with pytest.raises(ValueError, match="unknown benchmark 'branin3d'"):
        get_benchmark("branin3d")  # a fixed-dimension function has no '{dim}d' form
    with pytest.raises(TypeError):
        get_benchmark(3)


def test_keywords_reach_the_constructor() -> None:
    bench = get_benchmark("branin_mf", min_budget=1, max_budget=81, noise_std=0.0, fidelity_bias=1.0)
    assert (bench.min_budget, bench.max_budget, bench.noise_std, bench.fidelity_bias) == (1, 81, 0, 1)
    with pytest.raises(TypeError):
        get_benchmark("branin", min_budget=1)
