"""Every docstring example in nerve.data runs and prints what it shows."""

import pytest
from doctest_check import run_docstring_examples

MODULES = ["nerve.data", "nerve.data.dataset", "nerve.data.dataloader", "nerve.data.sampler",
           "nerve.data.transforms", "nerve.data.utils", "nerve.data.preprocessing", "nerve.data.augment",
           "nerve.data.datasets.idx", "nerve.data.datasets.folder",
           "nerve.data.datasets.mnist", "nerve.data.datasets.digits", "nerve.data.datasets.catalog"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = run_docstring_examples(name)
    if name != "nerve.data":
        assert result.attempted > 0, f"{name} has no docstring example"
