"""A run that the kill/resume test starts, SIGKILLs and starts again: ``python killable_run.py DB STRATEGY``.

The objective sleeps a little so that kills land mid-run. The schedule is Hyperband (budgets 1/9, 1/3, 1; eta
3), with synchronous promotion in Serial and asynchronous promotion (ASHA-style) with AsyncComm; the test counts
against it.
"""

import sys
import time

from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace, UniformFloatHyperparameter

from ultraopt import fmin
from ultraopt.multi_fidelity import HyperBandIterGenerator

N_ITERATIONS = 6
SLEEP = 0.03


def make_generator(strategy):
    promotion = "sync" if strategy == "Serial" else "async"
    return HyperBandIterGenerator(min_budget=1 / 9, max_budget=1, eta=3, promotion=promotion)


def objective(config, budget):
    time.sleep(SLEEP)
    return ((config["x"] - 1.0) ** 2 + (config["c"] == "b")) / budget


def main(path, strategy):
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter("x", -5, 5), CategoricalHyperparameter("c", ["a", "b"])])
    n_jobs = 1 if strategy == "Serial" else 2
    fmin(objective, space, optimizer="Random", n_iterations=N_ITERATIONS,
         multi_fidelity_iter_generator=make_generator(strategy), checkpoint_file=path, parallel_strategy=strategy,
         n_jobs=n_jobs, show_progressbar=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
