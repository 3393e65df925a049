import sys

import numpy as np
import pytest

from tests.viz.helpers import make_result, make_trial
from ultraopt.viz.importance import importance_budget


@pytest.fixture
def run_on_two_budgets(quadratic_space):
    """40 trials on budget 1 where x decides the loss, 3 on budget 9."""
    rng = np.random.default_rng(0)
    trials = []
    for i in range(43):
        config = {"x": float(rng.uniform(-5, 5)), "c": str(rng.choice(["a", "b"]))}
        trials.append(make_trial(i, config, (config["x"] - 1) ** 2 + 0.1 * (config["c"] == "b"),
                                 budget=1 if i < 40 else 9))
    return make_result(quadratic_space, trials, budgets=(1, 9))


def test_table_ranks_the_hyperparameters_and_says_which_budget(run_on_two_budgets):
    table = run_on_two_budgets.hyperparameter_importance()
    assert list(table.index) == ["x", "c"] and list(table.columns) == ["importance", "std"]
    assert table.attrs == {"budget": 1.0, "n_trials": 40}  # budget 9 has too few trials to be the default
    with pytest.raises(ValueError, match="at least 5 successful trials, got 3"):  # not 0 +- 0 for everything
        run_on_two_budgets.hyperparameter_importance(budget=9)


def test_default_budget_is_the_largest_with_enough_trials(run_on_two_budgets):
    assert importance_budget(run_on_two_budgets) == 1.0
    for trial in run_on_two_budgets.trials[:35]:
        trial.budget = 9.0
    assert importance_budget(run_on_two_budgets) == 9.0


def test_bar_widths_are_the_importances_most_important_on_top(run_on_two_budgets):
    table = run_on_two_budgets.hyperparameter_importance()
    ax = run_on_two_budgets.plot_importance()
    bars = sorted(ax.patches, key=lambda bar: -bar.get_y())  # top bar first
    np.testing.assert_allclose([bar.get_width() for bar in bars], table["importance"])
    ticks = sorted(zip(ax.get_yticks(), (label.get_text() for label in ax.get_yticklabels())), reverse=True)
    assert [label for _, label in ticks] == list(table.index)
    assert "40 trials" in ax.get_title() and "budget 1" in ax.get_title()


def test_plot_hi_says_how_to_get_hiplot_when_it_is_missing(run_on_two_budgets, monkeypatch):
    monkeypatch.setitem(sys.modules, "hiplot", None)
    with pytest.raises(ImportError, match="pip install hiplot"):
        run_on_two_budgets.plot_hi()


def test_plot_hi_has_a_point_per_successful_trial(run_on_two_budgets):
    pytest.importorskip("hiplot")
    experiment = run_on_two_budgets.plot_hi()
    assert len(experiment.datapoints) == 43
    assert len(run_on_two_budgets.plot_hi(budget=9).datapoints) == 3
    assert set(experiment.datapoints[0].values) == {"trial_id", "budget", "loss", "x", "c"}
