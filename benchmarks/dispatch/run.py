"""Dispatch throughput: trivial trials per second through ``ultraopt.async_comm`` and through HpBandSter (Pyro4).

A trivial objective (``x ** 2``) and random search, so that the figure is the cost of the machinery — master loop,
optimizer ask/tell, the trip to a worker process and back. For 1, 2 and 4 worker processes on this machine and
two job queue settings, both libraries in one run, interleaved ``--repeats`` times (medians reported) so that
they see the same machine load:

- ``job_queue_sizes=(-1, 0)`` (both libraries' default): one trial per worker; every trial waits for the round
  trip of the previous one;
- ``(16, 48)``: up to 48 more trials than workers are out, refilled when 16 are left, so that workers never wait
  for the master (UltraOpt then sends several trials and results per message).

UltraOpt: a name server, worker processes and the ``async_comm.master.Master`` with the Random optimizer.
HpBandSter 0.7.4: its name server, worker processes and ``RandomSearch`` with ``min_budget == max_budget``
(one config per iteration), run by ``hpbandster_side.py`` in an interpreter that has it (``--peers-python``).
Also reported: the CPU time of the master's process per trial (name server, dispatcher and master loop).

Dask (``dask_side.py``), interleaved with the above: the same trivial objective through the core Master loop and the
Dask executor on a LocalCluster, with 0, one per worker thread (the default) and 48 trials queued beyond the
running ones; and the wall time of a CPU-bound objective with 1 and 2 Dask workers. ``--parts`` picks what runs.

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

import dask_side

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results" / "dispatch.md"
QUEUES = [(-1, 0), (16, 48)]
PARTS = ("asynccomm", "dask", "cpu")


def trivial(config: dict) -> float:
    return config["x"] ** 2


def measure_ultraopt(n_workers: int, n_trials: int, job_queue_sizes: tuple[int, int]) -> tuple[float, float]:
    """Trials per second of ``Master.run`` once every worker has joined, and master CPU microseconds per trial."""
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
    warm_up = 10 * n_workers
    with NameServer(run_id):
        workers = [Worker(run_id).initialize(trivial) for _ in range(n_workers)]
        for worker in workers:
            worker.run(background=True, concurrent_type="process")
        master = Master(run_id, optimizer, generator, job_queue_sizes=job_queue_sizes)
        try:
            master.run(n_iterations=warm_up, min_n_workers=n_workers)  # every worker has joined and run
            start, cpu = time.perf_counter(), time.process_time()
            result = master.run(n_iterations=n_trials)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            assert len(result.trials) == warm_up + n_trials
        finally:
            master.shutdown(shutdown_workers=True)
            stop_worker_processes([worker.process for worker in workers])
    return n_trials / seconds, cpu / n_trials * 1e6


def measure_hpbandster(python: str, n_workers: int, n_trials: int, queue: tuple[int, int]) -> tuple[float, float]:
    command = [python, "-W", "ignore", str(HERE / "hpbandster_side.py"), "--workers", str(n_workers),
               "--trials", str(n_trials), "--job-queue-sizes", *map(str, queue)]
    output = subprocess.run(command, capture_output=True, text=True, timeout=900, check=True).stdout
    measured = json.loads(output.strip().splitlines()[-1])
    return measured["trials_per_s"], measured["master_cpu_us_per_trial"]


def load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--trials", type=int, default=3000, help="trials per UltraOpt measurement")
    parser.add_argument("--hpbandster-trials", type=int, default=1000, help="trials per HpBandSter measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peers-python", help="interpreter with hpbandster 0.7.4 (numpy<2)")
    parser.add_argument("--dask-trials", type=int, default=1000, help="trials per Dask measurement")
    parser.add_argument("--cpu-trials", type=int, default=16, help="CPU-bound trials per wall-time measurement")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    loads = [load()]
    cases = [(n, queue) for n in args.workers for queue in QUEUES] if "asynccomm" in args.parts else []
    ours: dict = {case: [] for case in cases}
    theirs: dict = {case: [] for case in cases}
    dask_runs: dict = {n: [] for n in args.workers} if "dask" in args.parts else {}
    cpu_runs: dict = {n: [] for n in (0, 1, 2)} if "cpu" in args.parts else {}
    for repeat in range(args.repeats):
        for n in dask_runs:
            dask_runs[n].append(dask_side.measure_dask(n, args.dask_trials))
            rates = ", ".join(f"n_queued={q}: {rate:.0f}/s" for q, (rate, _) in dask_runs[n][-1]["rates"].items())
            print(f"repeat {repeat + 1}, {n} Dask worker(s): {rates} (load {load()})", flush=True)
        for n in cpu_runs:
            cpu_runs[n].append(dask_side.cpu_bound_seconds(n, args.cpu_trials))
            print(f"repeat {repeat + 1}, CPU-bound on {n or 'no'} Dask worker(s): {cpu_runs[n][-1]:.1f} s "
                  f"(load {load()})", flush=True)
        for case in cases:
            ours[case].append(measure_ultraopt(case[0], args.trials, case[1]))
            line = f"repeat {repeat + 1}, {case[0]} worker(s), queue {case[1]}: UltraOpt {ours[case][-1][0]:.0f}/s"
            if args.peers_python:
                try:
                    theirs[case].append(measure_hpbandster(args.peers_python, case[0], args.hpbandster_trials,
                                                           case[1]))
                    line += f", HpBandSter {theirs[case][-1][0]:.0f}/s"
                except (OSError, subprocess.SubprocessError) as exc:
                    print(f"HpBandSter failed: {exc}", file=sys.stderr)
            print(f"{line} (load {load()})", flush=True)
        loads.append(load())

    lines = ["# Dispatch throughput", ""]
    if cases:
        lines += asynccomm_table(args, cases, ours, theirs)
    if dask_runs:
        lines += dask_table(args, dask_runs)
    if cpu_runs:
        lines += cpu_table(args, cpu_runs)
    lines += [
        f"Machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}. Load average "
        f"(1, 5, 15 min) at the start and after each repeat: {' | '.join(loads)} — other work was running on the "
        "machine, so the absolute figures move from run to run; everything ran interleaved under the same load.",
        f"Run on {time.strftime('%Y-%m-%d %H:%M %Z')}.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


def median(values: list, index: int) -> float | None:
    return statistics.median(value[index] for value in values) if values else None


def cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def asynccomm_table(args, cases: list, ours: dict, theirs: dict) -> list[str]:
    lines = [
        "Trivial objective (`x ** 2`), random search, worker processes on one machine, everything on 127.0.0.1;",
        f"median of {args.repeats} interleaved runs ({args.trials} trials per UltraOpt run, {args.hpbandster_trials} "
        "per HpBandSter run, start-up not counted). Master CPU: CPU time of the process holding the name server, "
        "the dispatcher and the master loop, per trial. Produced by `benchmarks/dispatch/run.py`.",
        "",
        "| workers | job_queue_sizes | UltraOpt trials/s | HpBandSter 0.7.4 trials/s | ratio | "
        "UltraOpt master CPU µs/trial | HpBandSter master CPU µs/trial |",
        "|---:|:---|---:|---:|---:|---:|---:|",
    ]
    for case in cases:
        ours_rate, theirs_rate = median(ours[case], 0), median(theirs[case], 0)
        ratio = f"{ours_rate / theirs_rate:.1f}x" if ours_rate and theirs_rate else "n/a"
        lines.append(f"| {case[0]} | {case[1]} | {cell(ours_rate)} | {cell(theirs_rate)} | {ratio} | "
                     f"{cell(median(ours[case], 1))} | {cell(median(theirs[case], 1))} |")
    return [*lines, ""]


def dask_table(args, runs: dict) -> list[str]:
    queues = dask_side.QUEUES
    labels = ["default" if queue is None else str(queue) for queue in queues]
    lines = [
        "## Dask",
        "",
        f"The same trivial objective through the core Master loop and the Dask executor on a LocalCluster "
        f"(single-threaded worker processes, 127.0.0.1); {args.dask_trials} trials per run after a warm-up, median "
        f"of {args.repeats}. `n_queued`: trials submitted beyond the worker threads (default: one per thread). "
        "Master CPU includes the Dask scheduler, which a LocalCluster runs in the master's process. Produced by "
        "`benchmarks/dispatch/run.py` (`dask_side.py`).",
        "",
        "| Dask workers | " + " | ".join(f"trials/s, n_queued={label}" for label in labels)
        + " | master CPU µs/trial (default) | cluster start-up (s) |",
        "|---:|" + "---:|" * (len(queues) + 2),
    ]
    for n, measured in runs.items():
        rates = [statistics.median(run["rates"][queue][0] for run in measured) for queue in queues]
        cpu = statistics.median(run["rates"][None][1] for run in measured)
        startup = statistics.median(run["startup"] for run in measured)
        lines.append(f"| {n} | " + " | ".join(f"{rate:.0f}" for rate in rates) + f" | {cpu:.0f} | {startup:.1f} |")
    return [*lines, ""]


def cpu_table(args, runs: dict) -> list[str]:
    one = statistics.median(runs[1])
    lines = [
        "## CPU-bound objective on Dask workers",
        "",
        f"A pure-Python objective that holds the GIL (about 0.25 s on an idle core), {args.cpu_trials} trials, wall "
        f"time of the run (cluster start-up not counted), median of {args.repeats}:",
        "",
        "| where | wall time (s) | speed-up over 1 Dask worker |",
        "|---|---:|---:|",
    ]
    for n, label in ((0, "serially, in the master's process"), (1, "1 Dask worker"), (2, "2 Dask workers")):
        seconds = statistics.median(runs[n])
        lines.append(f"| {label} | {seconds:.1f} | {one / seconds:.2f}x |")
    return [*lines, ""]


if __name__ == "__main__":
    main()
