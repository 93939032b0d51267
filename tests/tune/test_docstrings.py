"""Every docstring example in nerve.tune and the learning-paradigm modules runs as shown."""
import doctest
import importlib

import pytest

MODULES = ["nerve.tune.search", "nerve.train.distill", "nerve.models.features", "nerve.nn.utils.receptive",
           "nerve.nn.utils.stateless"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has no docstring example"
