"""Hyperband and successive-halving schedules, and the budget arithmetic under them."""

import logging
import math
from fractions import Fraction

import pytest

from ultraopt.multi_fidelity import (
    AsyncRankReductionIteration,
    CustomIterGenerator,
    HyperBandIterGenerator,
    RankReductionIteration,
    SuccessiveHalvingIterGenerator,
    format_budget,
    geometric_budgets,
)
from ultraopt.multi_fidelity.budgets import as_fraction


def test_hyperband_1_16_to_1_eta_4_matches_hpbandster():
    generator = HyperBandIterGenerator(min_budget=1 / 16, max_budget=1, eta=4)
    assert generator.get_budgets() == [1 / 16, 1 / 4, 1.0]
    assert [generator.get_bracket(i) for i in range(4)] == [
        ([16, 4, 1], [1 / 16, 1 / 4, 1.0]),
        ([4, 1], [1 / 4, 1.0]),
        ([3], [1.0]),
        ([16, 4, 1], [1 / 16, 1 / 4, 1.0]),  # brackets cycle
    ]
    assert generator.num_all_configs(3) == 29
    assert generator.num_all_configs(5) == 55
    assert generator.num_new_configs(5) == 16 + 4 + 3 + 16 + 4


def test_sh_only_has_21_configs_per_iteration():
    generator = HyperBandIterGenerator(min_budget=1 / 16, max_budget=1, eta=4, SH_only=True)
    assert generator.n_brackets == 1
    assert [sum(generator.get_bracket(i)[0]) for i in range(4)] == [21] * 4
    assert generator.num_all_configs(3) == 63
    same = SuccessiveHalvingIterGenerator(1 / 16, 1, 4)
    assert [same.get_bracket(i) for i in range(3)] == [generator.get_bracket(i) for i in range(3)]


def test_hyperband_keeps_the_stage_float_truncation_used_to_drop():
    assert HyperBandIterGenerator(0.001, 1, 10).get_budgets() == [0.001, 0.01, 0.1, 1.0]
    assert HyperBandIterGenerator(0.001, 1, 10).get_bracket(0)[0] == [1000, 100, 10, 1]


@pytest.mark.parametrize(
    "low, high, eta, expected",
    [
        (0.001, 1, 10, [0.001, 0.01, 0.1, 1.0]),
        (1 / 27, 1, 3, [1 / 27, 1 / 9, 1 / 3, 1.0]),
        (1, 81, 3, [1.0, 3.0, 9.0, 27.0, 81.0]),
        (0.3, 1, 3, [1 / 3, 1.0]),  # 1/9 is below 0.3: two budgets, the smallest is max * eta**-1
        (1, 1, 3, [1.0]),
        (0.1, 100, 10, [0.1, 1.0, 10.0, 100.0]),
        (0.33333333333333326, 1, 3, [1 / 3, 1.0]),  # 1/3 minus a rounding error still gives two stages
    ],
)
def test_geometric_budgets(low, high, eta, expected):
    assert geometric_budgets(low, high, eta) == expected


@pytest.mark.parametrize(
    "args", [(0, 1, 3), (2, 1, 3), (0.1, 1, 1), (0.1, 1, 0.5), (0.1, math.inf, 3), (1, 2, 1 + 1e-9)]
)
def test_geometric_budgets_rejects_bad_arguments(args):
    with pytest.raises(ValueError):
        geometric_budgets(*args)


@pytest.mark.parametrize(
    ("args", "name", "value"),
    [(("1", 9), "min_budget", "'1'"), ((None, 9), "min_budget", "None"), ((1, [9]), "max_budget", r"\[9\]"),
     ((1, 9, "3"), "eta", "'3'"), ((1, 9, True), "eta", "True")],
)
def test_a_budget_or_eta_that_is_no_number_is_named(args, name, value):
    # not the comparison's "'>' not supported between instances of 'str' and 'int'"
    with pytest.raises(TypeError, match=rf"^{name} must be a real number, got {value}$"):
        HyperBandIterGenerator(*args)


def test_fractions_stay_fractions():
    assert as_fraction(0.1) == Fraction(1, 10) and as_fraction(1 / 3) == Fraction(1, 3)
    assert [format_budget(b) for b in geometric_budgets(1 / 16, 1, 4)] == ["1/16", "1/4", "1"]
    table = HyperBandIterGenerator(1 / 16, 1, 4).get_table()
    assert list(table["budget_label"]) == ["1/16", "1/4", "1", "1/4", "1", "1"]
    assert list(table["num_configs"]) == [16, 4, 1, 4, 1, 3]
    assert table.index.names == ["iteration", "stage"]
    assert table.loc[(0, 2), "budget"] == 1.0


def test_exact_bracket_sizes_with_eta_3():
    generator = HyperBandIterGenerator(1 / 27, 1, 3)
    assert [generator.get_bracket(i)[0] for i in range(4)] == [[27, 9, 3, 1], [9, 3, 1], [6, 2], [4]]
    assert generator.num_all_configs(4) == 40 + 13 + 8 + 4


def test_an_iteration_made_without_a_sampler_shows_its_stages_but_cannot_run():
    iteration = HyperBandIterGenerator(1 / 16, 1, 4).get_next_iteration(1)
    assert iteration.num_configs == [4, 1] and iteration.budgets == [1 / 4, 1]
    with pytest.raises(RuntimeError, match="no config_sampler"):
        iteration.get_next_run()


def test_promotion_selects_the_iteration_class():
    sampler = lambda budget: ({"x": 0}, {})  # noqa: E731
    for generator_class, args in [(HyperBandIterGenerator, (1 / 9, 1, 3)), (CustomIterGenerator, ([3, 1], [1, 3]))]:
        assert isinstance(generator_class(*args).get_next_iteration(0, sampler), RankReductionIteration)
        iteration = generator_class(*args, promotion="async").get_next_iteration(0, sampler)
        assert isinstance(iteration, AsyncRankReductionIteration)
    with pytest.raises(ValueError, match="promotion must be one of"):
        HyperBandIterGenerator(1 / 9, 1, 3, promotion="eager")
    assert "promotion='async'" in repr(HyperBandIterGenerator(1 / 9, 1, 3, promotion="async"))


def test_budgets_are_written_as_people_write_them():
    written = [format_budget(b) for b in (1 / 3, 2 / 9, 1 / 16, 0.001, 1.024, 2.56, 0.3, 2.5, 4.0)]
    assert written == ["1/3", "2/9", "1/16", "1/1000", "1.024", "2.56", "0.3", "2.5", "4"]


def test_a_non_integer_eta_gives_hpbandsters_bracket_sizes():
    # HpBandSter: n0 = int(floor(S / (s + 1)) * eta**s), then max(int(n0 * eta**-i), 1)
    generator = HyperBandIterGenerator(min_budget=1, max_budget=100, eta=2.5)
    brackets = [generator.get_bracket(i)[0] for i in range(generator.n_brackets)]
    assert brackets == [[97, 38, 15, 6, 2, 1], [39, 15, 6, 2, 1], [15, 6, 2, 1], [12, 4, 1], [7, 2], [6]]


def test_an_inexact_eta_does_not_put_the_smallest_budget_below_min_budget():
    budgets = geometric_budgets(0.1, 10, math.sqrt(10))
    assert len(budgets) == 5 and budgets[0] == 0.1 and budgets[-1] == 10


class _OwnIteration(RankReductionIteration):
    """A user's iteration class."""


@pytest.mark.parametrize(
    ("generator", "shown"),
    [
        (HyperBandIterGenerator(1 / 9, 1, 3, promotion="async"), "promotion='async')"),
        (HyperBandIterGenerator(1 / 9, 1, 3, iter_klass=_OwnIteration), "iter_klass=_OwnIteration)"),
        (CustomIterGenerator([3, 1], [1, 3], iter_klass=_OwnIteration), "iter_klass=_OwnIteration)"),
    ],
)
def test_repr_says_which_iterations_run(generator, shown):
    assert repr(generator).endswith(shown)


def test_an_eta_that_leaves_one_budget_is_warned_about(caplog):
    with caplog.at_level(logging.WARNING, logger="ultraopt.multi_fidelity"):
        HyperBandIterGenerator(1 / 9, 1, eta=10)  # 1/10 is below min_budget: only max_budget is left
        HyperBandIterGenerator(1, 1, eta=3)  # a single budget on purpose
        HyperBandIterGenerator(1 / 9, 1, eta=3)
    assert [record.getMessage() for record in caplog.records] == [
        "eta=10 is more than max_budget / min_budget (1 / 1/9): every trial runs on max_budget, nothing is stopped "
        "early"]


def test_custom_budgets_equal_up_to_float_rounding_are_one_budget():
    generator = CustomIterGenerator([[9, 3], [4, 4], [2]], [[1 / 3, 1], [0.333333333333, 2], [1.0000000000001]])
    assert generator.get_budgets() == [1 / 3, 1.0, 2.0]
    assert generator.get_next_iteration(1).budgets == [1 / 3, 2.0]
