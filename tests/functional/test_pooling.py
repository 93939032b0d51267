"""Pooling and interpolation beyond the op table.

Glossary rows #38 (max pooling: gradient to the arg-max with torch's tie rule, output
size), #47 (output sizes over a grid; pooling tolerates small shifts), A40 (average
pooling gradient 1/k²), #25 (global average pooling), A39 (GAP is shift invariant),
#66 (interpolate, both align_corners settings).
"""
import doctest
import itertools

import numpy as np
import pytest

import nerve as nv
import nerve.functional as F
import nerve.functional.pooling as pooling_module
from functional.ops_conv import pool2d_ref

rng = np.random.default_rng(0)


def test_docstring_examples_run():
    assert doctest.testmod(pooling_module).failed == 0


@pytest.mark.parametrize("H,k,s,p", [(H, k, s, p) for H, k, s, p in
                                     itertools.product([5, 8, 13], [1, 2, 3], [1, 2, 3], [0, 1])
                                     if 2 * p <= k])
def test_output_sizes_follow_the_formula(H, k, s, p):
    x = nv.zeros(1, 2, H, H + 2)
    expect = ((H + 2 * p - k) // s + 1, (H + 2 + 2 * p - k) // s + 1)
    assert F.max_pool2d(x, k, s, p).shape[2:] == expect
    assert F.avg_pool2d(x, k, s, p).shape[2:] == expect
    assert F.max_pool1d(nv.zeros(1, 2, H), k, s, p).shape[2] == expect[0]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("k,s,p,ceil", [(2, 2, 0, True), (3, 2, 1, True), (3, 3, 1, True), (2, 3, 1, False)])
def test_ceil_mode_matches_the_naive_reference(kind, k, s, p, ceil):
    x = rng.standard_normal((2, 3, 7, 8))
    fn = F.max_pool2d if kind == "max" else F.avg_pool2d
    np.testing.assert_allclose(fn(nv.tensor(x), k, s, p, ceil_mode=ceil).numpy(),
                               pool2d_ref(x, k, s, p, 1, ceil, kind), atol=1e-12)


def test_max_pool_gradient_goes_to_the_argmax():
    x = nv.tensor(rng.permutation(16).reshape(1, 1, 4, 4).astype(np.float64), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    a = x.numpy()[0, 0]
    expect = np.zeros((4, 4))
    for i, j in itertools.product(range(2), range(2)):
        block = a[2 * i:2 * i + 2, 2 * j:2 * j + 2]
        r, c = np.unravel_index(block.argmax(), (2, 2))
        expect[2 * i + r, 2 * j + c] = 1
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expect)


@pytest.mark.torch
def test_ties_and_overlaps_follow_torch():
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 2, 5, 5))
    x[0, 0, 1:3, 1:3] = 1.0          # a 2×2 plateau: the first maximum in row-major order wins
    x[0, 1] = rng.integers(0, 2, (5, 5))
    for k, s, p in [(2, 1, 0), (3, 1, 1), (3, 2, 1), (2, 2, 1)]:
        t = nv.tensor(x, requires_grad=True)
        tt = torch.tensor(x, requires_grad=True)
        out, idx = F.max_pool2d(t, k, s, p, return_indices=True)
        tout, tidx = torch.nn.functional.max_pool2d(tt, k, s, p, return_indices=True)
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
        g = rng.standard_normal(out.shape)
        out.backward(nv.tensor(g))
        tout.backward(torch.tensor(g))
        np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), atol=1e-12)


@pytest.mark.torch
def test_nan_wins_the_max_as_in_torch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 1, 4, 4))
    x[0, 0, 1, 0] = np.nan
    out, idx = F.max_pool2d(nv.tensor(x), 2, return_indices=True)
    tout, tidx = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_array_equal(np.isnan(out.numpy()), np.isnan(tout.numpy()))


def test_avg_pool_gives_each_window_member_one_over_k_squared():
    x = nv.randn(2, 3, 6, 6, dtype=nv.float64, requires_grad=True)
    F.avg_pool2d(x, 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3, 6, 6), 1 / 9))


def test_global_average_pooling_is_the_mean_with_gradient_one_over_hw():
    x = nv.randn(2, 3, 4, 5, dtype=nv.float64, requires_grad=True)
    out = F.global_avg_pool2d(x)
    np.testing.assert_allclose(out.numpy(), x.numpy().mean(axis=(2, 3)), atol=1e-15)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, 1).numpy()[:, :, 0, 0], out.numpy(), atol=1e-15)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(x.shape, 1 / 20))


def test_global_average_pooling_ignores_circular_shifts():
    x = rng.standard_normal((2, 3, 6, 7))
    a = F.global_avg_pool2d(nv.tensor(x)).numpy()
    b = F.global_avg_pool2d(nv.tensor(np.roll(x, (2, 5), axis=(2, 3)))).numpy()
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_max_pooling_softens_a_one_pixel_shift():
    # Per element (mean L1), a 1-pixel shift of a noise image changes the 2×2 max-pooled
    # map about 3× less than the map itself: a window's maximum often survives the shift.
    base = rng.random((4, 1, 32, 32))
    shifted = np.roll(base, 1, axis=3)
    raw = np.abs(base - shifted).mean()
    pooled = np.abs(F.max_pool2d(nv.tensor(base), 2).numpy() - F.max_pool2d(nv.tensor(shifted), 2).numpy()).mean()
    assert pooled < 0.5 * raw


@pytest.mark.parametrize("H,W,out", [(8, 8, 4), (7, 5, 3), (10, 6, (4, 5)), (5, 9, (None, 2))])
def test_adaptive_avg_pool_bins_match_the_pytorch_rule(H, W, out):
    x = rng.standard_normal((1, 2, H, W))
    got = F.adaptive_avg_pool2d(nv.tensor(x), out).numpy()
    Ho, Wo = (out, out) if isinstance(out, int) else (out[0] or H, out[1] or W)
    ref = np.zeros((1, 2, Ho, Wo))
    for i, j in itertools.product(range(Ho), range(Wo)):
        h0, h1 = (i * H) // Ho, -((-(i + 1) * H) // Ho)
        w0, w1 = (j * W) // Wo, -((-(j + 1) * W) // Wo)
        ref[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    np.testing.assert_allclose(got, ref, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size,scale,mode,align", [
    (None, 2, "nearest", None), (None, 0.5, "nearest", None), ((9, 13), None, "nearest", None),
    (None, 2, "bilinear", False), (None, 2, "bilinear", True), ((9, 13), None, "bilinear", False),
    ((9, 13), None, "bilinear", True), ((3, 4), None, "bilinear", False), (None, 1.3, "bilinear", False),
    (None, (1.5, 0.75), "bilinear", True)])
def test_interpolate_matches_torch_values_and_gradients(size, scale, mode, align, dtype):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 6, 7)).astype(dtype)
    t, tt = nv.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = F.interpolate(t, size, scale, mode, align)
    tout = torch.nn.functional.interpolate(tt, size, scale, mode, align)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert out.dtype == dtype
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(out.shape).astype(dtype)
    out.backward(nv.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=tol * 10, atol=tol * 10)


def test_bilinear_align_corners_keeps_the_corner_pixels():
    x = rng.standard_normal((1, 1, 4, 5))
    out = F.interpolate(nv.tensor(x), size=(7, 9), mode="bilinear", align_corners=True).numpy()[0, 0]
    np.testing.assert_allclose(out[[0, 0, -1, -1], [0, -1, 0, -1]], x[0, 0][[0, 0, -1, -1], [0, -1, 0, -1]])


@pytest.mark.parametrize("call,match", [
    (lambda: F.max_pool2d(nv.zeros(1, 1, 4, 4), 2, padding=2), "half"),
    (lambda: F.max_pool2d(nv.zeros(1, 1, 2, 2), 3), "too small"),
    (lambda: F.max_pool2d(nv.zeros(4, 4), 2), "4-D input"),
    (lambda: F.interpolate(nv.zeros(1, 1, 4, 4), scale_factor=2, mode="nearest", align_corners=True),
     "align_corners"),
    (lambda: F.interpolate(nv.zeros(1, 1, 4, 4), scale_factor=2, mode="linear"), "bilinear"),
])
def test_errors_explain_the_problem(call, match):
    with pytest.raises((RuntimeError, ValueError, NotImplementedError), match=match):
        call()


def test_float32_in_float32_out():
    x = nv.randn(2, 3, 8, 8)
    for y in (F.max_pool2d(x, 2), F.avg_pool2d(x, 2), F.adaptive_avg_pool2d(x, 3),
              F.interpolate(x, scale_factor=2, mode="bilinear"), F.interpolate(x, scale_factor=2)):
        assert y.dtype == np.float32


@pytest.mark.parametrize("op", [lambda x: F.max_pool2d(x, 2), lambda x: F.avg_pool2d(x, 2),
                                lambda x: F.adaptive_avg_pool2d(x, 3), lambda x: F.interpolate(x, scale_factor=2)],
                         ids=["max", "avg", "adaptive", "interpolate"])
def test_an_empty_batch_flows_through_forward_and_backward(op):
    x = nv.zeros(0, 3, 8, 8, requires_grad=True)
    y = op(x)
    assert y.shape[0] == 0
    y.sum().backward()
    assert x.grad.shape == x.shape
