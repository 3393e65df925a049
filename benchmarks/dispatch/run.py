"""Dispatch throughput: trivial trials per second through ``ultraopt.async_comm`` and through HpBandSter (Pyro4).

A trivial objective (``x ** 2``) and random search, so that the figure is the cost of the machinery — master loop,
optimizer ask/tell, the trip to a worker process and back. For 1, 2 and 4 worker processes on this machine, in
one run, interleaved ``--repeats`` times (medians reported) so that both libraries see the same machine load:

- UltraOpt: a name server, worker processes, the ``async_comm.master.Master`` with the Random optimizer, once with
  the default ``job_queue_sizes=(-1, 0)`` (one trial per worker) and once with ``(0, 1)`` (one more trial queued
  per worker, so that a worker never waits for the master);
- HpBandSter 0.7.4: its name server, worker processes and ``RandomSearch`` with ``min_budget == max_budget``
  (one config per iteration), run by ``hpbandster_side.py`` in an interpreter that has it (``--peers-python``).

Usage: ``python benchmarks/dispatch/run.py --peers-python /work/venv-peers/bin/python``; writes
``benchmarks/results/dispatch.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results" / "dispatch.md"


def trivial(config: dict) -> float:
    return config["x"] ** 2


def measure_ultraopt(n_workers: int, n_trials: int, job_queue_sizes: tuple[int, int]) -> float:
    """Trials per second of ``Master.run`` once every worker has joined (the run's start-up is not counted)."""
    from ConfigSpace import ConfigurationSpace, UniformFloatHyperparameter

    from ultraopt.async_comm.master import Master
    from ultraopt.async_comm.nameserver import NameServer
    from ultraopt.async_comm.process import stop_worker_processes
    from ultraopt.async_comm.worker import Worker
    from ultraopt.multi_fidelity import CustomIterGenerator
    from ultraopt.optimizer import RandomOptimizer

    run_id = f"dispatch-{n_workers}-{os.getpid()}-{time.monotonic_ns()}"
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter("x", -5, 5)])
    generator = CustomIterGenerator([1], [1.0])
    optimizer = RandomOptimizer()
    optimizer.initialize(space, budgets=generator.get_budgets(), random_state=0)
    with NameServer(run_id):
        workers = [Worker(run_id).initialize(trivial) for _ in range(n_workers)]
        for worker in workers:
            worker.run(background=True, concurrent_type="process")
        master = Master(run_id, optimizer, generator, job_queue_sizes=job_queue_sizes)
        try:
            master.run(n_iterations=10 * n_workers, min_n_workers=n_workers)  # warm-up: every worker has run
            start = time.perf_counter()
            result = master.run(n_iterations=n_trials)
            seconds = time.perf_counter() - start
            assert len(result.trials) == n_trials + 10 * n_workers
        finally:
            master.shutdown(shutdown_workers=True)
            stop_worker_processes([worker.process for worker in workers])
    return n_trials / seconds


def measure_hpbandster(python: str, n_workers: int, n_trials: int) -> float | None:
    command = [python, str(HERE / "hpbandster_side.py"), "--workers", str(n_workers), "--trials", str(n_trials)]
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"HpBandSter with {n_workers} worker(s) failed: {exc}", file=sys.stderr)
        return None
    return json.loads(output.strip().splitlines()[-1])["trials_per_s"]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--trials", type=int, default=2000, help="trials per UltraOpt measurement")
    parser.add_argument("--hpbandster-trials", type=int, default=500, help="trials per HpBandSter measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peers-python", help="interpreter with hpbandster 0.7.4 (numpy<2)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    load_before = load()
    rows = {n: {"default": [], "pipelined": [], "hpbandster": []} for n in args.workers}
    for repeat in range(args.repeats):
        for n in args.workers:
            rows[n]["default"].append(measure_ultraopt(n, args.trials, (-1, 0)))
            rows[n]["pipelined"].append(measure_ultraopt(n, args.trials, (0, 1)))
            if args.peers_python:
                rows[n]["hpbandster"].append(measure_hpbandster(args.peers_python, n, args.hpbandster_trials))
            print(f"repeat {repeat + 1}, {n} worker(s): " + ", ".join(
                f"{key} {values[-1]:.0f}/s" for key, values in rows[n].items() if values and values[-1]), flush=True)
    load_after = load()

    def median(values: list) -> float | None:
        values = [value for value in values if value is not None]
        return statistics.median(values) if values else None

    def cell(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.0f}"

    lines = [
        "# Dispatch throughput",
        "",
        "Trivial objective (`x ** 2`), random search, worker processes on one machine, everything on 127.0.0.1.",
        f"Trials per second, median of {args.repeats} interleaved runs ({args.trials} trials per UltraOpt run, "
        f"{args.hpbandster_trials} per HpBandSter run, start-up not counted). Produced by "
        "`benchmarks/dispatch/run.py`.",
        "",
        "| workers | UltraOpt, job_queue_sizes=(-1, 0) | UltraOpt, (0, 1) | HpBandSter 0.7.4 (Pyro4) | "
        "best UltraOpt / HpBandSter |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n, values in rows.items():
        default, pipelined, hpb = median(values["default"]), median(values["pipelined"]), median(values["hpbandster"])
        ratio = "n/a" if not hpb else f"{max(default, pipelined) / hpb:.1f}x"
        lines.append(f"| {n} | {cell(default)} | {cell(pipelined)} | {cell(hpb)} | {ratio} |")
    lines += [
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
