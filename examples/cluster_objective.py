"""The objective of the cluster example: what every worker imports and evaluates.

Workers start with ``ultraopt worker --objective cluster_objective:evaluate ...`` from this directory (any
importable ``module:function`` works; a ``Worker`` subclass does too).
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold

from ultraopt.hdl import layering_config

X, y = load_digits(return_X_y=True)  # loaded once per worker process, when the module is imported

HDL = {
    "n_estimators": {"_type": "int_quniform", "_value": [10, 100, 10], "_default": 50},
    "criterion": {"_type": "choice", "_value": ["gini", "entropy"], "_default": "gini"},
    "max_features": {"_type": "uniform", "_value": [0.05, 1.0], "_default": 0.5},
    "min_samples_leaf": {"_type": "int_uniform", "_value": [1, 20], "_default": 1},
}


def evaluate(config: dict, budget: float) -> dict:
    """1 - cross-validated accuracy of a model trained on a fraction ``budget`` of each training fold (all of it
    at budget 1); every budget is scored on the same validation folds."""
    model = RandomForestClassifier(random_state=0, n_jobs=1, **layering_config(config))
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    scores, n = [], 0
    for train, test in folds.split(X, y):
        train = np.random.default_rng(0).permutation(train)[: max(int(len(train) * budget), 30)]
        scores.append(model.fit(X[train], y[train]).score(X[test], y[test]))
        n = len(train)
    return {"loss": 1 - float(np.mean(scores)), "info": {"n_samples": n}}
