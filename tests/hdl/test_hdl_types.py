"""Each of the ten ``_type``s samples only legal values; defaults, ``0`` and ``False`` too, are honoured."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from ConfigSpace import ConfigurationSpace

from ultraopt.hdl import as_config_space, check_config, hdl2cs, sample_configs

N = 1000


def _samples(spec: dict[str, Any], rng: np.random.Generator) -> tuple[ConfigurationSpace, list[Any]]:
    cs = hdl2cs({"x": spec})
    configs = sample_configs(cs, N, rng)
    for config in configs:
        assert check_config(cs, config) == config
    return cs, [config["x"] for config in configs]


def _on_grid(value: float, low: float, q: float) -> bool:
    steps = (value - low) / q
    return math.isclose(steps, round(steps), abs_tol=1e-9)


def _strict_types(values: list[Any], kind: type) -> bool:
    return all(type(value) is kind for value in values)


def test_choice_keeps_each_option_and_its_type(rng: np.random.Generator) -> None:
    options = ["a", 2, 2.5, True, None]
    _, values = _samples({"_type": "choice", "_value": options}, rng)
    seen = {(type(value), value) for value in values}
    assert seen == {(type(option), option) for option in options}


@pytest.mark.parametrize("hdl_type", ["choice", "ordinal"])
@pytest.mark.parametrize("options", [[2, 0.1], [True, 2, 0.5], [1, 0.5, 0]])
def test_numbers_of_one_choice_keep_their_own_types(
    hdl_type: str, options: list[Any], rng: np.random.Generator
) -> None:
    # ConfigSpace holds such options in a float array: a 2 drawn as 2.0 is a fraction to scikit-learn
    _, values = _samples({"_type": hdl_type, "_value": options}, rng)
    assert {(type(value), value) for value in values} == {(type(option), option) for option in options}


def test_ordinal_samples_its_options(rng: np.random.Generator) -> None:
    _, values = _samples({"_type": "ordinal", "_value": ["low", "mid", "high"]}, rng)
    assert set(values) == {"low", "mid", "high"}


def test_uniform_is_a_float_in_bounds_covering_the_range(rng: np.random.Generator) -> None:
    _, values = _samples({"_type": "uniform", "_value": [-2, 3]}, rng)
    assert _strict_types(values, float)
    assert -2 <= min(values) < -1.9 and 2.9 < max(values) <= 3


def test_loguniform_spreads_over_orders_of_magnitude(rng: np.random.Generator) -> None:
    _, values = _samples({"_type": "loguniform", "_value": [1e-4, 1.0]}, rng)
    assert _strict_types(values, float)
    assert all(1e-4 <= value <= 1.0 for value in values)
    assert np.median(values) < 0.05  # uniform on the log scale: the median is near 1e-2, not 0.5
    assert min(values) < 2e-4
    for decade in range(-4, 0):  # every decade holds about a quarter of the samples
        share = np.mean([10.0**decade <= value < 10.0 ** (decade + 1) for value in values])
        assert 0.18 < share < 0.32


def test_quniform_is_on_its_grid_and_hits_every_point(rng: np.random.Generator) -> None:
    _, values = _samples({"_type": "quniform", "_value": [0.1, 1.0, 0.15]}, rng)
    assert _strict_types(values, float)
    assert all(0.1 <= value <= 1.0 and _on_grid(value, 0.1, 0.15) for value in values)
    assert len(set(values)) == 7  # 0.1, 0.25, ..., 1.0: float noise would split points


@pytest.mark.parametrize("spec", [{"_type": "quniform", "_value": [0.0, 1.0, 0.25]},
                                  {"_type": "int_quniform", "_value": [16, 64, 16]},
                                  {"_type": "int_quniform", "_value": [2, 8, 2]}])
def test_every_point_of_a_linear_grid_is_as_likely(spec: dict[str, Any], rng: np.random.Generator) -> None:
    # snapping a uniform draw as it is would give the two end points half a share each
    _, values = _samples(spec, rng)
    low, high, q = spec["_value"]
    n_points = round((high - low) / q) + 1
    shares = np.array([values.count(low + k * q) for k in range(n_points)]) / len(values)
    np.testing.assert_allclose(shares, 1 / n_points, atol=0.05)


def test_qloguniform_is_on_its_grid_on_a_log_scale(rng: np.random.Generator) -> None:
    _, values = _samples({"_type": "qloguniform", "_value": [0.5, 64.5, 0.5]}, rng)
    assert _strict_types(values, float)
    assert all(0.5 <= value <= 64.5 and _on_grid(value, 0.5, 0.5) for value in values)
    assert np.median(values) < 12  # a uniform draw would have it near 32


@pytest.mark.parametrize("kind", ["qloguniform", "int_qloguniform"])
def test_a_log_grid_point_gets_the_log_uniform_mass_nearest_it(kind: str, rng: np.random.Generator) -> None:
    # integers drawn first and then snapped went zig-zag: 4 got 4 alone while 6 got 5, 6 and 7
    _, values = _samples({"_type": kind, "_value": [2, 64, 2]}, rng)
    points = np.arange(2, 65, 2)
    edges = np.clip(np.concatenate([[2], points[:-1] + 1, [64]]), 2, 64)
    expected = np.diff(np.log(edges)) / np.log(32)
    shares = np.array([values.count(point) for point in points]) / len(values)
    np.testing.assert_allclose(shares, expected, atol=0.02)


def test_int_uniform_is_an_int_hitting_every_value(rng: np.random.Generator) -> None:
    _, values = _samples({"_type": "int_uniform", "_value": [-3, 7]}, rng)
    assert _strict_types(values, int)
    assert set(values) == set(range(-3, 8))


def test_int_loguniform_is_an_int_on_a_log_scale(rng: np.random.Generator) -> None:
    _, values = _samples({"_type": "int_loguniform", "_value": [1, 10_000]}, rng)
    assert _strict_types(values, int)
    assert all(1 <= value <= 10_000 for value in values)
    assert np.median(values) < 1000 and min(values) < 5


def test_int_quniform_is_an_int_on_its_grid(rng: np.random.Generator) -> None:
    _, values = _samples({"_type": "int_quniform", "_value": [0, 100, 5]}, rng)
    assert _strict_types(values, int)
    assert all(value % 5 == 0 and 0 <= value <= 100 for value in values)
    assert set(values) == set(range(0, 101, 5))


def test_int_qloguniform_is_an_int_on_its_grid_on_a_log_scale(rng: np.random.Generator) -> None:
    _, values = _samples({"_type": "int_qloguniform", "_value": [1, 1000, 9]}, rng)
    assert _strict_types(values, int)
    assert all((value - 1) % 9 == 0 and 1 <= value <= 1000 for value in values)
    assert np.median(values) < 200


def test_q_types_keep_their_step_in_meta() -> None:
    cs = hdl2cs(
        {
            "f": {"_type": "qloguniform", "_value": [1, 9, 0.5]},
            "i": {"_type": "int_quniform", "_value": [0, 10, 2]},
            "g": {"_type": "loguniform", "_value": [1, 9]},
        }
    )
    assert cs["f"].meta == {"q": 0.5} and cs["f"].log
    assert cs["i"].meta == {"q": 2} and not cs["i"].log
    assert not cs["g"].meta


@pytest.mark.parametrize(
    ("spec", "default"),
    [
        ({"_type": "int_uniform", "_value": [0, 5], "_default": 0}, 0),
        ({"_type": "uniform", "_value": [0, 1], "_default": 0}, 0.0),
        ({"_type": "quniform", "_value": [0, 1, 0.25], "_default": 0}, 0.0),
        ({"_type": "int_quniform", "_value": [0, 10, 5], "_default": 0}, 0),
        ({"_type": "choice", "_value": [True, False], "_default": False}, False),
        ({"_type": "choice", "_value": [1, 0], "_default": 0}, 0),
        ({"_type": "choice", "_value": ["a", None], "_default": None}, None),
        ({"_type": "ordinal", "_value": [3, 2, 1, 0], "_default": 0}, 0),
        ({"_type": "loguniform", "_value": [1e-3, 1], "_default": 1}, 1.0),
        ({"_type": "int_loguniform", "_value": [1, 1e4], "_default": 1e3}, 1000),
    ],
)
def test_falsy_and_explicit_defaults_are_honoured(spec: dict[str, Any], default: Any) -> None:
    cs = hdl2cs({"x": spec})
    value = dict(cs.get_default_configuration())["x"]
    value = value.item() if isinstance(value, np.generic) else value
    assert value == default and type(value) is type(default)


@pytest.mark.parametrize(
    "spec",
    [
        {"_type": "quniform", "_value": [0.1, 1.0, 0.3]},
        {"_type": "qloguniform", "_value": [1, 100, 3]},
        {"_type": "int_quniform", "_value": [0, 9, 3]},
        {"_type": "int_qloguniform", "_value": [2, 1003, 7]},
    ],
)
def test_the_implicit_default_of_a_grid_is_on_the_grid(spec: dict[str, Any]) -> None:
    hp = hdl2cs({"x": spec})["x"]
    low, _, q = spec["_value"]
    assert _on_grid(hp.default_value, low, q)


def test_a_default_off_float_noise_snaps_to_the_grid_point() -> None:
    hp = hdl2cs({"x": {"_type": "quniform", "_value": [0.1, 1.0, 0.1], "_default": 0.1 + 0.2}})["x"]
    assert hp.default_value == 0.3


def test_integral_float_bounds_of_integer_types_become_ints() -> None:
    hp = hdl2cs({"x": {"_type": "int_loguniform", "_value": [1.0, 1e4]}})["x"]
    assert (hp.lower, hp.upper) == (1, 10_000) and type(hp.lower) is int


@pytest.mark.parametrize("value", [42, 1.5, "s", True, False, None])
def test_constants_keep_their_python_type(value: Any, rng: np.random.Generator) -> None:
    cs = hdl2cs({"k": value, "x": {"_type": "uniform", "_value": [0, 1]}})
    for config in sample_configs(cs, 20, rng):
        assert config["k"] == value and type(config["k"]) is type(value)
    assert check_config(cs, {"x": 0.5}) == {"k": value, "x": 0.5}


def test_as_config_space_passes_a_space_through_and_compiles_a_dict() -> None:
    cs = hdl2cs({"x": {"_type": "uniform", "_value": [0, 1]}})
    assert as_config_space(cs) is cs
    assert as_config_space({"x": {"_type": "uniform", "_value": [0, 1]}}) == cs


@pytest.mark.parametrize("space", [[("x", 1)], "x", None, 3])
def test_as_config_space_rejects_other_types_naming_them(space: Any) -> None:
    with pytest.raises(TypeError, match=type(space).__name__):
        as_config_space(space)


def test_sampling_is_reproducible_with_the_same_generator(cash_hdl: dict[str, Any]) -> None:
    cs = hdl2cs(cash_hdl)
    draw: Callable[[int], list[dict[str, Any]]] = lambda seed: sample_configs(  # noqa: E731
        cs, 50, np.random.default_rng(seed)
    )
    assert draw(3) == draw(3)
    assert draw(3) != draw(4)


def test_sampling_leaves_the_users_space_random_state_alone(cash_hdl: dict[str, Any]) -> None:
    # ConfigSpace samples with the space's own RandomState; the user's seeded space must not be reseeded by us
    cs = hdl2cs(cash_hdl)
    cs.seed(1)
    own, state = cs.random, cs.random.get_state()[1].copy()
    sample_configs(cs, 20, np.random.default_rng(0))
    assert cs.random is own and np.array_equal(cs.random.get_state()[1], state)
