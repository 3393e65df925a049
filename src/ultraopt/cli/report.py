"""``ultraopt report RUN -o report.html``: the run report, one self-contained HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ultraopt.cli.runs import add_run_argument, check_output, load_run, write_output

__all__ = ["add_parser", "run"]

NAME = "report"


def add_parser(subparsers: Any) -> None:
    """Register ``ultraopt report``."""
    parser = subparsers.add_parser(
        NAME, help="write a run's HTML report",
        description="Write one self-contained HTML file (no network needed to open it) with the run's summary, "
                    "the optimum per budget, plots, hyperparameter importance, the search space and every trial. "
                    "Works on a checkpoint file while its run is still going.",
    )
    add_run_argument(parser)
    parser.add_argument("-o", "--output", help="the HTML file to write (default: RUN with the suffix .html)")
    parser.add_argument("--title", help="the page's title (default: 'UltraOpt run: N trials')")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the run and write its report."""
    import matplotlib

    matplotlib.use("Agg")  # no windows: every figure goes into the page

    output = check_output(args.output or Path(args.run_path).with_suffix(".html"), args.run_path)
    result = load_run(args.run_path)
    write_output(output, lambda path: result.report(path, title=args.title))
    print(f"report of {len(result.trials)} trials written to {output}")
    return 0
