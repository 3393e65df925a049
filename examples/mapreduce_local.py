"""One machine, batches: tune a gradient-boosting model with MapReduce on 4 local processes.

Each batch holds 4 distinct configs evaluated at once in worker processes; the optimizer sees every result of a
batch before it proposes the next one. Choose MapReduce on one machine when trials take similar times (with very
unequal times, an asynchronous strategy keeps every worker busy instead).

Run: python3 examples/mapreduce_local.py
"""

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import cross_val_score

from ultraopt import fmin

X, y = load_breast_cancer(return_X_y=True)

HDL = {
    "learning_rate": {"_type": "loguniform", "_value": [0.01, 0.5], "_default": 0.1},
    "max_leaf_nodes": {"_type": "int_loguniform", "_value": [4, 64], "_default": 31},
    "l2_regularization": {"_type": "loguniform", "_value": [1e-6, 1.0], "_default": 1e-6},
}


def evaluate(config: dict) -> float:
    model = HistGradientBoostingClassifier(max_iter=50, random_state=0, **config)
    return 1 - cross_val_score(model, X, y, cv=3).mean()


if __name__ == "__main__":  # worker processes import this module: keep the run under the guard
    result = fmin(evaluate, HDL, optimizer="Random", n_iterations=24, n_jobs=4, parallel_strategy="MapReduce")
    print(result)
