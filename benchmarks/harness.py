"""Run (contender, problem, seed) cells, in parallel processes, caching each cell's losses as JSON.

A cell's losses are stored in ``results/raw/<contender>/<problem>/<seed>.json`` with the number of trials, so
a re-run only computes what is missing (``--fresh NAME`` recomputes a contender, e.g. after changing it).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks.contenders import run_contender
from benchmarks.problems import get_problems

__all__ = ["RESULTS", "cell_path", "run_cells"]

RESULTS = Path(__file__).resolve().parent / "results"


def cell_path(spec: str, problem: str, seed: int) -> Path:
    """Where the raw result of one cell is cached."""
    safe = re.sub(r"[^A-Za-z0-9_.=,+-]", "_", spec)
    return RESULTS / "raw" / safe / re.sub(r"[^A-Za-z0-9_.+-]", "_", problem) / f"{seed}.json"


def _run_cell(args: tuple[str, str, int, int]) -> tuple[str, str, int, list[float], float]:
    spec, problem, seed, n_trials = args
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    start = time.process_time()
    losses = run_contender(spec, get_problems()[problem], n_trials, seed)
    elapsed = time.process_time() - start
    path = cell_path(spec, problem, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"spec": spec, "problem": problem, "seed": seed, "n_trials": n_trials,
                                "cpu_seconds": elapsed, "losses": losses}))
    return spec, problem, seed, losses, elapsed


def run_cells(
    specs: Iterable[str], problems: Iterable[str], seeds: Iterable[int], n_trials: int, jobs: int = 1,
    fresh: Iterable[str] = (), log: Any = print,
) -> dict[tuple[str, str, int], list[float]]:
    """Losses of every cell, from the cache when it holds at least ``n_trials`` losses, else computed."""
    fresh = set(fresh)
    results: dict[tuple[str, str, int], list[float]] = {}
    todo = []
    for spec in specs:
        for problem in problems:
            for seed in seeds:
                path = cell_path(spec, problem, seed)
                if spec not in fresh and path.exists():
                    cached = json.loads(path.read_text())
                    if len(cached["losses"]) >= n_trials:
                        results[spec, problem, seed] = cached["losses"][:n_trials]
                        continue
                todo.append((spec, problem, seed, n_trials))
    if todo:
        log(f"running {len(todo)} cells on {jobs} process(es); {len(results)} cached")
        if jobs > 1:
            with multiprocessing.get_context("spawn").Pool(jobs, maxtasksperchild=20) as pool:
                done = pool.imap_unordered(_run_cell, todo)
                for count, (spec, problem, seed, losses, _) in enumerate(done, 1):
                    results[spec, problem, seed] = losses
                    if count % 20 == 0:
                        log(f"  {count}/{len(todo)} cells done")
        else:
            for spec, problem, seed, losses, _ in map(_run_cell, todo):
                results[spec, problem, seed] = losses
    return results
