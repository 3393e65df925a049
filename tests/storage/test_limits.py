"""Per-trial limits: an evaluation is killed at its time limit, stopped at its memory limit, and never orphaned."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from ultraopt.limits import LimitedObjective
from ultraopt.objective import Objective
from ultraopt.trial import TrialStatus


def misbehaving(config):
    if config["mode"] == "sleep":
        time.sleep(3600)
    if config["mode"] == "allocate":
        hoard = []
        while True:
            hoard.append(np.zeros(2**23))  # 64 MB at a time, without bound
    if config["mode"] == "raise":
        raise ValueError("bad config")
    if config["mode"] == "fork" and os.fork() == 0:  # a child that outlives the objective holds the result pipe
        time.sleep(3600)
        os._exit(0)
    return {"loss": config["x"], "info": {"pid": os.getpid()}}


@pytest.fixture(scope="module")
def limited():
    # A lambda: it cannot be imported by name in the child, so this also shows that it crosses by value.
    objective = LimitedObjective(Objective(lambda config: misbehaving(config)), time_limit=2.0, memory_limit=300)
    yield objective
    objective.close()


def test_a_sleeping_evaluation_is_killed_at_its_time_limit(limited):
    start = time.time()
    outcome = limited({"mode": "sleep"}, 1.0)
    assert outcome.status is TrialStatus.TIMEOUT and "time limit of 2 s" in outcome.error
    assert 2.0 <= outcome.end_time - outcome.start_time < 5.0 and time.time() - start < 60


def test_an_allocating_evaluation_is_stopped_at_its_memory_limit(limited):
    outcome = limited({"mode": "allocate"}, 1.0)
    assert outcome.status is TrialStatus.MEMOUT and "memory limit of 300 MB" in outcome.error


def test_results_and_failures_come_back_as_without_limits(limited):
    good = limited({"mode": "ok", "x": 0.5}, 1.0)
    assert good.status is TrialStatus.SUCCESS and good.loss == 0.5
    assert good.info["pid"] != os.getpid()  # it ran in another process
    assert limited({"mode": "ok", "x": 0.5}, 1.0).info["pid"] != good.info["pid"]  # a fresh one each time
    failed = limited({"mode": "raise"}, 1.0)
    assert failed.status is TrialStatus.FAILED and "ValueError: bad config" in failed.error


def test_a_result_comes_back_at_once_though_a_process_the_objective_forked_runs_on(limited):
    # the helper read the result until the pipe closed, which the forked process held open: the trial waited for
    # it and ended TIMEOUT, its result lost
    start = time.time()
    outcome = limited({"mode": "fork", "x": 0.25}, 1.0)
    assert outcome.status is TrialStatus.SUCCESS and outcome.loss == 0.25
    assert time.time() - start < 1.5


def test_a_memory_limit_beyond_what_the_kernel_counts_is_no_limit():
    for megabytes in (float("inf"), 1e15):
        objective = LimitedObjective(Objective(lambda config: misbehaving(config)), memory_limit=megabytes)
        try:
            outcome = objective({"mode": "ok", "x": 0.5}, 1.0)
        finally:
            objective.close()
        assert outcome.status is TrialStatus.SUCCESS and outcome.loss == 0.5, outcome.error


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waits for its parent to reap it: dead all the same
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_no_evaluation_outlives_its_parent(tmp_path):
    pids = tmp_path / "pids"
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import os, subprocess, time
        from ultraopt.limits import LimitedObjective
        from ultraopt.objective import Objective

        def forever(config):
            started = subprocess.Popen(["sleep", "3600"])  # what the objective starts goes too
            with open({str(pids)!r}, "w") as file:
                file.write(f"{{os.getpid()}} {{os.getppid()}} {{started.pid}}")
            time.sleep(3600)

        LimitedObjective(Objective(forever), time_limit=3600)({{}}, 1.0)
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}  # the child imports what this process imports
    parent = subprocess.Popen([sys.executable, str(script)], env=env)
    deadline = time.time() + 120
    while not (pids.exists() and pids.read_text().count(" ") == 2) and time.time() < deadline:
        time.sleep(0.1)
    evaluation, helper, started = map(int, pids.read_text().split())
    assert alive(evaluation) and alive(helper) and alive(started)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while any(map(alive, (evaluation, helper, started))) and time.time() < deadline:
        time.sleep(0.05)
    assert not alive(evaluation) and not alive(helper)
    if alive(started):  # not to leave it behind when the assertion fails
        os.kill(started, signal.SIGKILL)
        pytest.fail("a process the evaluation started outlived the run")
