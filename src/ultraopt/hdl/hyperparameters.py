"""An HDL hyperparameter definition, ``{"_type": T, "_value": V, "_default": D}``, as a ConfigSpace object.

``choice`` becomes a categorical and ``ordinal`` an ordinal hyperparameter. The eight numerical types become
uniform float or integer hyperparameters, on a log scale for the ``log`` types; ConfigSpace 1.x has no
quantization, so the ``q`` types keep their grid step in ``meta["q"]`` (see :mod:`ultraopt.hdl.configs`).
"""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
    Constant,
    Hyperparameter,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)
from ConfigSpace.hyperparameters.hp_components import ROUND_PLACES

from ultraopt.hdl.configs import grid_step, snap_to_grid
from ultraopt.hdl.errors import HDLError, KeyPath
from ultraopt.hdl.values import find_choice, is_json_scalar, is_number, same_scalar, type_name
from ultraopt.jsonable import plain_scalar

__all__ = [
    "CATEGORICAL_TYPES",
    "FIELDS",
    "HDL_TYPES",
    "NUMERIC_TYPES",
    "NumericKind",
    "build_hyperparameter",
    "hdl_type_of",
    "is_hyperparameter_definition",
]

#: The keys a hyperparameter definition may hold.
FIELDS = ("_type", "_value", "_default")
# Integer bounds beyond this are not exact in the float encoding of the models.
_LARGEST_INTEGER = 2**53


@dataclass(frozen=True)
class NumericKind:
    """What a numerical ``_type`` means: integer or float, log scale or not, on a grid of step q or not."""

    integer: bool
    log: bool
    quantized: bool

    @property
    def shape(self) -> str:
        """The ``_value`` this kind takes, for messages."""
        return "[low, high, q]" if self.quantized else "[low, high]"


CATEGORICAL_TYPES = ("choice", "ordinal")
NUMERIC_TYPES: dict[str, NumericKind] = {
    "uniform": NumericKind(integer=False, log=False, quantized=False),
    "loguniform": NumericKind(integer=False, log=True, quantized=False),
    "quniform": NumericKind(integer=False, log=False, quantized=True),
    "qloguniform": NumericKind(integer=False, log=True, quantized=True),
    "int_uniform": NumericKind(integer=True, log=False, quantized=False),
    "int_loguniform": NumericKind(integer=True, log=True, quantized=False),
    "int_quniform": NumericKind(integer=True, log=False, quantized=True),
    "int_qloguniform": NumericKind(integer=True, log=True, quantized=True),
}
HDL_TYPES = (*CATEGORICAL_TYPES, *NUMERIC_TYPES)


def is_hyperparameter_definition(value: Any) -> bool:
    """Whether ``value`` is meant as a hyperparameter definition: a dict with a key like ``_type``.

    Any key with a single leading underscore counts, so that a misspelt ``_valeu`` is reported as such rather
    than read as a sub-space; but not one that holds a dict (``"_lr": {...}``), which is a misnamed sub-space or
    hyperparameter and is reported as that.
    """
    return isinstance(value, Mapping) and any(
        isinstance(key, str) and key.startswith("_") and not key.startswith("__") and not isinstance(item, Mapping)
        for key, item in value.items()
    )


def build_hyperparameter(name: str, definition: Mapping[str, Any], path: KeyPath) -> Hyperparameter:
    """Validate a hyperparameter definition and build it.

    Parameters
    ----------
    name : str
        The flat name of the hyperparameter in the space.
    definition : mapping
        ``{"_type": T, "_value": V}`` with an optional ``"_default"``; any valid value, ``0``, ``False`` and
        ``None`` included, is a default.
    path : tuple of str
        The HDL key path of the definition, for error messages.

    Returns
    -------
    ConfigSpace.hyperparameters.Hyperparameter

    Raises
    ------
    HDLError
        A ``ValueError`` naming ``path`` and what is wrong.
    """
    unknown = [key for key in definition if key not in FIELDS]
    if unknown:
        hint = ""
        for key in unknown:
            close = difflib.get_close_matches(str(key), FIELDS, n=1)
            hint += f"; did you mean '{close[0]}' for {key!r}?" if close else ""
        raise HDLError(path, f"unknown key(s) {unknown} in a hyperparameter; allowed {FIELDS}{hint}")
    if "_type" not in definition:
        raise HDLError(path, f"a hyperparameter definition needs '_type', one of {HDL_TYPES}")
    hdl_type = definition["_type"]
    if not isinstance(hdl_type, str) or hdl_type not in HDL_TYPES:
        raise HDLError(path, f"unknown _type {hdl_type!r}; expected one of {HDL_TYPES}")
    if "_value" not in definition:
        raise HDLError(path, f"missing '_value' for _type '{hdl_type}'")
    value = definition["_value"]
    # Presence, not truthiness, says whether a default is given: 0, False and None are defaults too.
    has_default = "_default" in definition
    default = plain_scalar(definition.get("_default"))
    try:
        if hdl_type in CATEGORICAL_TYPES:
            return _categorical(name, hdl_type, value, has_default, default, path)
        return _numeric(name, hdl_type, value, has_default, default, path)
    except HDLError:
        raise
    except ValueError as exc:  # a check ConfigSpace makes that ours missed: keep its words, add the path
        raise HDLError(path, str(exc)) from exc


def _categorical(
    name: str, hdl_type: str, value: Any, has_default: bool, default: Any, path: KeyPath
) -> Hyperparameter:
    options = _options(hdl_type, value, path)
    cls = CategoricalHyperparameter if hdl_type == "choice" else OrdinalHyperparameter
    if not has_default:
        return cls(name, options)
    index = find_choice(options, default)
    if index is None:
        raise HDLError(path, f"_default {_show(default)} is not one of the options {options!r}")
    return cls(name, options, default_value=options[index])


def _options(hdl_type: str, value: Any, path: KeyPath) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise HDLError(path, f"_value of '{hdl_type}' must be a list of options, got {type_name(value)}")
    if not value:
        raise HDLError(path, f"_value of '{hdl_type}' is an empty list of options")
    options = [plain_scalar(option) for option in value]
    seen: dict[Any, Any] = {}
    for option in options:
        if not is_json_scalar(option):
            raise HDLError(
                path,
                f"option {_show(option)} of '{hdl_type}' is not a JSON scalar "
                "(str, int, finite float, bool or None)",
            )
        # Hashing finds options Python calls equal (True == 1 == 1.0); say which kind of clash it is.
        if option in seen:
            other = seen[option]
            if same_scalar(other, option):
                raise HDLError(path, f"duplicate option {option!r} in '{hdl_type}'")
            raise HDLError(
                path,
                f"options {other!r} and {option!r} are equal in Python ({other!r} == {option!r}) and cannot "
                "both be options; use distinct values such as strings",
            )
        seen[option] = option
    return options


def _numeric(
    name: str, hdl_type: str, value: Any, has_default: bool, default: Any, path: KeyPath
) -> Hyperparameter:
    kind = NUMERIC_TYPES[hdl_type]
    size = 3 if kind.quantized else 2
    if not isinstance(value, (list, tuple)) or len(value) != size:
        hint = ""
        if isinstance(value, (list, tuple)) and len(value) == 2 and kind.quantized:
            hint = "; the grid step q must be given explicitly"
        elif isinstance(value, (list, tuple)) and len(value) == 3 and not kind.quantized:
            hint = f"; for a grid of step q use '{_quantized_name(hdl_type)}'"
        raise HDLError(path, f"_value of '{hdl_type}' must be {kind.shape}, got {value!r}{hint}")
    low = _number(value[0], "low", hdl_type, kind.integer, path)
    high = _number(value[1], "high", hdl_type, kind.integer, path)
    if not low < high:
        raise HDLError(path, f"low {low!r} must be below high {high!r} in '{hdl_type}'")
    if kind.log and low <= 0:
        raise HDLError(path, f"'{hdl_type}' is on a log scale and needs low > 0, got low = {low!r}")
    meta: dict[Hashable, Any] | None = None
    if kind.quantized:
        q = _number(value[2], "q", hdl_type, kind.integer, path)
        _check_step(low, high, q, hdl_type, path)
        meta = {"q": q}
    cls = UniformIntegerHyperparameter if kind.integer else UniformFloatHyperparameter
    provisional = _encodable(cls, name, low, high, kind.log, meta, hdl_type, path, written=value)
    if has_default:
        default = _checked_default(provisional, default, hdl_type, path)
    else:
        # ConfigSpace's default is the (geometric) middle, rarely on the grid.
        default = snap_to_grid(provisional, provisional.default_value)
    return cls(name, low, high, default_value=default, log=kind.log, meta=meta)


def _quantized_name(hdl_type: str) -> str:
    base = hdl_type.removeprefix("int_")
    return hdl_type[: len(hdl_type) - len(base)] + "q" + base


def _number(value: Any, what: str, hdl_type: str, integer: bool, path: KeyPath) -> int | float:
    value = plain_scalar(value)
    if not is_number(value):
        raise HDLError(path, f"{what} of '{hdl_type}' must be a finite number, got {_show(value)}")
    if not integer:
        try:
            return float(value)
        except OverflowError:  # an int beyond the largest float
            raise HDLError(path, f"{what} of '{hdl_type}' is too large for a float ({len(str(abs(value)))} "
                                     "digits)") from None
    if isinstance(value, float) and not value.is_integer():
        raise HDLError(path, f"{what} of '{hdl_type}' must be an integer, got {value!r}")
    if abs(value) > _LARGEST_INTEGER:
        raise HDLError(path, f"{what} of '{hdl_type}' must be at most 2**53 in magnitude (integers are encoded as "
                             f"floats), got {_show(value)}")
    return int(value)


def _encodable(
    cls: type[UniformIntegerHyperparameter | UniformFloatHyperparameter], name: str, low: float, high: float,
    log: bool, meta: dict[Hashable, Any] | None, hdl_type: str, path: KeyPath, written: Sequence[Any],
) -> UniformIntegerHyperparameter | UniformFloatHyperparameter:
    """The hyperparameter, unless ConfigSpace's unit-interval encoding cannot map its range back (``[0, 1e300]``
    overflows inside ConfigSpace, which then fails far from the HDL key; ``[0, 1e-320]`` it refuses as "illegal
    settings", without a word of why: that error shows the ``_value`` as ``written``)."""
    too_wide = HDLError(path, f"the range [{low!r}, {high!r}] of '{hdl_type}' is too wide to encode")
    if not math.isfinite(high - low):  # ConfigSpace would fail on the default it computes (nan)
        raise too_wide
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            hp = cls(name, low, high, log=log, meta=meta)
        except ValueError as exc:
            if any(bound != 0 and abs(bound) < 10.0**-ROUND_PLACES for bound in (low, high)):
                raise HDLError(path, f"the range [{written[0]!r}, {written[1]!r}] of '{hdl_type}' has a bound smaller "
                                     f"than 1e-{ROUND_PLACES}, which ConfigSpace rounds away (it keeps "
                                     f"{ROUND_PLACES} decimal places): rescale the hyperparameter, e.g. search its "
                                     "exponent as a 'uniform' and take 10 ** it in the objective") from exc
            if high - low > 1e-12 * max(1.0, abs(low), abs(high)):
                raise
            raise HDLError(path, f"the range [{written[0]!r}, {written[1]!r}] is too narrow for floating point to "
                                 "map onto [0, 1]: rescale the hyperparameter") from exc
        ends = np.asarray(hp.to_value(np.array([0.0, 1.0])), dtype=float)
    if not np.all(np.isfinite(ends)):
        raise too_wide
    return hp


def _check_step(low: float, high: float, q: float, hdl_type: str, path: KeyPath) -> None:
    if q <= 0:
        raise HDLError(path, f"q of '{hdl_type}' must be positive, got {q!r}")
    steps = (high - low) / q
    if steps < 1 - 1e-9 or not math.isclose(steps, round(steps), rel_tol=1e-9, abs_tol=1e-9):
        raise HDLError(
            path, f"high - low = {high - low!r} is not a whole multiple of q = {q!r} in '{hdl_type}'"
        )


def _checked_default(
    hp: UniformFloatHyperparameter | UniformIntegerHyperparameter, default: Any, hdl_type: str, path: KeyPath
) -> int | float:
    kind = NUMERIC_TYPES[hdl_type]
    if not is_number(default):
        raise HDLError(path, f"_default of '{hdl_type}' must be a number, got {_show(default)}")
    if kind.integer and isinstance(default, float) and not default.is_integer():
        raise HDLError(path, f"_default of '{hdl_type}' must be an integer, got {default!r}")
    if not hp.lower <= default <= hp.upper:
        raise HDLError(path, f"_default {default!r} is outside [{hp.lower!r}, {hp.upper!r}] of '{hdl_type}'")
    snapped = snap_to_grid(hp, default)
    if not math.isclose(snapped, default, rel_tol=1e-9, abs_tol=1e-12):
        q = grid_step(hp)
        raise HDLError(
            path, f"_default {default!r} is not on the grid {hp.lower!r} + k * {q!r} of '{hdl_type}' "
            f"(nearest: {snapped!r})"
        )
    return int(snapped) if kind.integer else float(snapped)


def _show(value: Any) -> str:
    return f"{value!r} ({type_name(value)})"


def hdl_type_of(hp: Hyperparameter) -> str:
    """The HDL ``_type`` that builds ``hp`` (``"constant"`` for a constant; the class name if none does)."""
    if isinstance(hp, CategoricalHyperparameter):
        return "choice"
    if isinstance(hp, OrdinalHyperparameter):
        return "ordinal"
    if isinstance(hp, Constant):
        return "constant"
    if isinstance(hp, (UniformFloatHyperparameter, UniformIntegerHyperparameter)):
        quantized = "q" if grid_step(hp) is not None else ""
        integer = "int_" if isinstance(hp, UniformIntegerHyperparameter) else ""
        return f"{integer}{quantized}{'log' if hp.log else ''}uniform"
    return type(hp).__name__
