"""Helpers shared by the benchmark tests: sampling configs straight from an HDL dict.

The tests must not depend on the HDL compiler, so this is a deliberately tiny sampler that understands the
parts of HDL the benchmarks use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest


def sample_config(hdl: Mapping[str, Any], rng: np.random.Generator, prefix: str = "") -> dict[str, Any]:
    """One config drawn uniformly (log-uniformly for log types) from ``hdl``, active hyperparameters only."""
    config: dict[str, Any] = {}
    for key, spec in hdl.items():
        if key.endswith("(choice)"):
            name = prefix + key[: -len("(choice)")]
            option = list(spec)[rng.integers(len(spec))]
            config[f"{name}:__choice__"] = option
            config.update(sample_config(spec[option], rng, f"{name}:{option}:"))
            continue
        kind, value = spec["_type"], spec["_value"]
        if kind in ("choice", "ordinal"):
            config[prefix + key] = value[rng.integers(len(value))]
            continue
        low, high = value[0], value[1]
        draw = math.exp(rng.uniform(math.log(low), math.log(high))) if "log" in kind else rng.uniform(low, high)
        if kind.startswith("int"):
            draw = round(draw)
        config[prefix + key] = min(max(draw, low), high)  # exp(log(x)) may leave the bounds by an ulp
    return config


@pytest.fixture
def sample_configs() -> Callable[..., list[dict[str, Any]]]:
    """``sample_configs(hdl, n, seed=0)``: ``n`` configs drawn with their own generator."""

    def draw(hdl: Mapping[str, Any], n: int, seed: int = 0) -> list[dict[str, Any]]:
        rng = np.random.default_rng(seed)
        return [sample_config(hdl, rng) for _ in range(n)]

    return draw
