"""``layering_config`` nests flat configs, puts the chosen branch under its choice and keeps value types;
``flat_config`` and ``check_config`` take nested configs back."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ultraopt.hdl import check_config, hdl2cs, layering_config, sample_configs
from ultraopt.hdl.layering import flat_config


def test_names_nest_and_the_chosen_branch_becomes_a_key() -> None:
    assert layering_config({"est:__choice__": "svc", "est:svc:C": 1.0}) == {"est": {"svc": {"C": 1.0}}}
    assert layering_config({"a:b:c": 1, "a:b:d": 2, "e": 3}) == {"a": {"b": {"c": 1, "d": 2}}, "e": 3}


def test_an_empty_alternative_is_an_empty_dict() -> None:
    assert layering_config({"est:__choice__": "lr", "seed": 0}) == {"est": {"lr": {}}, "seed": 0}


def test_the_order_of_the_keys_does_not_matter() -> None:
    config = {
        "est:svc:kernel:poly:degree": 3,
        "est:svc:kernel:__choice__": "poly",
        "est:svc:C": 0.5,
        "est:__choice__": "svc",
    }
    expected = {"est": {"svc": {"kernel": {"poly": {"degree": 3}}, "C": 0.5}}}
    assert layering_config(config) == expected
    assert layering_config(dict(reversed(list(config.items())))) == expected


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, bool),
        (False, bool),
        (0, int),
        (3, int),
        (0.0, float),
        (2.5, float),
        ("x", str),
        (None, type(None)),
        (np.bool_(True), bool),
        (np.int64(7), int),
        (np.float32(0.5), float),
        (np.str_("y"), str),
    ],
)
def test_values_keep_their_python_type(value: Any, kind: type) -> None:
    layered = layering_config({"m:__choice__": "a", "m:a:v": value, "top": value})
    for got in (layered["m"]["a"]["v"], layered["top"]):
        assert type(got) is kind and got == value


def test_sampled_configs_keep_types_through_layering(rng: np.random.Generator) -> None:
    hdl = {
        "m(choice)": {
            "a": {
                "flag": {"_type": "choice", "_value": [True, False]},
                "n": {"_type": "int_quniform", "_value": [0, 10, 2]},
                "x": {"_type": "uniform", "_value": [0, 1]},
                "opt": {"_type": "choice", "_value": [None, "auto"]},
            }
        },
        "seed": 0,
        "verbose": False,
    }
    for config in sample_configs(hdl2cs(hdl), 200, rng):
        layered = layering_config(config)
        branch = layered["m"]["a"]
        assert type(branch["flag"]) is bool and type(branch["n"]) is int and type(branch["x"]) is float
        assert branch["opt"] in (None, "auto")
        assert layered["seed"] == 0 and type(layered["seed"]) is int and layered["verbose"] is False


def test_a_value_in_an_alternative_that_was_not_chosen_is_refused() -> None:
    with pytest.raises(ValueError, match="'est:rf:n' lies in alternative 'rf' but 'est:__choice__' is 'svc'"):
        layering_config({"est:__choice__": "svc", "est:rf:n": 10})


def test_colliding_names_are_refused() -> None:
    with pytest.raises(ValueError, match="collides"):
        layering_config({"a": 1, "a:b": 2})
    with pytest.raises(ValueError, match="collides"):
        layering_config({"a:b": 2, "a": 1})


def test_a_choice_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ValueError, match="'m:__choice__'"):
        layering_config({"m:__choice__": 1})


NESTED_HDL = {
    "est(choice)": {
        "svc": {"C": {"_type": "loguniform", "_value": [0.01, 100]},
                "kernel(choice)": {"poly": {"degree": {"_type": "int_uniform", "_value": [2, 5]}}, "rbf": {}}},
        "lr": {},
    },
    "prep": {"scale": {"_type": "choice", "_value": [True, False]}},
    "seed": 0,
}


def test_layered_configs_flatten_back(rng: np.random.Generator) -> None:
    space = hdl2cs(NESTED_HDL)
    for config in sample_configs(space, 100, rng):
        assert flat_config(layering_config(config), space) == config
        assert check_config(space, layering_config(config), what="point") == config


def test_flat_and_nested_keys_mix() -> None:
    space = hdl2cs(NESTED_HDL)
    config = {"est": {"svc": {"C": 1.0, "kernel": {"rbf": {}}}}, "prep:scale": True, "seed": 0}
    assert check_config(space, config) == {"est:__choice__": "svc", "est:svc:C": 1.0,
                                           "est:svc:kernel:__choice__": "rbf", "prep:scale": True, "seed": 0}


@pytest.mark.parametrize("choice", [{"svc": {"C": 1.0}, "lr": {}}, {}, {"lr": "yes"}])
def test_a_choice_nested_as_anything_but_one_alternative_is_refused(choice: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="point: config key 'est' is a choice: give the chosen alternative"):
        check_config(hdl2cs(NESTED_HDL), {"est": choice, "prep": {"scale": True}}, what="point")


def test_a_nested_config_starts_a_run() -> None:
    from ultraopt import fmin

    result = fmin(lambda config: config.get("est:svc:C", 10.0), NESTED_HDL,
                  initial_points=[{"est": {"svc": {"C": 0.5, "kernel": {"poly": {"degree": 3}}}},
                                   "prep": {"scale": False}}],
                  optimizer="Random", n_iterations=3, show_progressbar=False)
    assert result.trials[0].config["est:svc:kernel:poly:degree"] == 3 and result.trials[0].loss == 0.5
