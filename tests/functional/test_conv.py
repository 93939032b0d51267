"""Convolution ops beyond the op table: sizes, 'same' padding, references, speed-relevant paths.

Glossary rows A36 (conv = cross-correlation), A37 / #61 / #71 (output sizes, 'same',
'valid', stride), #20 (the seed's 224×224×3 layer), A38 (receptive field), A39
(circular padding equivariance), #66 (transposed conv size).
"""
import doctest
import itertools

import numpy as np
import pytest

import nerve as nv
import nerve.functional as F
import nerve.functional.conv as conv_module
from functional.ops_conv import conv2d_ref, conv_transpose2d_ref

rng = np.random.default_rng(0)


def _t(shape, dtype=np.float64, requires_grad=False):
    return nv.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=requires_grad)


def test_docstring_examples_run():
    assert doctest.testmod(conv_module).failed == 0


def test_equals_scipy_correlate2d_channel_by_channel():
    signal = pytest.importorskip("scipy.signal")
    x = rng.standard_normal((2, 3, 9, 8))
    w = rng.standard_normal((4, 3, 3, 2))
    out = F.conv2d(nv.tensor(x), nv.tensor(w)).numpy()
    for n, o in itertools.product(range(2), range(4)):
        ref = sum(signal.correlate2d(x[n, c], w[o, c], mode="valid") for c in range(3))
        np.testing.assert_allclose(out[n, o], ref, rtol=1e-12, atol=1e-12)


def test_sobel_filter_matches_scipy_ndimage_constant_mode():
    ndimage = pytest.importorskip("scipy.ndimage")
    img = rng.random((16, 20))
    sobel_x = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    out = F.conv2d(nv.tensor(img[None, None]), nv.tensor(sobel_x[None, None]), padding=1).numpy()[0, 0]
    np.testing.assert_allclose(out, ndimage.correlate(img, sobel_x, mode="constant"), atol=1e-6)


@pytest.mark.parametrize("H,k,s,p,d", [(H, k, s, p, d) for H, k, s, p, d in
                                       itertools.product([7, 8, 28], [1, 2, 3, 5], [1, 2, 3], [0, 1, 2], [1, 2])
                                       if H + 2 * p >= d * (k - 1) + 1])
def test_output_size_follows_the_formula(H, k, s, p, d):
    out = F.conv2d(nv.zeros(1, 2, H, H + 1), nv.zeros(3, 2, k, k), stride=s, padding=p, dilation=d)
    expect = (H + 2 * p - d * (k - 1) - 1) // s + 1
    expect_w = (H + 1 + 2 * p - d * (k - 1) - 1) // s + 1
    assert out.shape == (1, 3, expect, expect_w)
    assert F.conv_output_size(H, k, s, p, d) == expect


@pytest.mark.parametrize("k,d", [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (3, 2), (4, 3)])
def test_same_padding_keeps_the_size_and_valid_shrinks_by_k_minus_1(k, d):
    x = _t((2, 3, 11, 10))
    w = _t((4, 3, k, k))
    assert F.conv2d(x, w, padding="same", dilation=d).shape == (2, 4, 11, 10)
    assert F.conv2d(x, w, padding="valid", dilation=d).shape == (2, 4, 11 - d * (k - 1), 10 - d * (k - 1))
    # PyTorch's rule for an odd total padding: the extra pixel goes to the bottom/right.
    np.testing.assert_allclose(F.conv2d(x, w, padding="same", dilation=d).numpy(),
                               conv2d_ref(x.numpy(), w.numpy(), None, 1, "same", d), atol=1e-12)


def test_seed_layer_224x224x3_with_32_same_filters():
    x = nv.randn(1, 3, 224, 224)
    w = nv.randn(32, 3, 3, 3)
    b = nv.zeros(32)
    out = F.conv2d(x, w, b, padding="same")
    assert out.shape == (1, 32, 224, 224)
    assert out.dtype == np.float32
    assert w.numel() + b.numel() == (3 * 3 * 3 + 1) * 32 == 896


def test_stride_2_equals_stride_1_sampled_every_other_pixel():
    x, w = _t((2, 3, 11, 10)), _t((4, 3, 3, 3))
    full = F.conv2d(x, w, padding=1).numpy()
    # Equal up to the summation order BLAS picks for each output block (an ulp or two).
    np.testing.assert_allclose(F.conv2d(x, w, stride=2, padding=1).numpy(), full[:, :, ::2, ::2],
                               rtol=1e-13, atol=1e-13)


def test_same_padding_rejects_strides():
    with pytest.raises(ValueError, match="stride 1"):
        F.conv2d(nv.zeros(1, 1, 5, 5), nv.zeros(1, 1, 3, 3), stride=2, padding="same")


def test_receptive_field_of_one_and_two_stacked_3x3_convs():
    x = nv.randn(1, 1, 9, 9, dtype=nv.float64, requires_grad=True)
    w = nv.ones(1, 1, 3, 3, dtype=nv.float64)
    out = F.conv2d(x, w, padding=1)
    out[0, 0, 4, 4].backward()
    assert (x.grad.numpy()[0, 0] != 0).sum() == 9
    assert set(zip(*np.nonzero(x.grad.numpy()[0, 0]))) == {(i, j) for i in range(3, 6) for j in range(3, 6)}
    x.grad = None
    F.conv2d(F.conv2d(x, w, padding=1), w, padding=1)[0, 0, 4, 4].backward()
    nz = np.argwhere(x.grad.numpy()[0, 0] != 0)
    assert nz.min(0).tolist() == [2, 2] and nz.max(0).tolist() == [6, 6]


def test_circular_padding_makes_the_conv_exactly_shift_equivariant():
    x, w = _t((1, 2, 8, 8)), _t((3, 2, 3, 3))

    def f(a):
        return F.conv2d(F.pad(a, (1, 1, 1, 1), "circular"), w)

    shifted = nv.tensor(np.roll(x.numpy(), (2, 3), axis=(2, 3)))
    np.testing.assert_allclose(f(shifted).numpy(), np.roll(f(x).numpy(), (2, 3), axis=(2, 3)), atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("groups,stride,padding,dilation", [
    (1, 1, 2, 1), (1, 2, 1, 1), (2, 1, "same", 2), (8, 2, 1, 1), (4, (2, 1), (0, 2), (1, 2))])
def test_float32_parity_on_realistic_sizes(groups, stride, padding, dilation):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 8, 17, 15)).astype(np.float32)
    w = (rng.standard_normal((16, 8 // groups, 3, 3)) * 0.3).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    ts = [nv.tensor(a, requires_grad=True) for a in (x, w, b)]
    tt = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = F.conv2d(*ts, stride, padding, dilation, groups)
    tout = torch.nn.functional.conv2d(*tt, stride, padding, dilation, groups)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-4, atol=1e-4)
    g = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(nv.tensor(g))
    tout.backward(torch.tensor(g))
    for a, t in zip(ts, tt):
        assert a.grad.dtype == np.float32
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("H,k,s,p,op,d", [(5, 3, 2, 1, 1, 1), (14, 4, 2, 1, 0, 1), (4, 3, 3, 0, 2, 1),
                                          (6, 2, 1, 0, 0, 3), (3, 3, 2, 2, 1, 2)])
def test_conv_transpose_output_size_and_reference(H, k, s, p, op, d):
    x, w, b = _t((2, 4, H, H + 1)), _t((4, 3, k, k)), _t((3,))
    out = F.conv_transpose2d(x, w, b, s, p, op, 1, d)
    expect = (H - 1) * s - 2 * p + d * (k - 1) + op + 1
    assert out.shape[2] == expect == F.conv_transpose_output_size(H, k, s, p, op, d)
    np.testing.assert_allclose(out.numpy(), conv_transpose2d_ref(x.numpy(), w.numpy(), b.numpy(), s, p, op, 1, d),
                               atol=1e-12)


def test_conv_transpose_is_the_adjoint_of_conv():
    # <conv(x), y> == <x, conv_transpose(y)> for the same weight.
    x, w = _t((2, 3, 9, 8)), _t((5, 3, 3, 3))
    y = _t(F.conv2d(x, w, stride=2, padding=1).shape)
    lhs = (F.conv2d(x, w, stride=2, padding=1) * y).sum().item()
    rhs = (x * F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=(0, 1))).sum().item()
    assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(lhs))


def test_unfold_matmul_equals_conv_and_fold_is_its_adjoint():
    x, w = _t((2, 3, 7, 6)), _t((4, 3, 2, 3))
    cols = F.unfold(x, (2, 3), padding=1, stride=2)
    out = (w.reshape(4, -1) @ cols).reshape(2, 4, *F.conv2d(x, w, stride=2, padding=1).shape[2:])
    np.testing.assert_allclose(out.numpy(), F.conv2d(x, w, stride=2, padding=1).numpy(), atol=1e-12)
    y = _t(cols.shape)
    lhs = (cols * y).sum().item()
    rhs = (x * F.fold(y, (7, 6), (2, 3), padding=1, stride=2)).sum().item()
    assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(lhs))


@pytest.mark.torch
@pytest.mark.parametrize("groups,stride", [(1, 2), (3, 1), (1, 1)])
def test_second_derivatives_match_torch_for_a_gradient_penalty(groups, stride):
    # d/dW ‖∂L/∂x‖² needs the backward of the backward (WGAN-GP, double backprop).
    torch = pytest.importorskip("torch")
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((6 if groups == 1 else 3, 3 // groups, 3, 3))
    X, W = nv.tensor(x, requires_grad=True), nv.tensor(w, requires_grad=True)
    gx, = nv.autograd.grad((F.conv2d(X, W, None, stride, 1, 1, groups) ** 2).sum(), [X], create_graph=True)
    (gx ** 2).sum().backward()
    tX, tW = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tgx, = torch.autograd.grad((torch.nn.functional.conv2d(tX, tW, None, stride, 1, 1, groups) ** 2).sum(), [tX],
                               create_graph=True)
    (tgx ** 2).sum().backward()
    np.testing.assert_allclose(W.grad.numpy(), tW.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(X.grad.numpy(), tX.grad.numpy(), rtol=1e-9, atol=1e-10)


def test_unbatched_inputs_work_like_a_batch_of_one():
    x, w = _t((3, 7, 6)), _t((4, 3, 3, 3))
    batched = F.conv2d(x.reshape(1, 3, 7, 6), w, padding=1).numpy()[0]
    np.testing.assert_allclose(F.conv2d(x, w, padding=1).numpy(), batched)
    x1, w1 = _t((3, 9)), _t((2, 3, 3))
    assert F.conv1d(x1, w1).shape == (2, 7)


def test_conv1d_equals_numpy_correlate():
    x, w = rng.standard_normal(20), rng.standard_normal(4)
    out = F.conv1d(nv.tensor(x[None, None]), nv.tensor(w[None, None])).numpy()[0, 0]
    np.testing.assert_allclose(out, np.correlate(x, w, mode="valid"), atol=1e-12)


def test_gradients_flow_to_input_weight_and_bias_only_when_asked():
    x = _t((1, 2, 5, 5), requires_grad=False)
    w = _t((3, 2, 3, 3), requires_grad=True)
    b = _t((3,), requires_grad=True)
    F.conv2d(x, w, b).sum().backward()
    assert x.grad is None and w.grad.shape == (3, 2, 3, 3)
    np.testing.assert_allclose(b.grad.numpy(), np.full(3, 9.0))


@pytest.mark.parametrize("call,match", [
    (lambda: F.conv2d(nv.zeros(1, 4, 8, 8), nv.zeros(2, 3, 3, 3)), "4 channels.*expects 3"),
    (lambda: F.conv2d(nv.zeros(4, 64), nv.zeros(2, 4, 3, 3)), "4-D input.*Reshape to"),
    (lambda: F.conv2d(nv.zeros(1, 1, 2, 2), nv.zeros(1, 1, 3, 3)), "too small"),
    (lambda: F.conv2d(nv.zeros(1, 1, 5, 5), nv.zeros(1, 1, 3, 3, dtype=nv.float64)), "dtype"),
    (lambda: F.conv2d(nv.zeros(1, 4, 5, 5), nv.zeros(3, 2, 3, 3), groups=2), "groups=2 must divide the 3 output"),
    (lambda: F.conv_transpose2d(nv.zeros(1, 2, 5, 5), nv.zeros(2, 1, 3, 3), stride=2, output_padding=2),
     "output_padding"),
])
def test_errors_name_the_op_the_shapes_and_the_fix(call, match):
    with pytest.raises((RuntimeError, ValueError), match=match):
        call()


def test_pad_modes_equal_numpy_pad():
    x = rng.standard_normal((2, 3, 5, 6))
    for mode, np_mode in [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")]:
        out = F.pad(nv.tensor(x), (1, 2, 3, 0), mode).numpy()
        np.testing.assert_array_equal(out, np.pad(x, [(0, 0), (0, 0), (3, 0), (1, 2)], mode=np_mode))
    with pytest.raises(ValueError, match="smaller than the dimension"):
        F.pad(nv.tensor(x), (6, 0), "reflect")


@pytest.mark.gpu
def test_cupy_path_matches_numpy_when_a_gpu_is_present():
    cupy = pytest.importorskip("cupy")
    from nerve import backend

    if not backend.cupy_available():
        pytest.skip("CuPy is installed but no GPU is visible")
    x, w, b = _t((2, 3, 9, 8)), _t((4, 3, 3, 3)), _t((4,))
    xs = [nv.tensor(cupy.asarray(t.numpy()), requires_grad=True) for t in (x, w, b)]
    out = F.conv2d(*xs, stride=2, padding=1)
    out.sum().backward()
    ref = F.conv2d(x, w, b, stride=2, padding=1)
    np.testing.assert_allclose(cupy.asnumpy(out.data), ref.numpy(), atol=1e-10)


@pytest.mark.parametrize("op", [
    lambda x: F.conv2d(x, nv.ones(4, 3, 3, 3), None, 1, 1),
    lambda x: F.conv2d(x, nv.ones(3, 1, 3, 3), None, 1, 1, 1, 3),
    lambda x: F.conv_transpose2d(x, nv.ones(3, 2, 3, 3), None, 2, 1), lambda x: F.unfold(x, 3),
    lambda x: F.pad(x, (1, 1, 1, 1), "reflect")], ids=["conv2d", "depthwise", "conv_transpose2d", "unfold", "pad"])
def test_an_empty_batch_flows_through_forward_and_backward(op):
    x = nv.zeros(0, 3, 8, 8, requires_grad=True)
    y = op(x)
    assert y.shape[0] == 0
    y.sum().backward()
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("batch_last_below", [0, 10 ** 9], ids=["batch-first", "batch-last"])
@pytest.mark.parametrize("groups,stride,padding,dilation", [
    (1, 1, 2, 1), (1, 2, 1, 1), (2, 1, "same", 2), (4, (2, 1), (0, 2), (1, 2))])
def test_both_column_layouts_give_the_reference_values_and_gradients(monkeypatch, batch_last_below,
                                                                       groups, stride, padding, dilation):
    # The column layout is picked from the output width; force each one on the same convs.
    monkeypatch.setattr(conv_module, "_BATCH_LAST_BELOW", batch_last_below)
    x, w, b = _t((3, 4, 11, 9), requires_grad=True), _t((8, 4 // groups, 3, 3), requires_grad=True), \
        _t((8,), requires_grad=True)
    out = F.conv2d(x, w, b, stride, padding, dilation, groups)
    ref = conv2d_ref(x.numpy(), w.numpy(), b.numpy(), stride, padding, dilation, groups)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(nv.tensor(g))
    grads = [a.grad.numpy().copy() for a in (x, w, b)]

    def unfold_fold():
        u = F.unfold(x.detach(), 3, dilation=2, padding=1, stride=2)
        return u.numpy(), F.fold(u, (11, 9), 3, dilation=2, padding=1, stride=2).numpy()

    u1, f1 = unfold_fold()
    monkeypatch.setattr(conv_module, "_BATCH_LAST_BELOW", 10 ** 9 - batch_last_below)   # the other layout
    for a in (x, w, b):
        a.grad = None
    F.conv2d(x, w, b, stride, padding, dilation, groups).backward(nv.tensor(g))
    for a, ga in zip((x, w, b), grads):
        np.testing.assert_allclose(a.grad.numpy(), ga, rtol=1e-12, atol=1e-12)
    u2, f2 = unfold_fold()
    np.testing.assert_array_equal(u1, u2)
    np.testing.assert_allclose(f1, f2, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("m,k,n", [(6, 25, 50176), (25, 50176, 6), (150, 16, 6400), (64, 27, 9000), (3, 4, 5)])
def test_panelled_matmul_equals_the_whole_product(m, k, n):
    from nerve.autograd.namespace import array_namespace
    xp = array_namespace(np)
    for dtype in (np.float32, np.float64):
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        out = conv_module._matmul2d(xp, a, b)
        assert out.dtype == dtype and out.shape == (m, n)
        tol = 1e-4 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(out, a.astype(np.float64) @ b.astype(np.float64), rtol=tol,
                                   atol=tol * np.sqrt(k))


@pytest.mark.torch
def test_lenet_sized_float32_convs_match_torch_through_the_panelled_products():
    # Batch 16 puts both LeNet convs on the panelled GEMM paths (long position axes).
    torch = pytest.importorskip("torch")
    for shape, wshape, padding in [((16, 1, 28, 28), (6, 1, 5, 5), 2), ((16, 6, 14, 14), (16, 6, 5, 5), 0)]:
        x = rng.standard_normal(shape).astype(np.float32)
        w = (rng.standard_normal(wshape) * 0.2).astype(np.float32)
        b = rng.standard_normal(wshape[0]).astype(np.float32)
        ts = [nv.tensor(a, requires_grad=True) for a in (x, w, b)]
        tt = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        out = F.conv2d(*ts, padding=padding)
        tout = torch.nn.functional.conv2d(*tt, padding=padding)
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-4, atol=1e-4)
        g = rng.standard_normal(out.shape).astype(np.float32)
        out.backward(nv.tensor(g))
        tout.backward(torch.tensor(g))
        for a, t in zip(ts, tt):
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=2e-3)
