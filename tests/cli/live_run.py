"""A run that goes on for a while, writing its checkpoint file: ``python live_run.py RUN.db``.

Hyperband-like brackets (9-3-1, 5-1, 3 configs on budgets 1/9, 1/3, 1) of a slow objective; the test that
starts it reads the file with ``ultraopt show`` and ``ultraopt report`` while it runs, then stops it.
"""

import sys
import time

from tests.report.runs import HOSTILE_HDL, hostile_objective, hyperband_generator
from ultraopt import fmin

#: Seconds per evaluation: about 200 trials a minute, so the run outlives the test by far.
SLEEP = 0.3


def slow_objective(config, budget):
    time.sleep(SLEEP)
    return hostile_objective(config, budget)


if __name__ == "__main__":
    fmin(slow_objective, HOSTILE_HDL, optimizer="Random", n_iterations=1000,
         multi_fidelity_iter_generator=hyperband_generator(), checkpoint_file=sys.argv[1], show_progressbar=False)
