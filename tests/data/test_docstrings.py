"""Every docstring example in nerve.data runs and prints what it shows."""
import doctest
import importlib

import pytest

MODULES = ["nerve.data", "nerve.data.dataset", "nerve.data.dataloader", "nerve.data.sampler",
           "nerve.data.transforms", "nerve.data.utils", "nerve.data.preprocessing", "nerve.data.augment",
           "nerve.data.datasets.idx", "nerve.data.datasets.folder",
           "nerve.data.datasets.mnist", "nerve.data.datasets.digits", "nerve.data.datasets.catalog"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if name != "nerve.data":
        assert result.attempted > 0, f"{name} has no docstring example"
