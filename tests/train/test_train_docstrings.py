"""Every docstring example in nerve.io and nerve.train runs and shows what it says."""
import doctest
import importlib

import pytest

MODULES = ["nerve.io.atomic", "nerve.io.tensors", "nerve.io.jsonfile", "nerve.io.state",
           "nerve.train.trainer", "nerve.train.guards"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has no docstring example"
