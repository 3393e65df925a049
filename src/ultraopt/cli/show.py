"""``ultraopt show RUN``: a summary of a run and its optimum per budget, in the terminal."""

from __future__ import annotations

import argparse
from typing import Any

from ultraopt.cli.runs import add_run_argument, describe, load_run

__all__ = ["add_parser", "parse_budget", "run"]

NAME = "show"


def add_parser(subparsers: Any) -> None:
    """Register ``ultraopt show``."""
    parser = subparsers.add_parser(
        NAME, help="print a run's summary and its optimum per budget",
        description="Print a run's summary (trials per status and budget, best loss) and the optimum table: the "
                    "best config on each budget. Works on a checkpoint file while its run is still going.",
    )
    add_run_argument(parser)
    parser.add_argument("--top", type=int, default=0, metavar="N",
                        help="also list the N best trials of the budget (default: none)")
    parser.add_argument("--budget", help="the budget of --top, as printed (1/3) or as a decimal (0.333); default: the "
                                         "largest reached")
    parser.add_argument("--space", action="store_true", help="also draw the search space as a tree")
    parser.add_argument("--importance", action="store_true", help="also print the hyperparameter importance")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the summary, the optimum table and what was asked for."""
    from ultraopt.cli import CommandError
    from ultraopt.multi_fidelity.budgets import format_budget
    from ultraopt.text_table import render_table

    if args.top < 0:
        raise CommandError(f"--top must be a non-negative number of trials, got {args.top}")
    result = load_run(args.run_path)
    asked_budget = None if args.budget is None else parse_budget(args.budget, result)  # refused before any output
    print(f"run: {args.run_path}")
    print("\n".join(describe(result)))
    print(result.optimum_table())
    if args.top:
        from ultraopt.viz._common import resolve_budget
        from ultraopt.viz.parallel_coords import best_trials

        budget = resolve_budget(result, asked_budget)
        trials = best_trials(result, budget, args.top) if budget is not None else []
        rows = [[str(t.trial_id), f"{t.loss:.6g}", ", ".join(f"{k}={v!r}" for k, v in t.config.items())]
                for t in trials]
        print(f"the {len(rows)} best trials on budget {format_budget(budget)}:" if budget is not None
              else "no successful trial")
        if rows:
            print(render_table(["trial", "loss", "config"], rows))
    if args.importance:
        _print_importance(result)
    if args.space:
        print(result.draw_space())
    return 0


def _print_importance(result: Any) -> None:
    """The importance table, or why there is none (the other parts asked for are still printed)."""
    from ultraopt.multi_fidelity.budgets import format_budget
    from ultraopt.text_table import render_table

    try:
        table = result.hyperparameter_importance()
    except ValueError as exc:
        print(f"no hyperparameter importance: {exc}")
        return
    where = f"{table.attrs['n_trials']} trials on budget {format_budget(table.attrs['budget'])}"
    print(f"hyperparameter importance ({where}):")
    print(render_table(["hyperparameter", "importance", "std"],
                       [[name, f"{row['importance']:.3f}", f"{row['std']:.3f}"] for name, row in table.iterrows()]))


def parse_budget(text: str, result: Any) -> float:
    """The run's budget that ``text`` names: a fraction (``1/3``), a number, or a decimal it rounds to (``0.333``).

    Raises
    ------
    CommandError
        When ``text`` is not a number or names none of the run's budgets.
    """
    from fractions import Fraction

    from ultraopt.cli import CommandError
    from ultraopt.multi_fidelity.budgets import format_budget, match_budget

    try:
        value = float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        raise CommandError(f"--budget must be a number or a fraction such as 1/3, got {text!r}") from None
    known = result.all_budgets
    found = match_budget(value, known)
    if found is None and "." in text:  # a decimal typed to fewer digits: the budgets it rounds
        digits = len(text.strip().split(".")[1])
        rounded = [budget for budget in known if round(budget, digits) == value]
        found = rounded[0] if len(rounded) == 1 else None
    if found is None:
        listed = ", ".join(format_budget(b) for b in known) or "none"
        raise CommandError(f"--budget {text} is not a budget of this run (its budgets: {listed})")
    return found
