"""The worker: evaluates the configs the dispatcher sends it, one at a time, and reports each result.

A worker serves a Pyro5 daemon (bound to loopback unless ``host`` says otherwise), registers under its run id in
the name server, and announces itself to the dispatcher. Jobs arrive one-way (``start_computation``, or several
in one message), so the dispatcher never waits, into a local queue, so that the next job is already here when one
finishes. A compute thread evaluates them in order through :class:`~ultraopt.objective.Objective` (an exception in
the objective is a failed job with its traceback, and the worker goes on). Results go to the dispatcher over one
kept-open connection, which also carries a heartbeat every :attr:`Worker.heartbeat_interval` seconds: from a
report thread while more jobs wait (all that piled up in one message), from the compute thread for the last one.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import secrets
import socket
import threading
import time
from collections import OrderedDict
from typing import Any

from Pyro5 import errors
from Pyro5.server import expose, oneway

from ultraopt.async_comm.credentials import (
    Credentials,
    changed_credentials,
    read_credentials,
    resolve_credentials,
    stopped_at,
)
from ultraopt.async_comm.nameserver import LOOPBACK, dispatcher_name, nameserver_proxy, worker_prefix
from ultraopt.async_comm.security import (
    AUTHENTICATION_FAILED,
    AuthenticatedProxy,
    SecureDaemon,
    SharedProxy,
    wake,
)
from ultraopt.objective import Evaluation, Objective, failed_evaluation

__all__ = ["Worker"]

logger = logging.getLogger(__name__)

_worker_numbers = itertools.count()
_names_serving: set[str] = set()  # the names of this process's workers that serve now
_names_lock = threading.Lock()
_tag: tuple[int, str] | None = None  # (pid, token) of _process_tag

#: How often the compute thread tries to deliver a result before giving it up.
_REPORT_TRIES = 20
# Results no dispatcher took that a worker keeps for the next one, at most (the newest).
_ORPHANS_KEPT = 1000
# Failed calls in a row to the name server or dispatcher before a worker warns, and between warnings.
_FAILURES_BEFORE_WARNING = 5
_FAILURES_PER_WARNING = 60
# ... and before it reads its credentials file again (a restarted name server may have written a new one).
_FAILURES_BEFORE_REREAD = 3
# Heartbeat periods without a master registered for the run before a worker says so (a mistyped run id waits for
# ever), then _FAILURES_PER_WARNING between warnings.
_WAITS_BEFORE_WARNING = 30
# Seconds a stopping worker gives the dispatcher to take its goodbye (a frozen master must not hold it up).
_GOODBYE_TIMEOUT = 2.0


def _process_tag() -> str:
    """``pid.token`` of this process: containers that share a host name (host networking) each have a process 1,
    so the pid alone named two workers alike; the token is drawn again in a forked child."""
    global _tag
    pid = os.getpid()
    if _tag is None or _tag[0] != pid:
        _tag = (pid, secrets.token_hex(2))
    return f"{pid}.{_tag[1]}"


def _claim_name(worker_id: Any) -> str:
    """A name ``host.pid.token.id`` for a worker of this process that no other worker serves under now (the
    dispatcher knows a worker by its name: two of the same name would be one, and the other would never get a
    job)."""
    prefix = f"{socket.gethostname()}.{_process_tag()}."
    with _names_lock:
        if worker_id is not None:
            name = prefix + str(worker_id)
            if name in _names_serving:
                raise ValueError(f"worker_id {worker_id!r} is taken by another worker of this process")
        else:
            name = next(candidate for number in _worker_numbers
                        if (candidate := prefix + str(number)) not in _names_serving)
        _names_serving.add(name)
        return name


class _WorkerService:
    """What the dispatcher may call on a worker (nothing else of the worker is reachable remotely)."""

    def __init__(self, worker: Worker):
        self._worker = worker

    @expose
    @oneway
    def start_computation(self, callback: str, config_id: Any, *args: Any, **kwargs: Any) -> None:
        self._worker.start_computation(callback, config_id, *args, **kwargs)

    @expose
    @oneway
    def start_computations(self, callback: str, jobs: list[dict[str, Any]]) -> None:
        """Several jobs in one message (each a dict of ``start_computation``'s keyword arguments and ``config_id``)."""
        for job in jobs:
            self._worker.start_computation(callback, job.pop("config_id"), **job)

    @expose
    def is_busy(self) -> bool:
        return self._worker.is_busy()

    @expose
    def hand_over(self, dispatcher_uri: str) -> dict[str, list[list[Any]]]:
        return self._worker.hand_over(dispatcher_uri)

    @expose
    @oneway
    def shutdown(self) -> None:
        self._worker.shutdown()


class _Runtime:
    """What a running worker holds; created by :meth:`Worker.run`, never pickled."""

    def __init__(self, name: str, credentials: Credentials):
        self.name = name
        self.credentials = credentials
        self.stop = threading.Event()
        self.jobs: queue.SimpleQueue[tuple[str, Any, dict[str, Any], int] | None] = queue.SimpleQueue()
        self.outbox: queue.SimpleQueue[tuple[str, Any, dict[str, Any], dict[str, Any]] | None] = queue.SimpleQueue()
        # results no dispatcher took, with what was evaluated: offered to the next dispatcher that knows this worker
        self.orphans: list[list[Any]] = []
        # results no dispatcher took yet (being reported, or orphans), by trial id: a new dispatcher gets them before
        # it sends a job, and a job of the same trial and config sent anyway gets its result without running again
        self.unreported: OrderedDict[int, list[Any]] = OrderedDict()
        self.in_progress: list[Any] | None = None  # [job, evaluated] of the job in the objective now
        self.lock = threading.Lock()
        self.n_jobs = 0  # received and not reported yet
        self.n_received = 0  # jobs received in all; they are numbered in this order
        self.n_taken_back = 0  # jobs numbered up to this were taken back: their dispatcher took this worker for dead
        self.last_active = time.monotonic()
        self.dispatchers: dict[str, SharedProxy] = {}  # by URI: one kept-open connection each
        self.dispatcher_uri: str | None = None  # the run's dispatcher, as the name server last said
        self.latest_callback: str | None = None  # the dispatcher that sent the newest job
        self.daemon: SecureDaemon | None = None
        self.uri: str | None = None
        self.objective: Objective | None = None
        self.current: dict[str, Any] = {}
        self.evaluating = False  # the compute thread is in the objective
        # why it could not serve: the name server refused its secret for good, or none answered before its timeout
        self.cannot_serve: str | None = None
        self.timed_out = False  # it stopped after ``timeout`` seconds without a job
        self.started_at = time.time()  # a master that stopped the run's workers after this stopped this one too
        self.run_stopped = False  # it stopped because a master had stopped the run's workers while it was cut off


class Worker:
    """Evaluates configs for the dispatcher of run ``run_id``.

    Subclass it and override :meth:`compute`, or call :meth:`initialize` with a function; then :meth:`run`.

    Parameters
    ----------
    run_id : str
        The run to serve.
    nameserver : str, optional
        Host of the run's name server; found in this process or through :meth:`load_nameserver_credentials` when
        not given.
    nameserver_port : int, optional
        Port of the run's name server (found like ``nameserver``).
    host : str, optional
        Address this worker's daemon binds to, reachable from the dispatcher; ``127.0.0.1`` by default.
    worker_id : str, optional
        Distinguishes several workers of one process in their names (a counter by default).
    timeout : float, optional
        Seconds without a job after which the worker shuts itself down; ``None`` waits forever.
    debug : bool
        Log this module at DEBUG level.
    secret : str, optional
        The run's secret; found like ``nameserver`` (or in the ``ULTRAOPT_SECRET`` environment variable).

    Attributes
    ----------
    heartbeat_interval : float
        Seconds between heartbeats to the dispatcher.
    """

    heartbeat_interval: float = 1.0

    def __init__(
        self,
        run_id: str,
        nameserver: str | None = None,
        nameserver_port: int | None = None,
        host: str | None = None,
        worker_id: Any = None,
        timeout: float | None = None,
        debug: bool = False,
        *,
        secret: str | None = None,
    ):
        self.run_id = str(run_id)
        self.nameserver = nameserver
        self.nameserver_port = nameserver_port
        self.host = host
        self.worker_id = worker_id
        self.timeout = timeout
        self.secret = secret
        self.debug = debug
        if debug:
            logger.setLevel(logging.DEBUG)
        self.eval_func: Any = None
        self.thread: threading.Thread | None = None
        self.process: Any = None  # a subprocess.Popen with concurrent_type="process"
        self._runtime: _Runtime | None = None
        self._stop_requested = False
        self._raises_refusal = False  # run() in the calling thread raises a refused secret; a background one logs it
        self._credentials_directory: str | None = None  # read again when the name server cannot be reached

    # ------------------------------------------------------------------ what users override or call
    def compute(
        self, config_id: Any, config: dict[str, Any], config_info: dict[str, Any], budget: float,
        working_directory: str,
    ) -> dict[str, Any]:
        """Evaluate ``config`` on ``budget``; override this (or call :meth:`initialize`).

        Parameters
        ----------
        config_id : tuple of int
            ``(iteration, stage, running index)`` of the config.
        config : dict
            The config, as plain JSON-able values.
        config_info : dict
            Where the config came from.
        budget : float
            The fidelity to evaluate on.
        working_directory : str
            The master's working directory (shared filesystem), e.g. to keep a model between budgets.

        Returns
        -------
        dict
            ``{"loss": float, "info": ...}`` (a plain float loss is accepted too); ``info`` must be JSON-able.
        """
        raise NotImplementedError("override Worker.compute or call Worker.initialize(eval_func) before run()")

    def initialize(self, eval_func: Any) -> Worker:
        """Evaluate configs with ``eval_func(config)`` or ``eval_func(config, budget)`` instead of :meth:`compute`."""
        if not callable(eval_func):
            raise TypeError(f"eval_func must be callable, got {type(eval_func).__name__}")
        self.eval_func = eval_func
        return self

    def load_nameserver_credentials(
        self, working_directory: str | os.PathLike[str], num_tries: int = 60, interval: float = 1
    ) -> None:
        """Read host, port and secret of the run's name server from the credentials file in ``working_directory``.

        Looks ``num_tries`` times, ``interval`` seconds apart, for the file to appear (the master may start later).
        """
        credentials = read_credentials(working_directory, self.run_id, num_tries, interval)
        self.nameserver, self.nameserver_port, self.secret = credentials.host, credentials.port, credentials.secret
        self._credentials_directory = os.fspath(working_directory)

    def run(self, background: bool = False, concurrent_type: str = "thread") -> None:
        """Serve until :meth:`shutdown` (or the idle ``timeout``).

        Parameters
        ----------
        background : bool
            ``False`` serves in the calling thread; ``True`` returns at once and serves in a daemon thread or a
            child process.
        concurrent_type : {"thread", "process"}
            With ``background``: a thread of this process (fine for objectives that release the GIL or only
            wait), or a process of its own (CPU-bound objectives in Python). The process receives this worker,
            objective included, pickled with cloudpickle through a pipe; it stops when this process closes the
            pipe or dies.

        Raises
        ------
        ValueError
            In the calling thread (``background=False``): when the name server keeps refusing the worker's secret
            and no credentials file (:meth:`load_nameserver_credentials`) can bring the right one, or when the
            idle ``timeout`` passed before any name server answered. A background worker logs it and stops.
        """
        if concurrent_type not in ("thread", "process"):
            raise ValueError(f"concurrent_type must be 'thread' or 'process', got {concurrent_type!r}")
        credentials = resolve_credentials(self.run_id, self.nameserver, self.nameserver_port, self.secret)
        self.nameserver, self.nameserver_port, self.secret = credentials.host, credentials.port, credentials.secret
        # A stop asked for after an earlier run does not stop this one; one asked for before the first run does (a
        # worker process whose parent let go while it started served on until it was terminated).
        if self._runtime is not None:
            self._stop_requested = False
        self._raises_refusal = not background
        if not background:
            self._serve()
            if self._runtime is not None and self._runtime.cannot_serve is not None:
                raise ValueError(self._runtime.cannot_serve)
        elif concurrent_type == "thread":
            self.thread = threading.Thread(target=self._serve, name=f"ultraopt-worker-{self.run_id}", daemon=True)
            self.thread.start()
        else:
            from ultraopt.async_comm.process import start_worker_process

            self.process = start_worker_process(self)

    def shutdown(self) -> None:
        """Stop serving: unregister, close the daemon, let :meth:`run` return. Harmless when not running."""
        if self.process is not None:
            from ultraopt.async_comm.process import stop_worker_process

            stop_worker_process(self.process)
            return
        self._stop_requested = True  # seen by _serve if it has not created its runtime yet
        runtime = self._runtime
        if runtime is None or runtime.stop.is_set():
            return
        logger.info("worker %s shutting down", runtime.name)
        runtime.stop.set()
        runtime.jobs.put(None)
        wake(runtime.daemon)  # the request loop of _serve sees the stop flag and cleans up

    @property
    def timed_out(self) -> bool:
        """Whether the worker's last :meth:`run` (in this process) stopped after ``timeout`` seconds without a job."""
        runtime = self._runtime
        return runtime is not None and runtime.timed_out

    @property
    def run_stopped(self) -> bool:
        """Whether the worker's last :meth:`run` (in this process) stopped because a master had stopped the run's
        workers while this one could not be reached (see :func:`~ultraopt.async_comm.credentials.mark_stopped`)."""
        runtime = self._runtime
        return runtime is not None and runtime.run_stopped

    def is_busy(self) -> bool:
        """Whether the worker holds a job it has not reported yet."""
        runtime = self._runtime
        return runtime is not None and runtime.n_jobs > 0

    def hand_over(self, dispatcher_uri: str) -> dict[str, list[list[Any]]]:
        """What a dispatcher that found this worker needs before it sends a job (a resumed master's, say):
        ``"results"`` that no dispatcher took yet, ``[[job, result, evaluated], ...]`` (the orphans among them are
        not offered again), and the job ``"running"`` now, ``[[job, evaluated]]`` or ``[]``. The dispatcher at
        ``dispatcher_uri`` is the run's from now: results for one it replaced go to it at once."""
        runtime = self._runtime
        if runtime is None:
            return {"results": [], "running": []}
        with runtime.lock:
            runtime.orphans = []
            runtime.dispatcher_uri = str(dispatcher_uri)
            running = [] if runtime.in_progress is None else [runtime.in_progress]
            return {"results": list(runtime.unreported.values()), "running": running}

    def start_computation(self, callback: str, config_id: Any, *args: Any, **kwargs: Any) -> None:
        """Queue a job (called by the dispatcher through the worker's daemon).

        Parameters
        ----------
        callback : str
            URI of the dispatcher that receives the result.
        config_id : list of int
            The config id, passed to :meth:`compute`.
        *args
            Ignored (the seed API's signature takes them).
        **kwargs
            ``job`` (the dispatcher's id of this attempt), ``config``, ``config_info``, ``budget`` and
            ``working_directory``.
        """
        runtime = self._runtime
        if runtime is None or runtime.stop.is_set():
            return  # the dispatcher notices the closed connection and runs the job elsewhere
        with runtime.lock:
            runtime.n_jobs += 1
            runtime.n_received += 1
            runtime.last_active = time.monotonic()
            runtime.latest_callback = callback
            runtime.jobs.put((callback, config_id, kwargs, runtime.n_received))

    # ------------------------------------------------------------------ serving
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_runtime=None, thread=None, process=None, _stop_requested=False)
        return state

    def _serve(self) -> None:
        name = _claim_name(self.worker_id)
        try:
            self._serve_as(name)
        finally:
            with _names_lock:
                _names_serving.discard(name)

    def _serve_as(self, name: str) -> None:
        credentials = Credentials(self.run_id, self.nameserver, self.nameserver_port, self.secret)  # type: ignore[arg-type]
        runtime = self._runtime = _Runtime(name, credentials)
        if self._stop_requested:  # stopped while it started: nothing to serve, register or say goodbye to
            runtime.stop.set()
            return
        # An Objective given by an executor is used as it is (it may carry per-trial limits); a plain function
        # or compute() is wrapped.
        runtime.objective = (self.eval_func if isinstance(self.eval_func, Objective)
                             else Objective(self.eval_func if self.eval_func is not None else self._call_compute))
        runtime.daemon = SecureDaemon(self.host or LOOPBACK, credentials.secret)
        runtime.uri = str(runtime.daemon.register(_WorkerService(self), objectId=f"ultraopt.worker.{name}"))
        threads = [
            threading.Thread(target=target, name=f"ultraopt-worker-{role}-{name}", daemon=True)
            for target, role in ((self._compute_loop, "compute"), (self._report_loop, "report"),
                                 (self._keep_in_touch, "heartbeat"))
        ]
        for thread in threads:
            thread.start()
        logger.info("worker %s of run %r serving on %s", name, self.run_id, runtime.uri)
        try:
            runtime.daemon.requestLoop(lambda: not runtime.stop.is_set())
        finally:
            self.shutdown()
            runtime.outbox.put(None)  # the report thread ends after what is queued; no more results come now
            for thread in threads:
                if thread is threads[0] and runtime.evaluating:
                    continue  # a compute thread in a job is a daemon thread: its job is not waited for
                if thread is not threading.current_thread():
                    thread.join(timeout=1.0)
            self._say_goodbye(runtime)
            self._unregister(runtime)
            for proxy in list(runtime.dispatchers.values()):
                # the dispatcher sees the connection close: this worker is gone (a heartbeat to a frozen master
                # holds it until its timeout, and this worker does not wait for that)
                proxy.close(wait=_GOODBYE_TIMEOUT)
            runtime.daemon.close()
            logger.info("worker %s stopped", name)

    def _compute_loop(self) -> None:
        """Evaluate queued jobs in order. A result goes to the report thread while more jobs wait here, so that the
        next one starts at once; the last one is sent from here, saving a hand-over between threads."""
        runtime = self._runtime
        assert runtime is not None
        while (item := runtime.jobs.get()) is not None:
            callback, config_id, kwargs, number = item
            if number <= runtime.n_taken_back:
                # The dispatcher took this worker for dead (it was stopped, or cut off) and sent the job elsewhere.
                logger.warning("worker %s: job %s skipped: its dispatcher took this worker for dead and sent it "
                               "elsewhere", runtime.name, kwargs.get("job"))
                with runtime.lock:
                    runtime.n_jobs -= 1
                continue
            if self._is_stale(runtime, callback):
                # Its master was restarted, and runs the job again: running it would only delay the new master's
                # jobs queued behind it (a master killed during a long trial queued it once per restart).
                logger.warning("worker %s: job %s skipped: its dispatcher %s is gone (the run's is now %s)",
                               runtime.name, kwargs.get("job"), callback,
                               runtime.dispatcher_uri or runtime.latest_callback)
                with runtime.lock:
                    runtime.n_jobs -= 1
                continue
            evaluated = {"config_id": list(config_id), "config": kwargs["config"], "budget": kwargs["budget"]}
            if (computed := self._computed_before(runtime, kwargs.get("job"), evaluated)) is not None:
                logger.info("worker %s: job %s was computed for an earlier master: its result is sent", runtime.name,
                            kwargs.get("job"))
            else:
                runtime.evaluating, runtime.in_progress = True, [kwargs.get("job"), evaluated]
                try:
                    evaluation = self._evaluate(runtime, config_id, kwargs)
                finally:
                    runtime.evaluating = False
                computed = {"worker": runtime.name, "evaluation": evaluation.to_dict()}
            result = (callback, kwargs.get("job"), computed, evaluated)
            # held from now: a job of the same trial queued behind this one, sent by a master that replaced this
            # one's, takes it even while it waits in the outbox
            self._hold_unreported(runtime, [list(result[1:])])
            runtime.in_progress = None  # after: a dispatcher finding this worker now sees the job or its result
            if runtime.jobs.empty():
                self._deliver(runtime, [result])
            else:
                runtime.outbox.put(result)
        runtime.outbox.put(None)

    def _report_loop(self) -> None:
        """Send results as they come; those that piled up during a send go together in the next message."""
        runtime = self._runtime
        assert runtime is not None
        done = False
        while not done and (item := runtime.outbox.get()) is not None:
            batch = [item]
            while not runtime.outbox.empty():
                more = runtime.outbox.get_nowait()
                if more is None:
                    done = True
                    break
                batch.append(more)
            self._deliver(runtime, batch)

    def _deliver(self, runtime: _Runtime, batch: list[tuple[str, Any, dict[str, Any], dict[str, Any]]]) -> None:
        """Report ``[(callback, job, result, evaluated), ...]``, one message per dispatcher (one, in practice)."""
        for callback in dict.fromkeys(item[0] for item in batch):
            self._report(runtime, callback, [list(item[1:]) for item in batch if item[0] == callback])
        with runtime.lock:
            runtime.n_jobs -= len(batch)
            runtime.last_active = time.monotonic()

    @staticmethod
    def _computed_before(runtime: _Runtime, job: Any, evaluated: dict[str, Any]) -> dict[str, Any] | None:
        """The result this worker holds of the same trial, config id, config and budget, computed for an earlier
        master of the run (which died before it arrived); ``None`` when there is none."""
        try:
            with runtime.lock:
                _, result, held = runtime.unreported[int(job[0])]
            same = (held["config_id"], held["config"], float(held["budget"])) == (
                evaluated["config_id"], evaluated["config"], float(evaluated["budget"]))
        except (KeyError, TypeError, ValueError, IndexError):
            return None
        return result if same else None

    def _evaluate(self, runtime: _Runtime, config_id: Any, kwargs: dict[str, Any]) -> Evaluation:
        runtime.current = {"config_id": tuple(config_id), "config_info": kwargs.get("config_info", {}),
                           "working_directory": kwargs.get("working_directory", ".")}
        start = time.time()
        try:
            return runtime.objective(kwargs["config"], float(kwargs["budget"]))  # type: ignore[misc]
        except BaseException as exc:  # SystemExit from the objective: fail the job rather than the compute thread
            return failed_evaluation(exc, start)

    def _call_compute(self, config: dict[str, Any], budget: float) -> Any:
        current = self._runtime.current  # type: ignore[union-attr]
        return self.compute(current["config_id"], config, current["config_info"], budget,
                            current["working_directory"])

    def _report(self, runtime: _Runtime, callback: str, results: list[list[Any]]) -> None:
        """Deliver ``[[job, result, evaluated], ...]``; a broken connection is re-opened (the dispatcher ignores a
        result it already has). Results no dispatcher takes are kept for the next one (:meth:`_offer_orphans`)."""
        jobs = [job for job, _, _ in results]
        self._hold_unreported(runtime, results)
        for attempt in range(_REPORT_TRIES):
            try:
                self._dispatcher(runtime, callback).call("register_results", [[job, result]
                                                                              for job, result, _ in results])
                self._forget_reported(runtime, results)
                return
            except errors.CommunicationError as exc:
                if self._is_stale(runtime, callback):  # a restarted master runs these jobs again, unless offered
                    logger.warning("worker %s: jobs %s belong to a dispatcher that is gone (%s); they are offered to "
                                   "the run's next one", runtime.name, jobs, exc)
                    self._keep_orphans(runtime, results)
                    self._offer_orphans_to_successor(runtime, callback)
                    return
                logger.debug("worker %s: reporting jobs %s failed (%s), retrying", runtime.name, jobs, exc)
                if runtime.stop.wait(min(0.05 * 2**attempt, 2.0)):
                    break
            except Exception:  # the dispatcher got the results and failed on them: sending again would not help
                logger.exception("worker %s: the dispatcher failed on the results of jobs %s", runtime.name, jobs)
                return
        if runtime.stop.is_set():  # shutting down: expected, and nobody is left to offer them to
            logger.debug("worker %s: could not report jobs %s to %s", runtime.name, jobs, callback)
            return
        logger.warning("worker %s: could not report jobs %s to %s; they are offered to the run's dispatcher when "
                       "it answers again", runtime.name, jobs, callback)
        self._keep_orphans(runtime, results)

    @staticmethod
    def _hold_unreported(runtime: _Runtime, results: list[list[Any]]) -> None:
        with runtime.lock:
            for entry in results:
                with contextlib.suppress(TypeError, ValueError, IndexError):
                    runtime.unreported[int(entry[0][0])] = entry
                    runtime.unreported.move_to_end(int(entry[0][0]))
            while len(runtime.unreported) > _ORPHANS_KEPT:
                runtime.unreported.popitem(last=False)

    @staticmethod
    def _forget_reported(runtime: _Runtime, results: list[list[Any]]) -> None:
        with runtime.lock:
            for entry in results:
                with contextlib.suppress(TypeError, ValueError, IndexError):
                    if runtime.unreported.get(int(entry[0][0])) is entry:
                        del runtime.unreported[int(entry[0][0])]

    @staticmethod
    def _keep_orphans(runtime: _Runtime, results: list[list[Any]]) -> None:
        with runtime.lock:
            runtime.orphans = (runtime.orphans + results)[-_ORPHANS_KEPT:]

    def _offer_orphans(self, runtime: _Runtime, dispatcher_uri: str) -> None:
        """Offer the results no dispatcher took to the run's dispatcher, which knows this worker: a resumed master
        takes those of the trials it runs again rather than compute them twice."""
        with runtime.lock:
            orphans, runtime.orphans = runtime.orphans, []
        try:
            self._dispatcher(runtime, dispatcher_uri).call("register_orphan_results", orphans)
        except errors.CommunicationError:
            self._keep_orphans(runtime, orphans)
            raise
        logger.info("worker %s: offered %d result(s) computed for an earlier master", runtime.name, len(orphans))

    def _offer_orphans_to_successor(self, runtime: _Runtime, gone: str) -> None:
        """Offer the orphans now to the dispatcher that replaced the one at ``gone``, when this worker knows it: at
        the next heartbeat, the new master may have sent their trials to another worker meanwhile."""
        successor = next((uri for uri in (runtime.latest_callback, runtime.dispatcher_uri) if uri not in (None, gone)),
                         None)
        if successor is not None:
            with contextlib.suppress(errors.CommunicationError):  # kept: the heartbeat offers them again
                self._offer_orphans(runtime, successor)

    def _dispatcher(self, runtime: _Runtime, uri: str) -> SharedProxy:
        with runtime.lock:
            if uri not in runtime.dispatchers:
                runtime.dispatchers[uri] = SharedProxy(uri, runtime.credentials.secret, identity=runtime.name)
            return runtime.dispatchers[uri]

    # ------------------------------------------------------------------ registration and heartbeat
    def _keep_in_touch(self) -> None:
        """Register, find the dispatcher, send heartbeats; re-register when the dispatcher forgot us."""
        runtime = self._runtime
        assert runtime is not None
        registered, dispatcher_uri = False, None
        ever_registered = False
        failures = 0  # calls in a row that could not reach the name server or the dispatcher
        last_error: Exception | None = None
        waits = 0  # lookups in a row that found no dispatcher of the run
        while not runtime.stop.is_set():
            if self._idle_too_long(runtime):
                if not ever_registered and last_error is not None:  # not "no job": no name server was reached
                    credentials = runtime.credentials
                    self._cannot_serve(runtime, f"no name server of run {self.run_id!r} answered at "
                                                f"{credentials.host}:{credentials.port} within the worker's timeout of "
                                                f"{self.timeout:g} s ({last_error})")
                logger.info("worker %s idle for %.1f s: shutting down", runtime.name, self.timeout)
                runtime.timed_out = True
                self.shutdown()
                return
            calling_dispatcher = False
            try:
                if not registered:
                    self._register(runtime)
                    registered, dispatcher_uri, ever_registered = True, None, True
                if dispatcher_uri is None:
                    dispatcher_uri = self._lookup_dispatcher(runtime)
                    if dispatcher_uri is None and self._run_was_stopped(runtime):
                        return
                    waits = 0 if dispatcher_uri is not None else waits + 1
                    if waits % _FAILURES_PER_WARNING == _WAITS_BEFORE_WARNING:
                        self._warn_no_master(runtime, waits * self.heartbeat_interval)
                    if dispatcher_uri is not None:
                        runtime.dispatcher_uri = dispatcher_uri
                        calling_dispatcher = True
                        self._dispatcher(runtime, dispatcher_uri).call("trigger_discover_worker")
                else:
                    calling_dispatcher = True
                    if not self._dispatcher(runtime, dispatcher_uri).call("heartbeat", runtime.name):
                        # the dispatcher took us for dead and sent our jobs elsewhere: register again
                        with runtime.lock:
                            runtime.n_taken_back = runtime.n_received
                        registered = False
                        continue
                    if runtime.orphans:
                        self._offer_orphans(runtime, dispatcher_uri)
                failures = 0
            except errors.CommunicationError as exc:
                failures, last_error = failures + 1, exc
                if self._refused_for_good(runtime, exc, calling_dispatcher, failures):
                    return
                # a wrong address or secret looks like a server not up yet: say so once it lasts, then now and then
                log = logger.warning if failures % _FAILURES_PER_WARNING == _FAILURES_BEFORE_WARNING else logger.debug
                if calling_dispatcher:  # the name server answered: its master stopped, or is starting again
                    log("worker %s cannot reach the run's dispatcher (%d tries): %s; waiting for a master",
                        runtime.name, failures, exc)
                else:
                    log("worker %s cannot reach the name server (%d tries): %s; will retry (check its host and port "
                        "and the run's secret)", runtime.name, failures, exc)
                dispatcher_uri = None
                if failures >= _FAILURES_BEFORE_REREAD and self._run_was_stopped(runtime):
                    return
                if failures >= _FAILURES_BEFORE_REREAD and self._reread_credentials(runtime):
                    registered, failures = False, 0
            except Exception:  # keep the heartbeat alive whatever a server answered
                logger.exception("worker %s: unexpected error talking to the name server or dispatcher", runtime.name)
                registered, dispatcher_uri = False, None
            runtime.stop.wait(self.heartbeat_interval)

    def _refused_for_good(self, runtime: _Runtime, exc: Exception, calling_dispatcher: bool, failures: int) -> bool:
        """Stop the worker when the name server keeps refusing its secret and no credentials file can bring
        another (the secret came from the environment or the command line): waiting cannot help."""
        refused = not calling_dispatcher and AUTHENTICATION_FAILED in str(exc)
        if not refused or failures < _FAILURES_BEFORE_WARNING or self._credentials_directory is not None:
            return False
        credentials = runtime.credentials
        self._cannot_serve(runtime, f"the name server {credentials.host}:{credentials.port} of run {self.run_id!r} "
                                    f"refused this worker's secret {failures} times: give the run's secret "
                                    "(ULTRAOPT_SECRET, or --working-directory to read it from the run's credentials "
                                    "file)")
        self.shutdown()
        return True

    def _cannot_serve(self, runtime: _Runtime, why: str) -> None:
        """Record why this worker stops without having served: run() in the calling thread raises it."""
        runtime.cannot_serve = why
        (logger.debug if self._raises_refusal else logger.error)("worker %s stops: %s", runtime.name, why)

    def _run_was_stopped(self, runtime: _Runtime) -> bool:
        """Stop the worker when a master of the run stopped the run's workers since this one started (it could not
        reach this one: the stopped file beside the credentials says so); ``True`` when it did."""
        if self._credentials_directory is None:
            return False
        stopped = stopped_at(self._credentials_directory, self.run_id)
        if stopped is None or stopped <= runtime.started_at:
            return False
        logger.info("worker %s stops: a master of run %r stopped the run's workers at %s, when it could not reach "
                    "this one", runtime.name, self.run_id, time.strftime("%H:%M:%S", time.localtime(stopped)))
        runtime.run_stopped = True
        self.shutdown()
        return True

    def _reread_credentials(self, runtime: _Runtime) -> bool:
        """Take the credentials file's name server if it changed (a restarted master or name server writes a new
        one); ``True`` when it did."""
        if self._credentials_directory is None:
            return False
        credentials = changed_credentials(self._credentials_directory, self.run_id, runtime.credentials)
        if credentials is None:
            return False  # unchanged, or not written (yet): keep trying the old one
        assert runtime.daemon is not None
        runtime.daemon.use_secret(credentials.secret)
        with runtime.lock:
            runtime.credentials, proxies, runtime.dispatchers = credentials, runtime.dispatchers, {}
            runtime.dispatcher_uri = None
        for proxy in proxies.values():
            proxy.close()
        self.nameserver, self.nameserver_port, self.secret = credentials.host, credentials.port, credentials.secret
        logger.info("worker %s: the run's name server is now %s:%d (credentials file)", runtime.name,
                    credentials.host, credentials.port)
        return True

    def _idle_too_long(self, runtime: _Runtime) -> bool:
        with runtime.lock:
            idle = time.monotonic() - runtime.last_active
            return self.timeout is not None and runtime.n_jobs == 0 and idle > self.timeout

    def _register(self, runtime: _Runtime) -> None:
        ns = nameserver_proxy(runtime.credentials)
        try:
            ns.call("register", worker_prefix(self.run_id) + runtime.name, runtime.uri)
        finally:
            ns.close()

    def _is_stale(self, runtime: _Runtime, callback: str) -> bool:
        """Whether jobs for the dispatcher at ``callback`` are of a master that was replaced: a newer job came from
        another dispatcher (one master serves a run at a time), or the name server names another one.

        The name server is asked again before a job is called stale on its word: the heartbeat thread may have
        looked it up just before a restarted master registered, and a live master's skipped job would wait for
        ever. When the name server cannot be reached, the job is not stale (a stale one then runs once).
        """
        if runtime.latest_callback not in (None, callback):
            return True
        if runtime.dispatcher_uri in (None, callback):
            return False
        try:
            named = self._lookup_dispatcher(runtime)
        except errors.CommunicationError:
            return False
        if named is not None:
            runtime.dispatcher_uri = named
        return named not in (None, callback)

    def _lookup_dispatcher(self, runtime: _Runtime) -> str | None:
        ns = nameserver_proxy(runtime.credentials)
        try:
            return str(ns.call("lookup", dispatcher_name(self.run_id)))
        except errors.NamingError:
            return None  # no dispatcher yet: it will find us in the name server when it starts
        finally:
            ns.close()

    def _say_goodbye(self, runtime: _Runtime) -> None:
        """Tell the dispatcher that this worker stops of its own accord, so that the jobs it holds go out again
        without counting as tries: to the dispatcher, the connection closing alone would look like a crash."""
        uri = runtime.latest_callback or runtime.dispatcher_uri
        if uri is None:
            return  # no dispatcher ever knew of us
        proxy = AuthenticatedProxy(uri, runtime.credentials.secret, identity=runtime.name, timeout=_GOODBYE_TIMEOUT)
        try:
            proxy.worker_leaving(runtime.name)
        except Exception as exc:  # noqa: BLE001 - gone, frozen, or without the call (older): it sees us go anyway
            logger.debug("worker %s: the dispatcher did not take its goodbye: %s", runtime.name, exc)
        finally:
            proxy._pyroRelease()

    def _warn_no_master(self, runtime: _Runtime, seconds: float) -> None:
        """Say that no master of the run came for ``seconds``, naming the runs that have one at this name server."""
        ns = nameserver_proxy(runtime.credentials)
        try:
            names = ns.call("list", prefix="ultraopt.")
        finally:
            ns.close()
        runs = sorted(name[len("ultraopt."):-len(".dispatcher")] for name in names if name.endswith(".dispatcher"))
        credentials = runtime.credentials
        logger.warning("worker %s: no master of run %r at the name server %s:%d for %.0f s; runs with a master "
                       "there: %s. Waiting: check the run id if its master should be up", runtime.name, self.run_id,
                       credentials.host, credentials.port, seconds, runs or "none")

    def _unregister(self, runtime: _Runtime) -> None:
        ns = nameserver_proxy(runtime.credentials, timeout=2.0)
        try:
            ns.call("remove", worker_prefix(self.run_id) + runtime.name)
        except errors.CommunicationError:
            pass  # the name server is gone already
        finally:
            ns.close()
