"""Run the docstring examples of every ember module (they are part of the documentation)."""

import doctest
import importlib
import pkgutil

import pytest

import ember

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(ember.__path__, prefix="ember.")
    if "__main__" not in m.name
)


# modules whose examples need an optional package
OPTIONAL = {"ember.onnx": "onnx", "ember.serve": "starlette"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    for prefix, package in OPTIONAL.items():
        if name == prefix or name.startswith(prefix + "."):
            pytest.importorskip(package)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
