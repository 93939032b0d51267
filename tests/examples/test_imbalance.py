"""examples/imbalance.py on a small version: 1,000 images per digit 0-4, digit 2 kept at 2 %."""
import importlib.util
import pathlib

import numpy as np
import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "imbalance.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("imbalance_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def result(example):
    res = example.run(minority=2, fraction=0.02, epochs=8, n_per_class=1000, seed=0)
    if res["source"] != "MNIST":
        pytest.skip("the thresholds are pinned on MNIST; the MNIST files are missing")
    return res


def test_the_training_set_is_imbalanced_as_asked(result):
    counts = result["counts"]
    assert result["minority"] == 2 and counts[2] == 20
    assert [c for i, c in enumerate(counts) if i != 2] == [1000] * 4


def test_weighting_and_resampling_recover_the_minority_class(result):
    plain = result["plain"]["minority_recall"]
    weighted = result["weighted"]["minority_recall"]
    sampled = result["sampler"]["minority_recall"]
    assert plain < 0.6                               # the rare digit is mostly missed
    assert weighted > plain + 0.1 and sampled > plain + 0.1
    for method in ("weighted", "sampler"):           # without giving up the other classes
        others = np.delete(result[method]["recall"], 2)
        assert others.min() > 0.9
        assert result[method]["accuracy"] > result["plain"]["accuracy"]


def test_recall_is_per_class_on_the_balanced_test_set(result):
    for method in ("plain", "weighted", "sampler"):
        rec = result[method]["recall"]
        assert rec.shape == (5,) and np.all((0 <= rec) & (rec <= 1))
        assert rec[2] == result[method]["minority_recall"]


def test_command_line(example, capsys):
    example.main(["--per-class", "200", "--epochs", "1", "--fraction", "0.05", "--minority", "4"])
    out = capsys.readouterr().out
    assert "digit 4 kept at 5%" in out and "sampler" in out and "minority (digit 4) recall" in out
    with pytest.raises(ValueError, match="minority"):
        example.run(minority=7)
