"""SMAC3 (2.x, HPO facade) as a benchmark contender: ``run(config_space, objective, n_evals, seed) -> losses``.

Run it in the peers environment (SMAC3 needs numpy < 2): ``PYTHONPATH=src /work/venv-peers/bin/python ...``.

Our spaces are ConfigSpace spaces, which SMAC3 uses natively, so the space goes through unchanged (conditions and
forbidden clauses included). One convention differs: ConfigSpace 1.x has no quantized hyperparameters, so ours keep
a grid step in ``meta["q"]``. SMAC3 ignores it and proposes off-grid values; every config is snapped onto its grid
(``ultraopt.hdl.configs.plain_config``) before the objective sees it, exactly as our optimizers' configs are, and
SMAC3 is told the loss of the snapped config. Its model therefore sees a slightly noisier function on grid spaces.

SMAC3 runs with the HPO facade's defaults (random forest of the log-scaled cost, Sobol initial design of
``min(10 * n_hyperparameters, n_evals / 4)`` configs, log-EI, local and sorted random search, 20% random
configs), ``deterministic=True`` (no repeated evaluations of a config) and its output in a temporary directory.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ConfigSpace import ConfigurationSpace

from ultraopt.hdl.configs import plain_config

__all__ = ["run", "run_timed"]


def run_timed(
    config_space: ConfigurationSpace, objective: Callable[[dict[str, Any]], float], n_evals: int, seed: int
) -> tuple[list[float], float]:
    """Minimise ``objective`` with SMAC3's HPO facade; return the losses in evaluation order and the seconds spent
    in SMAC3 itself (everything but the objective)."""
    from smac import HyperparameterOptimizationFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue

    def unused_target(config: Any, seed: int = 0) -> float:  # the facade insists on one; ask/tell never calls it
        raise AssertionError("SMAC3 is driven by ask/tell here")

    losses: list[float] = []
    spent_in_objective = 0.0
    with tempfile.TemporaryDirectory(prefix="smac3-") as directory:
        start = time.perf_counter()
        scenario = Scenario(
            config_space, deterministic=True, n_trials=n_evals, seed=seed, output_directory=Path(directory)
        )
        smac = HyperparameterOptimizationFacade(scenario, unused_target, overwrite=True, logging_level=40)
        for _ in range(n_evals):
            info = smac.ask()
            config = plain_config(config_space, info.config)
            tic = time.perf_counter()
            try:
                loss = float(objective(config))
            except Exception:  # a failed trial, as our runs record it
                loss = math.inf
            spent_in_objective += time.perf_counter() - tic
            losses.append(loss)
            smac.tell(info, TrialValue(cost=loss if math.isfinite(loss) else math.inf))
        total = time.perf_counter() - start
    return losses, total - spent_in_objective


def run(
    config_space: ConfigurationSpace, objective: Callable[[dict[str, Any]], float], n_evals: int, seed: int
) -> list[float]:
    """Minimise ``objective`` with SMAC3's HPO facade; return the losses in evaluation order."""
    return run_timed(config_space, objective, n_evals, seed)[0]


def run_problem(problem: Any, n_trials: int, seed: int, options: dict[str, Any] | None = None) -> list[float]:
    """The quality harness's contender signature: ``problem.space()`` and ``problem.loss(config)``.

    Wiring it into ``benchmarks/contenders.py`` is one line: ``contender("SMAC3")(run_problem)``. No options
    are taken: SMAC3 runs with its HPO facade's defaults.
    """
    if options:
        raise ValueError(f"SMAC3 takes no options here, got {options!r}")
    return run(problem.space(), problem.loss, n_trials, seed)
