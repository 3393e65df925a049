"""Quickstart: tune a random forest on scikit-learn's digits data (the README's example).

Run: python3 examples/quickstart.py
"""

from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

from ultraopt import fmin
from ultraopt.hdl import layering_config

X, y = load_digits(return_X_y=True)

HDL = {
    "n_estimators": {"_type": "int_quniform", "_value": [10, 100, 10], "_default": 50},
    "criterion": {"_type": "choice", "_value": ["gini", "entropy"], "_default": "gini"},
    "max_features": {"_type": "uniform", "_value": [0.05, 1.0], "_default": 0.5},
    "min_samples_split": {"_type": "int_uniform", "_value": [2, 20], "_default": 2},
    "min_samples_leaf": {"_type": "int_uniform", "_value": [1, 20], "_default": 1},
    "bootstrap": {"_type": "choice", "_value": [True, False], "_default": True},
}


def evaluate(config: dict) -> float:
    model = RandomForestClassifier(random_state=0, **layering_config(config))
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    return 1 - cross_val_score(model, X, y, cv=folds).mean()


if __name__ == "__main__":
    result = fmin(evaluate, HDL, optimizer="Random", n_iterations=30)
    print(result)
