"""Helpers shared by the benchmark tests: configs sampled from a benchmark's HDL by the HDL compiler."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from ultraopt.hdl import hdl2cs
from ultraopt.hdl import sample_configs as sample_space


@pytest.fixture
def sample_configs() -> Callable[..., list[dict[str, Any]]]:
    """``sample_configs(hdl, n, seed=0)``: ``n`` configs drawn with their own generator."""

    def draw(hdl: Mapping[str, Any], n: int, seed: int = 0) -> list[dict[str, Any]]:
        return sample_space(hdl2cs(hdl), n, np.random.default_rng(seed))

    return draw
