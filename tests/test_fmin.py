import sys

import numpy as np
import pytest

from tests.conftest import quadratic
from ultraopt import FMinResult, fmin
from ultraopt.executors.serial import SerialExecutor
from ultraopt.facade.checks import InvalidArgumentError
from ultraopt.multi_fidelity import CustomIterGenerator
from ultraopt.optimizer import RandomOptimizer
from ultraopt.trial import TrialStatus


def run(space, func=quadratic, **kwargs):
    kwargs.setdefault("optimizer", "Random")
    kwargs.setdefault("show_progressbar", False)
    return fmin(func, space, **kwargs)


def test_returns_every_trial_and_the_best(quadratic_space):
    result = run(quadratic_space, n_iterations=25)
    assert isinstance(result, FMinResult) and len(result.trials) == 25
    assert result.best_loss == min(t.loss for t in result.trials)
    assert result.best_config == result.best_trial().config


def test_same_seed_same_trials(conditional_space):
    def objective(config):
        return config.get("C", 0.0) + config.get("depth", 0)

    first = run(conditional_space, objective, n_iterations=15, random_state=7)
    second = run(conditional_space, objective, n_iterations=15, random_state=7)
    other = run(conditional_space, objective, n_iterations=15, random_state=8)
    assert [t.config for t in first.trials] == [t.config for t in second.trials]
    assert [t.config for t in first.trials] != [t.config for t in other.trials]


def test_optimizer_by_name_class_or_instance(quadratic_space):
    for optimizer in ("random", RandomOptimizer, RandomOptimizer()):
        assert len(run(quadratic_space, optimizer=optimizer, n_iterations=3).trials) == 3


def test_budget_reaches_the_objective_with_multi_fidelity(quadratic_space):
    generator = CustomIterGenerator([4, 2, 1], [0.25, 0.5, 1.0])
    result = run(quadratic_space, lambda config, budget: budget, n_iterations=2,
                 multi_fidelity_iter_generator=generator)
    assert all(t.loss == t.budget for t in result.trials)
    assert len(result.trials) == 14 and result.budgets_reached == [0.25, 0.5, 1.0]


def test_dict_return_and_info(quadratic_space):
    result = run(quadratic_space, lambda c: {"loss": quadratic(c), "info": {"fold": [1, 2]}, "cost": 2.0},
                 n_iterations=3)
    assert result.trials[0].info == {"fold": [1, 2], "cost": 2.0}


def test_nan_and_exceptions_are_recorded_with_their_reason(quadratic_space):
    def objective(config):
        if config["x"] > 2:
            return float("nan")
        if config["x"] < -2:
            raise ArithmeticError("below -2")
        return quadratic(config)

    result = run(quadratic_space, objective, n_iterations=40, random_state=1)
    failed = result.trials_with_status(TrialStatus.FAILED)
    assert failed and len(result.trials) == 40
    reasons = {("nan" in t.error) or ("ArithmeticError: below -2" in t.error) for t in failed}
    assert reasons == {True}


def test_initial_points_are_evaluated_first(quadratic_space):
    points = [{"x": 1.0, "c": "a"}, {"x": -1.0, "c": "b"}]
    result = run(quadratic_space, n_iterations=5, initial_points=points)
    assert [t.config for t in result.trials[:2]] == points
    assert result.best_loss == 0.0


def test_callbacks_and_time_limit(quadratic_space):
    seen = []
    run(quadratic_space, n_iterations=4, callbacks=[lambda result, trial: seen.append(trial.trial_id)])
    assert seen == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_iterations": 0}, "n_iterations"),
        ({"n_iterations": 2.5}, "n_iterations"),
        ({"n_jobs": -3}, "n_jobs"),
        ({"random_state": "seed"}, "random_state"),
        ({"time_limit": -1}, "time_limit"),
        ({"callbacks": print}, "callbacks"),
        ({"optimizer": "Bayes"}, "optimizer"),
        ({"parallel_strategy": "Threads", "n_jobs": 2}, "parallel_strategy"),
        ({"multi_fidelity_iter_generator": [1, 2]}, "multi_fidelity_iter_generator"),
        ({"early_stopping_rounds": 0}, "early_stopping_rounds"),
        ({"initial_points": 3}, "initial_points"),
        ({"checkpoint_file": ""}, "checkpoint_file"),
        ({"initial_points": [{"x": 0.5, "c": "a"}, "x"]}, "initial_points"),
    ],
)
def test_bad_arguments_name_the_argument(quadratic_space, kwargs, name):
    with pytest.raises(InvalidArgumentError, match=name):
        run(quadratic_space, **kwargs)


def test_progress_bar_shows_best_loss(quadratic_space, capsys):
    fmin(quadratic, quadratic_space, optimizer="Random", n_iterations=5, show_progressbar=True)
    err = capsys.readouterr().err
    assert "5/5" in err and "best loss" in err


def test_seed_can_be_a_generator(quadratic_space):
    result = run(quadratic_space, n_iterations=2, random_state=np.random.default_rng(0))
    assert len(result.trials) == 2 and result.meta["random_state"] is None


def test_a_numpy_integer_seed_is_recorded_as_the_int_it_is(quadratic_space):
    result = run(quadratic_space, n_iterations=2, random_state=np.int64(5))
    assert result.meta["random_state"] == 5 and type(result.meta["random_state"]) is int


def test_numpy_integer_counts_are_recorded_as_ints_and_the_result_saves(quadratic_space, tmp_path):
    # they passed the checks and went into the meta as they were: the finished run could not be saved
    result = run(quadratic_space, n_iterations=np.int64(2), n_jobs=np.int64(1))
    assert type(result.meta["n_iterations"]) is int and type(result.meta["n_jobs"]) is int
    result.save(tmp_path / "run.json")


def test_a_callback_that_raises_leaves_the_run_so_far_on_its_error(quadratic_space):
    # the error left fmin without the result: every finished trial of a run without checkpoint was lost
    def buggy(result, trial):
        if len(result.trials) == 4:
            raise KeyError("typo")

    with pytest.raises(KeyError, match="typo") as caught:
        run(quadratic_space, n_iterations=10, callbacks=[buggy])
    assert len(caught.value.result.trials) == 4 and caught.value.result.best_loss is not None
    if sys.version_info >= (3, 11):  # exceptions take notes
        assert "4 finished trials are in this error's .result" in caught.value.__notes__[0]


def test_an_executor_that_fails_to_shut_down_leaves_the_finished_run_on_its_error(quadratic_space):
    # Dask's cluster close raised AssertionError after every trial had finished: the result went with it
    class FailingShutdown(SerialExecutor):
        def shutdown(self):
            raise AssertionError("can only join a started process")

    with pytest.raises(AssertionError, match="join a started process") as caught:
        run(quadratic_space, n_iterations=5, parallel_strategy=FailingShutdown())
    assert len(caught.value.result.trials) == 5


def test_initial_points_beyond_the_new_configs_of_the_run_are_named_in_a_warning(quadratic_space, caplog):
    points = [{"x": float(x), "c": "a"} for x in range(6)]
    result = run(quadratic_space, n_iterations=4, initial_points=points)
    assert [trial.config["x"] for trial in result.trials] == [0.0, 1.0, 2.0, 3.0]
    assert "6 initial_points, but 4 iterations sample 4 new configs: the last 2 initial points are not " \
           "evaluated" in caplog.text


def test_n_jobs_with_the_serial_strategy_is_named_in_a_warning_and_not_recorded(quadratic_space, caplog):
    # the run's meta said 4 jobs, and `ultraopt show` "n jobs: 4 · parallel strategy: Serial"
    result = run(quadratic_space, n_iterations=2, n_jobs=4, parallel_strategy="Serial")
    assert result.meta["n_jobs"] == 1 and "n_jobs=4 has no effect with parallel_strategy 'Serial'" in caplog.text


def test_a_run_on_an_hdl_written_with_numpy_values_saves_as_json(tmp_path):
    # the HDL kept in the result's meta held the numpy values, and save() failed after the run
    hdl = {"depth": {"_type": "choice", "_value": list(np.arange(1, 6))},
           "lr": {"_type": "uniform", "_value": [np.float64(0.0), np.float64(1.0)], "_default": np.float32(0.5)}}
    result = fmin(lambda config: config["lr"], hdl, n_iterations=3, show_progressbar=False)
    result.save(tmp_path / "run.json")
    assert FMinResult.load(tmp_path / "run.json").meta["hdl"]["depth"]["_value"] == [1, 2, 3, 4, 5]


def test_a_run_on_a_configspace_space_saves_as_json(quadratic_space, tmp_path):
    result = run(quadratic_space, n_iterations=2)
    result.save(tmp_path / "run.json")
    assert FMinResult.load(tmp_path / "run.json").meta["hdl"] is None


def test_result_records_the_strategy_that_ran(quadratic_space):
    assert run(quadratic_space, n_iterations=2).meta["parallel_strategy"] == "Serial"


class _InterruptedWhileStarting(SerialExecutor):
    """Ctrl-C pressed while the executor starts its workers."""

    def start(self, objective):
        raise KeyboardInterrupt


def test_ctrl_c_while_the_executor_starts_returns_the_result_so_far(quadratic_space, tmp_path):
    checkpoint = str(tmp_path / "run.db")
    run(quadratic_space, n_iterations=5, checkpoint_file=checkpoint)
    result = run(quadratic_space, n_iterations=10, checkpoint_file=checkpoint,
                 parallel_strategy=_InterruptedWhileStarting())
    assert result.meta["stop_reason"] == "interrupted"
    assert len(result.trials_with_status(TrialStatus.SUCCESS)) == 5


def test_initial_points_and_callbacks_may_be_generators(quadratic_space):
    seen = []
    result = run(quadratic_space, n_iterations=3,
                 initial_points=(point for point in [{"x": 0.125, "c": "a"}]),
                 callbacks=(callback for callback in [lambda result, trial: seen.append(trial.trial_id)]))
    assert result.trials[0].config == {"c": "a", "x": 0.125} and result.trials[0].config_info["origin"] == "user"
    assert seen == [0, 1, 2]


@pytest.mark.parametrize("optimizer", ["Random", "ETPE"])
def test_objective_may_edit_its_config(quadratic_space, optimizer):
    # a common pattern: take one value out and pass the rest on as **config
    def objective(config):
        x = config.pop("x")
        config["extra"] = 1
        return x**2

    result = run(quadratic_space, objective, optimizer=optimizer, n_iterations=15)
    assert len(result.trials) == 15 and all(t.is_success for t in result.trials)
    assert all(set(t.config) == set(quadratic_space) for t in result.trials)


@pytest.mark.parametrize(("strategy", "n_jobs"), [("Serial", 1), (SerialExecutor(), 1), ("simulated", None)])
def test_meta_says_how_many_trials_ran_at_once(quadratic_space, strategy, n_jobs):
    from ultraopt.executors import SimulatedExecutor

    if strategy == "simulated":  # an executor the user made: its own size, not fmin's n_jobs
        strategy, n_jobs = SimulatedExecutor(n_workers=8), 8
    result = fmin(quadratic, quadratic_space, n_iterations=3, parallel_strategy=strategy, show_progressbar=False)
    assert result.meta["n_jobs"] == n_jobs


def test_a_schedule_of_several_budgets_with_an_objective_that_takes_none_is_warned_about(quadratic_space, caplog):
    generator = CustomIterGenerator([2, 1], [1, 3])
    fmin(lambda config, budget: quadratic(config), quadratic_space, n_iterations=1,
         multi_fidelity_iter_generator=generator, show_progressbar=False)
    assert "takes none" not in caplog.text
    fmin(quadratic, quadratic_space, n_iterations=1, multi_fidelity_iter_generator=generator, show_progressbar=False)
    assert "the schedule has 2 budgets but the objective takes none" in caplog.text


def test_the_progress_bar_ends_full_when_failed_configs_were_not_promoted(quadratic_space, capsys):
    # 3 configs on budget 1, 2 places on budget 3, but only one success to promote: 4 trials of the 5 planned
    def objective(config, budget):
        if budget == 1 and config["x"] != 0.5:
            raise ValueError("fails on the small budget")
        return quadratic(config)

    points = [{"x": 0.5, "c": "a"}, {"x": 1.5, "c": "a"}, {"x": 2.5, "c": "a"}]
    result = fmin(objective, quadratic_space, n_iterations=1, initial_points=points,
                  multi_fidelity_iter_generator=CustomIterGenerator([3, 2], [1, 3]))
    assert len(result.trials) == 4
    assert "4/4" in capsys.readouterr().err.splitlines()[-1].split("\r")[-1]


def test_the_progress_bar_says_why_a_run_stopped_short(capsys, quadratic_space):
    # only meta["stop_reason"] said it: a bar left at 6/30 looked like a run that had hung
    fmin(quadratic, quadratic_space, n_iterations=30, early_stopping_rounds=3, optimizer="Random")
    assert "stopped: early stopping" in capsys.readouterr().err
    fmin(quadratic, quadratic_space, n_iterations=5, optimizer="Random")
    assert "stopped" not in capsys.readouterr().err


THREE_CHOICES = {"a": {"_type": "choice", "_value": [0, 1, 2]}}


def _value_of_a(config):
    return float(config["a"])


@pytest.mark.parametrize("optimizer", ["Random", "ETPE"])
def test_a_run_ends_when_every_config_of_a_finite_space_was_evaluated(optimizer, caplog):
    result = run(THREE_CHOICES, _value_of_a, optimizer=optimizer, n_iterations=10)
    assert sorted(t.config["a"] for t in result.trials) == [0, 1, 2]
    assert result.meta["stop_reason"] == "space exhausted" and result.best_loss == 0.0
    assert "the run ends after 3 iteration(s) instead of 10" in caplog.text


def test_a_parallel_run_ends_when_every_config_of_a_finite_space_was_evaluated():
    result = run(THREE_CHOICES, _value_of_a, n_iterations=10, n_jobs=2, parallel_strategy="MapReduce")
    assert sorted(t.config["a"] for t in result.trials) == [0, 1, 2]
    assert result.meta["stop_reason"] == "space exhausted"


def test_an_exhausted_space_adds_no_trial_when_its_run_resumes(tmp_path):
    checkpoint = str(tmp_path / "run.db")
    run(THREE_CHOICES, _value_of_a, n_iterations=10, checkpoint_file=checkpoint)
    resumed = run(THREE_CHOICES, _value_of_a, n_iterations=20, checkpoint_file=checkpoint)
    assert len(resumed.trials) == 3 and resumed.meta["stop_reason"] == "space exhausted"


def test_a_hyperband_bracket_larger_than_the_space_repeats_configs_with_a_warning(caplog):
    generator = CustomIterGenerator([4, 2, 1], [1, 2, 4])
    result = run(THREE_CHOICES, lambda config, budget: config["a"] / budget, n_iterations=1,
                 multi_fidelity_iter_generator=generator)
    assert len(result.trials) == 7 and result.meta["stop_reason"] == "finished"
    assert "every config of the space was proposed already: iteration 0 evaluates some again" in caplog.text


@pytest.mark.parametrize("parameter", ["optimizer", "parallel_strategy"])
def test_an_instance_in_use_by_a_running_fmin_call_is_refused(quadratic_space, parameter):
    # a second run at the same time (another thread, or here an objective calling fmin) re-initialized the shared
    # optimizer, mixing both runs' observations, or started and stopped the shared executor under the first run
    shared = {"optimizer": RandomOptimizer(), "parallel_strategy": SerialExecutor()}
    refusals = []

    def objective(config):
        if not refusals:
            with pytest.raises(InvalidArgumentError, match=f"given as {parameter} is in use by another fmin call"):
                fmin(quadratic, quadratic_space, n_iterations=2, show_progressbar=False,
                     **{parameter: shared[parameter]})
            refusals.append(parameter)
        return quadratic(config)

    result = fmin(objective, quadratic_space, n_iterations=5, random_state=0, show_progressbar=False, **shared)
    assert refusals == [parameter] and len(result.trials) == 5
    assert all(trial.status is TrialStatus.SUCCESS for trial in result.trials)
    again = fmin(quadratic, quadratic_space, n_iterations=2, show_progressbar=False, **shared)  # free once it ended
    assert len(again.trials) == 2


def test_an_instance_told_results_before_is_started_afresh_with_a_warning(quadratic_space, caplog):
    optimizer = RandomOptimizer()
    optimizer.initialize(quadratic_space, random_state=0)
    for _ in range(3):
        config, _ = optimizer.ask()
        optimizer.tell(config, 1.0)
    result = fmin(quadratic, quadratic_space, optimizer=optimizer, n_iterations=2, show_progressbar=False)
    assert len(result.trials) == 2 and optimizer.n_told == 2
    assert "the RandomOptimizer given was told 3 result(s) before; fmin starts it afresh" in caplog.text
    assert "previous_result=" in caplog.text
