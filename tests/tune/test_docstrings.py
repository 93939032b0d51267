"""Every docstring example in nerve.tune and the learning-paradigm modules runs as shown."""

import pytest
from doctest_check import run_docstring_examples

MODULES = ["nerve.tune.search", "nerve.train.distill", "nerve.models.features", "nerve.nn.utils.receptive",
           "nerve.nn.utils.stateless"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = run_docstring_examples(name)
    assert result.attempted > 0, f"{name} has no docstring example"
