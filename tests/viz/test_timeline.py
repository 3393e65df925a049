import numpy as np
import pytest

from tests.viz.helpers import make_result, make_trial
from ultraopt.trial import TrialStatus
from ultraopt.viz import concurrency_over_time, finished_over_time


@pytest.fixture
def overlapping(quadratic_space):
    """A: [0, 10] on budget 1; B: [2, 5] and C: [5, 8] on budget 3 (C starts the moment B ends); D failed."""
    config = {"x": 0.0, "c": "a"}
    trials = [
        make_trial(1, config, 0.5, budget=3, start=2, end=5),
        make_trial(2, config, 0.4, budget=3, start=5, end=8),
        make_trial(0, config, 0.9, budget=1, start=0, end=10),
        make_trial(3, config, budget=1, start=10, end=11, status=TrialStatus.FAILED),
    ]
    return make_result(quadratic_space, trials, budgets=(1, 3))


def test_concurrency_counts_running_trials_and_does_not_double_count_a_handover(overlapping):
    times, counts = concurrency_over_time(overlapping)
    assert times.tolist() == [0, 2, 5, 8, 10, 11] and counts.tolist() == [1, 2, 2, 1, 1, 0]
    times, counts = concurrency_over_time(overlapping, budget=3)
    assert times.tolist() == [2, 5, 8] and counts.tolist() == [1, 1, 0]


def test_concurrency_plot_draws_a_line_for_all_trials_then_one_per_budget(overlapping):
    assert len(overlapping.plot_concurrent_over_time().get_lines()) == 1
    ax = overlapping.plot_concurrent_over_time(by_budget=True)
    lines = ax.get_lines()
    assert len(lines) == 3 and [line.get_label() for line in lines] == ["all budgets", "budget 1", "budget 3"]
    assert lines[0].get_ydata().tolist() == [1, 2, 2, 1, 1, 0] and max(lines[2].get_ydata()) == 1
    only = overlapping.plot_concurrent_over_time(budget=3)
    assert len(only.get_lines()) == 1 and only.get_lines()[0].get_xdata().tolist() == [2, 5, 8]
    assert "budget 3" in only.get_title()


def test_finished_over_time_counts_up_to_the_number_of_trials(overlapping):
    times, counts = finished_over_time(overlapping)
    assert times.tolist() == [5, 8, 10, 11] and counts.tolist() == [1, 2, 3, 4]
    ax = overlapping.plot_finished_over_time()
    total, first_budget, second_budget = ax.get_lines()
    assert total.get_ydata()[-1] == len(overlapping.trials)
    assert first_budget.get_ydata()[-1] == 2 and second_budget.get_ydata()[-1] == 2
    assert np.all(np.diff(total.get_xdata()) >= 0)


def test_an_unknown_budget_is_an_error_that_lists_the_budgets(overlapping):
    with pytest.raises(ValueError, match=r"budget 2 is not a budget of this run \(its budgets: 1, 3\)"):
        overlapping.plot_finished_over_time(budget=2)


def test_trials_without_times_are_left_out(quadratic_space):
    trial = make_trial(0, {"x": 0.0, "c": "a"}, 1.0)
    trial.start_time = trial.end_time = None
    result = make_result(quadratic_space, [trial, make_trial(1, {"x": 1.0, "c": "a"}, 0.5)])
    assert finished_over_time(result)[1].tolist() == [1]
    assert concurrency_over_time(result)[1].tolist() == [1, 0]


def test_a_hyperband_run_on_four_workers_keeps_four_configs_running():
    from tests.report.runs import N_WORKERS, hyperband_run

    run = hyperband_run()
    times, counts = concurrency_over_time(run)
    assert counts.max() == N_WORKERS and counts[-1] == 0
    busy = np.diff(times)[counts[:-1] == N_WORKERS].sum()
    assert busy > 0.5 * times[-1]  # the workers were all busy for most of the run
