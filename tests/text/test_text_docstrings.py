"""Every docstring example in nerve.text runs as shown."""

import pytest
from doctest_check import run_docstring_examples

MODULES = ["nerve.text", "nerve.text.tokenizers", "nerve.text.bpe",
           "nerve.text.vectorize", "nerve.text.masking",
           "nerve.text.corpus", "nerve.text.word2vec"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = run_docstring_examples(name)
    assert result.attempted > 0
