"""``hdl2cs``: an HDL dict as a ``ConfigSpace.ConfigurationSpace``; ``as_config_space`` for either form."""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
from ConfigSpace import ConfigurationSpace
from ConfigSpace.conditions import AndConjunction, ConditionLike, EqualsCondition, InCondition
from ConfigSpace.exceptions import CyclicDependancyError, ForbiddenValueError
from ConfigSpace.forbidden import (
    ForbiddenAndConjunction,
    ForbiddenEqualsClause,
    ForbiddenInClause,
    ForbiddenLike,
)
from ConfigSpace.hyperparameters import CategoricalHyperparameter, OrdinalHyperparameter

from ultraopt.hdl.configs import draw_allowed_configs
from ultraopt.hdl.errors import HDLError, KeyPath
from ultraopt.hdl.parse import ParsedHDL, parse_hdl
from ultraopt.hdl.special import ConditionSpec, ForbiddenSpec, resolve_special_keys
from ultraopt.hdl.values import find_choice, same_scalar
from ultraopt.jsonable import plain_scalar

__all__ = ["as_config_space", "hdl2cs"]

logger = logging.getLogger(__name__)

# A hyperparameter definition's default value, and a conditional choice's default alternative.
_DEFAULT_KEY = "_default"


def hdl2cs(hdl: Mapping[str, Any]) -> ConfigurationSpace:
    """Compile an HDL dict into a ConfigSpace search space.

    Parameters
    ----------
    hdl : dict
        Names to constants (JSON scalars), sub-space dicts or hyperparameter definitions
        ``{"_type": T, "_value": V, "_default": D}``; ``"name(choice)": {"A": {...}, "B": {...}}`` for a
        conditional choice (``"_default": "B"`` inside it picks the default alternative, else the first);
        the special keys ``__activate``, ``__condition`` and ``__forbidden`` at any level. See the package
        documentation of :mod:`ultraopt.hdl` for the full language.

    Returns
    -------
    ConfigSpace.ConfigurationSpace
        Flat names join the HDL keys with ``:``; a conditional choice ``name(choice)`` becomes the categorical
        ``name:__choice__`` and its alternative ``A``'s hyperparameters ``name:A:...`` are active only when it
        is ``"A"``. The ``q`` types keep their step in ``meta["q"]``: ConfigSpace 1.x has no grids, so
        UltraOpt's samplers and optimizers honour it, while ``sample_configuration`` of the space itself (or
        another library given the space) draws off-grid values.

    Raises
    ------
    HDLError
        A ``ValueError`` whose message names the offending key path and says what is wrong.
    """
    parsed = parse_hdl(hdl)
    conditions, forbiddens = resolve_special_keys(parsed)
    space = ConfigurationSpace()
    space.add(list(parsed.hyperparameters.values()))
    _add_conditions(space, parsed, conditions)
    try:
        _add_forbiddens(space, forbiddens)
    except _ForbiddenDefault as exc:
        # The defaults the user did not write are ours to choose: choose some that no combination forbids.
        adjusted = _with_allowed_defaults(hdl, parsed, _copy(space, with_conditions=True), forbiddens)
        if adjusted is None:
            raise exc.refused() from None
        return hdl2cs(adjusted)
    logger.debug(
        "compiled an HDL into %d hyperparameters, %d conditions, %d forbidden clauses",
        len(space),
        len(space.conditions),
        len(space.forbidden_clauses),
    )
    return space


def as_config_space(space: Mapping[str, Any] | ConfigurationSpace) -> ConfigurationSpace:
    """Return ``space`` itself if it is a ``ConfigurationSpace``, else compile it as an HDL dict.

    Raises
    ------
    TypeError
        If ``space`` is neither, naming its type.
    HDLError
        If ``space`` is a malformed HDL.
    """
    if isinstance(space, ConfigurationSpace):
        return space
    if isinstance(space, Mapping):
        return hdl2cs(space)
    raise TypeError(
        f"a search space must be an HDL dict or a ConfigSpace.ConfigurationSpace, got {type(space).__name__}"
    )


def _add_conditions(space: ConfigurationSpace, parsed: ParsedHDL, specs: list[ConditionSpec]) -> None:
    """Give each conditional hyperparameter one condition: its branch and its special keys, all to hold."""
    by_child: dict[str, list[ConditionSpec]] = {}
    for spec in specs:
        by_child.setdefault(spec.child, []).append(spec)
    conditions: list[tuple[ConditionLike, KeyPath, str]] = []
    for name, hp in parsed.hyperparameters.items():
        own = by_child.get(name, [])
        branches = parsed.branches[name]
        # A parent inside the same alternative is active only when that alternative is chosen, which then
        # need not be said again.
        implied = any(spec.parent.startswith(branches[-1].prefix) for spec in own) if branches else True
        if not own and implied:
            continue
        where = own[-1].path if own else parsed.paths[name]
        try:
            parts = [_condition(space, spec) for spec in own]
            if not implied:
                branch = branches[-1]
                parts.insert(0, EqualsCondition(hp, space[branch.choice], branch.alternative))
        except ValueError as exc:
            raise HDLError(where, f"the conditions of '{name}' are not valid: {exc}") from exc
        condition = parts[0] if len(parts) == 1 else AndConjunction(*parts)
        conditions.append((condition, where, f"the conditions of '{name}'"))
    if not conditions:
        return
    # ConfigSpace rebuilds its graph on every add (one by one, 500 conditions took minutes): add all at once
    # and look for the culprit only when that fails.
    try:
        space.add([condition for condition, _, _ in conditions])
    except ValueError:
        _raise_first_bad(_copy(space, with_conditions=False), conditions)
        raise


def _copy(space: ConfigurationSpace, with_conditions: bool) -> ConfigurationSpace:
    copy = ConfigurationSpace()
    copy.add(list(space.values()))
    if with_conditions:
        copy.add(list(space.conditions))
    return copy


class _ForbiddenDefault(HDLError):
    """A forbidden combination holds for the default configuration: other defaults are looked for before the user
    sees it (:meth:`refused`)."""

    def __init__(self, path: KeyPath, what: str) -> None:
        super().__init__(path, f"{what} holds for the default configuration, and no config that keeps the "
                               f"'_default' values written passes every forbidden combination (none of "
                               f"{_DEFAULT_SEARCH_DRAWS} random draws did): change a '_default', or leave more "
                               "combinations allowed")
        self.where = path

    def refused(self) -> HDLError:
        """The same error, as the public class."""
        return HDLError(self.where, self.problem)


# Random configs drawn, at most, to find defaults that no forbidden combination rules out.
_DEFAULT_SEARCH_DRAWS = 4096


def _with_allowed_defaults(
    hdl: Mapping[str, Any], parsed: ParsedHDL, space: ConfigurationSpace, specs: list[ForbiddenSpec]
) -> dict[str, Any] | None:
    """A copy of ``hdl`` whose default configuration no forbidden combination rules out, found by random draws
    that keep the defaults the user wrote and those of hyperparameters that decide no combination, changing as
    few others as it can; ``None`` when no draw passes (``space``: the hyperparameters and conditions only)."""
    clauses = [_forbidden(space, spec) for spec in specs]
    named = {name for spec in specs for name, _ in spec.clauses}
    deciding = set(named)
    unvisited = list(deciding)
    while unvisited:  # and their ancestors: they decide whether a clause applies
        for parent in space.parents_of[unvisited.pop()]:
            if parent.name not in deciding:
                deciding.add(parent.name)
                unvisited.append(parent.name)
    defaults = {name: plain_scalar(hp.default_value) for name, hp in space.items()}
    fixed = {name: value for name, value in defaults.items() if name not in deciding or _written(hdl, parsed, name)}
    allowed = draw_allowed_configs(space, clauses, _DEFAULT_SEARCH_DRAWS, np.random.default_rng(0), fixed)
    if not allowed:
        return None

    def moves(config: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in config.items() if not same_scalar(value, defaults[name])}

    def cost(config: dict[str, Any]) -> tuple[int, int, int]:
        # a hyperparameter of a combination moves before the choice that activates it (which would leave the
        # branch the user put first), then the fewest defaults moved, then the earliest options
        moved = moves(config)
        return (sum(name not in named for name in moved), len(moved),
                sum(_option_index(space[name], value) for name, value in moved.items()))

    moved = moves(min(allowed, key=cost))
    if not moved:  # the defaults pass our check but not ConfigSpace's: another compile would loop
        return None
    adjusted = copy.deepcopy(dict(hdl))
    for name, value in moved.items():
        _at(adjusted, parsed.paths[name])[_DEFAULT_KEY] = value
    logger.info("HDL: the defaults were forbidden together; now %s", moved)
    return adjusted


def _option_index(hp: Any, value: Any) -> int:
    """Where ``value`` is among the options of a choice (0 for other hyperparameters)."""
    if isinstance(hp, (CategoricalHyperparameter, OrdinalHyperparameter)):
        options = hp.choices if isinstance(hp, CategoricalHyperparameter) else hp.sequence
        return find_choice(options, value) or 0
    return 0


def _written(hdl: Mapping[str, Any], parsed: ParsedHDL, name: str) -> bool:
    """Whether the user wrote ``name``'s default (a constant is its own)."""
    definition = _at(hdl, parsed.paths[name])
    return not isinstance(definition, Mapping) or _DEFAULT_KEY in definition


def _at(hdl: Mapping[str, Any], path: KeyPath) -> Any:
    for key in path:
        hdl = hdl[key]
    return hdl


def _raise_first_bad(space: ConfigurationSpace, items: list[tuple[Any, KeyPath, str]]) -> None:
    """Add ``(item, path, what)`` one by one to a copy of the space; raise for the first one refused."""
    for item, where, what in items:
        try:
            space.add(item)
        except CyclicDependancyError as exc:
            raise HDLError(where, f"{what} form a cycle") from exc
        except ForbiddenValueError as exc:
            if (names := _forbids_every_value(space, item)) is not None:
                raise HDLError(where, f"{what} forbids every value of {names}: no config of the space is allowed "
                                      "(a forbidden combination must leave some value out)") from exc
            raise _ForbiddenDefault(where, what) from exc
        except ValueError as exc:
            raise HDLError(where, f"ConfigSpace refuses {what}: {exc}") from exc


def _forbids_every_value(space: ConfigurationSpace, forbidden: Any) -> list[str] | None:
    """The names of ``forbidden``'s hyperparameters when it forbids every one of their values and they are always
    active (no config escapes it); ``None`` otherwise."""
    clauses = forbidden.components if isinstance(forbidden, ForbiddenAndConjunction) else [forbidden]
    names = []
    for clause in clauses:
        if not isinstance(clause, (ForbiddenInClause, ForbiddenEqualsClause)):
            return None
        hp = clause.hyperparameter
        values = list(clause.values) if isinstance(clause, ForbiddenInClause) else [clause.value]
        options = (hp.choices if isinstance(hp, CategoricalHyperparameter)
                   else hp.sequence if isinstance(hp, OrdinalHyperparameter) else None)
        if options is None or space.parent_conditions_of[hp.name] or any(o not in values for o in options):
            return None
        names.append(hp.name)
    return names


def _condition(space: ConfigurationSpace, spec: ConditionSpec) -> EqualsCondition | InCondition:
    child, parent = space[spec.child], space[spec.parent]
    if len(spec.values) == 1:
        return EqualsCondition(child, parent, spec.values[0])
    return InCondition(child, parent, list(spec.values))


def _add_forbiddens(space: ConfigurationSpace, specs: list[ForbiddenSpec]) -> None:
    forbiddens = [(_forbidden(space, spec), spec.path, "this forbidden combination") for spec in specs]
    if not forbiddens:  # even an empty add costs a rebuild of the graph
        return
    try:
        space.add([forbidden for forbidden, _, _ in forbiddens])
    except ValueError:
        _raise_first_bad(_copy(space, with_conditions=True), forbiddens)
        raise


def _forbidden(space: ConfigurationSpace, spec: ForbiddenSpec) -> ForbiddenLike:
    clauses = [
        ForbiddenEqualsClause(space[name], values[0])
        if len(values) == 1
        else ForbiddenInClause(space[name], list(values))
        for name, values in spec.clauses
    ]
    return clauses[0] if len(clauses) == 1 else ForbiddenAndConjunction(*clauses)
