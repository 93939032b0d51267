"""Shared by the playground's API and browser tests: a runs folder holding one CLI run."""
import pytest


@pytest.fixture(scope="session")
def cli_runs(tmp_path_factory):
    """A runs folder with ``digits-ch1``: the chapter-1 network trained by ``nerve train`` (a quick
    run on 6,000 MNIST images; the ≥ 94 % run is tests/runs/test_chapter1.py)."""
    from nerve.cli import main

    root = tmp_path_factory.mktemp("runs")
    code = main(["train", "--model", "chapter1-mlp", "--dataset", "mnist", "--limit", "6000", "--epochs", "4",
                 "--batch-size", "32", "--lr", "0.01", "--shift", "0", "--quiet", "--out", str(root / "digits-ch1")])
    assert code == 0
    return root
