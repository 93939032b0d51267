"""Dropout and DropConnect (glossary rows #17 and #85)."""
import doctest

import numpy as np
import pytest

import nerve as nv
import nerve.functional as F
import importlib

dropout_module = importlib.import_module("nerve.functional.dropout")


def test_docstring_examples_run():
    assert doctest.testmod(dropout_module).failed == 0


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_zeroed_fraction_scaling_and_mean(p):
    x = nv.ones(1000, 1000)
    y = F.dropout(x, p).numpy()
    assert abs((y == 0).mean() - p) < 0.005
    np.testing.assert_allclose(np.unique(y[y != 0]), [1 / (1 - p)], rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.01
    assert y.dtype == np.float32


def test_eval_mode_is_exactly_the_identity():
    x = nv.randn(5, 7)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout2d(nv.randn(2, 3, 4, 4), 0.5, training=False).shape == (2, 3, 4, 4)
    assert F.dropout(x, 0.0) is x


def test_backward_reuses_the_forward_mask():
    x = nv.randn(50, 40, dtype=nv.float64, requires_grad=True)
    y = F.dropout(x, 0.3)
    y.sum().backward()
    mask = y.numpy() / x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), mask, rtol=1e-12)


def test_a_fixed_seed_gives_a_fixed_mask():
    x = nv.ones(100)
    nv.manual_seed(42)
    a = F.dropout(x, 0.5).numpy()
    nv.manual_seed(42)
    b = F.dropout(x, 0.5).numpy()
    c = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_p_one_zeroes_everything_and_bad_p_is_rejected():
    assert not F.dropout(nv.ones(10), 1.0).numpy().any()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        F.dropout(nv.ones(3), 1.5)


def test_dropout2d_zeroes_whole_channels():
    y = F.dropout2d(nv.ones(64, 32, 3, 3), 0.5).numpy().reshape(64 * 32, 9)
    assert (y.min(axis=1) == y.max(axis=1)).all()
    assert abs((y[:, 0] == 0).mean() - 0.5) < 0.05
    assert set(np.unique(y)) <= {0.0, 2.0}


def test_dropconnect_masks_weights_with_fraction_p_and_zero_gradient_for_dropped_ones():
    p = 0.3
    W = nv.randn(200, 300, dtype=nv.float64, requires_grad=True)
    x = nv.randn(4, 300, dtype=nv.float64)
    nv.manual_seed(5)
    F.dropconnect_linear(x, W, None, p).sum().backward()
    nv.manual_seed(5)
    rng = nv.random.default_generator()
    kept = rng.random(W.shape) >= p
    assert abs((~kept).mean() - p) < 0.01
    assert (W.grad.numpy()[~kept] == 0).all()
    np.testing.assert_allclose(W.grad.numpy()[kept], np.broadcast_to(x.numpy().sum(0) / (1 - p), W.shape)[kept])


def test_dropconnect_train_outputs_average_to_the_eval_output():
    W, b = nv.randn(3, 10, dtype=nv.float64), nv.randn(3, dtype=nv.float64)
    x = nv.randn(2, 10, dtype=nv.float64)
    outs = np.stack([F.dropconnect_linear(x, W, b, 0.5).numpy() for _ in range(2000)])
    expect = F.dropconnect_linear(x, W, b, 0.5, training=False).numpy()
    np.testing.assert_allclose(expect, x.numpy() @ W.numpy().T + b.numpy())
    stderr = outs.std(axis=0) / np.sqrt(len(outs))
    assert (np.abs(outs.mean(axis=0) - expect) < 4 * stderr + 1e-12).all()
