"""Every docstring example of the language-model pieces runs as shown."""
import doctest
import importlib

import pytest

MODULES = ["nerve.text.chars", "nerve.models.gpt", "nerve.models.charlstm", "nerve.models.sampling",
           "nerve.models.configs", "nerve.runs.text"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
