"""MapReduce: trials go out in batches and come back together (a batch barrier over a pool of workers)."""

from __future__ import annotations

import sys
import time
from typing import Any

from ultraopt.checks import check_int
from ultraopt.executors.base import Executor
from ultraopt.executors.processes import ProcessExecutor
from ultraopt.objective import Objective
from ultraopt.trial import Trial

__all__ = ["BatchExecutor", "MapReduceExecutor"]

_BACKENDS = ("auto", "loky", "dask")


class BatchExecutor(Executor):
    """A batch barrier over another executor.

    :attr:`n_slots` is the batch size: the Master fills it with distinct configs (its asks are pending-aware),
    :meth:`wait` sends the whole batch to the inner executor and returns it once every trial of it came back.
    Trials submitted while a batch runs wait for the next batch.

    Parameters
    ----------
    inner : Executor or None
        Where the trials of a batch run (asynchronously); its retries of lost trials happen inside the batch.
        ``None`` lets a subclass choose it in :meth:`start`.
    batch_size : int
        How many trials a batch holds.
    """

    def __init__(self, inner: Executor | None, batch_size: int) -> None:
        self.inner = inner
        self.batch_size = check_int("batch_size", batch_size, 1)
        self._queued: list[Trial] = []
        self._n_in_flight = 0
        self._returned: list[Trial] = []

    def start(self, objective: Objective) -> None:
        assert self.inner is not None, "no inner executor to run the batches"
        self.inner.start(objective)

    def submit(self, trial: Trial) -> None:
        self._queued.append(trial)

    def wait(self, timeout: float | None = None) -> list[Trial]:
        """Run the queued batch if none is running; return it whole once it finished, or nothing on timeout."""
        assert self.inner is not None, "start() must be called before wait()"
        if not self._n_in_flight:
            for trial in self._queued:
                self.inner.submit(trial)
            self._n_in_flight, self._queued = len(self._queued), []
        deadline = None if timeout is None else time.monotonic() + timeout
        while len(self._returned) < self._n_in_flight:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            self._returned += self.inner.wait(timeout=left)
            if deadline is not None and time.monotonic() >= deadline and len(self._returned) < self._n_in_flight:
                return []
        batch, self._returned, self._n_in_flight = self._returned, [], 0
        # told in submission order, not arrival order: the same seed gives the same proposals
        return sorted(batch, key=lambda trial: trial.trial_id)

    def collect_finished(self) -> list[Trial]:
        done, self._returned = sorted(self._returned, key=lambda trial: trial.trial_id), []
        self._n_in_flight -= len(done)
        return done

    @property
    def n_slots(self) -> int:
        return self.batch_size

    @property
    def n_running(self) -> int:
        return len(self._queued) + self._n_in_flight

    def shutdown(self) -> None:
        if self.inner is not None:
            self.inner.shutdown()


def _active_dask_client() -> Any:
    """The current default ``distributed.Client`` of this process, or ``None`` (Dask is not imported for this)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        return distributed.Client.current()
    except ValueError:
        return None


class MapReduceExecutor(BatchExecutor):
    """``parallel_strategy="MapReduce"``: batches of ``n_jobs`` trials on local processes or on a Dask cluster.

    Each batch holds ``n_jobs`` distinct configs (several budgets may mix when Hyperband brackets overlap); the
    Master tells the optimizer every result of a batch before it asks for the next one. The batch runs in loky
    processes (joblib's process engine; see :class:`~ultraopt.executors.processes.ProcessExecutor`), or on a Dask
    cluster when a client is given or active (see :class:`~ultraopt.executors.dask_executor.DaskExecutor`). In
    both, the pool stays warm across batches and the objective is shipped once per worker.

    Parameters
    ----------
    n_jobs : int
        Trials per batch. With a Dask client, ``1`` means one per worker thread of the cluster.
    dask_client : distributed.Client, optional
        Run the batches on this cluster.
    backend : {"auto", "loky", "dask"}
        ``"auto"`` uses ``dask_client``, else the active default Dask client if there is one, else loky processes.
    max_retries : int
        How many times a trial runs again after its worker died, before it is returned ``LOST``.
    """

    runs_trials_in_master_process = False  # loky processes or Dask workers

    def __init__(self, n_jobs: int = 2, dask_client: Any = None, backend: str = "auto", max_retries: int = 3) -> None:
        if backend not in _BACKENDS:
            raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
        # Checked here so that the message names n_jobs, not the batch_size it becomes.
        self.n_jobs = check_int("n_jobs", n_jobs, 1)
        super().__init__(inner=None, batch_size=self.n_jobs)  # the inner executor is chosen in start()
        self.dask_client = dask_client
        self.backend = backend
        self.max_retries = max_retries

    def start(self, objective: Objective) -> None:
        client = self.dask_client if self.backend != "loky" else None
        if client is None and self.backend != "loky":
            client = _active_dask_client()
        if client is None and self.backend == "dask":
            raise ValueError("MapReduceExecutor(backend='dask') needs a dask_client or an active distributed.Client")
        if client is None:
            self.inner = ProcessExecutor(self.n_jobs, max_retries=self.max_retries)
        else:
            from ultraopt.executors.dask_executor import DaskExecutor  # importing Dask takes a moment

            self.inner = DaskExecutor(client, max_retries=self.max_retries)
            if self.n_jobs == 1:
                self.batch_size = max(sum(client.nthreads().values()), 1)
        super().start(objective)
