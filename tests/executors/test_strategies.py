"""fmin with parallel_strategy="MapReduce" and "Dask"."""

import logging
import os
import signal
import threading
import time

import numpy as np
import pytest

from tests.conftest import new_processes
from tests.executors.objectives import (
    always_fails,
    fails_on_b,
    hangs_on_b,
    interrupts_on_b,
    mixed_quadratic,
    quadratic,
    sleepy_quadratic,
    slow_quadratic,
)
from ultraopt import fmin
from ultraopt.executors.dask_executor import DaskExecutor
from ultraopt.facade.checks import InvalidArgumentError
from ultraopt.master import ObjectiveError
from ultraopt.multi_fidelity import HyperBandIterGenerator
from ultraopt.trial import TrialStatus

SPACE = {"x": {"_type": "uniform", "_value": [-5, 5]}, "c": {"_type": "choice", "_value": ["a", "b"]}}


def interrupt_after_first_trial(result, trial):
    """A callback that presses Ctrl-C (SIGINT to this process only) while the next trials run."""
    if len(result.trials) == 1:
        threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()


def run(func=quadratic, **kwargs):
    kwargs.setdefault("optimizer", "Random")
    kwargs.setdefault("show_progressbar", False)
    return fmin(func, SPACE, **kwargs)


def per_budget(result) -> dict[float, int]:
    counts: dict[float, int] = {}
    for trial in result.trials:
        counts[trial.budget] = counts.get(trial.budget, 0) + 1
    return counts


def scheduled_per_budget(generator) -> dict[float, int]:
    """Evaluations per budget in one cycle of the schedule (``n_brackets`` iterations), as ``get_table()`` says."""
    table = generator.get_table()
    return {float(budget): int(n) for budget, n in table.groupby("budget")["num_configs"].sum().items()}


# ---------------------------------------------------------------------------------------------- MapReduce
def test_mapreduce_runs_batches_of_distinct_configs():
    result = run(n_iterations=24, n_jobs=4, parallel_strategy="MapReduce")
    assert result.meta["parallel_strategy"] == "MapReduce"
    assert len(result.trials) == 24 and all(t.status is TrialStatus.SUCCESS for t in result.trials)
    assert len({tuple(sorted(t.config.items())) for t in result.trials}) == 24
    trials = sorted(result.trials, key=lambda t: t.trial_id)
    batches = [trials[i:i + 4] for i in range(0, 24, 4)]
    for earlier, later in zip(batches, batches[1:]):  # the barrier: a batch starts once the last one ended
        assert min(t.start_time for t in later) >= max(t.end_time for t in earlier)


MIXED_SPACE = {**SPACE, "k": {"_type": "int_uniform", "_value": [1, 6]}}


def assert_distinct_proposals_from_the_model(result, n: int) -> None:
    assert len(result.trials) == n and all(t.status is TrialStatus.SUCCESS for t in result.trials)
    assert len({tuple(sorted(t.config.items())) for t in result.trials}) == n
    assert not any("replaces" in t.config_info for t in result.trials)  # no duplicate had to be replaced
    assert any(t.config_info["origin"] == "model" for t in result.trials)  # the model was used between batches


def test_etpe_with_mapreduce_evaluates_24_distinct_configs_in_batches_of_4():
    """The 2021 library's defect: batch ETPE re-proposed its initial design (24 evaluations, 4 jobs: 8 configs)."""
    result = fmin(mixed_quadratic, MIXED_SPACE, optimizer="ETPE", n_iterations=24, n_jobs=4,
                  parallel_strategy="MapReduce", show_progressbar=False)
    assert_distinct_proposals_from_the_model(result, 24)


def test_etpe_on_dask_evaluates_distinct_configs(dask_client):
    result = fmin(mixed_quadratic, MIXED_SPACE, optimizer="ETPE", n_iterations=24, parallel_strategy="Dask",
                  dask_client=dask_client, show_progressbar=False)
    assert_distinct_proposals_from_the_model(result, 24)
    assert result.meta["n_jobs"] is None  # the cluster's threads set it: it said 1 while 2 ran at once


def test_mapreduce_with_hyperband_mixes_budgets_and_keeps_the_schedule():
    generator = HyperBandIterGenerator(min_budget=1 / 9, max_budget=1, eta=3)  # brackets of 9, 3 and 3 configs
    result = run(slow_quadratic, n_iterations=generator.n_brackets, n_jobs=4, parallel_strategy="MapReduce",
                 multi_fidelity_iter_generator=generator)
    assert per_budget(result) == scheduled_per_budget(generator)
    trials = sorted(result.trials, key=lambda t: t.trial_id)
    batches = [trials[i:i + 4] for i in range(0, len(trials), 4)]
    assert any(len({t.budget for t in batch}) > 1 for batch in batches)  # a free slot takes the next bracket


@pytest.mark.parametrize(("func", "error"), [(fails_on_b, "ValueError: b is broken"),
                                              (interrupts_on_b, "KeyboardInterrupt: b interrupts itself")])
@pytest.mark.parametrize("limits", [{}, {"trial_time_limit": 30}])
def test_mapreduce_records_failures_and_goes_on(func, error, limits):
    # a KeyboardInterrupt the objective raises in a worker is its failure (it took the task down, or, under
    # limits, left only "exited with code 1")
    result = run(func, n_iterations=12, n_jobs=2, parallel_strategy="MapReduce", random_state=3, **limits)
    failed = result.trials_with_status(TrialStatus.FAILED)
    assert len(result.trials) == 12 and failed
    assert all(t.error.startswith("Traceback") and t.error.rstrip().endswith(error) for t in failed)


@pytest.mark.parametrize("strategy", ["MapReduce", "Dask"])
def test_ctrl_c_cancels_running_trials_and_stops_every_process(strategy, children_before):
    result = run(sleepy_quadratic, n_iterations=20, n_jobs=2, parallel_strategy=strategy,
                 callbacks=[interrupt_after_first_trial])
    assert result.meta["stop_reason"] == "interrupted"
    assert result.trials_with_status(TrialStatus.CANCELLED) and len(result.trials) < 20
    assert new_processes(children_before) == set()


@pytest.mark.parametrize("strategy", ["MapReduce", "Dask"])
def test_per_trial_time_limits_hold_on_the_workers(strategy, children_before):
    result = run(hangs_on_b, n_iterations=6, n_jobs=2, parallel_strategy=strategy, trial_time_limit=2,
                 random_state=0)
    outcomes = {(t.config["c"], t.status) for t in result.trials}
    assert outcomes == {("a", TrialStatus.SUCCESS), ("b", TrialStatus.TIMEOUT)}
    assert all(t.duration < 30 for t in result.trials)
    assert new_processes(children_before) == set()


def test_mapreduce_records_what_finished_in_a_batch_cut_by_the_time_limit(children_before):
    result = run(hangs_on_b, n_iterations=6, n_jobs=2, parallel_strategy="MapReduce", time_limit=3,
                 random_state=2)
    outcomes = sorted((t.config["c"], t.status.value) for t in result.trials)
    # the first batch held one config of each kind: the finished one counts, the hanging one is cancelled
    assert outcomes == [("a", "success"), ("b", "cancelled")]
    assert new_processes(children_before) == set()


@pytest.mark.parametrize("strategy", ["MapReduce", "Dask"])
def test_a_broken_objective_raises_and_stops_every_process(strategy, children_before):
    with pytest.raises(ObjectiveError, match="RuntimeError: broken objective"):
        run(always_fails, n_iterations=20, n_jobs=2, parallel_strategy=strategy)
    assert new_processes(children_before) == set()


@pytest.mark.parametrize("strategy", ["MapReduce", "Dask"])
def test_an_objective_that_cannot_be_pickled_is_named_and_no_process_is_left(strategy, children_before):
    lock = threading.Lock()

    def locked(config):
        with lock:
            return quadratic(config)

    with pytest.raises(TypeError, match="the objective cannot be sent to the worker processes: cannot pickle"):
        run(locked, n_iterations=4, n_jobs=2, parallel_strategy=strategy)
    assert new_processes(children_before) == set()


# ---------------------------------------------------------------------------------------------- Dask
class RecordingHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_dask_on_a_created_cluster_leaves_no_process_behind(children_before):
    result = run(sleepy_quadratic, n_iterations=6, n_jobs=2, parallel_strategy="Dask")
    assert result.meta["parallel_strategy"] == "Dask"
    assert len(result.trials) == 6 and all(t.status is TrialStatus.SUCCESS for t in result.trials)
    assert {t.worker.split(":")[1] for t in result.trials} == {"//127.0.0.1"}
    assert len({t.worker for t in result.trials}) == 2
    assert new_processes(children_before) == set()


def test_dask_time_limit_counts_the_cluster_start_and_does_not_wait_for_hung_trials(children_before):
    nanny_warnings = RecordingHandler()
    logging.getLogger("distributed.nanny").addHandler(nanny_warnings)  # Dask's loggers do not propagate
    start = time.monotonic()
    try:
        result = run(hangs_on_b, n_iterations=20, n_jobs=2, parallel_strategy="Dask", time_limit=6, random_state=2)
    finally:
        logging.getLogger("distributed.nanny").removeHandler(nanny_warnings)
    elapsed = time.monotonic() - start
    # the workers killed because the cluster closes are not announced as restarting
    assert not [text for text in nanny_warnings.messages if text.startswith("Restarting worker")]
    assert result.meta["stop_reason"] == "time limit"
    assert result.trials_with_status(TrialStatus.CANCELLED)  # the hung ones
    assert elapsed < 6 + 4  # was the cluster's start-up + 6 s + a graceful close waiting on the hung workers
    assert new_processes(children_before) == set()


def test_dask_on_a_created_cluster_survives_a_killed_worker(children_before):
    executor = DaskExecutor(n_workers=2)
    killed = []

    def kill_a_busy_worker(result, trial):
        if killed:
            return
        busy = [address for address, keys in executor.client.processing().items() if keys]
        pid = executor.client.run(os.getpid, workers=busy[:1])[busy[0]]
        threading.Timer(0.2, os.kill, (pid, signal.SIGKILL)).start()  # mid-trial: trials take 0.5 s
        killed.append(pid)

    result = run(sleepy_quadratic, n_iterations=8, parallel_strategy=executor, callbacks=[kill_a_busy_worker])
    assert killed
    assert len(result.trials) == 8 and all(t.status is TrialStatus.SUCCESS for t in result.trials)
    assert max(t.attempt for t in result.trials) == 2
    assert new_processes(children_before) == set()


@pytest.mark.parametrize("promotion", ["sync", "async"])
def test_dask_runs_hyperband_with_the_evaluations_per_budget_of_its_table(dask_client, promotion):
    generator = HyperBandIterGenerator(min_budget=1 / 9, max_budget=1, eta=3, promotion=promotion)
    result = run(slow_quadratic, n_iterations=generator.n_brackets, parallel_strategy="Dask",
                 dask_client=dask_client, multi_fidelity_iter_generator=generator)
    assert per_budget(result) == scheduled_per_budget(generator) == {1 / 9: 9, 1 / 3: 6, 1.0: 5}
    assert all(t.status is TrialStatus.SUCCESS for t in result.trials)
    assert {t.worker for t in result.trials} == set(dask_client.nthreads())
    assert dask_client.status == "running"


def test_mapreduce_on_a_dask_client(dask_client):
    result = run(slow_quadratic, n_iterations=8, parallel_strategy="MapReduce", dask_client=dask_client)
    assert len(result.trials) == 8 and len({t.worker for t in result.trials}) == 2
    assert {t.worker for t in result.trials} <= set(dask_client.nthreads())


def test_dask_client_only_with_dask_strategies(dask_client):
    with pytest.raises(InvalidArgumentError, match="dask_client is used with parallel_strategy 'Dask' or"):
        run(n_iterations=2, parallel_strategy="Serial", dask_client=dask_client)
    with pytest.raises(InvalidArgumentError, match="dask_client must be None or a distributed.Client"):
        run(n_iterations=2, parallel_strategy="Dask", dask_client="tcp://127.0.0.1:8786")


def _executor_classes():
    from ultraopt.executors.async_comm import LocalAsyncCommExecutor
    from ultraopt.executors.batch import MapReduceExecutor
    from ultraopt.executors.processes import ProcessExecutor
    from ultraopt.executors.simulated import SimulatedExecutor

    return [(ProcessExecutor, "n_workers"), (SimulatedExecutor, "n_workers"), (DaskExecutor, "n_workers"),
            (DaskExecutor, "max_running"), (DaskExecutor, "n_queued"), (MapReduceExecutor, "n_jobs"),
            (LocalAsyncCommExecutor, "n_workers"), (ProcessExecutor, "max_retries")]


@pytest.mark.parametrize(("executor_class", "name"), _executor_classes())
def test_executor_counts_are_checked_alike(executor_class, name):
    # one rule everywhere: a numpy int is an int (as fmin takes it), a bool or a string is named and refused
    assert getattr(executor_class(**{name: np.int64(2)}), name) == 2
    for bad in (True, "3", 2.0, -1):
        with pytest.raises(ValueError, match=rf"^{name} must be a (positive|non-negative) int, got {bad!r}$"):
            executor_class(**{name: bad})


def test_choices_json_cannot_give_back_are_refused_by_asynccomm_before_any_trial_and_run_with_mapreduce():
    # AsyncComm workers got (64, 64) as the list [64, 64], while the trial recorded the tuple
    from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace

    space = ConfigurationSpace()
    space.add(CategoricalHyperparameter("layers", [(64, 64), (128,)]))
    seen = []
    with pytest.raises(InvalidArgumentError, match=r"LocalAsyncCommExecutor workers receive configs as JSON, which "
                                                   r"cannot give back hyperparameter 'layers': value \(64, 64\)"):
        fmin(seen.append, space, n_iterations=2, n_jobs=2, parallel_strategy="AsyncComm", show_progressbar=False)
    assert seen == []
    result = fmin(lambda config: float(isinstance(config["layers"], tuple)), space, n_iterations=2, n_jobs=2,
                  parallel_strategy="MapReduce", show_progressbar=False)
    assert [trial.loss for trial in result.trials] == [1.0, 1.0]
