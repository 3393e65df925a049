"""The master of a distributed run: a name server and the master; workers join from other terminals or machines.

Terminal 1 (this script; it waits for workers, then runs)::

    cd examples && python3 cluster_master.py --run-id digits --working-directory /tmp/ultraopt-digits

Terminal 2 (as many as you like, on any machine that sees the working directory)::

    cd examples && ultraopt worker --objective cluster_objective:evaluate --run-id digits \\
        --working-directory /tmp/ultraopt-digits --n-workers 2

With ``--checkpoint-file run.db``, run the same command again after the master died (even by SIGKILL): the
finished trials are kept, those that were running run again, and the workers, still running, follow the
credentials file to the new name server by themselves.

Everything binds to 127.0.0.1 unless ``--host``/``--nic-name`` (here) and ``--host``/``--nic-name`` (on the
workers) name an interface the other machines reach. The credentials file in the working directory (readable by
you only) carries the run's secret; without it nobody can register a worker, report a result or stop anything.
"""

import argparse
import sys

from cluster_objective import HDL

from ultraopt.async_comm import Master, NameServer
from ultraopt.hdl import hdl2cs
from ultraopt.multi_fidelity import CustomIterGenerator
from ultraopt.optimizer import RandomOptimizer
from ultraopt.progress import ProgressBar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-id", default="digits")
    parser.add_argument("--working-directory", default="/tmp/ultraopt-digits")
    parser.add_argument("--host", help="address the name server and the dispatcher bind to (default 127.0.0.1)")
    parser.add_argument("--nic-name", help="bind to this network interface, e.g. eth0")
    parser.add_argument("--n-iterations", type=int, default=4)
    parser.add_argument("--min-workers", type=int, default=1)
    parser.add_argument("--checkpoint-file", help="SQLite file that makes the run resumable (see above)")
    args = parser.parse_args()

    # Successive halving by hand: 9 configs on a third of the data, the best 3 on all of it.
    generator = CustomIterGenerator([9, 3], [1 / 3, 1.0])
    optimizer = RandomOptimizer()
    optimizer.initialize(hdl2cs(HDL), budgets=generator.get_budgets(), random_state=0)

    nameserver = NameServer(args.run_id, args.working_directory, host=args.host, nic_name=args.nic_name)
    try:
        host, port = nameserver.start()
    except RuntimeError as refusal:  # the run's master is alive (perhaps stopped): leave it alone
        sys.exit(f"cluster_master.py: {refusal}")
    print(f"name server on {host}:{port}; waiting for {args.min_workers} worker(s)", flush=True)
    progress = ProgressBar(generator.num_all_configs(args.n_iterations), show_budget=True)
    try:
        master = Master(args.run_id, optimizer, generator, progress_callback=progress,
                        working_directory=args.working_directory, host=nameserver.credentials.host,
                        checkpoint_file=args.checkpoint_file)
    except BaseException as exc:
        progress.close()
        nameserver.shutdown()
        if isinstance(exc, ValueError):  # the checkpoint is another run's, or in use by a live master: say so
            sys.exit(f"cluster_master.py: {exc}")
        raise
    try:
        result = master.run(n_iterations=args.n_iterations, min_n_workers=args.min_workers)
    finally:
        progress.close(complete=master.result.meta.get("stop_reason") == "finished")
        master.shutdown(shutdown_workers=True)  # the workers stop too
        nameserver.shutdown()  # and the credentials file goes away
    print(result)


if __name__ == "__main__":
    main()
