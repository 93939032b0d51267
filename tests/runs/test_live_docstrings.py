"""The examples in the playground's library modules run as written."""
import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["nerve.runs.live", "nerve.models.playground", "nerve.serve",
                                  "nerve.diagnostics.backprop", "nerve.diagnostics.trace", "nerve.data.toy2d"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
