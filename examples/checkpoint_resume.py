"""Checkpoint and resume: a run that survives being stopped, and a warm start from it.

Run: python3 examples/checkpoint_resume.py [run.db]

Stop it with Ctrl-C (or kill it) at any moment and run the same command again: the run continues where it
stopped and ends with 40 evaluations in all. An evaluation that sleeps past its time limit is recorded as a
``timeout`` trial.
"""

import sys
import time

from ultraopt import FMinResult, fmin

HDL = {
    "x": {"_type": "uniform", "_value": [-5, 5]},
    "kernel": {"_type": "choice", "_value": ["linear", "rbf"]},
}


def evaluate(config: dict) -> float:
    time.sleep(0.2)  # stands for a model being trained
    if config["x"] > 4.5:
        time.sleep(60)  # a config that hangs: killed at trial_time_limit
    return (config["x"] - 1) ** 2 + (config["kernel"] == "rbf")


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "run.db"
    result = fmin(evaluate, HDL, optimizer="Random", n_iterations=40, checkpoint_file=path, trial_time_limit=5)
    print(result)
    print("stopped because:", result.meta["stop_reason"])
    stored = FMinResult.load(path)  # the same trials, read from the file
    print(f"{path} holds {len(stored.trials)} trials: {stored.summary()['status']}")
    # A new run on the same space that starts from what this one learned:
    warm = fmin(evaluate, HDL, optimizer="Random", n_iterations=5, previous_result=path, trial_time_limit=5,
                show_progressbar=False)
    print("warm-started run, best loss:", warm.best_loss)
