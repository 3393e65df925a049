"""Malformed HDLs raise a ``ValueError`` that names the offending key path and says what is wrong."""

from __future__ import annotations

import pickle
import re
from typing import Any

import pytest

from ultraopt.hdl import HDLError, hdl2cs


def _hp(hdl_type: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"_type": hdl_type, "_value": value, **extra}


def _u(low: Any = 0, high: Any = 1, **extra: Any) -> dict[str, Any]:
    return _hp("uniform", [low, high], **extra)


def _c(*options: Any, **extra: Any) -> dict[str, Any]:
    return {"_type": "choice", "_value": list(options), **extra}


# (id, hdl, key path named in the message, what the message must say)
CASES: list[tuple[str, Any, str, str]] = [
    (
        "unknown type, deep",
        {"estimator(choice)": {"svc": {"C": _hp("unifrom", [0, 1])}}},
        "estimator(choice):svc:C",
        "unknown _type 'unifrom'",
    ),
    ("missing _value", {"a": {"_type": "uniform"}}, "a", "missing '_value'"),
    ("missing _type", {"a": {"_value": [0, 1]}}, "a", "needs '_type'"),
    ("misspelt _value", {"a": {"_type": "uniform", "_valeu": [0, 1]}}, "a", "did you mean '_value'"),
    ("misspelt _default", {"a": _u(_defualt=0.5)}, "a", "'_defualt'"),
    ("value too long", {"a": _hp("uniform", [0, 1, 0.1])}, "a", "use 'quniform'"),
    ("q missing", {"a": _hp("quniform", [0, 1])}, "a", "q must be given explicitly"),
    ("value not a list", {"a": {"_type": "choice", "_value": "abc"}}, "a", "must be a list of options"),
    ("low >= high", {"sub": {"a": _u(1, 1)}}, "sub:a", "low 1.0 must be below high 1.0"),
    ("log with low 0", {"a": _hp("loguniform", [0, 1])}, "a", "needs low > 0"),
    ("int log low < 0", {"a": _hp("int_loguniform", [-1, 10])}, "a", "needs low > 0"),
    ("q <= 0", {"a": _hp("quniform", [0, 1, 0])}, "a", "q of 'quniform' must be positive"),
    ("q not dividing", {"a": _hp("quniform", [0, 1, 0.3])}, "a", "not a whole multiple of q"),
    ("int q not dividing", {"a": _hp("int_quniform", [0, 10, 3])}, "a", "multiple of q = 3"),
    ("int bound not integral", {"a": _hp("int_uniform", [1, 10.5])}, "a", "must be an integer"),
    ("int q not integral", {"a": _hp("int_quniform", [0, 10, 2.5])}, "a", "must be an integer"),
    ("NaN bound", {"a": _u(float("nan"), 1)}, "a", "must be a finite number"),
    ("int bound beyond int64", {"a": _hp("int_uniform", [0, 10**30])}, "a", "must be at most 2**53"),
    ("int q bound beyond int64", {"a": _hp("int_quniform", [0, 10**30, 10])}, "a", "must be at most 2**53"),
    ("bound beyond float", {"a": _u(0, 10**400)}, "a", "high of 'uniform' is too large for a float"),
    ("range too wide to encode", {"a": _u(0, 1e300)}, "a", "the range [0.0, 1e+300] of 'uniform' is too wide"),
    ("range wider than a float", {"a": _u(-1e308, 1e308, _default=0.0)}, "a", "[-1e+308, 1e+308] of 'uniform' is"),
    ("bool bound", {"a": _u(False, 1)}, "a", "must be a finite number"),
    ("string bound", {"a": _u("0", 1)}, "a", "must be a finite number"),
    ("default outside", {"a": _u(0, 1, _default=2)}, "a", "_default 2 is outside [0.0, 1.0]"),
    ("default off grid", {"a": _hp("quniform", [0, 1, 0.25], _default=0.3)}, "a", "not on"),
    ("default of a wrong type", {"a": _u(_default="0.5")}, "a", "must be a number"),
    ("default None of a number", {"a": _u(_default=None)}, "a", "must be a number"),
    ("int default not integral", {"a": _hp("int_uniform", [0, 9], _default=2.5)}, "a", "integer"),
    ("choice default not an option", {"a": _c("x", "y", _default="z")}, "a", "'z' (str) is not one of"),
    ("choice default True for 1", {"a": _c(0, 1, _default=True)}, "a", "True (bool) is not one of"),
    ("empty choice", {"a": _c()}, "a", "empty list of options"),
    ("duplicate choice", {"a": _c("x", "y", "x")}, "a", "duplicate option 'x'"),
    ("1 and True", {"a": _c(1, True)}, "a", "1 and True are equal in Python"),
    ("1 and 1.0", {"a": _c(1, 1.0)}, "a", "duplicate option 1.0"),
    ("non-scalar choice", {"a": _c("x", ["y"])}, "a", "not a JSON scalar"),
    ("NaN choice", {"a": _c(1.0, float("nan"))}, "a", "not a JSON scalar"),
    ("object choice", {"a": _c(object)}, "a", "not a JSON scalar"),
    ("colon in name", {"a:b": 1}, "a:b", "contains ':'"),
    ("name starting with _ in alternative", {"e(choice)": {"_x": {}}}, "e(choice):_x", "starts with '_'"),
    ("hyperparameter name starting with _", {"_lr": _u()}, "_lr", "starts with '_'"),
    ("nested name starting with _", {"m": {"_lr": _u(), "depth": 3}}, "m:_lr", "starts with '_'"),
    ("unknown suffix", {"e(chioce)": {"a": {}}}, "e(chioce)", "unknown suffix '(chioce)'"),
    ("defined twice", {"e": 1, "e(choice)": {"a": {}}}, "e(choice)", "'e' is defined twice"),
    ("non-string key", {1: 2}, "1", "keys must be strings"),
    ("list constant", {"layers": [64, 64]}, "layers", "constant must be a JSON scalar"),
    ("unknown special key", {"a": 1, "__activat": {}}, "__activat", "unknown special key"),
    ("alternative not a dict", {"est(choice)": {"svc": 1}}, "est(choice):svc", "must be a sub-space dict"),
    (
        "alternative is a hyperparameter",
        {"est(choice)": {"svc": _u()}},
        "est(choice):svc",
        "a hyperparameter definition",
    ),
    ("choice of values as a list", {"est(choice)": ["a", "b"]}, "est(choice)", "maps alternative names"),
    ("empty conditional choice", {"est(choice)": {}}, "est(choice)", "at least one alternative"),
    (
        "special key among alternatives",
        {"est(choice)": {"a": {}, "__forbidden": []}},
        "est(choice):__forbidden",
        "special keys go inside an alternative",
    ),
    (
        "default alternative unknown",
        {"est(choice)": {"a": {}, "_default": "b"}},
        "est(choice):_default",
        "default alternative 'b' is not one of ['a']",
    ),
    (
        "deep path",
        {"est(choice)": {"svc": {"kernel(choice)": {"poly": {"d": _hp("int_uniform", [5, 2])}}}}},
        "est(choice):svc:kernel(choice):poly:d",
        "low 5 must be below high 2",
    ),
    (
        "condition on an unknown hyperparameter",
        {"a": _c(1, 2), "__condition": [{"_child": "b", "_parent": "a", "_values": [1]}]},
        "__condition[0]",
        "'b' names no hyperparameter",
    ),
    (
        "activate naming an unknown parent, inside a sub-space",
        {"sub": {"a": _c(1, 2), "b": 1, "__activate": {"c": {1: ["b"]}}}},
        "sub:__activate:c",
        "'c' names no hyperparameter",
    ),
    (
        "condition value not an option",
        {"a": _c("x", "y"), "b": 1, "__condition": [{"_child": "b", "_parent": "a", "_values": ["z"]}]},
        "__condition[0]",
        "'z' (str) is not one of the options",
    ),
    (
        "activate value not an option",
        {"a": _c("x", "y"), "b": 1, "__activate": {"a": {"z": ["b"]}}},
        "__activate:a:z",
        "is not one of the options",
    ),
    (
        "condition missing a key",
        {"a": _c(1, 2), "b": 1, "__condition": [{"_child": "b", "_parent": "a"}]},
        "__condition[0]",
        "exactly ('_child', '_parent', '_values')",
    ),
    ("condition not a list", {"a": 1, "__condition": {"_child": "a"}}, "__condition", "must be a list"),
    (
        "float parent",
        {"p": _u(), "c": 1, "__condition": [{"_child": "c", "_parent": "p", "_values": [0.5]}]},
        "__condition[0]",
        "'p' is uniform, but a condition's parent must be a choice, ordinal or integer",
    ),
    (
        "own parent",
        {"p": _c(1, 2), "__condition": [{"_child": "p", "_parent": "p", "_values": [1]}]},
        "__condition[0]",
        "cannot be its own parent",
    ),
    (
        "cycle",
        {"a": _c("x", "y"), "b": _c("x", "y"), "__activate": {"a": {"x": ["b"]}, "b": {"x": ["a"]}}},
        "__activate:",
        "form a cycle",
    ),
    (
        "cycle through a conjunction",
        {
            "e(choice)": {"a": {"x": _c(1, 2)}},
            "y": _c(1, 2),
            "__activate": {"y": {1: ["e:a:x"]}, "e:a:x": {1: ["y"]}},
        },
        "__activate:",
        "form a cycle",
    ),
    (
        "two conditions on one parent",
        {
            "p": _c(1, 2),
            "c": 1,
            "__condition": [{"_child": "c", "_parent": "p", "_values": [1]}],
            "__activate": {"p": {2: ["c"]}},
        },
        "__activate:p",
        "already has a condition on 'p'",
    ),
    (
        "child is a sub-space",
        {"s": {"x": 1}, "p": _c(1, 2), "__activate": {"p": {1: ["s"]}}},
        "__activate:p:1",
        "'s' is a sub-space, not a hyperparameter",
    ),
    (
        "never active together",
        {
            "e(choice)": {"a": {"x": _c(1, 2)}, "b": {"y": _c(1, 2)}},
            "__condition": [{"_child": "e:a:x", "_parent": "e:b:y", "_values": [1]}],
        },
        "__condition[0]",
        "never active together",
    ),
    (
        "JSON string key for an integer parent",
        {"n": _hp("int_uniform", [1, 3]), "u": 5, "__activate": {"n": {"2": ["u"]}}},
        "__activate:n:2",
        "keys of a JSON object are strings",
    ),
    (
        "a string for an int option in a forbidden",
        {"a": _c(1, 2), "__forbidden": [{"a": "2"}]},
        "__forbidden[0]",
        "'2' (str) is not one of the options [1, 2] of 'a'; '2' is a string, not 2",
    ),
    (
        "a forbidden that rules out every option",  # it said to change a '_default', which cannot help
        {"a": _c(1, 2), "b": _c(3, 4), "__forbidden": [{"a": [1, 2], "b": [3, 4]}]},
        "__forbidden[0]",
        "forbids every value of ['a', 'b']: no config of the space is allowed",
    ),
    (
        "a bound that ConfigSpace rounds away",  # ConfigSpace's "illegal settings" alone said nothing of why
        {"a": _hp("uniform", [0, 1e-320])},
        "a",
        "the range [0, 1e-320] of 'uniform' has a bound smaller than 1e-13, which ConfigSpace rounds away",
    ),
    (
        "a log range reaching below what ConfigSpace keeps",  # "illegal settings", or "too narrow" when it was not
        {"eps": _hp("loguniform", [1e-15, 1e-3])},
        "eps",
        "has a bound smaller than 1e-13, which ConfigSpace rounds away (it keeps 13 decimal places): rescale",
    ),
    (
        "a range too narrow for floating point",
        {"a": _hp("uniform", [1.0, 1.0 + 1e-15])},
        "a",
        "is too narrow for floating point to map onto [0, 1]",
    ),
    ("forbidden not a list", {"a": _c(1, 2), "__forbidden": {"a": 1}}, "__forbidden", "must be a list"),
    ("forbidden empty dict", {"a": _c(1, 2), "__forbidden": [{}]}, "__forbidden[0]", "non-empty"),
    (
        "forbidden on a float",
        {"a": _c(1, 2), "f": _u(), "__forbidden": [{"a": 2}, {"f": 0.5}]},
        "__forbidden[1]",
        "a forbidden name must be a choice, ordinal or integer",
    ),
    (
        "forbidden value not an option",
        {"a": _c(1, 2), "__forbidden": [{"a": [2, 3]}]},
        "__forbidden[0]",
        "3 (int) is not one of the options",
    ),
    (
        "forbidden default configuration",
        {"a": _c("x", "y", _default="x"), "b": _c(1, 2, _default=1), "__forbidden": [{"a": "x", "b": 1}]},
        "__forbidden[0]",
        "this forbidden combination holds for the default configuration",
    ),
    (
        "forbidden across alternatives of a nested choice",
        {"e(choice)": {"a": {"k(choice)": {"p": {"x": _c(1, 2)}, "q": {"y": _c(1, 2)}}}}, "__forbidden": [
            {"e:a:k:p:x": 1, "e:a:k:q:y": 1}
        ]},
        "__forbidden[0]",
        "never active together",
    ),
    ("root is a hyperparameter", _u(), "<root>", "the HDL root is a hyperparameter definition"),
    ("root not a dict", [("a", 1)], "<root>", "must be a dict"),
]


@pytest.mark.parametrize(("hdl", "path", "problem"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_malformed_hdl_names_the_key_and_the_problem(hdl: Any, path: str, problem: str) -> None:
    with pytest.raises(ValueError) as info:
        hdl2cs(hdl)
    assert isinstance(info.value, HDLError)
    message = str(info.value)
    assert message.startswith(f"HDL key '{path}") if path.endswith(":") else f"HDL key '{path}':" in message
    assert problem in message, message


@pytest.mark.parametrize("special", [
    {"__forbidden": [{"kernel": "rbff"}]},
    {"__condition": [{"_child": "g", "_parent": "kernel", "_values": ["rbff"]}]},
    {"__activate": {"kernel": {"rbff": ["g"]}}},
])
def test_a_typo_in_a_special_key_gets_no_hint_about_strings(special: dict[str, Any]) -> None:
    # every one ended with "keys of a JSON object are strings", which does not apply to a typo
    with pytest.raises(HDLError) as info:
        hdl2cs({"kernel": _c("rbf", "poly"), "g": _u(), **special})
    assert info.value.problem == "'rbff' (str) is not one of the options ['rbf', 'poly'] of 'kernel'"


def test_there_are_many_distinct_malformed_cases() -> None:
    assert len({case[0] for case in CASES}) == len(CASES) >= 20


def test_the_error_carries_the_path_apart_from_the_problem_and_survives_pickling() -> None:
    with pytest.raises(HDLError) as info:
        hdl2cs({"m(choice)": {"a": {"x": _hp("loguniform", [0, 1])}}})
    assert info.value.path == "m(choice):a:x"
    assert re.search(r"needs low > 0", info.value.problem)
    again = pickle.loads(pickle.dumps(info.value))
    assert (type(again), str(again), again.path, again.problem) == (
        HDLError,
        str(info.value),
        info.value.path,
        info.value.problem,
    )
