"""``ultraopt show``, ``export`` and ``report`` on a saved run; errors are one line and exit code 2."""

import csv
import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.report.runs import hyperband_run
from ultraopt import FMinResult, fmin
from ultraopt.cli import main
from ultraopt.trial import Trial, TrialStatus


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    run = hyperband_run()
    path = tmp_path_factory.mktemp("runs") / "run.json"
    run.save(path)
    return run, path


def test_show_prints_the_summary_and_the_optimum_table(saved, capsys):
    run, path = saved
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"trials: {len(run.trials)} (success: " in out and "failed: " in out
    assert "trials per budget: 1/9: 9, 1/3: 6, 1: 5" in out
    assert f"best loss: {run.best_loss:.6g} on budget 1" in out
    assert run.optimum_table() in out


def test_show_lists_the_best_trials_the_importance_and_the_space(saved, capsys):
    run, path = saved
    assert main(["show", str(path), "--top", "3", "--budget", str(1 / 3), "--importance", "--space"]) == 0
    out = capsys.readouterr().out
    best = sorted((t for t in run.trials if t.is_success and t.budget == 1 / 3), key=lambda t: t.loss)[:3]
    assert "the 3 best trials on budget 1/3:" in out
    listed = [line.split("|")[1].strip() for line in out.split("the 3 best trials")[1].splitlines()
              if line.startswith("| ") and "trial" not in line][:3]
    assert listed == [str(t.trial_id) for t in best]
    assert "hyperparameter importance (" in out and "| lr " in out
    assert "search space" in out and "estimator: choice of 2" in out


def test_show_says_why_there_is_no_importance_and_prints_the_rest(tmp_path, capsys):
    run = fmin(lambda config: config["x"], {"x": {"_type": "uniform", "_value": [0, 1]}}, n_iterations=2,
               show_progressbar=False)
    run.save(tmp_path / "run.json")
    assert main(["show", str(tmp_path / "run.json"), "--importance", "--space"]) == 0
    out = capsys.readouterr().out
    assert "no hyperparameter importance: hyperparameter importance needs at least 5 successful trials, got 2" in out
    assert "search space" in out


@pytest.mark.parametrize("typed", ["1/3", "0.333", "0.33333333333333"])
def test_show_takes_a_budget_as_printed_or_as_a_rounded_decimal(saved, capsys, typed):
    assert main(["show", str(saved[1]), "--top", "1", "--budget", typed]) == 0
    assert "the 1 best trials on budget 1/3:" in capsys.readouterr().out


def test_export_csv_has_a_row_per_trial(saved, capsys):
    run, path = saved
    assert main(["export", str(path), "--format", "csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(frame) == len(run.trials)
    assert frame["loss"].min() == pytest.approx(min(t.loss for t in run.trials if t.is_success))
    assert "config:x<script>" in frame.columns and set(frame["status"]) == {"success", "failed"}


def test_export_csv_writes_an_active_none_option_as_none_and_an_inactive_cell_empty(tmp_path, capsys):
    from tests.test_result import NONE_OR_INTS, NONE_OR_INTS_CONFIGS

    run = fmin(lambda config: 0.0, NONE_OR_INTS, initial_points=NONE_OR_INTS_CONFIGS, n_iterations=3,
               show_progressbar=False)
    run.save(tmp_path / "run.json")
    assert main(["export", str(tmp_path / "run.json"), "--format", "csv"]) == 0
    cells = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(c["config:m:rf:max_depth"], c["config:m:lr:class_weight"], c["config:m:rf:split"]) for c in cells] == [
        ("5", "", "2"), ("", "None", ""), ("None", "", "0.1")]


def test_export_json_reads_back_as_the_same_run(saved, tmp_path, capsys):
    run, path = saved
    out = tmp_path / "copy.json"
    assert main(["export", str(path), "--format", "json", "-o", str(out)]) == 0
    assert f"{len(run.trials)} trials written to {out}" in capsys.readouterr().err
    again = FMinResult.load(out)
    assert [t.to_dict() for t in again.trials] == [t.to_dict() for t in run.trials]
    assert json.loads(out.read_text())["format"] == "ultraopt-result"


def test_report_writes_the_page_next_to_the_run_by_default(tmp_path, capsys):
    run = hyperband_run(n_iterations=1)
    run.trials = run.trials[:2]  # the pages' content is tested in tests/report; here the command's plumbing
    target = tmp_path / "run.json"
    run.save(target)
    assert main(["report", str(target), "--title", "nightly"]) == 0
    page = (tmp_path / "run.html").read_text(encoding="utf-8")
    assert "<title>nightly</title>" in page and 'id="trials-table"' in page
    assert "report of 2 trials written to" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "{missing}"], "no such run file: "),
        (["show", "{junk}"], "is not an UltraOpt run"),
        (["export", "{other_json}"], "not an UltraOpt result"),
        (["show", "{list_json}"], "not an UltraOpt result"),
        (["show", "{tmp}"], "is a directory, not a run file"),
        (["show", "/dev/zero"], "is not a regular file"),  # was read forever
        (["show", "{run}", "--top", "-1"], "--top must be a non-negative number"),
        (["show", "{run}", "--top", "2", "--budget", "0.5"], "budget 0.5 is not a budget of this run (its budgets:"),
        (["show", "{run}", "--top", "2", "--budget", "third"], "--budget must be a number or a fraction"),
        (["report", "{run}", "-o", "{tmp}/nowhere/r.html"], "no such directory"),
        (["report", "{run}", "-o", "{run}"], "is the run file itself: writing there would destroy the run"),
        (["export", "{run}", "-o", "{run}"], "is the run file itself: writing there would destroy the run"),
        (["export", "{run}", "-o", "{tmp}"], "it is a directory"),
        (["report", "{run}", "-o", "{tmp}"], "it is a directory"),
        (["export", "{run}", "-o", "{run}/x.csv"], "no such directory"),
        (["demo", "--output", "{tmp}/nowhere/r.json"], "no such directory"),  # said before the run, not after
        (["demo", "--output", "{tmp}"], "it is a directory"),
    ],
)
def test_errors_are_one_line_and_exit_code_2(saved, tmp_path, capsys, argv, message):
    (tmp_path / "junk.db").write_bytes(b"\x89\xff\x00garbage")
    (tmp_path / "other.json").write_text('{"hello": 1}')
    (tmp_path / "list.json").write_text("[1, 2]")
    names = {"missing": tmp_path / "nope.db", "junk": tmp_path / "junk.db", "other_json": tmp_path / "other.json",
             "list_json": tmp_path / "list.json", "tmp": tmp_path, "run": saved[1]}
    assert main([part.format(**names) for part in argv]) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1 and err.startswith(f"ultraopt {argv[0]}: error: ") and message in err
    assert captured.out == ""  # refused before any output


def test_a_write_that_fails_is_one_line_and_leaves_the_earlier_file_whole(saved, tmp_path, capsys, monkeypatch):
    target = tmp_path / "trials.csv"
    target.write_text("the earlier export")

    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ultraopt.files.os.fsync", no_space)  # the disk fills up before the text is all written
    assert main(["export", str(saved[1]), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"ultraopt export: error: cannot write {target}: No space left on device\n"
    assert target.read_text() == "the earlier export" and [p.name for p in tmp_path.iterdir()] == ["trials.csv"]


def test_a_reader_that_stops_early_is_no_error(tmp_path):
    run = fmin(lambda config: config["x"] ** 2, {"x": {"_type": "uniform", "_value": [-1, 1]}}, optimizer="Random",
               n_iterations=400, show_progressbar=False)
    run.save(tmp_path / "big.json")
    # as `ultraopt show big.json --top 400 | head -1`: the reader closes the pipe after the first line
    process = subprocess.Popen([sys.executable, "-m", "ultraopt", "show", str(tmp_path / "big.json"), "--top", "400"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline().startswith(b"run: ")
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0 and "Traceback" not in stderr and "Error" not in stderr, stderr


def test_show_counts_trials_still_running_apart_from_the_finished_ones(saved, tmp_path, capsys):
    run, _ = saved
    copies = [Trial.from_dict(trial.to_dict()) for trial in run.trials]  # the fixture's run is shared
    finished, running = copies[:-2], copies[-2:]
    for trial in running:
        trial.status, trial.loss, trial.end_time = TrialStatus.RUNNING, None, None
    live = FMinResult(run.config_space, run.budgets, finished, run.meta, unfinished=running)
    live.save(tmp_path / "live.json")
    assert main(["show", str(tmp_path / "live.json")]) == 0
    first = capsys.readouterr().out.splitlines()[1]
    assert first.startswith(f"trials: {len(finished)} (") and first.endswith("; 2 running or cut short")


@pytest.mark.parametrize(("column", "value", "named"), [
    ("loss", "'nan-ish'", "a success has loss 'nan-ish'"),
    ("budget", "'x'", "budget 'x' is not a positive number"),
    ("config", "'[[[[1]]]]'", "config is not a dict"),
])
def test_a_damaged_checkpoint_is_a_one_line_error_naming_the_trial(tmp_path, capsys, column, value, named):
    import sqlite3

    path = tmp_path / "run.db"
    fmin(lambda config: config["x"] ** 2, {"x": {"_type": "uniform", "_value": [-1, 1]}}, optimizer="Random",
         n_iterations=3, checkpoint_file=path, show_progressbar=False)
    with sqlite3.connect(path) as connection:
        connection.execute(f"UPDATE trials SET {column} = {value} WHERE trial_id = 1")
    for command in ("show", "export", "report"):
        assert main([command, str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "trial 1 is damaged" in err and named in err, err


@pytest.mark.parametrize("command", ["show", "export", "report", "demo", "nameserver", "worker"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0 and f"usage: ultraopt {command}" in capsys.readouterr().out


def test_the_installed_entry_point_lists_the_commands():
    done = subprocess.run([sys.executable, "-m", "ultraopt", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    for command in ("demo", "nameserver", "worker", "show", "export", "report"):
        assert command in done.stdout


def test_the_commands_read_a_checkpoint_file(tmp_path, capsys):
    from tests.report.runs import HOSTILE_HDL, hostile_objective, hyperband_generator
    from ultraopt import fmin

    db = tmp_path / "run.db"
    run = fmin(hostile_objective, HOSTILE_HDL, optimizer="Random", n_iterations=2,
               multi_fidelity_iter_generator=hyperband_generator(), checkpoint_file=db, show_progressbar=False)
    assert main(["show", str(db)]) == 0
    assert f"trials: {len(run.trials)} (" in capsys.readouterr().out
    assert main(["export", str(db), "--format", "csv"]) == 0
    assert len(pd.read_csv(io.StringIO(capsys.readouterr().out))) == len(run.trials)
