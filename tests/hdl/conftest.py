"""Fixtures of the HDL tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hdl_cases import make_cash_hdl


@pytest.fixture
def cash_hdl() -> dict[str, Any]:
    return make_cash_hdl()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240511)
