"""``ultraopt nameserver``: run the name server of a distributed run until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from typing import Any

__all__ = ["add_parser", "port_number", "run", "run_id_argument"]

NAME = "nameserver"


def port_number(text: str) -> int:
    """A TCP port from the command line: an integer in 0..65535 (0: any free one)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is an integer, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is in 0..65535, got {port}")
    return port


def run_id_argument(text: str) -> str:
    """A run id from the command line: a name the run's credentials file can carry (see ``check_run_id``)."""
    from ultraopt.async_comm.credentials import check_run_id

    try:
        return check_run_id(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(subparsers: Any) -> None:
    """Register ``ultraopt nameserver``."""
    parser = subparsers.add_parser(
        NAME, help="run the name server of a distributed run",
        description="Run the name server of a distributed run until Ctrl-C. Workers and the master find each other "
                    "through it; only those holding the run's secret are served.",
    )
    parser.add_argument("--run-id", required=True, type=run_id_argument,
                        help="the run's id; workers and master use the same")
    parser.add_argument("--working-directory",
                        help="write the credentials file (host, port, secret; readable by you only) here, for "
                             "workers and masters on a shared filesystem")
    parser.add_argument("--host", help="address to bind to (default 127.0.0.1: this machine only)")
    parser.add_argument("--nic-name", help="bind to this network interface's address, e.g. eth0")
    parser.add_argument("--port", type=port_number, default=0, help="port (default: a free one)")
    parser.add_argument("--secret", help="the run's secret (default: $ULTRAOPT_SECRET, else a new random one)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Start the name server, print where it is, serve until interrupted."""
    from ultraopt.async_comm.credentials import SECRET_ENV, credentials_path
    from ultraopt.async_comm.nameserver import NameServer
    from ultraopt.cli import CommandError

    secret = args.secret or os.environ.get(SECRET_ENV) or None
    nameserver = NameServer(args.run_id, args.working_directory, args.host, args.port, args.nic_name, secret=secret)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        host, port = nameserver.start()
    except OSError as exc:  # address in use, or not one of this machine's
        raise CommandError(f"cannot serve on {args.host or args.nic_name or '127.0.0.1'}:{args.port}: {exc}") from exc
    except RuntimeError as exc:  # the run has a live name server already
        raise CommandError(str(exc)) from exc
    try:
        print(f"name server of run {args.run_id!r} on {host}:{port}", flush=True)
        if args.working_directory:
            print(f"credentials: {credentials_path(args.working_directory, args.run_id)}", flush=True)
        elif secret is None:
            print(f"the run's secret (workers need it): export {SECRET_ENV}={nameserver.secret}", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        nameserver.shutdown()
    return 0
