"""What importing and running UltraOpt loads: a plain ETPE run must not pay for the tree surrogates' scikit-learn
nor for pandas, which only tables and the Forest/GBRT optimizers need."""

import json
import subprocess
import sys

import pytest

HEAVY = ("sklearn", "pandas", "matplotlib", "Pyro5", "distributed")

RUN = """
import json, sys
from ultraopt import fmin
from ultraopt.multi_fidelity import HyperBandIterGenerator
space = {"x": {"_type": "uniform", "_value": [-5, 5]}, "c": {"_type": "choice", "_value": ["a", "b"]}}
fmin(lambda config: config["x"] ** 2, space, optimizer=%r, n_iterations=15, show_progressbar=False)
fmin(lambda config, budget: config["x"] ** 2, space, optimizer=%r, n_iterations=2, show_progressbar=False,
     multi_fidelity_iter_generator=HyperBandIterGenerator(1 / 9, 1, 3))
print(json.dumps([name for name in %r if name in sys.modules]))
"""


def _loaded_after_runs(optimizer: str) -> list[str]:
    code = RUN % (optimizer, optimizer, HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("optimizer", ["ETPE", "TPE", "Random"])
def test_runs_without_tree_surrogates_load_neither_sklearn_nor_pandas(optimizer):
    assert _loaded_after_runs(optimizer) == []


def test_forest_loads_sklearn_when_chosen():
    assert "sklearn" in _loaded_after_runs("Forest")
