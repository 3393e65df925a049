"""What the multi-fidelity benchmark's runners share: the schedule, the trial records and the regret curves.

Imported by ``run.py`` (UltraOpt's environment) and by ``peers.py`` (the peers' environment, numpy < 2), so it
needs the standard library and ``ultraopt.benchmarks`` only.

A run is stored as JSON: ``{"records": [...], "utilization": u, "makespan": t}`` where each record is one
finished trial, in the order the scheduler learnt its result::

    {"budget": b, "loss": observed loss or None (failed), "start": t0, "end": t1, "regret": r}

``regret`` is the noise-free loss of the trial's config on the largest budget minus the function's optimum, so
the regret of whatever a method would return at any moment can be read from the records alone.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: Hyperband's reduction factor for every method (the functions' budgets go from 1/27 to 1: four stages).
ETA = 3
#: Where run.py caches its runs by default, and async_bootstrap.py reads them.
CACHE_DIR = Path(__file__).resolve().parents[2] / "runs" / "multi_fidelity"


def make_benchmark(function: str, seed: int) -> Any:
    """The benchmark function ``function`` with the noise of replicate ``seed``."""
    from ultraopt.benchmarks import get_benchmark

    return get_benchmark(function, seed=seed)


def true_regret(bench: Any, config: Mapping[str, Any]) -> float:
    """Noise-free loss of ``config`` on the largest budget, minus the optimum."""
    return float(bench.loss(dict(config), noise=False)) - bench.optimum


def record(budget: float, loss: float | None, start: float, end: float, regret: float) -> dict[str, Any]:
    """One finished trial as the runners store it."""
    finite = loss is not None and math.isfinite(loss)
    return {"budget": float(budget), "loss": float(loss) if finite else None, "start": float(start),
            "end": float(end), "regret": float(regret)}


def hyperband_total_budget(n_brackets: int, min_budget: float, max_budget: float, eta: int = ETA) -> float:
    """The budget ``n_brackets`` Hyperband brackets spend, in units of ``max_budget``."""
    from ultraopt.multi_fidelity import HyperBandIterGenerator

    generator = HyperBandIterGenerator(min_budget, max_budget, eta)
    return sum(n * b for i in range(n_brackets) for n, b in zip(*generator.get_bracket(i))) / max_budget


class Trajectory:
    """The regret of the incumbent after each result, against the budget spent and the (virtual) time.

    The incumbent is the config with the lowest observed loss on the largest budget that has a successful
    trial (what :class:`ultraopt.FMinResult` and HpBandSter return). Before any success the regret is ``inf``.
    """

    def __init__(self, records: Sequence[Mapping[str, Any]], max_budget: float):
        self.budget_spent: list[float] = []
        self.time: list[float] = []
        self.regret: list[float] = []
        best: dict[float, tuple[float, float]] = {}  # budget -> (loss, regret) of the best trial there
        spent = 0.0
        for item in records:
            spent += item["budget"] / max_budget
            if item["loss"] is not None:
                current = best.get(item["budget"])
                if current is None or item["loss"] < current[0]:
                    best[item["budget"]] = (item["loss"], item["regret"])
            self.budget_spent.append(spent)
            self.time.append(item["end"])
            self.regret.append(best[max(best)][1] if best else math.inf)
        # With several workers results arrive in end-time order; keep time non-decreasing for lookups anyway.
        for i in range(1, len(self.time)):
            self.time[i] = max(self.time[i], self.time[i - 1])

    def at_budget(self, spent: float) -> float:
        """The incumbent's regret once ``spent`` budget units were spent (``inf`` before the first result)."""
        return self._lookup(self.budget_spent, spent)

    def at_time(self, time: float) -> float:
        """The incumbent's regret at ``time`` on the run's clock."""
        return self._lookup(self.time, time)

    def _lookup(self, xs: list[float], x: float) -> float:
        index = bisect.bisect_right(xs, x * (1 + 1e-9)) - 1
        return self.regret[index] if index >= 0 else math.inf


def median(values: Sequence[float]) -> float:
    """The median (``inf`` counts as a value; ``nan`` for no value)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    low, high = ordered[middle - 1], ordered[middle]
    return low if low == high else (low + high) / 2
