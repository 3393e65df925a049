"""A CASH-like HDL shared by the HDL tests: nested conditional choices, an empty alternative and every special
key, at the top level and inside alternatives."""

from __future__ import annotations

from typing import Any


def make_cash_hdl() -> dict[str, Any]:
    """A fresh copy each time, so that no test can change another's."""
    return {
        "estimator(choice)": {
            "svc": {
                "C": {"_type": "loguniform", "_value": [0.01, 100.0], "_default": 1.0},
                "kernel(choice)": {
                    "rbf": {"gamma": {"_type": "loguniform", "_value": [1e-4, 1.0]}},
                    "poly": {
                        "degree": {"_type": "int_uniform", "_value": [2, 5], "_default": 3},
                        "coef0": {"_type": "quniform", "_value": [0.0, 1.0, 0.25]},
                    },
                    "linear": {},
                    "_default": "rbf",
                },
                "shrinking": {"_type": "choice", "_value": [True, False], "_default": False},
            },
            "rf": {
                "n_estimators": {"_type": "int_qloguniform", "_value": [10, 1000, 10]},
                "criterion": {"_type": "choice", "_value": ["gini", "entropy", "log_loss"]},
                "max_depth": {"_type": "choice", "_value": [None, 3, 5, 10], "_default": None},
                "bootstrap": {"_type": "choice", "_value": [True, False]},
                "max_samples": {"_type": "uniform", "_value": [0.1, 1.0]},
                "__activate": {"bootstrap": {True: ["max_samples"]}},
                "__forbidden": [{"criterion": "log_loss", "max_depth": [3, 5]}],
            },
            "lr": {
                "C": {"_type": "loguniform", "_value": [0.01, 100.0]},
                "penalty": {"_type": "choice", "_value": ["l2", "l1", "elasticnet"]},
                "l1_ratio": {"_type": "uniform", "_value": [0.0, 1.0]},
                "__activate": {"penalty": {"elasticnet": ["l1_ratio"]}},
            },
            "dummy": {},
        },
        "scaler": {"_type": "choice", "_value": ["standard", "minmax", "none"]},
        "with_mean": {"_type": "choice", "_value": [True, False]},
        "n_jobs": 1,
        "__condition": [
            {"_child": "with_mean", "_parent": "scaler", "_values": ["standard"]},
            # Reaches into an alternative: shrinking needs svc *and* a scaler.
            {"_child": "estimator:svc:shrinking", "_parent": "scaler", "_values": ["standard", "minmax"]},
        ],
        "__forbidden": [{"estimator": "svc", "scaler": "none"}],
    }
