"""``ultraopt export RUN --format csv|json``: every trial of a run, for other tools."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ultraopt.cli.runs import add_run_argument, load_run

__all__ = ["add_parser", "run"]

NAME = "export"


def add_parser(subparsers: Any) -> None:
    """Register ``ultraopt export``."""
    parser = subparsers.add_parser(
        NAME, help="write a run's trials as CSV or JSON",
        description="Write every trial of a run: CSV has a row per trial (ids, budget, status, loss, times, worker, "
                    "error and a config:<name> column per hyperparameter); JSON is the whole run, which "
                    "FMinResult.load reads back.",
    )
    add_run_argument(parser)
    parser.add_argument("--format", choices=["csv", "json"], default="csv", help="output format (default: csv)")
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the run in the asked format."""
    result = load_run(args.run_path)
    if args.format == "csv":
        text = result.to_dataframe().to_csv(index=False)
    else:
        text = json.dumps(result.to_dict(), indent=1) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        print(f"{len(result.trials)} trials written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
