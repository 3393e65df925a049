"""The dispatcher: pairs queued jobs with idle workers, collects results, and notices dead workers within seconds.

Threads and connections
-----------------------
- A Pyro5 daemon (bound to loopback unless ``host`` says otherwise, open only to holders of the run's secret)
  receives from each worker, over one kept-open connection: its results (:meth:`Dispatcher.register_results`,
  all that piled up while the previous message was on its way), its heartbeats and its announcement when it
  starts (:meth:`Dispatcher.trigger_discover_worker`).
- Jobs go out at once, from the thread that made a pairing possible (the master submitting, a result arriving,
  a worker joining): the oldest queued jobs to the least loaded workers (a worker may hold jobs beyond the one
  it computes, so that it never waits for the master between cheap jobs; how many the master keeps out is its
  ``job_queue_sizes``), in one one-way message per worker on one kept-open connection per worker.
  No thread hand-over sits between a result and the next job.
- The monitor thread looks for new workers in the name server (at once when a worker announces itself, else
  every ``ping_interval`` seconds) and checks the heartbeats.

Dead workers
------------
A worker is declared dead — and every job it holds goes back to the front of the queue, or is returned as ``LOST``
once it has been tried ``max_retries + 1`` times — as soon as:

- its connection to the dispatcher closes (a killed or crashed process: immediate; a vanished machine: TCP
  keepalive, about 4 s),
- sending it a job fails, or
- no heartbeat arrived for ``heartbeat_timeout`` seconds (a frozen process) — unless ``is_alive`` says that its
  process is alive and running.

Silence alone cannot tell a frozen worker (stopped, or a machine gone) from a busy one whose objective holds the
GIL in one long C call (a regex, a big sort, many C extensions): that starves the worker's heartbeat thread too.
For a remote worker the dispatcher can only wait, so give such objectives a ``heartbeat_timeout`` longer than their
longest C call. Whoever started the worker processes can tell the two apart, and says so through ``is_alive``:
:class:`~ultraopt.executors.async_comm.LocalAsyncCommExecutor` (``fmin(n_jobs>1)``) passes one that reads the
state of its own processes, so that a busy process is never taken for dead, and a stopped or vanished one is.

Only the job the worker was running counts as a try (``trial.attempt`` is incremented): the oldest one it holds,
as a worker runs its jobs in the order they were sent. Jobs that were only queued at it (``job_queue_sizes``)
go out again unchanged, so that a worker dying for reasons of its own never makes a job that it never started
``LOST``. The oldest job may have finished, though, with its result still on the way when the next job killed
the worker: so every job a dead worker held runs again *alone*, on a worker that holds no other job, and a
death there is that job's own. A config that crashes its worker is thus ``LOST`` after ``max_retries`` more tries
of its own, and a good config run before it on the same worker is charged one try at most. A worker stopped on
purpose (Ctrl-C, SIGTERM, its idle timeout) says so before it goes (:meth:`Dispatcher.worker_leaving`): its jobs
go out again without being charged.

A result is accepted once per trial, whoever sends it first (a worker taken for dead that comes back may still
deliver); any later result for the same trial is ignored.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from Pyro5 import errors
from Pyro5.server import expose

from ultraopt.async_comm.credentials import (
    Credentials,
    changed_credentials,
    clear_stopped,
    credentials_path,
    mark_stopped,
    resolve_credentials,
)
from ultraopt.async_comm.nameserver import (
    LIVENESS_TIMEOUT,
    LOOPBACK,
    dispatcher_name,
    nameserver_proxy,
    worker_prefix,
)
from ultraopt.async_comm.run_lock import LockHeld, RunLock
from ultraopt.async_comm.security import SecureDaemon, SharedProxy, wake
from ultraopt.objective import Evaluation
from ultraopt.trial import Trial, TrialStatus

__all__ = ["Dispatcher", "Worker"]

logger = logging.getLogger(__name__)
# Seconds between two checks that the name server still holds the dispatcher's registration.
_REGISTRATION_CHECK_PERIOD = 5.0

#: Seconds between two heartbeat checks of the monitor thread.
MONITOR_PERIOD = 0.5
#: Seconds to connect to a newly discovered worker.
CONNECT_TIMEOUT = 3.0
# Results computed for an earlier master of the run that a dispatcher holds for trials not submitted yet, at most.
_ORPHANS_HELD = 10_000


class Worker:
    """The dispatcher's record of one worker: its connection and the jobs it holds.

    Parameters
    ----------
    name : str
        The worker's name (as in its heartbeats).
    uri : str
        The Pyro5 URI of the worker's service.
    """

    def __init__(self, name: str, uri: str):
        self.name = name
        self.uri = str(uri)
        self.proxy: SharedProxy | None = None
        self.jobs: dict[int, Trial] = {}  # sent and not reported, by trial id
        self.last_seen = time.monotonic()

    def connect(self, secret: str, timeout: float = CONNECT_TIMEOUT) -> None:
        """Open the connection to the worker (raises :class:`Pyro5.errors.CommunicationError` if it is gone)."""
        self.proxy = SharedProxy(self.uri, secret, timeout=timeout)
        self.proxy.connect()

    def is_alive(self) -> bool:
        """Whether the worker answers."""
        try:
            self.is_busy()
            return True
        except errors.CommunicationError:
            return False

    def is_busy(self) -> bool:
        """Whether the worker holds a job it has not reported."""
        if self.proxy is None:
            raise errors.CommunicationError(f"not connected to worker {self.name}")
        return bool(self.proxy.call("is_busy"))

    def start_computation(self, callback: str, trial: Trial, working_directory: str) -> None:
        """Send ``trial`` to the worker (one-way: returns without waiting for the worker)."""
        self.start_computations(callback, [trial], working_directory)

    def hand_over(self, dispatcher_uri: str) -> tuple[list[Any], list[Any]]:
        """``(results, running)``: the results the worker holds that no dispatcher took (``[[id, result, job],
        ...]``, see :meth:`Dispatcher.register_orphan_results`) and the job it runs now (``[[id, job]]`` or
        ``[]``); the worker takes the dispatcher at ``dispatcher_uri`` for the run's. An older worker without the
        call has nothing to give."""
        assert self.proxy is not None
        try:
            handed = self.proxy.call("hand_over", dispatcher_uri)
        except errors.CommunicationError:
            raise
        except Exception as exc:  # noqa: BLE001 - a worker that cannot hand anything over still computes
            logger.debug("worker %s handed nothing over: %r", self.name, exc)
            return [], []
        if not isinstance(handed, dict):
            return [], []
        results, running = handed.get("results"), handed.get("running")
        return (results if isinstance(results, list) else []), (running if isinstance(running, list) else [])

    def start_computations(self, callback: str, trials: list[Trial], working_directory: str) -> None:
        """Send several trials in one one-way message."""
        assert self.proxy is not None
        self.proxy.call("start_computations", callback, [
            {"config_id": list(trial.config_id), "job": [trial.trial_id, trial.attempt], "config": trial.config,
             "config_info": trial.config_info, "budget": trial.budget, "working_directory": working_directory}
            for trial in trials
        ])

    def shutdown(self) -> None:
        """Ask the worker to stop (one-way); a worker that is gone already is fine."""
        if self.proxy is not None:
            with contextlib.suppress(errors.CommunicationError):
                self.proxy.call("shutdown")

    def close(self) -> None:
        """Close the connection to the worker."""
        if self.proxy is not None:
            self.proxy.close()

    def __repr__(self) -> str:
        return f"Worker({self.name!r}, {self.uri!r}, jobs={sorted(self.jobs)})"


def _evaluated(trial: Trial) -> tuple[Any, ...]:
    """What a worker evaluated for ``trial``, as an orphan result records it."""
    return list(trial.config_id), trial.config, float(trial.budget)


class Dispatcher:
    """Runs jobs on the workers of run ``run_id``; the Pyro5 side of the asynchronous executor.

    Parameters
    ----------
    new_result_callback : callable
        ``new_result_callback(trial)`` with each finished :class:`~ultraopt.trial.Trial` (success, failure or
        ``LOST``), from a thread of the dispatcher.
    run_id : str
        The run whose workers to use.
    ping_interval : float
        Seconds between two looks into the name server for new workers (workers also announce themselves).
    nameserver, nameserver_port : str, int, optional
        Where the run's name server is; found in this process or in ``working_directory`` when not given.
    host : str, optional
        Address the dispatcher's daemon binds to, reachable from the workers; ``127.0.0.1`` by default.
    queue_callback : callable, optional
        ``queue_callback(number_of_workers)`` whenever a worker joins or leaves.
    secret : str, optional
        The run's secret (found like ``nameserver``, or in ``ULTRAOPT_SECRET``).
    working_directory : str
        Passed to every job (the workers' ``compute`` receives it); also where a credentials file is looked for.
    max_retries : int
        How often a job whose worker died runs again before it is returned as ``LOST``.
    heartbeat_timeout : float
        Seconds without a heartbeat (sent every second) after which a worker is declared dead.
    prefetch : int, optional
        At most this many jobs queued at a worker beyond the one it computes; ``None`` (default): no limit of its
        own — the master decides how many jobs are out (``job_queue_sizes``) and they are spread evenly.
    is_alive : callable, optional
        ``is_alive(worker_name)``, asked (from the monitor thread) about a worker silent for ``heartbeat_timeout``:
        ``True`` when its process is known to be alive and running (it stays, however long the silence), ``False``
        when it is known to be gone or stopped, ``None`` when unknown (the heartbeat rule decides).
    """

    def __init__(
        self,
        new_result_callback: Callable[[Trial], Any],
        run_id: str = "0",
        ping_interval: float = 10,
        nameserver: str | None = "localhost",
        nameserver_port: int | None = None,
        host: str | None = None,
        queue_callback: Callable[[int], Any] | None = None,
        *,
        secret: str | None = None,
        working_directory: str = ".",
        max_retries: int = 3,
        heartbeat_timeout: float = 4.0,
        prefetch: int | None = None,
        is_alive: Callable[[str], bool | None] | None = None,
    ):
        self.new_result_callback = new_result_callback
        self.run_id = str(run_id)
        self.ping_interval = float(ping_interval)
        self.nameserver = nameserver
        self.nameserver_port = nameserver_port
        self.host = host
        self.queue_callback = queue_callback
        self.secret = secret
        self.working_directory = str(working_directory)
        self.max_retries = int(max_retries)
        self.heartbeat_timeout = float(heartbeat_timeout)
        self.prefetch = prefetch
        self.is_alive = is_alive
        self.uri: str | None = None
        self._credentials: Credentials | None = None
        self._cond = threading.Condition()
        self._queue: OrderedDict[int, Trial] = OrderedDict()  # waiting for a worker
        self._pending: dict[int, Trial] = {}  # submitted and not finished
        self._alone: set[int] = set()  # ids of jobs held by a worker that died: they run on a worker of their own
        # results computed for an earlier master of the run, for trials not submitted here (yet): by trial id
        self._orphans: OrderedDict[int, tuple[Any, Any, tuple[Any, ...]]] = OrderedDict()
        # what a worker was running for an earlier master when found, for trials not submitted here: by trial id
        self._running_elsewhere: dict[int, tuple[str, tuple[Any, ...]]] = {}
        self._workers: dict[str, Worker] = {}
        self._dead: dict[str, str] = {}  # name -> uri of dead workers still to remove from the name server
        self._backlog = False  # whether the last job_runner left jobs queued because no worker had room
        self._stop = threading.Event()
        self._discover_now = threading.Event()
        self._threads: list[threading.Thread] = []
        self._daemon: SecureDaemon | None = None
        self._ns: SharedProxy | None = None
        self._run_lock: RunLock | None = None

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        """Serve in background threads: register in the name server, find workers, dispatch jobs."""
        if self._daemon is not None:
            raise RuntimeError("the dispatcher is already running")
        self._lock_run()
        try:
            credentials = resolve_credentials(
                self.run_id, self.nameserver, self.nameserver_port, self.secret, self.working_directory
            )
            self._credentials = credentials
            self._ns = nameserver_proxy(credentials)
            self._daemon = SecureDaemon(self.host or LOOPBACK, credentials.secret, on_disconnect=self._on_disconnect)
        except BaseException:
            self._unlock_run()
            raise
        try:
            self.uri = str(self._daemon.register(self, objectId=f"ultraopt.dispatcher.{self.run_id}"))
            try:
                other = self._live_dispatcher()
                if other is None:
                    self._ns.call("register", dispatcher_name(self.run_id), self.uri)
            except errors.CommunicationError as exc:  # a bare "receiving: timeout" did not say from whom
                raise type(exc)(
                    f"the name server of run {self.run_id!r} at {credentials.host}:{credentials.port} did not answer "
                    f"({exc}): is it running there, with this run's secret?"
                ) from exc
            if other is not None:
                raise RuntimeError(
                    f"run {self.run_id!r} already has a dispatcher that answers, at {other}: another master is "
                    "running it (two would share and shut down each other's workers); stop it, or give this "
                    "run another run_id"
                )
            if self.working_directory is not None:  # an earlier master's word that the workers stop no longer holds
                with contextlib.suppress(OSError):
                    clear_stopped(self.working_directory, self.run_id)
        except BaseException:
            # nothing serves: shutdown() (called by the caller's clean-up) must not mask this error
            self._daemon.close()
            self._ns.close()
            self._daemon = self._ns = None
            self._unlock_run()
            raise
        for target, name in ((self._daemon.requestLoop, "daemon"), (self._monitor, "monitor")):
            args = (lambda: not self._stop.is_set(),) if name == "daemon" else ()
            thread = threading.Thread(target=target, args=args, name=f"ultraopt-dispatcher-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        logger.info("dispatcher of run %r serving on %s", self.run_id, self.uri)

    def _lock_run(self) -> None:
        """Hold the run's master lock beside its credentials file, when there is one (a name server of the run
        serves this working directory): a master that is only stopped (SIGSTOP, a suspended job) answers nothing,
        and one that took its run over would share its workers with it when it came back (see
        :mod:`~ultraopt.async_comm.run_lock`)."""
        credentials_file = credentials_path(self.working_directory, self.run_id)
        if not credentials_file.exists():
            return
        lock = RunLock(credentials_file.with_name(f"ultraopt_run_{self.run_id}_master.lock"))
        try:
            lock.acquire()
        except LockHeld as held:
            raise RuntimeError(
                f"run {self.run_id!r} already has a master in process {held.holder} of this machine (it holds "
                f"{held.path}), which may be stopped or busy rather than dead: stop that process, or give this run "
                "another run_id"
            ) from None
        except OSError as exc:  # a directory this process cannot write: the liveness check alone guards the run
            logger.debug("no master lock for run %r: %s", self.run_id, exc)
            return
        self._run_lock = lock

    def _unlock_run(self) -> None:
        if self._run_lock is not None:
            self._run_lock.release()
            self._run_lock = None

    def _live_dispatcher(self) -> str | None:
        """The URI of the run's dispatcher in the name server if it answers (a killed master's does not)."""
        assert self._ns is not None and self._credentials is not None
        try:
            uri = str(self._ns.call("lookup", dispatcher_name(self.run_id)))
        except errors.NamingError:
            return None
        other = SharedProxy(uri, self._credentials.secret, timeout=LIVENESS_TIMEOUT)
        try:
            other.connect()
        except errors.CommunicationError:
            return None
        finally:
            other.close()
        return uri

    def run(self) -> None:
        """Serve until :meth:`shutdown` is called (from another thread)."""
        self.start()
        self._stop.wait()

    def shutdown(self, shutdown_workers: bool = False) -> None:
        """Stop serving; with ``shutdown_workers``, ask every worker to stop too. Harmless when not running."""
        if self._stop.is_set():
            return
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._discover_now.set()
        for thread in self._threads[1:]:
            thread.join(timeout=5)
        if shutdown_workers:
            self.shutdown_all_workers()
            # workers it could not reach (cut off from a killed master's name server) read it and stop too
            if self.working_directory is not None and credentials_path(self.working_directory, self.run_id).exists():
                with contextlib.suppress(OSError):
                    mark_stopped(self.working_directory, self.run_id)
        if self._ns is not None:
            self._remove_from_nameserver(dispatcher_name(self.run_id), only_if=self.uri)
            self._ns.close()
        with self._cond:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.close()
        if self._daemon is not None:  # it served (a start that failed said why, and nothing stopped)
            wake(self._daemon)
            if self._threads:
                self._threads[0].join(timeout=5)
            self._daemon.close()
            logger.info("dispatcher of run %r stopped", self.run_id)
        self._unlock_run()

    def shutdown_all_workers(self, rediscover: bool = False) -> None:
        """Ask every known worker to stop; with ``rediscover``, look for workers again afterwards."""
        with self._cond:
            workers = list(self._workers.values())
        for worker in workers:
            worker.shutdown()
        if rediscover:
            self.trigger_discover_worker()

    # ------------------------------------------------------------------ jobs
    def submit(self, trial: Trial, dispatch: bool = True) -> None:
        """Queue ``trial`` (status ``RUNNING``); it comes back through ``new_result_callback`` exactly once.

        With ``dispatch=False`` it only waits in the queue until the next :meth:`job_runner` (so that a caller
        submitting several trials sends them in one message per worker).
        """
        if self._stop.is_set():
            raise RuntimeError("the dispatcher was shut down")
        with self._cond:
            self._pending[trial.trial_id] = trial
            orphan = self._orphans.pop(trial.trial_id, None)
            computed = orphan is not None and orphan[2] == _evaluated(trial)
            if not computed and not self._adopt(trial):
                self._queue[trial.trial_id] = trial
        if computed:
            assert orphan is not None
            logger.info("took the result computed for an earlier master of run %r for trial %d", self.run_id,
                        trial.trial_id)
            self.register_results([list(orphan[:2])])
        elif dispatch:
            self.job_runner()

    def submit_job(self, id: int, **kwargs: Any) -> Trial:  # noqa: A002 - the seed's name
        """Queue a new trial with id ``id`` made of ``kwargs``: ``config_id`` (a triplet of ints), ``config`` and
        ``budget``, optionally ``config_info``. A ``working_directory`` (as HpBandSter's master passes) is ignored:
        the dispatcher's own goes to the workers.

        Raises
        ------
        TypeError
            When an entry is missing or unknown; the message shows the call expected.
        """
        kwargs.pop("working_directory", None)
        try:
            trial = Trial(trial_id=id, status=TrialStatus.RUNNING, attempt=1, **kwargs)
        except TypeError as exc:
            raise TypeError(f"submit_job(id, config_id=(i, j, k), config={{...}}, budget=b[, config_info={{...}}]) "
                            f"with id the trial's int id: {exc}") from exc
        self.submit(trial)
        return trial

    def job_runner(self) -> None:
        """Send queued jobs to workers with room, in the calling thread.

        Called after every change that can make a pairing possible — a job submitted, a result in, a worker
        joining or leaving — by the thread that made the change, so that no hand-over to another thread delays a
        job. Each send is one-way (it does not wait for the worker); sends to one worker are serialised by its
        connection's lock.
        """
        while self._queue and not self._stop.is_set():  # unlocked peek: an empty queue needs no lock
            batches: dict[str, tuple[Worker, list[Trial]]] = {}
            with self._cond:
                while (assignment := self._next_assignment()) is not None:
                    trial, worker = assignment
                    batches.setdefault(worker.name, (worker, []))[1].append(trial)
                self._backlog = bool(self._queue)  # jobs left for want of room: the next result sends them
            if not batches:
                return
            for worker, trials in batches.values():  # one message per worker
                try:
                    worker.start_computations(self.uri, trials, self.working_directory)  # type: ignore[arg-type]
                except errors.CommunicationError as exc:
                    self._lose_worker(worker.name, f"sending it {len(trials)} job(s) failed ({exc})")

    def _next_assignment(self) -> tuple[Trial, Worker] | None:
        """The oldest queued job that a worker has room for, and the least loaded such worker (call with the lock
        held). A worker running a job that must run alone takes no other, and such a job goes to an idle worker."""
        if not self._queue:
            return None
        room = [w for w in self._workers.values()  # (_alone is empty unless a worker died: skip its test then)
                if (self.prefetch is None or len(w.jobs) <= self.prefetch)
                and (not self._alone or self._alone.isdisjoint(w.jobs))]
        if not room:
            return None
        worker = min(room, key=lambda w: len(w.jobs))
        for trial_id, trial in self._queue.items():
            if trial_id not in self._alone or not worker.jobs:
                del self._queue[trial_id]
                worker.jobs[trial_id] = trial
                return trial, worker
        return None

    def cancel(self, trial_ids: list[int]) -> None:
        """Forget trials the caller gave up on: queued ones are never sent, and a worker's death does not run
        them again; a result that still comes for one is ignored."""
        with self._cond:
            for trial_id in trial_ids:
                self._pending.pop(trial_id, None)
                self._queue.pop(trial_id, None)
                self._alone.discard(trial_id)

    @expose
    def register_result(self, id: Any = None, result: Any = None) -> None:  # noqa: A002 - the seed's name
        """Take the result of job ``id`` (``[trial_id, attempt]``) from a worker (called through the daemon)."""
        self.register_results([[id, result]])

    @expose
    def register_results(self, results: Any) -> None:
        """Take several results ``[[id, result], ...]`` at once (workers send what piled up in one message).

        A malformed entry is skipped: the trials of the other entries, taken out of the pending ones already,
        must reach the master whatever comes after them.
        """
        finished = []
        try:
            for entry in results:
                try:
                    id_, result = entry
                except (TypeError, ValueError):
                    logger.warning("ignored a malformed entry of a result batch: %.200r", entry)
                    continue
                if (trial := self._take_result(id_, result)) is not None:
                    finished.append(trial)
        finally:
            for trial in finished:
                self.new_result_callback(trial)
        with self._cond:
            backlog = self._backlog
        if backlog:  # jobs were waiting for room, which the reporter has now; other queued jobs are still being
            self.job_runner()  # submitted: their submitter sends them, all in one message per worker

    @expose
    def register_orphan_results(self, results: Any) -> None:
        """Take results ``[[id, result, job], ...]`` that a worker computed for an earlier master of the run, which
        died before they arrived (called through the daemon).

        ``job`` holds the ``config_id``, ``config`` and ``budget`` the worker evaluated. A result is taken only for
        a trial of the same id, config id, config and budget (a resumed run gives its trials the ids they had), so
        that a trial the resumed master runs again is not computed twice: a pending one at once, one submitted
        later when it is (the newest 10,000 are held); any other is ignored.
        """
        matching = []
        for entry in results if isinstance(results, list) else []:
            try:
                id_, result, job = entry
                trial_id = int(id_[0])
                evaluated = (list(job["config_id"]), job["config"], float(job["budget"]))
            except Exception:  # noqa: BLE001 - whatever a client sent, it is not a result of ours
                logger.warning("ignored a malformed orphan result: %.200r", entry)
                continue
            with self._cond:
                trial = self._pending.get(trial_id)
                if trial is None:  # a resumed master may not have submitted it yet
                    self._orphans[trial_id] = (id_, result, evaluated)
                    self._orphans.move_to_end(trial_id)
                    while len(self._orphans) > _ORPHANS_HELD:
                        self._orphans.popitem(last=False)
                    continue
                same = _evaluated(trial) == evaluated
            if same:
                matching.append([id_, result])
            else:
                logger.debug("ignored a result for trial %d computed for an earlier master: not pending here as it "
                             "was evaluated", trial_id)
        if matching:
            logger.info("took %d result(s) computed for an earlier master of run %r: %s", len(matching), self.run_id,
                        [id_[0] for id_, _ in matching])
            self.register_results(matching)

    def _note_running(self, worker: Worker, entry: Any) -> None:
        """Take ``entry`` (``[id, job]``), a job ``worker`` runs for an earlier master, for the same trial here if
        it is queued (or when it is submitted): its result comes from that worker (call with the lock held)."""
        try:
            id_, job = entry
            trial_id = int(id_[0])
            evaluated = (list(job["config_id"]), job["config"], float(job["budget"]))
        except Exception:  # noqa: BLE001 - whatever a client sent, it is not a job of ours
            logger.warning("ignored a malformed running job of worker %s: %.200r", worker.name, entry)
            return
        if self._workers.get(worker.name) is not worker:
            return
        self._running_elsewhere[trial_id] = (worker.name, evaluated)
        if (trial := self._queue.get(trial_id)) is not None and self._adopt(trial):
            del self._queue[trial_id]

    def _adopt(self, trial: Trial) -> bool:
        """Give ``trial`` to the worker that runs it already for an earlier master, if one does (call with the
        lock held); ``True`` when it did."""
        worker_name, evaluated = self._running_elsewhere.pop(trial.trial_id, (None, None))
        worker = self._workers.get(worker_name) if worker_name is not None else None
        if worker is None or evaluated != _evaluated(trial):
            return False
        worker.jobs[trial.trial_id] = trial
        logger.info("trial %d of run %r: worker %s runs it already, for an earlier master", trial.trial_id,
                    self.run_id, worker.name)
        return True

    def _take_result(self, id: Any, result: Any) -> Trial | None:  # noqa: A002
        """The trial that ``result`` finishes, or ``None`` when it is malformed or the trial has a result already."""
        try:
            trial_id, worker_name = int(id[0]), str(result["worker"])
        except Exception:  # noqa: BLE001 - whatever a client sent, it is not a result of ours
            logger.warning("ignored a malformed result for job %.200r", id)
            return None
        with self._cond:
            reporter = self._workers.get(worker_name)
            if reporter is not None:
                reporter.last_seen = time.monotonic()
            trial = self._pending.pop(trial_id, None)
            self._alone.discard(trial_id)
            if trial is None:
                if reporter is not None:
                    reporter.jobs.pop(trial_id, None)
                logger.debug("ignored a result for trial %d from %s: it has one already", trial_id, worker_name)
                return None
            self._queue.pop(trial_id, None)
            for worker in ([reporter] if reporter is not None else []) + list(self._workers.values()):
                if worker.jobs.pop(trial_id, None) is not None:
                    break
        if trial.status.is_finished:  # the master gave up on it (a limit, Ctrl-C): its record stands
            logger.debug("ignored a late result for trial %d from %s: it is %s", trial_id, worker_name, trial.status)
            return None
        try:
            Evaluation.from_dict(result["evaluation"]).apply_to(trial, worker=worker_name)
        except Exception as exc:  # noqa: BLE001 - the trial is out of the pending ones: it must finish somehow
            trial.finish(TrialStatus.FAILED, error=f"worker {worker_name} sent a malformed result: {exc!r}")
            trial.worker = worker_name
        return trial

    # ------------------------------------------------------------------ workers
    @expose
    def trigger_discover_worker(self) -> None:
        """Look for new workers in the name server now (workers call this when they start)."""
        self._discover_now.set()

    @expose
    def heartbeat(self, worker_name: str) -> bool:
        """A worker is alive; ``False`` tells it that it is unknown and must register again."""
        with self._cond:
            worker = self._workers.get(worker_name)
            if worker is not None:
                worker.last_seen = time.monotonic()
            return worker is not None

    def number_of_workers(self) -> int:
        """How many workers are known and alive."""
        return len(self._workers)

    def wait_for_workers(self, min_n_workers: int = 1, timeout: float | None = None) -> bool:
        """Block until at least ``min_n_workers`` workers are known; ``False`` on timeout or shutdown."""
        with self._cond:
            self._cond.wait_for(lambda: len(self._workers) >= min_n_workers or self._stop.is_set(), timeout)
            return len(self._workers) >= min_n_workers

    def discover_workers(self) -> int:
        """Connect to the workers registered in the name server that are not known yet; returns the worker count."""
        assert self._ns is not None and self._credentials is not None, "start() the dispatcher first"
        prefix = worker_prefix(self.run_id)
        entries = self._ns.call("list", prefix=prefix)
        with self._cond:
            known, dead = set(self._workers), dict(self._dead)
        found: list[Worker] = []
        orphans: list[Any] = []
        running: list[tuple[Worker, Any]] = []
        for entry, uri in entries.items():
            name = entry[len(prefix):]
            if name in known or dead.get(name) == uri:
                continue
            worker = Worker(name, uri)
            try:
                worker.connect(self._credentials.secret)
                # before it gets a job: a trial whose result it holds, or that it runs (for a master this one
                # replaced), is not sent to it, or any other, again
                results, runs = worker.hand_over(str(self.uri))
                orphans.extend(results)
                running.extend((worker, run) for run in runs)
            except errors.CommunicationError as exc:
                logger.info("worker %s registered but unreachable (%s): removing it", name, exc)
                self._remove_from_nameserver(entry)
                continue
            found.append(worker)
        if orphans:
            self.register_orphan_results(orphans)
        with self._cond:
            duplicates = [worker for worker in found if self._workers.setdefault(worker.name, worker) is not worker]
            for worker, entry in running:  # in the lock that adds the workers: no job goes out before
                self._note_running(worker, entry)
            n_workers = len(self._workers)
            self._cond.notify_all()
        for worker in duplicates:  # found by a concurrent discovery too
            worker.close()
            found.remove(worker)
        if found:
            logger.info("%d new worker(s): %s; %d in all", len(found), [w.name for w in found], n_workers)
            if self.queue_callback is not None:
                self.queue_callback(n_workers)
            self.job_runner()
        return n_workers

    def _monitor(self) -> None:
        next_discovery = 0.0
        next_registration_check = time.monotonic() + _REGISTRATION_CHECK_PERIOD
        last_check = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() >= next_registration_check:
                next_registration_check = time.monotonic() + _REGISTRATION_CHECK_PERIOD
                self._check_registration()
            if self._discover_now.is_set() or time.monotonic() >= next_discovery:
                self._discover_now.clear()
                next_discovery = time.monotonic() + self.ping_interval
                try:
                    self.discover_workers()
                except errors.CommunicationError as exc:
                    logger.warning("cannot reach the name server of run %r: %s", self.run_id, exc)
                except Exception:  # keep watching the workers whatever the name server answered
                    logger.exception("looking for workers of run %r failed", self.run_id)
            now = time.monotonic()
            paused, last_check = now - last_check > self.heartbeat_timeout, now
            with self._cond:
                if paused:  # this process did not run (stopped, suspended): the silence is ours, not the workers'
                    logger.warning("the master did not run for a while: its workers get a new %g s to be heard",
                                   self.heartbeat_timeout)
                    for worker in self._workers.values():
                        worker.last_seen = now
                silent = [w.name for w in self._workers.values() if now - w.last_seen > self.heartbeat_timeout]
                dead, self._dead = self._dead, {}
            for name in silent:
                if not self._known_to_run(name):
                    self._lose_worker(name, f"no heartbeat for {self.heartbeat_timeout:g} s")
            for name in dead:
                self._remove_from_nameserver(worker_prefix(self.run_id) + name, only_if=dead[name])
            self._discover_now.wait(MONITOR_PERIOD)

    def _known_to_run(self, name: str) -> bool:
        """Whether ``is_alive`` says that silent worker ``name`` is alive and running (asked again at every check,
        so that one stopped later is lost at once)."""
        if self.is_alive is None:
            return False
        try:
            return self.is_alive(name) is True
        except Exception:  # keep watching the workers whatever the hook did
            logger.exception("is_alive(%r) failed", name)
            return False

    def _check_registration(self) -> None:
        """Register again in a name server that lost the registration (it was restarted), so that new workers
        find this dispatcher at once rather than at the next discovery."""
        assert self._ns is not None
        try:
            self._ns.call("lookup", dispatcher_name(self.run_id))
        except errors.NamingError:
            self._ns.call("register", dispatcher_name(self.run_id), self.uri)
            logger.info("dispatcher of run %r registered again in the name server", self.run_id)
        except errors.CommunicationError as exc:
            logger.debug("cannot check the registration in the name server: %s", exc)
            self._follow_credentials_file()
        except Exception:  # keep watching the workers whatever the name server answered
            logger.exception("checking the registration of run %r in the name server failed", self.run_id)

    def _follow_credentials_file(self) -> None:
        """Move to the name server of the run's credentials file when it changed (a name server restarted
        without ``--port`` and secret gets new ones), if this dispatcher found its name server there."""
        if self.working_directory is None or (self.nameserver_port is not None and self.secret is not None):
            return
        credentials = changed_credentials(self.working_directory, self.run_id, self._credentials)
        if credentials is None:
            return
        assert self._daemon is not None and self._ns is not None
        self._daemon.use_secret(credentials.secret)  # the new name server's workers come with its secret
        old, self._ns, self._credentials = self._ns, nameserver_proxy(credentials), credentials
        old.close()
        logger.info("dispatcher of run %r: the run's name server is now %s:%d (credentials file)", self.run_id,
                    credentials.host, credentials.port)
        self._check_registration()

    @expose
    def worker_leaving(self, worker_name: str) -> None:
        """A worker stops of its own accord (Ctrl-C, SIGTERM, its idle timeout): the jobs it holds go out again,
        and none of them is charged a try, as none crashed it (a closed connection alone looks like a crash)."""
        if not self._stop.is_set():
            self._lose_worker(str(worker_name), "it stopped", charge=False)

    def _on_disconnect(self, worker_name: str) -> None:
        if not self._stop.is_set():
            self._lose_worker(worker_name, "its connection closed")

    def _lose_worker(self, name: str, reason: str, charge: bool = True) -> None:
        """Forget a worker; its jobs go back to the queue, or come back ``LOST`` after too many attempts.

        ``charge``: the worker died, so the job it was running used up a try; ``False`` for a worker that said it
        stops.
        """
        lost = []
        with self._cond:
            worker = self._workers.pop(name, None)
            if worker is None:
                return
            self._dead[name] = worker.uri
            # A worker runs its jobs in the order they were sent, so only the oldest one it holds was running:
            # that one used up an attempt; the others were only queued there and simply go out again.
            running = next(iter(worker.jobs), None) if charge else None
            for trial_id, trial in reversed(list(worker.jobs.items())):
                if trial_id not in self._pending:
                    continue  # cancelled: nobody waits for it
                if trial_id == running and trial.attempt > self.max_retries:
                    self._pending.pop(trial_id, None)
                    self._alone.discard(trial_id)
                    trial.finish(TrialStatus.LOST, error=f"its worker died on each of {trial.attempt} attempts "
                                                         f"(the last one, {name}: {reason})")
                    trial.worker, trial.end_time = name, time.time()
                    lost.append(trial)
                    continue
                if trial_id == running:
                    trial.attempt += 1
                if charge:
                    self._alone.add(trial_id)  # the one that killed the worker, if any, must not take another along
                self._queue[trial_id] = trial
                self._queue.move_to_end(trial_id, last=False)
            n_jobs, n_workers = len(worker.jobs), len(self._workers)
            worker.jobs.clear()
            self._cond.notify_all()
        (logger.warning if charge else logger.info)(
            "worker %s is gone (%s): %d job(s) to run again, %d lost; %d worker(s) left",
            name, reason, n_jobs - len(lost), len(lost), n_workers)
        worker.close()
        for trial in lost:
            self.new_result_callback(trial)
        if self.queue_callback is not None:
            self.queue_callback(n_workers)
        self.job_runner()  # the requeued jobs, to the workers left

    def _remove_from_nameserver(self, entry: str, only_if: str | None = None) -> None:
        """Remove ``entry`` from the name server (only if it still points to ``only_if``, when given)."""
        assert self._ns is not None
        try:
            if only_if is None or self._ns.call("list", prefix=entry).get(entry) == only_if:
                self._ns.call("remove", entry)
        except errors.CommunicationError as exc:
            logger.debug("could not remove %s from the name server: %s", entry, exc)
