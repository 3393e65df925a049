"""JSON round-trips of HDLs and spaces keep every value's type, and nothing read back is ever evaluated."""

from __future__ import annotations

import builtins
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ultraopt.hdl import (
    check_config,
    draw_space,
    hdl2cs,
    hdl_from_json,
    hdl_to_json,
    layering_config,
    sample_configs,
    space_from_json,
    space_to_json,
)


def assert_same(a: Any, b: Any) -> None:
    """Equal with the same types all the way down (``1 == 1.0 == True`` would hide a lost type)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert [(type(k), k) for k in a] == [(type(k), k) for k in b]
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert a == b


def test_hdl_round_trip_is_exact(cash_hdl: dict[str, Any]) -> None:
    text = hdl_to_json(cash_hdl)
    assert_same(hdl_from_json(text), cash_hdl)
    assert_same(hdl_from_json(hdl_to_json(cash_hdl, indent=2)), cash_hdl)


def test_hdl_round_trip_keeps_scalar_types_and_non_string_keys() -> None:
    hdl = {
        "c": {"_type": "choice", "_value": [1, 2.0, True, None, "True", "1"], "_default": 2.0},
        "k_int": 1,
        "k_float": 1.0,
        "k_bool": False,
        "k_none": None,
        "n": {"_type": "int_uniform", "_value": [1, 3]},
        "u": 1,
        "__activate": {"n": {2: ["u"]}, "c": {True: ["k_int"], None: ["k_float"], 2.0: ["k_bool"]}},
        "weird": {"__items__": 1},
    }
    back = hdl_from_json(hdl_to_json(hdl))
    assert_same(back, hdl)


def test_tuples_come_back_as_lists_and_compile_alike() -> None:
    hdl = {"x": {"_type": "uniform", "_value": (0.0, 1.0)}}
    back = hdl_from_json(hdl_to_json(hdl))
    assert back == {"x": {"_type": "uniform", "_value": [0.0, 1.0]}}
    assert hdl2cs(back) == hdl2cs(hdl)


def test_the_compiled_space_of_a_round_tripped_hdl_is_the_same(cash_hdl: dict[str, Any]) -> None:
    assert hdl2cs(hdl_from_json(hdl_to_json(cash_hdl))) == hdl2cs(cash_hdl)


def test_numpy_scalars_are_written_as_python_scalars() -> None:
    hdl = {"x": {"_type": "uniform", "_value": [np.float64(0.5), np.int64(2)]}, "k": np.bool_(True)}
    back = hdl_from_json(hdl_to_json(hdl))
    assert_same(back, {"x": {"_type": "uniform", "_value": [0.5, 2]}, "k": True})


@pytest.mark.parametrize(
    ("hdl", "path"),
    [
        ({"a": {"b": object()}}, "a:b"),
        ({"a": {"_type": "uniform", "_value": [0, math.inf]}}, "a:_value[1]"),
        ({"a": float("nan")}, "a"),
        ({"a": {(1, 2): 3}}, "a:(1, 2)"),
    ],
)
def test_values_without_a_json_form_are_refused_naming_the_key(hdl: dict[str, Any], path: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"HDL key '{path}'")):
        hdl_to_json(hdl)


def test_reading_refuses_non_standard_json_constants() -> None:
    with pytest.raises(ValueError, match="NaN"):
        hdl_from_json('{"a": NaN}')
    with pytest.raises(ValueError, match="object"):
        hdl_from_json("[1, 2]")


def test_space_round_trip_keeps_grids_types_and_defaults(cash_hdl: dict[str, Any]) -> None:
    cash_hdl.update(
        {
            "k_true": True,
            "k_none": None,
            "k_float": 1.0,
            "k_int": 42,
            "opt": {"_type": "choice", "_value": ["a", None, 3, 2.5, False], "_default": None},
            "rank": {"_type": "ordinal", "_value": [1, 2, 3], "_default": 2},
            "g": {"_type": "qloguniform", "_value": [0.5, 64.5, 0.5], "_default": 4.0},
        }
    )
    cs = hdl2cs(cash_hdl)
    back = space_from_json(space_to_json(cs))
    assert back == cs
    assert back["g"].meta == {"q": 0.5} and back["g"].log and back["g"].default_value == 4.0
    assert back["estimator:rf:n_estimators"].meta == {"q": 10}
    for name, value in [("k_true", True), ("k_none", None), ("k_float", 1.0), ("k_int", 42)]:
        assert type(back[name].value) is type(value) and back[name].value == value
    assert [(type(o), o) for o in back["opt"].choices] == [(type(o), o) for o in cs["opt"].choices]
    assert back["opt"].default_value is None
    assert list(back.conditions) == list(cs.conditions)
    assert list(back.forbidden_clauses) == list(cs.forbidden_clauses)


def test_a_space_read_back_samples_the_same_configs(cash_hdl: dict[str, Any]) -> None:
    cs = hdl2cs(cash_hdl)
    back = space_from_json(space_to_json(cash_hdl))  # an HDL dict is compiled first
    first = sample_configs(cs, 300, np.random.default_rng(5))
    again = sample_configs(back, 300, np.random.default_rng(5))
    assert [sorted((k, type(v).__name__, v) for k, v in c.items()) for c in first] == [
        sorted((k, type(v).__name__, v) for k, v in c.items()) for c in again
    ]


def test_space_from_json_refuses_other_json() -> None:
    with pytest.raises(ValueError, match="hyperparameters"):
        space_from_json(json.dumps({"x": 1}))


def test_a_crafted_string_stays_a_plain_string_and_nothing_is_evaluated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator
) -> None:
    marker = tmp_path / "pwned"
    payloads = [
        "__import__('os').system('echo pwned')",
        f"__import__('pathlib').Path({str(marker)!r}).touch()",
        "True:bool",  # the 2021 library's typed-string encoding, decoded with eval
    ]

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("eval/exec was called")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    hdl = {"cmd": {"_type": "choice", "_value": payloads, "_default": payloads[1]}, "const": payloads[1]}
    back = hdl_from_json(hdl_to_json(hdl))
    assert_same(back, hdl)
    cs = space_from_json(space_to_json(hdl2cs(back)))
    seen = set()
    for config in sample_configs(cs, 100, rng):
        assert config["cmd"] in payloads and type(config["cmd"]) is str
        assert check_config(cs, config) == config
        assert layering_config(config)["const"] == payloads[1]
        seen.add(config["cmd"])
    assert seen == set(payloads)
    assert payloads[1] in draw_space(cs)
    assert not marker.exists()
