import re

import numpy as np
import pytest
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    EqualsCondition,
    ForbiddenAndConjunction,
    ForbiddenEqualsClause,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

from tests.conftest import count_model_proposals
from ultraopt import fmin
from ultraopt.hdl.configs import check_config, config_key
from ultraopt.optimizer import ETPEOptimizer, RandomOptimizer, TPEOptimizer

OPTIMIZERS = [ETPEOptimizer, TPEOptimizer]


@pytest.fixture
def cash_space():
    cs = ConfigurationSpace()
    model = CategoricalHyperparameter("model", ["svm", "tree", "knn"])
    kernel = CategoricalHyperparameter("kernel", ["rbf", "linear"])
    c = UniformFloatHyperparameter("C", 1e-3, 1e3, log=True)
    gamma = UniformFloatHyperparameter("gamma", 1e-4, 1.0, log=True)
    depth = UniformIntegerHyperparameter("depth", 1, 10)
    width = UniformFloatHyperparameter("width", 0.0, 1.0, meta={"q": 0.1})
    order = OrdinalHyperparameter("order", [1, 2, 4, 8])
    cs.add([model, kernel, c, gamma, depth, width, order])
    cs.add([
        EqualsCondition(kernel, model, "svm"),
        EqualsCondition(c, model, "svm"),
        EqualsCondition(gamma, kernel, "rbf"),
        EqualsCondition(depth, model, "tree"),
    ])
    cs.add(ForbiddenAndConjunction(ForbiddenEqualsClause(model, "knn"), ForbiddenEqualsClause(order, 8)))
    return cs


def _cash_loss(config):
    loss = {"svm": 0.0, "tree": 0.5, "knn": 1.0}[config["model"]] + abs(config["width"] - 0.3)
    if "C" in config:
        loss += (np.log10(config["C"]) - 1) ** 2 / 10
    return loss + 0.1 * config["order"]


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_proposals_are_legal_configs(cls, cash_space):
    opt = cls()
    opt.initialize(cash_space, random_state=0)
    origins = set()
    for _ in range(60):
        config, info = opt.ask()
        origins.add(info["origin"])
        assert check_config(cash_space, config) == config  # conditions, grids and forbidden clauses hold
        assert not (config["model"] == "knn" and config["order"] == 8)
        opt.tell(config, _cash_loss(config))
    assert "model" in origins and "initial design" in origins


def test_a_space_that_forbids_nearly_everything_still_gets_model_proposals(nearly_all_forbidden_space):
    # few candidates drawn around the good points pass the forbidden clauses, which must neither hand the run to
    # random search nor widen the kernels
    assert count_model_proposals(ETPEOptimizer(), nearly_all_forbidden_space, 40) >= 22


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_batch_ask_returns_distinct_configs_never_told_before(cls, cash_space):
    opt = cls()
    opt.initialize(cash_space, random_state=1)
    told = set()
    for config, _ in opt.ask(n_points=15):
        opt.tell(config, _cash_loss(config))
        told.add(config_key(config))
    batch = opt.ask(n_points=8)
    keys = {config_key(config) for config, _ in batch}
    assert len(keys) == 8 and keys.isdisjoint(told)
    assert all(info["origin"] in ("model", "random") for _, info in batch)


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_same_seed_same_proposals(cls, cash_space):
    def run(seed):
        opt = cls()
        opt.initialize(cash_space, random_state=seed)
        proposals = []
        for _ in range(30):
            config, _ = opt.ask()
            opt.tell(config, _cash_loss(config))
            proposals.append(config)
        proposals.extend(config for config, _ in opt.ask(n_points=4))
        return proposals

    assert run(3) == run(3)
    assert run(3) != run(4)


def _concentration(cls, seed):
    space = ConfigurationSpace()
    space.add(UniformFloatHyperparameter("x", -5, 5))
    opt = cls()
    opt.initialize(space, random_state=seed)
    xs = []
    for _ in range(50):
        config, _ = opt.ask()
        opt.tell(config, (config["x"] - 1) ** 2)
        xs.append(config["x"])
    return np.mean(np.abs(np.array(xs[-20:]) - 1) < 1.0)


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_proposals_concentrate_near_the_optimum_of_a_quadratic(cls):
    shares = [_concentration(cls, seed) for seed in range(3)]
    random_shares = [_concentration(RandomOptimizer, seed) for seed in range(3)]
    assert np.mean(shares) >= 0.65  # most of the last 20 proposals within 1 of the optimum (10% of the range)
    assert np.mean(random_shares) < 0.35  # random search puts about 20% there


def test_initial_design_covers_every_choice_of_top_level_categoricals():
    space = ConfigurationSpace()
    space.add([CategoricalHyperparameter("c", [f"v{i}" for i in range(14)]), UniformFloatHyperparameter("x", 0, 1)])
    opt = ETPEOptimizer(n_startup_trials=5)
    opt.initialize(space, random_state=0)
    design = [opt.ask() for _ in range(14)]
    assert {config["c"] for config, _ in design} == {f"v{i}" for i in range(14)}
    assert {info["origin"] for _, info in design} == {"initial design"}


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_a_categorical_of_many_choices_does_not_make_the_design_huge(cls):
    space = ConfigurationSpace()
    space.add([CategoricalHyperparameter("c", [f"v{i}" for i in range(200)]), UniformFloatHyperparameter("x", 0, 1)])
    opt = cls(n_startup_trials=10)
    opt.initialize(space, random_state=0)
    origins = []
    for _ in range(40):
        config, info = opt.ask()
        origins.append(info["origin"])
        opt.tell(config, config["x"])
    assert origins.count("initial design") == 30  # 3 * n_startup_trials, not 200
    assert "model" in origins[30:]


@pytest.mark.parametrize("cls", OPTIMIZERS)
@pytest.mark.parametrize(("n_earlier", "n_design_left"), [(10, 0), (30, 0), (6, 4)])
def test_results_told_before_the_first_ask_replace_the_initial_design(cls, n_earlier, n_design_left):
    # a warm start or a resumed run: earlier results take the design's place, as many as there are
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter("x", -5, 5), CategoricalHyperparameter("c", ["a", "b", "c"])])
    opt = cls(n_startup_trials=10)
    opt.initialize(space, random_state=0)
    earlier = RandomOptimizer()
    earlier.initialize(space, random_state=1)
    for config in earlier.sample_random(n_earlier):
        opt.tell(config, (config["x"] - 1) ** 2)
    origins = []
    for _ in range(8):
        config, info = opt.ask()
        opt.tell(config, (config["x"] - 1) ** 2)
        origins.append(info["origin"])
    assert origins[:n_design_left] == ["initial design"] * n_design_left
    assert "initial design" not in origins[n_design_left:]


def test_many_choice_categorical_is_embedded_into_fewer_dimensions():
    space = ConfigurationSpace()
    space.add([CategoricalHyperparameter("c", [f"v{i}" for i in range(20)]), UniformFloatHyperparameter("x", 0, 1)])
    opt = ETPEOptimizer()
    opt.initialize(space, random_state=0)
    for _ in range(50):
        config, _ = opt.ask()
        opt.tell(config, int(config["c"][1:]) % 5 + config["x"])
    history = opt._history[1.0]
    embeddings = opt._embeddings(history["cat"], history["loss"], 5)
    assert set(embeddings) == {0}
    assert 1 <= embeddings[0].shape[1] <= 3 < 20 == embeddings[0].shape[0]


def test_model_of_the_largest_budget_with_enough_observations_proposes(quadratic_space):
    opt = ETPEOptimizer(n_startup_trials=4)
    opt.initialize(quadratic_space, budgets=[1, 3, 9], random_state=0)
    for config, _ in opt.ask(budget=1, n_points=8):
        opt.tell(config, config["x"] ** 2, budget=1)
    for config, _ in opt.ask(budget=3, n_points=3):
        opt.tell(config, config["x"] ** 2, budget=3)
    assert opt.ask(budget=9)[1] == {"origin": "model", "model_budget": 1.0} or opt._model_budget() == 1.0
    config, _ = opt.ask(budget=3)
    opt.tell(config, config["x"] ** 2, budget=3)
    assert opt._model_budget() == 3.0


def test_a_small_discrete_space_is_exhausted_without_repeats(small_discrete_space):
    opt = ETPEOptimizer(n_startup_trials=3)
    opt.initialize(small_discrete_space, random_state=0)
    seen = set()
    for _ in range(12):
        config, info = opt.ask()
        assert config_key(config) not in seen and not info.get("duplicate")
        seen.add(config_key(config))
        opt.tell(config, float(config["b"]))


def test_failures_and_pending_points_are_handled(quadratic_space):
    opt = ETPEOptimizer(n_startup_trials=3)
    opt.initialize(quadratic_space, random_state=0)
    for i, (config, _) in enumerate(opt.ask(n_points=10)):
        opt.tell(config, None if i % 3 == 0 else config["x"] ** 2)
    pending = opt.ask(n_points=5)
    assert len(opt.pending_configs) == 5
    assert len({config_key(c) for c, _ in pending}) == 5


def test_fmin_uses_etpe_by_default(quadratic_space):
    result = fmin(lambda c: (c["x"] - 1) ** 2 + (c["c"] == "b"), quadratic_space, n_iterations=40,
                  show_progressbar=False, random_state=0)
    assert result.meta["optimizer"] == "ETPE"
    assert min(trial.loss for trial in result.trials) < 0.05


@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_a_share_of_model_proposals_comes_from_the_independent_tpe(fraction):
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter(f"x{i}", -1, 1) for i in range(3)])
    opt = ETPEOptimizer(independent_fraction=fraction, random_fraction=0.0)
    opt.initialize(space, random_state=0)
    models = []
    for _ in range(70):
        config, info = opt.ask()
        opt.tell(config, sum(value**2 for value in config.values()))
        if info["origin"] == "model":
            models.append(info["model"])
    share = models.count("independent") / len(models)
    assert len(models) == 60 and set(models) <= {"joint", "independent"}
    assert abs(share - fraction) <= 0.2


def test_independent_fraction_outside_the_unit_interval_is_refused():
    with pytest.raises(ValueError, match="independent_fraction"):
        ETPEOptimizer(independent_fraction=1.5)


def test_tpe_proposals_say_they_come_from_the_independent_model(quadratic_space):
    opt = TPEOptimizer(n_startup_trials=3)
    opt.initialize(quadratic_space, random_state=0)
    infos = []
    for _ in range(8):
        config, info = opt.ask()
        opt.tell(config, (config["x"] - 1) ** 2)
        infos.append(info)
    assert {info.get("model") for info in infos if info["origin"] == "model"} == {"independent"}


def test_adaptive_share_follows_the_model_whose_proposals_turn_out_good():
    space = ConfigurationSpace()
    space.add([UniformFloatHyperparameter(f"x{i}", -1, 1) for i in range(3)])
    shares = {}
    for favoured in ("independent", "joint"):
        opt = ETPEOptimizer(random_fraction=0.0)
        opt.initialize(space, random_state=0)
        for step in range(80):
            config, info = opt.ask()
            # the favoured model's proposals get the best losses seen so far, the other's the worst
            opt.tell(config, -step if info.get("model") == favoured else 1000 + step)
        shares[favoured] = opt._independent_share()
    assert shares["independent"] >= 0.8 and shares["joint"] <= 0.2


@pytest.mark.parametrize("cls", [ETPEOptimizer, TPEOptimizer])
@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"gamma": 0.25}, "gamma must be a callable"),  # Hyperopt's float gamma
        ({"gamma": lambda n: 0.25 * n}, "gamma(n_successes) must return an int (the number of good observations), "
                                        "but gamma(10) returned 2.5"),
        ({"bandwidth": "Scott"}, "bandwidth must be one of"),
        ({"max_kernels": 0}, "max_kernels must be a positive int"),
        ({"prior_weight": -1}, "prior_weight must be a non-negative number"),
        ({"n_candidates": 0}, "n_candidates must be a positive int"),
        ({"random_fraction": 2.0}, "random_fraction must be a number in [0, 1]"),
        ({"n_startup_trials": -3}, "n_startup_trials must be a non-negative int"),
        ({"embedding_dims": 0}, "embedding_dims must be a positive int"),
        ({"independent_fraction": 1.5}, "independent_fraction must be in [0, 1] or 'adaptive'"),
        ({"group_champion_trials": -1}, "group_champion_trials must be a non-negative number"),
    ],
)
def test_bad_settings_are_refused_by_the_constructor(cls, setting, message):
    # not at the first model proposal, after the initial design ran
    with pytest.raises(ValueError, match=re.escape(message)):
        cls(**setting)


def _decoy_space():
    cs = ConfigurationSpace()
    model = CategoricalHyperparameter("model", ["decoy", "best"])
    x = UniformFloatHyperparameter("x", 0.0, 1.0)
    y = UniformFloatHyperparameter("y", 0.0, 1.0)
    cs.add([model, x, y])
    cs.add([EqualsCondition(x, model, "decoy"), EqualsCondition(y, model, "best")])
    return cs


def _decoy_loss(config):
    # the decoy branch is good everywhere; the best one is poor except near y = 0.8, where it wins
    if config["model"] == "decoy":
        return 0.2 + 0.2 * abs(config["x"] - 0.5)
    return 0.1 + 3 * abs(config["y"] - 0.8)


def _tell_decoy_history(opt):
    for x in np.random.default_rng(0).uniform(0.0, 1.0, 40):
        opt.tell({"model": "decoy", "x": float(x)}, _decoy_loss({"model": "decoy", "x": x}))
    for y in (0.05, 0.2, 0.35, 0.5):  # the best branch's first points happened to be poor
        opt.tell({"model": "best", "y": y}, _decoy_loss({"model": "best", "y": y}))


def test_a_branch_without_good_points_keeps_its_best_point_in_the_good_density():
    opt = ETPEOptimizer(group_champion_trials=2)
    opt.initialize(_decoy_space(), random_state=0)
    _tell_decoy_history(opt)
    good, _ = opt._fit(1.0)
    champions = good.weights == 0.5  # 2 / the 4 observations of its branch
    assert champions.sum() == 1 and (good.weights[~champions] == 1.0).all()
    champion = opt.encoder.decode(opt.kernel_space.join(good.num[champions], good.cat[champions])[0])
    assert champion["model"] == "best" and champion["y"] == pytest.approx(0.5)

    plain = ETPEOptimizer(group_champion_trials=0)
    plain.initialize(_decoy_space(), random_state=0)
    _tell_decoy_history(plain)
    good, _ = plain._fit(1.0)
    assert len(good.weights) == 5 and (good.weights == 1.0).all()  # gamma(44) decoy points only


def test_a_branch_whose_first_points_were_poor_is_still_refined():
    def proposals_in_best_branch(champion_trials):
        n = 0
        for seed in range(5):
            opt = ETPEOptimizer(group_champion_trials=champion_trials)
            opt.initialize(_decoy_space(), random_state=seed)
            _tell_decoy_history(opt)
            for _ in range(40):
                config, _info = opt.ask()
                n += config["model"] == "best"
                opt.tell(config, _decoy_loss(config))
        return n

    # without the champion, the best branch only gets the random share of proposals
    assert proposals_in_best_branch(5) >= 2 * proposals_in_best_branch(0)
