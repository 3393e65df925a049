"""``layering_config``: a flat config as the nested dict a user builds models from; ``flat_config``: back."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ultraopt.hdl.parse import CHOICE_NAME, SEPARATOR
from ultraopt.jsonable import plain_scalar

__all__ = ["flat_config", "layering_config"]

_CHOICE_TAIL = SEPARATOR + CHOICE_NAME
#: "The dict of a chosen alternative" in ``_put`` (not ``None``: configs hold ``None`` values).
_BRANCH = object()


def layering_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Nest a flat config by its ``:``-joined names; a conditional choice's chosen branch becomes a key.

    Parameters
    ----------
    config : mapping
        A flat config of a space compiled from an HDL (active hyperparameters only), e.g.
        ``{"est:__choice__": "svc", "est:svc:C": 1.0, "seed": 0}``. A ``Configuration`` works too.

    Returns
    -------
    dict
        ``{"est": {"svc": {"C": 1.0}}, "seed": 0}``: ``"a:b:c": v`` becomes ``{"a": {"b": {"c": v}}}`` and
        ``"name:__choice__": "A"`` becomes ``{"name": {"A": {...}}}`` holding alternative ``A``'s
        hyperparameters (``{}`` for an empty alternative). Values are Python scalars of their own type (a bool
        stays a bool, an int an int; numpy scalars become Python ones).

    Raises
    ------
    ValueError
        If a value lies in an alternative that is not the chosen one, a choice is not a string, or two names
        collide (``"a"`` and ``"a:b"``); the message names the key.

    Examples
    --------
    >>> layering_config({"est:__choice__": "lr", "scaler": "std"})
    {'est': {'lr': {}}, 'scaler': 'std'}
    """
    chosen: dict[str, Any] = {}
    for name, value in config.items():
        if str(name).endswith(_CHOICE_TAIL):
            value = plain_scalar(value)
            if not isinstance(value, str):
                raise ValueError(f"config key '{name}': a chosen alternative must be a string, got {value!r}")
            chosen[str(name)[: -len(_CHOICE_TAIL)]] = value
    nested: dict[str, Any] = {}
    for name, value in config.items():
        name = str(name)
        if name.endswith(_CHOICE_TAIL):
            parts = [*name[: -len(_CHOICE_TAIL)].split(SEPARATOR), chosen[name[: -len(_CHOICE_TAIL)]]]
            _check_branch(name, parts, chosen)
            _put(nested, parts, _BRANCH, name)
        else:
            parts = name.split(SEPARATOR)
            _check_branch(name, parts, chosen)
            _put(nested, parts, plain_scalar(value), name)
    return nested


def _check_branch(name: str, parts: list[str], chosen: Mapping[str, str]) -> None:
    """Refuse a value under an alternative other than the one its choice took."""
    for depth in range(1, len(parts)):
        choice = SEPARATOR.join(parts[:depth])
        if choice in chosen and parts[depth] != chosen[choice]:
            raise ValueError(
                f"config key '{name}' lies in alternative '{parts[depth]}' but '{choice}{_CHOICE_TAIL}' is "
                f"{chosen[choice]!r}"
            )


def _put(nested: dict[str, Any], parts: list[str], value: Any, name: str) -> None:
    """Set ``value`` at ``parts``; a ``_BRANCH`` there is a dict that may already hold the branch's values."""
    node = nested
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValueError(f"config key '{name}' collides with '{SEPARATOR.join(parts[: depth + 1])}'")
        node = child
    last = parts[-1]
    if value is _BRANCH and isinstance(node.get(last, {}), dict):
        node.setdefault(last, {})
    elif last in node:
        raise ValueError(f"config key '{name}' collides with another key of the config")
    else:
        node[last] = value


def flat_config(config: Mapping[str, Any], names: Collection[str]) -> dict[str, Any]:
    """The flat config of a nested one, as :func:`layering_config` makes it or as the HDL nests its keys.

    Parameters
    ----------
    config : mapping
        E.g. ``{"est": {"svc": {"C": 1.0}}, "seed": 0}``; flat keys may be mixed in (``{"est:svc:C": 1.0}``).
    names : collection of str
        The hyperparameter names of the space: they tell a choice (``"est:__choice__"``) from a group of
        hyperparameters.

    Returns
    -------
    dict
        ``{"est:__choice__": "svc", "est:svc:C": 1.0, "seed": 0}``.

    Raises
    ------
    ValueError
        If a choice is not given as one alternative (``{"est": {"svc": {...}}}``), or a hyperparameter's value is
        a dict; the message names the key.
    """
    flat: dict[str, Any] = {}
    _flatten(config, "", names, flat)
    return flat


def _flatten(node: Mapping[str, Any], prefix: str, names: Collection[str], flat: dict[str, Any]) -> None:
    for key, value in node.items():
        name = prefix + str(key)
        if not isinstance(value, Mapping):
            flat[name] = value
        elif name in names:
            raise ValueError(f"the value of hyperparameter '{name}' must be a scalar, got {dict(value)!r:.200}")
        elif name + _CHOICE_TAIL in names:
            if len(value) != 1 or not isinstance(value[next(iter(value))], Mapping):
                raise ValueError(f"config key '{name}' is a choice: give the chosen alternative with its values, as "
                                 f"{{'{key}': {{'<alternative>': {{...}}}}}}, got {dict(value)!r:.200}")
            (branch, values), = value.items()
            flat[name + _CHOICE_TAIL] = branch
            _flatten(values, f"{name}{SEPARATOR}{branch}{SEPARATOR}", names, flat)
        else:
            _flatten(value, name + SEPARATOR, names, flat)
