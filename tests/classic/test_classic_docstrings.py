"""Every docstring example in nerve.classic (and the new margin losses) runs as shown."""
import doctest
import importlib

import pytest

MODULES = ["nerve.classic", "nerve.classic.linear", "nerve.classic.logistic",
           "nerve.classic.perceptron", "nerve.classic.svm", "nerve.classic.sparse",
           "nerve.classic.factorization", "nerve.classic.neural", "nerve.functional.loss",
           "nerve.nn.loss", "nerve.metrics.classification"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
