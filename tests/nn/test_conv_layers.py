"""The layer twins of the conv / pooling / normalization / dropout ops.

Glossary rows #6, #11, #17, #20, #21, #25, #31, #38, #60, #66, #85, #97, A37, A39.
"""
import doctest
import importlib
import math

import numpy as np
import pytest

import nerve as nv
from nerve import nn
from nerve.nn.conv import Conv1d, Conv2d, ConvTranspose2d
from nerve.nn.dropout import DropConnectLinear, Dropout, Dropout2d
from nerve.nn.normalization import (BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm,
                                    LocalResponseNorm, spectral_norm, remove_spectral_norm)
from nerve.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, GlobalAvgPool2d, MaxPool1d, MaxPool2d, Upsample

MODULES = ["nerve.nn.conv", "nerve.nn.pooling", "nerve.nn.normalization", "nerve.nn.dropout"]
rng = np.random.default_rng(0)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, monkeypatch):
    mod = importlib.import_module(name)
    for attr in mod.__all__:  # until nn/__init__.py exports them
        if not hasattr(nn, attr):
            monkeypatch.setattr(nn, attr, getattr(mod, attr), raising=False)
    assert doctest.testmod(mod).failed == 0


def _copy_to_torch(ours, theirs):
    import torch

    with torch.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(torch.tensor(getattr(ours, name).numpy()))


# ---------------------------------------------------------------- convolution layers
def test_conv2d_default_init_is_uniform_within_one_over_sqrt_fan_in():
    layer = Conv2d(16, 32, 3)
    bound = 1 / math.sqrt(16 * 9)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert w.shape == (32, 16, 3, 3) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound


def test_seed_layer_shape_and_parameter_count():
    layer = Conv2d(3, 32, 3, stride=1, padding="same")
    assert layer(nv.zeros(1, 3, 224, 224)).shape == (1, 32, 224, 224)
    assert layer.num_parameters() == 896
    assert Conv2d(3, 32, 3, padding="valid")(nv.zeros(1, 3, 224, 224)).shape == (1, 32, 222, 222)


def test_forward_hook_sees_the_feature_maps_a_manual_conv_call_gives():
    layer = Conv2d(3, 4, 3, padding=1)
    seen = []
    layer.register_forward_hook(lambda m, args, out: seen.append(out))
    x = nv.randn(2, 3, 8, 8)
    layer(x)
    np.testing.assert_array_equal(seen[0].numpy(), nv.nn.functional.conv2d(x, layer.weight, layer.bias,
                                                                           padding=1).numpy())


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=(2, 3), padding="same"),
    dict(kernel_size=3, padding=1, padding_mode="reflect"), dict(kernel_size=3, padding=2, padding_mode="replicate"),
    dict(kernel_size=4, padding="same", padding_mode="circular", dilation=2),
    dict(kernel_size=3, groups=2, bias=False)])
def test_conv2d_layer_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    ours = Conv2d(4, 6, **kwargs).double()
    theirs = torch.nn.Conv2d(4, 6, **kwargs).double()
    _copy_to_torch(ours, theirs)
    x = rng.standard_normal((2, 4, 9, 8))
    t, tt = nv.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(t), theirs(tt)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), atol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-11)


@pytest.mark.torch
def test_conv1d_and_conv_transpose2d_layers_match_torch():
    torch = pytest.importorskip("torch")
    for ours, theirs, shape in [
            (Conv1d(3, 5, 3, stride=2, padding=1), torch.nn.Conv1d(3, 5, 3, stride=2, padding=1), (2, 3, 11)),
            (ConvTranspose2d(4, 3, 4, stride=2, padding=1), torch.nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1),
             (2, 4, 5, 6)),
            (ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2),
             torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2), (1, 4, 3, 3))]:
        ours.double()
        theirs.double()
        _copy_to_torch(ours, theirs)
        x = rng.standard_normal(shape)
        np.testing.assert_allclose(ours(nv.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), atol=1e-12)
    # the default init of a transposed conv uses fan_in = out_channels/groups · k·k, as in PyTorch
    w = ConvTranspose2d(64, 8, 4).weight.numpy()
    assert w.shape == (64, 8, 4, 4) and np.abs(w).max() <= 1 / math.sqrt(8 * 16)


def test_circular_padding_gives_exact_shift_equivariance_and_gap_invariance():
    layer = Conv2d(2, 3, 3, padding=1, padding_mode="circular").double()
    x = rng.standard_normal((1, 2, 10, 10))
    shifted = np.roll(x, (3, -2), axis=(2, 3))
    y, ys = layer(nv.tensor(x)).numpy(), layer(nv.tensor(shifted)).numpy()
    np.testing.assert_allclose(ys, np.roll(y, (3, -2), axis=(2, 3)), atol=1e-12)
    gap = GlobalAvgPool2d()
    np.testing.assert_allclose(gap(nv.tensor(y)).numpy(), gap(nv.tensor(ys)).numpy(), atol=1e-12)


def test_conv_layer_errors_name_the_layer_and_the_fix():
    with pytest.raises(RuntimeError, match=r"Conv2d\(3→8, 3×3\).*4 channels.*Conv2d\(4, 8"):
        Conv2d(3, 8, 3)(nv.zeros(1, 4, 8, 8))
    with pytest.raises(RuntimeError, match="expects a 4-D input"):
        Conv2d(3, 8, 3)(nv.zeros(8, 8))
    with pytest.raises(ValueError, match="groups=3 must divide"):
        Conv2d(4, 8, 3, groups=3)
    assert Conv2d(3, 8, 3, padding=1)(nv.zeros(3, 5, 5)).shape == (8, 5, 5)  # unbatched input


# ---------------------------------------------------------------- pooling and resampling layers
@pytest.mark.torch
def test_pooling_layers_match_torch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 9, 8))
    T = torch.nn
    pairs = [(MaxPool2d(2), T.MaxPool2d(2)), (MaxPool2d(3, 2, 1, ceil_mode=True), T.MaxPool2d(3, 2, 1, ceil_mode=True)),
             (AvgPool2d(3, 2, 1, count_include_pad=False), T.AvgPool2d(3, 2, 1, count_include_pad=False)),
             (AdaptiveAvgPool2d((2, 3)), T.AdaptiveAvgPool2d((2, 3))),
             (Upsample(scale_factor=2, mode="bilinear", align_corners=True),
              T.Upsample(scale_factor=2, mode="bilinear", align_corners=True)),
             (Upsample(size=(5, 4)), T.Upsample(size=(5, 4)))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours(nv.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), atol=1e-12)
    x1 = rng.standard_normal((2, 3, 10))
    np.testing.assert_allclose(MaxPool1d(3, 2)(nv.tensor(x1)).numpy(), T.MaxPool1d(3, 2)(torch.tensor(x1)).numpy())
    out, idx = MaxPool2d(2, return_indices=True)(nv.tensor(x))
    assert idx.dtype == np.int64 and idx.shape == out.shape


def test_global_avg_pool_layer_flattens_unless_asked():
    x = nv.randn(2, 5, 4, 4)
    assert GlobalAvgPool2d()(x).shape == (2, 5)
    assert GlobalAvgPool2d(keepdim=True)(x).shape == (2, 5, 1, 1)
    np.testing.assert_allclose(GlobalAvgPool2d()(x).numpy(), AdaptiveAvgPool2d(1)(x).numpy()[:, :, 0, 0], rtol=1e-6)


# ---------------------------------------------------------------- normalization layers
@pytest.mark.torch
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm2d_running_stats_and_eval_output_match_torch_after_10_batches(momentum):
    torch = pytest.importorskip("torch")
    ours = BatchNorm2d(4, momentum=momentum)
    theirs = torch.nn.BatchNorm2d(4, momentum=momentum)
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.uniform_(-0.5, 0.5)
    ours.weight.data[...] = theirs.weight.detach().numpy()
    ours.bias.data[...] = theirs.bias.detach().numpy()
    for _ in range(10):
        x = (rng.standard_normal((8, 4, 5, 5)) * 2 + 0.5).astype(np.float32)
        y, ty = ours(nv.tensor(x)), theirs(torch.tensor(x))
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-5, atol=1e-6)
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked) == 10
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((3, 4, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(nv.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


def test_batchnorm_buffers_state_dict_and_modes():
    bn = BatchNorm1d(3)
    assert set(bn.state_dict()) == {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
    assert bn.num_parameters() == 6
    x = nv.randn(10, 3) * 3 + 1
    bn(x)
    rm = bn.running_mean.numpy().copy()
    bn.eval()
    bn(x)
    np.testing.assert_array_equal(bn.running_mean.numpy(), rm)  # eval never updates
    free = BatchNorm1d(3, affine=False, track_running_stats=False)
    assert free.num_parameters() == 0 and free.running_mean is None
    free.eval()
    y = free(x).numpy()  # no running stats: batch statistics even in eval
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-6)
    with pytest.raises(RuntimeError, match=r"BatchNorm2d\(3\).*4-D"):
        BatchNorm2d(3)(nv.randn(2, 3))
    with pytest.raises(RuntimeError, match="num_features=5"):
        BatchNorm1d(3)(nv.randn(4, 5))


def test_batchnorm_gradients_pass_gradcheck_through_the_batch_statistics():
    bn = BatchNorm2d(2).double()
    x = nv.randn(3, 2, 2, 2, dtype=nv.float64, requires_grad=True)
    assert nv.autograd.gradcheck(lambda t: bn(t) * nv.tensor(np.arange(24.0).reshape(3, 2, 2, 2)), [x])


@pytest.mark.torch
def test_other_norm_layers_match_torch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 6, 4, 5)).astype(np.float32)
    T = torch.nn
    pairs = [(InstanceNorm2d(6), T.InstanceNorm2d(6)),
             (InstanceNorm2d(6, affine=True), T.InstanceNorm2d(6, affine=True)),
             (LayerNorm((4, 5)), T.LayerNorm((4, 5))), (GroupNorm(3, 6), T.GroupNorm(3, 6)),
             (LocalResponseNorm(5, k=2.0), T.LocalResponseNorm(5, k=2.0)),
             (LocalResponseNorm(3), T.LocalResponseNorm(3))]
    for ours, theirs in pairs:
        with torch.no_grad():
            for name, p in theirs.named_parameters():
                p.uniform_(0.5, 1.5)
                getattr(ours, name).data[...] = p.numpy()
        np.testing.assert_allclose(ours(nv.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
    tracked, ttracked = InstanceNorm2d(6, track_running_stats=True), T.InstanceNorm2d(6, track_running_stats=True)
    for _ in range(3):
        tracked(nv.tensor(x))
        ttracked(torch.tensor(x))
    np.testing.assert_allclose(tracked.running_var.numpy(), ttracked.running_var.numpy(), rtol=1e-5)
    tracked.eval()
    ttracked.eval()
    np.testing.assert_allclose(tracked(nv.tensor(x)).numpy(), ttracked(torch.tensor(x)).numpy(), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- dropout layers
def test_dropout_layers_are_identity_in_eval_and_active_in_train():
    x = nv.ones(1000)
    drop = Dropout(0.25)
    y = drop(x).numpy()
    assert 0.2 < (y == 0).mean() < 0.3
    drop.eval()
    assert drop(x) is x
    d2 = Dropout2d(0.5)
    assert d2(nv.ones(4, 8, 2, 2)).shape == (4, 8, 2, 2)
    x4 = nv.ones(4, 8, 2, 2)
    assert d2.eval()(x4) is x4
    with pytest.raises(ValueError, match="probability"):
        Dropout(-0.1)


def test_dropconnect_linear_layer():
    layer = DropConnectLinear(20, 5, p=0.5).double()
    x = nv.randn(3, 20, dtype=nv.float64)
    y1, y2 = layer(x).numpy(), layer(x).numpy()
    assert not np.allclose(y1, y2)  # a new weight mask per call
    layer.eval()
    np.testing.assert_allclose(layer(x).numpy(), x.numpy() @ layer.weight.numpy().T + layer.bias.numpy())
    assert layer.num_parameters() == 20 * 5 + 5
    assert "p=0.5" in repr(layer)


# ---------------------------------------------------------------- spectral normalization
def test_spectral_norm_drives_the_largest_singular_value_to_one():
    layer = spectral_norm(nv.nn.Linear(30, 20))
    layer.weight_orig.data *= 5
    for _ in range(50):
        layer(nv.randn(4, 30))
    assert abs(np.linalg.norm(layer.weight.numpy().astype(np.float64), 2) - 1) < 1e-3
    conv = spectral_norm(Conv2d(3, 8, 3))
    for _ in range(50):
        conv(nv.randn(1, 3, 6, 6))
    assert abs(np.linalg.norm(conv.weight.numpy().reshape(8, -1).astype(np.float64), 2) - 1) < 1e-3
    assert {"weight_orig", "bias"} == {n for n, _ in conv.named_parameters()}
    remove_spectral_norm(conv)
    assert "weight" in dict(conv.named_parameters())


@pytest.mark.torch
def test_spectral_norm_matches_torch_given_the_same_starting_vectors():
    torch = pytest.importorskip("torch")
    ours = Conv2d(3, 4, 3).double()
    theirs = torch.nn.Conv2d(3, 4, 3).double()
    _copy_to_torch(ours, theirs)
    ours, theirs = spectral_norm(ours, n_power_iterations=2), torch.nn.utils.spectral_norm(theirs, n_power_iterations=2)
    with torch.no_grad():
        theirs.weight_u.copy_(torch.tensor(ours.weight_u.numpy()))
        theirs.weight_v.copy_(torch.tensor(ours.weight_v.numpy()))
    x = rng.standard_normal((2, 3, 6, 6))
    for _ in range(3):
        out, tout = ours(nv.tensor(x)), theirs(torch.tensor(x))
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), atol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(ours.weight_orig.grad.numpy(), theirs.weight_orig.grad.numpy(), atol=1e-11)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(nv.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), atol=1e-12)


# ---------------------------------------------------------------- the layers together
def test_a_small_cnn_learns_to_tell_horizontal_from_vertical_bars():
    """Conv + BatchNorm + ReLU + MaxPool + Dropout2d + GAP + DropConnect, trained with plain SGD."""
    gen = np.random.default_rng(3)

    def batch(n):
        y = gen.integers(0, 2, n)
        x = gen.normal(0, 0.3, (n, 1, 12, 12))
        pos = gen.integers(2, 10, n)
        for k in range(n):
            if y[k]:
                x[k, 0, :, pos[k]] += 1.0
            else:
                x[k, 0, pos[k], :] += 1.0
        return nv.tensor(x.astype(np.float32)), y

    model = nn.Sequential(Conv2d(1, 8, 3, padding="same"), BatchNorm2d(8), nn.ReLU(), MaxPool2d(2),
                          Dropout2d(0.1), Conv2d(8, 8, 3, padding=1), nn.ReLU(), GlobalAvgPool2d(),
                          DropConnectLinear(8, 2, p=0.1))
    params = list(model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(60):
        x, y = batch(32)
        loss = loss_fn(model(x), nv.tensor(y))
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data -= 0.2 * p.grad.data
    model.eval()
    x, y = batch(400)
    acc = (model(x).numpy().argmax(1) == y).mean()
    assert acc > 0.95, acc
