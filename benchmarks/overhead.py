"""Overhead benchmark: milliseconds per trial (``ask`` + ``tell`` on a trivial objective) and peak memory.

For each optimizer, number of hyperparameters (floats on ``[-5, 5]``) and number of trials, one run in a fresh
process measures the mean wall-clock and CPU milliseconds per trial over the whole run, and the peak memory the
run added to the process's resident memory (peak RSS after the run minus the peak once the libraries are
imported). Optuna's TPE runs beside ours in the same invocation, up to ``--peer-max-trials`` (1,000 by
default; at 10,000 it takes hours).

Run from the repository root (the peers need ``pip install -e '.[peers]'``)::

    python -m benchmarks.overhead --trials 100 1000 10000 --dims 2 10 30

Timing depends on the machine and its load: the markdown records ``uptime``'s load average next to the table.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ConfigSpace import ConfigurationSpace, UniformFloatHyperparameter

from benchmarks.harness import RESULTS

DEFAULT_OPTIMIZERS = ["ETPE", "TPE", "Optuna-TPE"]


def _space(n_dims: int) -> ConfigurationSpace:
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter(f"x{i}", -5.0, 5.0) for i in range(n_dims)])
    return space


def _objective(config: dict[str, Any]) -> float:
    return sum(value * value for value in config.values())


def _ultraopt_runner(name: str) -> Callable[[int, int], None]:
    def run(n_dims: int, n_trials: int) -> None:
        from ultraopt.facade.registry import make_optimizer

        optimizer = make_optimizer(name)
        optimizer.initialize(_space(n_dims), random_state=0)
        for _ in range(n_trials):
            config, _ = optimizer.ask()
            optimizer.tell(config, _objective(config))

    return run


def _optuna_runner(options: dict[str, Any]) -> Callable[[int, int], None]:
    def run(n_dims: int, n_trials: int) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, **options))
        study.optimize(
            lambda trial: sum(trial.suggest_float(f"x{i}", -5.0, 5.0) ** 2 for i in range(n_dims)), n_trials=n_trials
        )

    return run


def _smac3_runner(n_dims: int, n_trials: int) -> None:
    from benchmarks.smac3_adapter import run

    run(_space(n_dims), _objective, n_trials, seed=0)


RUNNERS: dict[str, Callable[[int, int], None]] = {
    "ETPE": _ultraopt_runner("ETPE"),
    "TPE": _ultraopt_runner("TPE"),
    "Forest": _ultraopt_runner("Forest"),
    "GBRT": _ultraopt_runner("GBRT"),
    "Random": _ultraopt_runner("Random"),
    "Optuna-TPE": _optuna_runner({}),
    "Optuna-TPE-indep": _optuna_runner({"multivariate": False}),
    "SMAC3": _smac3_runner,
}

#: Peer libraries, run only up to ``--peer-max-trials`` (beyond that they take hours).
PEERS = {"Optuna-TPE", "Optuna-TPE-indep", "SMAC3"}


def _measure(args: tuple[str, int, int]) -> dict[str, Any]:
    name, n_dims, n_trials = args
    RUNNERS[name](n_dims, 2)  # imports and first-call set-up are not part of the per-trial cost
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall, cpu = time.perf_counter(), time.process_time()
    RUNNERS[name](n_dims, n_trials)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline  # KiB on Linux
    return {"optimizer": name, "dims": n_dims, "trials": n_trials, "ms_per_trial": 1e3 * wall / n_trials,
            "cpu_ms_per_trial": 1e3 * cpu / n_trials, "peak_mib": peak / 1024}


def _load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "uptime unavailable"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizers", nargs="+", default=DEFAULT_OPTIMIZERS)
    parser.add_argument("--trials", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 10, 30])
    parser.add_argument("--peer-max-trials", type=int, default=1000)
    parser.add_argument("--output", default=str(RESULTS / "overhead.md"), help="markdown file ('' for none)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    load_before = _load()
    rows = []
    context = multiprocessing.get_context("spawn")
    for n_trials in sorted(args.trials):
        for n_dims in args.dims:
            for name in args.optimizers:
                if name in PEERS and n_trials > args.peer_max_trials:
                    continue
                with context.Pool(1) as pool:  # a fresh process per run: peak memory and caches are its own
                    row = pool.apply(_measure, ((name, n_dims, n_trials),))
                rows.append(row)
                print(json.dumps(row), flush=True)
    load_after = _load()
    table = _table(rows, args.optimizers)
    print(table)
    if args.output:
        command = "python -m benchmarks.overhead " + " ".join(sys.argv[1:] if argv is None else argv)
        Path(args.output).write_text(
            "# Overhead: milliseconds per trial (ask + tell, trivial objective) and peak memory\n\n"
            f"Made by `{command}`.\n\nLoad before: `{load_before}`  \nLoad after: `{load_after}`\n\n"
            "Wall-clock ms per trial (CPU ms per trial in parentheses), mean over the whole run; peak = memory the "
            "run added to the process (peak RSS growth), MiB. `-` = not run (Optuna beyond 1,000 trials takes "
            "hours).\n\n"
            + table
        )


def _table(rows: list[dict[str, Any]], optimizers: list[str]) -> str:
    keys = sorted({(row["trials"], row["dims"]) for row in rows})
    found = {(row["optimizer"], row["trials"], row["dims"]): row for row in rows}
    lines = ["| trials | dims | " + " | ".join(f"{name} ms (cpu) | {name} peak MiB" for name in optimizers) + " |",
             "|" + "---|" * (2 + 2 * len(optimizers))]
    for n_trials, n_dims in keys:
        cells = []
        for name in optimizers:
            row = found.get((name, n_trials, n_dims))
            cells += (["-", "-"] if row is None else
                      [f"{row['ms_per_trial']:.2f} ({row['cpu_ms_per_trial']:.2f})", f"{row['peak_mib']:.1f}"])
        lines.append(f"| {n_trials} | {n_dims} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
