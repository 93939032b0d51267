"""Edge sweep of convolution, pooling, resampling and normalization against PyTorch.

Each block pins a case that once gave a silent wrong answer or an unclear error:
all-−∞ max-pool windows next to padding, max-pool padding bounds with dilation, a zero
divisor_override, 1-D nearest resampling with a scale_factor, and the unbatched forms of
conv_transpose1d/2d and unfold/fold. A small parity sweep over the tricky arguments
(groups, 'same' with even kernels, output_padding, ceil_mode, count_include_pad, padding
modes, running statistics) guards the rest.
"""
import numpy as np
import pytest

import nerve as nv
from nerve.autograd import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional
F = nv.functional

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore:Using padding=.same.:UserWarning")]


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _parity(ours, theirs, arrays, grad=True, tol=1e-10):
    """Same output and same gradients for every input array (None entries are skipped)."""
    xs = [None if a is None else nv.tensor(a, requires_grad=True) for a in arrays]
    ts = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = ours(*xs), theirs(*ts)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
    if grad:
        g = _rand(tuple(ty.shape), seed=7)
        y.backward(nv.tensor(g))
        ty.backward(torch.tensor(g))
        for x, t in zip(xs, ts):
            if t is not None:
                np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


# ---------------------------------------------------------------- max pooling next to padding
def _minus_inf_plane(shape, keep):
    a = np.full(shape, -np.inf)
    a[..., keep[0], keep[1]] = 1.0
    return a


@pytest.mark.parametrize("kw", [
    dict(kernel_size=2, stride=1, padding=1),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=2, padding=1, dilation=2),
    dict(kernel_size=2, stride=2, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), ceil_mode=True),
])
def test_max_pool2d_all_minus_inf_window_never_picks_the_padding(kw):
    # A window of −∞ ties with the −∞ padding: torch keeps the window's first real element,
    # so the index is a real pixel and the gradient reaches the input.
    a = _minus_inf_plane((2, 2, 5, 5), (4, 4))
    a[1, 1] = _rand((5, 5))
    v, i = F.max_pool2d(nv.tensor(a), return_indices=True, **kw)
    tv, ti = TF.max_pool2d(torch.tensor(a), return_indices=True, **kw)
    np.testing.assert_array_equal(v.numpy(), tv.numpy())
    assert i.tolist() == ti.tolist()
    assert i.numpy().min() >= 0
    _parity(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), [a])


@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=2, stride=2, ceil_mode=True)])
def test_max_pool1d_all_minus_inf_window_never_picks_the_padding(kw):
    a = np.full((2, 3, 5), -np.inf)
    a[0, 0, 3] = 2.0
    _, i = F.max_pool1d(nv.tensor(a), return_indices=True, **kw)
    _, ti = TF.max_pool1d(torch.tensor(a), return_indices=True, **kw)
    assert i.tolist() == ti.tolist()
    _parity(lambda x: F.max_pool1d(x, **kw), lambda x: TF.max_pool1d(x, **kw), [a])


def test_max_pool_padding_bound_ignores_dilation_like_torch():
    # torch bounds the padding by half the kernel size, not the dilated extent.
    with pytest.raises(ValueError, match=r"max_pool2d: padding 2 must be between 0 and half the kernel size 3"):
        F.max_pool2d(nv.ones(1, 1, 9, 9), 3, padding=2, dilation=2)
    with pytest.raises(ValueError, match=r"max_pool1d: padding 2 must be between 0 and half the kernel size 3"):
        nv.nn.MaxPool1d(3, padding=2, dilation=3)(nv.ones(1, 1, 12))
    _parity(lambda x: F.max_pool2d(x, 2, 1, 1, 2), lambda x: TF.max_pool2d(x, 2, 1, 1, 2), [_rand((1, 2, 6, 6))])


def test_avg_pool2d_zero_divisor_override_raises():
    with pytest.raises(ValueError, match=r"divisor_override must be non-zero, got 0"):
        F.avg_pool2d(nv.ones(1, 1, 4, 4), 2, divisor_override=0)
    with pytest.raises(ValueError, match=r"divisor_override must be non-zero"):
        nv.nn.AvgPool2d(2, divisor_override=0)(nv.ones(1, 1, 4, 4))
    _parity(lambda x: F.avg_pool2d(x, 3, 2, 1, True, False, 2), lambda x: TF.avg_pool2d(x, 3, 2, 1, True, False, 2),
            [_rand((2, 2, 6, 7))])


# ---------------------------------------------------------------- nearest resampling with a scale
@pytest.mark.parametrize("L,sf", [(3, 2.1), (5, 2.1), (6, 1.1), (4, 2.05), (5, 1.5), (7, 0.6)])
def test_interpolate_nearest_1d_scale_factor_matches_torch(L, sf):
    # 1-D: the source index is ⌊i / scale⌋ even when the output is exactly L or 2L long.
    a = _rand((2, 3, L))
    y = F.interpolate(nv.tensor(a), scale_factor=sf)
    np.testing.assert_array_equal(y.numpy(), TF.interpolate(torch.tensor(a), scale_factor=sf).numpy())
    # torch's 1-D backward uses other indices than its forward; ours is the true adjoint.
    assert gradcheck(lambda t: F.interpolate(t, scale_factor=sf), [nv.tensor(a, requires_grad=True)])


@pytest.mark.parametrize("sf", [2.1, (1.1, 2.1), (2.05, 1.0), 1.5])
def test_interpolate_nearest_2d_scale_factor_keeps_torch_shortcuts(sf):
    _parity(lambda x: F.interpolate(x, scale_factor=sf), lambda x: TF.interpolate(x, scale_factor=sf),
            [_rand((1, 2, 3, 4))])


# ---------------------------------------------------------------- unbatched functional forms
@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, output_padding=1), dict(groups=2, dilation=2)])
def test_conv_transpose_functional_accepts_unbatched_input(kw):
    _parity(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw),
            [_rand((4, 3, 5)), _rand((4, 3, 3, 2), 1), _rand((6 if kw.get("groups") else 3,), 2)])
    _parity(lambda x, w, b: F.conv_transpose1d(x, w, b, **kw), lambda x, w, b: TF.conv_transpose1d(x, w, b, **kw),
            [_rand((4, 5)), _rand((4, 3, 3), 1), _rand((6 if kw.get("groups") else 3,), 2)])


def test_unfold_and_fold_accept_unbatched_input():
    _parity(lambda x: F.unfold(x, (2, 3), 1, 1, 2), lambda x: TF.unfold(x, (2, 3), 1, 1, 2), [_rand((3, 5, 6))])
    cols = _rand((3 * 4, 9))
    _parity(lambda c: F.fold(c, (4, 4), 2, 1, 0, 1), lambda c: TF.fold(c, (4, 4), 2, 1, 0, 1), [cols])
    with pytest.raises(RuntimeError, match=r"unfold: expected a 4-D input .* or an unbatched 3-D one"):
        F.unfold(nv.ones(4, 4), 2)


# ---------------------------------------------------------------- guarding parity sweep
@pytest.mark.parametrize("stride,padding,dilation,groups,k", [
    (1, "same", 1, 1, (2, 4)), (1, "same", 2, 2, (3, 2)), (2, (1, 2), 1, 4, (3, 3)),
    ((2, 1), "valid", (1, 2), 2, (2, 3)), (1, 0, 1, 4, (1, 1)),
])
def test_conv2d_edges_match_torch(stride, padding, dilation, groups, k):
    a = _rand((2, 4, 7, 6))
    _parity(lambda x, w, b: F.conv2d(x.transpose(2, 3), w, b, stride, padding, dilation, groups),
            lambda x, w, b: TF.conv2d(x.transpose(2, 3), w, b, stride, padding, dilation, groups),
            [a, _rand((8, 4 // groups, *k), 1), _rand((8,), 2)])


def test_depthwise_conv_with_channel_multiplier_and_too_small_input():
    _parity(lambda x, w: F.conv2d(x, w, None, 2, 1, 1, 3), lambda x, w: TF.conv2d(x, w, None, 2, 1, 1, 3),
            [_rand((2, 3, 5, 6)), _rand((9, 1, 3, 2), 1)])
    with pytest.raises(RuntimeError, match=r"conv2d: input of shape \(1, 1, 2, 2\) is too small for a 3×3 kernel"):
        F.conv2d(nv.ones(1, 1, 2, 2), nv.ones(1, 1, 3, 3))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv_layer_padding_modes_with_same_and_even_kernel(mode):
    t = torch.nn.Conv2d(2, 4, (2, 4), padding="same", dilation=(2, 1), padding_mode=mode, groups=2).double()
    m = nv.nn.Conv2d(2, 4, (2, 4), padding="same", dilation=(2, 1), padding_mode=mode, groups=2, dtype="float64")
    m.weight._data[...] = t.weight.detach().numpy()
    m.bias._data[...] = t.bias.detach().numpy()
    _parity(lambda x: m(x), lambda x: t(x), [_rand((2, 2, 5, 6))])


@pytest.mark.parametrize("extra", [0, 1, 2])
def test_conv_transpose_output_size_picks_the_output_padding(extra):
    t = torch.nn.ConvTranspose2d(2, 3, 3, stride=3, padding=1).double()
    m = nv.nn.ConvTranspose2d(2, 3, 3, stride=3, padding=1, dtype="float64")
    m.weight._data[...] = t.weight.detach().numpy()
    m.bias._data[...] = t.bias.detach().numpy()
    size = (10 + extra, 8)
    _parity(lambda x: m(x, output_size=size), lambda x: t(x, output_size=size), [_rand((1, 2, 4, 3))])


@pytest.mark.parametrize("kw", [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(3, 2), padding=(1, 1), ceil_mode=True, count_include_pad=True),
    dict(kernel_size=4, stride=3, ceil_mode=True),
])
def test_avg_and_max_pool_ceil_mode_edges(kw):
    a = _rand((2, 2, 7, 8))
    _parity(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), [a])
    mkw = {k: v for k, v in kw.items() if k != "count_include_pad"}
    _parity(lambda x: F.max_pool2d(x, **mkw), lambda x: TF.max_pool2d(x, **mkw), [np.round(a)])   # ties


@pytest.mark.parametrize("size", [(3, None), (None, 5), (4, 3)])
def test_adaptive_pools_with_none_and_uneven_bins(size):
    a = _rand((2, 2, 7, 6))
    _parity(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size), [a])
    _parity(lambda x: F.adaptive_max_pool2d(x, size), lambda x: TF.adaptive_max_pool2d(x, size), [a])


@pytest.mark.parametrize("momentum,track", [(None, True), (0.3, False), (0.1, True)])
def test_batch_norm_running_stats_and_eval_batch_of_one(momentum, track):
    t = torch.nn.BatchNorm2d(3, momentum=momentum, track_running_stats=track).double()
    m = nv.nn.BatchNorm2d(3, momentum=momentum, track_running_stats=track, dtype="float64")
    for step, shape in enumerate([(4, 3, 2, 3), (2, 3, 3, 1), (3, 3, 1, 2)]):
        _parity(lambda x: m(x), lambda x: t(x), [_rand(shape, step) * 2 + 1])
    if track:
        np.testing.assert_allclose(m.running_mean.numpy(), t.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(m.running_var.numpy(), t.running_var.numpy(), rtol=1e-12)
    m.eval()
    t.eval()
    _parity(lambda x: m(x), lambda x: t(x), [_rand((1, 3, 2, 2), 9)])


def test_instance_layer_group_norm_edges():
    t = torch.nn.InstanceNorm1d(3, affine=True, track_running_stats=True).double()
    m = nv.nn.InstanceNorm1d(3, affine=True, track_running_stats=True, dtype="float64")
    _parity(lambda x: m(x), lambda x: t(x), [_rand((3, 5))])                     # unbatched
    np.testing.assert_allclose(m.running_var.numpy(), t.running_var.numpy(), rtol=1e-12)
    m.eval()
    t.eval()
    _parity(lambda x: m(x), lambda x: t(x), [_rand((2, 3, 4), 1)])
    ln_t = torch.nn.LayerNorm((3, 4), bias=False).double()
    ln = nv.nn.LayerNorm((3, 4), bias=False, dtype="float64")
    _parity(lambda x: ln(x), lambda x: ln_t(x), [_rand((2, 3, 4))])
    _parity(lambda x: F.group_norm(x, 3), lambda x: TF.group_norm(x, 3), [_rand((2, 6, 5))])


@pytest.mark.parametrize("call,match", [
    (lambda: F.conv2d(nv.ones(1, 2, 4, 4), nv.ones(3, 2, 2, 2), nv.ones(4)), r"conv2d: bias has shape \(4,\).* \(3,\)"),
    (lambda: F.conv1d(nv.ones(1, 2, 4), nv.ones(3, 2, 2), nv.ones(3, 1)), r"conv1d: bias has shape \(3, 1\)"),
    (lambda: F.conv2d(nv.ones(1, 3, 4, 4), nv.ones(3, 1, 2, 2), nv.ones(1), groups=3), r"conv2d: bias has shape \(1,\)"),
    # a (1,) bias used to broadcast over every output channel of a transposed conv
    (lambda: F.conv_transpose2d(nv.ones(1, 2, 4, 4), nv.ones(2, 3, 2, 2), nv.ones(1)),
     r"conv_transpose2d: bias has shape \(1,\).* 3 output channels"),
    (lambda: F.conv_transpose1d(nv.ones(1, 4, 4), nv.ones(4, 3, 2), nv.ones(3), groups=2),
     r"conv_transpose1d: bias has shape \(3,\).* \(6,\)"),
])
def test_conv_bias_of_the_wrong_shape_is_named(call, match):
    with pytest.raises(RuntimeError, match=match):
        call()


@pytest.mark.parametrize("size,match", [(-1, "must be positive, got -1"), (0, "must be positive, got 0"),
                                        ((2, 2), r"must be an int or a 1-tuple, got \(2, 2\)")])
def test_adaptive_avg_pool1d_rejects_bad_output_sizes(size, match):
    with pytest.raises(ValueError, match=f"adaptive_avg_pool1d: output_size {match}"):
        F.adaptive_avg_pool1d(nv.ones(1, 1, 5), size)
    _parity(lambda x: F.adaptive_avg_pool1d(x, (3,)), lambda x: TF.adaptive_avg_pool1d(x, (3,)), [_rand((2, 5))])


@pytest.mark.parametrize("size", [4, (4, 3), (5, 2)])
def test_adaptive_max_pool_uneven_bins_send_nan_windows_to_the_last_nan(size):
    # torch lets each NaN replace the running maximum, so the last NaN of a bin is picked.
    a = np.arange(36.0).reshape(1, 1, 6, 6)
    a[0, 0, 0, 0] = a[0, 0, 1, 1] = a[0, 0, 5, 4] = a[0, 0, 4, 5] = np.nan
    _, i = F.adaptive_max_pool2d(nv.tensor(a), size, return_indices=True)
    assert i.tolist() == TF.adaptive_max_pool2d(torch.tensor(a), size, return_indices=True)[1].tolist()
    b = np.arange(8.0).reshape(1, 1, 8)
    b[0, 0, [0, 1, 5, 7]] = np.nan
    Lo = size if isinstance(size, int) else size[0]
    _, i = F.adaptive_max_pool1d(nv.tensor(b), Lo, return_indices=True)
    assert i.tolist() == TF.adaptive_max_pool1d(torch.tensor(b), Lo, return_indices=True)[1].tolist()
    x = nv.tensor(b, requires_grad=True)
    F.adaptive_max_pool1d(x, Lo).sum().backward()
    tx = torch.tensor(b, requires_grad=True)
    TF.adaptive_max_pool1d(tx, Lo).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int64])
@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=4, stride=3, ceil_mode=True)])
def test_max_pool2d_integer_input_padding_never_wins(dtype, kw):
    # −∞ cast to uint8 was 0: a window of zeros then reported a padded (negative) index.
    a = np.zeros((1, 1, 6, 6), dtype=dtype)                 # zero windows at the padded top-left
    a[0, 0, 3:, 3:] = np.arange(1, 10).reshape(3, 3)
    v, i = F.max_pool2d(nv.tensor(a), return_indices=True, **kw)
    tv, ti = TF.max_pool2d(torch.tensor(a), return_indices=True, **kw)
    assert v.dtype == a.dtype and v.tolist() == tv.tolist() and i.tolist() == ti.tolist()


def test_max_pool2d_boolean_input_is_not_padded_with_true():
    a = np.zeros((1, 1, 4, 4), dtype=bool)
    a[0, 0, 3, 3] = True
    v = F.max_pool2d(nv.tensor(a), 3, 1, 1)
    ref = F.max_pool2d(nv.tensor(a.astype(np.float64)), 3, 1, 1)
    assert v.numpy().tolist() == (ref.numpy() > 0).tolist()


@pytest.mark.parametrize("widths", [(-6, 2), (2, -6), (-7, 3)])
def test_pad_crop_larger_than_the_dimension_raises(widths):
    # (-6, 2) on length 5 used to return a single padded zero.
    with pytest.raises(RuntimeError, match=r"pad: padding .* on dimension 2 of size 5 crops more than the 5"):
        F.pad(nv.ones(1, 2, 5), widths)


@pytest.mark.parametrize("widths", [(-5, 2), (-4, -1), (0, -5, 1, -2), (2, -1, -3, 0)])
def test_pad_crops_up_to_the_whole_dimension_match_torch(widths):
    _parity(lambda x: F.pad(x, widths, value=1.5), lambda x: TF.pad(x, widths, value=1.5), [_rand((2, 3, 5))])
