"""Every docstring example in nerve.classic (and the new margin losses) runs as shown."""

import pytest
from doctest_check import run_docstring_examples

MODULES = ["nerve.classic", "nerve.classic.linear", "nerve.classic.logistic",
           "nerve.classic.perceptron", "nerve.classic.svm", "nerve.classic.sparse",
           "nerve.classic.factorization", "nerve.classic.neural", "nerve.functional.loss",
           "nerve.nn.loss", "nerve.metrics.classification"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = run_docstring_examples(name)
    assert result.attempted > 0
