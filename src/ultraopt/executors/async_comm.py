"""The Pyro5 executor: trials run on the workers of a run, found through its name server.

:class:`AsyncCommExecutor` wraps a :class:`~ultraopt.async_comm.dispatcher.Dispatcher` behind the executor
contract, for workers started elsewhere (another terminal, other machines). :class:`LocalAsyncCommExecutor`, what
``fmin(parallel_strategy="AsyncComm", n_jobs=N)`` uses, also starts a name server and ``N`` worker processes
with the objective, replaces a worker process that dies, and stops all of them when the run ends.
"""

from __future__ import annotations

import logging
import queue
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from ultraopt.async_comm.dispatcher import Dispatcher
from ultraopt.async_comm.nameserver import NameServer
from ultraopt.async_comm.process import process_is_running, stop_worker_processes
from ultraopt.async_comm.worker import Worker
from ultraopt.checks import check_int
from ultraopt.executors.base import Executor, NoWorkerReminder
from ultraopt.objective import Objective
from ultraopt.trial import Trial, TrialStatus

__all__ = ["AsyncCommExecutor", "LocalAsyncCommExecutor"]

logger = logging.getLogger(__name__)

#: Seconds between two checks of local worker processes while waiting for results.
_POLL_INTERVAL = 0.5


class AsyncCommExecutor(Executor):
    """Runs trials on the Pyro5 workers of run ``run_id``.

    Parameters
    ----------
    run_id : str
        The run whose workers to use.
    nameserver, nameserver_port, host, secret, ping_interval, working_directory, max_retries, heartbeat_timeout,
    prefetch, queue_callback :
        As for :class:`~ultraopt.async_comm.dispatcher.Dispatcher`.
    job_queue_sizes : tuple of int
        ``(low, high)``: when no more than ``low`` trials are held, take more up to ``high``. With
        ``dynamic_queue_size`` both are relative to the number of workers: the default ``(-1, 0)`` keeps one trial
        per worker.
    dynamic_queue_size : bool
        Whether ``job_queue_sizes`` are relative to the number of workers.
    shutdown_workers : bool
        Whether :meth:`shutdown` also stops the workers.
    """

    runs_trials_in_master_process = False  # workers are other processes
    runs_given_objective = False  # the workers evaluate their own objective
    sends_configs_as_json = True  # Pyro5 messages are JSON: nothing from the network is unpickled

    def __init__(
        self,
        run_id: str,
        nameserver: str | None = None,
        nameserver_port: int | None = None,
        host: str | None = None,
        *,
        secret: str | None = None,
        ping_interval: float = 10,
        job_queue_sizes: tuple[int, int] = (-1, 0),
        dynamic_queue_size: bool = True,
        shutdown_workers: bool = False,
        working_directory: str = ".",
        max_retries: int = 3,
        heartbeat_timeout: float = 4.0,
        prefetch: int | None = None,
        queue_callback: Callable[[int], Any] | None = None,
    ):
        low, high = job_queue_sizes
        if low >= high:
            raise ValueError(f"job_queue_sizes must be (low, high) with low < high, got {job_queue_sizes!r}")
        self.job_queue_sizes = (int(low), int(high))
        self.dynamic_queue_size = dynamic_queue_size
        self.shutdown_workers = shutdown_workers
        self._finished: queue.SimpleQueue[Trial] = queue.SimpleQueue()
        self._held: dict[int, Trial] = {}  # submitted and not returned by wait(), by trial id
        self._topping_up = True
        self._next_poll = 0.0
        self._no_worker = NoWorkerReminder(logger)
        self.dispatcher = Dispatcher(
            self._finished.put, run_id, ping_interval, nameserver, nameserver_port, host, queue_callback,
            secret=secret, working_directory=working_directory, max_retries=max_retries,
            heartbeat_timeout=heartbeat_timeout, prefetch=prefetch,
        )
        self._started = False
        self._shut_down = False

    @property
    def run_id(self) -> str:
        """The run whose workers this executor uses."""
        return self.dispatcher.run_id

    def start(self, objective: Objective | None = None) -> None:
        """Start the dispatcher; the workers evaluate their own objective, so ``objective`` is not used here."""
        self._refuse_a_second_run()
        if not self._started:
            self.dispatcher.start()
            self._started = True

    def _refuse_a_second_run(self) -> None:
        if self._shut_down:  # its dispatcher (and a local executor's name server) stopped with the earlier run
            raise RuntimeError(f"this {type(self).__name__} was shut down when the run it served ended: an executor "
                               "serves one run, so give each fmin call a new one")

    def wait_for_workers(self, min_n_workers: int = 1, timeout: float | None = None) -> bool:
        """Block until ``min_n_workers`` workers joined; ``False`` on timeout."""
        return self.dispatcher.wait_for_workers(min_n_workers, timeout)

    def submit(self, trial: Trial) -> None:
        self._forget_cancelled()
        self._held[trial.trial_id] = trial
        if len(self._held) >= self.queue_sizes()[1]:
            self._topping_up = False
        self.dispatcher.submit(trial, dispatch=False)  # sent by wait(): all trials of a fill in one message each

    def wait(self, timeout: float | None = None) -> list[Trial]:
        self.dispatcher.job_runner()
        deadline = None if timeout is None else time.monotonic() + timeout
        free_slots = self.n_free_slots
        while True:
            now = time.monotonic()
            if now >= self._next_poll:
                self._next_poll = now + _POLL_INTERVAL
                self._poll()
            left = _POLL_INTERVAL if deadline is None else min(_POLL_INTERVAL, deadline - now)
            try:
                finished = [self._finished.get(timeout=max(left, 0.0))]
                break
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    return []
                if self.n_free_slots > free_slots:  # a worker joined: give it work now, not after a result
                    return []
                self._warn_while_no_worker()
        while not self._finished.empty():
            finished.append(self._finished.get_nowait())
        for trial in finished:
            self._held.pop(trial.trial_id, None)
        self._on_finished(finished)
        return finished

    def _warn_while_no_worker(self) -> None:
        self._no_worker.check(
            self.dispatcher.number_of_workers(),
            "no worker of run %r is there: %d trial(s) wait for one (start them with `ultraopt worker "
            "--run-id %s ...`)",
            self.run_id, len(self._held), self.run_id,
        )

    def _forget_cancelled(self) -> None:
        """Stop holding the trials the Master cancelled (a run stopped by its time limit or Ctrl-C): they no longer
        take a slot, so that a later ``run()`` has room, and the dispatcher drops them rather than sending them
        out or running them again."""
        cancelled = [trial_id for trial_id, trial in self._held.items() if trial.status is TrialStatus.CANCELLED]
        for trial_id in cancelled:
            del self._held[trial_id]
        if cancelled:
            self.dispatcher.cancel(cancelled)

    def _poll(self) -> None:
        """Called while :meth:`wait` waits (local executors look after their processes here)."""

    def _on_finished(self, trials: list[Trial]) -> None:
        """Called with the trials :meth:`wait` returns."""

    def queue_sizes(self, number_of_workers: int | None = None) -> tuple[int, int]:
        """``(low, high)`` for ``number_of_workers`` (the current number by default); ``high`` is at least 1, so that
        a run without workers keeps a trial waiting for the first one."""
        low, high = self.job_queue_sizes
        if self.dynamic_queue_size:
            n = self.dispatcher.number_of_workers() if number_of_workers is None else number_of_workers
            low, high = low + n, high + n
        return max(low, 0), max(high, 1)

    @property
    def n_slots(self) -> int:
        return self.queue_sizes()[1]

    @property
    def n_running(self) -> int:
        self._forget_cancelled()
        return len(self._held)

    @property
    def n_free_slots(self) -> int:
        """Once the trials held fall to ``low``, room up to ``high`` (HpBandSter's semantics), then none until
        they fall to ``low`` again."""
        low, high = self.queue_sizes()
        n_running = self.n_running
        if n_running <= low:
            self._topping_up = True
        return high - n_running if self._topping_up and n_running < high else 0

    def shutdown(self) -> None:
        self._shut_down = True
        self.dispatcher.shutdown(shutdown_workers=self.shutdown_workers)


class LocalAsyncCommExecutor(AsyncCommExecutor):
    """Runs trials on ``n_workers`` worker processes of this machine, with a name server of its own.

    Everything binds to 127.0.0.1 and the run has a fresh secret. A worker process that dies is replaced (its
    trial runs again elsewhere); when processes keep dying without any trial finishing, :meth:`wait` raises.

    The dispatcher asks this executor about a worker whose heartbeats stopped: one of its processes that is alive
    and running is busy — an objective holding the GIL in a long C call starves the heartbeat thread — and keeps
    its trial, however long that takes (a per-trial time limit bounds it); one that is stopped or gone is declared
    dead at once. (Where there is no ``/proc``, the heartbeat timeout decides, as for remote workers.)

    Parameters
    ----------
    n_workers : int
        How many worker processes run trials at once.
    startup_timeout : float
        Seconds to wait for the first worker to join.
    **kwargs
        Passed to :class:`AsyncCommExecutor`.
    """

    runs_given_objective = True  # its worker processes get the objective start() was given

    def __init__(self, n_workers: int, startup_timeout: float = 120.0, **kwargs: Any):
        self.n_workers = check_int("n_workers", n_workers, 1)
        self.startup_timeout = startup_timeout
        self.nameserver_instance = NameServer(f"local-{uuid.uuid4().hex[:12]}")
        kwargs.setdefault("shutdown_workers", True)
        super().__init__(self.nameserver_instance.run_id, **kwargs)
        self.workers: list[Worker] = []
        self._eval_func: Any = None
        self._deaths_in_a_row = 0
        self.dispatcher.is_alive = self._worker_process_is_running

    def _worker_process_is_running(self, worker_name: str) -> bool | None:
        """Whether ``worker_name`` (``host.pid.token.number``) is one of this executor's processes, alive and
        running; ``None`` for a worker it did not start."""
        host, _, rest = worker_name.rsplit(".", 2)[0].rpartition(".")
        pids = {worker.process.pid for worker in list(self.workers)}
        if host != socket.gethostname() or not rest.isdigit() or int(rest) not in pids:
            return None
        return process_is_running(int(rest))

    def start(self, objective: Objective | None = None) -> None:
        if objective is None:
            raise ValueError("a local executor needs the objective to start its worker processes")
        self._refuse_a_second_run()
        if self._started:
            return
        self._eval_func = objective  # the Objective itself, so that per-trial limits reach the workers
        self.nameserver_instance.start()
        super().start(objective)
        for _ in range(self.n_workers):
            self._start_worker()
        # all of them (they start together, in a second or two): n_slots is n_workers from the first trial on
        deadline = time.monotonic() + self.startup_timeout
        while not self.wait_for_workers(self.n_workers, timeout=_POLL_INTERVAL):
            self._poll()
            if time.monotonic() > deadline:
                joined = self.dispatcher.number_of_workers()
                if not joined:
                    raise RuntimeError(f"no worker process joined within {self.startup_timeout:g} s")
                logger.warning("%d of %d worker processes joined within %g s; going on with them",
                               joined, self.n_workers, self.startup_timeout)
                break

    def _start_worker(self) -> None:
        worker = Worker(self.run_id, *self._nameserver_address(), secret=self.nameserver_instance.secret)
        worker.initialize(self._eval_func).run(background=True, concurrent_type="process")
        self.workers.append(worker)

    def _nameserver_address(self) -> tuple[str, int]:
        credentials = self.nameserver_instance.credentials
        assert credentials is not None
        return credentials.host, credentials.port

    def _poll(self) -> None:
        """Replace worker processes that died; raise when they die again and again without finishing trials."""
        for worker in list(self.workers):
            exit_code = worker.process.poll()
            if exit_code is None:
                continue
            self.workers.remove(worker)
            self._deaths_in_a_row += 1
            # each worker may be on a config that crashes it on every one of its tries before it is LOST
            limit = (self.dispatcher.max_retries + 1) * self.n_workers
            if self._deaths_in_a_row > limit:
                raise RuntimeError(
                    f"worker processes died {self._deaths_in_a_row} times in a row without finishing a trial "
                    f"(last exit code {exit_code}); see their error output above"
                )
            logger.warning("worker process %d died (exit code %s): starting another", worker.process.pid, exit_code)
            self._start_worker()

    def _on_finished(self, trials: list[Trial]) -> None:
        # A lost trial explains the deaths it caused (a config that crashes its worker on every try): they say
        # nothing about the workers themselves, and an objective that crashes on everything is caught as a
        # broken objective once the first trials all failed.
        if trials:
            self._deaths_in_a_row = 0

    def shutdown(self) -> None:
        try:
            super().shutdown()
        finally:
            # close every pipe first, then wait: the processes stop together; terminated or killed if they do not
            stop_worker_processes([worker.process for worker in self.workers])
            self.workers = []
            self.nameserver_instance.shutdown()
