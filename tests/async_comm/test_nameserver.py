"""The name server, its credentials file, and finding the address of a network interface."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys

import pytest

from tests.async_comm.conftest import REPO, child_env
from ultraopt.async_comm import run_lock as run_lock_module
from ultraopt.async_comm.credentials import credentials_path, read_credentials, resolve_credentials
from ultraopt.async_comm.nameserver import NameServer, nameserver_proxy, nic_name_to_host


def test_start_returns_host_and_port_and_writes_json_credentials_for_the_owner_only(tmp_path):
    server = NameServer("cred-run", working_directory=tmp_path)
    host, port = server.start()
    try:
        assert host == "127.0.0.1" and port > 0
        (path,) = tmp_path.glob("*.json")
        assert json.loads(path.read_text()) == {"format": 1, "run_id": "cred-run", "host": host, "port": port,
                                                "secret": server.secret}
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert nameserver_proxy(server.credentials).call("count") == 1  # only Pyro's own entry
    finally:
        server.shutdown()
    assert list(tmp_path.iterdir()) == []
    server.shutdown()  # twice is harmless


@pytest.mark.parametrize("run_id", ["", ".", "..", "../elsewhere", "a/b", "a\\b"])
def test_a_run_id_that_is_no_file_name_is_refused(run_id, tmp_path):
    # it names the credentials file: "../x" wrote it outside the working directory
    message = rf"^run_id must be a non-empty name without .*, got {re.escape(repr(run_id))}$"
    with pytest.raises(ValueError, match=message):
        NameServer(run_id, working_directory=tmp_path / "wd")
    with pytest.raises(ValueError, match=message):
        credentials_path(tmp_path, run_id)
    assert credentials_path(tmp_path, "a..b").parent == tmp_path  # dots inside a name are fine
    assert list(tmp_path.iterdir()) == []


def test_without_a_working_directory_no_file_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with NameServer("no-file-run"):
        assert list(tmp_path.iterdir()) == []


def test_a_name_server_cannot_start_twice():
    with NameServer("twice-run") as server, pytest.raises(RuntimeError, match="already running"):
        server.start()


def test_parties_in_this_process_find_a_local_name_server(monkeypatch):
    monkeypatch.delenv("ULTRAOPT_SECRET", raising=False)
    with NameServer("local-run") as server:
        assert resolve_credentials("local-run") == server.credentials
        assert resolve_credentials("local-run", secret="mine").secret == "mine"  # explicit values win
    with pytest.raises(ValueError, match="no nameserver_port and no secret"):
        resolve_credentials("local-run")


def test_the_secret_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ULTRAOPT_SECRET", "from-env")
    assert resolve_credentials("env-run", "10.0.0.1", 9090).secret == "from-env"


def test_credentials_of_another_run_are_rejected(tmp_path):
    with NameServer("run-a", working_directory=tmp_path):
        (tmp_path / "ultraopt_run_run-a_credentials.json").rename(tmp_path / "ultraopt_run_run-b_credentials.json")
        with pytest.raises(ValueError, match="run 'run-a', not 'run-b'"):
            read_credentials(tmp_path, "run-b")


def test_missing_credentials_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="ultraopt_run_nothing_credentials.json"):
        read_credentials(tmp_path, "nothing", num_tries=2, interval=0.01)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="interface names differ")
@pytest.mark.parametrize("with_psutil", [True, False])
def test_nic_name_to_host(monkeypatch, with_psutil):
    if not with_psutil:
        monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil now raises ImportError
    assert nic_name_to_host("lo") == "127.0.0.1"
    with pytest.raises(ValueError, match="no network interface 'no-such-nic0'; interfaces: .*'lo'"):
        nic_name_to_host("no-such-nic0")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="interface names differ")
def test_a_name_server_binds_to_the_named_interface():
    with NameServer("nic-run", nic_name="lo") as server:
        assert server.credentials.host == "127.0.0.1"


def test_no_temporary_file_is_left_next_to_the_credentials(tmp_path):
    with NameServer("atomic-run", working_directory=tmp_path):
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "ultraopt_run_atomic-run_credentials.json", "ultraopt_run_atomic-run_credentials.lock"]
        assert not any(name.startswith(".credentials-") for name in os.listdir(tmp_path))


@pytest.mark.parametrize("holds_the_lock", [True, False])
def test_a_second_name_server_of_a_run_that_answers_is_refused_and_leaves_its_file_alone(tmp_path, holds_the_lock):
    with NameServer("busy-run", working_directory=tmp_path) as first:
        if not holds_the_lock:  # as a name server of another machine, sharing the directory without locks
            first._unlock_run()
        (path,) = tmp_path.glob("*.json")
        written = path.read_text()
        second = NameServer("busy-run", working_directory=tmp_path)
        refusal = f"in process {os.getpid()} of this machine" if holds_the_lock else "that answers"
        with pytest.raises(RuntimeError, match=f"already has a name server {refusal}"):
            second.start()
        second.shutdown()
        assert path.read_text() == written
        assert nameserver_proxy(first.credentials).call("ping") is None  # the first one still serves
    assert list(tmp_path.iterdir()) == []


def test_a_stopped_name_server_process_keeps_its_run(tmp_path):
    # SIGSTOPped (a suspended job), it answers nothing; taking its run over stranded its workers when it came back
    process = subprocess.Popen([sys.executable, "-m", "ultraopt", "nameserver", "--run-id", "paused-run",
                                "--working-directory", str(tmp_path)], stdout=subprocess.PIPE, text=True,
                               env=child_env(), cwd=REPO)
    try:
        assert "name server of run 'paused-run'" in process.stdout.readline()
        written = read_credentials(tmp_path, "paused-run")
        process.send_signal(signal.SIGSTOP)
        with pytest.raises(RuntimeError, match=f"in process {process.pid} of this machine"):
            NameServer("paused-run", working_directory=tmp_path).start()
        assert read_credentials(tmp_path, "paused-run") == written
        process.send_signal(signal.SIGCONT)
        assert nameserver_proxy(written).call("ping") is None
        process.kill()  # dead now: its run can be served again
        process.wait(10)
        with NameServer("paused-run", working_directory=tmp_path) as server:
            assert read_credentials(tmp_path, "paused-run") == server.credentials
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.wait(10)


def test_a_credentials_file_of_a_dead_name_server_is_replaced(tmp_path):
    dead = NameServer("restarted-run", working_directory=tmp_path)
    dead.start()
    dead._daemon.shutdown()  # as if its process was killed: the files stay, nothing answers, the lock is free
    dead._daemon = None
    run_lock_module._HELD_LOCKS.discard(dead._run_lock._fd)
    os.close(dead._run_lock._fd)
    dead._run_lock = None
    with NameServer("restarted-run", working_directory=tmp_path) as server:
        assert read_credentials(tmp_path, "restarted-run") == server.credentials


def test_shutdown_removes_the_credentials_file_only_while_it_is_ours(tmp_path):
    server = NameServer("replaced-run", working_directory=tmp_path)
    server.start()
    (path,) = tmp_path.glob("*.json")
    other = dict(json.loads(path.read_text()), port=1, secret="another")
    path.write_text(json.dumps(other))  # another name server of the run wrote its own since
    server.shutdown()
    assert json.loads(path.read_text()) == other
