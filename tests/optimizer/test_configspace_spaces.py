"""Spaces built with ConfigSpace's own constructs: every optimizer's proposals are valid by ConfigSpace's rules."""

import pytest
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    EqualsCondition,
    ForbiddenEqualsClause,
    InCondition,
    NotEqualsCondition,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

from ultraopt import fmin
from ultraopt.hdl import layering_config
from ultraopt.hdl.configs import check_config, grid_step

OPTIMIZERS = ["ETPE", "TPE", "Forest", "GBRT", "Random"]


def _run(space, optimizer, n=24):
    seen = []

    def objective(config):
        seen.append(dict(config))
        return sum(value for value in config.values() if isinstance(value, float))

    fmin(objective, space, optimizer=optimizer, n_iterations=n, random_state=0, show_progressbar=False)
    for config in seen:
        check_config(space, config)  # raises on an inactive value set or an active one missing
    return seen


def _q_grid_space():
    # 0.1 + 0.2 is an ulp off 0.3: conditions and forbidden clauses must see the value ConfigSpace gives 0.3
    space = ConfigurationSpace()
    lr = UniformFloatHyperparameter("lr", 0.1, 0.9, meta={"q": 0.2})
    child = UniformFloatHyperparameter("child", 0.0, 1.0)
    space.add([lr, child])
    space.add(InCondition(child, lr, [0.5, 0.7]))
    space.add(ForbiddenEqualsClause(lr, 0.3))
    return space


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_conditions_and_forbidden_clauses_on_a_float_grid_see_the_grid_values(optimizer):
    seen = _run(_q_grid_space(), optimizer)
    assert all(config["lr"] != 0.3 for config in seen)
    assert any("child" in config for config in seen)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_not_equals_condition_on_an_inactive_parent_holds_as_in_configspace(optimizer):
    space = ConfigurationSpace()
    p = CategoricalHyperparameter("p", ["a", "b"])
    q = UniformIntegerHyperparameter("q", 0, 4)
    x = UniformFloatHyperparameter("x", 0.0, 1.0)
    space.add([p, q, x])
    space.add([EqualsCondition(q, p, "a"), NotEqualsCondition(x, q, 3)])
    seen = _run(space, optimizer)
    assert any(config["p"] == "b" and "x" in config for config in seen)


def _not_equals_on_a_conditional_parent(parent):
    space = ConfigurationSpace()
    switch = CategoricalHyperparameter("switch", ["on", "off"])
    child = CategoricalHyperparameter("child", ["u", "v"])
    space.add([switch, parent, child])
    space.add([EqualsCondition(parent, switch, "on"), NotEqualsCondition(child, parent, 3)])
    return space


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_finite_space_with_a_not_equals_child_of_an_inactive_parent_is_run_through_legally(optimizer):
    # 9 configs: "on" with parent 0-2 and either child, "on" with parent 3, and "off" with either child (the
    # child of an inactive parent is active for ConfigSpace); the first 9 trials must be all of them, and the
    # repeats after them legal too
    space = _not_equals_on_a_conditional_parent(UniformIntegerHyperparameter("parent", 0, 3))
    seen = _run(space, optimizer, n=12)
    assert len({tuple(sorted(config.items())) for config in seen[:9]}) == 9
    assert {"switch": "off", "child": "u"} in seen and {"switch": "off", "child": "v"} in seen


@pytest.mark.parametrize("optimizer", ["ETPE", "Random"])
def test_a_not_equals_child_of_an_inactive_grid_parent_is_active(optimizer):
    # a grid parent is sampled on snapped values, where conditions are decided by UltraOpt rather than ConfigSpace
    space = _not_equals_on_a_conditional_parent(UniformIntegerHyperparameter("parent", 0, 30, meta={"q": 3}))
    seen = _run(space, optimizer)
    assert any(config["switch"] == "off" for config in seen)
    assert all("child" in config for config in seen if config["switch"] == "off")


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_constant_of_a_branch_appears_only_in_its_branch(optimizer):
    hdl = {"model(choice)": {"svc": {"kernel": "rbf", "C": {"_type": "uniform", "_value": [0.1, 1.0]}},
                             "knn": {"k": {"_type": "int_uniform", "_value": [1, 9]}}}}
    seen = []

    def objective(config):
        seen.append(config)
        layering_config(config)  # refuses a key of the other branch
        return config.get("model:svc:C", 0.5)

    result = fmin(objective, hdl, optimizer=optimizer, n_iterations=24, random_state=0, show_progressbar=False)
    assert not result.trials_with_status("failed")
    assert {config["model:__choice__"] for config in seen} == {"svc", "knn"}


def test_a_grid_step_that_is_not_positive_is_named():
    hp = UniformIntegerHyperparameter("n_layers", 1, 5, meta={"q": 0})
    with pytest.raises(ValueError, match="'n_layers'.*meta\\['q'\\] must be a positive number, got 0"):
        grid_step(hp)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_constant_holding_a_tuple_reaches_the_objective_as_it_is(optimizer):
    # np.array([(64, 64)]) made two values of the one constant: ETPE, TPE and Forest crashed in the encoder
    from ConfigSpace import Constant

    space = ConfigurationSpace()
    space.add([Constant("layers", (64, 64)), UniformFloatHyperparameter("x", 0.0, 1.0)])
    seen = _run(space, optimizer, n=15)
    assert all(config["layers"] == (64, 64) for config in seen)
