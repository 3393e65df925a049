"""The Dask part of the dispatch benchmark: trivial trials per second and CPU-bound wall time.

Both through the one Master loop (``ultraopt.master.Master``) with random search and the Dask executor on a
``LocalCluster`` of single-threaded worker processes bound to 127.0.0.1. The scheduler of a LocalCluster runs in
the master's process, so the master CPU per trial includes the scheduler's work.

- Trivial objective: trials per second after a warm-up on the same cluster (the cluster's start-up is reported on
  its own), with ``n_queued`` trials submitted beyond the worker threads: 0 (every trial waits for the round trip
  of the previous one on its worker, like ``job_queue_sizes=(-1, 0)``), the default of one per worker thread, and
  48 (like ``(16, 48)``).
- CPU-bound pure-Python objective (it holds the GIL): wall time of a run with 1 and with 2 Dask workers, and
  serially in the master's process for reference. Cluster start-up is not counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from distributed import Client, LocalCluster

from ultraopt.executors.base import Executor
from ultraopt.executors.dask_executor import DaskExecutor, local_cluster_options
from ultraopt.executors.serial import SerialExecutor
from ultraopt.hdl import as_config_space
from ultraopt.master import Master
from ultraopt.multi_fidelity import CustomIterGenerator
from ultraopt.objective import Objective
from ultraopt.optimizer import RandomOptimizer
from ultraopt.result import FMinResult

#: ``n_queued`` settings of the trivial-objective measurement (``None``: the executor's default).
QUEUES: list[int | None] = [0, None, 48]


def trivial(config: dict) -> float:
    return config["x"] ** 2


def cpu_bound(config: dict) -> float:
    """Pure-Python arithmetic: about a quarter of a second on an idle core, holding the GIL throughout."""
    total = 0.0
    for i in range(3_000_000):
        total += (i % 7) * 1e-9
    return config["x"] ** 2 + total * 0.0


def run_trials(executor: Executor, n_trials: int, seed: int = 0) -> tuple[float, float]:
    """Run ``n_trials`` one-evaluation iterations on a started executor: ``(wall seconds, CPU seconds)``."""
    space = as_config_space({"x": {"_type": "uniform", "_value": [-5, 5]}})
    generator = CustomIterGenerator([1], [1.0])
    optimizer = RandomOptimizer()
    optimizer.initialize(space, budgets=generator.get_budgets(), random_state=seed)
    master = Master(optimizer, generator, executor, FMinResult(space, generator.get_budgets()))
    start, cpu = time.perf_counter(), time.process_time()
    result = master.run(n_trials)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert len(result.trials) == n_trials and all(trial.is_success for trial in result.trials)
    return seconds, cpu


@contextmanager
def dask_cluster(n_workers: int) -> Iterator[tuple[Client, float]]:
    """A LocalCluster like the one ``fmin(parallel_strategy="Dask")`` creates, its client and its start-up time."""
    start = time.perf_counter()
    with LocalCluster(**local_cluster_options(n_workers)) as cluster, Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(n_workers)
        yield client, time.perf_counter() - start


def measure_on(client: Client, func: Callable[[dict], Any], n_trials: int, n_queued: int | None) -> tuple[float, float]:
    """``(wall seconds, master CPU seconds)`` of ``n_trials`` trials of ``func`` after a warm-up."""
    executor = DaskExecutor(client, n_queued=n_queued)
    with executor:
        executor.start(Objective(func))
        run_trials(executor, 4 * len(client.nthreads()), seed=1)  # warm-up: every worker has imported and run
        return run_trials(executor, n_trials)


def measure_dask(n_workers: int, n_trials: int) -> dict[str, Any]:
    """Trivial trials per second and master CPU µs per trial for each of :data:`QUEUES`, and the start-up."""
    with dask_cluster(n_workers) as (client, startup):
        rates = {}
        for n_queued in QUEUES:
            seconds, cpu = measure_on(client, trivial, n_trials, n_queued)
            rates[n_queued] = (n_trials / seconds, cpu / n_trials * 1e6)
    return {"startup": startup, "rates": rates}


def cpu_bound_seconds(n_workers: int, n_trials: int) -> float:
    """Wall time of ``n_trials`` CPU-bound trials on ``n_workers`` Dask workers (0: serially, in this process)."""
    if n_workers == 0:
        executor = SerialExecutor()
        executor.start(Objective(cpu_bound))
        return run_trials(executor, n_trials)[0]
    with dask_cluster(n_workers) as (client, _):
        return measure_on(client, cpu_bound, n_trials, n_queued=None)[0]
