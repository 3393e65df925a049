import json

import pytest

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


@pytest.mark.parametrize(("change", "named"), [
    ({"loss": float("nan")}, "a success has loss nan"),
    ({"loss": 10**400}, "not a trial"),  # an int too large for a float
    ({"config_id": [1e999, 0, 0]}, "not a trial"),
    ({"budget": -1.0}, "budget -1.0 is not a positive number"),
    ({"budget": float("inf")}, "budget inf is not a positive number"),
    ({"config": [1, 2]}, "config is not a dict"),
    ({"info": "x"}, "info is not a dict"),
    ({"start_time": "x"}, "start_time 'x' is not a number"),
    ({"trial_id": "7"}, "trial_id '7' is not an int"),
    ({"status": "finished"}, "not a trial"),
])
def test_a_damaged_trial_is_refused_naming_the_field(change, named):
    trial = Trial(7, (0, 0, 0), {"x": 1.0}, 1.0, {"origin": "random"}, TrialStatus.RUNNING, attempt=1)
    trial.finish(TrialStatus.SUCCESS, 0.5)
    with pytest.raises(ValueError, match=named):
        Trial.from_dict({**json.loads(json.dumps(trial.to_dict())), **change})


def test_to_dict_is_a_copy_as_dataclasses_asdict_makes_it():
    # to_dict stopped deep-copying every config value (seconds for a warm start of 10,000 trials): the data must
    # still be what asdict gave, and changing it must not change the trial
    from dataclasses import asdict

    trial = Trial(3, (1, 0, 2), {"x": 0.5, "c": "a", "flag": None}, 1 / 3, {"origin": "model", "model": {"n": [1]}},
                  TrialStatus.SUCCESS, 0.25, {"curve": [0.5, 0.25], "nested": {"k": 1}}, None, 1.0, 2.0, "w", 2)
    data = trial.to_dict()
    assert data == {**asdict(trial), "status": "success", "config_id": [1, 0, 2]}
    data["config"]["x"] = 9.0
    data["info"]["curve"].append(0.0)
    data["info"]["nested"]["k"] = 2
    data["config_info"]["model"]["n"].append(2)
    assert trial.config["x"] == 0.5 and trial.info == {"curve": [0.5, 0.25], "nested": {"k": 1}}
    assert trial.config_info["model"] == {"n": [1]}
