"""Trials run asynchronously on a Dask cluster: yours (a ``distributed.Client``) or a local one made for the run."""

from __future__ import annotations

import contextlib
import logging
import math
import time
import traceback
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import dask
from distributed import CancelledError, Client, KilledWorker, LocalCluster, WorkerPlugin

from ultraopt.checks import check_int
from ultraopt.executors.base import NoWorkerReminder
from ultraopt.executors.futures import FuturesExecutor, InfrastructureFailure, Outcome, Report, TaskError
from ultraopt.executors.remote import (
    explain_unpicklable,
    install_objective,
    new_token,
    refuse_in_daemonic_process,
    run_installed,
    uninstall_objective,
)
from ultraopt.interrupts import interrupt_deferred
from ultraopt.objective import Objective, send_by_value_if_unimportable
from ultraopt.trial import Trial

if TYPE_CHECKING:
    from distributed import Future

__all__ = [
    "DaskExecutor",
    "ObjectivePlugin",
    "install_on_cluster",
    "is_closed",
    "local_cluster_options",
    "start_local_cluster",
]

logger = logging.getLogger(__name__)

#: How long the cached count of worker threads is trusted, in seconds.
_THREADS_TTL = 1.0


class ObjectivePlugin(WorkerPlugin):
    """Installs a run's objective in each Dask worker, once: on every worker now, and on each that joins later.

    The scheduler keeps the plugin and hands it to every worker that registers, so a worker restarted by its
    nanny after a crash, or added by an adaptive cluster, gets the objective without the client's help. The
    objective is therefore shipped once per worker, not once per trial, and no scattered data can be lost.
    """

    def __init__(self, token: str, objective: Objective) -> None:
        self.token = token
        self.objective = objective

    def setup(self, worker: Any) -> None:
        install_objective(self.token, self.objective)

    def teardown(self, worker: Any) -> None:
        uninstall_objective(self.token)
        close = getattr(self.objective, "close", None)  # a LimitedObjective stops its helper processes
        if callable(close):
            close()


def is_closed(client: Client) -> bool:
    """Whether ``client`` was closed (or is closing): nothing can be submitted through it any more."""
    return client.status in ("closing", "closed")


_PLUGIN_PREFIX = "ultraopt-objective-"


def install_on_cluster(client: Client, token: str, objective: Objective) -> str:
    """Install ``objective`` under ``token`` on every worker of ``client``'s cluster; return the plugin's name.

    The name holds the client's id. A run whose process was killed could not remove its objective: the first run
    after it does, once the scheduler no longer knows that client.
    """
    _remove_orphaned_objectives(client)
    name = f"{_PLUGIN_PREFIX}{token}-{client.id}"
    send_by_value_if_unimportable(objective)
    with explain_unpicklable(objective):
        client.register_plugin(ObjectivePlugin(token, objective), name=name)
    return name


def _remove_orphaned_objectives(client: Client) -> None:
    """Unregister the objectives of runs whose client left the scheduler without removing them (a killed run)."""
    plugins, clients = client.run_on_scheduler(_plugins_and_clients)
    for name in plugins:
        owner = name[len(_PLUGIN_PREFIX):].partition("-")[2]
        if name.startswith(_PLUGIN_PREFIX) and owner and owner not in clients:
            logger.info("removing %s from the Dask cluster: the run that installed it is gone", name)
            _unregister(client, name)


def _unregister(client: Client, name: str) -> None:
    """Remove the objective from the cluster; a failure is logged, as it must not lose the finished run."""
    try:
        client.unregister_worker_plugin(name)
    except Exception as exc:  # noqa: BLE001 - KeyError: a worker restarted (e.g. by a Ctrl-C) never had it
        logger.warning("could not remove the objective %s from every Dask worker (%r)", name, exc)


def _plugins_and_clients(dask_scheduler: Any) -> tuple[list[str], list[str]]:
    """On the scheduler: the names of its worker plugins and the ids of its clients."""
    return list(dask_scheduler.worker_plugins), list(dask_scheduler.clients)


def local_cluster_options(n_workers: int) -> dict[str, Any]:
    """``LocalCluster`` arguments: single-threaded worker processes, everything bound to 127.0.0.1.

    The Bokeh dashboard is off; the scheduler's small HTTP server (health checks) listens on a free loopback port
    rather than on 8787, which another cluster of the machine may hold.
    """
    return {
        "n_workers": n_workers,
        "threads_per_worker": 1,
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": None,
        "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
    }


def start_local_cluster(n_workers: int) -> tuple[LocalCluster, Client]:
    """A cluster of ``n_workers`` single-threaded worker processes bound to 127.0.0.1, and a client of it.

    Dask's own rescheduling of tasks whose worker died is turned off (``allowed-failures: 0``) so that the
    executor does every retry itself and ``trial.attempt`` counts every run of a trial.
    """
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(**local_cluster_options(n_workers))
    try:
        client = Client(cluster, set_as_default=False)
    except BaseException:
        cluster.close()
        raise
    return cluster, client


def _kill_worker_processes(cluster: LocalCluster) -> None:
    """Kill the worker processes of a cluster this executor created (a graceful close waits seconds per worker
    for trials that were cancelled but keep running, which would overrun the run's time limit).

    Each nanny is first told that the cluster closes: it would otherwise start a new worker in place of the
    killed one, and the cluster's close would wait for that worker to come up.
    """
    for nanny in list(cluster.workers.values()):
        with contextlib.suppress(Exception):  # closed already
            nanny.close_gracefully(reason="ultraopt: the run stopped")
        process = getattr(getattr(nanny, "process", None), "process", None)  # Nanny -> WorkerProcess -> process
        if process is not None:
            with contextlib.suppress(Exception):  # already gone
                process.kill()


def _allowed_failures(client: Client) -> int:
    """How many times the scheduler of ``client`` reschedules a task whose worker died before ``KilledWorker``."""
    try:
        return int(client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures))
    except Exception:  # noqa: BLE001 - an old or locked-down scheduler: Dask's default
        return int(dask.config.get("distributed.scheduler.allowed-failures", 3))


# Seconds a close of our own cluster may take; distributed 2024.1 can wait for ever after workers died.
_CLUSTER_CLOSE_TIMEOUT = 30


def _close_cluster(cluster: LocalCluster) -> None:
    """Close a cluster this executor created; a close that fails or hangs must not fail the finished run."""
    try:
        cluster.close(timeout=_CLUSTER_CLOSE_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - e.g. a nanny that was restarting a worker as the cluster closed
        logger.warning("the local Dask cluster did not close cleanly (%r): killing its worker processes", exc)
        _kill_worker_processes(cluster)


#: Dask's loggers that report the workers killed at shutdown as failures (closed comms, tasks of dead workers).
_SHUTDOWN_NOISE = ("distributed.batched", "distributed.core", "distributed.scheduler", "distributed.worker")


@contextlib.contextmanager
def _shutdown_noise_muted() -> Iterator[None]:
    """Mute the tracebacks and errors Dask logs about the workers this executor kills when its cluster closes."""
    loggers = [logging.getLogger(name) for name in _SHUTDOWN_NOISE]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for each, level in zip(loggers, levels):
            each.setLevel(level)


# How often a wait on a cluster of our own looks whether its workers are still there.
_CLUSTER_CHECK_SECONDS = 2.0


async def fetch_outcome(client: Client, future: Future, report: Report) -> None:
    """Wait for ``future`` on the client's event loop, fetch its result and ``report`` the outcome.

    Results are fetched here, as they complete and several at once, rather than by the Master's thread: a fetch
    is a round trip to the cluster, and the Master meanwhile records results and proposes the next configs.
    """
    try:
        _, evaluation, worker = await client.gather(future, asynchronous=True)
        outcome: Outcome = (evaluation, worker)
    except KilledWorker as error:
        outcome = InfrastructureFailure(f"KilledWorker: {error}")
    except CancelledError:
        outcome = InfrastructureFailure("the Dask task was cancelled")
    except Exception as error:
        outcome = TaskError("".join(traceback.format_exception(type(error), error, error.__traceback__)))
    report(outcome)


class DaskExecutor(FuturesExecutor):
    """Runs each trial as a Dask future and hands trials back as they complete (no batch barrier).

    The objective is installed on every worker once by an :class:`ObjectivePlugin`; each trial is a task
    ``run_installed(token, trial_id, config, budget)`` submitted with ``pure=False`` and a key of its own
    (``ultraopt-trial-<run>-<trial id>-<attempt>``), so a noisy objective is never served from a cache.

    Two failure channels stay apart. An objective that raises is a result: the task returns a ``FAILED``
    evaluation and Dask never sees an error. A worker that dies is an infrastructure failure: the trial runs
    again with ``attempt`` incremented, up to ``max_retries`` times, then is returned ``LOST``. On a cluster you
    pass in, Dask first reschedules a task whose worker died by itself (up to the scheduler's
    ``distributed.scheduler.allowed-failures`` times, not counted in ``attempt``); the executor retries once Dask
    gives up with ``KilledWorker``. On the cluster the executor creates, Dask does not reschedule and the executor
    counts every attempt. Dask's reschedules count toward ``max_retries``, but the executor always retries at least
    once: a worker that dies takes down the trials queued on it and the results it held, and Dask cannot tell which
    trial killed it. A trial that runs again therefore runs alone, once the others finished, so that a config that
    kills its worker every time ends ``LOST`` without the trials beside it.

    Parameters
    ----------
    client : distributed.Client, optional
        A client of your cluster (on SLURM, PBS or Kubernetes through dask-jobqueue or dask-kubernetes, say). It is
        left running at shutdown. Without one, a ``LocalCluster`` of ``n_workers`` single-threaded processes bound
        to 127.0.0.1 is created by :meth:`start` and closed by :meth:`shutdown`.
    n_workers : int
        Workers of the created cluster (unused with ``client``).
    max_running : int, optional
        At most this many trials submitted at once; by default the cluster's worker threads plus ``n_queued``.
    n_queued : int, optional
        Trials submitted beyond the worker threads so that a worker starts its next trial without waiting for the
        Master (pipelining); one per worker thread by default.
    max_retries : int
        How many times a trial runs again after its worker died, before it is returned ``LOST``.
    """

    def __init__(
        self,
        client: Client | None = None,
        n_workers: int = 2,
        max_running: int | None = None,
        n_queued: int | None = None,
        max_retries: int = 3,
    ) -> None:
        super().__init__(max_retries)
        self.n_workers = check_int("n_workers", n_workers, 1)
        self.max_running = None if max_running is None else check_int("max_running", max_running, 1)
        self.n_queued = None if n_queued is None else check_int("n_queued", n_queued, 0)
        self._client = client
        self._cluster: LocalCluster | None = None
        self._token = ""
        self._plugin: str | None = None
        self._threads = 0
        self._threads_checked = -math.inf
        self._retries: deque[Trial] = deque()  # trials to run again, one at a time, alone
        self._no_worker = NoWorkerReminder(logger)
        self._dask_reschedules = 0  # how many times the scheduler retries a task whose worker died, by itself

    @property
    def client(self) -> Client | None:
        """The client trials are submitted through (the created cluster's once :meth:`start` ran)."""
        return self._client

    @property
    def owns_cluster(self) -> bool:
        """Whether the executor created the cluster (and closes it at shutdown)."""
        return self._cluster is not None

    def start(self, objective: Objective) -> None:
        if self._client is not None and is_closed(self._client):
            raise ValueError(f"the Dask client is {self._client.status}: pass a client that is not closed")
        if self._client is None:
            refuse_in_daemonic_process("Dask")
            with interrupt_deferred(until="the local Dask cluster is up"):  # else nobody could close it
                self._cluster, self._client = start_local_cluster(self.n_workers)
            logger.info("started a local Dask cluster of %d workers at %s", self.n_workers,
                        self._cluster.scheduler_address)
        self._token = new_token()
        self._plugin = install_on_cluster(self._client, self._token, objective)
        self._dask_reschedules = 0 if self._cluster is not None else _allowed_failures(self._client)

    @property
    def _retries_left_to_us(self) -> int:
        # every try kills a worker: on a LocalCluster, 4 x 4 deaths per config made the nannies give up
        return max(self.max_retries - self._dask_reschedules, 1)

    def _launch(self, trial: Trial, report: Report) -> Future:
        assert self._client is not None and self._plugin is not None, "start() must be called before submit()"
        self._check_client()
        future = self._client.submit(
            run_installed, self._token, trial.trial_id, trial.config, trial.budget,
            key=f"ultraopt-trial-{self._token}-{trial.trial_id}-{trial.attempt}", pure=False,
        )
        loop = self._client.loop
        assert loop is not None, "the client is closed"
        loop.add_callback(fetch_outcome, self._client, future, report)
        return future

    def submit(self, trial: Trial) -> None:
        if trial.attempt > 1:  # its worker died (here or in a killed master's session): it runs alone
            self._retries.append(trial)
            self._run_next_retry()
        else:
            super().submit(trial)

    def _run_next_retry(self) -> None:
        if self._retries and not self._running:
            super().submit(self._retries.popleft())

    @property
    def n_running(self) -> int:
        return super().n_running + len(self._retries)

    @property
    def n_free_slots(self) -> int:
        # a retry runs alone: while one waits or runs (the only trials past their first attempt), nothing joins it
        alone = self._retries or any(trial.attempt > 1 for trial, _ in self._running.values())
        return 0 if alone else super().n_free_slots

    def wait(self, timeout: float | None = None) -> list[Trial]:
        # The cluster is watched while we wait: a client that closed (its scheduler died) would never report the
        # running trials, and the workers of a cluster of our own must not all go away under them.
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = _CLUSTER_CHECK_SECONDS if deadline is None else max(deadline - time.monotonic(), 0.0)
            finished = super().wait(min(left, _CLUSTER_CHECK_SECONDS))
            self._run_next_retry()
            if finished or not self._running:
                return finished
            self._check_client()
            if self._cluster is not None:
                self._restore_workers()
            else:  # a cluster of the user's whose workers all went away (or have yet to start) does not say so
                self._no_worker.check(
                    self._worker_threads(), "the Dask cluster has no workers: %d trial(s) wait for one (a worker "
                    "that died again and again may have been closed by its nanny); add workers, or stop the run "
                    "with Ctrl-C, which keeps the trials finished so far", self.n_running)
            if deadline is not None and time.monotonic() >= deadline:
                return finished

    def _check_client(self) -> None:
        """Raise when the client closed under the run: Dask gives up on a scheduler it lost for 30 s."""
        if self._client is not None and is_closed(self._client):
            raise RuntimeError(f"the Dask client closed during the run ({len(self._running)} trial(s) were running): "
                               "its scheduler is gone or the client was closed; the trials finished so far are kept")

    def _restore_workers(self) -> None:
        """Bring the cluster this executor created back to ``n_workers`` workers: a nanny whose worker process died
        again and again closes, and with every worker gone the running trials would wait for ever."""
        assert self._cluster is not None
        if len(self._cluster.workers) < self.n_workers:
            logger.warning("the local Dask cluster has %d of %d workers left: starting more",
                           len(self._cluster.workers), self.n_workers)
            self._cluster.scale(self.n_workers)

    @property
    def n_slots(self) -> int:
        threads = self._worker_threads()
        slots = max(threads, 1) + (threads if self.n_queued is None else self.n_queued)
        return slots if self.max_running is None else min(slots, self.max_running)

    def _worker_threads(self) -> int:
        """Worker threads of the cluster, asked at most once a second (workers may join or leave)."""
        if self._client is None:
            return self.n_workers
        now = time.monotonic()
        if now - self._threads_checked > _THREADS_TTL:
            self._threads = sum(self._client.nthreads().values())
            self._threads_checked = now
        return self._threads

    def shutdown(self) -> None:
        """Cancel running trials and remove the objective from the workers; close the cluster if it was created."""
        client, cluster = self._client, self._cluster
        if client is None or (cluster is None and self._plugin is None):
            return  # never started, or already shut down
        plugin, self._plugin = self._plugin, None
        futures = [future for _, future in self._running.values()]
        self._running.clear()
        self._retries.clear()
        try:
            if is_closed(client):
                pass  # nothing to cancel or remove through it (raising here would hide why the run stopped)
            elif futures:
                client.cancel(futures)
            if cluster is None and plugin is not None and client.status == "running":
                _unregister(client, plugin)
        finally:
            if cluster is not None:
                self._cluster = self._client = None
                with _shutdown_noise_muted():
                    if futures:  # a cancelled task still runs in its worker thread: the nanny would wait for it
                        _kill_worker_processes(cluster)
                    try:
                        client.close()
                    finally:
                        _close_cluster(cluster)
