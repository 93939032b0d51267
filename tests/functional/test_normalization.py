"""Normalization ops beyond the op table.

Glossary rows #6 (batch norm: standardized output, running statistics after 10 batches,
eval output), #31 (instance norm: per-instance statistics, independence from the other
samples), #97 (local response norm at the default and AlexNet settings).
"""
import doctest

import numpy as np
import pytest

import nerve as nv
import nerve.functional as F
import nerve.functional.normalization as norm_module
from functional.ops_conv import lrn_ref

rng = np.random.default_rng(0)


def test_docstring_examples_run():
    assert doctest.testmod(norm_module).failed == 0


def test_batch_norm_train_output_has_zero_mean_and_unit_biased_variance_per_channel():
    x = nv.tensor(rng.standard_normal((16, 5, 6, 6)) * 3 + 2)
    y = F.batch_norm(x, None, None, training=True).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-7)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(8, 4), (8, 4, 5), (8, 4, 5, 6)])
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_running_statistics_and_eval_output_match_torch_after_10_batches(shape, momentum):
    torch = pytest.importorskip("torch")
    C = shape[1]
    rm, rv = nv.zeros(C, dtype=nv.float64), nv.ones(C, dtype=nv.float64)
    trm, trv = torch.zeros(C, dtype=torch.float64), torch.ones(C, dtype=torch.float64)
    w, b = rng.standard_normal(C), rng.standard_normal(C)
    for _ in range(10):
        x = rng.standard_normal(shape) * 2 + 1
        F.batch_norm(nv.tensor(x), rm, rv, nv.tensor(w), nv.tensor(b), True, momentum)
        torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, torch.tensor(w), torch.tensor(b), True, momentum)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12, atol=1e-14)
    x = rng.standard_normal(shape)
    ours = F.batch_norm(nv.tensor(x), rm, rv, nv.tensor(w), nv.tensor(b), False).numpy()
    theirs = torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, torch.tensor(w), torch.tensor(b), False)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_running_variance_uses_the_unbiased_estimate():
    x = rng.standard_normal((4, 2, 3))
    rm, rv = nv.zeros(2, dtype=nv.float64), nv.zeros(2, dtype=nv.float64)
    F.batch_norm(nv.tensor(x), rm, rv, training=True, momentum=1.0)
    np.testing.assert_allclose(rm.numpy(), x.mean(axis=(0, 2)))
    np.testing.assert_allclose(rv.numpy(), x.transpose(1, 0, 2).reshape(2, -1).var(axis=1, ddof=1))


def test_running_buffers_are_updated_in_place_and_keep_their_dtype():
    rm, rv = nv.zeros(3), nv.ones(3)
    arrays = rm._data, rv._data
    F.batch_norm(nv.randn(4, 3), rm, rv, training=True)
    assert rm._data is arrays[0] and rv._data is arrays[1]
    assert rm.dtype == np.float32 and not np.allclose(rm.numpy(), 0)


def test_batch_norm_training_needs_more_than_one_value_per_channel():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(nv.randn(1, 3), nv.zeros(3), nv.ones(3), training=True)


def test_batch_norm_channel_mismatch_names_the_shapes():
    with pytest.raises(RuntimeError, match=r"shape \(4,\).*3 channels"):
        F.batch_norm(nv.randn(2, 3), nv.zeros(4), nv.ones(4))


def test_instance_norm_standardizes_each_map_and_ignores_the_other_samples():
    x = rng.standard_normal((3, 4, 5, 6)) * 4 - 1
    y = F.instance_norm(nv.tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=(2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(2, 3)), 1, atol=1e-3)
    x2 = x.copy()
    x2[1:] = rng.standard_normal((2, 4, 5, 6)) * 10
    np.testing.assert_array_equal(F.instance_norm(nv.tensor(x2)).numpy()[0], y[0])


def test_layer_norm_and_group_norm_special_cases():
    x = nv.randn(2, 6, 3, 3, dtype=nv.float64)
    ln = F.layer_norm(x, (6, 3, 3)).numpy()
    np.testing.assert_allclose(F.group_norm(x, 1).numpy(), ln, atol=1e-12)
    np.testing.assert_allclose(F.group_norm(x, 6).numpy(), F.instance_norm(x).numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="must divide the 6 channels"):
        F.group_norm(x, 4)
    with pytest.raises(RuntimeError, match="must match the last dimensions"):
        F.layer_norm(x, 4)


@pytest.mark.torch
@pytest.mark.parametrize("size,alpha,beta,k", [(5, 1e-4, 0.75, 1.0), (5, 1e-4, 0.75, 2.0), (3, 0.1, 0.5, 1.5),
                                               (2, 1.0, 1.0, 1.0)])
def test_local_response_norm_matches_torch_at_default_and_alexnet_settings(size, alpha, beta, k):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 8, 4, 4)) * 5
    t, tt = nv.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = F.local_response_norm(t, size, alpha, beta, k)
    tout = torch.nn.functional.local_response_norm(tt, size, alpha, beta, k)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.numpy(), lrn_ref(x, size, alpha, beta, k), rtol=1e-10)
    g = rng.standard_normal(x.shape)
    out.backward(nv.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.torch
def test_float32_batch_norm_matches_torch():
    torch = pytest.importorskip("torch")
    x = (rng.standard_normal((32, 6, 12, 12)) * 3 + 1).astype(np.float32)
    w, b = rng.standard_normal(6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    ts = [nv.tensor(a, requires_grad=True) for a in (x, w, b)]
    tt = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = F.batch_norm(ts[0], None, None, ts[1], ts[2], training=True)
    tout = torch.nn.functional.batch_norm(tt[0], None, None, tt[1], tt[2], training=True)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-4, atol=1e-4)
    g = rng.standard_normal(x.shape).astype(np.float32)
    out.backward(nv.tensor(g))
    tout.backward(torch.tensor(g))
    for a, t in zip(ts, tt):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("op", [lambda x: F.batch_norm(x, None, None, training=True), lambda x: F.instance_norm(x),
                                lambda x: F.layer_norm(x, 8), lambda x: F.group_norm(x, 3),
                                lambda x: F.local_response_norm(x, 3)],
                         ids=["batch", "instance", "layer", "group", "lrn"])
def test_an_empty_batch_stays_empty(op):
    x = nv.zeros(0, 3, 8, 8, requires_grad=True)
    y = op(x)
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad.shape == x.shape
