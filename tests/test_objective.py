import decimal
import fractions
import functools
import math

import numpy as np
import pytest

from ultraopt.objective import Objective, accepts_budget, parse_return_value
from ultraopt.trial import TrialStatus


def test_budget_is_passed_when_the_function_takes_it():
    assert accepts_budget(lambda config, budget: 0)
    assert accepts_budget(lambda config, budget=1: 0)
    assert accepts_budget(lambda config, b: 0)
    assert accepts_budget(lambda *args: 0)
    assert not accepts_budget(lambda config: 0)
    assert not accepts_budget(lambda config, seed=0: 0)

    class Callable:
        def __call__(self, config, budget):
            return budget

    assert Objective(Callable())({}, 0.5).loss == 0.5


def test_a_budget_parameter_is_passed_by_name_where_it_must_be():
    def keyword_only(config, *, budget):
        return budget

    def after_other_defaults(config, seed=0, budget=1.0):
        return budget + seed

    assert Objective(keyword_only)({}, 0.5).loss == 0.5
    assert Objective(after_other_defaults)({}, 0.25).loss == 0.25
    assert Objective(functools.partial(after_other_defaults, seed=2))({}, 0.5).loss == 2.5
    assert Objective(functools.partial(keyword_only, budget=7.0))({}, 0.5).loss == 0.5  # the run's budget wins
    assert Objective(lambda config, **kwargs: kwargs["budget"])({}, 0.75).loss == 0.75
    assert Objective(lambda config, *args, **kwargs: args[0])({}, 0.5).loss == 0.5
    assert Objective(lambda config, seed=1, **kwargs: kwargs["budget"] + seed)({}, 0.5).loss == 1.5


def test_zero_dimensional_arrays_are_losses():
    assert Objective(lambda config: np.array(0.5))({}, 1.0).loss == 0.5
    loss, info = parse_return_value({"loss": np.array(0.25), "acc": np.array(0.9)})
    assert loss == 0.25 and info == {"acc": 0.9} and type(info["acc"]) is float


def test_dict_return_keeps_extra_entries_as_plain_info():
    loss, info = parse_return_value({"loss": np.float32(0.5), "info": {"acc": np.float64(0.9)}, "cost": 3})
    assert loss == 0.5 and isinstance(loss, float)
    assert info == {"acc": 0.9, "cost": 3} and type(info["acc"]) is float


def test_an_info_entry_named_like_a_top_level_entry_is_kept_too():
    _, info = parse_return_value({"loss": 1.0, "info": {"cost": 12.5, "acc": 0.9}, "cost": 3})
    assert info == {"cost": 3, "info.cost": 12.5, "acc": 0.9}  # the 12.5 was overwritten without a word


def test_an_extra_entry_that_holds_itself_keeps_the_loss():
    # to_jsonable recursed until RecursionError, which failed a trial whose loss was fine
    state: dict = {"name": "model", "shared": [1, 2]}
    state["self"], state["again"] = state, state["shared"]
    evaluation = Objective(lambda config: {"loss": 0.5, "state": state})({}, 1.0)
    assert evaluation.status is TrialStatus.SUCCESS and evaluation.loss == 0.5
    assert evaluation.info == {"state": {"name": "model", "shared": [1, 2], "self": "<cycle>", "again": [1, 2]}}


@pytest.mark.parametrize("bad", [None, "0.5", [1.0], {"acc": 1.0}, True])
def test_unusable_return_values_are_failures_naming_the_problem(bad):
    evaluation = Objective(lambda config: bad)({}, 1.0)
    assert evaluation.status is TrialStatus.FAILED
    assert "TypeError" in evaluation.error


@pytest.mark.parametrize("value, loss", [(np.longdouble(0.5), 0.5), (fractions.Fraction(1, 4), 0.25),
                                         (decimal.Decimal("0.75"), 0.75), (np.float32(2.0), 2.0)])
def test_every_real_number_float_takes_is_a_loss(value, loss):
    # np.longdouble, Fraction and Decimal failed as "not a number", unlike Hyperopt and Optuna
    evaluation = Objective(lambda config: value)({}, 1.0)
    assert evaluation.status is TrialStatus.SUCCESS and evaluation.loss == loss


def test_an_int_too_large_for_a_float_is_a_non_finite_loss():
    evaluation = Objective(lambda config: 10**400)({}, 1.0)
    assert evaluation.status is TrialStatus.FAILED and "non-finite" in evaluation.error


def test_an_array_of_one_value_is_refused_with_its_shape():
    evaluation = Objective(lambda config: np.array([0.5]))({}, 1.0)
    assert evaluation.status is TrialStatus.FAILED and "got ndarray of shape (1,)" in evaluation.error


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_losses_fail(value):
    evaluation = Objective(lambda config: value)({}, 1.0)
    assert evaluation.status is TrialStatus.FAILED and evaluation.loss is None


@pytest.mark.parametrize("returned", [{"status": "fail"}, {"loss": 0.0, "status": "fail", "reason": "diverged"}])
def test_hyperopts_status_fail_is_a_failed_trial(returned):
    # a Hyperopt objective says so for a run that diverged; kept as plain info it became the optimum (loss 0.0)
    evaluation = Objective(lambda config: returned)({}, 1.0)
    assert evaluation.status is TrialStatus.FAILED and evaluation.loss is None
    assert evaluation.error == "the objective returned 'status': 'fail'"
    assert evaluation.info == {key: value for key, value in returned.items() if key != "status"}
    assert Objective(lambda config: {"loss": 0.5, "status": "ok"})({}, 1.0).status is TrialStatus.SUCCESS


@pytest.mark.parametrize("status", ["failed", "FAIL", "bogus", None, 1])
def test_a_status_neither_ok_nor_fail_is_a_failed_trial_naming_it(status):
    # recorded as a success, its loss counted: "failed" (TrialStatus.FAILED's value) became the optimum
    evaluation = Objective(lambda config: {"loss": 0.0, "status": status})({}, 1.0)
    assert evaluation.status is TrialStatus.FAILED and evaluation.loss is None
    assert f"'status': {status!r}; give 'ok' or 'fail'" in evaluation.error


def test_exception_keeps_its_traceback():
    def broken(config):
        return 1 / 0

    evaluation = Objective(broken)({}, 1.0)
    assert evaluation.status is TrialStatus.FAILED
    assert "ZeroDivisionError" in evaluation.error and "broken" in evaluation.error
    assert evaluation.end_time >= evaluation.start_time


def test_exit_in_the_objective_is_a_failed_trial_and_ctrl_c_still_stops():
    import sys

    evaluation = Objective(lambda config: sys.exit(3))({}, 1.0)
    assert evaluation.status is TrialStatus.FAILED and "SystemExit: 3" in evaluation.error

    def interrupted(config):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Objective(interrupted)({}, 1.0)


class Abort(BaseException):
    """A library's own BaseException (not an Exception)."""


@pytest.mark.parametrize("error", [Abort("stop this trial"), GeneratorExit()])
def test_a_base_exception_of_the_objective_is_a_failed_trial(error):
    def objective(config):
        raise error

    evaluation = Objective(objective)({}, 1.0)
    assert evaluation.status is TrialStatus.FAILED and type(error).__name__ in evaluation.error


def test_not_callable_is_rejected():
    with pytest.raises(TypeError, match="callable"):
        Objective(42)
