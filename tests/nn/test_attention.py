"""MultiheadAttention against PyTorch (a torch state_dict loads by name): outputs, weights
and every gradient, for each mask kind, batch_first both ways, kdim/vdim, bias_kv and
zero_attn; AdditiveAttention against a hand-written torch twin."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

N, L, S, E, H = 2, 3, 4, 8, 2


def _twin(dtype=np.float64, **kw):
    """A torch layer and a nerve layer carrying its weights (loaded by name)."""
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(E, H, dtype=getattr(torch, np.dtype(dtype).name), **kw)
    with torch.no_grad():  # torch zeros the biases; make them matter
        for name, p in t.named_parameters():
            if "bias" in name:
                p.normal_()
    ours = nn.MultiheadAttention(E, H, dtype=dtype, **kw)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    return ours, t


def _masks(kind, r):
    """(key_padding_mask, attn_mask) in MultiheadAttention's convention (True = blocked)."""
    kpm = np.zeros((N, S), bool)
    kpm[0, -1] = kpm[1, 0] = True
    am2 = np.zeros((L, S), bool)
    am2[0, 1] = am2[2, 3] = True
    am3 = r.random((N * H, L, S)) < 0.3
    am3[..., 0] = False
    am3[..., 1] = False  # no query loses every key
    return {
        "none": (None, None),
        "key_padding_bool": (kpm, None),
        "key_padding_float": (np.where(kpm, -np.inf, r.standard_normal((N, S))), None),
        "attn_2d_bool": (None, am2),
        "attn_2d_float": (None, r.standard_normal((L, S))),
        "attn_3d_bool": (None, am3),
        "attn_3d_float": (None, r.standard_normal((N * H, L, S))),
        "both": (kpm, am2),
        "causal": (None, "causal"),
    }[kind]


KINDS = ["none", "key_padding_bool", "key_padding_float", "attn_2d_bool", "attn_2d_float",
         "attn_3d_bool", "attn_3d_float", "both", "causal"]


def _run(ours, theirs, q, k, v, dtype, batch_first, self_attn=False, **call):
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    nq, nk, nvv = (nv.tensor(a, requires_grad=True) for a in (q, k, v))
    if self_attn:
        tk = tv = tq
        nk = nvv = nq
    tout, tw = theirs(tq, tk, tv, **{k2: (torch.from_numpy(x) if isinstance(x, np.ndarray) else x)
                                     for k2, x in call.items()})
    out, w = ours(nq, nk, nvv, **call)
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **tol)
    assert (w is None) == (tw is None)
    if w is not None:
        np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), **tol)
    g = np.random.default_rng(9).standard_normal(out.shape).astype(dtype)
    loss = (out * nv.tensor(g)).sum()
    tloss = (tout * torch.from_numpy(g)).sum()
    if w is not None:  # the weights take part in the loss too: their gradient is checked
        gw = np.random.default_rng(10).standard_normal(w.shape).astype(dtype)
        loss = loss + (w * nv.tensor(gw)).sum()
        tloss = tloss + (tw * torch.from_numpy(gw)).sum()
    loss.backward()
    tloss.backward()
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(dict(ours.named_parameters())[name].grad.numpy(), p.grad.numpy(),
                                   err_msg=name, **tol)
    for a, b in ((nq, tq),) + (() if self_attn else ((nk, tk), (nvv, tv))):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("kind", KINDS)
def test_matches_torch_for_every_mask_kind(dtype, batch_first, kind):
    r = np.random.default_rng(1)
    ours, theirs = _twin(dtype, batch_first=batch_first)
    shp = (lambda n: (N, n, E)) if batch_first else (lambda n: (n, N, E))
    Sq = S if kind == "causal" else L
    q = r.standard_normal(shp(Sq)).astype(dtype)
    k, v = (r.standard_normal(shp(S)).astype(dtype) for _ in range(2))
    kpm, am = _masks(kind, r)
    call = {}
    if isinstance(am, str):
        call = {"attn_mask": np.triu(np.ones((S, S), bool), 1), "is_causal": True}
    elif am is not None:
        call["attn_mask"] = am if am.dtype == bool else am.astype(dtype)
    if kpm is not None:
        call["key_padding_mask"] = kpm if kpm.dtype == bool else kpm.astype(dtype)
    _run(ours, theirs, q, k, v, dtype, batch_first, **call)


@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("self_attn", [False, True])
def test_weights_options_and_self_attention(need_weights, average, self_attn):
    r = np.random.default_rng(2)
    ours, theirs = _twin(batch_first=True)
    q = r.standard_normal((N, S, E))
    k, v = r.standard_normal((N, S, E)), r.standard_normal((N, S, E))
    _run(ours, theirs, q, k, v, np.float64, True, self_attn=self_attn, need_weights=need_weights,
         average_attn_weights=average)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kw", [{"kdim": 5, "vdim": 3}, {"kdim": 5}, {"add_bias_kv": True},
                                {"add_zero_attn": True}, {"add_bias_kv": True, "add_zero_attn": True},
                                {"bias": False}])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_kdim_vdim_bias_kv_zero_attn(dtype, kw, batch_first):
    r = np.random.default_rng(3)
    ours, theirs = _twin(dtype, batch_first=batch_first, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    kd, vd = kw.get("kdim", E), kw.get("vdim", E)
    shp = (lambda n, d: (N, n, d)) if batch_first else (lambda n, d: (n, N, d))
    q = r.standard_normal(shp(L, E)).astype(dtype)
    k = r.standard_normal(shp(S, kd)).astype(dtype)
    v = r.standard_normal(shp(S, vd)).astype(dtype)
    kpm = np.zeros((N, S), bool)
    kpm[1, 2] = True
    am = np.zeros((L, S), bool)
    am[0, 0] = True
    _run(ours, theirs, q, k, v, dtype, batch_first, key_padding_mask=kpm, attn_mask=am)


def test_unbatched_input_matches_torch():
    r = np.random.default_rng(4)
    ours, theirs = _twin()
    q, k, v = r.standard_normal((L, E)), r.standard_normal((S, E)), r.standard_normal((S, E))
    kpm = np.array([False, True, False, False])
    _run(ours, theirs, q, k, v, np.float64, False, key_padding_mask=kpm)


def test_dropout_only_in_training_and_the_returned_weights_are_dropped():
    mha = nn.MultiheadAttention(E, H, dropout=0.5, batch_first=True, dtype=np.float64)
    x = nv.tensor(np.random.default_rng(5).standard_normal((N, 6, E)))
    nv.manual_seed(0)
    _, w = mha(x, x, x, average_attn_weights=False)
    assert np.any(w.numpy() == 0)
    mha.eval()
    o1, w1 = mha(x, x, x)
    o2, _ = mha(x, x, x)
    np.testing.assert_array_equal(o1.numpy(), o2.numpy())
    np.testing.assert_allclose(w1.numpy().sum(-1), 1.0, rtol=1e-12)


def test_defaults_and_errors():
    mha = nn.MultiheadAttention(E, H)
    assert np.all(mha.in_proj_bias.numpy() == 0) and np.all(mha.out_proj.bias.numpy() == 0)
    bound = np.sqrt(6 / (E + 3 * E))  # xavier_uniform on (3E, E)
    assert np.abs(mha.in_proj_weight.numpy()).max() <= bound
    with pytest.raises(ValueError, match="multiple"):
        nn.MultiheadAttention(10, 3)
    x = nv.ones(L, N, E)
    with pytest.raises(RuntimeError, match="is_causal"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match=r"\(L, S\)"):
        mha(x, x, x, attn_mask=np.zeros((2, 2), bool))
    with pytest.raises(RuntimeError, match="key_padding_mask"):
        mha(x, x, x, key_padding_mask=np.zeros((N, 5), bool))


# ------------------------------------------------------------------- additive attention
def _torch_additive(att, q, k, v, mask):
    Wq, bq = (torch.from_numpy(att.query_proj.weight.numpy()), torch.from_numpy(att.query_proj.bias.numpy()))
    Wk = torch.from_numpy(att.key_proj.weight.numpy())
    wv = torch.from_numpy(att.score_proj.weight.numpy())
    for t in (Wq, bq, Wk, wv):
        t.requires_grad_()
    feats = torch.tanh((q @ Wq.T + bq).unsqueeze(2) + (k @ Wk.T).unsqueeze(1))
    scores = (feats @ wv.T).squeeze(-1)
    if mask is not None:
        scores = scores.masked_fill(~torch.from_numpy(mask)[:, None, :], float("-inf"))
    w = torch.softmax(scores, -1)
    return w @ v, w, (Wq, bq, Wk, wv)


def test_additive_attention_matches_torch():
    r = np.random.default_rng(6)
    att = nn.AdditiveAttention(4, 5, 6, dtype=np.float64)
    q, k, v = r.standard_normal((2, 3, 4)), r.standard_normal((2, 7, 5)), r.standard_normal((2, 7, 2))
    mask = np.ones((2, 7), bool)
    mask[0, 5:] = False
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    nq, nk, nvv = (nv.tensor(a, requires_grad=True) for a in (q, k, v))
    ctx, w = att(nq, nk, nvv, mask)
    tctx, tw, tparams = _torch_additive(att, tq, tk, tv, mask)
    np.testing.assert_allclose(ctx.numpy(), tctx.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-12, atol=1e-15)
    assert np.all(w.numpy()[0, :, 5:] == 0)
    ctx.sum().backward()
    tctx.sum().backward()
    ours = [att.query_proj.weight, att.query_proj.bias, att.key_proj.weight, att.score_proj.weight]
    for a, b in zip(ours + [nq, nk, nvv], list(tparams) + [tq, tk, tv]):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_docstring_examples():
    import doctest

    import nerve.nn.attention as A
    import nerve.nn.sparse as Sp

    for mod in (A, Sp):
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0 and res.attempted > 0
