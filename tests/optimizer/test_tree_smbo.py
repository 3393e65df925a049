"""Forest and GBRT: the shared SMAC-style loop, checked on both surrogates."""

import numpy as np
import pytest
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    UniformFloatHyperparameter,
)

from tests.conftest import count_model_proposals, quadratic
from ultraopt.facade.registry import make_optimizer
from ultraopt.hdl.configs import check_config, config_key
from ultraopt.optimizer import ForestOptimizer, GBRTOptimizer, RandomOptimizer

FAST = {"n_random_candidates": 200, "n_local_starts": 4, "local_search_steps": 5}


def _forest(**kw):
    return ForestOptimizer(n_estimators=10, **{**FAST, **kw})


def _gbrt(**kw):
    return GBRTOptimizer(n_estimators=20, **{**FAST, **kw})


def _forest_by_index(**kw):
    return _forest(categorical="index", **kw)


OPTIMIZERS = [
    pytest.param(_forest, id="forest"),
    pytest.param(_forest_by_index, id="forest-index"),
    pytest.param(_gbrt, id="gbrt"),
]


def _run(opt, objective, n, budget=None):
    for _ in range(n):
        config, _ = opt.ask(budget)
        opt.tell(config, objective(config), budget)


def test_both_are_registered_under_their_names():
    assert isinstance(make_optimizer("Forest"), ForestOptimizer)
    assert isinstance(make_optimizer("gbrt"), GBRTOptimizer)


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_initial_design_then_model_with_interleaved_random(make, quadratic_space):
    opt = make(n_initial=5, random_fraction=0.25)
    opt.initialize(quadratic_space, random_state=0)
    origins = []
    for _ in range(13):
        config, info = opt.ask()
        origins.append(info["origin"])
        opt.tell(config, quadratic(config))
    assert origins[:5] == ["initial design"] * 5
    assert origins[5:] == ["model", "model", "model", "random"] * 2


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_a_wide_space_leaves_most_of_a_short_run_to_the_model(make):
    # n_hyperparameters + 1 initial configs made a 200-float run of 150 trials pure random search.
    space = ConfigurationSpace({f"x{i}": (0.0, 1.0) for i in range(200)})
    opt = make()
    opt.initialize(space, random_state=0)
    assert opt.n_initial_ == 25
    small = make()
    small.initialize(ConfigurationSpace({"x": (0.0, 1.0), "y": (0.0, 1.0)}), random_state=0)
    assert small.n_initial_ == 8


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_proposals_are_legal_on_a_conditional_space(make, conditional_space):
    opt = make(n_initial=4)
    opt.initialize(conditional_space, random_state=1)

    def objective(config):
        return np.log10(config["C"]) ** 2 if config["model"] == "svm" else config["depth"] / 3

    for _ in range(16):
        config, info = opt.ask()
        assert check_config(conditional_space, config) == config
        opt.tell(config, objective(config))


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_a_space_whose_forbidden_clauses_reject_every_random_candidate_gets_model_proposals(
    make, nearly_all_forbidden_space
):
    # the random candidates of the acquisition are all rejected, and the model must search around the legal
    # configs it observed
    assert count_model_proposals(make(n_initial=4, random_fraction=0.0), nearly_all_forbidden_space, 10) >= 5


def test_the_forest_orders_the_categorical_columns_by_loss(conditional_space):
    opt = _forest(categorical="ordered")
    opt.initialize(conditional_space, random_state=0)
    names = [dim.name for dim in opt.encoder.dimensions]
    assert opt._make_surrogate().categories == {names.index("model"): 2}
    by_index = _forest(categorical="index")
    by_index.initialize(conditional_space, random_state=0)
    assert by_index._make_surrogate().categories == {}
    with pytest.raises(ValueError, match="categorical"):
        ForestOptimizer(categorical="one_hot")


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_the_sobol_design_tries_every_choice_first(make):
    space = ConfigurationSpace()
    space.add([CategoricalHyperparameter("c", [f"v{i}" for i in range(4)]), UniformFloatHyperparameter("x", 0, 1)])
    opt = make(n_initial=8, initial_design="sobol")
    opt.initialize(space, random_state=2)
    first = []
    for _ in range(8):
        config, info = opt.ask()
        assert info["origin"] == "initial design"
        first.append(config["c"])
        opt.tell(config, config["x"])
    assert sorted(first) == sorted([f"v{i}" for i in range(4)] * 2)
    assert opt.ask()[1]["origin"] != "initial design"
    with pytest.raises(ValueError, match="initial_design"):
        make(initial_design="lhs")


@pytest.mark.parametrize(
    ("cls", "setting", "value", "what"),
    [
        (GBRTOptimizer, "n_estimators", 0, "a positive int"),
        (GBRTOptimizer, "n_estimators", 2.5, "a positive int"),
        (GBRTOptimizer, "learning_rate", 0.0, "a positive number"),
        (GBRTOptimizer, "learning_rate", "0.1", "a positive number"),
        (GBRTOptimizer, "max_depth", 0, "a positive int"),
        (GBRTOptimizer, "max_depth", True, "a positive int"),
        (ForestOptimizer, "n_estimators", 0, "a positive int"),
        (ForestOptimizer, "max_features", 2.0, r"a fraction in \(0, 1\]"),
        (ForestOptimizer, "max_features", 0, r"a fraction in \(0, 1\]"),
        (ForestOptimizer, "min_samples_leaf", 0, "a positive int"),
        (ForestOptimizer, "min_samples_split", 1, "an int of at least 2"),
        (ForestOptimizer, "bootstrap", "yes", "a bool or None"),
        (ForestOptimizer, "n_random_candidates", 0, "a positive int"),
        (GBRTOptimizer, "n_local_starts", 0, "a positive int"),
        (GBRTOptimizer, "local_search_steps", 0, "a positive int"),
        (GBRTOptimizer, "local_search_min_step", 0.0, "None or a positive number"),
        (GBRTOptimizer, "n_initial", 2.5, "a positive int or None"),
        (GBRTOptimizer, "random_fraction", 1.0, r"a number in \[0, 1\)"),
        (GBRTOptimizer, "xi", float("nan"), "a finite number"),
    ],
)
def test_bad_settings_fail_at_construction_naming_the_setting(cls, setting, value, what):
    # not at the first model proposal, after the initial design ran, in scikit-learn's words (max_iter)
    with pytest.raises(ValueError, match=rf"^{setting} must be {what}, got {value!r}$"):
        cls(**{setting: value})


def test_the_forest_reads_max_features_1_as_every_column(quadratic_space):
    opt = _forest(max_features=1)
    opt.initialize(quadratic_space, random_state=0)
    assert opt._make_surrogate().max_features == 1.0 and isinstance(opt._make_surrogate().max_features, float)


def test_the_forest_starts_from_a_sobol_design_by_default():
    assert ForestOptimizer().initial_design == "sobol"
    assert GBRTOptimizer().initial_design == "random"


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_same_seed_same_proposals(make, conditional_space):
    def proposals(seed):
        opt = make(n_initial=4)
        opt.initialize(conditional_space, random_state=seed)
        found = []
        for index in range(10):
            config, _ = opt.ask()
            found.append(config)
            opt.tell(config, float(index % 3) if config["model"] == "tree" else 1.0 + len(found))
        return found

    assert proposals(3) == proposals(3)
    assert proposals(3) != proposals(4)


@pytest.mark.parametrize("pending", ["kriging_believer", "constant_liar"])
@pytest.mark.parametrize("make", OPTIMIZERS)
def test_batches_and_parallel_asks_are_distinct(make, pending, quadratic_space):
    opt = make(n_initial=6, random_fraction=0.0, pending=pending)
    opt.initialize(quadratic_space, random_state=2)
    _run(opt, quadratic, 8)
    batch = opt.ask(n_points=6)
    assert [info["origin"] for _, info in batch] == ["model"] * 6
    keys = {config_key(config) for config, _ in batch}
    assert len(keys) == 6
    more = opt.ask()  # while the batch is pending
    assert config_key(more[0]) not in keys
    # Pending points push later proposals away from them, not merely off the exact same config.
    xs = np.array([config["x"] for config, _ in batch if config["c"] == "a"])
    if len(xs) > 1:
        assert np.ptp(xs) > 1e-3


def test_the_model_of_the_largest_budget_with_enough_results_is_used(quadratic_space):
    opt = ForestOptimizer(n_initial=4, random_fraction=0.0, **FAST)
    opt.initialize(quadratic_space, budgets=[1, 3, 9], random_state=0)
    _run(opt, quadratic, 4, budget=1)
    _run(opt, quadratic, 3, budget=3)
    config, info = opt.ask(budget=9)
    assert info == {**info, "origin": "model", "model_budget": 1.0}
    opt.tell(config, quadratic(config), budget=3)
    assert opt.ask(budget=9)[1]["model_budget"] == 3.0


def test_failures_are_modelled_as_the_worst_loss(quadratic_space):
    opt = ForestOptimizer(n_initial=4, random_fraction=0.0, **FAST)
    opt.initialize(quadratic_space, random_state=0)

    def objective(config):  # fails on the right half
        return float("inf") if config["x"] > 0 else quadratic(config)

    for _ in range(24):
        config, _ = opt.ask()
        opt.tell(config, objective(config))
    configs, losses = opt.observations[1.0].configs, opt.observations[1.0].loss_array()
    assert np.isinf(losses).any()
    surrogate, transform = opt._fit(1.0)
    failed = ~np.isfinite(losses)
    np.testing.assert_allclose(transform.targets[failed], transform.targets[~failed].max())
    mean, _ = surrogate.predict(opt.encoder.encode_many([c for c, f in zip(configs, failed) if f]))
    assert mean.mean() > np.median(transform.targets)  # the model learned that the right half is bad
    assert np.mean([config["x"] <= 0 for config in configs[4:]]) > 0.5


@pytest.mark.parametrize(
    ("make", "factor", "n_trials", "n_seeds"),
    # GBRT with the fast settings of the other tests stays near random search at 30 trials on two seeds of
    # five: its own defaults are what the slow check is about. The forest's check needs 7 seeds: over 3, random
    # search's median alone moved by 4x, and a forest of scikit-learn 1.3 missed the bar by 1%.
    [(_forest, 3.0, 60, 7), pytest.param(GBRTOptimizer, 2.0, 40, 5, marks=pytest.mark.slow)],
    ids=["forest", "gbrt"],
)
def test_beats_random_search_on_a_quadratic(make, factor, n_trials, n_seeds):
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter(f"x{i}", -5, 5) for i in range(3)])

    def sphere(config):
        return sum((value - 1.0) ** 2 for value in config.values())

    def best(opt, seed):
        opt.initialize(space, random_state=seed)
        _run(opt, sphere, n_trials)
        return min(opt.observations[1.0].losses)

    model = np.median([best(make(), seed) for seed in range(n_seeds)])
    random = np.median([best(RandomOptimizer(), seed) for seed in range(n_seeds)])
    assert model < random / factor


class _FixedSpread:
    """A stand-in surrogate: left half of x slightly better but certain, right half worse but uncertain."""

    def fit(self, matrix, targets, seed=0):
        self.best = float(np.min(targets))
        return self

    def predict(self, matrix):
        right = matrix[:, 0] >= 0.5
        mean = self.best + np.where(right, 0.4, 0.2)
        return mean, np.where(right, 1.0, 0.05)


@pytest.mark.parametrize("acquisition", ["ei", "log_ei"])
def test_the_optimizer_compares_the_model_with_the_transformed_incumbent(acquisition):
    """Fails if raw and transformed losses are mixed.

    The losses are in the hundreds; the model predicts on the log scale. Against the transformed incumbent the
    uncertain right half has the higher EI. Against the raw best loss (100) every candidate improves by about
    100 - mean and EI would rank by mean: the left half.
    """

    class Stubbed(ForestOptimizer):
        def _make_surrogate(self):
            return _FixedSpread()

    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter("x", 0, 1)])
    opt = Stubbed(n_initial=4, random_fraction=0.0, acquisition=acquisition, **FAST)
    opt.initialize(space, random_state=0)
    for loss in (100.0, 150.0, 300.0, 1000.0):
        opt.tell(opt.ask()[0], loss)
    proposals = [opt.ask()[0]["x"] for _ in range(5)]
    assert all(x >= 0.5 for x in proposals)


@pytest.mark.parametrize("name", ["Forest", "GBRT"])
def test_fmin_runs_them_by_name_with_hyperband_budgets(name, quadratic_space):
    from ultraopt import fmin
    from ultraopt.multi_fidelity import CustomIterGenerator

    seen_budgets = []

    def objective(config, budget):
        seen_budgets.append(budget)
        return quadratic(config) / budget

    result = fmin(
        objective, quadratic_space, optimizer=name, n_iterations=2, show_progressbar=False, random_state=0,
        multi_fidelity_iter_generator=CustomIterGenerator([10, 3], [1, 3]),
    )
    assert len(result.trials) == 26 and set(seen_budgets) == {1.0, 3.0}
