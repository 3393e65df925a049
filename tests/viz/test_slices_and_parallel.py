import matplotlib.colors
import numpy as np
import pytest

from tests.viz.helpers import make_result, make_trial


@pytest.fixture
def quadratic_run(quadratic_space):
    xs = np.linspace(-4, 4, 9)
    trials = [make_trial(i, {"x": float(x), "c": "ab"[i % 2]}, float((x - 0.9) ** 2 + 0.5 * (i % 2)))
              for i, x in enumerate(xs)]
    return make_result(quadratic_space, trials)


@pytest.fixture
def conditional_run(conditional_space):
    trials = [
        make_trial(0, {"model": "svm", "C": 0.01}, 0.5),
        make_trial(1, {"model": "tree", "depth": 3}, 0.2),
        make_trial(2, {"model": "svm", "C": 100.0}, 0.1),
        make_trial(3, {"model": "tree", "depth": 10}, 0.9),
    ]
    return make_result(conditional_space, trials)


def test_slices_put_each_trial_at_its_value_and_loss(quadratic_run):
    assert [ax.get_xlabel() for ax in quadratic_run.plot_slices()] == ["c", "x"]  # the space's order
    axes = quadratic_run.plot_slices(params=["x", "c"])
    x_points = axes[0].collections[0].get_offsets()
    losses = [t.loss for t in quadratic_run.trials]
    np.testing.assert_allclose(x_points[:, 0], np.linspace(-4, 4, 9))
    np.testing.assert_allclose(x_points[:, 1], losses)
    c_points = axes[1].collections[0].get_offsets()
    assert np.rint(c_points[:, 0]).tolist() == [i % 2 for i in range(9)]  # "a" at 0, "b" at 1, a little spread
    assert np.abs(c_points[:, 0] - np.rint(c_points[:, 0])).max() <= 0.15
    assert [label.get_text() for label in axes[1].get_xticklabels()] == ["a", "b"]


def test_slices_show_a_trial_only_where_the_hyperparameter_is_active(conditional_run):
    axes = conditional_run.plot_slices(params=["C", "depth"])
    c_points, depth_points = (ax.collections[0].get_offsets() for ax in axes)
    assert c_points[:, 0].tolist() == [0.01, 100.0] and c_points[:, 1].tolist() == [0.5, 0.1]
    assert depth_points[:, 0].tolist() == [3, 10]
    assert axes[0].get_xscale() == "log" and axes[1].get_xscale() == "linear"
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        conditional_run.plot_slices(params=["gamma"])


def trial_lines(ax):
    return {line.get_gid(): line.get_ydata() for line in ax.get_lines() if (line.get_gid() or "").startswith("trial")}


def test_parallel_coordinates_draw_the_best_trials_scaled_to_their_axes(quadratic_run):
    ax = quadratic_run.plot_parallel_coordinates(top=3, params=["x", "c"])
    lines = trial_lines(ax)
    best = sorted(quadratic_run.trials, key=lambda t: t.loss)[:3]
    assert set(lines) == {f"trial {t.trial_id}" for t in best}
    for trial in best:
        x_pos, c_pos, loss_pos = lines[f"trial {trial.trial_id}"]
        assert x_pos == pytest.approx((trial.config["x"] + 5) / 10)
        assert c_pos == "ab".index(trial.config["c"])
    assert lines[f"trial {best[0].trial_id}"][-1] == 0 and lines[f"trial {best[-1].trial_id}"][-1] == 1
    assert [label.get_text() for label in ax.get_xticklabels()] == ["x", "c", "loss"]
    assert len(trial_lines(quadratic_run.plot_parallel_coordinates(top=0.5))) == 4  # round(0.5 * 9)


def test_parallel_coordinates_break_lines_where_inactive(conditional_run):
    lines = trial_lines(conditional_run.plot_parallel_coordinates(params=["model", "C", "depth"]))
    svm = lines["trial 2"]  # C = 100 sits at 5/6 of its log axis from 1e-3 to 1e3
    assert svm[0] == 0 and svm[1] == pytest.approx(5 / 6) and np.isnan(svm[2]) and svm[3] == 0
    tree = lines["trial 3"]
    assert tree[0] == 1 and np.isnan(tree[1]) and tree[2] == pytest.approx(1.0) and tree[3] == 1


def test_parallel_coordinates_mark_every_loss_and_draw_the_best_darkest(conditional_run):
    ax = conditional_run.plot_parallel_coordinates(params=["model", "depth"])
    drawn = {line.get_gid(): line for line in ax.get_lines() if (line.get_gid() or "").startswith("trial")}
    # the svm trials have no depth: their loss stands alone after a gap, so it must be a marker
    assert all(line.get_marker() == "o" for line in drawn.values())
    best, worst = drawn["trial 2"], drawn["trial 3"]  # losses 0.1 and 0.9
    assert sum(matplotlib.colors.to_rgb(best.get_color())) < sum(matplotlib.colors.to_rgb(worst.get_color()))
    with pytest.raises(ValueError, match="top must be"):
        conditional_run.plot_parallel_coordinates(top=0)
