"""Reading the run a command is given: a JSON result or a run's SQLite checkpoint, as ``FMinResult.load`` reads."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ultraopt.result import FMinResult

__all__ = ["add_run_argument", "check_output", "describe", "load_run", "write_output"]


def add_run_argument(parser: argparse.ArgumentParser) -> None:
    """The positional ``RUN`` argument shared by ``show``, ``export`` and ``report``."""
    parser.add_argument("run_path", metavar="RUN",
                        help="a run: its checkpoint file (.db, may still be written by the run) or a saved JSON result")


def load_run(path: str | Path) -> FMinResult:
    """Load the run at ``path``; a missing or unreadable file is a :class:`~ultraopt.cli.CommandError`."""
    from ultraopt.cli import CommandError
    from ultraopt.result import FMinResult

    path = Path(path)
    if not path.exists():
        raise CommandError(f"no such run file: {path}")
    if path.is_dir():
        raise CommandError(f"{path} is a directory, not a run file")
    if not path.is_file():  # a device or a pipe (/dev/zero) would be read forever
        raise CommandError(f"{path} is not a regular file, so not a run file")
    try:
        return FMinResult.load(path)
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path} is not an UltraOpt run (a JSON result or a checkpoint file)") from exc
    except (KeyError, TypeError) as exc:  # JSON of the right format tag but missing or mistyped entries
        raise CommandError(f"{path} is a damaged UltraOpt result: {type(exc).__name__}: {exc}") from exc


def check_output(path: str | Path, run_path: str | Path | None = None) -> Path:
    """``path`` as a file a command may write, checked before any work: not the run file it reads, not a
    directory, in a directory that exists; else a :class:`~ultraopt.cli.CommandError`."""
    from ultraopt.cli import CommandError

    path = Path(path)
    if run_path is not None and path.resolve() == Path(run_path).resolve():
        raise CommandError(f"{path} is the run file itself: writing there would destroy the run; choose another -o")
    if path.is_dir():
        raise CommandError(f"cannot write {path}: it is a directory")
    if not path.resolve().parent.is_dir():
        raise CommandError(f"cannot write {path}: no such directory {path.parent}")
    return path


def write_output(path: str | Path, write: Callable[[Path], object]) -> None:
    """Call ``write(path)``; an ``OSError`` (no space, no permission, a read-only disk) is a one-line
    :class:`~ultraopt.cli.CommandError`, and the file that was at ``path`` stays whole."""
    from ultraopt.cli import CommandError

    try:
        write(Path(path))
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from exc


def describe(result: FMinResult) -> list[str]:
    """A few lines on the run: counts per status and budget, what ran it, the best loss."""
    facts: dict[str, Any] = result.summary()
    counts = dict(facts["status"])
    unfinished = counts.pop("unfinished", 0)
    status = ", ".join(f"{name}: {n}" for name, n in counts.items()) or "none"
    budgets = ", ".join(f"{budget}: {n}" for budget, n in facts["budgets"].items()) or "none"
    running = f"; {unfinished} running or cut short" if unfinished else ""  # a live run, or one that was killed
    lines = [f"trials: {facts['n_trials']} ({status}){running}", f"trials per budget: {budgets}"]
    meta = {key: value for key, value in result.meta.items() if key != "hdl" and value is not None}
    if meta:
        lines.append(" · ".join(f"{key.replace('_', ' ')}: {value}" for key, value in sorted(meta.items())))
    best = result.best_trial()
    if best is not None:
        from ultraopt.multi_fidelity.budgets import format_budget

        lines.append(f"best loss: {best.loss:.6g} on budget {format_budget(best.budget)} (trial {best.trial_id})")
    return lines
