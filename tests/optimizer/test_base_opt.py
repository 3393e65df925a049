import numpy as np
import pytest

from ultraopt.hdl import hdl2cs
from ultraopt.hdl.configs import branch_is_infinite, branches, config_key, sample_branch
from ultraopt.optimizer import ETPEOptimizer, ForestOptimizer, GBRTOptimizer, RandomOptimizer, TPEOptimizer
from ultraopt.optimizer.base_opt import BaseOptimizer


def test_random_never_repeats_until_a_small_space_is_exhausted(small_discrete_space):
    opt = RandomOptimizer()
    opt.initialize(small_discrete_space, random_state=0)
    seen = set()
    for _ in range(12):
        config, info = opt.ask()
        assert config_key(config) not in seen
        assert not info.get("duplicate")
        seen.add(config_key(config))
        opt.tell(config, 0.0)
    config, info = opt.ask()  # the space is exhausted now
    assert info["duplicate"] is True and config_key(config) in seen


def _nested_choices(levels):
    """Only the all-"L" path, behind ``levels`` nested choices, reaches a float: 1 / 3**levels of uniform draws."""
    if levels == 0:
        return {"leaf": {"_type": "uniform", "_value": [0, 1]}}
    alternatives = {"L": _nested_choices(levels - 1), "R": {"r": {"_type": "int_uniform", "_value": [1, 3]}}, "E": {}}
    return {f"c{levels}(choice)": alternatives}


@pytest.mark.parametrize("cls", [RandomOptimizer, ETPEOptimizer])
def test_new_configs_are_found_behind_rarely_drawn_nested_choices(cls):
    # The space is infinite, but its 13 configs outside the float's branch soak up 728/729 of uniform draws:
    # known configs were proposed again as if the space were exhausted.
    space = hdl2cs(_nested_choices(6))
    opt = cls()
    opt.initialize(space, random_state=0)
    keys = set()
    for _ in range(60):
        config, info = opt.ask()
        assert not info.get("duplicate")
        keys.add(config_key(config))
        opt.tell(config, float(len(config)))
    assert len(keys) == 60


def test_branches_of_a_conditional_space():
    space = hdl2cs(_nested_choices(2))
    top, inner = "c2:__choice__", "c2:L:c1:__choice__"
    assert branches(space) == [{top: "L", inner: "L"}, {top: "L", inner: "R"}, {top: "L", inner: "E"}, {top: "R"},
                               {top: "E"}]
    leaves = sample_branch(space, {top: "L", inner: "L"}, 5, np.random.default_rng(0))
    assert len(leaves) == 5 and all(len(config) == 3 and config[inner] == "L" for config in leaves)
    assert branch_is_infinite(space, {top: "L", inner: "L"})  # the float leaf
    assert not branch_is_infinite(space, {top: "R"}) and not branch_is_infinite(space, {top: "L", inner: "E"})
    assert branches(hdl2cs({"x": {"_type": "uniform", "_value": [0, 1]}})) == [{}]


def test_batch_ask_is_distinct_and_pending_aware(small_discrete_space):
    opt = RandomOptimizer()
    opt.initialize(small_discrete_space, random_state=1)
    batch = opt.ask(n_points=8)
    assert len({config_key(c) for c, _ in batch}) == 8
    assert len(opt.pending_configs) == 8
    more = opt.ask(n_points=4)  # nothing told yet: the other 4 configs, not a pending one
    assert {config_key(c) for c, _ in batch}.isdisjoint(config_key(c) for c, _ in more)
    opt.tell(batch[0][0], 1.0)
    opt.forget(batch[1][0])
    assert len(opt.pending_configs) == 10


def test_same_seed_same_proposals(conditional_space):
    def proposals(seed):
        opt = RandomOptimizer()
        opt.initialize(conditional_space, random_state=seed)
        return [opt.ask()[0] for _ in range(20)]

    assert proposals(5) == proposals(5)
    assert proposals(5) != proposals(6)


def test_initial_points_come_first_and_are_validated(conditional_space):
    opt = RandomOptimizer()
    points = [{"model": "tree", "depth": 3}, {"model": "svm", "C": 1.0}]
    opt.initialize(conditional_space, initial_points=points)
    asked = [opt.ask() for _ in range(3)]
    assert [c for c, _ in asked[:2]] == points
    assert [i["origin"] for _, i in asked] == ["user", "user", "random"]
    with pytest.raises(ValueError, match="initial_points\\[1\\].*depth"):
        opt.initialize(conditional_space, initial_points=[points[0], {"model": "tree", "depth": 99}])
    with pytest.raises(ValueError, match="initial_points\\[0\\]"):
        opt.initialize(conditional_space, initial_points=[{"model": "svm", "depth": 3}])
    for not_a_list in (points[0], 3, "model=tree", [points[0], 3]):
        with pytest.raises(ValueError, match="initial_points must be a list of configs"):
            opt.initialize(conditional_space, initial_points=not_a_list)


def test_initial_points_may_be_a_generator(conditional_space):
    points = [{"model": "tree", "depth": 3}, {"model": "svm", "C": 1.0}]
    opt = RandomOptimizer()
    opt.initialize(conditional_space, initial_points=(point for point in points))  # checking must not use it up
    assert [config for config, _ in opt.ask(n_points=2)] == points


def test_a_repeated_initial_point_is_named_in_a_warning(conditional_space, caplog):
    opt = RandomOptimizer()
    point = {"model": "tree", "depth": 3}
    opt.initialize(conditional_space, initial_points=[point, {"model": "svm", "C": 1.0}, dict(point)])
    assert "initial_points[2] repeats initial_points[0]" in caplog.text
    assert [info["origin"] for _, info in opt.ask(n_points=3)] == ["user", "user", "random"]


def test_initial_points_a_resumed_journal_holds_are_not_proposed_again(conditional_space):
    points = [{"model": "tree", "depth": depth} for depth in range(1, 6)]
    opt = RandomOptimizer()
    opt.initialize(conditional_space, initial_points=points)
    for point in (points[0], points[3], points[1]):  # the journal of the interrupted run, in any order
        opt.mark_pending(point)
    asked = [opt.ask() for _ in range(3)]
    assert [config for config, _ in asked[:2]] == [points[2], points[4]]
    assert [info["origin"] for _, info in asked] == ["user", "user", "random"]


def test_observations_are_kept_per_budget_and_failures_rank_last(quadratic_space):
    opt = RandomOptimizer()
    opt.initialize(quadratic_space, budgets=[1, 3, 9])
    config, _ = opt.ask(budget=1)
    opt.tell(config, 0.5, budget=1)
    opt.tell(config, None, budget=3)
    opt.tell(config, float("nan"), budget=9)
    assert opt.observations[1.0].losses == [0.5]
    assert opt.observations[3.0].losses == [float("inf")] and opt.observations[3.0].n_successes == 0
    assert len(opt.observations[9.0]) == 1


def test_ask_before_initialize_is_a_clear_error():
    with pytest.raises(RuntimeError, match="initialize"):
        RandomOptimizer().ask()


def test_proposals_respect_conditions(conditional_space):
    opt = RandomOptimizer()
    opt.initialize(conditional_space, random_state=3)
    for config, _ in opt.ask(n_points=200):
        assert ("C" in config) == (config["model"] == "svm")
        assert ("depth" in config) == (config["model"] == "tree")
        if "C" in config:
            assert 1e-3 <= config["C"] <= 1e3 and isinstance(config["C"], float)
        else:
            assert isinstance(config["depth"], int)


ALL_OPTIMIZERS = ["ETPEOptimizer", "TPEOptimizer", "ForestOptimizer", "GBRTOptimizer", "RandomOptimizer"]


def make_optimizer(name, space, seed=0):
    import ultraopt.optimizer as optimizers

    opt = getattr(optimizers, name)()
    opt.initialize(space, random_state=seed)
    return opt


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_proposals_keep_the_type_of_each_option_of_a_mixed_number_choice(name):
    space = hdl2cs({"min_samples_split": {"_type": "choice", "_value": [2, 0.1, 0.25]},
                    "max_features": {"_type": "ordinal", "_value": [1, 0.5, 0.25]},
                    "x": {"_type": "uniform", "_value": [0, 1]}})
    opt = make_optimizer(name, space)
    written = {(int, 2), (float, 0.1), (float, 0.25), (int, 1), (float, 0.5)}
    for _ in range(25):  # the initial design, then model (or random) proposals
        config, _ = opt.ask()
        assert {(type(config[n]), config[n]) for n in ("min_samples_split", "max_features")} <= written, config
        opt.tell(config, config["x"] + config["min_samples_split"])


class _Proposes(BaseOptimizer):
    """A user's optimizer that proposes what it is given."""

    proposal = None

    def _propose(self, budget):
        return self.proposal


@pytest.mark.parametrize("proposal, error, words", [
    (({"x": 9.0, "c": "a"}, {}), ValueError, "_Proposes._propose: config: value 9.0 of hyperparameter 'x'"),
    (({"x": 0.5, "c": "a", "nope": 1}, {}), ValueError, r"unknown hyperparameter\(s\) \['nope'\]"),
    ({"x": 0.5, "c": "a"}, TypeError, r"must return a \(config, info\) pair of dicts"),
])
def test_an_illegal_proposal_of_a_users_optimizer_is_refused_naming_the_fault(quadratic_space, proposal, error,
                                                                              words):
    # it reached the objective and the journal, whose resume then refused it
    opt = _Proposes()
    opt.initialize(quadratic_space, random_state=0)
    opt.proposal = proposal
    with pytest.raises(error, match=words):
        opt.ask()
    assert opt.pending_configs == []
    opt.proposal = ({"x": 0.5, "c": "a"}, {"origin": "mine"})
    assert opt.ask() == ({"x": 0.5, "c": "a"}, {"origin": "mine"})


def test_a_users_optimizer_is_named_after_its_class(quadratic_space):
    class Tuned(ETPEOptimizer):
        pass

    assert _Proposes.name == "_Proposes" and Tuned.name == "Tuned"  # not "Base", nor its parent's "ETPE"
    assert ETPEOptimizer.name == "ETPE" and RandomOptimizer.name == "Random"


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_a_rejected_tell_changes_nothing(name, quadratic_space):
    opt = make_optimizer(name, quadratic_space)
    with pytest.raises(ValueError, match="'x'"):
        opt.tell({"x": 99.0, "c": "a"}, 0.1)  # outside the domain
    with pytest.raises(ValueError, match="unknown"):
        opt.tell({"x": 0.5, "c": "a", "nope": 1}, 0.1)
    with pytest.raises(TypeError, match="tell: loss must be a number, or None .* got '0.5' \\(str\\)"):
        opt.tell({"x": 0.5, "c": "a"}, "0.5")
    with pytest.raises(TypeError, match="tell: loss must be a number"):
        opt.tell({"x": 0.5, "c": "a"}, np.array([0.5]))
    with pytest.raises(ValueError, match="hyperparameter 'x'"):  # not "unhashable type: 'dict'"
        opt.tell({"x": {"value": 0.5}, "c": "a"}, 0.1)
    assert all(len(observations) == 0 for observations in opt.observations.values())
    for _ in range(12):  # the models still fit: no row without its loss
        config, _ = opt.ask()
        opt.tell(config, (config["x"] - 1.0) ** 2)
    assert len(opt.observations[1.0]) == 12


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_a_config_told_with_numpy_values_is_the_proposal_it_came_from(name, small_discrete_space):
    opt = make_optimizer(name, small_discrete_space)
    batch = opt.ask(n_points=np.int64(6))
    for config, _ in batch:
        opt.tell({"a": np.str_(config["a"]), "b": np.int64(config["b"])}, 1.0)
    assert opt.pending_configs == []
    told = {config_key(config) for config, _ in batch}
    assert all(config_key(config) not in told for config, _ in opt.ask(n_points=6))


@pytest.mark.parametrize("budget", [-1.0, 0.0, float("nan"), float("inf"), "1", True])
def test_budgets_are_positive_numbers(budget, quadratic_space):
    opt = make_optimizer("RandomOptimizer", quadratic_space)
    with pytest.raises(ValueError, match="budget"):
        opt.ask(budget=budget)
    with pytest.raises(ValueError, match="budget"):
        opt.tell({"x": 0.0, "c": "a"}, 1.0, budget=budget)
    with pytest.raises(ValueError, match="n_points"):
        opt.ask(n_points=True)


@pytest.mark.parametrize("seed", [-1, "a", 1.5, True])
def test_a_random_state_that_is_no_seed_is_named(seed):
    with pytest.raises(ValueError, match="random_state must be None, a non-negative int or a numpy Generator"):
        RandomOptimizer().initialize({"x": {"_type": "uniform", "_value": [0, 1]}}, random_state=seed)


def test_get_params_gives_the_constructor_settings_down_the_class_tree():
    from ultraopt.optimizer import ETPEOptimizer, RandomOptimizer, TPEOptimizer

    assert RandomOptimizer().get_params() == {}
    etpe = ETPEOptimizer(n_startup_trials=3).get_params()
    assert etpe["n_startup_trials"] == 3 and etpe["multivariate"] is True
    tpe = TPEOptimizer(n_candidates=7).get_params()  # its own settings and the ETPE ones it fixes
    assert tpe["n_candidates"] == 7 and tpe["multivariate"] is False and "kwargs" not in tpe


@pytest.mark.parametrize("cls", [RandomOptimizer, ETPEOptimizer])
def test_editing_an_asked_config_leaves_the_optimizers_record_alone(quadratic_space, cls):
    # ask/tell users edit what ask returns (config["x"] = ..., config.pop(...)); the pending record, which the
    # models take into account, then held a value outside the space or lost a hyperparameter
    optimizer = cls()
    optimizer.initialize(quadratic_space, random_state=0)
    config, _ = optimizer.ask()
    original = dict(config)
    config["x"] = 99.0
    config.pop("c")
    assert optimizer.pending_configs == [original]
    optimizer.pending_configs[0]["x"] = 99.0
    assert optimizer.pending_configs == [original]
    optimizer.tell(original, 1.0)
    assert optimizer.pending_configs == [] and optimizer.n_told == 1


@pytest.mark.parametrize(("make", "error"), [
    (lambda: TPEOptimizer(n_startup=5), "TPEOptimizer() got an unexpected keyword argument 'n_startup'; did you "
                                        "mean 'n_startup_trials'?"),
    (lambda: ForestOptimizer(n_estimator=5), "ForestOptimizer() got an unexpected keyword argument 'n_estimator'; "
                                             "did you mean 'n_estimators'?"),
    (lambda: GBRTOptimizer(learning_rat=0.1), "GBRTOptimizer() got an unexpected keyword argument 'learning_rat'; "
                                              "did you mean 'learning_rate'?"),
    (lambda: ForestOptimizer(forest="gbm"), "forest must be 'random_forest' or 'extra_trees', got 'gbm'"),
])
def test_a_wrong_setting_is_named_with_the_class_the_user_built(make, error):
    # the keywords are passed on to a base class, whose name Python's error gave (ETPEOptimizer, TreeSMBOOptimizer),
    # and the forest kind was called "kind", a parameter of an internal class
    with pytest.raises((TypeError, ValueError)) as caught:
        make()
    assert str(caught.value) == error
