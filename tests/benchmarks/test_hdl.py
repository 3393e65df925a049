"""The HDL dicts: well-formed plain data, JSON-able, consistent with dim and the optimal configs."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import pytest

from ultraopt.benchmarks import get_benchmark, list_benchmarks

NUMERIC_2 = {"uniform", "loguniform", "int_uniform", "int_loguniform"}
NUMERIC_3 = {"quniform", "qloguniform", "int_quniform", "int_qloguniform"}


def _check_hdl(hdl: Mapping[str, Any], path: str = "") -> int:
    """Assert that ``hdl`` is well-formed; return its number of hyperparameters."""
    count = 0
    for key, spec in hdl.items():
        where = f"{path}{key}"
        assert isinstance(key, str) and ":" not in key, where
        if key.endswith("(choice)"):
            assert isinstance(spec, dict) and len(spec) >= 2, where
            count += 1 + sum(_check_hdl(sub, f"{where}/{option}/") for option, sub in spec.items())
            continue
        assert set(spec) <= {"_type", "_value", "_default"}, where
        kind, value = spec["_type"], spec["_value"]
        assert isinstance(value, list), where
        if kind in ("choice", "ordinal"):
            assert len(value) >= 2 and len(set(map(repr, value))) == len(value), where
        else:
            assert kind in NUMERIC_2 | NUMERIC_3, where
            assert len(value) == (2 if kind in NUMERIC_2 else 3), where
            low, high = value[0], value[1]
            assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value), where
            assert math.isfinite(low) and math.isfinite(high) and low < high, where
            if "log" in kind:
                assert low > 0, where
            if kind.startswith("int"):
                assert isinstance(low, int) and isinstance(high, int), where
        count += 1
    return count


def _in_domain(hdl: Mapping[str, Any], config: Mapping[str, Any], prefix: str = "") -> set[str]:
    """Assert the active values of ``config`` lie in ``hdl``; return the names checked."""
    seen: set[str] = set()
    for key, spec in hdl.items():
        if key.endswith("(choice)"):
            name = f"{prefix}{key[: -len('(choice)')]}"
            option = config[f"{name}:__choice__"]
            assert option in spec
            seen |= {f"{name}:__choice__"} | _in_domain(spec[option], config, f"{name}:{option}:")
            continue
        value = config[prefix + key]
        if spec["_type"] in ("choice", "ordinal"):
            assert value in spec["_value"]
        else:
            assert spec["_value"][0] <= value <= spec["_value"][1], (prefix + key, value)
        seen.add(prefix + key)
    return seen


@pytest.mark.parametrize("name", list_benchmarks())
def test_hdl_is_well_formed_and_matches_dim(name: str) -> None:
    bench = get_benchmark(name)
    assert _check_hdl(bench.hdl) == bench.dim


@pytest.mark.parametrize("name", list_benchmarks())
def test_hdl_is_plain_json_data(name: str) -> None:
    hdl = get_benchmark(name).hdl
    assert json.loads(json.dumps(hdl)) == hdl


@pytest.mark.parametrize("name", list_benchmarks())
def test_optimal_configs_lie_in_the_domain(name: str) -> None:
    bench = get_benchmark(name)
    for config in bench.optimal_configs:
        assert _in_domain(bench.hdl, config) == set(config)


@pytest.mark.parametrize("name", list_benchmarks())
def test_sampled_configs_are_accepted(name: str, sample_configs) -> None:
    bench = get_benchmark(name)
    for config in sample_configs(bench.hdl, 50):
        assert math.isfinite(bench.loss(config, noise=False))


def test_hdl_and_optimal_configs_are_copies() -> None:
    bench = get_benchmark("branin")
    bench.hdl["x0"]["_value"][0] = -100
    bench.optimal_configs[0]["x0"] = 0.0
    assert bench.hdl["x0"]["_value"] == [-5.0, 10.0]
    assert bench.optimal_configs[0]["x0"] != 0.0
