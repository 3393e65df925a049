"""JSON forms of an HDL and of a compiled space. Nothing read back is ever evaluated: ``json`` only.

An HDL round-trips exactly: values keep their types (``1``, ``1.0``, ``True``, ``None`` and ``"True"``
stay apart) and dicts with keys that JSON objects cannot hold (``{True: [...]}`` in ``__activate``) are
written as ``{"__items__": [[key, value], ...]}``. The only change is that tuples come back as lists, which
the HDL treats alike. A space is written with ConfigSpace's own serialized dict, which keeps ``meta["q"]``
and the Python types of choices, constants and defaults.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ConfigSpace import ConfigurationSpace

from ultraopt.hdl.compile import as_config_space
from ultraopt.hdl.errors import HDLError, KeyPath
from ultraopt.hdl.values import is_json_scalar, type_name
from ultraopt.jsonable import plain_scalar

__all__ = ["hdl_from_json", "hdl_to_json", "space_from_json", "space_to_json"]

#: Marks a dict written as a list of pairs because its keys are not all strings.
_ITEMS = "__items__"


def hdl_to_json(hdl: Mapping[str, Any], indent: int | None = None) -> str:
    """Write an HDL dict as JSON that :func:`hdl_from_json` reads back to an equal dict.

    Parameters
    ----------
    hdl : dict
        Made of dicts, lists, tuples and JSON scalars (numpy scalars are written as Python ones).
    indent : int, optional
        Passed to :func:`json.dumps`.

    Raises
    ------
    HDLError
        A ``ValueError`` naming the key of a value that has no JSON form (an object, a NaN, ...).
    """
    if not isinstance(hdl, Mapping):
        raise HDLError((), f"an HDL must be a dict, got {type_name(hdl)}")
    return json.dumps(_encode(hdl, ()), indent=indent, allow_nan=False)


def hdl_from_json(text: str) -> dict[str, Any]:
    """Read an HDL written by :func:`hdl_to_json` (or any JSON object) back into a dict.

    Raises
    ------
    ValueError
        If ``text`` is not JSON or not a JSON object.
    """
    try:
        hdl = _decode(json.loads(text, parse_constant=_reject_constant))
    except TypeError as exc:  # an "__items__" list whose keys are not scalars
        raise ValueError(f"not the JSON of an HDL: {exc}") from exc
    if not isinstance(hdl, dict):
        raise ValueError(f"an HDL in JSON must be an object, got {type_name(hdl)}")
    return hdl


def space_to_json(space: ConfigurationSpace | Mapping[str, Any], indent: int | None = None) -> str:
    """Write a search space (a ``ConfigurationSpace`` or an HDL dict, compiled first) as JSON."""
    return json.dumps(as_config_space(space).to_serialized_dict(), indent=indent, allow_nan=False)


def space_from_json(text: str) -> ConfigurationSpace:
    """Read a space written by :func:`space_to_json`.

    Raises
    ------
    ValueError
        If ``text`` is not the JSON of a serialized ``ConfigurationSpace``.
    """
    serialized = json.loads(text, parse_constant=_reject_constant)
    if not isinstance(serialized, dict) or "hyperparameters" not in serialized:
        raise ValueError("not the JSON of a serialized ConfigurationSpace (no 'hyperparameters' entry)")
    try:
        return ConfigurationSpace.from_serialized_dict(serialized)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not the JSON of a valid ConfigurationSpace: {exc}") from exc


def _encode(value: Any, path: KeyPath) -> Any:
    value = plain_scalar(value)
    if isinstance(value, Mapping):
        keys = list(value)
        if all(isinstance(key, str) for key in keys) and keys != [_ITEMS]:
            return {key: _encode(item, (*path, key)) for key, item in value.items()}
        pairs = []
        for key, item in value.items():
            if not is_json_scalar(key):
                raise HDLError((*path, str(key)), f"a dict key must be a JSON scalar, got {type_name(key)}")
            pairs.append([plain_scalar(key), _encode(item, (*path, str(key)))])
        return {_ITEMS: pairs}
    if isinstance(value, (list, tuple)):
        *above, last = path  # never empty: the root is a dict
        return [_encode(item, (*above, f"{last}[{index}]")) for index, item in enumerate(value)]
    if not is_json_scalar(value):
        raise HDLError(path, f"{value!r} ({type_name(value)}) has no JSON form")
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if list(value) == [_ITEMS] and isinstance(value[_ITEMS], list):
            return {key: _decode(item) for key, item in value[_ITEMS]}
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid value in a search space")
