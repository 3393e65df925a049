"""The local process pool and MapReduce batches on it."""

import os
import time

import pytest
from joblib.externals import loky

from tests.executors.contract import ExecutorContract, make_trial, run_all, sleep_x
from tests.executors.objectives import always_die, die_if_marked, die_once_per_marker, thread_limit
from ultraopt.executors import MapReduceExecutor, ProcessExecutor
from ultraopt.objective import Objective
from ultraopt.trial import TrialStatus


class TestProcessExecutor(ExecutorContract):
    parallelism = 2

    def make_executor(self):
        return ProcessExecutor(n_workers=2)

    def test_trials_run_at_once_in_other_processes(self, executor):
        executor.start(Objective(sleep_x))
        run_all(executor, [make_trial(i, 0.0) for i in range(2)])  # the workers start and import
        start = time.monotonic()
        finished = run_all(executor, [make_trial(i, 1.0) for i in range(2, 4)])
        assert time.monotonic() - start < 1.9
        assert len({t.worker for t in finished}) == 2
        assert all(t.worker.split(":")[-1] != str(os.getpid()) for t in finished)

    def test_a_dead_worker_reruns_its_trial(self, executor, tmp_path):
        executor.start(Objective(die_once_per_marker))
        trials = [make_trial(0, 1.0), make_trial(1, 2.0)]
        trials[0].config["die"] = str(tmp_path / "died")
        finished = {t.trial_id: t for t in run_all(executor, trials, timeout=300)}
        assert [finished[i].status for i in (0, 1)] == [TrialStatus.SUCCESS] * 2
        assert finished[0].attempt == 2 and finished[0].loss == 1.0

    def test_a_trial_that_always_kills_its_worker_is_lost(self):
        executor = ProcessExecutor(n_workers=1, max_retries=1)
        try:
            executor.start(Objective(always_die))
            (trial,) = run_all(executor, [make_trial(0, 1.0)], timeout=300)
        finally:
            executor.shutdown()
        assert trial.status is TrialStatus.LOST and trial.attempt == 2
        assert "lost after 2 attempt(s)" in trial.error

    def test_a_trial_that_kills_its_worker_does_not_take_the_one_beside_it_down(self, executor):
        # The broken pool cannot say which trial killed it; rerun together, both ended LOST.
        executor.start(Objective(die_if_marked))
        trials = [make_trial(0, 1.0), make_trial(1, 1.0)]
        trials[0].config["die"] = True
        finished = {t.trial_id: t for t in run_all(executor, trials, timeout=300)}
        assert finished[0].status is TrialStatus.LOST
        assert finished[1].status is TrialStatus.SUCCESS and finished[1].loss == 1.0


class TestMapReduceExecutor(ExecutorContract):
    parallelism = 2

    def make_executor(self):
        return MapReduceExecutor(n_jobs=2, backend="loky")

    def test_a_batch_comes_back_whole(self, executor):
        executor.start(Objective(sleep_x))
        for i, x in enumerate([0.05, 0.6]):
            executor.submit(make_trial(i, x))
        assert executor.n_free_slots == 0
        assert executor.wait(timeout=0.3) == []  # the fast trial is done, the batch is not
        batch = executor.wait(timeout=30)
        assert sorted(t.trial_id for t in batch) == [0, 1] and executor.n_running == 0

    def test_a_batch_comes_back_in_submission_order_whatever_finished_first(self, executor):
        # the optimizer is told in this order: arrival order would make seeded runs differ
        executor.start(Objective(sleep_x))
        for i, x in enumerate([0.6, 0.05]):
            executor.submit(make_trial(i, x))
        assert [t.trial_id for t in executor.wait(timeout=30)] == [0, 1]

    def test_the_pool_stays_warm_across_batches(self, executor):
        executor.start(Objective(sleep_x))
        workers = set()
        for batch in range(3):
            workers |= {t.worker for t in run_all(executor, [make_trial(2 * batch + i, 0.2) for i in range(2)])}
        assert len(workers) <= 2  # the same two processes every time

    def test_unknown_backend_is_rejected(self):
        with pytest.raises(ValueError, match="backend must be one of"):
            MapReduceExecutor(2, backend="ray")

    @pytest.mark.parametrize("n_jobs", [0, -1, 1.5, True])
    def test_a_bad_n_jobs_is_named(self, n_jobs):
        # not the batch_size it becomes
        with pytest.raises(ValueError, match=rf"^n_jobs must be a positive int, got {n_jobs!r}$"):
            MapReduceExecutor(n_jobs=n_jobs)


def test_workers_share_the_cores_of_numerical_thread_pools(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    executor = ProcessExecutor(n_workers=2)
    try:
        executor.start(Objective(thread_limit))
        (trial,) = run_all(executor, [make_trial(0, 1.0)])
    finally:
        executor.shutdown()
    assert trial.loss == max(loky.cpu_count() // 2, 1)


_KILLED_RUN = """
import sys, time
sys.path[:0] = {path!r}
from ultraopt import fmin

def slow(config):
    time.sleep(60)
    return config["x"]

if __name__ == "__main__":
    fmin(slow, {{"x": {{"_type": "uniform", "_value": [0, 1]}}}}, n_iterations=4, n_jobs=2,
         parallel_strategy="MapReduce", show_progressbar=False)
"""


def test_workers_end_when_the_run_that_started_them_is_killed(tmp_path):
    import signal
    import subprocess
    import sys

    import psutil

    script = tmp_path / "run.py"
    script.write_text(_KILLED_RUN.format(path=sys.path))
    run = subprocess.Popen([sys.executable, str(script)])
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = [p for p in psutil.Process(run.pid).children() if "LokyProcess" in " ".join(p.cmdline())]
        time.sleep(1.0)  # the workers run their first trials
    finally:
        os.kill(run.pid, signal.SIGKILL)  # as the OOM killer does: no cleanup in the run
        run.wait()
        _, alive = psutil.wait_procs(workers, timeout=10)
        for process in alive:  # the run's workers, by pid, should the test fail
            process.kill()
    assert len(workers) == 2, "the run's pool did not start"
    assert alive == []
