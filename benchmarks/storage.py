"""What run storage costs per trial: SQLite journal against in-memory, with a trivial objective.

    python benchmarks/storage.py [--n-trials 10000] [--repeats 3] [--strategies Serial AsyncComm]

Writes ``benchmarks/results/storage.md``: for each parallel strategy, the wall time per trial of a run of
``n_trials`` one-evaluation iterations of random search (best of ``repeats``), in memory and with
``checkpoint_file``, the difference (what storage adds per trial), and a check that every trial was stored.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from ultraopt import fmin
from ultraopt.facade.registry import EXECUTOR_FACTORIES

SPACE = {"x": {"_type": "uniform", "_value": [-5, 5]}, "y": {"_type": "int_uniform", "_value": [0, 100]}}


def trivial(config: dict) -> float:
    return (config["x"] - 1.0) ** 2 + config["y"]


def timed_run(strategy: str, n_trials: int, checkpoint: Path | None) -> float:
    n_jobs = 1 if strategy == "Serial" else 2
    start = time.perf_counter()
    result = fmin(trivial, SPACE, optimizer="Random", n_iterations=n_trials, n_jobs=n_jobs,
                  parallel_strategy=strategy, auto_identify_serial_strategy=False, show_progressbar=False,
                  checkpoint_file=checkpoint)
    elapsed = time.perf_counter() - start
    assert len(result.trials) == n_trials, (strategy, len(result.trials))
    return elapsed


def journal_alone(n_trials: int, directory: Path) -> float:
    """Seconds to journal ``n_trials`` trials (created, then finished) in SQLite, without running anything."""
    from ConfigSpace import ConfigurationSpace

    from ultraopt.storage import RunHeader, SQLiteStorage
    from ultraopt.trial import Trial, TrialStatus

    storage = SQLiteStorage(directory / "alone.db")
    storage.open_run(RunHeader(ConfigurationSpace({"x": (-5.0, 5.0)}).to_serialized_dict(), {}))
    start = time.perf_counter()
    for trial_id in range(n_trials):
        trial = Trial(trial_id, (trial_id, 0, 0), {"x": 0.5, "y": 3}, 1.0, {"origin": "random"}, TrialStatus.RUNNING)
        storage.record_created(trial)
        trial.finish(TrialStatus.SUCCESS, 1.0)
        trial.start_time, trial.end_time, trial.worker = 1.0, 2.0, "w"
        storage.record_finished(trial)
    elapsed = time.perf_counter() - start
    storage.close()
    return elapsed


def stored_trials(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (finished,) = conn.execute("SELECT count(*) FROM trials WHERE status = 'success'").fetchone()
        (events,) = conn.execute("SELECT count(*) FROM events").fetchone()
    finally:
        conn.close()
    return finished, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--strategies", nargs="+", default=[s for s in ("Serial", "AsyncComm")
                                                            if s in EXECUTOR_FACTORIES])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "storage.md")
    args = parser.parse_args()
    rows = []
    for strategy in args.strategies:
        memory, sqlite, stored = [], [], None
        for _ in range(args.repeats):
            memory.append(timed_run(strategy, args.n_trials, None))
            with tempfile.TemporaryDirectory() as directory:
                path = Path(directory) / "run.db"
                sqlite.append(timed_run(strategy, args.n_trials, path))
                stored = stored_trials(path)
                size = path.stat().st_size
        per_memory, per_sqlite = 1e3 * min(memory) / args.n_trials, 1e3 * min(sqlite) / args.n_trials
        rows.append(f"| {strategy} | {args.n_trials} | {per_memory:.3f} | {per_sqlite:.3f} | "
                    f"{per_sqlite - per_memory:+.3f} | {stored[0]} finished, {stored[1]} events | "
                    f"{size / args.n_trials:.0f} |")
        print(rows[-1], flush=True)
    with tempfile.TemporaryDirectory() as directory:
        alone = min(journal_alone(args.n_trials, Path(directory) / str(i)) for i in range(args.repeats)
                    if (Path(directory) / str(i)).mkdir() is None)
    rows.append(f"| journal alone (no run) | {args.n_trials} | - | {1e3 * alone / args.n_trials:.3f} | "
                f"{1e3 * alone / args.n_trials:+.3f} | {2 * args.n_trials} events | - |")
    print(rows[-1], flush=True)
    text = "\n".join([
        "# Run storage: SQLite journal against in-memory",
        "",
        f"`python benchmarks/storage.py --n-trials {args.n_trials} --repeats {args.repeats}`: random search, a "
        "trivial objective, one evaluation per iteration; wall time of the whole `fmin` call divided by the number "
        f"of trials, best of {args.repeats}. SQLite: WAL, `synchronous=NORMAL`, one transaction per event (two "
        "events per trial: created and finished).",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{platform.system()}; 2 cores shared with other jobs, so figures vary by tens of percent between runs.",
        "",
        "| strategy | trials | in memory, ms/trial | SQLite, ms/trial | storage adds, ms/trial | stored "
        "| bytes/trial |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
