"""The seed's public API: module paths, class names, constructor parameters (in order, with their defaults)."""

from __future__ import annotations

import inspect
import math

import pytest

import ultraopt.async_comm as async_comm
from ultraopt.async_comm import dispatcher, master, nameserver, worker


def positional(callable_) -> list[tuple[str, object]]:
    """The parameters a caller may pass by position, with their defaults (extras are keyword-only)."""
    return [(name, p.default) for name, p in inspect.signature(callable_).parameters.items()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


empty = inspect.Parameter.empty


@pytest.mark.parametrize(("cls", "expected"), [
    (nameserver.NameServer, [("run_id", empty), ("working_directory", None), ("host", None), ("port", 0),
                             ("nic_name", None)]),
    (worker.Worker, [("run_id", empty), ("nameserver", None), ("nameserver_port", None), ("host", None),
                     ("worker_id", None), ("timeout", None), ("debug", False)]),
    (dispatcher.Dispatcher, [("new_result_callback", empty), ("run_id", "0"), ("ping_interval", 10),
                             ("nameserver", "localhost"), ("nameserver_port", None), ("host", None),
                             ("queue_callback", None)]),
    (dispatcher.Worker, [("name", empty), ("uri", empty)]),
    (master.Master, [("run_id", empty), ("optimizer", empty), ("iter_generator", empty),
                     ("progress_callback", master.no_progress_callback), ("checkpoint_file", None),
                     ("checkpoint_freq", 10), ("working_directory", "."), ("ping_interval", 60),
                     ("time_left_for_this_task", math.inf), ("nameserver", "127.0.0.1"), ("nameserver_port", None),
                     ("host", None), ("shutdown_workers", True), ("job_queue_sizes", (-1, 0)),
                     ("dynamic_queue_size", True), ("result_logger", None), ("previous_result", None),
                     ("incumbents", None), ("incumbent_performances", None)]),
])
def test_constructors(cls, expected):
    assert positional(cls) == expected


@pytest.mark.parametrize(("cls", "methods"), [
    (nameserver.NameServer, {"start": [], "shutdown": []}),
    (worker.Worker, {"compute": ["config_id", "config", "config_info", "budget", "working_directory"],
                     "initialize": ["eval_func"], "is_busy": [],
                     "load_nameserver_credentials": ["working_directory", "num_tries", "interval"],
                     "run": ["background", "concurrent_type"], "shutdown": [],
                     "start_computation": ["callback", "config_id"]}),
    (dispatcher.Dispatcher, {"discover_workers": [], "job_runner": [], "number_of_workers": [],
                             "register_result": ["id", "result"], "run": [], "shutdown": ["shutdown_workers"],
                             "shutdown_all_workers": ["rediscover"], "submit_job": ["id"],
                             "trigger_discover_worker": []}),
    (dispatcher.Worker, {"is_alive": [], "is_busy": [], "shutdown": []}),
    (master.Master, {"active_iterations": [], "adjust_queue_size": ["number_of_workers"],
                     "get_next_iteration": ["iteration", "iteration_kwargs"], "job_callback": ["job"],
                     "run": ["n_iterations", "min_n_workers", "iteration_kwargs"], "shutdown": ["shutdown_workers"],
                     "wait_for_workers": ["min_n_workers"]}),
])
def test_methods(cls, methods):
    for name, parameters in methods.items():
        assert [p for p, _ in positional(getattr(cls, name))][1:] == parameters, name


def test_defaults_of_the_seed_methods():
    assert inspect.signature(worker.Worker.run).parameters["concurrent_type"].default == "thread"
    assert inspect.signature(worker.Worker.load_nameserver_credentials).parameters["num_tries"].default == 60
    assert inspect.signature(master.Master.run).parameters["n_iterations"].default == 1
    assert inspect.signature(master.Master.run).parameters["iteration_kwargs"].default == {}
    assert inspect.signature(dispatcher.Dispatcher.shutdown).parameters["shutdown_workers"].default is False


def test_package_exports():
    assert async_comm.NameServer is nameserver.NameServer and async_comm.Worker is worker.Worker
    assert async_comm.Dispatcher is dispatcher.Dispatcher and async_comm.Master is master.Master
    assert async_comm.nic_name_to_host is nameserver.nic_name_to_host
