"""Shared by the playground's API and browser tests: a runs folder holding one CLI run."""
import pytest

pytest.importorskip("fastapi")


@pytest.fixture(scope="session")
def cli_runs(tmp_path_factory):
    """A runs folder with ``digits-ch1``: the chapter-1 network trained by ``nerve train``."""
    from nerve.cli import main

    root = tmp_path_factory.mktemp("runs")
    code = main(["train", "--model", "chapter1-mlp", "--dataset", "digits", "--epochs", "10", "--batch-size", "16", "--lr", "0.01",
                 "--shift", "0", "--quiet", "--out", str(root / "digits-ch1")])
    assert code == 0
    return root
