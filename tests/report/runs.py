"""Runs for the report tests: a small Hyperband run with a failing trial and hostile names."""

from __future__ import annotations

import math
from typing import Any

from ultraopt import FMinResult, fmin
from ultraopt.executors import SimulatedExecutor
from ultraopt.multi_fidelity import HyperBandIterGenerator

#: A CASH-like space whose names and values need escaping in HTML.
HOSTILE_HDL: dict[str, Any] = {
    "estimator(choice)": {
        "svc": {
            "C": {"_type": "loguniform", "_value": [0.01, 100], "_default": 1.0},
            "kernel(choice)": {"rbf": {"gamma": {"_type": "loguniform", "_value": [1e-4, 1], "_default": 0.1}},
                               "linear": {}},
        },
        "rf": {"n_estimators": {"_type": "int_quniform", "_value": [10, 200, 10], "_default": 100}},
    },
    "lr": {"_type": "loguniform", "_value": [1e-4, 1], "_default": 0.01},
    "x<script>": {"_type": "uniform", "_value": [0, 1], "_default": 0.5},
    "tag": {"_type": "choice", "_value": ["<b>bold</b>", "a & b"], "_default": "a & b"},
}

ERROR_MESSAGE = "<img src=x onerror=alert(1)> & failed"


def hostile_objective(config: dict[str, Any], budget: float) -> float:
    """Fails when ``x<script>`` > 0.8 with markup in the message; otherwise a smooth loss that falls with budget."""
    if config["x<script>"] > 0.8:
        raise ValueError(ERROR_MESSAGE)
    loss = (math.log10(config["lr"]) + 2) ** 2 + (0.3 if config["estimator:__choice__"] == "rf" else 0.0)
    return loss + 1.0 / budget + 0.1 * config["x<script>"]


def hyperband_generator() -> HyperBandIterGenerator:
    """Hyperband for budgets 1/9 to 1 with eta = 3: brackets of 9-3-1, 3-1 and 3 configs."""
    return HyperBandIterGenerator(1 / 9, 1, 3)


#: Simulated workers of :func:`hyperband_run`: trials take their budget in virtual seconds, 4 at a time.
N_WORKERS = 4


def hyperband_run(n_iterations: int = 3) -> FMinResult:
    """Hyperband on :data:`HOSTILE_HDL` with 4 virtual workers (no real time passes): 20 trials."""
    return fmin(hostile_objective, HOSTILE_HDL, optimizer="Random", n_iterations=n_iterations,
                multi_fidelity_iter_generator=hyperband_generator(), show_progressbar=False, random_state=3,
                parallel_strategy=SimulatedExecutor(n_workers=N_WORKERS))
