"""``space_tree`` gives the structure of a space; ``draw_space`` renders it as text."""

from __future__ import annotations

from typing import Any

from ConfigSpace import (
    AndConjunction,
    CategoricalHyperparameter,
    ConfigurationSpace,
    EqualsCondition,
    GreaterThanCondition,
    LessThanCondition,
    NotEqualsCondition,
    OrConjunction,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)
from ConfigSpace.forbidden import ForbiddenLessThanRelation
from ConfigSpace.hyperparameters import NormalFloatHyperparameter

from ultraopt.hdl import SpaceNode, draw_space, hdl2cs, space_tree


def _child(node: SpaceNode, label: str) -> SpaceNode:
    (found,) = [child for child in node.children if child.label == label]
    return found


def test_the_tree_follows_choices_alternatives_and_groups(cash_hdl: dict[str, Any]) -> None:
    cash_hdl["prep"] = {"pca": {"n": {"_type": "int_uniform", "_value": [1, 9], "_default": 0 + 1}}}
    tree = space_tree(cash_hdl)
    estimator = _child(tree.root, "estimator")
    assert estimator.kind == "choice" and estimator.name == "estimator:__choice__"
    assert [(c.kind, c.label) for c in estimator.children] == [
        ("alternative", "svc"),
        ("alternative", "rf"),
        ("alternative", "lr"),
        ("alternative", "dummy"),
    ]
    assert _child(estimator, "dummy").children == []
    kernel = _child(_child(estimator, "svc"), "kernel")
    assert kernel.kind == "choice" and kernel.default == "rbf"
    coef0 = _child(_child(kernel, "poly"), "coef0")
    assert (coef0.kind, coef0.hdl_type, coef0.domain, coef0.name) == (
        "hyperparameter",
        "quniform",
        (0.0, 1.0, 0.25),
        "estimator:svc:kernel:poly:coef0",
    )
    assert coef0.conditions == ()  # being in its alternative is shown by the tree, not repeated
    n_estimators = _child(_child(estimator, "rf"), "n_estimators")
    assert (n_estimators.hdl_type, n_estimators.domain, n_estimators.default) == (
        "int_qloguniform",
        (10, 1000, 10),
        100,
    )
    assert _child(_child(estimator, "rf"), "max_samples").conditions == ("estimator:rf:bootstrap == True",)
    assert _child(_child(estimator, "svc"), "shrinking").conditions == ("scaler in ['standard', 'minmax']",)
    group = _child(_child(tree.root, "prep"), "pca")
    assert group.kind == "group" and _child(group, "n").default == 1
    n_jobs = _child(tree.root, "n_jobs")
    assert (n_jobs.kind, n_jobs.default) == ("constant", 1)
    assert sorted(tree.forbidden) == [
        "estimator:__choice__ == 'svc' and scaler == 'none'",
        "estimator:rf:criterion == 'log_loss' and estimator:rf:max_depth in [3, 5]",
    ]


def test_the_drawing_shows_every_part(cash_hdl: dict[str, Any]) -> None:
    text = draw_space(cash_hdl)
    assert text.splitlines()[0] == "search space"
    for fragment in [
        "estimator: choice of 4, default 'svc'",
        "kernel: choice of 3, default 'rbf'",
        "└── dummy (empty)",
        "linear (empty)",
        "C: loguniform [0.01, 100.0], default 1.0",
        "degree: int_uniform [2, 5], default 3",
        "n_estimators: int_qloguniform [10, 1000, 10], default 100",
        "max_depth: choice [None, 3, 5, 10], default None",
        "shrinking: choice [True, False], default False  [if scaler in ['standard', 'minmax']]",
        "n_jobs = 1",
        "forbidden:",
        "  - estimator:__choice__ == 'svc' and scaler == 'none'",
    ]:
        assert fragment in text, fragment
    assert text == draw_space(hdl2cs(cash_hdl))


def test_the_drawing_nests_with_box_characters() -> None:
    text = draw_space({"m(choice)": {"a": {"x": {"_type": "uniform", "_value": [0, 1]}}, "b": {}}, "z": 0})
    assert text.splitlines() == [
        "search space",
        "├── m: choice of 2, default 'a'",
        "│   ├── a",
        "│   │   └── x: uniform [0.0, 1.0], default 0.5",
        "│   └── b (empty)",
        "└── z = 0",
    ]


def test_a_space_not_built_from_an_hdl_is_drawn_too() -> None:
    cs = ConfigurationSpace()
    cs.add(NormalFloatHyperparameter("n", mu=0.0, sigma=1.0, lower=-3.0, upper=3.0))
    tree = space_tree(cs)
    assert tree.root.children[0].hdl_type == "NormalFloatHyperparameter"
    assert "n: NormalFloatHyperparameter [-3.0, 3.0], default 0.0" in draw_space(cs)


def test_configspace_comparisons_disjunctions_and_relations_are_spelt_out() -> None:
    cs = ConfigurationSpace()
    p, q = CategoricalHyperparameter("p", ["a", "b"]), UniformIntegerHyperparameter("q", 0, 4)
    r = CategoricalHyperparameter("r", [True, False])
    x, y, z = (UniformFloatHyperparameter(name, 0, 1) for name in "xyz")
    cs.add([p, q, r, x, y, z])
    cs.add([EqualsCondition(q, p, "a"), NotEqualsCondition(x, q, 3),
            AndConjunction(GreaterThanCondition(y, q, 1), EqualsCondition(y, r, True)),
            OrConjunction(LessThanCondition(z, q, 3), EqualsCondition(z, r, True))])
    cs.add(ForbiddenLessThanRelation(x, y))
    text = draw_space(cs)
    for words in ("[if q != 3]", "[if q > 1 and r == True]", "[if (q < 3 or r == True)]", "  - x < y"):
        assert words in text
