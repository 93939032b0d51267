"""Edge cases of nn.init and of the model zoo's architectures, against torch as the oracle.

tests/nn/test_init.py already covers the gain table, 2-/4-D fans, dirac_ equality, trunc_normal_
on moderate bounds and orthogonal_ on four shapes; tests/models/test_resnet.py covers the ResNet
parameter counts, resnet18's state_dict keys and its forward/backward parity. This file adds what
those leave open: zero-element tensors, sparse_, dtype and in-place on every initializer, 3-/5-D
fan modes, far-tail truncated normals in float32, each layer's default reset against torch's,
resnet50's torchvision key names and strides, torchvision's ResNet init, a BasicBlock twin with
running statistics, the seed MLP twin, and eval() determinism across the zoo.
"""
import math
import warnings

import numpy as np
import pytest

import nerve as nv
from nerve import models, nn
from nerve.nn import init


# =========================================================================== nn.init
_ALL_FILLS = [
    ("uniform_", lambda t: init.uniform_(t, -0.5, 0.5)),
    ("normal_", lambda t: init.normal_(t, 0.0, 0.3)),
    ("constant_", lambda t: init.constant_(t, 0.25)),
    ("ones_", init.ones_),
    ("zeros_", init.zeros_),
    ("eye_", init.eye_),
    ("xavier_uniform_", init.xavier_uniform_),
    ("xavier_normal_", init.xavier_normal_),
    ("kaiming_uniform_", init.kaiming_uniform_),
    ("kaiming_normal_", init.kaiming_normal_),
    ("trunc_normal_", init.trunc_normal_),
    ("orthogonal_", init.orthogonal_),
    ("sparse_", lambda t: init.sparse_(t, 0.3)),
]


@pytest.mark.parametrize("name, fill", _ALL_FILLS, ids=[n for n, _ in _ALL_FILLS])
def test_every_initializer_is_in_place_keeps_float64_and_records_no_graph(name, fill):
    p = nn.Parameter(nv.zeros(12, 9, dtype=nv.float64))
    arr = p._data
    out = fill(p)
    assert out is p and p._data is arr
    assert p.dtype == np.float64 and p._data.dtype == np.float64
    assert p.requires_grad and p.is_leaf and p.grad_fn is None and p.grad is None
    if name not in ("zeros_",):
        assert np.any(p._data != 0)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["uniform_", "normal_", "constant_", "zeros_", "ones_", "xavier_uniform_",
                                  "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
                                  "trunc_normal_", "orthogonal_"])
@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0,), (0, 3, 3, 3)])
def test_zero_element_tensors_behave_as_torch(name, shape):
    """torch returns zero-element tensors untouched (kaiming_* with a warning, even for a
    1-D (0,) shape, because it checks emptiness before the fan); nerve must neither raise
    where torch does not nor accept what torch refuses."""
    torch = pytest.importorskip("torch")
    args = {"constant_": (0.5,)}.get(name, ())

    def outcome(fn, t):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fn(t, *args)
            except (ValueError, RuntimeError, ZeroDivisionError):
                return False, "raised"
        return any("zero-element" in str(w.message) for w in caught), "ok"

    theirs = outcome(getattr(torch.nn.init, name), torch.empty(*shape))
    ours = outcome(getattr(init, name), nv.empty(*shape))
    assert ours[1] == theirs[1], (ours, theirs)
    if theirs[1] == "ok":
        assert ours[0] == theirs[0], f"torch warned={theirs[0]}, nerve warned={ours[0]}"


@pytest.mark.torch
@pytest.mark.parametrize("name, fill", _ALL_FILLS, ids=[n for n, _ in _ALL_FILLS])
def test_reinitialising_a_weight_a_graph_saved_makes_backward_refuse_like_torch(name, fill):
    """torch bumps the version counter even under no_grad, so backward through a product that
    saved the old weight raises; silently using the new values would give a wrong gradient."""
    torch = pytest.importorskip("torch")
    tw = torch.nn.Parameter(torch.ones(12, 9))
    tx = torch.ones(9, 4, requires_grad=True)
    ty = (tw @ tx).sum()
    getattr(torch.nn.init, name)(tw, *{"constant_": (0.25,), "sparse_": (0.3,)}.get(name, ()))
    with pytest.raises(RuntimeError, match="inplace"):
        ty.backward()
    w = nn.Parameter(nv.ones(12, 9))
    x = nv.ones(9, 4, requires_grad=True)
    y = (w @ x).sum()
    fill(w)
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


@pytest.mark.torch
def test_filling_a_slice_writes_through_to_the_parameter_as_torch():
    """The LSTM forget-gate idiom ``constant_(lstm.bias_ih_l0[H:2H], 1.0)`` and per-gate
    ``orthogonal_(weight_hh[k*H:(k+1)*H])`` must change the parameter itself."""
    torch = pytest.importorskip("torch")
    H = 6
    ours, theirs = nn.LSTM(3, H), torch.nn.LSTM(3, H)
    init.constant_(ours.bias_ih_l0[H:2 * H], 1.0)
    torch.nn.init.constant_(theirs.bias_ih_l0[H:2 * H], 1.0)
    np.testing.assert_array_equal(ours.bias_ih_l0._data[H:2 * H], theirs.bias_ih_l0.detach().numpy()[H:2 * H])
    assert np.all(ours.bias_ih_l0._data[H:2 * H] == 1) and np.all(np.abs(ours.bias_ih_l0._data[:H]) < 1)
    w = ours.weight_hh_l0.double()
    for k in range(4):
        init.orthogonal_(w[k * H:(k + 1) * H])
        block = w._data[k * H:(k + 1) * H]
        np.testing.assert_allclose(block @ block.T, np.eye(H), atol=1e-12)
    init.zeros_(w[:, 2])
    assert not w._data[:, 2].any()


def test_gpt_initialisation_is_nanogpts():
    """N(0, 0.02) for embeddings and projections, 0.02/√(2·n_layer) for the residual
    projections (c_proj), zero biases, LayerNorm γ = 1."""
    nv.manual_seed(0)
    net = models.char_gpt(vocab_size=600, block_size=32, n_layer=3, n_embd=96)
    for name, p in net.named_parameters():
        a = p._data.astype(np.float64)
        if name.endswith("c_proj.weight"):
            assert abs(a.std() / (0.02 / math.sqrt(6)) - 1) < 0.05, name
        elif name.endswith(".bias"):
            assert not a.any(), name
        elif ".ln_" in name or name.startswith("ln_f"):
            assert np.all(a == 1), name
        else:
            assert abs(a.std() / 0.02 - 1) < 0.05 and abs(a.mean()) < 0.002, name


_RANDOM_FILLS = [(n, f) for n, f in _ALL_FILLS if n not in ("constant_", "ones_", "zeros_", "eye_")]


@pytest.mark.parametrize("name, fill", _RANDOM_FILLS, ids=[n for n, _ in _RANDOM_FILLS])
def test_a_nerve_generator_is_accepted_like_torchs_generator_argument(name, fill):
    """torch code passes ``generator=torch.Generator().manual_seed(s)``; the nerve twin of
    that object must drive the draw (same seed, same values; global stream untouched)."""
    fn = {"uniform_": lambda t, g: init.uniform_(t, -0.5, 0.5, generator=g),
          "normal_": lambda t, g: init.normal_(t, 0.0, 0.3, generator=g),
          "sparse_": lambda t, g: init.sparse_(t, 0.3, generator=g)}.get(
        name, lambda t, g: getattr(init, name)(t, generator=g))
    nv.manual_seed(0)
    a = fn(nv.empty(12, 9), nv.Generator().manual_seed(4))._data.copy()
    after_a = nv.rand(3).numpy()
    nv.manual_seed(0)
    b = fn(nv.empty(12, 9), nv.Generator().manual_seed(4))._data
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(nv.rand(3).numpy(), after_a)
    nv.manual_seed(0)
    np.testing.assert_array_equal(nv.rand(3).numpy(), after_a)     # the global stream was not used
    np.testing.assert_array_equal(a, fn(nv.empty(12, 9), np.random.default_rng(4))._data)
    with pytest.raises(TypeError, match="generator"):
        fn(nv.empty(12, 9), 4)


@pytest.mark.torch
@pytest.mark.parametrize("rows, cols, sparsity", [(10, 400, 0.1), (7, 300, 0.33), (9, 200, 0.5),
                                                  (6, 50, 1.0), (5, 40, 0.0), (1000, 30, 0.9)])
def test_sparse_zeroes_ceil_sparsity_rows_in_every_column_like_torch(rows, cols, sparsity):
    torch = pytest.importorskip("torch")
    w = init.sparse_(nv.empty(rows, cols, dtype=nv.float64), sparsity, std=0.5)._data
    t = torch.nn.init.sparse_(torch.empty(rows, cols, dtype=torch.float64), sparsity, std=0.5).numpy()
    expected = math.ceil(sparsity * rows)
    np.testing.assert_array_equal((w == 0).sum(axis=0), np.full(cols, expected))
    np.testing.assert_array_equal((w == 0).sum(axis=0), (t == 0).sum(axis=0))
    if 0 < expected < rows:
        # each column draws its own rows: the zero pattern is not one row mask repeated
        assert len({tuple(c) for c in (w == 0).T}) > 1
        nz = w[w != 0]
        if nz.size > 5000:
            assert abs(nz.std() - 0.5) < 0.03
    with pytest.raises(ValueError, match="2-D"):
        init.sparse_(nv.empty(4, 3, 3), 0.5)
    with pytest.raises(ValueError):
        torch.nn.init.sparse_(torch.empty(4, 3, 3), 0.5)
    with pytest.raises(ValueError, match="sparsity"):
        init.sparse_(nv.empty(4, 3), 1.5)


def test_sparse_is_seeded_by_the_global_generator():
    nv.manual_seed(11)
    a = init.sparse_(nv.empty(20, 20), 0.4)._data.copy()
    nv.manual_seed(11)
    np.testing.assert_array_equal(a, init.sparse_(nv.empty(20, 20), 0.4)._data)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(64, 16, 5), (32, 16, 3, 3), (24, 8, 3, 3, 3), (96, 3, 2, 2, 2)])
def test_kaiming_and_xavier_on_3d_4d_5d_conv_weights_follow_torchs_fans(shape):
    torch = pytest.importorskip("torch")
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    assert init._calculate_fan_in_and_fan_out(nv.empty(*shape)) == (fan_in, fan_out)
    big = (shape[0] * 40,) + shape[1:]          # more rows for tight statistics, same fan_in
    for mode in ("fan_in", "fan_out"):
        fan = (fan_in if mode == "fan_in" else fan_out * 40)
        w = init.kaiming_normal_(nv.empty(*big, dtype=nv.float64), mode=mode, nonlinearity="relu")._data
        assert abs(w.std() / math.sqrt(2 / fan) - 1) < 0.03
        w = init.kaiming_uniform_(nv.empty(*big, dtype=nv.float64), a=0.2, mode=mode)._data
        bound = math.sqrt(3) * math.sqrt(2 / (1 + 0.2 ** 2)) / math.sqrt(fan)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
        tw = torch.nn.init.kaiming_uniform_(torch.empty(*big, dtype=torch.float64), a=0.2, mode=mode)
        assert tw.abs().max().item() <= bound
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(nv.empty(*shape), mode="fan_avg")


def _phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _pdf(x):
    return 0.0 if math.isinf(x) else math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


@pytest.mark.parametrize("mean, std, a, b", [(0.0, 1.0, 8.0, 8.01), (0.0, 1.0, 5.0, math.inf),
                                              (0.0, 1.0, -math.inf, -6.0), (0.0, 1.0, -0.05, 0.05),
                                              (2.0, 0.5, -10.0, -9.0), (0.0, 0.02, -0.04, 0.04)])
def test_trunc_normal_far_tails_and_narrow_windows_in_float32(mean, std, a, b):
    w = init.trunc_normal_(nv.empty(500, 400), mean, std, a, b)._data
    assert w.dtype == np.float32
    assert w.min() >= np.float32(a) and w.max() <= np.float32(b)
    w = w.astype(np.float64)
    al, be = (a - mean) / std, (b - mean) / std
    if be <= 0:    # mirror, for an accurate mass far in the left tail
        al, be, sign = -be, -al, -1.0
    else:
        sign = 1.0
    if al > 0:     # upper tail: erfc keeps its relative precision where 1 - Φ would round to 0
        z = (math.erfc(al / math.sqrt(2)) - math.erfc(be / math.sqrt(2))) / 2
    else:
        z = _phi(be) - _phi(al)
    mom1 = (_pdf(al) - _pdf(be)) / z
    al_t = 0.0 if math.isinf(al) else al * _pdf(al)
    be_t = 0.0 if math.isinf(be) else be * _pdf(be)
    t_mean = mean + sign * std * mom1
    t_std = std * math.sqrt(1 + (al_t - be_t) / z - mom1 ** 2)
    assert abs(w.mean() - t_mean) <= 0.01 * t_std + 1e-6 * abs(t_mean), (w.mean(), t_mean)
    assert abs(w.std() / t_std - 1) < 0.03, (w.std(), t_std)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(40, 2, 2, 2), (6, 2, 3, 3), (5, 4, 3), (3, 3, 1, 1, 1)])
def test_orthogonal_on_conv_shaped_weights_is_flattened_as_torch(shape):
    torch = pytest.importorskip("torch")
    rows = shape[0]
    w = init.orthogonal_(nn.Parameter(nv.zeros(*shape, dtype=nv.float64)), gain=0.5)._data
    t = torch.nn.init.orthogonal_(torch.empty(*shape, dtype=torch.float64), gain=0.5).numpy()
    for m in (w.reshape(rows, -1), t.reshape(rows, -1)):
        gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
        np.testing.assert_allclose(gram, 0.25 * np.eye(min(m.shape)), atol=1e-12)


@pytest.mark.torch
def test_eye_and_dirac_shape_rules_equal_torch():
    torch = pytest.importorskip("torch")
    for shape in [(3, 5), (5, 3), (1, 1)]:
        np.testing.assert_array_equal(init.eye_(nv.empty(*shape))._data,
                                      torch.nn.init.eye_(torch.empty(*shape)).numpy())
    for bad in [(4,), (2, 2, 2)]:
        with pytest.raises(ValueError):
            torch.nn.init.eye_(torch.empty(*bad))
        with pytest.raises(ValueError):
            init.eye_(nv.empty(*bad))
    for shape, groups in [((8, 3, 5, 5), 2), ((6, 4, 3, 3, 3), 3), ((4, 8, 2), 1), ((2, 2, 4, 4), 2)]:
        np.testing.assert_array_equal(init.dirac_(nv.empty(*shape), groups)._data,
                                      torch.nn.init.dirac_(torch.empty(*shape), groups).numpy())
    for shape, groups in [((4, 4), 1), ((6, 2, 3), 4), ((2, 2, 2, 2, 2, 2), 1)]:
        with pytest.raises(ValueError):
            torch.nn.init.dirac_(torch.empty(*shape), groups)
        with pytest.raises(ValueError):
            init.dirac_(nv.empty(*shape), groups)


# ------------------------------------------------------------ layers' default reset_parameters
def _layer_pairs(torch):
    tnn = torch.nn
    return [
        ("Linear", lambda: nn.Linear(300, 2000), lambda: tnn.Linear(300, 2000)),
        ("Conv1d", lambda: nn.Conv1d(30, 2000, 5), lambda: tnn.Conv1d(30, 2000, 5)),
        ("Conv2d-groups", lambda: nn.Conv2d(32, 2048, 3, groups=4), lambda: tnn.Conv2d(32, 2048, 3, groups=4)),
        ("ConvTranspose2d-groups", lambda: nn.ConvTranspose2d(64, 2048, 3, groups=4),
         lambda: tnn.ConvTranspose2d(64, 2048, 3, groups=4)),
        ("ConvTranspose1d", lambda: nn.ConvTranspose1d(40, 2000, 4), lambda: tnn.ConvTranspose1d(40, 2000, 4)),
        ("Embedding-padding", lambda: nn.Embedding(500, 64, padding_idx=3),
         lambda: tnn.Embedding(500, 64, padding_idx=3)),
        ("Embedding-negative-padding", lambda: nn.Embedding(500, 64, padding_idx=-2),
         lambda: tnn.Embedding(500, 64, padding_idx=-2)),
        ("LSTM", lambda: nn.LSTM(24, 512, num_layers=2, bidirectional=True),
         lambda: tnn.LSTM(24, 512, num_layers=2, bidirectional=True)),
        ("LSTM-proj", lambda: nn.LSTM(24, 512, proj_size=64), lambda: tnn.LSTM(24, 512, proj_size=64)),
        ("GRU", lambda: nn.GRU(24, 700), lambda: tnn.GRU(24, 700)),
        ("RNN", lambda: nn.RNN(24, 2000), lambda: tnn.RNN(24, 2000)),
        ("LSTMCell", lambda: nn.LSTMCell(24, 512), lambda: tnn.LSTMCell(24, 512)),
        ("GRUCell", lambda: nn.GRUCell(24, 700), lambda: tnn.GRUCell(24, 700)),
        ("RNNCell", lambda: nn.RNNCell(24, 2000), lambda: tnn.RNNCell(24, 2000)),
        ("BatchNorm2d", lambda: nn.BatchNorm2d(20), lambda: tnn.BatchNorm2d(20)),
        ("BatchNorm1d", lambda: nn.BatchNorm1d(20), lambda: tnn.BatchNorm1d(20)),
        ("LayerNorm", lambda: nn.LayerNorm((4, 20)), lambda: tnn.LayerNorm((4, 20))),
        ("GroupNorm", lambda: nn.GroupNorm(4, 20), lambda: tnn.GroupNorm(4, 20)),
        ("MultiheadAttention", lambda: nn.MultiheadAttention(256, 4), lambda: tnn.MultiheadAttention(256, 4)),
        ("MultiheadAttention-kdim-biaskv",
         lambda: nn.MultiheadAttention(2048, 8, add_bias_kv=True, kdim=16, vdim=24),
         lambda: tnn.MultiheadAttention(2048, 8, add_bias_kv=True, kdim=16, vdim=24)),
        ("PReLU", lambda: nn.PReLU(7), lambda: tnn.PReLU(7)),
    ]


SEED = 0


def _kurtosis(a):
    a = a - a.mean()
    return float((a ** 4).mean() / (a ** 2).mean() ** 2)


@pytest.mark.torch
def test_every_layers_default_initialisation_matches_torchs_distribution():
    """Names, shapes, constants exactly; for random parameters: same family (uniform has
    kurtosis 1.8, normal 3), max |w| within 2 % for uniform ones, the same std."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(SEED)
    nv.manual_seed(SEED)
    for label, make_ours, make_theirs in _layer_pairs(torch):
        ours, theirs = make_ours(), make_theirs()
        tparams = dict(theirs.named_parameters())
        oparams = dict(ours.named_parameters())
        assert list(oparams) == list(tparams), label
        assert set(dict(ours.named_buffers())) == set(dict(theirs.named_buffers())), label
        for name, tp in tparams.items():
            t = tp.detach().numpy().astype(np.float64)
            o = oparams[name]._data.astype(np.float64)
            where = f"{label}.{name}"
            assert o.shape == t.shape, where
            if np.all(t == t.flat[0]) and t.size > 1 or t.size < 200:
                np.testing.assert_array_equal(o, t, err_msg=where)
                continue
            if "Embedding" in label:                     # the padding row is zero, as torch
                pad = theirs.padding_idx
                assert not o[pad].any() and not t[pad].any(), where
                o, t = np.delete(o, pad, 0), np.delete(t, pad, 0)
            # tolerances of four standard errors of a two-sample difference (normal case)
            n = min(o.size, t.size)
            assert abs(_kurtosis(o) - _kurtosis(t)) < max(0.15, 4 * math.sqrt(48 / n)), \
                (where, _kurtosis(o), _kurtosis(t))
            if _kurtosis(t) < 2.2:
                assert abs(np.abs(o).max() / np.abs(t).max() - 1) < 0.02, where
            assert abs(o.std() / t.std() - 1) < max(0.03, 4 / math.sqrt(n)), (where, o.std(), t.std())
        for name, tb in theirs.named_buffers():
            np.testing.assert_array_equal(dict(ours.named_buffers())[name]._data, tb.numpy(), err_msg=name)


# =========================================================================== model zoo
def _torchvision_resnet_keys(block_counts, bottleneck):
    """The state_dict keys torchvision's resnet builders produce, spelled from its layout."""
    def bn(prefix):
        return [f"{prefix}.{s}" for s in ("weight", "bias", "running_mean", "running_var",
                                            "num_batches_tracked")]
    keys = ["conv1.weight"] + bn("bn1")
    convs = 3 if bottleneck else 2
    for stage, blocks in enumerate(block_counts, start=1):
        for j in range(blocks):
            p = f"layer{stage}.{j}"
            for c in range(1, convs + 1):
                keys += [f"{p}.conv{c}.weight"] + bn(f"{p}.bn{c}")
            if j == 0 and (bottleneck or stage > 1):
                keys += [f"{p}.downsample.0.weight"] + bn(f"{p}.downsample.1")
    return keys + ["fc.weight", "fc.bias"]


@pytest.mark.parametrize("name, blocks, bottleneck", [("resnet34", [3, 4, 6, 3], False),
                                                      ("resnet50", [3, 4, 6, 3], True),
                                                      ("resnet101", [3, 4, 23, 3], True)])
def test_resnet_state_dict_keys_and_order_follow_torchvision(name, blocks, bottleneck):
    net = models.get_model(name)
    assert list(net.state_dict()) == _torchvision_resnet_keys(blocks, bottleneck)
    sd = net.state_dict()
    # torchvision v1.5: the stride sits on the 3×3 conv of a bottleneck, and on the projection
    if bottleneck:
        assert net.layer2[0].conv1.stride == (1, 1) and net.layer2[0].conv2.stride == (2, 2)
        assert tuple(sd["layer3.0.conv3.weight"].shape) == (1024, 256, 1, 1)
        assert tuple(sd["layer1.0.downsample.0.weight"].shape) == (256, 64, 1, 1)
        assert net.layer1[0].downsample[0].stride == (1, 1)
    assert net.layer2[0].downsample[0].stride == (2, 2)
    assert tuple(sd["fc.weight"].shape) == (1000, 2048 if bottleneck else 512)
    assert tuple(sd["conv1.weight"].shape) == (64, 3, 7, 7)
    for m in net.modules():      # torchvision's BN defaults, so its running stats mean the same
        if isinstance(m, nn.BatchNorm2d):
            assert m.eps == 1e-5 and m.momentum == 0.1 and m.affine and m.track_running_stats


def test_resnet_initialisation_is_torchvisions():
    nv.manual_seed(0)
    net = models.resnet50()
    for name, conv in [("conv1", net.conv1), ("layer4.0.conv2", net.layer4[0].conv2),
                       ("layer3.2.conv3", net.layer3[2].conv3)]:
        w = conv.weight._data.astype(np.float64)
        fan_out = w.shape[0] * int(np.prod(w.shape[2:]))
        assert abs(w.std() / math.sqrt(2 / fan_out) - 1) < 0.05, name
        assert abs(_kurtosis(w) - 3) < 0.2, name        # normal, not uniform
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert np.all(m.weight._data == 1) and not m.bias._data.any()
            assert not m.running_mean._data.any() and np.all(m.running_var._data == 1)
            assert int(m.num_batches_tracked._data) == 0
    fc = net.fc.weight._data
    assert np.abs(fc).max() <= 1 / math.sqrt(2048) and np.abs(fc).max() > 0.99 / math.sqrt(2048)
    assert np.abs(net.fc.bias._data).max() <= 1 / math.sqrt(2048)
    z = models.resnet50(zero_init_residual=True)
    assert all(not b.bn3.weight._data.any() for stage in (z.layer1, z.layer4) for b in stage)
    assert np.all(z.layer1[0].bn1.weight._data == 1) and np.all(z.layer1[0].downsample[1].weight._data == 1)
    z = models.resnet18(zero_init_residual=True)
    assert not z.layer2[1].bn2.weight._data.any() and np.all(z.layer2[1].bn1.weight._data == 1)


@pytest.mark.torch
def test_basic_block_running_statistics_and_eval_outputs_match_a_torch_twin():
    """Three train-mode steps (BN batch stats, momentum 0.1, unbiased running variance,
    num_batches_tracked), then eval outputs and gradients, against a torch.nn transcription."""
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class TwinBlock(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(4, 8, 3, 2, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(8)
            self.relu = tnn.ReLU()
            self.conv2 = tnn.Conv2d(8, 8, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(8)
            self.downsample = tnn.Sequential(tnn.Conv2d(4, 8, 1, 2, bias=False), tnn.BatchNorm2d(8))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + self.downsample(x))

    torch.manual_seed(0)
    twin = TwinBlock().double()
    block = models.resnet.BasicBlock(4, 8, stride=2).double()
    sd = twin.state_dict()
    assert list(block.state_dict()) == list(sd)
    block.load_state_dict({k: v.numpy() for k, v in sd.items()})
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.normal(1.0, 2.0, size=(5, 4, 6, 6))
        twin(torch.tensor(x))
        block(nv.tensor(x, dtype=nv.float64))
    for k, v in twin.state_dict().items():
        np.testing.assert_allclose(block.state_dict()[k].numpy(), v.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=k)
    twin.eval()
    block.eval()
    x = rng.normal(size=(3, 4, 6, 6))
    xt = torch.tensor(x, requires_grad=True)
    xn = nv.tensor(x, dtype=nv.float64, requires_grad=True)
    g = rng.normal(size=(3, 8, 3, 3))
    out_t, out_n = twin(xt), block(xn)
    (out_t * torch.tensor(g)).sum().backward()
    (out_n * nv.tensor(g, dtype=nv.float64)).sum().backward()
    np.testing.assert_allclose(out_n.numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    tgrads = dict(twin.named_parameters())
    for name, p in block.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tgrads[name].grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)
    # eval mode uses the running statistics: one image gives the same row as in a batch
    with nv.no_grad():
        np.testing.assert_allclose(block(nv.tensor(x[:1], dtype=nv.float64)).numpy(),
                                   out_n.numpy()[:1], rtol=1e-12, atol=1e-14)


@pytest.mark.torch
def test_seed_mlp_is_13002_parameters_and_equals_its_torch_twin():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    net = models.get_model("seed-mlp")
    assert net.num_parameters() == 13_002
    torch.manual_seed(0)
    twin = tnn.Sequential(tnn.Flatten(), tnn.Linear(784, 16), tnn.ReLU(), tnn.Linear(16, 16), tnn.ReLU(),
                          tnn.Linear(16, 10)).double()
    assert sum(p.numel() for p in twin.parameters()) == 13_002
    assert list(net.state_dict()) == list(twin.state_dict())
    net = net.double()
    net.load_state_dict({k: v.numpy() for k, v in twin.state_dict().items()})
    x = np.random.default_rng(1).random((4, 1, 28, 28))
    y = np.array([3, 0, 9, 1])
    loss_t = tnn.functional.cross_entropy(twin(torch.tensor(x)), torch.tensor(y))
    loss_t.backward()
    loss_n = nn.functional.cross_entropy(net(nv.tensor(x, dtype=nv.float64)), nv.tensor(y))
    loss_n.backward()
    assert float(loss_n.item()) == pytest.approx(loss_t.item(), rel=1e-12)
    tp = dict(twin.named_parameters())
    for name, p in net.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), rtol=1e-10, atol=1e-14,
                                   err_msg=name)
    # the default init is torch's Linear default: U(±1/√fan_in) for weights and biases
    fresh = models.get_model("seed-mlp")
    for lin, fan_in in [(fresh[1], 784), (fresh[3], 16), (fresh[5], 16)]:
        assert np.abs(lin.weight._data).max() <= 1 / math.sqrt(fan_in)
        assert np.abs(lin.bias._data).max() <= 1 / math.sqrt(fan_in)


def _zoo_with_dropout():
    """(label, model, inputs) for zoo models that hold Dropout and/or BatchNorm."""
    rng = np.random.default_rng(0)
    ids = nv.tensor(rng.integers(0, 30, size=(2, 9)))
    edge = nv.tensor(np.array([[0, 1, 2, 3, 4], [1, 2, 3, 4, 0]]))
    return [
        ("resnet-small", models.get_model("resnet-small", widths=(4, 4, 8, 8)),
         (nv.tensor(rng.normal(size=(3, 3, 12, 12)), dtype=nv.float32),)),
        ("char-gpt", models.char_gpt(vocab_size=30, block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=0.5),
         (ids,)),
        ("bert-tiny", models.get_model("bert-tiny", vocab_size=30, hidden_dropout_prob=0.5,
                                       attention_probs_dropout_prob=0.5), (ids,)),
        ("char-lstm", models.char_lstm(vocab_size=30, embedding_dim=8, hidden_size=16, num_layers=2,
                                       dropout=0.5), (ids,)),
        ("gcn", models.get_model("gcn", in_channels=6, hidden=16, num_classes=3, dropout=0.5),
         (nv.tensor(rng.normal(size=(5, 6)), dtype=nv.float32), edge)),
        ("unet", models.get_model("unet", in_channels=1, num_classes=2, base=4, depth=2),
         (nv.tensor(rng.normal(size=(2, 1, 8, 8)), dtype=nv.float32),)),
        ("tiny-inception", models.get_model("tiny-inception", num_classes=3, batch_norm=True),
         (nv.tensor(rng.normal(size=(2, 3, 8, 8)), dtype=nv.float32),)),
    ]


def _first(out):
    while isinstance(out, (tuple, list)):
        out = out[0]
    if hasattr(out, "last_hidden_state"):
        out = out.last_hidden_state
    return out.numpy().copy()


def test_eval_mode_is_deterministic_and_differs_from_train_mode_across_the_zoo():
    nv.manual_seed(0)
    for label, net, inputs in _zoo_with_dropout():
        net.train()
        with nv.no_grad():
            train_out = _first(net(*inputs))
        net.eval()
        with nv.no_grad():
            a, b = _first(net(*inputs)), _first(net(*inputs))
        np.testing.assert_array_equal(a, b, err_msg=label)
        # dropout off and BatchNorm on its running statistics: eval is not the train pass
        assert not np.allclose(a, train_out), f"{label}: eval() output equals the train-mode output"
        for m in net.modules():
            assert not m.training, f"{label}: eval() left {type(m).__name__} in training mode"


_BIG = {"resnet34", "resnet50", "resnet101", "resnet152", "bert-base", "gpt"}


def _reachable_modules(obj, seen, found):
    """Every Module reachable from ``obj`` through attributes, lists, tuples and dicts."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, nn.Module):
        found[id(obj)] = obj
    if isinstance(obj, (list, tuple)):
        children = list(obj)
    elif isinstance(obj, dict):
        children = list(obj.values())
    else:
        children = list(getattr(obj, "__dict__", {}).values())
    for child in children:
        if isinstance(child, (nn.Module, list, tuple, dict)):
            _reachable_modules(child, seen, found)


@pytest.mark.parametrize("name", sorted({models.canonical_name(n) for n in models.available()} - _BIG))
def test_every_zoo_model_registers_all_its_submodules(name):
    """A layer kept where Module does not see it (a plain attribute list, a dict) would miss
    eval(), to(), state_dict() and parameters(): dropout left on at test time, weights not saved."""
    kwargs = {"seq2seq": {"src_vocab": 11, "tgt_vocab": 13}, "seed-cnn": {"image_size": 32}}.get(name, {})
    net = models.get_model(name, **kwargs)
    found = {}
    _reachable_modules(net, set(), found)
    registered = {id(m) for m in net.modules()}
    hidden = [type(m).__name__ for k, m in found.items() if k not in registered]
    assert not hidden, f"{name}: modules outside the registry: {hidden}"
    net.eval()
    assert not any(m.training for m in found.values()), name


@pytest.mark.torch
def test_bert_large_and_gpt2_medium_config_counts_equal_torch_layer_arithmetic():
    """bert-large (HF BertModel, with pooler): 335,141,888; gpt2-medium (tied head): 354,823,168.
    Each encoder layer is counted from a torch.nn.TransformerEncoderLayer of the same size, which
    has the same tensors (Q/K/V/out projections with biases, two FFN linears, two LayerNorms)."""
    torch = pytest.importorskip("torch")

    with torch.device("meta"):      # shapes only: no 12.6 M random draws
        layer = sum(p.numel() for p in torch.nn.TransformerEncoderLayer(1024, 16, 4096).parameters())
    ln = 2 * 1024
    bert_large = (30522 + 512 + 2) * 1024 + ln + 24 * layer + (1024 * 1024 + 1024)
    assert bert_large == 335_141_888
    assert models.config_param_table("bert-large").total == bert_large
    gpt2_medium = (50257 + 1024) * 1024 + 24 * layer + ln       # final ln_f; head tied to wte
    assert gpt2_medium == 354_823_168
    assert models.config_param_table("gpt2-medium").total == gpt2_medium
