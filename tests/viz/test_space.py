import shutil

import pytest

from tests.viz.helpers import make_result, make_trial
from ultraopt.hdl import hdl2cs, space_tree
from ultraopt.viz import plot_space, render_space, space_to_dot
from ultraopt.viz.space import node_label

CASH = {
    "estimator(choice)": {
        "svc": {
            "C": {"_type": "loguniform", "_value": [0.01, 100], "_default": 1.0},
            "kernel(choice)": {"rbf": {"gamma": {"_type": "loguniform", "_value": [1e-4, 1], "_default": 0.1}},
                               "linear": {}},
        },
        "rf": {"n_estimators": {"_type": "int_quniform", "_value": [10, 200, 10], "_default": 100}},
        "dummy": {},
    },
    "scaler": {"_type": "choice", "_value": ["standard", "none"], "_default": "standard"},
    "n_jobs": 1,
    "__forbidden": [{"estimator": "svc", "scaler": "none"}],
}

EXPECTED_LABELS = {
    "search space",
    "estimator\nchoice of 3\ndefault 'svc'",
    "svc", "rf", "dummy\n(empty)",
    "C\nloguniform [0.01, 100.0]\ndefault 1.0",
    "kernel\nchoice of 2\ndefault 'rbf'", "rbf", "linear\n(empty)",
    "gamma\nloguniform [0.0001, 1.0]\ndefault 0.1",
    "n_estimators\nint_quniform [10, 200, 10]\ndefault 100",
    "scaler\nchoice ['standard', 'none']\ndefault 'standard'",
    "n_jobs = 1",
}


def test_matplotlib_drawing_has_a_box_per_node_and_a_line_per_edge():
    ax = plot_space(CASH)
    texts = [text.get_text() for text in ax.texts]
    assert set(texts[:-1]) == EXPECTED_LABELS and len(texts) - 1 == len(EXPECTED_LABELS)
    assert texts[-1] == "forbidden:\nestimator:__choice__ == 'svc' and scaler == 'none'"
    assert len(ax.get_lines()) == len(EXPECTED_LABELS) - 1  # a tree: one edge fewer than nodes
    positions = {text.get_text(): text.get_position() for text in ax.texts}
    assert positions["gamma\nloguniform [0.0001, 1.0]\ndefault 0.1"][0] == 5  # root, estimator, svc, kernel, rbf


def test_dot_source_has_the_same_nodes_and_edges():
    dot = space_to_dot(CASH)
    assert dot.count(" -> ") == len(EXPECTED_LABELS) - 1
    assert '[label="kernel\\nchoice of 2\\ndefault \'rbf\'", shape=diamond' in dot
    assert "forbidden:\\nestimator:__choice__ == 'svc' and scaler == 'none'" in dot


def test_dot_labels_escape_quotes_and_backslashes():
    hdl = {"path": {"_type": "choice", "_value": ['a"b', "c\\d"]}}
    assert 'choice [\'a\\"b\', \'c\\\\\\\\d\']' in space_to_dot(hdl)


def test_conditions_beyond_the_alternative_are_spelt_out():
    hdl = {"a": {"_type": "choice", "_value": ["x", "y"]}, "b": {"_type": "uniform", "_value": [0, 1]},
           "__activate": {"a": {"x": ["b"]}}}
    (b,) = [node for node in space_tree(hdl).root.children if node.label == "b"]
    assert node_label(b).endswith("\nif a == 'x'")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_draws_svg_when_dot_is_installed():
    image, engine = render_space(CASH, "svg")
    assert engine == "dot" and b"<svg" in image and b"n_estimators" in image


def test_without_dot_the_picture_falls_back_to_matplotlib(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    image, engine = render_space(CASH, "png")
    assert engine == "matplotlib" and image.startswith(b"\x89PNG")
    with pytest.raises(RuntimeError, match="dot program is not installed"):
        render_space(CASH, "svg", engine="dot")


def test_result_draws_its_space_as_text_and_picture():
    space = hdl2cs(CASH)
    result = make_result(space, [make_trial(0, {"estimator:__choice__": "dummy", "scaler": "standard",
                                               "n_jobs": 1}, 0.5)])
    assert "estimator: choice of 3, default 'svc'" in result.draw_space()
    assert "search space" in [text.get_text() for text in result.plot_space().texts]
