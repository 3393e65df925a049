"""CASH: choose the algorithm and its hyperparameters jointly, on scikit-learn's bundled breast-cancer data.

A conditional choice ``"classifier(choice)"`` activates one sub-space per algorithm; ``layering_config`` turns a
sampled flat config into ``{"classifier": {"svc": {...}}}``, from which the model is built.

Run: python3 examples/cash_sklearn.py [n_iterations]
"""

import sys

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ultraopt import fmin
from ultraopt.hdl import layering_config

X, y = load_breast_cancer(return_X_y=True)

HDL = {
    "classifier(choice)": {
        "svc": {
            "C": {"_type": "loguniform", "_value": [1e-2, 1e3], "_default": 1.0},
            "kernel(choice)": {
                "rbf": {"gamma": {"_type": "loguniform", "_value": [1e-4, 1.0], "_default": 0.01}},
                "poly": {"degree": {"_type": "int_uniform", "_value": [2, 4], "_default": 3}},
                "linear": {},
            },
        },
        "random_forest": {
            "n_estimators": {"_type": "int_quniform", "_value": [20, 200, 20], "_default": 100},
            "max_features": {"_type": "uniform", "_value": [0.1, 1.0], "_default": 0.5},
            "min_samples_leaf": {"_type": "int_loguniform", "_value": [1, 20], "_default": 1},
        },
        "logistic_regression": {
            "C": {"_type": "loguniform", "_value": [1e-3, 1e3], "_default": 1.0},
            "class_weight": {"_type": "choice", "_value": [None, "balanced"], "_default": None},
        },
        "knn": {
            "n_neighbors": {"_type": "int_uniform", "_value": [1, 50], "_default": 5},
            "weights": {"_type": "choice", "_value": ["uniform", "distance"], "_default": "uniform"},
        },
    },
}


def build_model(config: dict):
    """The scikit-learn model a flat config describes."""
    (name, params), = layering_config(config)["classifier"].items()
    if name == "svc":
        (kernel, kernel_params), = params.pop("kernel").items()
        model = SVC(kernel=kernel, **params, **kernel_params)
    elif name == "random_forest":
        model = RandomForestClassifier(random_state=0, n_jobs=1, **params)
    elif name == "logistic_regression":
        model = LogisticRegression(max_iter=1000, **params)
    else:
        model = KNeighborsClassifier(**params)
    return make_pipeline(StandardScaler(), model)


def evaluate(config: dict) -> float:
    """1 - 5-fold cross-validated accuracy."""
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    return 1 - cross_val_score(build_model(config), X, y, cv=folds).mean()


if __name__ == "__main__":
    n_iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    result = fmin(evaluate, HDL, optimizer="ETPE", n_iterations=n_iterations)
    print(result)
    print("best model:", build_model(result.best_config))
