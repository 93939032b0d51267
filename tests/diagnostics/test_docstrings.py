"""The docstring examples of the diagnostics and of the training doctor run and show what they say."""

import pytest
from doctest_check import run_docstring_examples

MODULES = ["nerve.diagnostics", "nerve.diagnostics.gradients", "nerve.diagnostics.activations",
           "nerve.diagnostics.nonfinite", "nerve.train.doctor"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = run_docstring_examples(name)
    assert result.attempted > 0, f"{name} has no docstring example"
