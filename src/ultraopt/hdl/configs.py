"""Configs of a search space as plain data: sampling, snapping to q-grids, checking, hashing.

A config is a flat ``dict`` from hyperparameter name to a Python scalar (``bool``, ``int``, ``float``, ``str``
or ``None``) holding the active hyperparameters only. That is what the objective receives, what crosses
process boundaries and what is stored. ConfigSpace 1.x has no quantized hyperparameters, so ``hdl2cs`` keeps
the grid step in the hyperparameter's ``meta["q"]`` and every config is snapped to its grid here.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
from ConfigSpace import Configuration, ConfigurationSpace
from ConfigSpace.conditions import AndConjunction, Conjunction, NotEqualsCondition
from ConfigSpace.forbidden import ForbiddenConjunction, ForbiddenEqualsClause, ForbiddenInClause, ForbiddenRelation
from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
    Constant,
    FloatHyperparameter,
    Hyperparameter,
    IntegerHyperparameter,
    NumericalHyperparameter,
    OrdinalHyperparameter,
)

from ultraopt.hdl.values import find_choice, is_number, same_scalar, type_name
from ultraopt.jsonable import plain_scalar

__all__ = [
    "ConfigKey",
    "branch_is_infinite",
    "branches",
    "check_config",
    "draw_allowed_configs",
    "enumerate_configs",
    "finite_values",
    "config_key",
    "grid_step",
    "plain_config",
    "sample_branch",
    "sample_configs",
    "snap_to_grid",
    "values_json_cannot_hold",
]

ConfigKey = tuple[tuple[str, str, Any], ...]


def grid_step(hp: Hyperparameter) -> float | None:
    """The q-grid step of a numerical hyperparameter, or ``None`` when it has none.

    Raises
    ------
    ValueError
        When ``meta["q"]`` is not a positive finite number.
    """
    meta = hp.meta or {}
    q = meta.get("q")
    if q is None:
        return None
    try:
        step = float(q)
    except (TypeError, ValueError):
        step = math.nan
    if not (math.isfinite(step) and step > 0):
        raise ValueError(f"hyperparameter {hp.name!r}: its grid step meta['q'] must be a positive number, got {q!r}")
    return step


def _n_grid_points(lower: float, upper: float, q: float) -> int:
    """How many points ``lower + k * q`` lie in ``[lower, upper]`` (a bound off the grid by float noise counts)."""
    return math.floor((upper - lower) / q + 1e-9) + 1


def values_json_cannot_hold(space: ConfigurationSpace) -> list[str]:
    """One line per hyperparameter value that a JSON round trip would not give back (a tuple comes back a list,
    a function not at all): stored results and checkpoints could not hold configs with it."""
    found = []
    for hp in space.values():
        if isinstance(hp, CategoricalHyperparameter):
            values = list(hp.choices)
        elif isinstance(hp, OrdinalHyperparameter):
            values = list(hp.sequence)
        elif isinstance(hp, Constant):
            values = [hp.value]
        else:
            continue
        for value in values:
            value = plain_scalar(value)
            try:
                back = json.loads(json.dumps(value))
                same = back == value and type(back) is type(value)
            except (TypeError, ValueError):
                same = False
            if not same:
                found.append(f"hyperparameter {hp.name!r}: value {value!r} ({type(value).__name__})")
    return found


def snap_to_grid(hp: Hyperparameter, value: Any) -> Any:
    """Round ``value`` to the nearest point ``lower + k * q`` of ``hp``'s grid inside its bounds."""
    q = grid_step(hp)
    if q is None or not isinstance(hp, NumericalHyperparameter):
        return value
    lower, upper = float(hp.lower), float(hp.upper)
    steps = math.floor((float(value) - lower) / q + 0.5)  # halves up: round() sent both 3 and 7 (2-grid from 2) to 6
    steps = min(max(steps, 0), _n_grid_points(lower, upper, q) - 1)
    snapped = lower + steps * q
    if isinstance(hp, IntegerHyperparameter):
        return int(round(snapped))
    # Round away the float noise of lower + k*q so that 0.1 + 2*0.1 prints and hashes as 0.3. Fifteen
    # significant digits keep every digit of a user's bound (rounding at q's decimals turned a lower bound of
    # 0.12345674 into 0.1234567, outside the domain); clip as the rounding may still cross a bound by an ulp.
    return min(max(float(f"{snapped:.15g}"), lower), upper)


def scale_value(hp: NumericalHyperparameter, positions: np.ndarray) -> np.ndarray:
    """The values at ``positions`` in ``[0, 1]`` along ``hp``'s own scale (log where it is log), unrounded.

    ConfigSpace's ``to_value`` rounds an integer hyperparameter's values to integers; snapping them to a q-grid
    after that rounds twice, and the grid points between two integers that tie get every other point's share.
    """
    lower, upper = float(hp.lower), float(hp.upper)
    if hp.log:
        return np.exp(math.log(lower) + np.asarray(positions, dtype=float) * math.log(upper / lower))
    return lower + np.asarray(positions, dtype=float) * (upper - lower)


def _plain_value(hp: Hyperparameter, value: Any) -> Any:
    value = plain_scalar(value)
    if isinstance(hp, (CategoricalHyperparameter, OrdinalHyperparameter)):
        return _written_option(hp, value)
    if isinstance(hp, IntegerHyperparameter):
        value = int(round(value))
    elif isinstance(hp, FloatHyperparameter):
        value = float(value)
    return snap_to_grid(hp, value)


def _written_option(hp: CategoricalHyperparameter | OrdinalHyperparameter, value: Any) -> Any:
    """The option of ``hp`` that ``value`` stands for, as the space was given it.

    ConfigSpace samples and decodes the options of a choice that mixes ints and floats through a float array:
    the ``2`` of ``[2, 0.1]`` came back as ``2.0``, which scikit-learn reads as a fraction, not a count. The
    options are pairwise unequal (the HDL refuses ``True`` beside ``1``), so Python's equality finds the one meant.
    """
    options = tuple(_options(hp))
    try:
        return options[options.index(value)]
    except ValueError:  # not an option: left for the caller's checks to name
        return value


def plain_config(
    config_space: ConfigurationSpace, values: Mapping[str, Any] | Configuration
) -> dict[str, Any]:
    """Return the active values of ``values`` as Python scalars, snapped to their q-grids, in space order."""
    if isinstance(values, Configuration):  # a constant is its value (ConfigSpace 1.1 cannot decode a tuple one)
        items = {name: hp.value if isinstance(hp := config_space[name], Constant) else values[name] for name in values}
    else:
        items = dict(values)
    return {name: _plain_value(hp, items[name]) for name, hp in config_space.items() if name in items}


def config_key(config: Mapping[str, Any]) -> ConfigKey:
    """A hashable key equal for equal configs; ``True`` and ``1`` are kept apart by their type."""
    return tuple(sorted((name, type(value).__name__, value) for name, value in config.items()))


def sample_configs(
    config_space: ConfigurationSpace, n: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """Draw ``n`` configs uniformly (on each hyperparameter's own scale) with ``rng``.

    Conditions and forbidden clauses hold on every config. ``rng`` is the only source of randomness, so the
    same generator state gives the same configs.
    """
    if n <= 0:
        return []
    with _sampling_random(config_space, rng) as random:
        if _grid_decides(config_space) or _forbidden_options(config_space.forbidden_clauses):
            return _sample_snapped(config_space, n, random)
        sampled = config_space.sample_configuration(n) if n > 1 else [config_space.sample_configuration()]
        configs = [plain_config(config_space, configuration) for configuration in sampled]
        # ConfigSpace's draws of an integer grid are biased (it draws integers, several of which snap to one
        # point); a grid decides nothing here, so its values are drawn again, wherever they are active.
        for name, hp in config_space.items():
            if grid_step(hp) is not None:
                active = [config for config in configs if name in config]
                for config, value in zip(active, _draw_column(hp, len(active), random)):
                    config[name] = value
    return configs


# ConfigSpace samples with the space's own RandomState. The user's one is left alone: while we sample, one scratch
# RandomState stands in for it, seeded from our generator (re-seeding costs microseconds, a new RandomState about a
# millisecond on every ask).
_SCRATCH_RANDOM = np.random.RandomState()
_SCRATCH_LOCK = threading.Lock()


@contextmanager
def _sampling_random(config_space: ConfigurationSpace, rng: np.random.Generator) -> Iterator[np.random.RandomState]:
    """The space's RandomState for one draw: the scratch one, seeded from ``rng``; the space's own afterwards."""
    with _SCRATCH_LOCK:
        own = config_space.random
        _SCRATCH_RANDOM.seed(int(rng.integers(2**31 - 1)))
        config_space.random = _SCRATCH_RANDOM
        try:
            yield _SCRATCH_RANDOM
        finally:
            config_space.random = own


def _draw_column(hp: Hyperparameter, n: int, random: np.random.RandomState, forbidden: Iterable[Any] = ()) -> list[Any]:
    """``n`` plain values of ``hp`` drawn with ``random`` (none of the options in ``forbidden``).

    Every point of a linear q-grid is as likely as the others (drawn uniformly on ``[lower, upper]`` and snapped,
    the two end points would get half a cell each); a log grid's points get the log-uniform mass nearest them.
    """
    forbidden = list(forbidden)
    if forbidden and isinstance(hp, (CategoricalHyperparameter, OrdinalHyperparameter)):
        options = list(_options(hp))
        allowed = [i for i, option in enumerate(options) if not any(same_scalar(option, x) for x in forbidden)]
        if allowed:  # none: every config is forbidden where hp is active, which the caller finds out
            weights = hp.probabilities if isinstance(hp, CategoricalHyperparameter) else np.ones(len(options))
            p = np.asarray(weights, dtype=float)[allowed]
            return [_plain_value(hp, options[allowed[k]]) for k in random.choice(len(allowed), size=n, p=p / p.sum())]
    q = grid_step(hp)
    if q is None or not isinstance(hp, NumericalHyperparameter):
        return [_plain_value(hp, value) for value in hp.sample_value(n, seed=random)]
    lower, upper = float(hp.lower), float(hp.upper)
    if hp.log:
        return [snap_to_grid(hp, value) for value in scale_value(hp, random.random_sample(n))]
    points = random.randint(_n_grid_points(lower, upper, q), size=n)
    return [_plain_value(hp, lower + int(point) * q) for point in points]


def _forbidden_options(clauses: Iterable[Any]) -> dict[str, list[Any]]:
    """The options of each choice that one of ``clauses`` on it alone (not in a conjunction) rules out.

    Drawing only from the other options gives what rejecting the forbidden configs gives (the clause holds only
    where the choice is active, and an inactive choice's value is not used), without the rejections: clauses
    that leave one option of hundreds made almost every draw a forbidden one.
    """
    found: dict[str, list[Any]] = {}
    for clause in clauses:
        if isinstance(clause, (ForbiddenEqualsClause, ForbiddenInClause)) and isinstance(
                clause.hyperparameter, (CategoricalHyperparameter, OrdinalHyperparameter)):
            values = [clause.value] if isinstance(clause, ForbiddenEqualsClause) else list(clause.values)
            found.setdefault(clause.hyperparameter.name, []).extend(values)
    return found


def _grid_decides(config_space: ConfigurationSpace) -> bool:
    """Whether a q-grid hyperparameter is the parent of a condition or named by a forbidden clause.

    ConfigSpace checks conditions and forbidden clauses on the values it samples, before they are snapped to
    their grids; that is harmless unless a grid value decides one of them.
    """
    on_grid = {name for name, hp in config_space.items() if grid_step(hp) is not None}
    if not on_grid:
        return False
    parents = {parent.name for name in config_space for parent in config_space.parents_of[name]}
    return bool(on_grid & (parents | _forbidden_names(config_space)))


def _forbidden_names(config_space: ConfigurationSpace) -> set[str]:
    names: set[str] = set()
    clauses = list(config_space.forbidden_clauses)
    while clauses:
        clause = clauses.pop()
        if isinstance(clause, ForbiddenConjunction):
            clauses.extend(clause.dlcs)
        elif isinstance(clause, ForbiddenRelation):
            names.update((clause.left.name, clause.right.name))
        else:
            names.add(clause.hyperparameter.name)
    return names


# Draws in a row without one legal config after which a space is taken to have none (a space whose forbidden
# clauses reject every point of its grids is accepted by ConfigSpace when its default lies off the grid).
_MAX_FRUITLESS_DRAWS = 100_000


def _sample_snapped(
    config_space: ConfigurationSpace, n: int, random: np.random.RandomState
) -> list[dict[str, Any]]:
    """Sample as ConfigSpace does (every hyperparameter, then conditions, then rejection of forbidden configs),
    but decide conditions and forbidden clauses on the snapped values."""
    configs: list[dict[str, Any]] = []
    batch, n_drawn = n, 0
    while len(configs) < n:
        drawn = _draw_configs(config_space, batch, random)
        n_drawn += batch
        configs.extend(drawn)
        if drawn:
            batch, n_drawn = n - len(configs), 0
        elif n_drawn >= _MAX_FRUITLESS_DRAWS:
            clauses = list(config_space.forbidden_clauses)
            raise ValueError(
                f"no config of the space passes its forbidden clauses on the grids of its hyperparameters, or too "
                f"few for random draws to find: none of {n_drawn} did. The {len(clauses)} forbidden clause(s) begin "
                f"with: {clauses[:3]}"
            )
        else:  # a round with no legal config: draw more at once, so that a rare legal one is found quickly
            batch = min(2 * batch, 4096)
    return configs[:n]


def draw_allowed_configs(
    config_space: ConfigurationSpace, clauses: list[Any], n: int, rng: np.random.Generator, fixed: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``n`` random draws of ``config_space`` with the values of ``fixed``, minus those that one of ``clauses``
    (forbidden clauses of its hyperparameters, added to the space or not) forbids."""
    with _sampling_random(config_space, rng) as random:
        return _draw_configs(config_space, n, random, fixed=fixed, clauses=clauses)


def _draw_configs(
    config_space: ConfigurationSpace, n: int, random: np.random.RandomState, fixed: Mapping[str, Any] | None = None,
    clauses: list[Any] | None = None,
) -> list[dict[str, Any]]:
    """``n`` draws (values of ``fixed`` kept), conditions applied to the snapped values, minus those forbidden by
    ``clauses`` (by default the space's)."""
    fixed = fixed or {}
    clauses = list(config_space.forbidden_clauses) if clauses is None else clauses
    forbidden = _forbidden_options(clauses)  # drawn from the other options, not drawn and rejected
    columns = {
        name: [fixed[name]] * n if name in fixed else _draw_column(hp, n, random, forbidden.get(name, ()))
        for name, hp in config_space.items()
    }
    configs = []
    for row in range(n):
        config: dict[str, Any] = {}
        for name in config_space:  # topological order: parents come first
            if _conditions_hold(config_space.parent_conditions_of[name], config):
                config[name] = columns[name][row]
        if not _is_forbidden(clauses, config):
            configs.append(config)
    return configs


def branches(config_space: ConfigurationSpace, limit: int = 20_000) -> list[dict[str, Any]] | None:
    """The branches of a conditional space: every distinct assignment of the hyperparameters that decide
    conditions, as far as they are active; ``None`` when one of them takes infinitely many values or there are
    more than ``limit`` combinations. A space without conditions has one branch, ``{}``."""
    parents = {parent.name for name in config_space for parent in config_space.parents_of[name]}
    return _active_combinations(config_space, [name for name in config_space if name in parents], limit)


def branch_is_infinite(config_space: ConfigurationSpace, branch: Mapping[str, Any]) -> bool:
    """Whether the configs of ``branch`` (see :func:`branches`) are infinitely many: one of the hyperparameters
    it activates takes infinitely many values (the conditions depend on the branch's values alone)."""
    return any(
        name not in branch and finite_values(hp) is None
        and _conditions_hold(config_space.parent_conditions_of[name], branch)
        for name, hp in config_space.items()
    )


def sample_branch(
    config_space: ConfigurationSpace, branch: Mapping[str, Any], n: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """Up to ``n`` configs of one branch (see :func:`branches`), the other hyperparameters drawn uniformly with
    ``rng``; fewer when forbidden clauses reject draws. Uniform sampling of the whole space reaches a branch
    behind several nested choices only rarely: a ``1 / 3**6`` chance six levels down."""
    random = np.random.RandomState(int(rng.integers(2**31 - 1)))
    return _draw_configs(config_space, n, random, fixed=branch)


def check_config(
    config_space: ConfigurationSpace, config: Mapping[str, Any], what: str = "config"
) -> dict[str, Any]:
    """Validate a user-given config against the space and return it as a plain config.

    Constants may be left out, and the config may be nested as :func:`~ultraopt.hdl.layering_config` gives it
    (``{"est": {"svc": {"C": 1.0}}}``). Raises ``ValueError`` naming the offending hyperparameter: an unknown name, a
    value outside the domain, off its grid or of the wrong type (``True`` is not ``1``), an active
    hyperparameter that is missing, an inactive one that is set, or a forbidden combination. Values come back
    as the space's own (a choice ``1`` given as ``1.0`` comes back as ``1``).
    """
    if not isinstance(config, Mapping):
        raise ValueError(f"{what} must be a dict of hyperparameter values, got {type(config).__name__}")
    values = dict(config)
    if any(isinstance(value, Mapping) for value in values.values()):  # nested, as layering_config gives it
        from ultraopt.hdl.layering import flat_config  # it imports the parser, which imports this module

        try:
            values = flat_config(values, config_space)
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
    unknown = sorted(set(values) - set(config_space))
    if unknown:
        raise ValueError(f"{what}: unknown hyperparameter(s) {unknown}; the space has {list(config_space)}")
    _fill_constants(config_space, values)
    for name, value in values.items():
        hp = config_space[name]
        value = values[name] = _canonical_value(hp, plain_scalar(value), what)
        if not hp.legal_value(value):
            # an integer hyperparameter's 5.5 is within its bounds: say what is wrong with it
            problem = ("is not an integer" if isinstance(hp, IntegerHyperparameter) and is_number(value)
                       and float(hp.lower) <= value <= float(hp.upper) else "is outside its domain")
            raise ValueError(f"{what}: value {value!r} of hyperparameter '{name}' {problem} ({hp})")
        q = grid_step(hp)
        if q is not None and not math.isclose(snap_to_grid(hp, value), value, rel_tol=1e-9, abs_tol=1e-12):
            raise ValueError(
                f"{what}: value {value!r} of hyperparameter '{name}' is not on its grid of step {q}"
            )
    missing = [name for name in config_space if name not in values
               and _conditions_hold(config_space.parent_conditions_of[name], values)]
    if missing:  # ConfigSpace's words ("active but has no value set") do not name it
        raise ValueError(f"{what}: hyperparameter(s) {missing} of the space are active but have no value")
    if config_space.conditions or config_space.forbidden_clauses:  # what the checks above do not cover
        try:
            Configuration(config_space, values=values).check_valid_configuration()
        except Exception as exc:  # ConfigSpace names the hyperparameter; keep its words and say which config
            raise ValueError(f"{what} is not a valid config of the space: {exc}") from exc
    return plain_config(config_space, values)


def _canonical_value(hp: Hyperparameter, value: Any, what: str) -> Any:
    """The space's own value that ``value`` stands for: ``True`` never stands for ``1``, nor ``1`` for it."""
    if isinstance(hp, (CategoricalHyperparameter, OrdinalHyperparameter, Constant)):
        options = [hp.value] if isinstance(hp, Constant) else list(_options(hp))
        index = find_choice(options, value)
        if index is None:
            raise ValueError(
                f"{what}: value {value!r} ({type_name(value)}) of hyperparameter '{hp.name}' is not one of "
                f"{options!r}"
            )
        return options[index]
    if isinstance(hp, (FloatHyperparameter, IntegerHyperparameter)) and not is_number(value):
        raise ValueError(f"{what}: value {value!r} of hyperparameter '{hp.name}' is not a finite number")
    return value


def _options(hp: CategoricalHyperparameter | OrdinalHyperparameter) -> Iterable[Any]:
    return hp.choices if isinstance(hp, CategoricalHyperparameter) else hp.sequence


def _fill_constants(config_space: ConfigurationSpace, values: dict[str, Any]) -> None:
    """Add the constants the user left out where their conditions hold (the space is in topological order)."""
    for name, hp in config_space.items():
        missing = isinstance(hp, Constant) and name not in values
        if missing and _conditions_hold(config_space.parent_conditions_of[name], values):
            values[name] = hp.value  # type: ignore[attr-defined]  # a Constant


def _conditions_hold(conditions: Iterable[Any], values: Mapping[str, Any]) -> bool:
    return all(_condition_holds(condition, values) for condition in conditions)


def _condition_holds(condition: Any, values: Mapping[str, Any]) -> bool:
    """Whether ``condition`` holds for ``values``, where a parent left out is inactive.

    ConfigSpace decides activity on vectors in which an inactive parent is NaN, so of all comparisons only
    "not equal" holds for it (a ``NotEqualsCondition`` child of an inactive parent is active); its
    ``satisfied_by_value`` says otherwise, and following it gave configs ConfigSpace calls illegal.
    """
    if isinstance(condition, Conjunction):
        holds = (_condition_holds(component, values) for component in condition.components)
        return all(holds) if isinstance(condition, AndConjunction) else any(holds)
    if condition.parent.name not in values:
        return isinstance(condition, NotEqualsCondition)
    return bool(condition.satisfied_by_value(values))


def finite_values(hp: Hyperparameter) -> list[Any] | None:
    """Every value ``hp`` can take, or ``None`` when it takes infinitely many."""
    if isinstance(hp, Constant):
        return [hp.value]
    if isinstance(hp, (CategoricalHyperparameter, OrdinalHyperparameter)):
        return list(_options(hp))
    if not isinstance(hp, NumericalHyperparameter):
        return None
    q = grid_step(hp)
    if isinstance(hp, IntegerHyperparameter):
        step = int(q) if q is not None else 1
        return list(range(int(hp.lower), int(hp.upper) + 1, step))
    if q is not None:
        count = _n_grid_points(float(hp.lower), float(hp.upper), q)
        return [snap_to_grid(hp, float(hp.lower) + k * q) for k in range(count)]
    return None


def enumerate_configs(config_space: ConfigurationSpace, limit: int = 20_000) -> list[dict[str, Any]] | None:
    """All distinct valid configs of a finite space, or ``None`` when it is infinite or larger than ``limit``.

    Conditions decide which hyperparameters each combination keeps, and forbidden combinations are left out.
    """
    combinations = _active_combinations(config_space, list(config_space), limit)
    if combinations is None:
        return None
    return [config for config in combinations if not _is_forbidden(config_space.forbidden_clauses, config)]


def _active_combinations(
    config_space: ConfigurationSpace, names: list[str], limit: int
) -> list[dict[str, Any]] | None:
    """Every distinct combination of the values of ``names`` (in the space's topological order: parents first),
    each keeping the ones its conditions make active; ``None`` as :func:`_value_sets` says."""
    value_sets = _value_sets(config_space, names, limit)
    if value_sets is None:
        return None
    found: dict[ConfigKey, dict[str, Any]] = {}
    for combination in itertools.product(*value_sets):
        values: dict[str, Any] = {}
        for name, value in zip(names, combination):
            value = _plain_value(config_space[name], value)
            if _conditions_hold(config_space.parent_conditions_of[name], {**values, name: value}):
                values[name] = value
        found.setdefault(config_key(values), values)
    return list(found.values())


def _value_sets(config_space: ConfigurationSpace, names: list[str], limit: int) -> list[list[Any]] | None:
    """Every value of each of ``names``, or ``None`` when one takes infinitely many or there are more than
    ``limit`` combinations."""
    value_sets: list[list[Any]] = []
    for name in names:
        values = finite_values(config_space[name])
        if values is None:
            return None
        value_sets.append(values)
    return value_sets if math.prod(len(values) for values in value_sets) <= limit else None


def _is_forbidden(clauses: Iterable[Any], config: dict[str, Any]) -> bool:
    for clause in clauses:
        try:
            if clause.is_forbidden_value(config):
                return True
        except KeyError:  # a clause on an inactive hyperparameter forbids nothing
            continue
    return False
