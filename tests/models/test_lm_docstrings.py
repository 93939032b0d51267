"""Every docstring example of the language-model pieces runs as shown."""

import pytest
from doctest_check import run_docstring_examples

MODULES = ["nerve.text.chars", "nerve.models.gpt", "nerve.models.charlstm", "nerve.models.sampling",
           "nerve.models.configs", "nerve.runs.text"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = run_docstring_examples(name)
    assert result.attempted > 0
