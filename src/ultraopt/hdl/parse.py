"""Walking an HDL dict: every hyperparameter with its flat name, HDL key path and enclosing branches.

The walk checks the shape of the HDL and builds each hyperparameter; the special keys (``__activate``,
``__condition``, ``__forbidden``) are only collected here, because they may name hyperparameters that appear
later or deeper, and are resolved by :mod:`ultraopt.hdl.special` once everything is known.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ConfigSpace.hyperparameters import CategoricalHyperparameter, Constant, Hyperparameter

from ultraopt.hdl.errors import HDLError, KeyPath
from ultraopt.hdl.hyperparameters import build_hyperparameter, is_hyperparameter_definition
from ultraopt.hdl.values import is_json_scalar, type_name
from ultraopt.jsonable import plain_scalar

__all__ = [
    "CHOICE_NAME",
    "CHOICE_SUFFIX",
    "DEFAULT_ALTERNATIVE_KEY",
    "SEPARATOR",
    "SPECIAL_KEYS",
    "Branch",
    "ParsedHDL",
    "SpecialKey",
    "parse_hdl",
]

SEPARATOR = ":"
#: The last part of the flat name of a conditional choice's categorical, e.g. ``"estimator:__choice__"``.
CHOICE_NAME = "__choice__"
CHOICE_SUFFIX = "(choice)"
#: The key inside a conditional choice that names its default alternative (else the first one).
DEFAULT_ALTERNATIVE_KEY = "_default"
SPECIAL_KEYS = ("__activate", "__condition", "__forbidden")

_SUFFIXED = re.compile(r"^(?P<name>.*)\((?P<suffix>[^()]*)\)$")


@dataclass(frozen=True)
class Branch:
    """One alternative of a conditional choice, as seen from the hyperparameters inside it.

    Attributes
    ----------
    choice : str
        Flat name of the conditional choice's categorical, e.g. ``"estimator:__choice__"``.
    alternative : str
        The alternative, e.g. ``"svc"``.
    prefix : str
        Flat-name prefix of the alternative's sub-space, e.g. ``"estimator:svc:"``.
    """

    choice: str
    alternative: str
    prefix: str


@dataclass(frozen=True)
class SpecialKey:
    """A special key as written, with the level it belongs to (its names are relative to that level)."""

    kind: str
    value: Any
    prefix: str
    path: KeyPath


@dataclass
class ParsedHDL:
    """What the walk found, keyed by flat name in HDL order.

    Attributes
    ----------
    hyperparameters : dict
        Flat name to hyperparameter (constants and the categoricals of conditional choices included).
    paths : dict
        Flat name to the HDL key path that defined it.
    branches : dict
        Flat name to the alternatives enclosing it, outermost first (empty when unconditional).
    special_keys : list of SpecialKey
        In the order met.
    """

    hyperparameters: dict[str, Hyperparameter] = field(default_factory=dict)
    paths: dict[str, KeyPath] = field(default_factory=dict)
    branches: dict[str, tuple[Branch, ...]] = field(default_factory=dict)
    special_keys: list[SpecialKey] = field(default_factory=list)

    def add(self, hp: Hyperparameter, path: KeyPath, branches: tuple[Branch, ...]) -> None:
        """Record ``hp`` (names are unique by construction: keys hold no ``:`` and a level no repeats)."""
        assert hp.name not in self.hyperparameters, hp.name
        self.hyperparameters[hp.name] = hp
        self.paths[hp.name] = path
        self.branches[hp.name] = branches


def parse_hdl(hdl: Any) -> ParsedHDL:
    """Walk ``hdl`` and build its hyperparameters; raise :class:`~ultraopt.hdl.errors.HDLError` if bad."""
    if not isinstance(hdl, Mapping):
        raise HDLError((), f"an HDL must be a dict of names to hyperparameters, got {type_name(hdl)}")
    if is_hyperparameter_definition(hdl):
        raise HDLError((), "the HDL root is a hyperparameter definition; put it under a name: {'x': {...}}")
    parsed = ParsedHDL()
    _walk_level(hdl, "", (), (), parsed)
    return parsed


def _walk_level(
    level: Mapping[Any, Any], prefix: str, path: KeyPath, branches: tuple[Branch, ...], parsed: ParsedHDL
) -> None:
    defined_by: dict[str, str] = {}
    for key, value in level.items():
        key_path = (*path, str(key))
        if not isinstance(key, str):
            raise HDLError(key_path, f"HDL keys must be strings, got {key!r} ({type_name(key)})")
        if key.startswith("__"):
            if key not in SPECIAL_KEYS:
                raise HDLError(key_path, f"unknown special key '{key}'; expected one of {SPECIAL_KEYS}")
            parsed.special_keys.append(SpecialKey(key, value, prefix, key_path))
            continue
        name, is_choice = _split_key(key, key_path)
        if name in defined_by:
            first = defined_by[name]
            raise HDLError(key_path, f"'{name}' is defined twice at this level, by '{first}' and '{key}'")
        defined_by[name] = key
        flat = prefix + name
        if is_choice:
            _walk_choice(flat, value, key_path, branches, parsed)
        elif is_hyperparameter_definition(value):
            parsed.add(build_hyperparameter(flat, value, key_path), key_path, branches)
        elif isinstance(value, Mapping):
            _walk_level(value, flat + SEPARATOR, key_path, branches, parsed)
        else:
            parsed.add(_constant(flat, value, key_path), key_path, branches)


def _split_key(key: str, path: KeyPath) -> tuple[str, bool]:
    """The name a key defines and whether it is a conditional choice (``name(choice)``)."""
    name, is_choice = key, False
    match = _SUFFIXED.match(key)
    if match:
        if match["suffix"] != "choice":
            suffix = match["suffix"]
            raise HDLError(path, f"unknown suffix '({suffix})'; only '{CHOICE_SUFFIX}' is understood")
        name, is_choice = match["name"], True
    _check_name(name, path, "name")
    return name, is_choice


def _check_name(name: str, path: KeyPath, what: str) -> None:
    if not name:
        raise HDLError(path, f"empty {what}")
    if SEPARATOR in name:
        raise HDLError(path, f"{what} '{name}' contains ':', which joins flat names; nest a dict instead")
    if "(" in name or ")" in name:
        raise HDLError(path, f"{what} '{name}' contains a parenthesis, kept for the '{CHOICE_SUFFIX}' suffix")
    if name.startswith("_"):
        raise HDLError(path, f"{what} '{name}' starts with '_', which is kept for HDL keywords")


def _walk_choice(
    flat: str, value: Any, path: KeyPath, branches: tuple[Branch, ...], parsed: ParsedHDL
) -> None:
    if not isinstance(value, Mapping) or "_type" in value:
        what = "a hyperparameter definition" if isinstance(value, Mapping) else type_name(value)
        raise HDLError(
            path,
            f"a conditional choice maps alternative names to sub-space dicts, got {what}; "
            "for a plain choice among values write name: {'_type': 'choice', '_value': [...]} without "
            f"'{CHOICE_SUFFIX}'",
        )
    alternatives = [key for key in value if key != DEFAULT_ALTERNATIVE_KEY]
    for key in alternatives:
        if not isinstance(key, str):
            raise HDLError((*path, str(key)), f"alternative names must be strings, got {key!r}")
        if key in SPECIAL_KEYS:
            where = "inside an alternative or beside the choice, not among its alternatives"
            raise HDLError((*path, key), f"special keys go {where}")
        _check_name(key, (*path, key), "alternative")
    if not alternatives:
        raise HDLError(path, "a conditional choice needs at least one alternative")
    choice_name = flat + SEPARATOR + CHOICE_NAME
    if DEFAULT_ALTERNATIVE_KEY in value:
        default = value[DEFAULT_ALTERNATIVE_KEY]
        if default not in alternatives or not isinstance(default, str):
            problem = f"default alternative {default!r} is not one of {alternatives}"
            raise HDLError((*path, DEFAULT_ALTERNATIVE_KEY), problem)
        categorical = CategoricalHyperparameter(choice_name, alternatives, default_value=default)
    else:
        categorical = CategoricalHyperparameter(choice_name, alternatives)
    parsed.add(categorical, path, branches)
    for alternative in alternatives:
        sub_space = value[alternative]
        alternative_path = (*path, alternative)
        if not isinstance(sub_space, Mapping) or is_hyperparameter_definition(sub_space):
            what = "a hyperparameter definition" if isinstance(sub_space, Mapping) else type_name(sub_space)
            raise HDLError(
                alternative_path,
                f"an alternative of a conditional choice must be a sub-space dict ({{}} if empty): {what}",
            )
        prefix = flat + SEPARATOR + alternative + SEPARATOR
        branch = Branch(choice_name, alternative, prefix)
        _walk_level(sub_space, prefix, alternative_path, (*branches, branch), parsed)


def _constant(flat: str, value: Any, path: KeyPath) -> Constant:
    value = plain_scalar(value)
    if not is_json_scalar(value):
        hint = ""
        if isinstance(value, (list, tuple, set)):
            hint = "; for a choice among values write {'_type': 'choice', '_value': [...]}"
        raise HDLError(
            path,
            f"a constant must be a JSON scalar (str, int, finite float, bool or None), got {value!r} "
            f"({type_name(value)}){hint}",
        )
    return Constant(flat, value)
