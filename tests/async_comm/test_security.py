"""Only holders of the run's secret get served: name server, dispatcher and workers refuse everyone else."""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from Pyro5 import errors
from Pyro5.client import Proxy
from Pyro5.server import Daemon, expose

from tests.async_comm.conftest import child_env
from ultraopt.async_comm import security
from ultraopt.async_comm.dispatcher import Dispatcher
from ultraopt.async_comm.nameserver import nameserver_proxy, worker_prefix
from ultraopt.async_comm.security import AuthenticatedProxy, make_proof, new_secret
from ultraopt.async_comm.worker import Worker


@pytest.fixture
def dispatcher(nameserver):
    results = []
    dispatcher = Dispatcher(results.append, nameserver.run_id)
    dispatcher.start()
    dispatcher.results = results
    yield dispatcher
    dispatcher.shutdown()


def nameserver_uri(nameserver) -> str:
    return f"PYRO:Pyro.NameServer@{nameserver.credentials.host}:{nameserver.credentials.port}"


def test_servers_bind_to_loopback_by_default(nameserver, dispatcher):
    assert nameserver.credentials.host == "127.0.0.1"
    assert "@127.0.0.1:" in dispatcher.uri


def test_secrets_are_fresh_and_long():
    assert len({new_secret() for _ in range(10)}) == 10
    assert len(new_secret()) == 64


@pytest.mark.parametrize("handshake", ["hello", {"auth": "guess"}, None])
def test_nameserver_refuses_clients_without_the_secret_and_logs_it(nameserver, handshake, caplog):
    proxy = Proxy(nameserver_uri(nameserver))
    proxy._pyroHandshake = handshake
    with caplog.at_level(logging.WARNING, logger="ultraopt.async_comm.security"), \
            pytest.raises(errors.CommunicationError, match="authentication failed"):
        proxy.register(worker_prefix(nameserver.run_id) + "intruder", "PYRO:x@127.0.0.1:1")
    assert "did not prove it holds the run's secret" in caplog.text
    assert nameserver_proxy(nameserver.credentials).call("list", prefix=worker_prefix(nameserver.run_id)) == {}


def test_a_wrong_secret_is_refused(nameserver):
    proxy = AuthenticatedProxy(nameserver_uri(nameserver), new_secret())
    with pytest.raises(errors.CommunicationError, match="authentication failed"):
        proxy.list()


def test_a_recorded_handshake_cannot_be_replayed(nameserver):
    proof = make_proof(nameserver.secret)
    first, second = Proxy(nameserver_uri(nameserver)), Proxy(nameserver_uri(nameserver))
    first._pyroHandshake = second._pyroHandshake = {"auth": proof}
    first.count()  # the genuine client
    with pytest.raises(errors.CommunicationError, match="authentication failed"):
        second.count()


def test_a_stale_handshake_is_refused(nameserver):
    proof = make_proof(nameserver.secret)
    proof["time"] = f"{time.time() - 3600:.3f}"
    proxy = Proxy(nameserver_uri(nameserver))
    proxy._pyroHandshake = {"auth": proof}
    with pytest.raises(errors.CommunicationError, match="authentication failed"):
        proxy.count()


def test_marshal_is_refused_before_anything_is_decoded(nameserver, caplog):
    proxy = Proxy(nameserver_uri(nameserver))
    proxy._pyroSerializer = "marshal"
    with caplog.at_level(logging.WARNING, logger="ultraopt.async_comm.security"), \
            pytest.raises(errors.CommunicationError, match="serializer not allowed"):
        proxy.count()
    assert "serializer id 2 is not allowed" in caplog.text


class _Anything:
    @expose
    def count(self):
        return 0


def test_clients_check_that_the_server_holds_the_secret_too(nameserver):
    """A server that accepts anyone (an impostor listening on a run's port) does not get our calls."""
    impostor = Daemon("127.0.0.1")
    impostor.register(_Anything(), objectId="anything")
    thread = threading.Thread(target=impostor.requestLoop, daemon=True)
    thread.start()
    try:
        proxy = AuthenticatedProxy(f"PYRO:anything@{impostor.locationStr}", nameserver.secret)
        with pytest.raises(errors.SecurityError, match="did not prove"):
            proxy._pyroBind()
        assert proxy._pyroConnection is None
    finally:
        impostor.shutdown()
        thread.join(5)


def test_dispatcher_refuses_results_and_workers_without_the_secret(nameserver, dispatcher):
    trial = dispatcher.submit_job(0, config_id=(0, 0, 0), config={"x": 1.0}, budget=1.0)
    intruder = Proxy(dispatcher.uri)
    with pytest.raises(errors.CommunicationError, match="authentication failed"):
        intruder.register_result([0, 1], {"worker": "intruder", "evaluation": {"status": "success", "loss": -1e9}})
    with pytest.raises(errors.CommunicationError, match="authentication failed"):
        intruder.heartbeat("intruder")
    assert dispatcher.results == [] and trial.loss is None


def test_worker_refuses_jobs_and_shutdown_without_the_secret(nameserver):
    worker = Worker(nameserver.run_id).initialize(lambda config: 0.0)
    worker.run(background=True)
    deadline = time.monotonic() + 10
    while not (entries := nameserver_proxy(nameserver.credentials).call("list", prefix=worker_prefix(worker.run_id))):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (uri,) = entries.values()
    intruder = Proxy(uri)
    with pytest.raises(errors.CommunicationError, match="authentication failed"):
        intruder.shutdown()
    assert worker.thread.is_alive()
    worker.shutdown()
    worker.thread.join(5)
    assert not worker.thread.is_alive()


def test_a_process_without_the_secret_can_neither_register_nor_report(nameserver, dispatcher):
    """Another process on the machine knows the ports but not the secret."""
    dispatcher.submit_job(0, config_id=(0, 0, 0), config={"x": 1.0}, budget=1.0)
    script = textwrap.dedent(f"""
        from Pyro5.client import Proxy
        from Pyro5.errors import CommunicationError
        refused = 0
        try:
            Proxy("PYRO:Pyro.NameServer@127.0.0.1:{nameserver.credentials.port}").register(
                "{worker_prefix(nameserver.run_id)}intruder", "PYRO:x@127.0.0.1:1")
        except CommunicationError as exc:
            refused += "authentication failed" in str(exc)
        try:
            Proxy("{dispatcher.uri}").register_result([0, 1], {{"worker": "x", "evaluation": {{}}}})
        except CommunicationError as exc:
            refused += "authentication failed" in str(exc)
        print(refused)
    """)
    output = subprocess.run([sys.executable, "-c", script], env=child_env(), capture_output=True, text=True,
                            timeout=60)
    assert output.stdout.strip() == "2", output.stderr
    assert dispatcher.number_of_workers() == 0 and dispatcher.results == []
    assert nameserver_proxy(nameserver.credentials).call("list", prefix=worker_prefix(nameserver.run_id)) == {}


def test_connections_that_send_no_handshake_are_closed_and_cannot_lock_clients_out(nameserver, monkeypatch):
    monkeypatch.setattr(security, "HANDSHAKE_TIMEOUT", 0.5)
    address = (nameserver.credentials.host, nameserver.credentials.port)
    idle = [socket.create_connection(address) for _ in range(90)]  # more than the daemon has threads
    try:
        start = time.monotonic()
        idle[0].settimeout(10)
        with contextlib.suppress(ConnectionResetError):
            while idle[0].recv(4096):  # the refusal, then the close
                pass
        assert time.monotonic() - start < 3
        assert nameserver_proxy(nameserver.credentials, timeout=8).call("ping") is None  # a client of the run
    finally:
        for sock in idle:
            sock.close()


class _Slow:
    @expose
    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def test_closing_a_shared_proxy_need_not_wait_for_a_call_in_flight():
    # a worker stopping while its heartbeat waited on a frozen master waited out the call's 10 s timeout
    secret = new_secret()
    daemon = security.SecureDaemon("127.0.0.1", secret)
    uri = daemon.register(_Slow())
    serving = threading.Thread(target=daemon.requestLoop, daemon=True)
    serving.start()
    proxy = security.SharedProxy(uri, secret)
    try:
        call = threading.Thread(target=proxy.call, args=("sleep", 3.0), daemon=True)
        call.start()
        time.sleep(0.3)
        start = time.monotonic()
        proxy.close(wait=0.2)
        assert time.monotonic() - start < 1.5
        call.join(10)
        proxy.close()  # free again: closes at once
    finally:
        daemon.shutdown()
        serving.join(10)
