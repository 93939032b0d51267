"""Every docstring example in nerve.text runs as shown."""
import doctest
import importlib

import pytest

MODULES = ["nerve.text", "nerve.text.tokenizers", "nerve.text.bpe",
           "nerve.text.vectorize", "nerve.text.masking",
           "nerve.text.corpus", "nerve.text.word2vec"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
