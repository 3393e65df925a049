"""``ultraopt export RUN --format csv|json``: every trial of a run, for other tools."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ultraopt.cli.runs import add_run_argument, check_output, load_run, write_output

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_parser", "run"]

NAME = "export"


def add_parser(subparsers: Any) -> None:
    """Register ``ultraopt export``."""
    parser = subparsers.add_parser(
        NAME, help="write a run's trials as CSV or JSON",
        description="Write every trial of a run: CSV has a row per trial (ids, budget, status, loss, times, worker, "
                    "error, a config:<name> column per hyperparameter, empty where inactive, and an info:<key> "
                    "column per scalar entry the objective returned beside the loss; an option None is written "
                    "None). CSV has no types: it cannot tell the option 7 from '7' or None from 'None'. JSON is the "
                    "whole run, types kept, which FMinResult.load reads back.",
    )
    add_run_argument(parser)
    parser.add_argument("--format", choices=["csv", "json"], default="csv", help="output format (default: csv)")
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the run in the asked format."""
    from ultraopt.files import write_text_atomically
    from ultraopt.jsonable import json_text

    output = check_output(args.output, args.run_path) if args.output else None
    result = load_run(args.run_path)
    text = _csv(result.to_dataframe()) if args.format == "csv" else json_text(result.to_dict(), indent=1) + "\n"
    if output:
        write_output(output, lambda path: write_text_atomically(path, text))
        print(f"{len(result.trials)} trials written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _csv(frame: pd.DataFrame) -> str:
    """The trials as CSV: an inactive hyperparameter is an empty cell, an active ``None`` option is ``None``."""
    import pandas as pd

    for column in frame.columns:
        if str(column).startswith("config:") and any(value is None for value in frame[column]):
            # a list, not Series.map, which would infer floats for [2, NaN, 0.1]
            frame[column] = pd.Series(["None" if value is None else value for value in frame[column]],
                                      index=frame.index, dtype=object)
    return str(frame.to_csv(index=False))
