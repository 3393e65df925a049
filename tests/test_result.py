import inspect
import json
import math
import os
import re

import numpy as np
import pytest

from tests.conftest import quadratic
from ultraopt import fmin
from ultraopt.hdl import hdl2cs
from ultraopt.result import FMinResult
from ultraopt.trial import Trial, TrialStatus


def finished(trial_id, config, budget, loss, status=TrialStatus.SUCCESS):
    trial = Trial(trial_id, (trial_id, 0, 0), config, budget, {"origin": "test"}, TrialStatus.RUNNING)
    ok = status is TrialStatus.SUCCESS
    trial.finish(status, loss if ok else None, None if ok else "failed")
    trial.start_time, trial.end_time = 100.0 + trial_id, 101.0 + trial_id
    return trial


def test_table_shows_dash_for_inactive_and_the_optimum_per_budget(conditional_space):
    trials = [
        finished(0, {"model": "svm", "C": 0.5}, 1.0, 0.3),
        finished(1, {"model": "tree", "depth": 4}, 1.0, 0.2),
        finished(2, {"model": "svm", "C": 2.0}, 3.0, 0.1),
        finished(3, {"model": "tree", "depth": 2}, 3.0, 0.4, TrialStatus.FAILED),
    ]
    result = FMinResult(conditional_space, [1, 3], trials)
    table = str(result)
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in table.splitlines()
            if line.startswith("|")}
    assert rows["HyperParameters"] == ["budget 1", "budget 3"]
    assert rows["depth"] == ["4", "-"] and rows["C"] == ["-", "2"] and rows["model"] == ["tree", "svm"]
    assert rows["Optimal Loss"] == ["0.2", "0.1"] and rows["Num Configs"] == ["2", "2"]
    assert result.best_config == {"model": "svm", "C": 2.0} and result.best_loss == 0.1
    assert result.incumbent_performances == {1.0: 0.2, 3.0: 0.1}


def test_table_shows_a_budget_whose_trials_all_failed(conditional_space):
    # left out, the run's largest budget vanished from the printed result, its failures with it
    trials = [
        finished(0, {"model": "svm", "C": 0.5}, 1.0, 0.3),
        finished(1, {"model": "tree", "depth": 4}, 9.0, None, TrialStatus.MEMOUT),
        finished(2, {"model": "svm", "C": 0.5}, 9.0, None, TrialStatus.FAILED),
    ]
    result = FMinResult(conditional_space, [1, 9], trials)
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in str(result).splitlines()
            if line.startswith("|")}
    assert rows["HyperParameters"] == ["budget 1", "budget 9"]
    assert rows["model"] == ["svm", ""] and rows["Optimal Loss"] == ["0.3", "none"]
    assert rows["Num Configs"] == ["1", "2"]
    assert result.best_loss == 0.3 and result.max_budget_reached == 1.0


def test_dataframe_has_a_row_per_trial_and_a_column_per_hyperparameter(conditional_space):
    trials = [finished(0, {"model": "svm", "C": 0.5}, 1.0, 0.3), finished(1, {"model": "tree", "depth": 4}, 1.0, 0.2)]
    frame = FMinResult(conditional_space, [1], trials).to_dataframe()
    assert len(frame) == 2
    assert list(frame["loss"]) == [0.3, 0.2] and list(frame["status"]) == ["success", "success"]
    assert frame["config:C"].iloc[0] == 0.5 and np.isnan(frame["config:C"].iloc[1])


def test_an_integer_inactive_in_some_trials_stays_an_integer(conditional_space):
    # the NaN of the inactive rows made it a float column: the CSV export wrote 4.0
    trials = [finished(0, {"model": "svm", "C": 0.5}, 1.0, 0.3), finished(1, {"model": "tree", "depth": 4}, 1.0, 0.2)]
    frame = FMinResult(conditional_space, [1], trials).to_dataframe()
    assert str(frame["config:depth"].dtype) == "Int64" and frame["config:depth"].isna().tolist() == [True, False]
    assert frame.to_csv(index=False).splitlines()[2].endswith(",4")
    assert frame["config:C"].dtype == float


NONE_OR_INTS = {"m(choice)": {"lr": {"class_weight": {"_type": "choice", "_value": [None, "balanced"]}},
                              "rf": {"max_depth": {"_type": "choice", "_value": [None, 5, 10]},
                                     "split": {"_type": "choice", "_value": [2, 0.1]}}}}
NONE_OR_INTS_CONFIGS = [
    {"m:__choice__": "rf", "m:rf:max_depth": 5, "m:rf:split": 2},
    {"m:__choice__": "lr", "m:lr:class_weight": None},
    {"m:__choice__": "rf", "m:rf:max_depth": None, "m:rf:split": 0.1},
]


def test_a_choice_of_several_types_keeps_its_options_and_none_is_not_inactive():
    # pandas turned 5 into 5.0 beside a missing value and an active None into NaN, like an inactive cell
    from ultraopt.hdl import hdl2cs

    trials = [finished(i, config, 1.0, 0.1 * i) for i, config in enumerate(NONE_OR_INTS_CONFIGS)]
    frame = FMinResult(hdl2cs(NONE_OR_INTS), [1], trials).to_dataframe()
    depth, weight, split = (frame[f"config:m:{name}"].tolist()
                            for name in ("rf:max_depth", "lr:class_weight", "rf:split"))
    assert [type(v) for v in depth[:1] + split[:1] + split[2:]] == [int, int, float] and depth[0] == 5
    assert depth[2] is None and np.isnan(depth[1])  # active None, inactive NaN
    assert weight[1] is None and np.isnan(weight[0]) and np.isnan(weight[2])


def test_a_save_that_fails_leaves_the_earlier_file_whole(quadratic_space, tmp_path, monkeypatch):
    first = fmin(quadratic, quadratic_space, optimizer="Random", n_iterations=3, show_progressbar=False)
    first.save(tmp_path / "run.json")
    os.chmod(tmp_path / "run.json", 0o640)
    second = fmin(quadratic, quadratic_space, optimizer="Random", n_iterations=5, show_progressbar=False)

    def no_space(fd):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr("ultraopt.files.os.fsync", no_space)
        with pytest.raises(OSError, match="No space left"):
            second.save(tmp_path / "run.json")
    assert len(FMinResult.load(tmp_path / "run.json").trials) == 3  # not truncated half-way
    assert [path.name for path in tmp_path.iterdir()] == ["run.json"]  # no temporary file left behind
    second.save(tmp_path / "run.json")
    assert len(FMinResult.load(tmp_path / "run.json").trials) == 5
    assert os.stat(tmp_path / "run.json").st_mode & 0o777 == 0o640  # the file's permissions are kept


def test_the_dataframe_has_every_hyperparameter_and_the_scalar_info_entries(tmp_path):
    from ultraopt.cli import main

    hdl = {"model(choice)": {"a": {"x": {"_type": "uniform", "_value": [0, 1]}},
                             "b": {"k": {"_type": "int_uniform", "_value": [1, 5]}}}}

    def objective(config):
        extra = {"curve": np.arange(3)} if config.get("model:a:x", 1) < 0.5 else {"curve": 1.0, "note": "late"}
        return {"loss": 0.5, "accuracy": np.float64(0.75), **extra}

    result = fmin(objective, hdl, initial_points=[{"model:__choice__": "a", "model:a:x": 0.25}], n_iterations=1,
                  show_progressbar=False)
    frame = result.to_dataframe()
    # model b never ran, but a CSV of this space has its column all the same
    assert [c for c in frame.columns if c.startswith("config:")] == [
        "config:model:__choice__", "config:model:a:x", "config:model:b:k"]
    assert frame["config:model:b:k"].isna().all()
    assert frame["info:accuracy"].tolist() == [0.75] and "info:curve" not in frame  # an array: JSON only
    result.save(tmp_path / "run.json")
    assert main(["report", str(tmp_path / "run.json")]) == 0
    assert "info: accuracy" in (tmp_path / "run.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("config_space"), "the 'config_space' entry is missing"),
        (lambda d: d.pop("budgets"), "the 'budgets' entry is missing"),
        (lambda d: d.update(budgets="12"), "'budgets' must be a list of positive numbers, got '12'"),
        (lambda d: d.update(meta=[1]), "'meta' must be a dict"),
        (lambda d: d.update(config_space={"hello": 1}), "'config_space' is not a search space"),
        (lambda d: d["trials"][1]["config"].update(x="ten"), "trial 1's config: value 'ten' of hyperparameter 'x'"),
        (lambda d: d["trials"][2].update(trial_id=0), "two trials have the id 0"),
    ],
)
def test_a_hand_edited_result_names_what_is_wrong(quadratic_space, tmp_path, edit, message):
    data = fmin(quadratic, quadratic_space, optimizer="Random", n_iterations=3, show_progressbar=False).to_dict()
    edit(data)
    (tmp_path / "run.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match=re.escape(f"a damaged UltraOpt result: {message}")):
        FMinResult.load(tmp_path / "run.json")


def test_an_empty_result_has_numeric_columns(quadratic_space):
    frame = FMinResult(hdl2cs({"x": {"_type": "uniform", "_value": [0, 1]}})).to_dataframe()
    assert len(frame) == 0 and frame["loss"].dtype == float and frame["budget"].dtype == float
    assert list(frame.columns)[-1] == "config:x"


def _strict_json(text):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_saving_into_a_missing_directory_names_it(quadratic_space, tmp_path):
    result = fmin(quadratic, quadratic_space, optimizer="Random", n_iterations=2, show_progressbar=False)
    for write, name in ((result.save, "run.json"), (result.report, "report.html")):
        with pytest.raises(FileNotFoundError, match=r"the directory .*missing does not exist") as caught:
            write(tmp_path / "missing" / name)
        assert caught.value.filename == str(tmp_path / "missing" / name)  # not the temporary file's name
    assert list(tmp_path.iterdir()) == []


def test_saving_over_a_checkpoint_file_is_refused_and_keeps_the_run(quadratic_space, tmp_path):
    # a script that checkpoints to "run.db" and then saves its result to the same name destroyed the journal it
    # would resume from
    path = tmp_path / "run.db"
    result = fmin(quadratic, quadratic_space, optimizer="Random", n_iterations=4, checkpoint_file=path,
                  show_progressbar=False)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"run\.db is a run's checkpoint file \(SQLite\).*another name"):
        result.save(path)
    assert path.read_bytes() == before and len(FMinResult.load(path).trials) == 4


def test_saved_and_exported_runs_are_standard_json_with_null_for_nan(quadratic_space, tmp_path, capsys):
    # bare NaN / Infinity tokens, which JavaScript's JSON.parse and most other readers refuse
    from ultraopt.cli import main

    result = fmin(lambda config: {"loss": quadratic(config), "auc": math.nan, "ratio": math.inf}, quadratic_space,
                  n_iterations=2, show_progressbar=False)
    result.save(tmp_path / "run.json")
    saved = _strict_json((tmp_path / "run.json").read_text())
    assert saved["trials"][0]["info"] == {"auc": None, "ratio": None}
    assert math.isnan(result.trials[0].info["auc"])  # in memory, as the objective returned it
    assert FMinResult.load(tmp_path / "run.json").best_loss == result.best_loss
    assert main(["export", str(tmp_path / "run.json"), "--format", "json"]) == 0
    assert _strict_json(capsys.readouterr().out)["trials"][1]["info"] == {"auc": None, "ratio": None}


def test_convergence_plot_draws_the_best_so_far(quadratic_space):
    result = fmin(quadratic, quadratic_space, optimizer="Random", n_iterations=30, show_progressbar=False)
    ax = result.plot_convergence()
    best_line = ax.get_lines()[0]
    y = best_line.get_ydata()
    assert len(y) == 30 and np.all(np.diff(y) <= 0) and y[-1] == pytest.approx(result.best_loss)
    ax_time = result.plot_convergence(over="time")
    assert np.all(np.diff(ax_time.get_lines()[0].get_xdata()) >= 0)


def test_the_convergence_legend_hides_no_trial(quadratic_space):
    losses = [0.04, 0.045, 0.056, 0.146, 0.584, 0.045]  # a late poor trial, top right
    trials = [finished(i, {"x": 0.0, "c": "a"}, 1.0, loss) for i, loss in enumerate(losses)]
    ax = FMinResult(quadratic_space, [1], trials).plot_convergence()
    ax.figure.canvas.draw()  # the legend finds its place when drawn
    box = ax.get_legend().get_window_extent(ax.figure.canvas.get_renderer())
    points = ax.transData.transform(np.column_stack([np.arange(1, 7), losses]))
    assert not any(box.contains(x, y) for x, y in points)


def test_best_trial_finds_a_budget_up_to_float_rounding_and_refuses_others(quadratic_space):
    third = 1 / 3
    trials = [finished(0, {"x": 1.0, "c": "a"}, third, 0.5), finished(1, {"x": 2.0, "c": "a"}, 1.0, 0.1)]
    result = FMinResult(quadratic_space, [third, 1], trials)
    assert result.best_trial(0.33333333333333).trial_id == 0  # as a user copies it from a table
    assert result.best_trial(1).trial_id == 1
    with pytest.raises(ValueError, match=r"budget 1/2 is not a budget of this run \(its budgets: 1/3, 1\)"):
        result.best_trial(0.5)


def test_cancelled_trials_are_not_counted_as_evaluated_configs(quadratic_space):
    trials = [finished(0, {"x": 1.0, "c": "a"}, 1.0, 0.5), finished(1, {"x": 2.0, "c": "a"}, 1.0, 0.4),
              finished(2, {"x": 3.0, "c": "a"}, 1.0, None, TrialStatus.CANCELLED)]
    result = FMinResult(quadratic_space, [1], trials)
    rows = {row[0]: row[1:] for row in result.optimum_rows()[1] if row}
    assert rows["Num Configs"] == ["2"]
    assert result.summary()["budgets"] == {"1": 2} and result.summary()["status"] == {"success": 2, "cancelled": 1}


def test_result_plot_methods_take_every_argument_of_the_viz_functions_they_wrap():
    import ultraopt.viz as viz

    wrapped = [name for name in dir(FMinResult)
               if not name.startswith("_") and callable(getattr(FMinResult, name)) and hasattr(viz, name)]
    assert {"plot_slices", "plot_importance", "hyperparameter_importance"} <= set(wrapped)
    for name in wrapped:
        method = list(inspect.signature(getattr(FMinResult, name)).parameters)[1:]  # without self
        function = list(inspect.signature(getattr(viz, name)).parameters)[1:]  # without the result
        assert method == function, name
