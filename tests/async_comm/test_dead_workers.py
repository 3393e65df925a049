"""Dead workers, with real worker processes on loopback: killed, frozen, joining late, dying on every attempt."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.async_comm.helpers import Background, make_master, wait_until
from ultraopt.executors.async_comm import LocalAsyncCommExecutor
from ultraopt.objective import Objective
from ultraopt.trial import Trial, TrialStatus


def markers_of(directory: Path, pid: int) -> list[str]:
    path = directory / str(pid)
    return path.read_text().splitlines() if path.exists() else []


def in_second_job(directory: Path, pid: int) -> bool:
    lines = markers_of(directory, pid)
    return any(line.startswith("end") for line in lines) and lines[-1].startswith("start")


def test_a_worker_killed_in_a_job_is_noticed_at_once_and_its_job_runs_elsewhere(
        nameserver, spawn_worker, space, tmp_path):
    victim, survivor = (spawn_worker("marked_sleep", ULTRAOPT_TEST_MARKERS=str(tmp_path)) for _ in range(2))
    master = make_master(nameserver.run_id, space)
    try:
        run = Background(lambda: master.run(n_iterations=12, min_n_workers=2))
        wait_until(lambda: in_second_job(tmp_path, victim.pid), what="the victim to be in a job")
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        detection = wait_until(lambda: master.executor.dispatcher.number_of_workers() == 1, timeout=10)
        result = run.result()
    finally:
        master.shutdown(shutdown_workers=True)
    assert time.monotonic() - killed_at > detection
    assert detection < 5.0  # the broken connection, in practice well under a second
    assert sorted(trial.trial_id for trial in result.trials) == list(range(12))
    assert all(trial.status is TrialStatus.SUCCESS for trial in result.trials)
    (rerun,) = [trial for trial in result.trials if trial.attempt == 2]
    assert f".{survivor.pid}." in rerun.worker
    assert markers_of(tmp_path, victim.pid)[-1] == f"start {rerun.config['x']!r}"  # the very job it died in
    assert survivor.wait(15) == 0  # the master shut the surviving worker down


def test_a_frozen_worker_is_noticed_by_its_silence_and_rejoins_when_it_thaws(
        nameserver, spawn_worker, space, tmp_path):
    victim, _ = (spawn_worker("marked_sleep", ULTRAOPT_TEST_MARKERS=str(tmp_path)) for _ in range(2))
    master = make_master(nameserver.run_id, space)
    dispatcher = master.executor.dispatcher
    try:
        run = Background(lambda: master.run(n_iterations=40, min_n_workers=2))
        wait_until(lambda: in_second_job(tmp_path, victim.pid), what="the victim to be in a job")
        os.kill(victim.pid, signal.SIGSTOP)
        stopped_at = time.monotonic()
        detection = wait_until(lambda: dispatcher.number_of_workers() == 1, timeout=15)
        os.kill(victim.pid, signal.SIGCONT)
        thawed_at = time.time()
        wait_until(lambda: dispatcher.number_of_workers() == 2, timeout=15, what="the worker to rejoin")
        result = run.result()
    finally:
        master.shutdown(shutdown_workers=True)
    assert detection < 5.0 and time.monotonic() - stopped_at > detection
    assert sorted(trial.trial_id for trial in result.trials) == list(range(40))  # each exactly once
    assert all(trial.status is TrialStatus.SUCCESS for trial in result.trials)
    assert any(trial.attempt == 2 for trial in result.trials)
    after_thaw = [t for t in result.trials if f".{victim.pid}." in t.worker and t.start_time > thawed_at]
    assert after_thaw, "the worker that came back got no job"


def test_a_worker_started_after_the_master_joins_and_gets_jobs(nameserver, spawn_worker, space):
    first = spawn_worker("marked_sleep")
    master = make_master(nameserver.run_id, space)
    try:
        run = Background(lambda: master.run(n_iterations=20, min_n_workers=1))
        wait_until(lambda: len(master.result.trials) >= 3, what="three results")
        late = spawn_worker("marked_sleep")
        result = run.result()
    finally:
        master.shutdown(shutdown_workers=True)
    pids = {int(trial.worker.split(".")[-3]) for trial in result.trials}  # host.pid.token.number
    assert pids == {first.pid, late.pid}
    assert len(result.trials) == 20


def test_a_job_that_kills_every_worker_is_lost_after_the_retries_and_the_run_goes_on():
    executor = LocalAsyncCommExecutor(1, max_retries=1)
    try:
        executor.start(Objective(_kill_own_process_on_positive_x()))
        executor.submit(Trial(0, (0, 0, 0), {"x": 1.0}, 1.0, status=TrialStatus.RUNNING, attempt=1))
        finished = []
        deadline = time.monotonic() + 60
        while not finished:
            finished = executor.wait(timeout=1.0)
            assert time.monotonic() < deadline
        (lost,) = finished
        assert lost.status is TrialStatus.LOST and lost.attempt == 2 and "died" in lost.error
        executor.submit(Trial(1, (1, 0, 0), {"x": -1.0}, 1.0, status=TrialStatus.RUNNING, attempt=1))
        (fine,) = _wait_one(executor)
        assert fine.status is TrialStatus.SUCCESS and fine.loss == -1.0  # a replacement worker process ran it
    finally:
        executor.shutdown()


def test_configs_that_crash_their_workers_one_after_another_are_each_lost_and_the_run_goes_on():
    # each one kills a worker on both of its tries: 6 deaths in a row, more than the guard against workers
    # that cannot run at all allows, yet every death is explained by the trial that ends lost
    executor = LocalAsyncCommExecutor(1, max_retries=1)
    try:
        executor.start(Objective(_kill_own_process_on_positive_x()))
        for trial_id in range(3):
            executor.submit(Trial(trial_id, (trial_id, 0, 0), {"x": 1.0}, 1.0, status=TrialStatus.RUNNING, attempt=1))
            (lost,) = _wait_one(executor)
            assert lost.status is TrialStatus.LOST
        executor.submit(Trial(3, (3, 0, 0), {"x": -1.0}, 1.0, status=TrialStatus.RUNNING, attempt=1))
        (fine,) = _wait_one(executor)
        assert fine.status is TrialStatus.SUCCESS
    finally:
        executor.shutdown()


def test_a_result_on_its_way_when_the_next_job_kills_the_worker_is_not_charged_with_the_death():
    # the worker held both: it finished the good job, and the bad one killed it before the result went out.
    # The good job was charged each death as "the oldest job held", and ended LOST though it never failed.
    executor = LocalAsyncCommExecutor(1, max_retries=1, job_queue_sizes=(0, 1))
    try:
        executor.start(Objective(_kill_own_process_on_positive_x()))
        executor.wait_for_workers(1, timeout=60)
        for trial_id, x in enumerate([-1.0, 1.0]):
            executor.submit(Trial(trial_id, (trial_id, 0, 0), {"x": x}, 1.0, status=TrialStatus.RUNNING, attempt=1))
        finished = {trial.trial_id: trial for trial in _wait_one(executor) + _wait_one(executor)}
        good, bad = finished[0], finished[1]
        assert good.status is TrialStatus.SUCCESS and good.loss == -1.0 and good.attempt <= 2
        assert bad.status is TrialStatus.LOST
    finally:
        executor.shutdown()


def test_two_configs_crashing_their_workers_at_once_are_both_lost_without_stopping_the_run():
    # their deaths interleave: each needs max_retries + 1 of them, 8 in a row in all, and the guard against
    # workers that cannot run at all stopped the run at 5
    executor = LocalAsyncCommExecutor(2)
    try:
        executor.start(Objective(_kill_own_process_on_positive_x()))
        for trial_id in range(2):
            executor.submit(Trial(trial_id, (trial_id, 0, 0), {"x": 1.0}, 1.0, status=TrialStatus.RUNNING, attempt=1))
        finished = _wait_one(executor, timeout=120)
        if len(finished) < 2:
            finished += _wait_one(executor, timeout=120)
        assert [trial.status for trial in finished] == [TrialStatus.LOST] * 2
    finally:
        executor.shutdown()


def _kill_own_process_on_positive_x():
    from tests.async_comm.objectives import kill_own_process_on_positive_x

    return kill_own_process_on_positive_x


def _wait_one(executor, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not (finished := executor.wait(timeout=1.0)):
        assert time.monotonic() < deadline
    return finished


def test_a_master_that_did_not_run_for_a_while_does_not_blame_its_workers(nameserver, spawn_worker, space, tmp_path):
    # A stopped or suspended master hears no heartbeat: back, it took every worker for dead and ran their trials
    # again. A foreign call that keeps the GIL stops every thread of this process, as SIGSTOP would the master.
    import ctypes

    workers = [spawn_worker("marked_sleep", ULTRAOPT_TEST_MARKERS=str(tmp_path)) for _ in range(2)]
    master = make_master(nameserver.run_id, space)
    try:
        run = Background(lambda: master.run(n_iterations=12, min_n_workers=2))
        wait_until(lambda: all(in_second_job(tmp_path, worker.pid) for worker in workers), what="jobs running")
        ctypes.PyDLL(None).sleep(int(master.executor.dispatcher.heartbeat_timeout) + 6)
        result = run.result()
    finally:
        master.shutdown(shutdown_workers=True)
    assert sorted(trial.trial_id for trial in result.trials) == list(range(12))
    assert all(trial.status is TrialStatus.SUCCESS and trial.attempt == 1 for trial in result.trials)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_worker_stopped_on_purpose_in_a_job_hands_it_back_without_charging_a_try(
        nameserver, spawn_worker, space, tmp_path, stop):
    # a clean stop closed the connection like a crash: the job was charged a try, and four Ctrl-C on workers
    # running one healthy config ended it LOST
    victim, survivor = (spawn_worker("marked_sleep", ULTRAOPT_TEST_MARKERS=str(tmp_path)) for _ in range(2))
    master = make_master(nameserver.run_id, space)
    try:
        run = Background(lambda: master.run(n_iterations=12, min_n_workers=2))
        wait_until(lambda: in_second_job(tmp_path, victim.pid), what="the victim to be in a job")
        os.kill(victim.pid, stop)
        assert victim.wait(10) == 0
        result = run.result()
    finally:
        master.shutdown(shutdown_workers=True)
    assert sorted(trial.trial_id for trial in result.trials) == list(range(12))
    assert all(trial.status is TrialStatus.SUCCESS and trial.attempt == 1 for trial in result.trials)
    handed_back = markers_of(tmp_path, victim.pid)[-1].removeprefix("start ")
    (rerun,) = [trial for trial in result.trials if repr(trial.config["x"]) == handed_back]
    assert f".{survivor.pid}." in rerun.worker


def test_sigterm_stops_a_worker_of_several_processes_at_once(nameserver, spawn_worker, space, tmp_path):
    # the handler stopped the processes while the main thread waited for one of them: Python could not reap it
    # there, and the stop took 9 s of timeouts, warning of processes that "did not stop"
    victim = spawn_worker("marked_sleep", "--n-workers", "2", ULTRAOPT_TEST_MARKERS=str(tmp_path))
    master = make_master(nameserver.run_id, space)
    try:
        run = Background(lambda: master.run(n_iterations=20, min_n_workers=2))
        wait_until(lambda: len(master.result.trials) >= 2, what="two results")
        victim.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        assert victim.wait(10) == 0
        assert time.monotonic() - signalled < 4.0
        survivor = spawn_worker("marked_sleep")
        result = run.result()
    finally:
        master.shutdown(shutdown_workers=True)
    assert survivor.wait(15) == 0
    assert all(trial.status is TrialStatus.SUCCESS and trial.attempt == 1 for trial in result.trials)
