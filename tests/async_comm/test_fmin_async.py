"""fmin(parallel_strategy="AsyncComm"): worker processes run in parallel and are all gone when fmin returns."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psutil
import pytest

from tests.async_comm.conftest import REPO, child_env
from tests.async_comm.helpers import wait_until
from tests.async_comm.objectives import cpu_bound, getpid_after_work
from tests.conftest import new_processes
from ultraopt import fmin
from ultraopt.executors import base as executors_base
from ultraopt.executors.async_comm import AsyncCommExecutor, LocalAsyncCommExecutor
from ultraopt.facade.checks import InvalidArgumentError
from ultraopt.multi_fidelity import CustomIterGenerator
from ultraopt.trial import TrialStatus


def our_threads() -> set[threading.Thread]:
    """Threads that are not tqdm's monitor (a daemon thread tqdm keeps for the life of the process)."""
    return {thread for thread in threading.enumerate() if thread.name != "tqdm_monitor"}


def evaluation_span(result) -> float:
    return max(t.end_time for t in result.trials) - min(t.start_time for t in result.trials)


def test_cpu_bound_trials_run_at_the_same_time_in_separate_processes(space):
    result = fmin(getpid_after_work, space, optimizer="Random", n_iterations=8, n_jobs=2,
                  parallel_strategy="AsyncComm", show_progressbar=False)
    assert len(result.trials) == 8 and all(t.status is TrialStatus.SUCCESS for t in result.trials)
    assert result.meta["parallel_strategy"] == "AsyncComm"
    pids = {int(t.loss) for t in result.trials}
    assert len(pids) == 2 and os.getpid() not in pids  # two worker processes, not threads of this one
    # and they overlapped all along: the trials' durations add up to about twice the time they took together
    concurrency = sum(t.duration for t in result.trials) / evaluation_span(result)
    assert concurrency > 1.6, concurrency


def test_trials_cancelled_at_the_time_limit_stay_cancelled_when_their_results_come_late(space):
    # the workers finish their trials while fmin shuts them down, after the Master has cancelled them
    result = fmin(lambda config: time.sleep(1.5) or config["x"], space, optimizer="Random", n_iterations=10,
                  n_jobs=2, parallel_strategy="AsyncComm", time_limit=0.5, show_progressbar=False)
    assert result.meta["stop_reason"] == "time limit"
    cancelled = result.trials_with_status(TrialStatus.CANCELLED)
    assert cancelled and cancelled == result.trials and all(t.loss is None for t in cancelled)
    assert result.best_loss is None and result.to_dataframe()["loss"].isna().all()


@pytest.mark.slow
def test_two_processes_take_well_under_the_wall_time_of_one(space):
    """Needs two idle cores: on a machine loaded by other work no executor can show a speed-up."""
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1):
        pytest.skip(f"load average {load:.1f} on {os.cpu_count()} cores: no core is free to measure a speed-up")
    serial = fmin(cpu_bound, space, optimizer="Random", n_iterations=8, n_jobs=1, show_progressbar=False)
    parallel = fmin(cpu_bound, space, optimizer="Random", n_iterations=8, n_jobs=2,
                    parallel_strategy="AsyncComm", show_progressbar=False)
    assert evaluation_span(parallel) < 0.75 * evaluation_span(serial), (evaluation_span(parallel),
                                                                        evaluation_span(serial))


def test_nothing_is_left_behind_and_closures_work(space, children_before):
    before_threads = our_threads()
    offset = 3.0
    result = fmin(lambda config: config["x"] ** 2 + offset, space, optimizer="Random", n_iterations=10, n_jobs=2,
                  show_progressbar=False)
    assert len(result.trials) == 10 and result.best_loss >= offset
    assert new_processes(children_before) == set()
    wait_until(lambda: our_threads() <= before_threads, timeout=5, what="threads to end")


def test_an_exception_in_the_run_stops_the_workers_too(space, children_before):
    def fail_after_three(result, trial):
        if len(result.trials) == 3:
            raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        fmin(lambda config: 0.0, space, optimizer="Random", n_iterations=50, n_jobs=2, show_progressbar=False,
             callbacks=[fail_after_three])
    assert new_processes(children_before) == set()


def test_the_budget_reaches_the_workers(space):
    generator = CustomIterGenerator([[3, 1]], [[1, 3]])
    result = fmin(lambda config, budget: budget, space, optimizer="Random", n_iterations=2, n_jobs=2,
                  multi_fidelity_iter_generator=generator, show_progressbar=False)
    assert sorted(t.loss for t in result.trials) == sorted(t.budget for t in result.trials) == [1.0] * 6 + [3.0] * 2


def test_ctrl_c_stops_fmin_and_its_worker_processes(tmp_path):
    script = textwrap.dedent(f"""
        import os, time
        from ConfigSpace import ConfigurationSpace, UniformFloatHyperparameter
        from ultraopt import fmin

        def objective(config):
            open(os.path.join({str(tmp_path)!r}, str(os.getpid())), "w").close()
            time.sleep(0.2)
            return config["x"]

        if __name__ == "__main__":
            space = ConfigurationSpace()
            space.add([UniformFloatHyperparameter("x", -5, 5)])
            result = fmin(objective, space, optimizer="Random", n_iterations=10_000, n_jobs=2,
                          show_progressbar=False)
            print(result.meta["stop_reason"], len(result.trials), flush=True)
    """)
    (tmp_path / "run.py").write_text(script)
    process = subprocess.Popen([sys.executable, str(tmp_path / "run.py")], env=child_env(), cwd=REPO,
                               stdout=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: len([p for p in tmp_path.iterdir() if p.name.isdigit()]) == 2, timeout=60,
                   what="two worker processes evaluating")
        workers = [int(p.name) for p in tmp_path.iterdir() if p.name.isdigit()]
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert output.split()[0] == "interrupted" and int(output.split()[1]) > 0
    for pid in workers:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, pid
    assert os.getpid() not in workers


def test_an_objective_that_cannot_reach_a_process_is_a_clear_error(space, children_before):
    lock = threading.Lock()

    def holds_a_lock(config):
        with lock:
            return 0.0

    with pytest.raises(TypeError, match="objective cannot be sent to a worker process of its own"):
        fmin(holds_a_lock, space, optimizer="Random", n_iterations=4, n_jobs=2, show_progressbar=False)
    assert new_processes(children_before) == set()


def test_fmin_takes_a_pipelined_local_executor(space, children_before):
    executor = LocalAsyncCommExecutor(2, job_queue_sizes=(4, 12))
    result = fmin(lambda config: config["x"], space, optimizer="Random", n_iterations=40,
                  parallel_strategy=executor, show_progressbar=False)
    assert sorted(t.trial_id for t in result.trials) == list(range(40))
    assert executor.queue_sizes(2) == (6, 14)
    assert new_processes(children_before) == set()


def test_per_trial_limits_for_workers_started_elsewhere_are_refused_with_where_to_set_them(space):
    executor = AsyncCommExecutor("a-run-of-workers-started-elsewhere")
    with pytest.raises(InvalidArgumentError, match="ultraopt worker --trial-time-limit"):
        fmin(lambda config: config["x"], space, optimizer="Random", n_iterations=4, parallel_strategy=executor,
             trial_time_limit=5, show_progressbar=False)


def test_a_run_whose_workers_never_come_says_so(space, nameserver, monkeypatch, caplog):
    monkeypatch.setattr(executors_base, "NO_WORKER_WARNING_AFTER", 0.5)
    executor = AsyncCommExecutor(nameserver.run_id)
    with caplog.at_level(logging.WARNING, logger="ultraopt.executors.async_comm"):
        result = fmin(lambda config: config["x"], space, optimizer="Random", n_iterations=2,
                      parallel_strategy=executor, time_limit=3, show_progressbar=False)
    assert result.meta["stop_reason"] == "time limit"
    assert f"no worker of run {nameserver.run_id!r} is there: 1 trial(s) wait for one" in caplog.text
