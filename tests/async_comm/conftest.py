"""Fixtures for the distributed tests: a name server in this process, worker processes started and killed by PID."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from ConfigSpace import ConfigurationSpace, UniformFloatHyperparameter

import ultraopt
from ultraopt.async_comm.nameserver import NameServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def run_id() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def nameserver(run_id):
    server = NameServer(run_id)
    server.start()
    yield server
    server.shutdown()


@pytest.fixture
def space() -> ConfigurationSpace:
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter("x", -5, 5)])
    return space


def child_env(**extra: str) -> dict[str, str]:
    """This environment, with this copy of the package and the tests importable in children."""
    env = dict(os.environ)
    paths = [str(REPO), str(Path(ultraopt.__file__).resolve().parents[1])]
    env["PYTHONPATH"] = os.pathsep.join(paths + [env["PYTHONPATH"]] if env.get("PYTHONPATH") else paths)
    env.update(extra)
    return env


@pytest.fixture
def spawn_worker(nameserver):
    """``spawn_worker(objective, *args, **env)``: an ``ultraopt worker`` process of the fixture's run."""
    processes: list[subprocess.Popen] = []
    credentials = nameserver.credentials

    def spawn(objective: str, *args: str, **env: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "ultraopt", "worker", "--run-id", credentials.run_id,
                   "--objective", f"tests.async_comm.objectives:{objective}", "--nameserver", credentials.host,
                   "--nameserver-port", str(credentials.port), *args]
        process = subprocess.Popen(command, env=child_env(ULTRAOPT_SECRET=credentials.secret, **env), cwd=REPO)
        processes.append(process)
        return process

    yield spawn
    for process in processes:  # only the processes this fixture started
        if process.poll() is None:
            process.kill()
        process.wait(10)
