"""Every docstring example in nerve.vision and nerve.keras runs and prints what it shows."""

import pytest
from doctest_check import run_docstring_examples

MODULES = ["nerve.onnx", "nerve.vision", "nerve.vision.transforms", "nerve.vision.datasets", "nerve.vision.ops",
           "nerve.vision.utils", "nerve.keras", "nerve.keras.models", "nerve.keras.layers", "nerve.keras.optimizers",
           "nerve.vision.models"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name == "nerve.onnx":
        pytest.importorskip("onnx")
    result = run_docstring_examples(name)
    assert result.attempted > 0, f"{name} has no docstring example"
