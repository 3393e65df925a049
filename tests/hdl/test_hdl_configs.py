"""Fixes to ``configs.py``: snapping stays inside the domain; ``True`` is not ``1`` when checking configs; a grid
with no legal point is refused."""

from __future__ import annotations

import numpy as np
import pytest
from ConfigSpace import ConfigurationSpace, EqualsCondition, ForbiddenInClause
from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
    Constant,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

from ultraopt.hdl.configs import check_config, config_key, sample_configs, snap_to_grid


def test_snap_keeps_every_digit_of_the_lower_bound() -> None:
    lower = 0.12345674
    hp = UniformFloatHyperparameter("x", lower, lower + 1.0, meta={"q": 0.5})
    snapped = [snap_to_grid(hp, value) for value in (lower, lower + 0.5, lower + 1.0)]
    assert snapped == [lower, lower + 0.5, lower + 1.0]
    assert all(hp.legal_value(value) for value in snapped)


def test_snap_removes_float_noise() -> None:
    hp = UniformFloatHyperparameter("x", 0.1, 1.0, meta={"q": 0.1})
    assert snap_to_grid(hp, 0.31) == 0.3
    assert snap_to_grid(hp, 0.7) == 0.7
    assert snap_to_grid(hp, 5.0) == 1.0


@pytest.fixture
def space() -> ConfigurationSpace:
    cs = ConfigurationSpace()
    cs.add(
        CategoricalHyperparameter("c", [1, 2]),
        OrdinalHyperparameter("o", [0, 1]),
        Constant("k", 0),
        UniformIntegerHyperparameter("i", 0, 3),
        UniformFloatHyperparameter("f", 0.0, 3.0),
    )
    return cs


@pytest.mark.parametrize(
    ("name", "value"), [("c", True), ("o", True), ("k", False), ("i", True), ("f", True), ("c", "1")]
)
def test_check_config_keeps_bools_apart_from_numbers(
    space: ConfigurationSpace, name: str, value: object
) -> None:
    config = {"c": 1, "o": 0, "i": 1, "f": 1.0, name: value}
    with pytest.raises(ValueError, match=f"'{name}'"):
        check_config(space, config)


def test_check_config_returns_the_space_s_own_value(space: ConfigurationSpace) -> None:
    checked = check_config(space, {"c": 1.0, "o": 1, "i": 1, "f": 1})
    assert checked == {"c": 1, "f": 1.0, "i": 1, "k": 0, "o": 1}
    assert type(checked["c"]) is int and type(checked["f"]) is float
    assert config_key(checked) == config_key({"c": 1, "f": 1.0, "i": 1, "k": 0, "o": 1})


def test_check_config_rejects_an_inactive_value_and_a_missing_active_one() -> None:
    cs = ConfigurationSpace()
    cs.add(CategoricalHyperparameter("c", ["a", "b"]), UniformFloatHyperparameter("x", 0.0, 1.0))
    cs.add(EqualsCondition(cs["x"], cs["c"], "a"))
    assert check_config(cs, {"c": "a", "x": 0.5}) == {"c": "a", "x": 0.5}
    with pytest.raises(ValueError, match="inactive"):
        check_config(cs, {"c": "b", "x": 0.5})
    with pytest.raises(ValueError, match=r"hyperparameter\(s\) \['x'\] of the space are active but have no value"):
        check_config(cs, {"c": "a"})


@pytest.mark.parametrize(("value", "problem"), [(1.5, "is not an integer"), (7, "is outside its domain")])
def test_check_config_says_what_is_wrong_with_an_integer(space: ConfigurationSpace, value, problem) -> None:
    config = {"c": 1, "o": 0, "i": value, "f": 1.0}
    with pytest.raises(ValueError, match=f"value {value} of hyperparameter 'i' {problem}"):
        check_config(space, config)


def _grid_space(forbidden: list[int]) -> ConfigurationSpace:
    space = ConfigurationSpace()
    n = UniformIntegerHyperparameter("n", 0, 2000, default_value=1, meta={"q": 2})  # the default is off the grid
    space.add(n)
    space.add(ForbiddenInClause(n, forbidden))
    return space


def test_a_grid_whose_every_point_is_forbidden_is_refused_not_sampled_for_ever() -> None:
    with pytest.raises(ValueError, match=r"passes its forbidden clauses.*Forbidden: n in"):
        sample_configs(_grid_space(list(range(0, 2001, 2))), 1, np.random.default_rng(0))


def test_the_last_legal_points_of_a_grid_are_found() -> None:
    configs = sample_configs(_grid_space(list(range(0, 1998, 2))), 3, np.random.default_rng(0))
    assert all(config["n"] in (1998, 2000) for config in configs) and len(configs) == 3


def _one_option_left_space(with_grid: bool) -> ConfigurationSpace:
    from ultraopt.hdl import hdl2cs

    hdl = {
        "a": {"_type": "choice", "_value": list(range(300))},
        "b": {"_type": "choice", "_value": [f"s{i}" for i in range(300)], "_default": "s299"},
        "__forbidden": [{"a": list(range(299))}, {"b": [f"s{i}" for i in range(299)]}],
    }
    if with_grid:
        hdl["g"] = {"_type": "int_quniform", "_value": [0, 10, 5]}
        hdl["__forbidden"].append({"g": 5, "a": 299})
    return hdl2cs(hdl)


@pytest.mark.parametrize("with_grid", [False, True], ids=["configspace-sampler", "grid-sampler"])
def test_choices_whose_forbidden_clauses_leave_one_option_are_drawn_from_that_option(with_grid):
    # 1 draw in 90000 was legal: sampling took a second per config, and with a grid it gave up, calling the
    # space empty
    import time

    start = time.monotonic()
    configs = sample_configs(_one_option_left_space(with_grid), 20, np.random.default_rng(0))
    assert time.monotonic() - start < 5.0  # in milliseconds now; rejecting took about 20 s
    assert len(configs) == 20 and all(config["a"] == 299 and config["b"] == "s299" for config in configs)
    if with_grid:
        assert {config["g"] for config in configs} == {0, 10}


def test_a_forbidden_option_of_an_inactive_choice_still_comes_with_the_choice_inactive():
    from ultraopt.hdl import hdl2cs

    space = hdl2cs({"m": {"_type": "choice", "_value": ["x", "y"]},
                    "k": {"_type": "choice", "_value": [1, 2, 3]},
                    "__activate": {"m": {"x": ["k"]}},
                    "__forbidden": [{"k": [1, 2]}]})
    configs = sample_configs(space, 200, np.random.default_rng(0))
    assert {(config["m"], config.get("k")) for config in configs} == {("x", 3), ("y", None)}
