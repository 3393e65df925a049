"""The progress bar of ``fmin``."""

from tests.conftest import quadratic
from ultraopt import fmin
from ultraopt.progress import ProgressBar


def test_a_resumed_runs_trials_are_drawn_at_once(quadratic_space, capsys):
    # update() redraws only after tqdm's mininterval: the bar showed 0/40 while the first trial re-ran
    done = fmin(quadratic, quadratic_space, optimizer="Random", n_iterations=6, show_progressbar=False)
    progress = ProgressBar(40)
    progress.catch_up(done, len(done.trials))
    last = capsys.readouterr().err.rsplit("\r", 1)[-1]
    assert "6/40" in last and "best loss" in last
    progress.close()
