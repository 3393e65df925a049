"""The examples in the docstrings run and print what they say."""

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import ultraopt


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(ultraopt.__path__, "ultraopt."):
        if info.name.endswith("__main__"):
            continue
        spec = importlib.util.find_spec(info.name)
        if spec is not None and spec.origin and ">>> " in Path(spec.origin).read_text(encoding="utf-8"):
            names.append(info.name)
    return names


MODULES = _modules_with_examples()


def test_the_examples_are_found():
    assert "ultraopt.facade.fmin" in MODULES and len(MODULES) >= 8


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (see above)"
