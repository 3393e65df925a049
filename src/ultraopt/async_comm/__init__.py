"""Distributed asynchronous evaluation on Pyro5: a name server, a master, a dispatcher and workers.

- :class:`~ultraopt.async_comm.nameserver.NameServer` — where the parties of a run find each other.
- :class:`~ultraopt.async_comm.worker.Worker` — evaluates configs; subclass it or ``initialize(eval_func)``.
- :class:`~ultraopt.async_comm.dispatcher.Dispatcher` — hands jobs to workers, notices dead ones.
- :class:`~ultraopt.async_comm.master.Master` — decides what to run and records the results.

Everything binds to 127.0.0.1 unless told otherwise, and every connection must prove it holds the run's secret.
The names are imported on first use, so that a worker process does not import the master's dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ultraopt._lazy import lazy_attributes

__all__ = ["Dispatcher", "Master", "NameServer", "Worker", "nic_name_to_host"]

_LAZY = {
    "Dispatcher": "ultraopt.async_comm.dispatcher",
    "Master": "ultraopt.async_comm.master",
    "NameServer": "ultraopt.async_comm.nameserver",
    "Worker": "ultraopt.async_comm.worker",
    "nic_name_to_host": "ultraopt.async_comm.nameserver",
}

if TYPE_CHECKING:
    from ultraopt.async_comm.dispatcher import Dispatcher
    from ultraopt.async_comm.master import Master
    from ultraopt.async_comm.nameserver import NameServer, nic_name_to_host
    from ultraopt.async_comm.worker import Worker


__getattr__, __dir__ = lazy_attributes("ultraopt.async_comm", globals(), _LAZY)
