"""The ``ultraopt`` command line: one module per sub-command, each with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from ultraopt import __version__
from ultraopt.cli import demo, export, nameserver, report, show, worker

__all__ = ["main"]

#: Sub-command modules; each has ``NAME``, ``add_parser(subparsers)`` and ``run(args) -> int``.
COMMANDS = [demo, nameserver, worker, show, export, report]


class CommandError(Exception):
    """A user error in a command: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="ultraopt", description="UltraOpt: hyperparameter optimization.")
    parser.add_argument("--version", action="version", version=f"ultraopt {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args) or 0)
    except (CommandError, ValueError, FileNotFoundError) as exc:
        print(f"ultraopt {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ultraopt {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped reading (`ultraopt show run.db | head`): not an error
        # Point stdout at /dev/null so that flushing it at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
