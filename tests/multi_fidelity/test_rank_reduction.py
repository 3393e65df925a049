import itertools

import pytest

from ultraopt.multi_fidelity import CustomIterGenerator, RankReductionIteration
from ultraopt.trial import Trial, TrialStatus


def counter_sampler():
    counter = itertools.count()
    return lambda budget: ({"x": next(counter)}, {"origin": "test"})


def run_stage(iteration, losses_by_x, failing=()):
    """Request every run the iteration has now and report it back."""
    requests = []
    while (request := iteration.get_next_run()) is not None:
        requests.append(request)
    for index, request in enumerate(requests):
        trial = Trial(index, *request[:2], request.budget, request.config_info, TrialStatus.RUNNING)
        x = request.config["x"]
        if x in failing:
            trial.finish(TrialStatus.FAILED, error="boom")
        else:
            trial.finish(TrialStatus.SUCCESS, losses_by_x(x))
        iteration.register_result(trial)
    return requests


def test_best_configs_by_loss_advance():
    iteration = RankReductionIteration(0, [9, 3, 1], [1, 3, 9], counter_sampler())
    first = run_stage(iteration, lambda x: (x - 4) ** 2)
    assert [r.budget for r in first] == [1.0] * 9
    second = run_stage(iteration, lambda x: -x)
    assert sorted(r.config["x"] for r in second) == [3, 4, 5]  # the three closest to 4
    assert {r.budget for r in second} == {3.0}
    third = run_stage(iteration, lambda x: -x)
    assert [r.config["x"] for r in third] == [5] and third[0].budget == 9.0
    assert iteration.is_finished and iteration.get_next_run() is None


def test_failed_configs_never_advance():
    iteration = RankReductionIteration(0, [4, 2, 1], [1, 2, 4], counter_sampler())
    run_stage(iteration, lambda x: x, failing={0, 1, 2})  # the best losses would be 0, 1, 2
    second = run_stage(iteration, lambda x: x)
    assert [r.config["x"] for r in second] == [3]  # only one success: the stage holds one config


def test_ties_break_by_config_id_and_config_ids_are_kept():
    iteration = RankReductionIteration(7, [3, 1], [1, 3], counter_sampler())
    first = run_stage(iteration, lambda x: 0.0)
    second = run_stage(iteration, lambda x: 0.0)
    assert second[0].config_id == first[0].config_id == (7, 0, 0)


def test_stage_waits_for_all_results():
    iteration = RankReductionIteration(0, [2, 1], [1, 2], counter_sampler())
    a, _ = iteration.get_next_run(), iteration.get_next_run()
    assert iteration.get_next_run() is None
    trial = Trial(0, a.config_id, a.config, a.budget, {}, TrialStatus.RUNNING)
    trial.finish(TrialStatus.SUCCESS, 1.0)
    iteration.register_result(trial)
    assert iteration.get_next_run() is None  # b is still running
    assert not iteration.is_finished


def test_custom_generator_cycles_brackets_and_counts_configs():
    generator = CustomIterGenerator([[9, 3, 1], [3, 1]], [[1, 3, 9], [3, 9]])
    assert generator.get_budgets() == [1.0, 3.0, 9.0]
    assert generator.get_bracket(2) == ([9, 3, 1], [1.0, 3.0, 9.0])
    assert generator.num_all_configs(3) == 13 + 4 + 13
    table = generator.get_table()
    assert list(table["num_configs"]) == [9, 3, 1, 3, 1]


@pytest.mark.parametrize(
    "num_configs, budgets, message",
    [
        ([3, 1], [1], "equal length|differ in length"),
        ([1, 3], [1, 3], "must not grow"),
        ([3, 1], [3, 1], "must increase"),
        # equal once float rounding is forgiven: the best config ran twice on budget 1
        ([3, 1], [1, 1 + 1e-12], "must increase .* equal up to float rounding"),
        ([3, 0], [1, 3], "positive ints"),
        ([3, 1], [0, 3], "positive finite numbers"),
        ([3, 1], [1, float("nan")], "positive finite numbers"),
        ([3, 1], [1, float("inf")], "positive finite numbers"),
        ([], [], "non-empty"),
        ([[9, 3, 1], []], [[1, 3, 9], []], "bracket 1 is empty"),
        ([[]], [[]], "bracket 0 is empty"),
    ],
)
def test_custom_generator_rejects_bad_brackets(num_configs, budgets, message):
    with pytest.raises(ValueError, match=message):
        CustomIterGenerator(num_configs, budgets)


def test_custom_generator_takes_numpy_counts_and_budgets():
    import numpy as np

    generator = CustomIterGenerator(np.array([9, 3, 1]), [np.float64(1), np.float64(3), 9])
    assert generator.get_bracket(0) == ([9, 3, 1], [1.0, 3.0, 9.0])
    assert CustomIterGenerator([np.array([3, 1]), [2, 1]], [[1, 3], [1, 3]]).num_all_configs(2) == 7
