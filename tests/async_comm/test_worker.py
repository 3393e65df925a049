"""Workers: compute or initialize, failures as results, idle timeout, credentials, thread and process modes."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

import pytest
from Pyro5 import errors

from tests.async_comm.helpers import wait_until
from ultraopt.async_comm import dispatcher as dispatcher_module
from ultraopt.async_comm.dispatcher import Dispatcher
from ultraopt.async_comm.nameserver import NameServer, dispatcher_name, nameserver_proxy, worker_prefix
from ultraopt.async_comm.worker import Worker
from ultraopt.trial import TrialStatus


class Collector:
    """A dispatcher's result callback that tests can wait on."""

    def __init__(self):
        self.trials = []
        self.cond = threading.Condition()

    def __call__(self, trial):
        with self.cond:
            self.trials.append(trial)
            self.cond.notify_all()

    def wait_for(self, n, timeout=30.0):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.trials) >= n, timeout), f"{len(self.trials)} of {n} results"
        return sorted(self.trials, key=lambda t: t.trial_id)


@pytest.fixture
def dispatcher(nameserver):
    collector = Collector()
    dispatcher = Dispatcher(collector, nameserver.run_id, working_directory="/shared/dir")
    dispatcher.start()
    dispatcher.collector = collector
    yield dispatcher
    dispatcher.shutdown(shutdown_workers=True)


@pytest.fixture
def workers():
    started = []
    yield started
    for worker in started:
        worker.shutdown()
        if worker.thread is not None:
            worker.thread.join(5)


def submit(dispatcher, trial_id, x, budget=1.0):
    return dispatcher.submit_job(trial_id, config_id=(trial_id, 0, 0), config={"x": x}, budget=budget,
                                 config_info={"origin": "test"})


def kill_while_its_trial_runs(dispatcher, started, n_workers=1):
    """Start ``dispatcher`` (a master's), submit trial 0 (x=2) once it has ``n_workers`` and shut it down once
    ``started()`` says a worker runs the trial; results sent to it afterwards fail, as a killed master's."""
    dispatcher.start()
    assert dispatcher.wait_for_workers(n_workers, timeout=20)
    submit(dispatcher, 0, 2.0)
    wait_until(started, what="the first run of the trial")
    dispatcher.shutdown()

    def unreachable(*args):  # a connection the shut-down daemon still serves must not help
        raise errors.CommunicationError("the master died")

    unreachable._pyroExposed = True
    dispatcher.register_results = unreachable


class RecordingWorker(Worker):
    def compute(self, config_id, config, config_info, budget, working_directory):
        if config["x"] < 0:
            raise ValueError(f"negative x {config['x']}")
        return {"loss": config["x"] * budget,
                "info": {"config_id": list(config_id), "origin": config_info["origin"], "wd": working_directory}}


def test_a_compute_subclass_gets_everything_and_failures_are_results(nameserver, dispatcher, workers):
    worker = RecordingWorker(nameserver.run_id)
    worker.run(background=True)
    workers.append(worker)
    for trial_id, x in enumerate([2.0, -1.0, 3.0]):
        submit(dispatcher, trial_id, x, budget=0.5)
    ok, failed, after = dispatcher.collector.wait_for(3)
    assert ok.status is TrialStatus.SUCCESS and ok.loss == 1.0
    assert ok.info == {"config_id": [0, 0, 0], "origin": "test", "wd": "/shared/dir"}
    assert failed.status is TrialStatus.FAILED and failed.loss is None
    assert "Traceback" in failed.error and "ValueError: negative x -1.0" in failed.error
    assert after.status is TrialStatus.SUCCESS and after.loss == 1.5  # the worker went on after the exception
    assert {t.worker for t in (ok, failed, after)} == {worker._runtime.name}
    assert all(t.start_time <= t.end_time for t in (ok, failed, after))


def test_initialize_with_a_function_of_config_and_budget(nameserver, dispatcher, workers):
    worker = Worker(nameserver.run_id).initialize(lambda config, budget: {"loss": config["x"], "info": budget})
    worker.run(background=True)
    workers.append(worker)
    submit(dispatcher, 0, 4.0, budget=9.0)
    (trial,) = dispatcher.collector.wait_for(1)
    assert trial.loss == 4.0 and trial.info == {"info": 9.0}


def test_sys_exit_in_the_objective_fails_the_job_and_the_worker_goes_on(nameserver, dispatcher, workers):
    def exits_on_negative(config):
        if config["x"] < 0:
            sys.exit(3)
        return config["x"]

    worker = Worker(nameserver.run_id).initialize(exits_on_negative)
    worker.run(background=True)
    workers.append(worker)
    submit(dispatcher, 0, -1.0)
    submit(dispatcher, 1, 2.0)
    exited, fine = dispatcher.collector.wait_for(2)
    assert exited.status is TrialStatus.FAILED and "SystemExit: 3" in exited.error
    assert fine.status is TrialStatus.SUCCESS and fine.loss == 2.0


def test_timeout_shuts_an_idle_worker_down(nameserver, dispatcher, workers):
    worker = Worker(nameserver.run_id, timeout=1.0).initialize(lambda config: 0.0)
    worker.run(background=True)
    workers.append(worker)
    assert dispatcher.wait_for_workers(1, timeout=10)
    submit(dispatcher, 0, 1.0)
    dispatcher.collector.wait_for(1)  # a job resets the idle clock
    start = time.monotonic()
    worker.thread.join(10)
    assert not worker.thread.is_alive() and worker.timed_out
    assert 0.9 < time.monotonic() - start < 6
    ns = nameserver_proxy(nameserver.credentials)
    assert ns.call("list", prefix=worker_prefix(nameserver.run_id)) == {}  # it unregistered
    deadline = time.monotonic() + 5
    while dispatcher.number_of_workers():  # the dispatcher saw its connection close
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_workers_started_before_and_after_the_dispatcher_both_get_jobs(nameserver, workers):
    early = Worker(nameserver.run_id, worker_id="early").initialize(lambda config: os.getpid())
    early.run(background=True)
    workers.append(early)
    time.sleep(0.5)  # registered, no dispatcher yet
    collector = Collector()
    dispatcher = Dispatcher(collector, nameserver.run_id, prefetch=0)
    dispatcher.start()
    try:
        assert dispatcher.wait_for_workers(1, timeout=10)
        late = Worker(nameserver.run_id, worker_id="late").initialize(lambda config: time.sleep(0.2) or 0.0)
        late.run(background=True)
        workers.append(late)
        assert dispatcher.wait_for_workers(2, timeout=10)
        for trial_id in range(4):
            submit(dispatcher, trial_id, 1.0)
        names = {trial.worker.rsplit(".", 1)[-1] for trial in collector.wait_for(4)}
        assert names == {"early", "late"}
    finally:
        dispatcher.shutdown()


def test_credentials_come_from_the_working_directory(tmp_path, workers):
    server = NameServer("wd-run", working_directory=tmp_path)
    loader = Worker("wd-run")
    thread = threading.Thread(target=loader.load_nameserver_credentials, args=(tmp_path, 30, 0.1))
    thread.start()  # waits for the file
    time.sleep(0.3)
    server.start()
    try:
        thread.join(10)
        assert (loader.nameserver, loader.nameserver_port, loader.secret) == (
            server.credentials.host, server.credentials.port, server.secret)
    finally:
        server.shutdown()
    assert list(tmp_path.iterdir()) == []  # the credentials file is gone


def test_a_worker_id_and_the_default_numbering_never_give_two_workers_one_name(nameserver, dispatcher, workers):
    for worker_id in (0, None, None):  # the first default number would be 0 too
        worker = Worker(nameserver.run_id, worker_id=worker_id).initialize(lambda config: 0.0)
        worker.run(background=True)
        workers.append(worker)
    assert dispatcher.wait_for_workers(3, timeout=20)
    taken = Worker(nameserver.run_id, worker_id=0).initialize(lambda config: 0.0)
    with pytest.raises(ValueError, match="worker_id 0 is taken by another worker of this process"):
        taken.run(background=False)


def test_workers_of_processes_with_one_host_name_and_pid_get_two_names(monkeypatch):
    # containers sharing the host's name (host networking) each run their worker as process 1: the two workers
    # had one name, so the dispatcher saw one worker and the other never got a job
    from ultraopt.async_comm import worker as worker_module

    monkeypatch.setattr(worker_module.os, "getpid", lambda: 1)
    names = []
    for _container in range(2):
        monkeypatch.setattr(worker_module, "_tag", None)  # a fresh interpreter
        monkeypatch.setattr(worker_module, "_names_serving", set())
        names.append(worker_module._claim_name(0))
    assert names[0] != names[1] and all(name.split(".")[-3] == "1" for name in names)


@pytest.mark.timeout(60)
def test_a_worker_whose_secret_the_name_server_refuses_stops_saying_so(nameserver):
    # with the secret from the environment, the refusal cannot end: the worker retried for ever
    credentials = nameserver.credentials
    worker = Worker(nameserver.run_id, nameserver=credentials.host, nameserver_port=credentials.port,
                    secret="not-the-runs-secret").initialize(lambda config: 0.0)
    worker.heartbeat_interval = 0.1
    with pytest.raises(ValueError, match=f"name server {credentials.host}:{credentials.port} of run "
                                         f"'{nameserver.run_id}' refused this worker's secret"):
        worker.run(background=False)


def test_a_worker_without_credentials_says_how_to_get_them(monkeypatch):
    monkeypatch.delenv("ULTRAOPT_SECRET", raising=False)
    with pytest.raises(ValueError, match="load_nameserver_credentials"):
        Worker("nowhere", nameserver="127.0.0.1").run(background=True)


def test_a_worker_in_its_own_process_runs_a_lambda(nameserver, dispatcher, workers):
    offset = 10.0
    worker = Worker(nameserver.run_id).initialize(lambda config: config["x"] + offset)
    worker.run(background=True, concurrent_type="process")
    try:
        assert worker.process.pid != os.getpid()
        submit(dispatcher, 0, 1.0)
        (trial,) = dispatcher.collector.wait_for(1, timeout=60)
        assert trial.loss == 11.0 and f".{worker.process.pid}." in trial.worker
    finally:
        worker.shutdown()
    assert worker.process.poll() == 0  # stopped when its pipe closed, not killed


def test_unknown_concurrent_type_is_an_error(nameserver):
    with pytest.raises(ValueError, match="concurrent_type"):
        Worker(nameserver.run_id).run(background=True, concurrent_type="fiber")



def test_a_result_for_a_dispatcher_that_is_gone_is_given_up_once_the_run_has_another(nameserver, dispatcher, workers):
    # a master killed in a job, then restarted: retrying the dead dispatcher (~30 s) would hold up the new one's jobs
    worker = Worker(nameserver.run_id).initialize(lambda config: 0.0)
    worker.run(background=True)
    workers.append(worker)
    assert dispatcher.wait_for_workers(1, timeout=10)
    deadline = time.monotonic() + 10
    while worker._runtime.dispatcher_uri != dispatcher.uri and time.monotonic() < deadline:
        time.sleep(0.05)
    gone = f"PYRO:ultraopt.dispatcher.{nameserver.run_id}@127.0.0.1:1"  # nothing listens on port 1
    start = time.monotonic()
    evaluated = {"config_id": [0, 0, 0], "config": {"x": 0.0}, "budget": 1.0}
    worker._report(worker._runtime, gone, [[0, {"worker": "w", "evaluation": {}}, evaluated]])
    assert time.monotonic() - start < 5
    # kept, and offered to the run's dispatcher (which has no such trial pending, so ignores it)
    wait_until(lambda: not worker._runtime.orphans, what="the result offered to the live dispatcher")


def test_a_result_for_a_dispatcher_that_is_gone_is_offered_to_its_successor_at_once(nameserver, dispatcher,
                                                                                   workers):
    # offered at the next heartbeat only, while the new master had its trial run again by another worker
    entered, release = threading.Event(), threading.Event()

    def objective(config):
        entered.set()
        release.wait(20)
        return 0.0

    worker = Worker(nameserver.run_id).initialize(objective)
    worker.heartbeat_interval = 30  # no heartbeat offers it within this test
    worker.run(background=True)
    workers.append(worker)
    assert dispatcher.wait_for_workers(1, timeout=10)
    wait_until(lambda: worker._runtime.dispatcher_uri == dispatcher.uri, what="the worker finding the dispatcher")
    try:
        submit(dispatcher, 0, 2.0)  # run again by the new master: it waits in the objective
        assert entered.wait(10)
        gone = f"PYRO:ultraopt.dispatcher.{nameserver.run_id}@127.0.0.1:1"
        result = {"worker": "w", "evaluation": {"loss": 42.0, "info": {}, "start_time": 1.0, "end_time": 2.0,
                                                 "status": "success"}}
        evaluated = {"config_id": [0, 0, 0], "config": {"x": 2.0}, "budget": 1.0}
        worker._report(worker._runtime, gone, [[[0, 1], result, evaluated]])
        (trial,) = dispatcher.collector.wait_for(1, timeout=5)
        assert trial.loss == 42.0  # the earlier master's result, not the run still waiting
    finally:
        release.set()


def test_a_worker_whose_timeout_passes_before_any_name_server_answers_says_so():
    # it stopped as "idle", and `ultraopt worker --timeout` said "no job", exit code 0
    worker = Worker("nowhere", nameserver="127.0.0.1", nameserver_port=1, secret="s", timeout=1)
    worker.heartbeat_interval = 0.1
    with pytest.raises(ValueError, match="no name server of run 'nowhere' answered at 127.0.0.1:1 within the "
                                         "worker's timeout of 1 s .*Connection refused"):
        worker.initialize(lambda config: 0.0).run(background=False)


def test_a_second_dispatcher_of_a_run_that_has_a_live_one_is_refused(nameserver, dispatcher):
    with pytest.raises(RuntimeError, match="already has a dispatcher that answers"):
        Dispatcher(Collector(), nameserver.run_id).start()
    ns = nameserver_proxy(nameserver.credentials)
    try:  # the live one is still the run's dispatcher
        assert str(ns.call("lookup", dispatcher_name(nameserver.run_id))) == dispatcher.uri
    finally:
        ns.close()


def test_shutting_down_a_refused_dispatcher_keeps_the_refusal_and_the_live_one(nameserver, dispatcher):
    # a caller's clean-up (fmin's `with executor`) shuts down after the failed start: the refusal is what it sees
    second = Dispatcher(Collector(), nameserver.run_id)
    with pytest.raises(RuntimeError, match="already has a dispatcher that answers"):
        try:
            second.start()
        finally:
            second.shutdown()
    ns = nameserver_proxy(nameserver.credentials)
    try:
        assert str(ns.call("lookup", dispatcher_name(nameserver.run_id))) == dispatcher.uri
    finally:
        ns.close()


def test_a_dispatcher_replaces_the_registration_of_one_that_died(nameserver):
    ns = nameserver_proxy(nameserver.credentials)
    try:  # what a killed master leaves behind
        ns.call("register", dispatcher_name(nameserver.run_id), "PYRO:dead@127.0.0.1:1")
        restarted = Dispatcher(Collector(), nameserver.run_id)
        restarted.start()
        try:
            assert str(ns.call("lookup", dispatcher_name(nameserver.run_id))) == restarted.uri
        finally:
            restarted.shutdown()
    finally:
        ns.close()


def test_a_dispatcher_registers_again_in_a_name_server_that_lost_it(nameserver, monkeypatch):
    import ultraopt.async_comm.dispatcher as dispatcher_module

    monkeypatch.setattr(dispatcher_module, "_REGISTRATION_CHECK_PERIOD", 0.2)
    dispatcher = Dispatcher(Collector(), nameserver.run_id)
    dispatcher.start()
    ns = nameserver_proxy(nameserver.credentials)
    try:
        ns.call("remove", dispatcher_name(nameserver.run_id))  # as a restarted name server would have it
        deadline, found = time.monotonic() + 10, None
        while found is None and time.monotonic() < deadline:
            time.sleep(0.1)
            with contextlib.suppress(Exception):
                found = str(ns.call("lookup", dispatcher_name(nameserver.run_id)))
        assert found == dispatcher.uri
    finally:
        ns.close()
        dispatcher.shutdown()


def test_a_worker_follows_its_credentials_file_to_a_restarted_name_server(tmp_path, workers):
    # the README's layout: the master hosts the name server; killed and restarted, it has a new port and secret
    first = NameServer("moved-run", working_directory=tmp_path)
    first.start()
    worker = Worker("moved-run").initialize(lambda config: config["x"])
    worker.load_nameserver_credentials(tmp_path, num_tries=1)
    worker.run(background=True)
    workers.append(worker)
    time.sleep(1.0)  # registered with the first one
    first.shutdown()
    second = NameServer("moved-run", working_directory=tmp_path)
    second.start()
    assert second.secret != first.secret
    collector = Collector()
    dispatcher = Dispatcher(collector, "moved-run", nameserver=second.credentials.host,
                            nameserver_port=second.credentials.port, secret=second.secret)
    dispatcher.start()
    try:
        assert dispatcher.wait_for_workers(1, timeout=30)
        submit(dispatcher, 0, 3.0)
        assert collector.wait_for(1)[0].loss == 3.0
    finally:
        dispatcher.shutdown()
        second.shutdown()


def test_queued_jobs_of_a_replaced_master_are_skipped_not_run():
    # A master killed during a long trial and started again sends that trial again: the copies of the dead
    # master's dispatcher must not run ahead of the new master's jobs.
    from ultraopt.async_comm.credentials import Credentials
    from ultraopt.async_comm.worker import _Runtime
    from ultraopt.objective import Objective

    ran = []
    worker = Worker("stale-jobs")
    runtime = worker._runtime = _Runtime("w", Credentials("stale-jobs", "127.0.0.1", 1, "secret"))
    runtime.objective = Objective(lambda config: ran.append(config["x"]) or config["x"])
    for job, callback in enumerate(["PYRO:old@h:1", "PYRO:old@h:1", "PYRO:new@h:2"]):
        worker.start_computation(callback, [0, 0, job], job=job, config={"x": float(job)}, budget=1.0)
    runtime.jobs.put(None)
    worker._compute_loop()  # results go to the report thread's outbox, ended by None
    sent = []
    while (item := runtime.outbox.get()) is not None:
        sent.append(item[:2])
    assert ran == [2.0] and sent == [("PYRO:new@h:2", 2)] and runtime.n_jobs == 1  # one left to report


def test_a_worker_in_a_long_job_stops_at_once(nameserver, dispatcher, workers):
    # it waited a second each for its compute and report threads, which a run's time limit then overran
    worker = Worker(nameserver.run_id).initialize(lambda config: time.sleep(config["x"]) or 0.0)
    worker.run(background=True)
    workers.append(worker)
    assert dispatcher.wait_for_workers(1, timeout=10)
    submit(dispatcher, 0, 60.0)
    deadline = time.monotonic() + 10
    while not worker.is_busy():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.2)  # in the objective
    start = time.monotonic()
    worker.shutdown()
    worker.thread.join(10)
    assert not worker.thread.is_alive() and time.monotonic() - start < 1.5  # was over 2 s


def test_a_job_of_a_restarted_master_runs_though_the_worker_last_saw_the_dead_one(nameserver, dispatcher, workers):
    # The heartbeat thread looked the dispatcher up just before the restarted master registered: its jobs were
    # skipped as stale, never reported, and the master waited for them for ever.
    worker = Worker(nameserver.run_id).initialize(lambda config: config["x"])
    worker.run(background=True)
    workers.append(worker)
    assert dispatcher.wait_for_workers(1, timeout=10)
    worker._runtime.dispatcher_uri = "PYRO:ultraopt.dispatcher.dead@127.0.0.1:9"  # the killed master's
    submit(dispatcher, 0, 4.0)
    (trial,) = dispatcher.collector.wait_for(1, timeout=10)
    assert trial.status is TrialStatus.SUCCESS and trial.loss == 4.0
    assert worker._runtime.dispatcher_uri == dispatcher.uri  # the name server was asked again


def test_a_worker_of_a_run_without_a_master_says_so_and_names_the_runs_that_have_one(nameserver, dispatcher,
                                                                                       workers, caplog):
    # a mistyped run id waited for ever without a word
    credentials = nameserver.credentials
    worker = Worker("typo", nameserver=credentials.host, nameserver_port=credentials.port,
                    secret=credentials.secret).initialize(lambda config: 0.0)
    worker.heartbeat_interval = 0.01
    workers.append(worker)
    with caplog.at_level("WARNING", logger="ultraopt.async_comm.worker"):
        worker.run(background=True)
        wait_until(lambda: "no master of run 'typo'" in caplog.text, timeout=15, what="the warning")
    assert f"runs with a master there: ['{nameserver.run_id}']" in caplog.text


@pytest.mark.timeout(60)
def test_a_worker_cut_off_when_a_master_stopped_the_runs_workers_stops_too(tmp_path, workers):
    # a master was killed; the master that resumed the run had nothing left to do and came and went before the
    # worker, still knocking at the dead name server, found it: the worker served nothing, for ever
    from ultraopt.async_comm.credentials import mark_stopped

    server = NameServer("cut-off", working_directory=tmp_path)
    server.start()
    stale = Worker("cut-off").initialize(lambda config: 0.0)
    stale.load_nameserver_credentials(tmp_path)
    stale.heartbeat_interval = 0.1
    mark_stopped(tmp_path, "cut-off")  # an earlier run of the same name: not for workers started after it
    time.sleep(0.05)
    stale.run(background=True)
    workers.append(stale)
    wait_until(lambda: any(name.startswith(worker_prefix("cut-off"))
                           for name in nameserver_proxy(server.credentials).call("list")), what="registration")
    server.shutdown()  # as a killed master's embedded name server: unreachable from now on
    time.sleep(1.0)
    assert stale.thread.is_alive()  # the old word does not stop it, nor does a name server that went away
    mark_stopped(tmp_path, "cut-off")  # the resumed master stopped the run's workers
    wait_until(lambda: not stale.thread.is_alive(), timeout=20, what="the worker's stop")
    assert stale.run_stopped and not stale.timed_out


def test_a_dispatcher_that_stops_the_workers_says_so_beside_the_credentials_and_the_next_one_withdraws_it(tmp_path):
    from ultraopt.async_comm.credentials import stopped_at

    server = NameServer("marks", working_directory=tmp_path)
    server.start()
    try:
        first = Dispatcher(Collector(), "marks", working_directory=str(tmp_path))
        first.start()
        first.shutdown(shutdown_workers=False)
        assert stopped_at(tmp_path, "marks") is None  # workers left to serve the next master: nothing to say
        second = Dispatcher(Collector(), "marks", working_directory=str(tmp_path))
        second.start()
        before = time.time()
        second.shutdown(shutdown_workers=True)
        assert stopped_at(tmp_path, "marks") >= before
        third = Dispatcher(Collector(), "marks", working_directory=str(tmp_path))
        third.start()
        assert stopped_at(tmp_path, "marks") is None  # the workers it finds serve it
        third.shutdown()
    finally:
        server.shutdown()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.timeout(60)
def test_jobs_queued_at_a_worker_taken_for_dead_are_not_run_there_after_they_went_elsewhere(nameserver, dispatcher,
                                                                                             workers):
    # a worker stopped (SIGSTOP) past the heartbeat timeout had its jobs sent elsewhere; thawed, it still ran the
    # copies queued at it, each after its result had come from another worker
    release, calls = threading.Event(), []

    def objective(config):
        calls.append(config["x"])
        if len(calls) == 1:
            release.wait(20)
        return config["x"]

    worker = Worker(nameserver.run_id).initialize(objective)
    worker.heartbeat_interval = 0.1
    worker.run(background=True)
    workers.append(worker)
    assert dispatcher.wait_for_workers(1, timeout=20)
    for trial_id in range(3):
        submit(dispatcher, trial_id, float(trial_id))
    wait_until(lambda: len(calls) == 1 and worker.is_busy(), what="the first job")
    (name,) = list(dispatcher._workers)
    dispatcher._lose_worker(name, "taken for dead by the test", charge=False)  # as after a silent spell
    wait_until(lambda: dispatcher.number_of_workers() == 1, what="the worker registering again")
    release.set()
    results = dispatcher.collector.wait_for(3)
    assert [t.loss for t in results] == [0.0, 1.0, 2.0]
    time.sleep(0.5)
    # the queued ones ran once; the running one ran to its end, and its copy sent again ran once more, unless it
    # came while the first run's result was still on its way (that result is then its own)
    assert sorted(calls) in ([0.0, 0.0, 1.0, 2.0], [0.0, 1.0, 2.0])


def test_a_worker_asked_to_stop_before_its_first_run_does_not_serve(nameserver, workers):
    # a worker process whose parent let go while it started (Ctrl-C in the first second of a run) served on until
    # the parent terminated it 5 s later: run() forgot the stop its parent-watching thread had asked for
    worker = Worker(nameserver.run_id).initialize(lambda config: 0.0)
    worker.shutdown()
    thread = threading.Thread(target=worker.run, kwargs={"background": False}, daemon=True)
    worker.thread = thread  # the fixture stops and joins it if it serves after all
    workers.append(worker)
    thread.start()
    thread.join(5)
    assert not thread.is_alive()
    assert not any(name.startswith(worker_prefix(nameserver.run_id))
                   for name in nameserver_proxy(nameserver.credentials).call("list"))
    worker.run(background=True)  # a later run serves: the stop was for the one it stopped
    wait_until(lambda: any(name.startswith(worker_prefix(nameserver.run_id))
                           for name in nameserver_proxy(nameserver.credentials).call("list")), what="registration")


@pytest.mark.timeout(60)
def test_a_result_computed_for_a_master_that_died_is_taken_by_the_resumed_one(nameserver, workers):
    # a master killed during a long trial lost its result: the worker finished it, found its dispatcher gone,
    # and the resumed master ran the trial again from the start
    release, calls = threading.Event(), []

    def objective(config):
        calls.append(config["x"])
        if len(calls) == 1:
            release.wait(20)
        else:
            time.sleep(30)  # the resumed master's own run of the trial: its result must not be needed
        return config["x"]

    worker = Worker(nameserver.run_id).initialize(objective)
    worker.heartbeat_interval = 0.1
    worker.run(background=True)
    workers.append(worker)
    kill_while_its_trial_runs(Dispatcher(Collector(), nameserver.run_id), lambda: calls)
    collector = Collector()
    resumed = Dispatcher(collector, nameserver.run_id)
    resumed.start()
    try:
        assert resumed.wait_for_workers(1, timeout=20)
        submit(resumed, 0, 2.0)  # the same trial, run again by the resumed master
        release.set()
        (trial,) = collector.wait_for(1, timeout=20)
        assert (trial.trial_id, trial.status, trial.loss) == (0, TrialStatus.SUCCESS, 2.0)
        time.sleep(0.5)
        # its result taken, the resumed master's job of the same trial queued behind it did not run it again
        assert calls == [2.0]
    finally:
        resumed.shutdown()


@pytest.mark.timeout(60)
def test_a_resumed_master_sends_no_worker_a_trial_whose_result_a_worker_holds(nameserver, workers):
    # the results a worker finished while no master was up reached the resumed master a heartbeat after it had
    # sent their trials out again, to this worker or another: each ran twice, a whole trial time lost per worker
    release, calls = threading.Event(), {"holder": [], "other": []}

    def recording(name, wait=False):
        def objective(config):
            calls[name].append(config["x"])
            if wait:
                release.wait(20)
            return config["x"]
        return objective

    holder = Worker(nameserver.run_id).initialize(recording("holder", wait=True))
    holder.heartbeat_interval = 0.1
    holder.run(background=True)
    workers.append(holder)
    kill_while_its_trial_runs(Dispatcher(Collector(), nameserver.run_id), lambda: calls["holder"])
    release.set()  # finished with no master to take it: the worker keeps trying to report it
    other = Worker(nameserver.run_id).initialize(recording("other"))
    other.run(background=True)
    workers.append(other)
    collector = Collector()
    resumed = Dispatcher(collector, nameserver.run_id)
    resumed.start()
    try:
        assert resumed.wait_for_workers(2, timeout=20)
        submit(resumed, 0, 2.0)  # the trial the resumed master runs again
        submit(resumed, 1, 3.0)
        trials = collector.wait_for(2, timeout=20)
        assert [(t.trial_id, t.status, t.loss) for t in trials] == [(0, TrialStatus.SUCCESS, 2.0),
                                                                     (1, TrialStatus.SUCCESS, 3.0)]
        assert sorted(calls["holder"] + calls["other"]) == [2.0, 3.0]  # trial 0 ran once, for the dead master
    finally:
        resumed.shutdown()


@pytest.mark.timeout(60)
def test_a_resumed_master_leaves_a_trial_to_the_worker_that_runs_it_for_the_dead_one(nameserver, workers,
                                                                                    monkeypatch):
    # a master restarted within a trial's time sent the trials still running out again, often to other workers:
    # each ran twice
    release, calls = threading.Event(), []

    def objective(config):
        calls.append(config["x"])
        release.wait(20)
        return config["x"]

    for _ in range(2):
        worker = Worker(nameserver.run_id).initialize(objective)
        worker.heartbeat_interval = 0.1
        worker.run(background=True)
        workers.append(worker)
    kill_while_its_trial_runs(Dispatcher(Collector(), nameserver.run_id), lambda: calls, n_workers=2)
    sent = []
    send = dispatcher_module.Worker.start_computations
    monkeypatch.setattr(dispatcher_module.Worker, "start_computations",
                        lambda self, callback, trials, wd: (sent.extend(t.trial_id for t in trials),
                                                            send(self, callback, trials, wd)))
    collector = Collector()
    resumed = Dispatcher(collector, nameserver.run_id)
    resumed.start()
    try:
        assert resumed.wait_for_workers(2, timeout=20)
        submit(resumed, 0, 2.0)  # the trial the resumed master runs again: the worker running it keeps it
        time.sleep(0.5)
        assert sent == [] and calls == [2.0]
        release.set()
        (trial,) = collector.wait_for(1, timeout=20)
        assert (trial.trial_id, trial.status, trial.loss) == (0, TrialStatus.SUCCESS, 2.0)
        assert calls == [2.0]
    finally:
        release.set()
        resumed.shutdown()


def test_a_result_computed_for_an_earlier_master_is_held_until_its_trial_is_submitted(nameserver):
    # a worker hands its results over when the resumed master's dispatcher finds it, which may be before the
    # master submits the trials it runs again
    collector = Collector()
    dispatcher = Dispatcher(collector, nameserver.run_id)
    dispatcher.start()
    try:
        result = {"worker": "w", "evaluation": {"loss": 2.0, "info": {}, "start_time": 1.0, "end_time": 2.0,
                                                 "status": "success"}}
        dispatcher.register_orphan_results([[[0, 1], result, {"config_id": [0, 0, 0], "config": {"x": 2.0},
                                                              "budget": 1.0}],
                                            [[1, 1], result, {"config_id": [1, 0, 0], "config": {"x": 9.0},
                                                              "budget": 1.0}]])
        assert collector.trials == []
        submit(dispatcher, 0, 2.0)  # no worker is there: only the held result can finish it
        (trial,) = collector.wait_for(1, timeout=5)
        assert (trial.trial_id, trial.status, trial.loss) == (0, TrialStatus.SUCCESS, 2.0)
        submit(dispatcher, 1, 3.0)  # another config than the held result's: it waits for a worker
        time.sleep(0.2)
        assert [t.trial_id for t in collector.trials] == [0]
    finally:
        dispatcher.shutdown()


def test_a_result_computed_for_an_earlier_master_is_taken_only_for_the_same_trial(nameserver):
    collector = Collector()
    dispatcher = Dispatcher(collector, nameserver.run_id)
    dispatcher.start()
    try:
        submit(dispatcher, 0, 2.0)
        result = {"worker": "w", "evaluation": {"loss": 2.0, "info": {}, "start_time": 1.0, "end_time": 2.0,
                                                 "status": "success"}}
        evaluated = {"config_id": [0, 0, 0], "config": {"x": 2.0}, "budget": 1.0}
        for job in ({**evaluated, "config": {"x": 2.5}}, {**evaluated, "budget": 0.5},
                    {**evaluated, "config_id": [3, 0, 0]}, "not a job"):
            dispatcher.register_orphan_results([[[0, 1], result, job]])
        dispatcher.register_orphan_results([[[7, 1], result, evaluated]])  # no such trial here
        assert collector.trials == []
        dispatcher.register_orphan_results([[[0, 1], result, evaluated]])
        (trial,) = collector.wait_for(1)
        assert trial.loss == 2.0
    finally:
        dispatcher.shutdown()
