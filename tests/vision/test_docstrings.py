"""Every docstring example in nerve.vision and nerve.keras runs and prints what it shows."""
import doctest
import importlib

import pytest

MODULES = ["nerve.onnx", "nerve.vision", "nerve.vision.transforms", "nerve.vision.datasets", "nerve.vision.ops",
           "nerve.vision.utils", "nerve.keras", "nerve.keras.models", "nerve.keras.layers", "nerve.keras.optimizers",
           "nerve.vision.models"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name == "nerve.onnx":
        pytest.importorskip("onnx")
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has no docstring example"
