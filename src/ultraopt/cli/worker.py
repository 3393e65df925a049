"""``ultraopt worker``: evaluate configs for a distributed run, with an objective given as ``module:function``."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from typing import Any

from ultraopt.cli.nameserver import port_number, run_id_argument

__all__ = ["add_parser", "load_objective", "run", "seconds"]

NAME = "worker"


def seconds(text: str) -> float:
    """A duration from the command line: a finite number of seconds, not negative (a negative one would end the
    worker at once, silently)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seconds are a number, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"seconds are a non-negative finite number, got {text}")
    return value


def add_parser(subparsers: Any) -> None:
    """Register ``ultraopt worker``."""
    parser = subparsers.add_parser(
        NAME, help="evaluate configs for a distributed run",
        description="Evaluate configs for the master of a run. The name server is found through the credentials "
                    "file in --working-directory, or --nameserver/--nameserver-port with the secret in "
                    "$ULTRAOPT_SECRET (or --secret, which other users of the machine can see in the process list).",
    )
    parser.add_argument("--objective", required=True,
                        help="package.module:function taking (config) or (config, budget), or a Worker subclass")
    parser.add_argument("--run-id", required=True, type=run_id_argument, help="the run's id")
    parser.add_argument("--working-directory", help="shared directory holding the name server's credentials file")
    parser.add_argument("--wait", type=seconds, default=60.0,
                        help="seconds to wait for the credentials file to appear (default 60)")
    parser.add_argument("--nameserver", help="host of the name server (instead of --working-directory)")
    parser.add_argument("--nameserver-port", type=port_number, help="port of the name server")
    parser.add_argument("--secret", help="the run's secret (default: $ULTRAOPT_SECRET)")
    parser.add_argument("--host", help="address this worker binds to, reachable from the master (default 127.0.0.1)")
    parser.add_argument("--nic-name", help="bind to this network interface's address, e.g. eth0")
    parser.add_argument("--worker-id", help="distinguishes workers in their names")
    parser.add_argument("--timeout", type=seconds, help="stop after this many seconds without a job")
    parser.add_argument("--n-workers", type=int, default=1, help="worker processes to run (default 1)")
    parser.add_argument("--trial-time-limit", type=float,
                        help="seconds an evaluation may take: it runs in a child process, killed at the limit and "
                             "recorded as a timeout trial")
    parser.add_argument("--trial-memory-limit", type=float,
                        help="MB an evaluation may allocate (Linux): past it the trial is recorded as memout")
    parser.set_defaults(run=run)


def load_objective(spec: str) -> Any:
    """The object named by ``package.module:attribute`` (modules in the current directory are found too).

    Raises
    ------
    ValueError
        When ``spec`` is malformed, the module cannot be imported or has no such attribute.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"--objective must look like package.module:function, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like `python -m`: the user's modules next to where they start workers
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r} for --objective: {exc}") from exc
    except Exception as exc:  # the module's own code failed (a syntax error, a missing data file)
        raise ValueError(f"importing {module_name!r} for --objective failed: {type(exc).__name__}: {exc} (python -c "
                         f"'import {module_name}' shows the traceback)") from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"{module_name!r} has no attribute {attribute!r} (from --objective {spec!r})")
        target = getattr(target, part)
    return target


def make_worker(args: argparse.Namespace) -> Any:
    """The worker the arguments describe, with its name server credentials."""
    from ultraopt.async_comm.nameserver import nic_name_to_host
    from ultraopt.async_comm.worker import Worker

    objective = load_objective(args.objective)
    host = args.host or (nic_name_to_host(args.nic_name) if args.nic_name else None)
    options = {"nameserver": args.nameserver, "nameserver_port": args.nameserver_port, "host": host,
               "worker_id": args.worker_id, "timeout": args.timeout}
    limits = {"time_limit": args.trial_time_limit, "memory_limit": args.trial_memory_limit}
    for option, limit in zip(("--trial-time-limit", "--trial-memory-limit"), limits.values()):
        if limit is not None and not 0 < limit < float("inf"):
            raise ValueError(f"{option} must be a positive number, got {limit:g}")
    limited = any(limit is not None for limit in limits.values())
    if isinstance(objective, type) and issubclass(objective, Worker):
        if limited:
            raise ValueError("--trial-time-limit and --trial-memory-limit need a function as --objective, not a "
                             "Worker subclass (wrap its work in a function, or limit it in compute)")
        worker = objective(args.run_id, **options, secret=args.secret)
    elif callable(objective):
        if limited:
            from ultraopt.limits import LimitedObjective
            from ultraopt.objective import Objective

            objective = LimitedObjective(Objective(objective), **limits)
        worker = Worker(args.run_id, **options, secret=args.secret).initialize(objective)
    else:
        raise ValueError(f"--objective {args.objective!r} is neither a function nor a Worker subclass")
    if args.working_directory:
        from ultraopt.async_comm.credentials import credentials_path

        path = credentials_path(args.working_directory, args.run_id)
        if not path.exists():
            print(f"waiting up to {args.wait:g} s for {path} (written by the run's master or name server)", flush=True)
        # a try now, then one a second: --wait 3 looks for the file 3 s
        worker.load_nameserver_credentials(args.working_directory, num_tries=int(args.wait) + 1, interval=1)
    return worker


def _check_credentials(run_id: str, worker: Any) -> None:
    """Refuse, in the command's words, to start a worker that cannot find its name server or secret."""
    from ultraopt.async_comm.credentials import SECRET_ENV, resolve_credentials

    try:
        resolve_credentials(run_id, worker.nameserver, worker.nameserver_port, worker.secret)
    except ValueError:
        missing = " and ".join(name for name, value in (("port", worker.nameserver_port), ("secret", worker.secret))
                               if value is None and not (name == "secret" and os.environ.get(SECRET_ENV)))
        raise ValueError(
            f"run {run_id!r}: no name server {missing or 'credentials'}: give --working-directory DIR (where "
            f"`ultraopt nameserver --run-id {run_id} --working-directory DIR` or the master wrote them), or "
            f"--nameserver-port and --secret (or set {SECRET_ENV})"
        ) from None


def _say_why_stopped(args: argparse.Namespace, timed_out: bool, run_stopped: bool) -> None:
    if timed_out:
        print(f"worker stopped: no job for {args.timeout:g} s (--timeout)", flush=True)
    elif run_stopped:
        print(f"worker stopped: a master of run {args.run_id!r} stopped the run's workers while this one could not "
              "be reached", flush=True)


def run(args: argparse.Namespace) -> int:
    """Serve until the master shuts the worker down, the idle timeout passes, or Ctrl-C / SIGTERM."""
    from ultraopt.async_comm.process import EXIT_FAILED, EXIT_RUN_STOPPED, EXIT_TIMED_OUT, stop_worker_processes
    from ultraopt.cli import CommandError

    if args.n_workers < 1:
        raise ValueError(f"--n-workers must be at least 1, got {args.n_workers}")
    workers = []
    for number in range(args.n_workers):
        worker = make_worker(args)
        if args.n_workers > 1 and args.worker_id is None:
            worker.worker_id = number
        workers.append(worker)
    _check_credentials(args.run_id, workers[0])
    # SIGTERM stops the workers as Ctrl-C does, from the main thread: stopping their processes in the handler, while
    # the main thread waits for one of them, kept Python from reaping it, and the stop ran into every timeout.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"{len(workers)} worker(s) of run {args.run_id!r}, name server {workers[0].nameserver}:"
          f"{workers[0].nameserver_port}", flush=True)
    try:
        if len(workers) == 1:
            workers[0].run(background=False)
            _say_why_stopped(args, workers[0].timed_out, workers[0].run_stopped)
        else:
            for worker in workers:
                worker.run(background=True, concurrent_type="process")
            codes = [worker.process.wait() for worker in workers]
            _say_why_stopped(args, EXIT_TIMED_OUT in codes, EXIT_RUN_STOPPED in codes)
            if failed := [code for code in codes if code not in (0, EXIT_TIMED_OUT, EXIT_RUN_STOPPED)]:
                reason = "their messages are above" if set(failed) == {EXIT_FAILED} else f"exit codes {failed}"
                raise CommandError(f"{len(failed)} of {len(codes)} worker processes failed ({reason})")
    except KeyboardInterrupt:
        pass
    finally:
        stop_worker_processes([worker.process for worker in workers if worker.process is not None])
    return 0
