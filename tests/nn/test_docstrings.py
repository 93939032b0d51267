"""Every docstring example in nerve.nn's core files and nerve.models runs and shows what it says."""

import pytest
from doctest_check import run_docstring_examples

MODULES = ["nerve.nn", "nerve.nn.module", "nerve.nn.parameter", "nerve.nn.container", "nerve.nn.linear",
           "nerve.nn.shape", "nerve.nn.activation", "nerve.nn.loss", "nerve.nn.init", "nerve.nn.summary",
           "nerve.nn.utils.convert", "nerve.models", "nerve.models.mlp"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = run_docstring_examples(name)
    assert result.attempted > 0, f"{name} has no docstring example"
