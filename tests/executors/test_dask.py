"""The Dask executor on a LocalCluster of processes bound to 127.0.0.1."""

import contextlib
import logging
import os
import signal
import threading
import time

import dask
import numpy as np
import pytest
from distributed import Client, LocalCluster

from tests.executors.contract import ExecutorContract, make_trial, run_all, sleep_x, square
from tests.executors.objectives import always_die, die_if_marked
from ultraopt import fmin
from ultraopt.executors import MapReduceExecutor, dask_executor
from ultraopt.executors import base as executors_base
from ultraopt.executors.dask_executor import DaskExecutor, local_cluster_options
from ultraopt.objective import Objective
from ultraopt.trial import TrialStatus


class TestDaskExecutor(ExecutorContract):
    parallelism = 2

    @pytest.fixture
    def executor(self, dask_client):
        executor = DaskExecutor(dask_client)
        yield executor
        executor.shutdown()

    def test_trials_come_back_as_they_complete(self, executor):
        executor.start(Objective(sleep_x))
        executor.submit(make_trial(0, 2.0))
        executor.submit(make_trial(1, 0.1))
        first = executor.wait(timeout=30)
        assert [t.trial_id for t in first] == [1]  # no batch barrier
        assert executor.n_running == 1

    def test_worker_and_times_come_from_the_dask_worker(self, executor, dask_client):
        executor.start(Objective(square))
        finished = run_all(executor, [make_trial(i, 1.0) for i in range(4)])
        assert {t.worker for t in finished} <= set(dask_client.nthreads())
        assert all(t.attempt == 1 for t in finished)

    def test_slots_are_worker_threads_plus_a_queue(self, executor):
        executor.start(Objective(square))
        assert executor.n_slots == 4
        capped = DaskExecutor(executor.client, max_running=3, n_queued=5)
        assert capped.n_slots == 3

    def test_the_objective_is_shipped_once_per_worker(self, executor, dask_client):
        data = np.arange(2_000_000, dtype=float)  # 16 MB the objective closes over

        def uses_data(config):
            return float(data[int(config["x"])])

        executor.start(Objective(uses_data))
        finished = run_all(executor, [make_trial(i, float(i)) for i in range(8)])
        assert sorted(t.loss for t in finished) == [float(i) for i in range(8)]
        task_bytes = dask_client.run_on_scheduler(
            lambda dask_scheduler: sum(len(str(ts.run_spec)) for ts in dask_scheduler.tasks.values())
        )
        assert task_bytes < 100_000  # the tasks carry a token and a config, not the data

    def test_shutdown_cancels_running_trials_and_keeps_the_users_cluster(self, executor, dask_client):
        executor.start(Objective(sleep_x))
        executor.submit(make_trial(0, 30.0))
        executor.shutdown()
        assert executor.n_running == 0
        assert dask_client.status == "running" and len(dask_client.nthreads()) == 2
        plugins = dask_client.run(lambda dask_worker: list(dask_worker.plugins))
        assert not any(name.startswith("ultraopt") for names in plugins.values() for name in names)


def kill_one_worker_when_trials_run(client: Client, executor: DaskExecutor) -> threading.Thread:
    """SIGKILL one worker process (its nanny restarts it) as soon as a trial runs on it."""
    pids = client.run(os.getpid)

    def kill():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            busy = client.processing()
            victims = [address for address, keys in busy.items() if keys and address in pids]
            if victims:
                time.sleep(0.3)  # well inside the trial
                os.kill(pids[victims[0]], signal.SIGKILL)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("dask_reschedules", [True, False], ids=["dask-reschedules", "executor-resubmits"])
def test_a_killed_worker_still_ends_with_every_result(dask_reschedules):
    # allowed-failures 0: Dask gives up on the task at once and the executor resubmits it (attempt 2).
    config = {} if dask_reschedules else {"distributed.scheduler.allowed-failures": 0}
    with dask.config.set(config):
        cluster = LocalCluster(**local_cluster_options(2))
    client = Client(cluster, set_as_default=False)
    executor = DaskExecutor(client)
    try:
        executor.start(Objective(sleep_x))
        killer = kill_one_worker_when_trials_run(client, executor)
        finished = run_all(executor, [make_trial(i, 1.0) for i in range(6)], timeout=300)
        killer.join()
    finally:
        executor.shutdown()
        client.close()
        cluster.close()
    assert sorted(t.trial_id for t in finished) == list(range(6))
    assert all(t.status is TrialStatus.SUCCESS and t.loss == 1.0 for t in finished)
    attempts = sorted(t.attempt for t in finished)
    assert attempts[-1] == (1 if dask_reschedules else 2), attempts


def test_a_trial_that_kills_its_worker_does_not_take_the_trials_beside_it_down():
    # a dying worker loses the trials queued on it and the results it holds: retried together with the killer,
    # healthy trials used up their attempts and ended LOST; retried alone, only the killer does
    executor = DaskExecutor(n_workers=2, max_retries=2)
    try:
        executor.start(Objective(die_if_marked))
        trials = [make_trial(i, 1.0) for i in range(8)]
        for killer in (1, 4):
            trials[killer].config["die"] = True
        finished = {t.trial_id: t for t in run_all(executor, trials, timeout=300)}
    finally:
        executor.shutdown()
    assert all(finished[i].status is TrialStatus.LOST and finished[i].attempt == 3 for i in (1, 4)), finished
    assert all(t.status is TrialStatus.SUCCESS for i, t in finished.items() if i not in (1, 4)), finished


def test_on_a_users_cluster_dask_reschedules_count_toward_max_retries():
    # each try of a worker killer kills allowed-failures + 1 workers: 3 + 1 tries of 4 deaths each made the
    # nannies of a user's LocalCluster give up, and the run waited for workers that never came
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(**local_cluster_options(2))
    client = Client(cluster, set_as_default=False)
    executor = DaskExecutor(client, max_retries=3)
    try:
        executor.start(Objective(always_die))
        (trial,) = run_all(executor, [make_trial(0, 1.0)], timeout=300)
    finally:
        executor.shutdown()
        client.close()
        # closing a cluster whose workers keep dying races distributed's nannies: 2024.1 may never finish, and
        # a nanny caught between a dead worker process and its restart fails an internal assertion
        with contextlib.suppress(TimeoutError, AssertionError):
            cluster.close(timeout=30)
    assert trial.status is TrialStatus.LOST and trial.attempt == 3  # ours: 3 - 1 retries, Dask's: 1 per try


def test_a_close_of_our_cluster_that_hangs_is_given_up_and_its_workers_killed(monkeypatch):
    # distributed 2024.1 waited for ever to close a LocalCluster whose workers had died, after the run finished
    class HangingCluster:
        workers: dict = {}

        def close(self, timeout=None):
            time.sleep(3600 if timeout is None else min(timeout, 0.1))
            raise TimeoutError

    killed = []
    monkeypatch.setattr(dask_executor, "_kill_worker_processes", killed.append)
    closing = threading.Thread(target=dask_executor._close_cluster, args=(HangingCluster(),), daemon=True)
    closing.start()
    closing.join(10)
    assert not closing.is_alive() and len(killed) == 1


def test_a_failing_removal_of_the_objective_from_a_users_cluster_keeps_the_result(monkeypatch, caplog):
    # after a Ctrl-C had restarted a worker, the removal raised KeyError and fmin lost the result with it
    def fail(self, name, nanny=None):
        raise KeyError(name)

    monkeypatch.setattr(Client, "unregister_worker_plugin", fail)
    with (LocalCluster(**local_cluster_options(1)) as cluster,
          Client(cluster) as client, caplog.at_level(logging.WARNING, logger="ultraopt.executors.dask_executor")):
        result = fmin(square, {"x": {"_type": "uniform", "_value": [0, 1]}}, optimizer="Random", n_iterations=3,
                      parallel_strategy="Dask", dask_client=client, show_progressbar=False)
    assert len(result.trials) == 3
    assert "could not remove the objective" in caplog.text


def test_a_users_cluster_without_workers_says_so(monkeypatch, caplog):
    # its workers all gone (a nanny closes one whose process died again and again): the run waited without a word
    monkeypatch.setattr(executors_base, "NO_WORKER_WARNING_AFTER", 0.5)
    with (LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster) as client,
          caplog.at_level(logging.WARNING, logger="ultraopt.executors.dask_executor")):
        result = fmin(square, {"x": {"_type": "uniform", "_value": [0, 1]}}, optimizer="Random", n_iterations=2,
                      parallel_strategy="Dask", dask_client=client, time_limit=4, show_progressbar=False)
    assert result.meta["stop_reason"] == "time limit"
    assert "the Dask cluster has no workers: 1 trial(s) wait for one" in caplog.text


def test_mapreduce_runs_on_the_active_dask_client(dask_cluster):
    with Client(dask_cluster) as client:  # the process's default client while the block runs
        executor = MapReduceExecutor(n_jobs=2)
        try:
            executor.start(Objective(square))
            assert isinstance(executor.inner, DaskExecutor) and executor.inner.client is client
            finished = run_all(executor, [make_trial(i, float(i)) for i in range(4)])
        finally:
            executor.shutdown()
        assert {t.worker for t in finished} <= set(client.nthreads())
        assert client.status == "running"
    with pytest.raises(ValueError, match="needs a dask_client or an active distributed.Client"):
        MapReduceExecutor(n_jobs=2, backend="dask").start(Objective(square))


def test_a_created_cluster_whose_workers_all_went_away_gets_them_back():
    executor = DaskExecutor(n_workers=1)
    try:
        executor.start(Objective(sleep_x))
        (warm,) = run_all(executor, [make_trial(0, 0.0)])  # the worker is up
        executor.submit(make_trial(1, 1.0))
        time.sleep(0.3)
        executor._cluster.scale(0)  # as when a nanny whose worker kept dying closes: no worker is left
        deadline = time.monotonic() + 90
        finished = []
        while not finished:
            assert time.monotonic() < deadline, "the running trial waited for a worker that never came"
            finished = executor.wait(timeout=1.0)
        (trial,) = finished
        assert trial.status is TrialStatus.SUCCESS and trial.attempt >= 2
    finally:
        executor.shutdown()


def test_a_closed_client_is_named_as_such(dask_cluster, quadratic_space):
    # it failed deep inside with "'NoneType' object has no attribute 'register_worker_plugin'"
    from ultraopt import fmin
    from ultraopt.facade.checks import InvalidArgumentError

    client = Client(dask_cluster, set_as_default=False)
    client.close()
    with pytest.raises(ValueError, match="the Dask client is closed"):
        DaskExecutor(client).start(Objective(square))
    with pytest.raises(InvalidArgumentError, match="dask_client must be None or a distributed.Client that is not clos"):
        fmin(square, quadratic_space, n_iterations=2, parallel_strategy="Dask", dask_client=client)


@pytest.mark.parametrize("strategy", ["Dask", "MapReduce"])
def test_a_client_that_closes_during_the_run_stops_it_with_the_trials_so_far(dask_cluster, strategy):
    # fmin waited for ever for the trials of a client whose scheduler had died; a closed client made the
    # shutdown raise Dask's ClosedClientError, which hid the first error and the result it carried
    from ultraopt import fmin

    client = Client(dask_cluster, set_as_default=False)
    client.wait_for_workers(2, timeout=60)
    closer = threading.Timer(2.5, client.close)
    closer.start()
    try:
        with pytest.raises(RuntimeError, match="the Dask client closed during the run") as caught:
            fmin(sleep_x, {"x": {"_type": "uniform", "_value": [0.4, 0.6]}}, n_iterations=200, n_jobs=2,
                 parallel_strategy=strategy, dask_client=client, show_progressbar=False, time_limit=60)
    finally:
        closer.cancel()
        client.close()
    assert len(caught.value.result.trials) >= 2
    assert caught.value.result.meta["stop_reason"] == "error"


def test_ctrl_c_while_the_own_cluster_starts_waits_until_it_can_be_closed():
    # the interrupt came inside LocalCluster(...): the executor never got the cluster, whose workers outlived fmin
    executor = DaskExecutor(n_workers=1)
    interrupt = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))  # the start takes a second
    interrupt.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            executor.start(Objective(square))
        assert executor.owns_cluster  # so that shutdown closes it
    finally:
        interrupt.cancel()
        executor.shutdown()
    assert not executor.owns_cluster


def test_the_objective_of_a_killed_run_is_removed_from_the_cluster_by_the_next_run(dask_cluster):
    # a master killed on a user's cluster left its objective installed on every worker, for good
    import subprocess
    import sys

    from tests.async_comm.conftest import REPO, child_env
    from ultraopt import fmin

    script = (
        "from distributed import Client\n"
        "from tests.executors.contract import sleep_x\n"
        "from ultraopt import fmin\n"
        f"client = Client({dask_cluster.scheduler_address!r}, set_as_default=False)\n"
        "fmin(sleep_x, {'x': {'_type': 'uniform', '_value': [1, 2]}}, n_iterations=50, parallel_strategy='Dask',\n"
        "     dask_client=client, show_progressbar=False)\n"
    )
    client = Client(dask_cluster, set_as_default=False)
    master = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=child_env())

    def ours():
        plugins, clients = client.run_on_scheduler(lambda dask_scheduler: (
            list(dask_scheduler.worker_plugins), list(dask_scheduler.clients)))
        return [name for name in plugins if name.startswith("ultraopt-objective-")], clients

    try:
        deadline = time.monotonic() + 60
        while not ours()[0]:
            assert time.monotonic() < deadline and master.poll() is None, "the master never installed its objective"
            time.sleep(0.2)
        (orphan,), _ = ours()
        master.kill()
        master.wait(10)
        while orphan.partition("-objective-")[2].partition("-")[2] in ours()[1]:  # the scheduler forgets it
            assert time.monotonic() < deadline + 30
            time.sleep(0.2)
        fmin(square, {"x": {"_type": "uniform", "_value": [0, 1]}}, n_iterations=2, parallel_strategy="Dask",
             dask_client=client, show_progressbar=False)
        assert ours()[0] == []
    finally:
        if master.poll() is None:
            master.kill()
        client.close()

