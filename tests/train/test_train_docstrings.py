"""Every docstring example in nerve.io and nerve.train runs and shows what it says."""

import pytest
from doctest_check import run_docstring_examples

MODULES = ["nerve.io.atomic", "nerve.io.tensors", "nerve.io.jsonfile", "nerve.io.state",
           "nerve.train.trainer", "nerve.train.guards"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = run_docstring_examples(name)
    assert result.attempted > 0, f"{name} has no docstring example"
