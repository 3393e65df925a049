"""How sure is "asynchronous promotion reaches sync's final median regret sooner"? A paired bootstrap over seeds.

Reads the cached runs of ``run.py`` (one optimizer, sync and async, one number of workers) and resamples the
seeds with replacement, each seed keeping its sync and its async run (they share the noise replicate and the
optimizer seed). For every resample it recomputes the check of the report: sync's final median regret as the
target, and the virtual time from which each mode's median regret curve stays at or below it. It prints a
markdown table: the times on all seeds, the share of resamples in which async is sooner, and a 90% interval of
how much sooner.

    PYTHONPATH=src python benchmarks/multi_fidelity/run.py --workers 8 --optimizers ETPE --seeds 200 \\
        --cache-dir runs/mf200 --out benchmarks/results/multi_fidelity_async_200seeds.md
    PYTHONPATH=src python benchmarks/multi_fidelity/async_bootstrap.py --cache-dir runs/mf200 --seeds 200
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from common import CACHE_DIR, Trajectory, make_benchmark

#: Points of the virtual-time grid the median curves are read on.
GRID_POINTS = 600


def load_runs(cache_dir: Path, key: str, function: str, n_workers: int, n_seeds: int, n_brackets: int) -> list[dict]:
    return [json.loads((cache_dir / f"{key}-{function}-w{n_workers}-s{seed}-b{n_brackets}.json").read_text())
            for seed in range(n_seeds)]


def regret_matrix(runs: list[dict], function: str, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The incumbent's regret of each run (rows) at each grid time (columns), and each run's final regret."""
    max_budget = make_benchmark(function, 0).max_budget
    trajectories = [Trajectory(run["records"], max_budget) for run in runs]
    regrets = np.array([[trajectory.at_time(t) for t in grid] for trajectory in trajectories])
    return regrets, np.array([trajectory.regret[-1] for trajectory in trajectories])


def time_to_stay_below(regrets: np.ndarray, grid: np.ndarray, target: float) -> float:
    """The first grid time from which the median curve of ``regrets`` stays at or below ``target``."""
    above = np.flatnonzero(np.median(regrets, axis=0) > target)
    if above.size == 0:
        return float(grid[0])
    return np.inf if above[-1] == len(grid) - 1 else float(grid[above[-1] + 1])


def times_on(seeds: np.ndarray, sync: tuple[np.ndarray, np.ndarray], asynchronous: np.ndarray,
             grid: np.ndarray) -> tuple[float, float]:
    """Sync's and async's time to stay at or below sync's final median regret, on the runs of ``seeds``."""
    sync_regrets, sync_final = sync
    target = float(np.median(sync_final[seeds]))
    return time_to_stay_below(sync_regrets[seeds], grid, target), time_to_stay_below(asynchronous[seeds], grid, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help="where run.py cached its runs")
    parser.add_argument("--functions", nargs="+",
                        default=["branin_mf", "cash_mf", "categorical20_mf", "hartmann3_mf", "hartmann6_mf"])
    parser.add_argument("--optimizer", default="etpe")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--n-brackets", type=int, default=32)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    rows = []
    for function in args.functions:
        sync, asynchronous = (load_runs(args.cache_dir, f"{args.optimizer}-hb-{mode}", function, args.workers,
                                        args.seeds, args.n_brackets) for mode in ("sync", "async"))
        end = max(run["makespan"] for run in sync + asynchronous)
        grid = np.linspace(0.0, end, GRID_POINTS)
        sync_curves = regret_matrix(sync, function, grid)
        async_regrets, _ = regret_matrix(asynchronous, function, grid)
        t_sync, t_async = times_on(np.arange(args.seeds), sync_curves, async_regrets, grid)
        gains = []
        for _ in range(args.resamples):
            seeds = rng.integers(0, args.seeds, args.seeds)
            resampled_sync, resampled_async = times_on(seeds, sync_curves, async_regrets, grid)
            gains.append(resampled_sync - resampled_async)  # inf - inf is nan: neither reached it
        gains_array = np.nan_to_num(np.array(gains), nan=0.0, posinf=np.inf, neginf=-np.inf)
        sooner = float(np.mean(gains_array > 0))
        low, high = np.percentile(gains_array, [5, 95], method="nearest")  # no interpolation between infinities
        rows.append(f"| {function} | {t_sync:.3g} | {t_async:.3g} | {sooner:.0%} | [{low:.3g}, {high:.3g}] |")
    print("# Asynchronous against synchronous promotion: how sure is \"sooner\"?\n")
    print(f"Made by `PYTHONPATH=src python {' '.join(sys.argv)}`. Paired bootstrap over seeds 0-{args.seeds - 1} "
          f"({args.resamples} resamples of the seeds, each keeping its sync and its async run), {args.optimizer} + "
          f"Hyperband, {args.workers} workers; virtual times read on a grid of {GRID_POINTS} points. Time: from "
          "when the median regret stays at or below sync's final median regret (`inf`: async never does). An "
          "interval reaching `-inf` means async did not get there at all in at least 5% of the resamples.\n")
    print("| function | time: sync | time: async | resamples with async sooner | sync - async, 90% interval |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    sys.exit(main())
