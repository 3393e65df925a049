"""Dispatch through Dask: trivial trials per second, and the wall time of a CPU-bound objective.

Both through the one Master loop (``ultraopt.master.Master``) with random search and the Dask executor on a
``LocalCluster`` it creates: single-threaded worker processes bound to 127.0.0.1.

- Trials per second with a trivial objective (``x ** 2``), so that the figure is the cost of the machinery:
  Master loop, ask/tell, the trip to a Dask worker and back. Measured after a warm-up run on the same cluster
  (the cluster's start-up is reported on its own). Once with the default pipelining (one trial queued per worker
  thread beyond the running ones) and once without (``n_queued=0``).
- Wall time of ``--cpu-trials`` trials of a CPU-bound pure-Python objective (it holds the GIL), with 1 and 2
  Dask workers, and serially in this process for reference. Two worker processes should take about half the
  time of one when two cores are free.

This script is meant to fold into ``benchmarks/dispatch/run.py`` (the AsyncComm vs HpBandSter benchmark): its
``measure_dask(n_workers, n_trials)`` has the shape of that script's ``measure_*`` functions and returns trials per
second.

Usage: ``python benchmarks/dask_dispatch.py``; writes ``benchmarks/results/dask_dispatch.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

from ultraopt.executors.base import Executor
from ultraopt.executors.dask_executor import DaskExecutor
from ultraopt.executors.serial import SerialExecutor
from ultraopt.hdl import as_config_space
from ultraopt.master import Master
from ultraopt.multi_fidelity import CustomIterGenerator
from ultraopt.objective import Objective
from ultraopt.optimizer import RandomOptimizer
from ultraopt.result import FMinResult

RESULTS = Path(__file__).resolve().parent / "results" / "dask_dispatch.md"
SPACE = {"x": {"_type": "uniform", "_value": [-5, 5]}}


def trivial(config: dict) -> float:
    return config["x"] ** 2


def cpu_bound(config: dict, n: int = 3_000_000) -> float:
    """Pure-Python arithmetic: about a quarter of a second on an idle core, holding the GIL throughout."""
    total = 0.0
    for i in range(n):
        total += (i % 7) * 1e-9
    return config["x"] ** 2 + total * 0.0


def run_trials(executor: Executor, n_trials: int, seed: int = 0) -> float:
    """Run ``n_trials`` one-evaluation iterations on a started executor; return the wall time in seconds."""
    space = as_config_space(SPACE)
    generator = CustomIterGenerator([1], [1.0])
    optimizer = RandomOptimizer()
    optimizer.initialize(space, budgets=generator.get_budgets(), random_state=seed)
    master = Master(optimizer, generator, executor, FMinResult(space, generator.get_budgets()))
    start = time.perf_counter()
    result = master.run(n_trials)
    seconds = time.perf_counter() - start
    assert len(result.trials) == n_trials and all(trial.is_success for trial in result.trials)
    return seconds


def measure_dask(n_workers: int, n_trials: int, n_queued: int | None = None, func=trivial) -> float:
    """Trials per second of the Master with a Dask executor of ``n_workers`` processes, after a warm-up."""
    return n_trials / dask_seconds(n_workers, n_trials, n_queued, func)[1]


def dask_seconds(n_workers: int, n_trials: int, n_queued: int | None = None, func=trivial) -> tuple[float, float]:
    """``(cluster start-up, run)`` seconds for ``n_trials`` trials of ``func`` on a created LocalCluster."""
    executor = DaskExecutor(n_workers=n_workers, n_queued=n_queued)
    with executor:
        start = time.perf_counter()
        executor.start(Objective(func))
        executor.client.wait_for_workers(n_workers)
        startup = time.perf_counter() - start
        run_trials(executor, 2 * n_workers, seed=1)  # warm-up: every worker has imported and run
        return startup, run_trials(executor, n_trials)


def serial_seconds(n_trials: int, func=cpu_bound) -> float:
    executor = SerialExecutor()
    executor.start(Objective(func))
    return run_trials(executor, n_trials)


def load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--trials", type=int, default=1000, help="trivial trials per measurement")
    parser.add_argument("--cpu-trials", type=int, default=16, help="CPU-bound trials per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    load_before = load()
    trivial_rows = {n: {"startup": [], "pipelined": [], "unpipelined": []} for n in args.workers}
    cpu = {"serial": [], **{n: [] for n in (1, 2)}}
    for repeat in range(args.repeats):
        for n in args.workers:
            startup, seconds = dask_seconds(n, args.trials)
            trivial_rows[n]["startup"].append(startup)
            trivial_rows[n]["pipelined"].append(args.trials / seconds)
            trivial_rows[n]["unpipelined"].append(measure_dask(n, args.trials, n_queued=0))
        cpu["serial"].append(serial_seconds(args.cpu_trials))
        for n in (1, 2):
            cpu[n].append(dask_seconds(n, args.cpu_trials, func=cpu_bound)[1])
        print(f"repeat {repeat + 1}: " + "; ".join(
            f"{n} worker(s) {values['pipelined'][-1]:.0f}/s" for n, values in trivial_rows.items())
            + "; CPU-bound " + ", ".join(f"{key}: {values[-1]:.1f} s" for key, values in cpu.items()), flush=True)
    load_after = load()

    median = statistics.median
    one, two = median(cpu[1]), median(cpu[2])
    lines = [
        "# Dispatch through Dask",
        "",
        "The Master loop with random search and the Dask executor on a LocalCluster it created (single-threaded "
        "worker processes, everything on 127.0.0.1). Median of "
        f"{args.repeats} interleaved runs. Produced by `benchmarks/dask_dispatch.py`.",
        "",
        f"Trivial objective (`x ** 2`), {args.trials} trials per run after a warm-up; cluster start-up not counted "
        "in trials per second:",
        "",
        "| Dask workers | trials/s, one trial queued per worker (default) | trials/s, none queued (`n_queued=0`) "
        "| cluster start-up (s) |",
        "|---:|---:|---:|---:|",
    ]
    for n, values in trivial_rows.items():
        lines.append(f"| {n} | {median(values['pipelined']):.0f} | {median(values['unpipelined']):.0f} | "
                     f"{median(values['startup']):.1f} |")
    lines += [
        "",
        f"CPU-bound pure-Python objective (holds the GIL), {args.cpu_trials} trials, wall time of the run:",
        "",
        "| where | wall time (s) | speed-up over 1 Dask worker |",
        "|---|---:|---:|",
        f"| serial, in the Master's process | {median(cpu['serial']):.1f} | {one / median(cpu['serial']):.2f}x |",
        f"| 1 Dask worker | {one:.1f} | 1.00x |",
        f"| 2 Dask workers | {two:.1f} | {one / two:.2f}x |",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}; "
        f"load average (1, 5, 15 min) {load_before} before and {load_after} after the run "
        "(other work was running on the machine).",
        f"Run on {time.strftime('%Y-%m-%d %H:%M %Z')}.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
