"""The dispatcher's seed API, and what it does with results that are late, doubled or malformed."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest
from Pyro5 import errors

from tests.async_comm.conftest import REPO, child_env
from tests.async_comm.test_worker import Collector, submit
from ultraopt.async_comm.dispatcher import Dispatcher
from ultraopt.async_comm.dispatcher import Worker as WorkerRecord
from ultraopt.async_comm.nameserver import NameServer, nameserver_proxy, worker_prefix
from ultraopt.async_comm.security import SharedProxy
from ultraopt.async_comm.worker import Worker
from ultraopt.trial import TrialStatus


@pytest.fixture
def dispatcher(nameserver):
    collector = Collector()
    dispatcher = Dispatcher(collector, nameserver.run_id, ping_interval=0.2)
    dispatcher.collector = collector
    yield dispatcher
    dispatcher.shutdown(shutdown_workers=True)


def as_worker(dispatcher, name="fake"):
    """A connection to the dispatcher that presents itself as worker ``name`` (holding the secret)."""
    return SharedProxy(dispatcher.uri, dispatcher._credentials.secret, identity=name)


def test_run_serves_until_shutdown_and_discovers_workers_by_pinging(nameserver, dispatcher):
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    worker = Worker(nameserver.run_id).initialize(lambda config: 1.0)
    worker.run(background=True)
    try:
        assert dispatcher.wait_for_workers(1, timeout=10)
        assert dispatcher.number_of_workers() == 1
        assert dispatcher.discover_workers() == 1  # nothing new
        trial = dispatcher.submit_job(7, config_id=(0, 0, 0), config={"x": 0.0}, budget=1.0)
        assert dispatcher.collector.wait_for(1) == [trial] and trial.loss == 1.0 and trial.attempt == 1
        dispatcher.shutdown_all_workers()
        worker.thread.join(10)
        assert not worker.thread.is_alive()
    finally:
        dispatcher.shutdown()
        thread.join(10)
    assert not thread.is_alive()
    assert nameserver_proxy(nameserver.credentials).call("list", prefix=f"ultraopt.{nameserver.run_id}.") == {}


def test_the_worker_record(nameserver, dispatcher):
    dispatcher.start()
    worker = Worker(nameserver.run_id).initialize(lambda config: time.sleep(0.5) or 0.0)
    worker.run(background=True)
    try:
        assert dispatcher.wait_for_workers(1, timeout=10)
        (name, uri), = nameserver_proxy(nameserver.credentials).call(
            "list", prefix=worker_prefix(nameserver.run_id)).items()
        record = WorkerRecord(name, uri)
        assert not record.is_alive()  # not connected yet
        record.connect(nameserver.secret)
        assert record.is_alive() and not record.is_busy()
        submit(dispatcher, 0, 1.0)
        time.sleep(0.2)
        assert record.is_busy()
        record.shutdown()
        worker.thread.join(10)
        assert not worker.thread.is_alive()
        record.close()
    finally:
        worker.shutdown()


GOOD = {"status": "success", "loss": 0.5, "info": {}, "error": None, "start_time": 1.0, "end_time": 2.0}


@pytest.fixture
def two_jobs(dispatcher):
    """Two submitted trials and a connection that presents itself as worker ``fake``."""
    dispatcher.start()
    first, second = submit(dispatcher, 0, 1.0), submit(dispatcher, 1, 2.0)
    fake = as_worker(dispatcher)
    yield first, second, fake
    fake.close()


def test_late_doubled_and_malformed_results(dispatcher, two_jobs):
    first, second, fake = two_jobs
    fake.call("register_result", [0, 1], {"worker": "fake", "evaluation": GOOD})
    fake.call("register_result", [0, 1], {"worker": "other", "evaluation": GOOD})  # doubled: ignored
    fake.call("register_result", [1, 1], {"worker": "fake", "evaluation": {"status": "success", "loss": None}})
    fake.call("register_result", "nonsense", None)  # malformed id: ignored, logged
    results = dispatcher.collector.wait_for(2)
    time.sleep(0.2)
    assert len(dispatcher.collector.trials) == 2 and results == [first, second]
    assert first.status is TrialStatus.SUCCESS and first.loss == 0.5 and first.worker == "fake"
    assert second.status is TrialStatus.FAILED and "malformed result" in second.error


def test_a_malformed_entry_of_a_result_batch_loses_none_of_the_others(dispatcher, two_jobs):
    first, second, fake = two_jobs
    batch = [[[0, 1], {"worker": "fake", "evaluation": GOOD}], [1], [[float("inf")], {"worker": "fake"}],
             [[1, 1], {"worker": "fake", "evaluation": {**GOOD, "start_time": {"not": "a time"}}}]]
    fake.call("register_results", batch)
    assert dispatcher.collector.wait_for(2) == [first, second]
    assert first.status is TrialStatus.SUCCESS and first.loss == 0.5
    assert second.status is TrialStatus.FAILED and "malformed result" in second.error


def test_submit_job_says_what_it_takes(dispatcher):
    with pytest.raises(TypeError, match=r"submit_job\(id, config_id=\(i, j, k\), config=.*config_id"):
        dispatcher.submit_job(100, config={"x": 0.0}, budget=3.0, working_directory=".")  # HpBandSter's call


def test_a_lost_connection_puts_the_jobs_back_counting_a_try_for_the_running_one_only(nameserver, dispatcher):
    """A worker that took jobs and vanished: its jobs go to the next worker, each result once; the job it was
    running is on attempt 2, the one only queued there (never started) still on attempt 1."""
    dispatcher.start()
    silent = Worker(nameserver.run_id, worker_id="silent").initialize(lambda config: time.sleep(5) or 0.0)
    silent.run(background=True)
    assert dispatcher.wait_for_workers(1, timeout=10)
    trials = [submit(dispatcher, i, float(i)) for i in range(2)]  # both go to the silent worker, the only one
    time.sleep(0.3)
    silent._say_goodbye = lambda runtime: None  # it vanishes rather than stops: no word to the dispatcher
    silent.shutdown()  # closes its connection to the dispatcher, jobs unfinished
    silent.thread.join(10)
    helper = Worker(nameserver.run_id, worker_id="helper").initialize(lambda config: config["x"])
    helper.run(background=True)
    try:
        results = dispatcher.collector.wait_for(2)
    finally:
        helper.shutdown()
    assert results == trials
    assert all(t.status is TrialStatus.SUCCESS and t.worker.endswith(".helper") for t in results)
    assert [t.attempt for t in results] == [2, 1]


_DISPATCHER_PROCESS = """
import sys, time
from ultraopt.async_comm.dispatcher import Dispatcher
Dispatcher(lambda trial: None, sys.argv[1], nameserver=None, working_directory=sys.argv[2]).start()
print("serving", flush=True)
time.sleep(600)
"""


def test_a_second_master_of_a_run_whose_master_is_only_stopped_is_refused(tmp_path):
    # with the run's name server in a process of its own (`ultraopt nameserver`), a SIGSTOPped master answered
    # nothing, a second one took its workers over, and the first one found none when it came back
    run_id = "paused-master"
    with NameServer(run_id, working_directory=tmp_path):
        process = subprocess.Popen([sys.executable, "-c", _DISPATCHER_PROCESS, run_id, str(tmp_path)],
                                   stdout=subprocess.PIPE, text=True, env=child_env(), cwd=REPO)
        try:
            assert process.stdout.readline().strip() == "serving"
            process.send_signal(signal.SIGSTOP)
            second = Dispatcher(Collector(), run_id, nameserver=None, working_directory=str(tmp_path))
            with pytest.raises(RuntimeError, match=f"already has a master in process {process.pid} of this machine"):
                second.start()
            process.kill()  # dead now: the run can be resumed
            process.wait(10)
            resumed = Dispatcher(Collector(), run_id, nameserver=None, working_directory=str(tmp_path))
            resumed.start()
            resumed.shutdown()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    assert list(tmp_path.iterdir()) == []  # the lock went with the master that held it last


def test_a_master_whose_name_server_does_not_answer_says_which_it_tried():
    # it raised a bare "receiving: timeout" (a port that accepts and stays silent) or "connection refused"
    dispatcher = Dispatcher(Collector(), "no-ns-run", nameserver="127.0.0.1", nameserver_port=1, secret="s")
    with pytest.raises(errors.CommunicationError, match="the name server of run 'no-ns-run' at 127.0.0.1:1 did not "
                                                        "answer .*Connection refused"):
        dispatcher.start()
    dispatcher.shutdown()
