"""W6 (one transformer encoder layer, Adam) builds in both frameworks from the same weights:
the first three training losses agree."""
import pytest

from nerve.bench.workloads import QUICK, WORKLOADS


def test_w6_is_the_same_training_step_in_both_frameworks():
    pytest.importorskip("torch")
    assert "W6" in WORKLOADS
    build = QUICK["W6"]
    build.prepare()
    ours, info = build("nerve")
    theirs, _ = build("torch")
    assert info["samples"] == 2 and info["flops"] > 0
    for _ in range(3):
        a, b = float(ours().item()), float(theirs().item())
        assert abs(a - b) <= 1e-5 * max(1.0, abs(b)), (a, b)
