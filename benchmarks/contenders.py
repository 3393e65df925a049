"""Contenders: each runs one full optimization of a problem and returns the losses in evaluation order.

A contender is a function ``run(problem, n_trials, seed, options) -> list[float]`` registered in
:data:`CONTENDERS` under a name. Ours go through the ask/tell protocol; peers get the problem's ConfigSpace
space translated into their own language:

- **Optuna** (define-by-run): hyperparameters are suggested in the space's topological order, a conditional one
  only when its conditions hold for the values suggested so far; floats and integers keep ``log`` and the
  q-grid step (``step``); categoricals and ordinals become ``suggest_categorical`` (an ordinal's order is lost).
- **Hyperopt**: conditional sub-spaces become nested ``hp.choice`` branches of their categorical parent (only
  ``EqualsCondition``/``InCondition`` on a categorical parent can be expressed); integers are ``hp.quniform``
  (or ``hp.qloguniform``) with step 1 cast to int; ordinals become ``hp.choice``.
- Forbidden clauses cannot be expressed in either; a forbidden config they propose is not evaluated and counts
  as a failed trial (loss ``inf``, see :func:`peer_loss`; none of the shipped problems has one).

- **SMAC3** (HPO facade) uses ConfigSpace natively: see :mod:`benchmarks.smac3_adapter`.

Adding a peer is one more function decorated with :func:`contender`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from ConfigSpace import ConfigurationSpace
from ConfigSpace.conditions import EqualsCondition, InCondition
from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
    Constant,
    FloatHyperparameter,
    IntegerHyperparameter,
    OrdinalHyperparameter,
)

from benchmarks.problems import Problem
from benchmarks.smac3_adapter import run_problem as smac3_run_problem
from ultraopt.hdl.configs import check_config, grid_step, plain_config

__all__ = ["CONTENDERS", "contender", "peer_loss", "run_contender"]

Runner = Callable[[Problem, int, int, dict[str, Any]], list[float]]

#: Contender name to its runner.
CONTENDERS: dict[str, Runner] = {}


def contender(name: str) -> Callable[[Runner], Runner]:
    """Register a runner under ``name``."""

    def register(runner: Runner) -> Runner:
        CONTENDERS[name] = runner
        return runner

    return register


def run_contender(spec: str, problem: Problem, n_trials: int, seed: int) -> list[float]:
    """Run the contender ``spec`` — a name, optionally with options: ``"ETPE:n_candidates=128,random_fraction=0.1"``."""
    name, _, raw = spec.partition(":")
    options = {}
    for item in filter(None, raw.split(",")):
        key, _, value = item.partition("=")
        options[key] = _literal(value)
    return CONTENDERS[name](problem, n_trials, seed, options)


def _literal(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(value, value)


# ---------------------------------------------------------------------------------------------- ours
def _ultraopt(cls_name: str) -> Runner:
    def run(problem: Problem, n_trials: int, seed: int, options: dict[str, Any]) -> list[float]:
        import ultraopt.optimizer as optimizers

        optimizer = getattr(optimizers, cls_name)(**options)
        optimizer.initialize(problem.space(), random_state=seed)
        losses = []
        for _ in range(n_trials):
            config, _info = optimizer.ask()
            loss = float(problem.loss(config))
            optimizer.tell(config, loss)
            losses.append(loss)
        return losses

    return run


contender("ETPE")(_ultraopt("ETPEOptimizer"))
contender("TPE")(_ultraopt("TPEOptimizer"))
contender("Random")(_ultraopt("RandomOptimizer"))
contender("Forest")(_ultraopt("ForestOptimizer"))
contender("GBRT")(_ultraopt("GBRTOptimizer"))
# SMAC3 takes our ConfigSpace space natively; its adapter snaps configs onto our q-grids (see its docstring).
contender("SMAC3")(smac3_run_problem)


# ---------------------------------------------------------------------------------------------- Optuna
def _conditions_hold(space: ConfigurationSpace, name: str, values: dict[str, Any]) -> bool:
    try:
        return all(condition.satisfied_by_value(values) for condition in space.parent_conditions_of[name])
    except KeyError:
        return False


def peer_loss(problem: Problem, space: ConfigurationSpace, config: dict[str, Any]) -> float:
    """The loss of a peer's config, or ``inf`` (a failed trial) for one the space forbids: the peers cannot
    express forbidden clauses, and evaluating such a config would let them score where ours may not go."""
    try:
        check_config(space, config)
    except ValueError:
        return math.inf
    return float(problem.loss(config))


def optuna_suggest(trial: Any, space: ConfigurationSpace) -> dict[str, Any]:
    """Suggest a config of ``space`` through an Optuna trial (see the module docstring for the translation)."""
    values: dict[str, Any] = {}
    for name, hp in space.items():
        if not _conditions_hold(space, name, values):
            continue
        if isinstance(hp, Constant):
            values[name] = hp.value
        elif isinstance(hp, CategoricalHyperparameter):
            values[name] = trial.suggest_categorical(name, list(hp.choices))
        elif isinstance(hp, OrdinalHyperparameter):
            values[name] = trial.suggest_categorical(name, list(hp.sequence))
        elif isinstance(hp, IntegerHyperparameter):
            q = grid_step(hp)
            values[name] = trial.suggest_int(name, int(hp.lower), int(hp.upper), step=int(q or 1), log=hp.log)
        elif isinstance(hp, FloatHyperparameter):
            q = grid_step(hp)
            log = bool(hp.log) and q is None  # Optuna cannot combine log with step
            values[name] = trial.suggest_float(name, float(hp.lower), float(hp.upper), step=q, log=log)
        else:
            raise TypeError(f"cannot translate {hp!r} for Optuna")
    return plain_config(space, values)


def _optuna(problem: Problem, n_trials: int, seed: int, options: dict[str, Any]) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # not a warning per forbidden config (a NaN loss)
    space = problem.space()
    sampler = optuna.samplers.TPESampler(seed=seed, **options)
    study = optuna.create_study(sampler=sampler)
    losses: list[float] = []

    def objective(trial: Any) -> float:
        loss = peer_loss(problem, space, optuna_suggest(trial, space))
        losses.append(loss)
        return loss if math.isfinite(loss) else float("nan")  # Optuna records NaN as a failed trial

    study.optimize(objective, n_trials=n_trials)
    return losses


contender("Optuna-TPE")(_optuna)
contender("Optuna-TPE-indep")(lambda p, n, s, o: _optuna(p, n, s, {"multivariate": False, **o}))


# ---------------------------------------------------------------------------------------------- Hyperopt
def hyperopt_space(space: ConfigurationSpace) -> dict[str, Any]:
    """A Hyperopt space of ``space``: a dict whose conditional parts are nested ``hp.choice`` branches."""
    children: dict[str, list[tuple[str, list[Any]]]] = {}
    for condition in space.conditions:
        if not isinstance(condition, (EqualsCondition, InCondition)) or not isinstance(
            condition.parent, CategoricalHyperparameter
        ):
            raise TypeError(f"Hyperopt cannot express the condition {condition}")
        allowed = list(condition.values) if isinstance(condition, InCondition) else [condition.value]
        children.setdefault(condition.parent.name, []).append((condition.child.name, allowed))
    conditional = {child for kids in children.values() for child, _ in kids}
    return {name: _hyperopt_node(space, name, children) for name in space if name not in conditional}


def _hyperopt_node(space: ConfigurationSpace, name: str, children: dict[str, list[tuple[str, list[Any]]]]) -> Any:
    from hyperopt import hp

    param = space[name]
    if name in children:
        branches = []
        for value in param.choices:
            branch = {name: value}
            for child, allowed in children[name]:
                if value in allowed:
                    branch[child] = _hyperopt_node(space, child, children)
            branches.append(branch)
        return hp.choice(name, branches)
    if isinstance(param, Constant):
        return param.value
    if isinstance(param, CategoricalHyperparameter):
        return hp.choice(name, list(param.choices))
    if isinstance(param, OrdinalHyperparameter):
        return hp.choice(name, list(param.sequence))
    lower, upper = float(param.lower), float(param.upper)
    q = grid_step(param) or (1.0 if isinstance(param, IntegerHyperparameter) else None)
    if param.log:
        low, high = math.log(lower), math.log(upper)
        return hp.qloguniform(name, low, high, q) if q else hp.loguniform(name, low, high)
    if q:
        return hp.quniform(name, lower - q / 2 + 1e-9, upper + q / 2 - 1e-9, q)
    return hp.uniform(name, lower, upper)


def _flatten(sample: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    for key, value in sample.items():
        if isinstance(value, dict):
            _flatten(value, out)
        else:
            out[key] = value
    return out


def hyperopt_config(space: ConfigurationSpace, sample: dict[str, Any]) -> dict[str, Any]:
    """The plain config of a Hyperopt sample (nested branches flattened, integers cast, values clipped)."""
    values = _flatten(sample, {})
    for name, value in values.items():
        param = space[name]
        if isinstance(param, (IntegerHyperparameter, FloatHyperparameter)):
            value = min(max(float(value), float(param.lower)), float(param.upper))
            values[name] = int(round(value)) if isinstance(param, IntegerHyperparameter) else value
    return plain_config(space, values)


def _hyperopt(problem: Problem, n_trials: int, seed: int, options: dict[str, Any]) -> list[float]:
    import hyperopt

    space = problem.space()
    losses: list[float] = []

    def objective(sample: dict[str, Any]) -> float | dict[str, Any]:
        loss = peer_loss(problem, space, hyperopt_config(space, sample))
        losses.append(loss)
        if not math.isfinite(loss):
            return {"status": hyperopt.STATUS_FAIL}
        return loss

    hyperopt.fmin(
        objective,
        hyperopt_space(space),
        algo=hyperopt.tpe.suggest,
        max_evals=n_trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    return losses


contender("Hyperopt-TPE")(_hyperopt)
