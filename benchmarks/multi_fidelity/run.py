"""Multi-fidelity benchmark: Hyperband with UltraOpt's optimizers, sync and async, against HpBandSter and DEHB.

Re-run (from the repository root; UltraOpt's runs take a few minutes, HpBandSter's 1-5 minutes each)::

    PYTHONPATH=src /work/venv/bin/python benchmarks/multi_fidelity/run.py \
        --peers-python /work/venv-peers/bin/python

It runs every multi-fidelity function of :mod:`ultraopt.benchmarks` (budgets 1/27 to 1, eta = 3) for
``--n-brackets`` Hyperband brackets with every seed (``--seeds`` for UltraOpt, ``--peer-seeds`` for the peers),
on 1 and 8 virtual workers (:class:`SimulatedExecutor`: a trial lasts the cost the function reports), prints the
tables and writes ``benchmarks/results/multi_fidelity.md``.
UltraOpt's methods are ``<optimizer>+HB`` with synchronous and asynchronous promotion, for every optimizer of
``--optimizers`` that ``ultraopt.facade.registry.OPTIMIZERS`` knows (``ETPE+HB sync`` is BOHB). The peers
(HpBandSter's BOHB, DEHB) run in their own environment (``pip install '.[peers]'``, numpy < 2) through
``peers.py``, with one worker. Each run is cached as JSON under ``--cache-dir``; ``--force`` runs again.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE_DIR, ETA, make_benchmark, record, true_regret  # noqa: E402
from report import Report  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PEERS = {"hpbandster_bohb": "HpBandSter BOHB", "dehb": "DEHB"}


@dataclass(frozen=True)
class Method:
    """One scheduler/optimizer pair: ours (``optimizer`` and ``promotion``) or a peer (``peer``)."""

    label: str
    optimizer: str | None = None
    promotion: str | None = None
    peer: str | None = None

    @property
    def key(self) -> str:
        return self.peer or f"{self.optimizer.lower()}-hb-{self.promotion}"  # type: ignore[union-attr]


def our_methods(optimizers: list[str]) -> tuple[list[Method], list[str]]:
    """Methods for the optimizers UltraOpt has, and the names it does not have (yet)."""
    from ultraopt.facade.registry import OPTIMIZERS

    known = {known_name.lower() for known_name in OPTIMIZERS}  # names are case-insensitive
    methods, missing = [], []
    for name in optimizers:
        if name.lower() not in known:
            missing.append(name)
            continue
        for promotion in ("sync", "async"):
            suffix = " (BOHB)" if name.lower() == "etpe" and promotion == "sync" else ""
            methods.append(Method(f"{name}+HB {promotion}{suffix}", name, promotion))
    return methods, missing


def run_ours(method: Method, function: str, n_workers: int, seed: int, n_brackets: int) -> dict[str, Any]:
    """One run of UltraOpt on virtual workers; the records are in the order the Master learnt the results."""
    from ultraopt import TrialStatus, fmin
    from ultraopt.executors import SimulatedExecutor
    from ultraopt.multi_fidelity import HyperBandIterGenerator

    bench = make_benchmark(function, seed)
    generator = HyperBandIterGenerator(bench.min_budget, bench.max_budget, ETA, promotion=method.promotion)
    executor = SimulatedExecutor(n_workers=n_workers)
    result = fmin(bench, bench.hdl, optimizer=method.optimizer, n_iterations=n_brackets, random_state=seed,
                  multi_fidelity_iter_generator=generator, parallel_strategy=executor, show_progressbar=False)
    records = [
        record(t.budget, t.loss, t.start_time, t.end_time, true_regret(bench, t.config))
        for t in result.trials
        if t.status is not TrialStatus.CANCELLED
    ]
    return {"records": records, "utilization": executor.utilization(), "makespan": executor.clock()}


def run_peer(method: Method, function: str, seed: int, n_brackets: int, python: str, out: Path) -> None:
    """One run of a peer in its own environment, written to ``out``."""
    command = [python, str(Path(__file__).with_name("peers.py")), "--method", method.peer, "--function", function,
               "--seed", str(seed), "--n-brackets", str(n_brackets), "--out", str(out)]
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}
    subprocess.run(command, check=True, env=env, timeout=3600, stdout=subprocess.DEVNULL)  # type: ignore[arg-type]


def main() -> None:
    from ultraopt.benchmarks import list_benchmarks

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", nargs="+", default=list_benchmarks(multi_fidelity=True))
    parser.add_argument("--seeds", type=int, default=20, help="replicates 0 .. seeds-1 (optimizer and noise)")
    parser.add_argument("--peer-seeds", type=int, default=5,
                        help="replicates of the peers, 0 .. peer-seeds-1 (their runs take minutes each)")
    parser.add_argument("--n-brackets", type=int, default=32, help="Hyperband brackets per run (4 per cycle)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--optimizers", nargs="+", default=["Random", "ETPE"])
    parser.add_argument("--peers-python", default=None, help="python of the peers' environment; none: no peers")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "multi_fidelity.md")
    parser.add_argument("--force", action="store_true", help="run again even when a run is cached")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    methods, missing = our_methods(args.optimizers)
    peers = [Method(label, peer=key) for key, label in PEERS.items()] if args.peers_python else []
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    peer_seeds = min(args.peer_seeds, args.seeds)
    report = Report(args.functions, args.workers, args.n_brackets, args.seeds, missing,
                    peers_skipped=not args.peers_python, n_peer_seeds=peer_seeds)
    for function in args.functions:
        for n_workers in args.workers:
            for method in methods + (peers if n_workers == 1 else []):
                for seed in range(peer_seeds if method.peer else args.seeds):
                    path = args.cache_dir / f"{method.key}-{function}-w{n_workers}-s{seed}-b{args.n_brackets}.json"
                    if args.force or not path.exists():
                        started = time.perf_counter()
                        if method.peer:
                            run_peer(method, function, seed, args.n_brackets, args.peers_python, path)
                        else:
                            path.write_text(json.dumps(run_ours(method, function, n_workers, seed, args.n_brackets)))
                        print(f"{method.label:22s} {function:17s} workers={n_workers} seed={seed}: "
                              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
                    report.add(method.label, function, n_workers, seed, json.loads(path.read_text()))
    text = report.render(command=" ".join(["PYTHONPATH=src", "python", *sys.argv]))
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
