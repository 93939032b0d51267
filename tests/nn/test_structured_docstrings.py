"""Every docstring example in the structured-model modules (graphs, capsules, Bayesian layers,
embedding losses, calibration, and their models) runs and shows what it says."""

import pytest
from doctest_check import run_docstring_examples

MODULES = ["nerve.functional.aggregation", "nerve.nn.graph", "nerve.nn.capsule", "nerve.nn.bayes",
           "nerve.data.graph", "nerve.data.datasets.karate", "nerve.metrics.calibration",
           "nerve.models.siamese", "nerve.models.gcn", "nerve.models.capsnet"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name.endswith("karate"):
        pytest.importorskip("networkx")
    result = run_docstring_examples(name)
    assert result.attempted > 0, f"{name} has no docstring example"
