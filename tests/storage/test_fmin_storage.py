"""fmin with a checkpoint file: resume, refusal of other runs, Ctrl-C, warm start, per-trial limits."""

import functools
import os
import time

import numpy as np
import pytest

from tests.conftest import quadratic
from ultraopt import FMinResult, fmin
from ultraopt.master import ObjectiveError
from ultraopt.multi_fidelity import CustomIterGenerator, HyperBandIterGenerator
from ultraopt.optimizer import ETPEOptimizer, RandomOptimizer
from ultraopt.trial import TrialStatus


class Crash(BaseException):
    """Stands for the process dying."""


class OtherRandom(RandomOptimizer):
    name = "OtherRandom"


class Spy(RandomOptimizer):
    """Random search that notes every config told to it."""

    def __init__(self, told):
        super().__init__()
        self.told = told

    def _observe(self, config, loss, budget):
        self.told.append(config)


def run(space, func=quadratic, **kwargs):
    kwargs.setdefault("optimizer", "Random")
    kwargs.setdefault("show_progressbar", False)
    return fmin(func, space, **kwargs)


def crash_after(n):
    def callback(result, trial):
        if len(result.trials) >= n:
            raise Crash

    return callback


def test_the_same_call_continues_the_run(tmp_path, quadratic_space):
    path = tmp_path / "run.db"
    generator = CustomIterGenerator([[9, 3, 1], [3, 1]], [[1, 3, 9], [3, 9]])
    with pytest.raises(Crash):
        run(quadratic_space, n_iterations=5, multi_fidelity_iter_generator=generator, checkpoint_file=path,
            callbacks=[crash_after(11)])
    before = {t.trial_id: t.to_dict() for t in FMinResult.load(path).trials if t.status is TrialStatus.SUCCESS}
    assert len(before) == 11
    seen = []
    result = run(quadratic_space, n_iterations=5, multi_fidelity_iter_generator=generator, checkpoint_file=path,
                 callbacks=[lambda result, trial: seen.append(trial.trial_id)])
    assert len(result.trials) == generator.num_all_configs(5) == 47 and result.meta["stop_reason"] == "finished"
    assert all(result.trials[i].to_dict() == trial for i, trial in enumerate(before.values()))
    assert len(seen) == 47 - 11  # callbacks see the new trials only
    loaded = FMinResult.load(path)
    assert [t.to_dict() for t in loaded.trials] == [t.to_dict() for t in result.trials]
    assert loaded.meta["stop_reason"] == "finished" and loaded.best_config == result.best_config
    longer = run(quadratic_space, n_iterations=6, multi_fidelity_iter_generator=generator, checkpoint_file=path)
    assert len(longer.trials) == generator.num_all_configs(6)
    # fewer iterations than the file holds: nothing runs, and the run still says it has 6
    shorter = run(quadratic_space, n_iterations=2, multi_fidelity_iter_generator=generator, checkpoint_file=path)
    assert len(shorter.trials) == generator.num_all_configs(6) and shorter.meta["n_iterations"] == 6
    assert FMinResult.load(path).meta["n_iterations"] == 6


@pytest.mark.parametrize("change, named", [
    ({"config_space": "conditional"}, "hyperparameter 'model' is not in the stored run"),
    ({"random_state": 7}, "setting 'random_state': stored 42, given 7"),
    ({"optimizer": OtherRandom}, "setting 'optimizer': stored \"Random \\(RandomOptimizer\\)\", given \"OtherRandom"),
    ({"initial_points": [{"x": 1.0, "c": "a"}]}, "setting 'initial_points'"),
    ({"multi_fidelity_iter_generator": CustomIterGenerator([3, 1], [1, 3])}, "setting 'schedule"),
    # the entry of a nested setting that differs, not the whole setting cut short before it
    ({"multi_fidelity_iter_generator": CustomIterGenerator([1], [1.0], promotion="async")},
     "setting 'schedule.iteration': stored \"RankReductionIteration\", given \"AsyncRankReductionIteration\""),
])
def test_a_storage_of_another_run_is_refused_and_not_modified(tmp_path, quadratic_space, conditional_space, change,
                                                               named):
    path = tmp_path / "run.db"
    run(quadratic_space, n_iterations=3, checkpoint_file=path)
    before = path.read_bytes(), os.stat(path).st_mtime_ns
    kwargs = {"n_iterations": 3, "checkpoint_file": path, **change}
    space = conditional_space if kwargs.pop("config_space", None) else quadratic_space
    with pytest.raises(ValueError, match=named):
        run(space, lambda config: 1.0, **kwargs)
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before


def test_a_run_resumes_with_the_same_optimizer_settings_only(tmp_path, quadratic_space):
    path = tmp_path / "run.db"

    def etpe(**settings):  # a new gamma function object each time, as in a new process
        return ETPEOptimizer(gamma=lambda n: max(1, n // 4), **settings)

    run(quadratic_space, n_iterations=4, checkpoint_file=path, optimizer=etpe(n_startup_trials=3))
    with pytest.raises(ValueError, match="setting 'optimizer_settings.n_startup_trials': stored 3, given 30"):
        run(quadratic_space, n_iterations=6, checkpoint_file=path, optimizer=etpe(n_startup_trials=30))
    resumed = run(quadratic_space, n_iterations=6, checkpoint_file=path, optimizer=etpe(n_startup_trials=3))
    assert len(resumed.trials) == 6


def top_share(n: int, share: float) -> int:
    return max(1, int(share * n))


def test_a_partial_setting_is_compared_by_its_function_and_arguments(tmp_path, quadratic_space):
    # every functools.partial was recorded as "functools.partial": a changed share resumed without a word
    path = tmp_path / "run.db"
    run(quadratic_space, n_iterations=4, checkpoint_file=path,
        optimizer=ETPEOptimizer(gamma=functools.partial(top_share, share=0.25)))
    with pytest.raises(ValueError, match="setting 'optimizer_settings.gamma.keywords.share': stored 0.25, given 0.5"):
        run(quadratic_space, n_iterations=6, checkpoint_file=path,
            optimizer=ETPEOptimizer(gamma=functools.partial(top_share, share=0.5)))
    resumed = run(quadratic_space, n_iterations=6, checkpoint_file=path,
                  optimizer=ETPEOptimizer(gamma=functools.partial(top_share, share=0.25)))
    assert len(resumed.trials) == 6


@pytest.mark.parametrize("generator", [None, HyperBandIterGenerator(1 / 9, 1, 3)])
def test_a_run_stopped_by_a_broken_objective_resumes_once_it_is_fixed(tmp_path, quadratic_space, generator):
    path = str(tmp_path / "run.db")
    calls = []

    def broken(config, budget):
        raise ZeroDivisionError("budget too small")

    def fixed(config, budget):
        calls.append(budget)
        return quadratic(config)

    run = dict(n_iterations=12, multi_fidelity_iter_generator=generator, checkpoint_file=path, show_progressbar=False)
    for _ in range(2):  # still broken on resuming: the first trials of the session decide again
        with pytest.raises(ObjectiveError, match="budget too small"):
            fmin(broken, quadratic_space, **run)
    result = fmin(fixed, quadratic_space, **run)  # the stored failures are the past, not this objective's
    assert calls and len(result.trials_with_status(TrialStatus.FAILED)) == 10


def test_ctrl_c_returns_the_result_so_far_with_everything_stored(tmp_path, quadratic_space):
    path = tmp_path / "run.db"
    calls = []

    def interrupted_at_the_fifth_call(config):
        calls.append(config)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return quadratic(config)

    result = run(quadratic_space, interrupted_at_the_fifth_call, n_iterations=10, checkpoint_file=path)
    assert result.meta["stop_reason"] == "interrupted"
    assert [t.status for t in result.trials] == [TrialStatus.SUCCESS] * 4 + [TrialStatus.CANCELLED]
    loaded = FMinResult.load(path)
    # the file says what the returned result says
    assert [t.to_dict() for t in loaded.trials] == [t.to_dict() for t in result.trials]
    assert loaded.unfinished == [] and loaded.meta["stop_reason"] == "interrupted"
    resumed = run(quadratic_space, n_iterations=10, checkpoint_file=path)
    assert len(resumed.trials) == 10 and all(t.is_success for t in resumed.trials)
    again = next(t for t in resumed.trials if t.trial_id == 4)
    # the interrupted trial ran again, as its first attempt: Ctrl-C was not its doing
    assert again.config == calls[4] and again.attempt == 1


def test_early_stopping_and_time_limit_store_what_they_saw(tmp_path, quadratic_space):
    losses = iter([5.0, 4.0, 3.0] + [10.0] * 100)
    path = tmp_path / "run.db"
    result = run(quadratic_space, lambda config: next(losses), n_iterations=100, early_stopping_rounds=4,
                 checkpoint_file=path)
    assert len(result.trials) == 7 and result.meta["stop_reason"] == "early stopping"
    assert len(FMinResult.load(path).trials) == 7
    slow = run(quadratic_space, lambda config: time.sleep(0.05) or 1.0, n_iterations=1000, time_limit=0.5,
               checkpoint_file=tmp_path / "slow.db")
    assert slow.meta["stop_reason"] == "time limit" and 3 <= len(slow.trials) < 20
    stored = FMinResult.load(tmp_path / "slow.db")
    assert [t.to_dict() for t in stored.trials] == [t.to_dict() for t in slow.trials]


@pytest.mark.parametrize("strategy", ["resume", "continue"])
@pytest.mark.parametrize("source", ["result", "json", "checkpoint"])
def test_warm_start_from_a_result_a_json_file_or_a_checkpoint(tmp_path, quadratic_space, strategy, source):
    earlier_path = tmp_path / "earlier.db"
    earlier = run(quadratic_space, n_iterations=8, random_state=1, checkpoint_file=earlier_path)
    previous = {"result": earlier, "json": tmp_path / "earlier.json", "checkpoint": earlier_path}[source]
    earlier.save(tmp_path / "earlier.json")
    told = []
    path = tmp_path / "new.db"
    result = run(quadratic_space, optimizer=Spy(told), n_iterations=5, previous_result=previous,
                 warm_start_strategy=strategy, checkpoint_file=path)
    assert told[:8] == [t.config for t in earlier.trials]  # told before the run
    new = result.trials[8:] if strategy == "continue" else result.trials
    assert len(new) == 5 and [t.trial_id for t in new] == list(range(8, 13) if strategy == "continue" else range(5))
    if strategy == "continue":
        def without_id(trial):
            return {key: value for key, value in trial.to_dict().items() if key != "config_id"}

        assert [without_id(t) for t in result.trials[:8]] == [without_id(t) for t in earlier.trials]
        # the earlier iterations move below 0: a config id names one config of the combined result
        assert [t.config_id[0] for t in result.trials[:8]] == [t.config_id[0] - 8 for t in earlier.trials]
        assert len({t.config_id for t in result.trials}) == len(result.trials)
        assert result.best_loss == min(t.loss for t in result.trials)
    assert [t.to_dict() for t in FMinResult.load(path).trials] == [t.to_dict() for t in result.trials]
    resumed = run(quadratic_space, optimizer=Spy(told), n_iterations=7, previous_result=previous,
                  warm_start_strategy=strategy, checkpoint_file=path)
    assert len(resumed.trials) == len(result.trials) + 2
    with pytest.raises(ValueError, match="setting 'warm_start'"):
        run(quadratic_space, n_iterations=7, checkpoint_file=path)


def test_warm_start_skips_configs_that_the_new_space_does_not_hold(quadratic_space, caplog):
    earlier = run(quadratic_space, n_iterations=20, random_state=3)
    from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace, UniformFloatHyperparameter

    narrower = ConfigurationSpace()
    narrower.add([UniformFloatHyperparameter("x", 0, 5), CategoricalHyperparameter("c", ["a", "b"])])
    result = run(narrower, n_iterations=2, previous_result=earlier, warm_start_strategy="continue")
    kept = [t for t in earlier.trials if t.config["x"] >= 0]
    assert 0 < len(kept) < 20 and len(result.trials) == len(kept) + 2
    assert "skipped" in caplog.text


def sleeps_or_hoards(config):
    if config["x"] > 3:
        time.sleep(3600)
    if config["x"] < -3:
        hoard = []
        while True:
            hoard.append(np.zeros(2**23))
    return quadratic(config)


def test_time_and_memory_limits_are_recorded_and_the_run_finishes(tmp_path, quadratic_space):
    points = [{"x": 4.0, "c": "a"}, {"x": -4.0, "c": "a"}, {"x": 1.0, "c": "a"}, {"x": 0.0, "c": "b"}]
    path = tmp_path / "run.db"
    result = run(quadratic_space, sleeps_or_hoards, initial_points=points, n_iterations=4, trial_time_limit=2,
                 trial_memory_limit=200, checkpoint_file=path)
    assert [t.status for t in result.trials] == [TrialStatus.TIMEOUT, TrialStatus.MEMOUT, TrialStatus.SUCCESS,
                                                 TrialStatus.SUCCESS]
    assert "time limit of 2 s" in result.trials[0].error and "memory limit of 200 MB" in result.trials[1].error
    assert result.best_loss == 0.0 and result.meta["stop_reason"] == "finished"
    assert [t.status for t in FMinResult.load(path).trials] == [t.status for t in result.trials]


def test_checkpoint_freq_is_accepted(tmp_path, quadratic_space):
    assert len(run(quadratic_space, n_iterations=2, checkpoint_freq=1, checkpoint_file=tmp_path / "a.db")) == 2


@pytest.mark.parametrize("content, message", [(b"not a database at all\n" * 20, "not an SQLite database"),
                                              ("truncated", "damaged")])
def test_fmin_refuses_a_foreign_or_truncated_file_and_leaves_it_alone(tmp_path, quadratic_space, content, message):
    path = tmp_path / "run.db"
    if content == "truncated":
        run(quadratic_space, n_iterations=50, checkpoint_file=path)
        content = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(content)
    before = path.read_bytes(), os.stat(path).st_mtime_ns
    with pytest.raises(ValueError, match=message):
        run(quadratic_space, n_iterations=3, checkpoint_file=path)
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before and os.listdir(tmp_path) == ["run.db"]


def test_limits_reach_the_workers_of_async_comm(quadratic_space):
    points = [{"x": 4.0, "c": "a"}, {"x": -4.0, "c": "a"}, {"x": 1.0, "c": "a"}, {"x": 0.0, "c": "b"}]
    result = run(quadratic_space, sleeps_or_hoards, initial_points=points, n_iterations=4, trial_time_limit=2,
                 trial_memory_limit=200, parallel_strategy="AsyncComm", n_jobs=2)
    statuses = {t.config["x"]: t.status for t in result.trials}
    assert statuses == {4.0: TrialStatus.TIMEOUT, -4.0: TrialStatus.MEMOUT, 1.0: TrialStatus.SUCCESS,
                        0.0: TrialStatus.SUCCESS}


def test_continuing_a_hyperband_run_keeps_one_config_per_config_id(quadratic_space):
    generator = HyperBandIterGenerator(1 / 9, 1, 3)
    earlier = run(quadratic_space, lambda c, budget: c["x"] ** 2 / budget, n_iterations=3,
                  multi_fidelity_iter_generator=generator, random_state=1)
    result = run(quadratic_space, lambda c, budget: c["x"] ** 2 / budget, n_iterations=3,
                 multi_fidelity_iter_generator=generator, random_state=2, previous_result=earlier,
                 warm_start_strategy="continue")
    configs_of: dict = {}
    for trial in result.trials:
        configs_of.setdefault(trial.config_id, set()).add(trial.config["x"])
    assert all(len(configs) == 1 for configs in configs_of.values())  # promotions share an id, runs do not
    assert sorted({t.config_id[0] for t in result.trials}) == [-3, -2, -1, 0, 1, 2]


def test_choices_json_cannot_give_back_are_refused_with_a_checkpoint_and_on_save(tmp_path):
    from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace

    space = ConfigurationSpace()
    space.add(CategoricalHyperparameter("hidden_layer_sizes", [(10,), (20, 20)]))
    with pytest.raises(ValueError, match=r"cannot give back hyperparameter 'hidden_layer_sizes': value \(10,\)"):
        fmin(lambda config: len(config["hidden_layer_sizes"]), space, n_iterations=2,
             checkpoint_file=tmp_path / "run.db", show_progressbar=False)
    assert not (tmp_path / "run.db").exists()
    result = fmin(lambda config: len(config["hidden_layer_sizes"]), space, n_iterations=2, show_progressbar=False)
    assert result.best_config["hidden_layer_sizes"] in [(10,), (20, 20)]  # without a checkpoint it runs
    with pytest.raises(ValueError, match="cannot be saved as JSON"):
        result.save(tmp_path / "run.json")
    assert not (tmp_path / "run.json").exists()


@pytest.mark.parametrize("strategy", ["Serial", "AsyncComm"])
def test_a_full_disk_stops_the_run_with_the_file_named_and_the_trials_so_far(tmp_path, quadratic_space, strategy,
                                                                               monkeypatch):
    from ultraopt.storage import SQLiteStorage, StorageError

    open_writer = SQLiteStorage._open_writer

    def small_disk(self):  # SQLite's own size limit: writes past it fail as on a full disk (SQLITE_FULL)
        conn = open_writer(self)
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        conn.execute(f"PRAGMA max_page_count = {pages + 12}")
        return conn

    monkeypatch.setattr(SQLiteStorage, "_open_writer", small_disk)
    path = tmp_path / "run.db"
    with pytest.raises(StorageError, match=r"cannot write .*run\.db: database or disk is full") as caught:
        run(quadratic_space, lambda config: {"loss": quadratic(config), "info": {"log": "y" * 8000}},
            n_iterations=60, checkpoint_file=path, parallel_strategy=strategy, n_jobs=1 if strategy == "Serial" else 2)
    in_memory = {trial.trial_id: trial.loss for trial in caught.value.result.trials
                 if trial.status is TrialStatus.SUCCESS}
    committed = {trial.trial_id: trial.loss for trial in FMinResult.load(path).trials
                 if trial.status is TrialStatus.SUCCESS}
    assert committed and committed.items() <= in_memory.items()  # nothing committed is lost; the rest is in .result


def test_a_failing_last_write_of_the_run_still_hands_over_its_trials(tmp_path, quadratic_space, monkeypatch):
    # the stop reason is written as the run ends: on a full disk that write fails too, and its error replaced the
    # one that carried the trials
    from ultraopt.storage import SQLiteStorage, StorageError

    update_meta = SQLiteStorage.update_meta

    def fails_once_stopped(self, meta):
        if "stop_reason" in meta:
            raise StorageError(f"cannot write {self.path}: database or disk is full")
        update_meta(self, meta)

    monkeypatch.setattr(SQLiteStorage, "update_meta", fails_once_stopped)
    with pytest.raises(StorageError, match="disk is full") as caught:
        run(quadratic_space, n_iterations=5, checkpoint_file=tmp_path / "run.db")
    assert len(caught.value.result.trials) == 5
    monkeypatch.undo()
    assert len(run(quadratic_space, n_iterations=5, checkpoint_file=tmp_path / "run.db").trials) == 5  # resumes
