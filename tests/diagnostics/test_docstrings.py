"""The docstring examples of the diagnostics and of the training doctor run and show what they say."""
import doctest
import importlib

import pytest

MODULES = ["nerve.diagnostics", "nerve.diagnostics.gradients", "nerve.diagnostics.activations",
           "nerve.diagnostics.nonfinite", "nerve.train.doctor"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has no docstring example"
