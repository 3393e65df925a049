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
