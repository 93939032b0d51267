"""scaled_dot_product_attention: the weights are a distribution, masked keys get exactly 0,
causality is exact, every mask kind matches PyTorch in value and gradient (float32/64),
second derivatives, dropout on the weights, and errors."""
import numpy as np
import pytest

import nerve as nv
import nerve.functional as F
from nerve.autograd import gradcheck, gradgradcheck
from nerve.functional.attention import _attention

RNG = np.random.default_rng(0)


def _qkv(B=2, H=2, L=4, S=5, E=3, Ev=2, dtype=np.float64, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal(s).astype(dtype) for s in ((B, H, L, E), (B, H, S, E), (B, H, S, Ev))]


def _weights(q, k, v, **kw):
    _, w = _attention(nv.tensor(q), nv.tensor(k), nv.tensor(v), with_weights=True, **kw)
    return w.numpy()


def test_rows_sum_to_one_and_masked_keys_get_exactly_zero():
    q, k, v = _qkv()
    mask = RNG.random((4, 5)) > 0.4
    mask[:, 0] = True
    w = _weights(q, k, v, attn_mask=mask)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-12)
    assert np.all(w[..., ~mask] == 0.0)
    w = _weights(q * 1e4, k, v, is_causal=True)     # huge logits: still finite and exact zeros
    assert np.all(np.isfinite(w))
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-12)
    assert np.all(w[..., ~np.tril(np.ones((4, 5), bool))] == 0.0)
    fmask = np.where(mask, 0.0, -np.inf)
    assert np.all(_weights(q, k, v, attn_mask=fmask)[..., ~mask] == 0.0)


def test_a_query_with_every_key_masked_gets_zeros_not_nan():
    q, k, v = _qkv()
    mask = np.ones((4, 5), bool)
    mask[2] = False
    out = F.scaled_dot_product_attention(nv.tensor(q, requires_grad=True), nv.tensor(k), nv.tensor(v),
                                         attn_mask=mask)
    assert np.all(out.numpy()[..., 2, :] == 0) and np.all(np.isfinite(out.numpy()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_causality_is_exact(dtype):
    q, k, v = _qkv(L=6, S=6, dtype=dtype)
    out = F.scaled_dot_product_attention(nv.tensor(q), nv.tensor(k), nv.tensor(v), is_causal=True).numpy()
    for t in range(5):  # change token t+1 of keys, values and queries: outputs ≤ t do not move
        q2, k2, v2 = q.copy(), k.copy(), v.copy()
        for a in (q2, k2, v2):
            a[..., t + 1, :] += 3.0
        out2 = F.scaled_dot_product_attention(nv.tensor(q2), nv.tensor(k2), nv.tensor(v2),
                                              is_causal=True).numpy()
        np.testing.assert_array_equal(out2[..., :t + 1, :], out[..., :t + 1, :])
        assert np.any(out2[..., t + 1, :] != out[..., t + 1, :])


MASKS = {
    "none": lambda r: None,
    "bool_2d": lambda r: r.random((4, 5)) > 0.3,
    "bool_4d_broadcast": lambda r: r.random((2, 1, 4, 5)) > 0.3,
    "bool_fully_masked_row": lambda r: np.vstack([np.zeros((1, 5), bool), r.random((3, 5)) > 0.3]),
    "float": lambda r: r.standard_normal((4, 5)),
    "float_with_neg_inf": lambda r: np.where(r.random((2, 2, 4, 5)) > 0.3, r.standard_normal((2, 2, 4, 5)),
                                             -np.inf),
    "causal": "causal",
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind", list(MASKS))
@pytest.mark.parametrize("scale", [None, 0.3])
def test_matches_torch_values_and_gradients(dtype, kind, scale):
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(1)
    q, k, v = _qkv(dtype=dtype, L=4, S=4 if kind == "causal" else 5)
    mask = None if kind == "causal" else MASKS[kind](r)
    kw = {"is_causal": True} if kind == "causal" else {}
    grad_mask = mask is not None and mask.dtype.kind == "f"
    if mask is not None and mask.dtype.kind == "f":
        mask = mask.astype(dtype)
    ts = [nv.tensor(a, requires_grad=True) for a in (q, k, v)]
    tt = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    nm = None if mask is None else nv.tensor(mask, requires_grad=grad_mask)
    tm = None if mask is None else torch.tensor(mask, requires_grad=grad_mask)
    out = F.scaled_dot_product_attention(*ts, attn_mask=nm, scale=scale, **kw)
    tout = torch.nn.functional.scaled_dot_product_attention(*tt, attn_mask=tm, scale=scale, **kw)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **tol)
    g = r.standard_normal(out.shape).astype(dtype)
    out.backward(nv.tensor(g))
    tout.backward(torch.tensor(g))
    for a, b in zip(ts + ([nm] if grad_mask else []), tt + ([tm] if grad_mask else [])):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)


@pytest.mark.parametrize("kind", ["none", "bool_2d", "bool_fully_masked_row", "float", "causal"])
def test_first_and_second_derivatives(kind):
    r = np.random.default_rng(2)
    q, k, v = _qkv(B=1, H=2, L=3, S=3)
    mask = None if kind == "causal" else MASKS[kind](r)
    if mask is not None and mask.shape == (4, 5):
        mask = mask[:3, :3]
    kw = {"is_causal": True} if kind == "causal" else {}
    ts = [nv.tensor(a, requires_grad=True) for a in (q, k, v)]
    if mask is not None and mask.dtype.kind == "f":
        ts.append(nv.tensor(mask, requires_grad=True))
        fn = lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.8)  # noqa: E731
    else:
        fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.8, **kw)  # noqa: E731
    assert gradcheck(fn, ts)
    assert gradgradcheck(fn, ts)


def test_the_returned_weights_are_differentiable_too():
    q, k, v = _qkv(B=1, H=1, L=3, S=4)
    ts = [nv.tensor(a, requires_grad=True) for a in (q, k, v)]

    def fn(q, k, v):
        out, w = _attention(q, k, v, attn_mask=np.array([1, 1, 0, 1], bool), with_weights=True)
        return out.sum() + (w * w).sum()

    assert gradcheck(fn, ts)
    assert gradgradcheck(fn, ts)


def test_dropout_drops_weights_and_scales_the_rest():
    q, k, v = _qkv(B=2, H=2, L=8, S=8)
    nv.manual_seed(3)
    out, w = _attention(nv.tensor(q), nv.tensor(k), nv.tensor(v), dropout_p=0.5, with_weights=True)
    plain = _weights(q, k, v)
    zero = w.numpy() == 0
    assert 0.3 < zero.mean() < 0.7
    np.testing.assert_allclose(w.numpy()[~zero], 2 * plain[~zero], rtol=1e-12)
    np.testing.assert_allclose(out.numpy(), w.numpy() @ v, rtol=1e-12)
    ts = [nv.tensor(a, requires_grad=True) for a in _qkv(B=1, H=1, L=3, S=3)]

    def fn(q, k, v):
        nv.manual_seed(4)  # the same keep-mask on every call
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)

    assert gradcheck(fn, ts)
    assert gradgradcheck(fn, ts)


def test_errors_name_the_problem():
    q, k, v = [nv.tensor(a) for a in _qkv()]
    with pytest.raises(RuntimeError, match="not both"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), bool), is_causal=True)
    with pytest.raises(RuntimeError, match="does not broadcast"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), bool))
    with pytest.raises(RuntimeError, match="must agree"):
        F.scaled_dot_product_attention(q, v, v)
    with pytest.raises(TypeError, match="bool"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), int))


def test_docstring_examples():
    import doctest

    import nerve.functional.attention as A
    import nerve.functional.sparse as E

    for mod in (A, E):
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0 and res.attempted > 0
