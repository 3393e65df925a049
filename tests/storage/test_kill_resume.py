"""SIGKILL a Hyperband run at random instants, start it again each time: it ends with exactly its schedule."""

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.storage import killable_run
from ultraopt.result import FMinResult
from ultraopt.trial import TrialStatus

SCRIPT = Path(killable_run.__file__)


def start(path, strategy):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}  # the child imports what this process imports
    return subprocess.Popen([sys.executable, str(SCRIPT), str(path), strategy], env=env)


def finished(path):
    """The finished trials in the storage, read-only, by trial id."""
    if not path.exists():
        return {}
    return {t.trial_id: t.to_dict() for t in FMinResult.load(path).trials}


def expected_counts(strategy):
    generator = killable_run.make_generator(strategy)
    counts = Counter()
    for iteration in range(killable_run.N_ITERATIONS):
        for n, budget in zip(*generator.get_bracket(iteration)):
            counts[budget] += n
    return counts


def kill_and_resume(tmp_path, strategy, n_kills=4, seed=0):
    rng = random.Random(seed)
    path = tmp_path / "run.db"
    snapshots = []
    kills = 0
    for _ in range(n_kills):
        process = start(path, strategy)
        target = len(finished(path)) + rng.randint(1, 6)  # a kill after a few more trials, at a random instant
        deadline = time.time() + 300
        while len(finished(path)) < target and process.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 2 * killable_run.SLEEP))
        snapshots.append(finished(path))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    final_process = start(path, strategy)
    assert final_process.wait(timeout=600) == 0
    result = FMinResult.load(path)
    return result, snapshots, kills


def check(strategy, result, snapshots, kills):
    assert kills >= 3  # most kills landed mid-run
    assert Counter(t.budget for t in result.trials) == expected_counts(strategy)
    assert all(t.status is TrialStatus.SUCCESS for t in result.trials)
    assert len({(t.config_id, t.budget) for t in result.trials}) == len(result.trials)
    final = {t.trial_id: t.to_dict() for t in result.trials}
    for snapshot in snapshots:
        assert snapshot and all(final[trial_id] == trial for trial_id, trial in snapshot.items())
    assert result.meta["stop_reason"] == "finished"


def test_serial_run_survives_sigkill_at_random_instants(tmp_path):
    check("Serial", *kill_and_resume(tmp_path, "Serial"))


@pytest.mark.slow
def test_async_comm_run_survives_sigkill_at_random_instants(tmp_path):
    check("AsyncComm", *kill_and_resume(tmp_path, "AsyncComm", seed=1))


_CRASHING_RUN = """
import os, sys
from ultraopt import fmin

def objective(config):
    if config["x"] == 0.125:  # this config takes the process down (a crash in a C extension, an OOM kill)
        os._exit(3)
    return config["x"]

fmin(objective, {"x": {"_type": "uniform", "_value": [0, 1]}}, optimizer="Random", n_iterations=4,
     initial_points=[{"x": 0.125}], checkpoint_file=sys.argv[1], show_progressbar=False)
"""


def test_a_trial_that_kills_the_process_on_every_resume_is_lost_after_a_few(tmp_path):
    path = tmp_path / "run.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    codes = [subprocess.run([sys.executable, "-c", _CRASHING_RUN, str(path)], env=env, timeout=120,
                            capture_output=True).returncode for _ in range(5)]
    assert codes == [3, 3, 3, 3, 0]  # the first session and three resumed ones die in it; the fifth goes past
    trials = FMinResult.load(path).trials
    assert [t.status for t in trials].count(TrialStatus.LOST) == 1 and len(trials) == 4
    lost = next(t for t in trials if t.status is TrialStatus.LOST)
    assert lost.config == {"x": 0.125} and "process died" in lost.error
