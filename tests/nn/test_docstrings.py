"""Every docstring example in nerve.nn's core files and nerve.models runs and shows what it says."""
import doctest
import importlib

import pytest

MODULES = ["nerve.nn", "nerve.nn.module", "nerve.nn.parameter", "nerve.nn.container", "nerve.nn.linear",
           "nerve.nn.shape", "nerve.nn.activation", "nerve.nn.loss", "nerve.nn.init", "nerve.nn.summary",
           "nerve.nn.utils.convert", "nerve.models", "nerve.models.mlp"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has no docstring example"
