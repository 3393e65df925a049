"""One contract, run against every storage (as Optuna does for its storages)."""

import pytest

from ultraopt.storage import InMemoryStorage, RunHeader, SQLiteStorage
from ultraopt.trial import Trial, TrialStatus


def header_for(space, **settings):
    return RunHeader(space.to_serialized_dict(), {"optimizer": "Random", "random_state": 0, **settings}, [1.0, 3.0],
                     {"n_jobs": 1})


def created(trial_id, config, budget=1.0, config_id=None):
    return Trial(trial_id, config_id or (trial_id, 0, 0), config, budget, {"origin": "random"}, TrialStatus.RUNNING,
                 attempt=1)


def finish(trial, loss=None, status=TrialStatus.SUCCESS):
    trial.finish(status, loss, None if status is TrialStatus.SUCCESS else "it failed")
    trial.info = {"fold": [1, 2]}
    trial.start_time, trial.end_time, trial.worker = 10.0 + trial.trial_id, 11.5 + trial.trial_id, "w1"
    return trial


@pytest.fixture(params=["memory", "sqlite"])
def make_storage(request, tmp_path):
    """A factory of storages of one kind; the same call returns a storage on the same place (a reopened file)."""
    if request.param == "memory":
        storage = InMemoryStorage()
        yield lambda: storage
        return
    path = tmp_path / "run.db"
    opened = []

    def make():
        for earlier in opened:
            earlier.close()
        opened.append(SQLiteStorage(path))
        return opened[-1]

    yield make
    for storage in opened:
        storage.close()


class TestStorageContract:
    def test_a_new_storage_takes_the_header_and_a_second_open_is_a_resume(self, make_storage, quadratic_space):
        assert make_storage().header is None
        assert make_storage().open_run(header_for(quadratic_space)) is False
        again = make_storage()
        assert again.open_run(header_for(quadratic_space)) is True
        assert again.header.budgets == [1.0, 3.0] and again.header.meta == {"n_jobs": 1}

    def test_another_space_is_refused_naming_the_hyperparameter(self, make_storage, quadratic_space,
                                                                 conditional_space):
        make_storage().open_run(header_for(quadratic_space))
        with pytest.raises(ValueError, match=r"hyperparameter 'x' is only in the stored run.*'model' is not in"):
            make_storage().open_run(header_for(conditional_space))

    def test_a_whole_other_space_is_refused_in_a_message_of_a_few_lines(self, make_storage, quadratic_space):
        from ConfigSpace import ConfigurationSpace, UniformFloatHyperparameter

        wide = ConfigurationSpace()
        wide.add([UniformFloatHyperparameter(f"h{i}", 0, 1) for i in range(60)])
        make_storage().open_run(header_for(quadratic_space))
        with pytest.raises(ValueError, match=r"and \d+ more difference\(s\)") as caught:
            make_storage().open_run(header_for(wide))
        assert len(str(caught.value)) < 1000

    def test_other_settings_are_refused_naming_each_setting(self, make_storage, quadratic_space):
        make_storage().open_run(header_for(quadratic_space))
        with pytest.raises(ValueError, match=r"setting 'random_state': stored 0, given 1") as caught:
            make_storage().open_run(header_for(quadratic_space, random_state=1, schedule=[[1], [1.0]]))
        assert "setting 'schedule'" in str(caught.value)
        assert make_storage().header.settings["random_state"] == 0

    def test_events_come_back_in_order_as_they_were(self, make_storage, quadratic_space):
        storage = make_storage()
        storage.open_run(header_for(quadratic_space))
        first, second = created(0, {"x": 0.5, "c": "a"}), created(1, {"x": -1.0, "c": "b"}, 3.0, (0, 1, 0))
        storage.record_created(first)
        storage.record_created(second)
        storage.record_finished(finish(second, status=TrialStatus.TIMEOUT))
        first.attempt = 2
        storage.record_restarted(first)
        storage.record_finished(finish(first, 0.25))
        first.loss = 99.0  # the live trial changing afterwards does not change what was stored
        events = list(make_storage().events())
        assert [(e.seq, e.kind, e.trial.trial_id) for e in events] == [
            (1, "created", 0), (2, "created", 1), (3, "finished", 1), (4, "restarted", 0), (5, "finished", 0)]
        assert events[0].trial == created(0, {"x": 0.5, "c": "a"})
        assert events[1].trial.config_id == (0, 1, 0) and events[1].trial.budget == 3.0
        assert events[3].trial.attempt == 2 and events[3].trial.status is TrialStatus.RUNNING
        done = events[4].trial
        assert (done.status, done.loss, done.info, done.worker, done.attempt) == (
            TrialStatus.SUCCESS, 0.25, {"fold": [1, 2]}, "w1", 2)
        assert (done.start_time, done.end_time) == (10.0, 11.5)
        assert events[2].trial.status is TrialStatus.TIMEOUT and events[2].trial.error == "it failed"
        assert make_storage().n_events == 5

    def test_load_result_keeps_unfinished_trials_apart_as_running(self, make_storage, quadratic_space):
        storage = make_storage()
        storage.open_run(header_for(quadratic_space))
        for trial_id in range(3):
            storage.record_created(created(trial_id, {"x": float(trial_id), "c": "a"}))
        storage.record_finished(finish(created(1, {"x": 1.0, "c": "a"}), 0.5))
        storage.update_meta({"stop_reason": "interrupted"})
        result = make_storage().load_result()
        assert [(t.trial_id, t.status) for t in result.trials] == [(1, TrialStatus.SUCCESS)]
        running = TrialStatus.RUNNING
        assert [(t.trial_id, t.status) for t in result.unfinished] == [(0, running), (2, running)]
        assert result.summary()["status"] == {"success": 1, "unfinished": 2}
        assert result.best_loss == 0.5 and result.meta == {"stop_reason": "interrupted"}
        assert list(result.config_space) == ["c", "x"]

    def test_a_cancelled_trial_comes_back_cancelled_among_the_trials(self, make_storage, quadratic_space):
        storage = make_storage()
        storage.open_run(header_for(quadratic_space))
        trial = created(0, {"x": 0.5, "c": "a"})
        storage.record_created(trial)
        trial.finish(TrialStatus.CANCELLED, error="the run stopped (time limit)")
        storage.record_cancelled(trial)
        events = list(make_storage().events())
        assert [(e.kind, e.trial.status, e.trial.error) for e in events] == [
            ("created", TrialStatus.RUNNING, None),
            ("cancelled", TrialStatus.CANCELLED, "the run stopped (time limit)"),
        ]
        # as in the result fmin returned (it was "running or cut short" in the file, a trial in memory)
        result = make_storage().load_result()
        assert [t.status for t in result.trials] == [TrialStatus.CANCELLED] and result.unfinished == []
        trial.status, trial.attempt = TrialStatus.RUNNING, 2
        storage.record_restarted(trial)  # a resumed run starts it again: running, and not twice in the result
        result = make_storage().load_result()
        assert result.trials == [] and [t.status for t in result.unfinished] == [TrialStatus.RUNNING]

    def test_warm_start_trials_are_part_of_the_header(self, make_storage, quadratic_space):
        earlier = [finish(created(7, {"x": 2.0, "c": "b"}), 3.0)]
        header = header_for(quadratic_space)
        header.warm_start, header.keep_warm_start = earlier, True
        make_storage().open_run(header)
        stored = make_storage().header
        assert stored.warm_start == earlier and stored.keep_warm_start
        assert [t.trial_id for t in make_storage().load_result().trials] == [7]
