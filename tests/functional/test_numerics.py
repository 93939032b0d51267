"""Extremes on purpose: logits of ±1e4 in float32 and float64, exact gradients, saturation."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import nerve as nv
import nerve.functional as F

DTYPES = [np.float32, np.float64]
BIG = np.array([[1e4, -1e4, 0.0, 3.0], [-1e4, -1e4, -1e4, -1e4 + 1], [1e4, 1e4, -2.0, 0.5]])
TARGET = np.array([1, 3, 0])


def _strict():
    """No NumPy FP errors (overflow, invalid, divide) and no Python warnings allowed."""
    class _Ctx:
        def __enter__(self):
            self.err = np.errstate(over="raise", invalid="raise", divide="raise")
            self.err.__enter__()
            self.w = warnings.catch_warnings()
            self.w.__enter__()
            warnings.simplefilter("error")

        def __exit__(self, *exc):
            self.w.__exit__(*exc)
            self.err.__exit__(*exc)

    return _Ctx()


def _run(fn, arrays, grad_mask, dtype):
    ts = [nv.tensor(a.astype(dtype) if a.dtype.kind == "f" else a, requires_grad=m)
          for a, m in zip(arrays, grad_mask)]
    with _strict():
        out = fn(*ts)
        out.backward(nv.tensor(np.ones(out.shape, dtype)))
    return out, [t.grad for t, m in zip(ts, grad_mask) if m]


def _torch_run(tfn, arrays, grad_mask, dtype):
    torch = pytest.importorskip("torch")
    ts = [torch.tensor(a.astype(dtype) if a.dtype.kind == "f" else a, requires_grad=m)
          for a, m in zip(arrays, grad_mask)]
    out = tfn(*ts)
    out.backward(torch.ones_like(out))
    return out, [t.grad for t, m in zip(ts, grad_mask) if m]


def _tf():
    return pytest.importorskip("torch").nn.functional


CASES = [
    ("softmax", lambda x: F.softmax(x, 1), lambda x: _tf().softmax(x, 1), [BIG], [True]),
    ("softmax_dim0", lambda x: F.softmax(x, 0), lambda x: _tf().softmax(x, 0), [BIG], [True]),
    ("log_softmax", lambda x: F.log_softmax(x, 1), lambda x: _tf().log_softmax(x, 1), [BIG], [True]),
    ("cross_entropy", F.cross_entropy, lambda x, t: _tf().cross_entropy(x, t), [BIG, TARGET], [True, False]),
    ("cross_entropy_none", lambda x, t: F.cross_entropy(x, t, reduction="none"),
     lambda x, t: _tf().cross_entropy(x, t, reduction="none"), [BIG, TARGET], [True, False]),
    ("cross_entropy_smooth", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
     lambda x, t: _tf().cross_entropy(x, t, label_smoothing=0.1), [BIG, TARGET], [True, False]),
    ("sigmoid", F.sigmoid, lambda x: _tf().sigmoid(x), [BIG], [True]),
    ("softplus", F.softplus, lambda x: _tf().softplus(x), [BIG], [True]),
    ("softplus_beta", lambda x: F.softplus(x, 0.5, 5.0), lambda x: _tf().softplus(x, 0.5, 5.0), [BIG], [True]),
    ("bce_with_logits", F.binary_cross_entropy_with_logits,
     lambda x, t: _tf().binary_cross_entropy_with_logits(x, t), [BIG, (BIG > 0).astype(float)], [True, True]),
    ("bce_with_logits_wrong", F.binary_cross_entropy_with_logits,
     lambda x, t: _tf().binary_cross_entropy_with_logits(x, t), [BIG, (BIG < 0).astype(float)], [True, True]),
    ("bce_with_logits_pos_weight",
     lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=nv.tensor(np.full(4, 3.0, x.dtype))),
     lambda x, t: _tf().binary_cross_entropy_with_logits(
         x, t, pos_weight=pytest.importorskip("torch").full((4,), 3.0, dtype=x.dtype)),
     [BIG, np.tile([0.0, 1.0, 0.3, 1.0], (3, 1))], [True, True]),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,fn,tfn,arrays,mask", CASES, ids=[c[0] for c in CASES])
def test_large_logits_are_finite_and_silent(name, fn, tfn, arrays, mask, dtype):
    out, grads = _run(fn, arrays, mask, dtype)
    assert out.dtype == dtype
    assert np.isfinite(out.numpy()).all(), f"{name} is not finite at ±1e4"
    for g in grads:
        assert g.dtype == dtype and np.isfinite(g.numpy()).all(), f"{name}: gradient not finite"


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,fn,tfn,arrays,mask", CASES, ids=[c[0] for c in CASES])
def test_large_logits_match_torch(name, fn, tfn, arrays, mask, dtype):
    out, grads = _run(fn, arrays, mask, dtype)
    tout, tgrads = _torch_run(tfn, arrays, mask, dtype)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=rtol, atol=rtol)
    for g, tg in zip(grads, tgrads):
        np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=rtol, atol=rtol)


def test_softmax_is_shift_invariant_at_1e4():
    x = np.random.default_rng(0).standard_normal((4, 6))
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-6)):
        p = F.softmax(nv.tensor(x.astype(dtype)), 1).numpy()
        q = F.softmax(nv.tensor((x + 1e4).astype(dtype)), 1).numpy()
        # float32 cannot hold x + 1e4 to better than ~1e-3, so compare against the rounded input
        ref = F.softmax(nv.tensor((x + 1e4).astype(dtype) - dtype(1e4)), 1).numpy()
        np.testing.assert_allclose(q, ref, atol=tol)
        if dtype == np.float64:
            np.testing.assert_allclose(q, p, atol=1e-9)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_cross_entropy_gradient_is_exactly_softmax_minus_onehot_over_n(dtype, scale):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((8, 5)) * scale).astype(dtype)
    t = rng.integers(0, 5, size=8)
    xt = nv.tensor(x, requires_grad=True)
    F.cross_entropy(xt, nv.tensor(t)).backward()
    p = F.softmax(nv.tensor(x), 1).numpy()
    onehot = F.one_hot(nv.tensor(t), 5).numpy().astype(dtype)
    np.testing.assert_array_equal(xt.grad.numpy(), (p - onehot) / 8)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_cross_entropy_at_1e4_has_the_exact_limit(dtype):
    """Confident and right -> loss 0; confident and wrong by 2e4 -> loss 2e4."""
    x = np.array([[1e4, -1e4], [1e4, -1e4]], dtype=dtype)
    out = F.cross_entropy(nv.tensor(x), nv.tensor([0, 1]), reduction="none").numpy()
    np.testing.assert_array_equal(out, np.array([0.0, 2e4], dtype=dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_bce_with_logits_is_exact_in_the_tails(dtype):
    x = np.array([-1e4, -50.0, -20.0, 20.0, 50.0, 1e4], dtype=dtype)
    t = np.zeros_like(x)
    out = F.binary_cross_entropy_with_logits(nv.tensor(x), nv.tensor(t), reduction="none").numpy()
    ref = np.logaddexp(0, x.astype(np.float64))   # -log(1 - σ(x)) = softplus(x)
    np.testing.assert_allclose(out, ref.astype(dtype), rtol=1e-6 if dtype == np.float32 else 1e-14)
    assert out[1] > 0  # 1.9e-22, not 0: no cancellation


def test_sigmoid_float32_saturation_point():
    """float32 sigmoid returns exactly 1.0 from x ≈ 16.64 (exp(-x) < 2**-24), as torch does."""
    x = np.float32([16.0, 16.5, 16.6, 16.63, 16.64, 16.65, 17.0, 20.0, 1e4])
    y = F.sigmoid(nv.tensor(x)).numpy()
    assert (y[:4] < 1.0).all() and (y[4:] == 1.0).all()
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(y, torch.sigmoid(torch.tensor(x)).numpy())
    # float64 holds out much longer
    assert F.sigmoid(nv.tensor([30.0], dtype=nv.float64)).item() < 1.0


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_sigmoid_and_softplus_tails(dtype):
    x = nv.tensor(np.array([-1e4, -200.0, -30.0, 30.0, 200.0, 1e4], dtype=dtype))
    with _strict():
        s = F.sigmoid(x).numpy()
        sp = F.softplus(x).numpy()
    assert s[0] == 0.0 and s[-1] == 1.0 and s[2] > 0
    np.testing.assert_allclose(sp, np.logaddexp(0, x.numpy().astype(np.float64)).astype(dtype), rtol=1e-6)
