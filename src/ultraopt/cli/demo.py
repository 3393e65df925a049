"""``ultraopt demo``: tune a random forest on scikit-learn's bundled digits data."""

from __future__ import annotations

import argparse
import functools
from typing import Any

import numpy as np

__all__ = ["DIGITS_RF_HDL", "add_parser", "evaluate_random_forest", "run"]

NAME = "demo"

#: The search space of the demo and of the README's quickstart.
DIGITS_RF_HDL: dict[str, Any] = {
    "n_estimators": {"_type": "int_quniform", "_value": [10, 100, 10], "_default": 50},
    "criterion": {"_type": "choice", "_value": ["gini", "entropy"], "_default": "gini"},
    "max_features": {"_type": "uniform", "_value": [0.05, 1.0], "_default": 0.5},
    "min_samples_split": {"_type": "int_uniform", "_value": [2, 20], "_default": 2},
    "min_samples_leaf": {"_type": "int_uniform", "_value": [1, 20], "_default": 1},
    "bootstrap": {"_type": "choice", "_value": [True, False], "_default": True},
}


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    return load_digits(return_X_y=True)


def evaluate_random_forest(config: dict[str, Any]) -> float:
    """1 - the 3-fold cross-validated accuracy of a random forest with ``config`` on the digits data."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    features, target = _digits()
    model = RandomForestClassifier(random_state=0, n_jobs=1, **config)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    return 1.0 - float(cross_val_score(model, features, target, cv=folds).mean())


def add_parser(subparsers: Any) -> None:
    """Register ``ultraopt demo``."""
    parser = subparsers.add_parser(NAME, help="tune a random forest on the digits data and print the optimum")
    parser.add_argument("--optimizer", default="ETPE", help="optimizer name (default: ETPE)")
    parser.add_argument("--n-iterations", type=int, default=30, help="number of evaluations (default: 30)")
    parser.add_argument("--n-jobs", type=int, default=1, help="evaluations in parallel (default: 1)")
    parser.add_argument("--random-state", type=int, default=42, help="seed (default: 42)")
    parser.add_argument("--output", help="also save the result as JSON to this path")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo and print the optimum table."""
    from ultraopt import fmin
    from ultraopt.cli.runs import check_output, write_output

    output = check_output(args.output) if args.output else None  # before the run, not after it
    result = fmin(
        evaluate_random_forest,
        DIGITS_RF_HDL,
        optimizer=args.optimizer,
        n_iterations=args.n_iterations,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
    )
    print(result)
    if result.best_loss is not None:
        print(f"best accuracy: {1 - result.best_loss:.4f} after {len(result.trials)} trials")
    if output:
        write_output(output, result.save)
        print(f"result saved to {output}")
    return 0
