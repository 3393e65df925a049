"""Conditional choices, ``__activate``, ``__condition`` and ``__forbidden`` hold on every sampled config.

The expected active set of each config is worked out here from the HDL's rules, independently of ConfigSpace.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hdl_cases import make_cash_hdl

from ultraopt.hdl import check_config, hdl2cs, layering_config, sample_configs
from ultraopt.hdl.errors import HDLError

N = 1000


def expected_names(config: dict[str, Any]) -> set[str]:
    """The hyperparameters the CASH HDL of ``conftest.py`` makes active for ``config``'s choices."""
    names = {"estimator:__choice__", "scaler", "n_jobs"}
    if config["scaler"] == "standard":
        names.add("with_mean")
    estimator = config["estimator:__choice__"]
    if estimator == "svc":
        names |= {"estimator:svc:C", "estimator:svc:kernel:__choice__"}
        if config["scaler"] in ("standard", "minmax"):
            names.add("estimator:svc:shrinking")
        kernel = config["estimator:svc:kernel:__choice__"]
        names |= {
            "rbf": {"estimator:svc:kernel:rbf:gamma"},
            "poly": {"estimator:svc:kernel:poly:degree", "estimator:svc:kernel:poly:coef0"},
            "linear": set(),
        }[kernel]
    elif estimator == "rf":
        names |= {f"estimator:rf:{name}" for name in ("n_estimators", "criterion", "max_depth", "bootstrap")}
        if config["estimator:rf:bootstrap"] is True:
            names.add("estimator:rf:max_samples")
    elif estimator == "lr":
        names |= {"estimator:lr:C", "estimator:lr:penalty"}
        if config["estimator:lr:penalty"] == "elasticnet":
            names.add("estimator:lr:l1_ratio")
    return names


@pytest.fixture(scope="module")
def cash_samples() -> list[dict[str, Any]]:
    """Drawn and checked once for the module: the checks below only read them."""
    cs = hdl2cs(make_cash_hdl())
    configs = sample_configs(cs, N, np.random.default_rng(7))
    for config in configs:
        assert check_config(cs, config) == config
    return configs


def test_every_sample_activates_exactly_what_the_hdl_says(cash_samples: list[dict[str, Any]]) -> None:
    for config in cash_samples:
        assert set(config) == expected_names(config), config


def test_every_alternative_and_nested_alternative_is_reached(cash_samples: list[dict[str, Any]]) -> None:
    estimators = Counter(config["estimator:__choice__"] for config in cash_samples)
    assert set(estimators) == {"svc", "rf", "lr", "dummy"}
    kernels = Counter(c["estimator:svc:kernel:__choice__"] for c in cash_samples if "estimator:svc:C" in c)
    assert set(kernels) == {"rbf", "poly", "linear"}


def test_forbidden_combinations_never_occur_but_their_parts_do(cash_samples: list[dict[str, Any]]) -> None:
    forests = [c for c in cash_samples if c["estimator:__choice__"] == "rf"]
    pairs = {(c["estimator:rf:criterion"], c["estimator:rf:max_depth"]) for c in forests}
    assert not pairs & {("log_loss", 3), ("log_loss", 5)}
    assert {("log_loss", None), ("log_loss", 10), ("gini", 3), ("entropy", 5)} <= pairs
    combos = {(c["estimator:__choice__"], c["scaler"]) for c in cash_samples}
    assert ("svc", "none") not in combos
    assert {("svc", "standard"), ("rf", "none")} <= combos


def test_a_condition_reaching_into_an_alternative_needs_both(cash_samples: list[dict[str, Any]]) -> None:
    svc = [c for c in cash_samples if c["estimator:__choice__"] == "svc"]
    assert all("estimator:svc:shrinking" in c for c in svc if c["scaler"] in ("standard", "minmax"))
    assert not any("estimator:svc:shrinking" in c for c in cash_samples if c["estimator:__choice__"] != "svc")


def test_layered_samples_hold_only_the_chosen_branch(cash_samples: list[dict[str, Any]]) -> None:
    for config in cash_samples:
        layered = layering_config(config)
        chosen = config["estimator:__choice__"]
        assert list(layered["estimator"]) == [chosen]
        if chosen == "dummy":
            assert layered["estimator"] == {"dummy": {}}
        if chosen == "svc":
            assert list(layered["estimator"]["svc"]["kernel"]) == [config["estimator:svc:kernel:__choice__"]]


def test_default_alternative_is_honoured_else_the_first(cash_hdl: dict[str, Any]) -> None:
    cs = hdl2cs(cash_hdl)
    assert cs["estimator:__choice__"].default_value == "svc"
    assert cs["estimator:svc:kernel:__choice__"].default_value == "rbf"
    cash_hdl["estimator(choice)"]["_default"] = "dummy"
    cash_hdl["estimator(choice)"]["svc"]["kernel(choice)"].pop("_default")
    cs = hdl2cs(cash_hdl)
    assert cs["estimator:__choice__"].default_value == "dummy"
    assert cs["estimator:svc:kernel:__choice__"].default_value == "rbf"
    assert dict(cs.get_default_configuration())["estimator:__choice__"] == "dummy"


def test_a_conditional_choice_is_itself_a_valid_parent_by_any_of_its_names(rng: np.random.Generator) -> None:
    for ref in ("model", "model(choice)", "model:__choice__"):
        hdl = {
            "model(choice)": {"a": {}, "b": {"x": {"_type": "uniform", "_value": [0, 1]}}},
            "extra": {"_type": "choice", "_value": [1, 2]},
            "__activate": {ref: {"b": ["extra"]}},
        }
        for config in sample_configs(hdl2cs(hdl), 200, rng):
            assert ("extra" in config) == (config["model:__choice__"] == "b")


def test_activate_with_an_integer_parent_and_values_gathered_per_child(rng: np.random.Generator) -> None:
    hdl = {
        "n_layers": {"_type": "int_uniform", "_value": [1, 3]},
        "units_2": {"_type": "int_quniform", "_value": [16, 128, 16]},
        "units_3": {"_type": "int_quniform", "_value": [16, 128, 16]},
        "__activate": {"n_layers": {2: ["units_2"], 3: ["units_2", "units_3"]}},
    }
    for config in sample_configs(hdl2cs(hdl), N, rng):
        assert ("units_2" in config) == (config["n_layers"] >= 2)
        assert ("units_3" in config) == (config["n_layers"] == 3)


def test_a_grid_value_decides_conditions_and_forbiddens_after_snapping(rng: np.random.Generator) -> None:
    # ConfigSpace samples b from 0..100 and the grid snaps 75..99 to 100: the condition and the forbidden
    # clause must see the snapped value, or configs with b=100 lack c and break the forbidden clause.
    hdl = {
        "a": {"_type": "choice", "_value": ["x", "y"]},
        "b": {"_type": "int_quniform", "_value": [0, 100, 50]},
        "c": {"_type": "uniform", "_value": [0, 1]},
        "__condition": [{"_child": "c", "_parent": "b", "_values": [100]}],
        "__forbidden": [{"a": "y", "b": 100}],
    }
    cs = hdl2cs(hdl)
    configs = sample_configs(cs, N, rng)
    for config in configs:
        check_config(cs, config)
        assert ("c" in config) == (config["b"] == 100)
    counts = Counter((config["a"], config["b"]) for config in configs)
    assert ("y", 100) not in counts
    assert counts[("x", 100)] > 0.1 * N  # the grid point keeps its share (snapping, not rejection)


def test_special_keys_inside_a_sub_space_are_relative_to_it(rng: np.random.Generator) -> None:
    hdl = {
        "pre": {
            "method": {"_type": "choice", "_value": ["pca", "none"]},
            "n_components": {"_type": "int_uniform", "_value": [1, 10]},
            "whiten": {"_type": "choice", "_value": [True, False]},
            "__condition": [{"_child": "n_components", "_parent": "method", "_values": "pca"}],
            "__forbidden": [{"method": "none", "whiten": True}],
        }
    }
    cs = hdl2cs(hdl)
    for config in sample_configs(cs, N, rng):
        assert ("pre:n_components" in config) == (config["pre:method"] == "pca")
        assert not (config["pre:method"] == "none" and config["pre:whiten"] is True)
    with pytest.raises(ValueError, match="forbidden"):
        check_config(cs, {"pre:method": "none", "pre:whiten": True})


def test_several_conditions_on_one_child_must_all_hold(rng: np.random.Generator) -> None:
    hdl = {
        "a": {"_type": "choice", "_value": ["x", "y"]},
        "b": {"_type": "choice", "_value": [0, 1, 2]},
        "c": {"_type": "uniform", "_value": [0, 1]},
        "__activate": {"a": {"x": ["c"]}},
        "__condition": [{"_child": "c", "_parent": "b", "_values": [1, 2]}],
    }
    for config in sample_configs(hdl2cs(hdl), N, rng):
        assert ("c" in config) == (config["a"] == "x" and config["b"] in (1, 2))


def test_a_value_given_as_an_option_of_another_type_is_not_matched() -> None:
    hdl = {
        "flag": {"_type": "choice", "_value": [True, False]},
        "x": 1,
        "__condition": [{"_child": "x", "_parent": "flag", "_values": [1]}],
    }
    with pytest.raises(ValueError, match=r"1 \(int\) is not one of the options \[True, False\]"):
        hdl2cs(hdl)


def test_a_large_conditional_space_compiles_quickly() -> None:
    # ConfigSpace rebuilds its condition graph on every add: adding conditions one at a time took minutes.
    hdl = {
        "m(choice)": {
            f"a{i}": {f"x{j}": {"_type": "uniform", "_value": [0, 1]} for j in range(10)} for i in range(30)
        }
    }
    start = time.perf_counter()
    cs = hdl2cs(hdl)
    assert len(cs) == 301 and len(cs.conditions) == 300
    assert time.perf_counter() - start < 10


def test_defaults_move_off_combinations_that_forbid_them_only_together() -> None:
    # one clause at a time: a = 1 is forbidden, so a defaulted to 2, which the next clause forbids with every b;
    # the space was refused though a = 3 is allowed
    space = hdl2cs({"a": {"_type": "choice", "_value": [1, 2, 3]}, "b": {"_type": "choice", "_value": [1, 2]},
                    "__forbidden": [{"a": 1}, {"a": 2, "b": [1, 2]}]})
    assert dict(space.get_default_configuration()) == {"a": 3, "b": 1}


def test_clauses_that_forbid_every_config_together_are_refused_in_words() -> None:
    # the message advised another '_default' where none was written, under a private exception class
    with pytest.raises(HDLError, match="no config that keeps the '_default' values written passes every forbidden "
                                       "combination") as refused:
        hdl2cs({"a": {"_type": "choice", "_value": [1, 2]}, "b": {"_type": "choice", "_value": [1, 2]},
                "__forbidden": [{"a": 1}, {"a": 2, "b": [1, 2]}]})
    assert type(refused.value) is HDLError


def test_a_default_no_one_wrote_moves_off_a_forbidden_combination() -> None:
    # "this forbidden combination holds for the default configuration" blamed the user for our defaults
    space = hdl2cs({"a": {"_type": "choice", "_value": ["x", "y", "z"]},
                    "b": {"_type": "int_uniform", "_value": [1, 4], "_default": 1},
                    "m(choice)": {"A": {}, "B": {}},
                    "c": {"_type": "choice", "_value": [1, 2]},
                    "__forbidden": [{"a": "x", "b": [1, 2]}, {"m:__choice__": "A", "c": 1}]})
    default = dict(space.get_default_configuration())
    assert default["a"] == "y" and default["b"] == 1  # the written default stays
    assert (default["m:__choice__"], default["c"]) in {("B", 1), ("A", 2)}
    with pytest.raises(HDLError, match="holds for the default configuration"):  # both written: the user's call
        hdl2cs({"a": {"_type": "choice", "_value": ["x", "y"], "_default": "x"},
                "b": {"_type": "int_uniform", "_value": [1, 4], "_default": 1},
                "__forbidden": [{"a": "x", "b": [1, 2]}]})


def test_a_combination_forbidden_inside_a_branch_moves_its_own_defaults_not_the_branch() -> None:
    # the default switched to branch B, though the first branch is the default one and k or j could move instead
    space = hdl2cs({"m(choice)": {"A": {"k": {"_type": "choice", "_value": [1, 2, 3]},
                                        "j": {"_type": "choice", "_value": ["u", "v"]},
                                        "__forbidden": [{"k": 1, "j": "u"}]},
                                  "B": {}}})
    default = dict(space.get_default_configuration())
    assert default["m:__choice__"] == "A" and (default["m:A:k"], default["m:A:j"]) in {(2, "u"), (1, "v")}
