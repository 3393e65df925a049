"""HpBandSter (Pyro4) dispatch throughput: trivial trials per second with RandomSearch and N worker processes.

Run with an interpreter that has hpbandster 0.7.4 (which needs numpy<2); prints one JSON line per worker count.
``python hpbandster_side.py --workers 1 2 4 --trials 500``. Everything binds to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time


def trivial_worker(run_id: str, port: int, worker_id: int) -> None:
    from hpbandster.core.worker import Worker

    class Trivial(Worker):
        def compute(self, config, budget, **kwargs):
            return {"loss": float(config["x"]) ** 2, "info": {}}

    Trivial(run_id=run_id, nameserver="127.0.0.1", nameserver_port=port, id=worker_id).run(background=False)


def measure(n_workers: int, n_trials: int, job_queue_sizes: tuple[int, int]) -> dict:
    import ConfigSpace as CS
    import hpbandster.core.nameserver as hpns
    from hpbandster.optimizers import RandomSearch

    run_id = f"dispatch-{n_workers}"
    nameserver = hpns.NameServer(run_id=run_id, host="127.0.0.1", port=0)
    _, port = nameserver.start()
    workers = [subprocess.Popen([sys.executable, __file__, "--serve", run_id, str(port), str(i)])
               for i in range(n_workers)]
    space = CS.ConfigurationSpace()
    space.add_hyperparameter(CS.UniformFloatHyperparameter("x", -5, 5))
    optimizer = RandomSearch(configspace=space, run_id=run_id, nameserver="127.0.0.1", nameserver_port=port,
                             min_budget=1, max_budget=1, ping_interval=1, job_queue_sizes=job_queue_sizes)
    try:
        optimizer.run(n_iterations=n_workers, min_n_workers=n_workers)  # warm-up: every worker joined and ran
        start, cpu = time.perf_counter(), time.process_time()
        result = optimizer.run(n_iterations=n_trials, min_n_workers=n_workers)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        n_done = len(result.get_all_runs()) - n_workers
    finally:
        optimizer.shutdown(shutdown_workers=True)
        nameserver.shutdown()
        for worker in workers:
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
    return {"workers": n_workers, "trials": n_done, "seconds": seconds, "trials_per_s": n_done / seconds,
            "master_cpu_us_per_trial": cpu / n_done * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--job-queue-sizes", type=int, nargs=2, default=[-1, 0],
                        help="HpBandSter's job_queue_sizes (relative to the number of workers), default -1 0")
    parser.add_argument("--serve", nargs=3, metavar=("RUN_ID", "PORT", "ID"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.serve:
        trivial_worker(args.serve[0], int(args.serve[1]), int(args.serve[2]))
        return
    for n_workers in args.workers:
        print(json.dumps(measure(n_workers, args.trials, tuple(args.job_queue_sizes))), flush=True)


if __name__ == "__main__":
    main()
