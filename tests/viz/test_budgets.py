import numpy as np
import pytest

from tests.viz.helpers import make_result, make_trial
from ultraopt.viz import rank_correlation_across_budgets


@pytest.fixture
def promoted(quadratic_space):
    """Configs 0..4 on budget 1; the same ids on budget 3 in the same order; 0..2 on budget 9 in reverse.

    Config 5 runs on budget 9 only; a second trial of config 0 on budget 1 replaces the first.
    """
    trials, n = [], 0

    def add(index, budget, loss):
        nonlocal n
        trials.append(make_trial(n, {"x": float(index), "c": "a"}, loss, budget=budget, config_id=(0, 0, index)))
        n += 1

    for i in range(5):
        add(i, 1, 0.1 * i + 1.0)
    add(0, 1, 0.5)  # re-run of config 0: still the lowest loss, the rank order is unchanged
    for i in range(5):
        add(i, 3, 0.2 * i)
    for i in range(3):
        add(i, 9, 1.0 - 0.3 * i)
    add(5, 9, 0.0)
    return make_result(quadratic_space, trials, budgets=(1, 3, 9))


def test_spearman_and_number_of_shared_configs_per_pair_of_budgets(promoted):
    rho, shared = rank_correlation_across_budgets(promoted)
    assert list(rho.index) == [1.0, 3.0, 9.0]
    assert rho.loc[1.0, 3.0] == pytest.approx(1.0) and rho.loc[3.0, 1.0] == pytest.approx(1.0)
    assert rho.loc[1.0, 9.0] == pytest.approx(-1.0) and rho.loc[3.0, 9.0] == pytest.approx(-1.0)
    assert shared.loc[1.0, 3.0] == 5 and shared.loc[1.0, 9.0] == 3 and shared.loc[9.0, 3.0] == 3
    assert np.isnan(rho.to_numpy().diagonal()).all()


def test_too_few_shared_configs_give_no_correlation(promoted):
    rho, shared = rank_correlation_across_budgets(promoted, budgets=[3, 9])
    assert shared.loc[3.0, 9.0] == 3 and not np.isnan(rho.loc[3.0, 9.0])
    promoted.trials = [t for t in promoted.trials if not (t.budget == 9 and t.config_id[2] == 2)]
    rho, shared = rank_correlation_across_budgets(promoted, budgets=[3, 9])
    assert shared.loc[3.0, 9.0] == 2 and np.isnan(rho.loc[3.0, 9.0])


def test_heat_map_holds_rho_below_the_diagonal_and_names_the_counts(promoted):
    ax = promoted.plot_correlation_across_budgets()
    image = ax.get_images()[0].get_array()
    assert image[1, 0] == pytest.approx(1.0) and image[2, 0] == pytest.approx(-1.0)
    assert np.ma.getmaskarray(image)[np.triu_indices(3)].all()  # nan above and on the diagonal: not drawn
    texts = sorted(text.get_text() for text in ax.texts)
    assert texts == ["-1.00\nn=3", "-1.00\nn=3", "1.00\nn=5"]
    assert [label.get_text() for label in ax.get_xticklabels()] == ["1", "3", "9"]


def test_one_budget_has_no_correlation_to_draw(quadratic_space):
    from ultraopt.viz import plot_correlation_across_budgets

    single = make_result(quadratic_space, [make_trial(i, {"x": float(i), "c": "a"}, float(i)) for i in range(4)])
    with pytest.raises(ValueError, match="needs two budgets with successful trials; this run has 1"):
        plot_correlation_across_budgets(single)
