"""W8 (a GPT training step) and G1 (one cached generation step) do the same work in nerve and torch."""
import numpy as np
import pytest

from nerve.bench.workloads import QUICK, WORKLOADS


@pytest.mark.torch
def test_w8_is_the_same_training_step_in_both_frameworks():
    pytest.importorskip("torch")
    assert "W8" in WORKLOADS
    ours, info = QUICK["W8"]("nerve")
    theirs, _ = QUICK["W8"]("torch")
    assert info["samples"] == 2 and info["flops"] > 0
    for _ in range(3):
        a, b = float(ours().item()), float(theirs().item())
        assert abs(a - b) <= 1e-5 * max(1.0, abs(b)), (a, b)


@pytest.mark.torch
def test_g1_is_the_same_cached_decoding_step_in_both_frameworks():
    pytest.importorskip("torch")
    assert "G1" in WORKLOADS
    ours, info = QUICK["G1"]("nerve")
    theirs, _ = QUICK["G1"]("torch")
    assert info["samples"] == 2 and info["flops"] > 0
    for _ in range(3):       # the cache is rewound each step: the same token every time
        a, b = ours(), theirs()
        assert np.array_equal(a, b) and a.shape == (2,)
