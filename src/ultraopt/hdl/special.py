"""Resolving the special keys ``__activate``, ``__condition`` and ``__forbidden`` into plain specifications.

Names in a special key are relative to the level where it is written and may reach deeper with ``:``
(``"svc:kernel"``); a conditional choice is named as written (``"kernel(choice)"``), by its name alone
(``"kernel"``) or by its flat name (``"kernel:__choice__"``).

- ``__activate``: ``{parent: {value: [children]}}``; a child listed under some values of ``parent`` is active
  only when ``parent`` takes one of them. Children of one parent are gathered over all its values.
- ``__condition``: ``[{"_child": c, "_parent": p, "_values": [v, ...]}]``; ``c`` is active only when ``p`` is
  in the values (a single value may be given without a list).
- ``__forbidden``: ``[{name: value or [values], ...}, ...]``; each dict is one forbidden combination: the
  names taking those values *all at once* is forbidden (a list means "any of these").

A child with several conditions is active when all hold. Parents and forbidden names must be ``choice``,
``ordinal`` or integer hyperparameters (or conditional choices): equality on floats rarely holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
    Hyperparameter,
    OrdinalHyperparameter,
    UniformIntegerHyperparameter,
)

from ultraopt.hdl.configs import grid_step, snap_to_grid
from ultraopt.hdl.errors import HDLError, KeyPath, format_path
from ultraopt.hdl.hyperparameters import hdl_type_of
from ultraopt.hdl.parse import CHOICE_NAME, CHOICE_SUFFIX, SEPARATOR, ParsedHDL, SpecialKey
from ultraopt.hdl.values import find_choice, is_number, type_name
from ultraopt.jsonable import plain_scalar

__all__ = ["ConditionSpec", "ForbiddenSpec", "resolve_special_keys"]

_CONDITION_FIELDS = ("_child", "_parent", "_values")
#: Hyperparameters whose values can be compared for equality.
_DISCRETE = (CategoricalHyperparameter, OrdinalHyperparameter, UniformIntegerHyperparameter)


@dataclass(frozen=True)
class ConditionSpec:
    """``child`` is active only when ``parent`` takes one of ``values`` (all flat names, values canonical)."""

    child: str
    parent: str
    values: tuple[Any, ...]
    path: KeyPath


@dataclass(frozen=True)
class ForbiddenSpec:
    """Forbidden: every ``(name, values)`` of ``clauses`` holding at once."""

    clauses: tuple[tuple[str, tuple[Any, ...]], ...]
    path: KeyPath


def resolve_special_keys(parsed: ParsedHDL) -> tuple[list[ConditionSpec], list[ForbiddenSpec]]:
    """Check the special keys of ``parsed`` against its hyperparameters and turn them into specifications.

    Parameters
    ----------
    parsed : ParsedHDL
        The walked HDL.

    Returns
    -------
    conditions : list of ConditionSpec
        At most one per (child, parent) pair.
    forbiddens : list of ForbiddenSpec

    Raises
    ------
    HDLError
        Naming the special key: bad shape, unknown name, a value the parent cannot take, a parent that cannot
        be compared for equality, or names that are never active together.
    """
    resolver = _Resolver(parsed)
    conditions: list[ConditionSpec] = []
    forbiddens: list[ForbiddenSpec] = []
    for key in parsed.special_keys:
        if key.kind == "__activate":
            conditions.extend(_activate(key, resolver))
        elif key.kind == "__condition":
            conditions.extend(_condition(key, resolver))
        else:
            forbiddens.extend(_forbidden(key, resolver))
    seen: dict[tuple[str, str], ConditionSpec] = {}
    for spec in conditions:
        first = seen.setdefault((spec.child, spec.parent), spec)
        if first is not spec:
            raise HDLError(
                spec.path,
                f"'{spec.child}' already has a condition on '{spec.parent}' (at "
                f"'{format_path(first.path)}'); give all its values in one place",
            )
        resolver.check_compatible((spec.child, spec.parent), spec.path)
    for forbidden in forbiddens:
        resolver.check_compatible(tuple(name for name, _ in forbidden.clauses), forbidden.path)
    return conditions, forbiddens


def _items(key: SpecialKey, shape: str) -> list[tuple[KeyPath, Any]]:
    """The entries of a list-valued special key, each with its path ``key[i]``."""
    if not isinstance(key.value, (list, tuple)):
        raise HDLError(key.path, f"{key.kind} must be a list of {shape}, got {type_name(key.value)}")
    *above, last = key.path
    return [((*above, f"{last}[{index}]"), item) for index, item in enumerate(key.value)]


def _activate(key: SpecialKey, resolver: _Resolver) -> list[ConditionSpec]:
    if not isinstance(key.value, Mapping):
        got = type_name(key.value)
        raise HDLError(key.path, f"__activate must map parents to {{value: [children]}}, got {got}")
    specs: list[ConditionSpec] = []
    for parent_ref, by_value in key.value.items():
        path = (*key.path, str(parent_ref))
        parent = resolver.parent(parent_ref, key.prefix, path)
        if not isinstance(by_value, Mapping) or not by_value:
            raise HDLError(path, "__activate of a parent must be a non-empty {value: [children]} dict")
        values_of: dict[str, list[Any]] = {}
        for value, children in by_value.items():
            value_path = (*path, str(value))
            (canonical,) = resolver.values(parent, [value], value_path)
            if isinstance(children, str):
                children = [children]
            if not isinstance(children, (list, tuple)):
                raise HDLError(value_path, f"children must be a list of names, got {type_name(children)}")
            for child_ref in children:
                child = resolver.name(child_ref, key.prefix, value_path)
                if child == parent:
                    raise HDLError(value_path, f"'{child}' cannot be its own parent")
                values_of.setdefault(child, []).append(canonical)
        specs.extend(ConditionSpec(child, parent, tuple(values), path) for child, values in values_of.items())
    return specs


def _condition(key: SpecialKey, resolver: _Resolver) -> list[ConditionSpec]:
    specs = []
    for path, item in _items(key, "{'_child': ..., '_parent': ..., '_values': [...]} dicts"):
        if not isinstance(item, Mapping) or set(item) != set(_CONDITION_FIELDS):
            got = sorted(map(str, item)) if isinstance(item, Mapping) else type_name(item)
            raise HDLError(path, f"a condition must be a dict of exactly {_CONDITION_FIELDS}, got {got}")
        parent = resolver.parent(item["_parent"], key.prefix, path)
        child = resolver.name(item["_child"], key.prefix, path)
        if child == parent:
            raise HDLError(path, f"'{child}' cannot be its own parent")
        specs.append(ConditionSpec(child, parent, resolver.values(parent, item["_values"], path), path))
    return specs


def _forbidden(key: SpecialKey, resolver: _Resolver) -> list[ForbiddenSpec]:
    specs = []
    for path, item in _items(key, "{name: value or [values]} dicts"):
        if not isinstance(item, Mapping) or not item:
            raise HDLError(path, "a forbidden combination must be a non-empty {name: value or [values]} dict")
        clauses: dict[str, tuple[Any, ...]] = {}
        for ref, values in item.items():
            name = resolver.parent(ref, key.prefix, path, role="a forbidden name")
            if name in clauses:
                raise HDLError(path, f"'{name}' appears twice in one forbidden combination")
            clauses[name] = resolver.values(name, values, path)
        specs.append(ForbiddenSpec(tuple(clauses.items()), path))
    return specs


class _Resolver:
    """Turns names relative to a level into flat names and values into the hyperparameter's own values."""

    def __init__(self, parsed: ParsedHDL) -> None:
        self.parsed = parsed

    def name(self, ref: Any, prefix: str, path: KeyPath) -> str:
        hps = self.parsed.hyperparameters
        if not isinstance(ref, str) or not ref:
            raise HDLError(path, f"a hyperparameter name must be a non-empty string, got {ref!r}")
        parts = ref.split(SEPARATOR)
        named_choice = parts[-1].endswith(CHOICE_SUFFIX)
        parts = [part.removesuffix(CHOICE_SUFFIX) for part in parts]
        flat = prefix + SEPARATOR.join(parts)
        as_choice = flat + SEPARATOR + CHOICE_NAME
        for candidate in [as_choice] if named_choice else [flat, as_choice]:
            if candidate in hps:
                return candidate
        if any(name.startswith(flat + SEPARATOR) for name in hps):
            raise HDLError(path, f"'{ref}' is a sub-space, not a hyperparameter")
        here = [name[len(prefix) :] for name in hps if name.startswith(prefix)]
        raise HDLError(path, f"'{ref}' names no hyperparameter at this level; known here: {here[:20]}")

    def parent(self, ref: Any, prefix: str, path: KeyPath, role: str = "a condition's parent") -> str:
        name = self.name(ref, prefix, path)
        hp = self.parsed.hyperparameters[name]
        if not isinstance(hp, _DISCRETE):
            raise HDLError(
                path, f"'{ref}' is {hdl_type_of(hp)}, but {role} must be a choice, ordinal or integer"
            )
        return name

    def values(self, name: str, raw: Any, path: KeyPath) -> tuple[Any, ...]:
        """``raw`` (a value or a list of them) as values of ``name``, deduplicated, in order."""
        hp = self.parsed.hyperparameters[name]
        raw_values = list(raw) if isinstance(raw, (list, tuple)) else [raw]
        if not raw_values:
            raise HDLError(path, f"an empty list of values for '{name}'")
        values: list[Any] = []
        for value in raw_values:
            value = _value_of(hp, plain_scalar(value), path)
            if value not in values:
                values.append(value)
        return tuple(values)

    def check_compatible(self, names: tuple[str, ...], path: KeyPath) -> None:
        """Refuse names that lie in different alternatives of one choice: they are never active together."""
        chosen: dict[str, tuple[str, str]] = {}
        for name in names:
            for branch in self.parsed.branches[name]:
                other = chosen.setdefault(branch.choice, (branch.alternative, name))
                if other[0] != branch.alternative:
                    raise HDLError(
                        path,
                        f"'{other[1]}' (alternative '{other[0]}') and '{name}' (alternative "
                        f"'{branch.alternative}') of '{branch.choice}' are never active together",
                    )


def _value_of(hp: Hyperparameter, value: Any, path: KeyPath) -> Any:
    if isinstance(hp, (CategoricalHyperparameter, OrdinalHyperparameter)):
        options = list(hp.choices if isinstance(hp, CategoricalHyperparameter) else hp.sequence)
        index = find_choice(options, value)
        if index is None:
            problem = f"{value!r} ({type_name(value)}) is not one of the options {options} of '{hp.name}'"
            meant = _parsed(value)
            raise HDLError(path, problem + (_string_hint(value, meant, path) if find_choice(options, meant) is not None
                                            else ""))
        return options[index]
    assert isinstance(hp, UniformIntegerHyperparameter), hp  # the only other kind a parent may be
    if not is_number(value) or float(value) != int(value) or not hp.lower <= value <= hp.upper:
        bounds = f"[{hp.lower}, {hp.upper}]"
        problem = f"{value!r} ({type_name(value)}) is not an integer in {bounds} of '{hp.name}'"
        meant = _parsed(value)
        raise HDLError(path, problem + (_string_hint(value, meant, path) if is_number(meant) else ""))
    if snap_to_grid(hp, value) != value:
        raise HDLError(path, f"{value!r} is not on the grid of '{hp.name}' (step {grid_step(hp)})")
    return int(value)


def _parsed(value: Any) -> Any:
    """What a string such as ``"2"``, ``"true"`` or ``"null"`` reads as in JSON; anything else: itself."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _string_hint(value: Any, meant: Any, path: KeyPath) -> str:
    """A hint for a string that stands for an option of another type (``"2"`` for ``2``); nothing for a typo."""
    if not isinstance(value, str) or isinstance(meant, str):
        return ""
    hint = f"; {value!r} is a string, not {meant!r}"
    if path and path[0] == "__activate":
        hint += " (keys of a JSON object are strings: give other values in a __condition's '_values' list)"
    return hint
