import json

from ultraopt.trial import Trial, TrialStatus


def test_trial_round_trips_through_json():
    trial = Trial(3, (1, 0, 2), {"x": 1.5, "flag": True, "n": 3, "s": "a"}, 0.25, {"origin": "model"})
    trial.finish(TrialStatus.SUCCESS, 0.125)
    trial.start_time, trial.end_time, trial.worker, trial.attempt = 10.0, 12.5, "w1", 2
    again = Trial.from_dict(json.loads(json.dumps(trial.to_dict())))
    assert again == trial
    assert again.config_id == (1, 0, 2) and type(again.config["flag"]) is bool and type(again.config["n"]) is int
    assert again.duration == 2.5


def test_status_classification():
    assert TrialStatus.SUCCESS.is_finished and not TrialStatus.SUCCESS.is_failure
    assert all(s.is_failure for s in (TrialStatus.FAILED, TrialStatus.TIMEOUT, TrialStatus.MEMOUT, TrialStatus.LOST))
    assert not TrialStatus.CANCELLED.is_failure and TrialStatus.CANCELLED.is_finished
    assert not TrialStatus.RUNNING.is_finished
