"""Transformer layers against PyTorch with copied weights (loaded by torch's state_dict
keys), dropout 0: outputs and every gradient, pre- and post-norm, relu and gelu, float32
and float64, both batch layouts, masks; permutation equivariance without positions."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::UserWarning")]

D, NH, FF, N, S, T = 8, 2, 16, 2, 5, 4


def _load(ours, theirs, r):
    with torch.no_grad():  # make the zero-initialised biases and unit norms matter
        for name, p in theirs.named_parameters():
            if p.ndim == 1:
                p.add_(0.3 * torch.from_numpy(r.standard_normal(p.shape)).to(p.dtype))
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())


def _compare(ours, theirs, inputs, dtype, call=None, tcall=None):
    call = call or {}
    tcall = tcall or {}
    r = np.random.default_rng(7)
    ns = [nv.tensor(a, requires_grad=True) for a in inputs]
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    out = ours(*ns, **call)
    tout = theirs(*ts, **tcall)
    tol = dict(rtol=1e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **tol)
    g = r.standard_normal(out.shape).astype(dtype)
    out.backward(nv.tensor(g))
    tout.backward(torch.from_numpy(g))
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(mine[name].grad.numpy(), p.grad.numpy(), err_msg=name, **tol)
    for a, b in zip(ns, ts):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)


def _seq(r, n, dtype, batch_first):
    return r.standard_normal((N, n, D) if batch_first else (n, N, D)).astype(dtype)


def _masks(dtype):
    kpm = np.zeros((N, S), bool)
    kpm[1, -2:] = True
    causal = np.triu(np.full((T, T), -np.inf), 1).astype(dtype)
    return kpm, causal


PARAMS = [pytest.param(dt, nf, act, bf, id=f"{np.dtype(dt).name}-{'pre' if nf else 'post'}-{act}-"
                                           f"{'bf' if bf else 'sf'}")
          for dt in (np.float32, np.float64) for nf in (False, True) for act in ("relu", "gelu")
          for bf in (False, True)]


def _kw(norm_first, act, batch_first, dtype):
    return dict(dim_feedforward=FF, dropout=0.0, activation=act, batch_first=batch_first,
                norm_first=norm_first, layer_norm_eps=1e-5)


@pytest.mark.parametrize("dtype,norm_first,act,batch_first", PARAMS)
def test_encoder_layer(dtype, norm_first, act, batch_first):
    r = np.random.default_rng(0)
    kw = _kw(norm_first, act, batch_first, dtype)
    theirs = torch.nn.TransformerEncoderLayer(D, NH, dtype=getattr(torch, np.dtype(dtype).name), **kw)
    ours = nn.TransformerEncoderLayer(D, NH, dtype=dtype, **kw)
    _load(ours, theirs, r)
    kpm, _ = _masks(dtype)
    src = _seq(r, S, dtype, batch_first)
    call = {"src_key_padding_mask": kpm}
    _compare(ours, theirs, [src], dtype, call, {"src_key_padding_mask": torch.from_numpy(kpm)})


@pytest.mark.parametrize("dtype,norm_first,act,batch_first", PARAMS)
def test_decoder_layer(dtype, norm_first, act, batch_first):
    r = np.random.default_rng(1)
    kw = _kw(norm_first, act, batch_first, dtype)
    theirs = torch.nn.TransformerDecoderLayer(D, NH, dtype=getattr(torch, np.dtype(dtype).name), **kw)
    ours = nn.TransformerDecoderLayer(D, NH, dtype=dtype, **kw)
    _load(ours, theirs, r)
    kpm, causal = _masks(dtype)
    tgt, mem = _seq(r, T, dtype, batch_first), _seq(r, S, dtype, batch_first)
    call = {"tgt_mask": causal, "memory_key_padding_mask": kpm}
    tcall = {k: torch.from_numpy(v) for k, v in call.items()}
    _compare(ours, theirs, [tgt, mem], dtype, call, tcall)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post", "pre"])
def test_encoder_and_decoder_stacks_with_final_norm(dtype, norm_first):
    r = np.random.default_rng(2)
    tdt = getattr(torch, np.dtype(dtype).name)
    kw = _kw(norm_first, "gelu", True, dtype)
    tenc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D, NH, dtype=tdt, **kw), 2,
                                       torch.nn.LayerNorm(D, dtype=tdt), enable_nested_tensor=False)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, NH, dtype=dtype, **kw), 2,
                                nn.LayerNorm(D, dtype=dtype))
    _load(enc, tenc, r)
    src = _seq(r, S, dtype, True)
    _compare(enc, tenc, [src], dtype)
    tdec = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D, NH, dtype=tdt, **kw), 2,
                                       torch.nn.LayerNorm(D, dtype=tdt))
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, NH, dtype=dtype, **kw), 2,
                                nn.LayerNorm(D, dtype=dtype))
    _load(dec, tdec, r)
    _, causal = _masks(dtype)
    tgt, mem = _seq(r, T, dtype, True), _seq(r, S, dtype, True)
    _compare(dec, tdec, [tgt, mem], dtype, {"tgt_mask": causal}, {"tgt_mask": torch.from_numpy(causal)})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post", "pre"])
def test_full_transformer(dtype, norm_first):
    r = np.random.default_rng(3)
    tdt = getattr(torch, np.dtype(dtype).name)
    kw = dict(num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=FF, dropout=0.0,
              norm_first=norm_first)
    theirs = torch.nn.Transformer(D, NH, dtype=tdt, **kw)
    ours = nn.Transformer(D, NH, dtype=dtype, **kw)
    _load(ours, theirs, r)
    kpm, _ = _masks(dtype)
    mask = nn.Transformer.generate_square_subsequent_mask(T, dtype=dtype)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=tdt)
    np.testing.assert_array_equal(mask.numpy(), tmask.numpy())
    src, tgt = _seq(r, S, dtype, False), _seq(r, T, dtype, False)
    call = {"tgt_mask": mask, "src_key_padding_mask": kpm, "memory_key_padding_mask": kpm}
    tcall = {"tgt_mask": tmask, "src_key_padding_mask": torch.from_numpy(kpm),
             "memory_key_padding_mask": torch.from_numpy(kpm)}
    _compare(ours, theirs, [src, tgt], dtype, call, tcall)


def test_transformer_init_is_xavier_on_matrices():
    model = nn.Transformer(16, 2, 1, 1, 32)
    w = model.encoder.layers[0].linear1.weight.numpy()
    assert np.abs(w).max() <= np.sqrt(6 / (16 + 32)) + 1e-7
    assert np.all(model.encoder.norm.weight.numpy() == 1)


def test_encoder_without_positions_is_permutation_equivariant():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, NH, FF, dropout=0.0, batch_first=True,
                                                           dtype=np.float64), 2)
    x = np.random.default_rng(4).standard_normal((N, S, D))
    perm = np.array([3, 0, 4, 1, 2])
    out = enc(nv.tensor(x)).numpy()
    out_p = enc(nv.tensor(x[:, perm])).numpy()
    # NOTE: equal to rounding, not bit for bit: the softmax sums the keys in another order
    np.testing.assert_allclose(out_p, out[:, perm], rtol=1e-13, atol=1e-13)


def test_bad_activation_is_named():
    with pytest.raises(ValueError, match="relu"):
        nn.TransformerEncoderLayer(8, 2, activation="swish")


def test_docstring_examples():
    import doctest

    import nerve.nn.transformer as M

    res = doctest.testmod(M, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 0
