"""Loss semantics beyond the op table: reductions, weights, errors, identities, one_hot."""
from __future__ import annotations

import doctest
import time

import numpy as np
import pytest

import nerve as nv
import nerve.functional as F
from nerve.autograd import gradcheck, gradgradcheck
from nerve.functional import loss as L


def _logits(n=6, c=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, c)).astype(dtype), rng.integers(0, c, size=n)


# ----------------------------------------------------------------- reductions
REDUCIBLE = [
    ("mse", F.mse_loss, "float"), ("l1", F.l1_loss, "float"), ("smooth_l1", F.smooth_l1_loss, "float"),
    ("huber", F.huber_loss, "float"), ("ce", F.cross_entropy, "index"), ("nll", F.nll_loss, "index"),
    ("bce", F.binary_cross_entropy, "prob"), ("bce_logits", F.binary_cross_entropy_with_logits, "prob"),
    ("kl", F.kl_div, "dist"),
]


def _inputs(kind, rng):
    if kind == "float":
        return rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    if kind == "index":
        return rng.standard_normal((5, 3)), rng.integers(0, 3, size=5)
    if kind == "prob":
        return rng.uniform(0.1, 0.9, (5, 3)), rng.uniform(0, 1, (5, 3))
    q = rng.standard_normal((5, 3))
    return q - np.log(np.exp(q).sum(1, keepdims=True)), rng.dirichlet(np.ones(3), size=5)


@pytest.mark.parametrize("name,fn,kind", REDUCIBLE, ids=[r[0] for r in REDUCIBLE])
def test_none_then_mean_equals_mean_and_sum_equals_sum(name, fn, kind):
    x, t = _inputs(kind, np.random.default_rng(2))
    x, t = nv.tensor(x), nv.tensor(t)
    none = fn(x, t, reduction="none")
    assert none.shape == (tuple(x.shape) if kind != "index" else (5,))
    np.testing.assert_allclose(none.mean().item(), fn(x, t, reduction="mean").item(), rtol=1e-14)
    np.testing.assert_allclose(none.sum().item(), fn(x, t, reduction="sum").item(), rtol=1e-14)


@pytest.mark.parametrize("name,fn,kind", REDUCIBLE, ids=[r[0] for r in REDUCIBLE])
def test_bad_reduction_is_named(name, fn, kind):
    x, t = _inputs(kind, np.random.default_rng(2))
    with pytest.raises(ValueError, match="reduction must be one of .*'avg'"):
        fn(nv.tensor(x), nv.tensor(t), reduction="avg")


# ------------------------------------------------------------------ regression
def test_mse_gradient_and_sklearn_parity():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    yhat, y = rng.standard_normal(20), rng.standard_normal(20)
    x = nv.tensor(yhat, requires_grad=True)
    loss = F.mse_loss(x, nv.tensor(y))
    loss.backward()
    assert loss.item() == pytest.approx(metrics.mean_squared_error(y, yhat), rel=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), 2 * (yhat - y) / 20, rtol=1e-12)


def test_huber_is_delta_times_smooth_l1():
    rng = np.random.default_rng(1)
    x, t = nv.tensor(rng.standard_normal(30) * 3), nv.tensor(rng.standard_normal(30))
    for d in (0.5, 1.0, 2.5):
        np.testing.assert_allclose(F.huber_loss(x, t, delta=d).item(),
                                   d * F.smooth_l1_loss(x, t, beta=d).item(), rtol=1e-13)
    np.testing.assert_allclose(F.smooth_l1_loss(x, t, beta=0.0).item(), F.l1_loss(x, t).item())


def test_l1_gradient_at_a_tie_is_zero():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    F.l1_loss(x, nv.tensor([1.0, 0.0]), reduction="sum").backward()
    assert x.grad.tolist() == [0.0, 1.0]


def test_broadcast_target_warns():
    with pytest.warns(UserWarning, match=r"\(4,\).*\(4, 1\)"):
        out = F.mse_loss(nv.randn(4, 1), nv.randn(4))
    assert out.shape == ()


def test_int_targets_are_promoted_like_torch():
    out = F.mse_loss(nv.tensor([1.0, 2.0]), nv.tensor([1, 4]))
    assert out.dtype == np.float32 and out.item() == 2.0


# ---------------------------------------------------------------- cross-entropy
def test_weighted_mean_divides_by_the_weight_of_counted_targets():
    x, _ = _logits()
    t = np.array([0, 1, -100, 3, 1, -100])
    w = np.array([0.5, 2.0, 1.0, 3.0])
    per = F.cross_entropy(nv.tensor(x), nv.tensor(t), nv.tensor(w), reduction="none").numpy()
    assert per[2] == 0 and per[5] == 0
    counted = t != -100
    want = per.sum() / w[t[counted]].sum()
    got = F.cross_entropy(nv.tensor(x), nv.tensor(t), nv.tensor(w)).item()
    assert got == pytest.approx(want, rel=1e-14)


@pytest.mark.filterwarnings("error")
def test_ignored_targets_get_no_gradient_and_all_ignored_gives_nan():
    x, _ = _logits()
    t = np.array([0, -100, 2, -100, 1, 1])
    xt = nv.tensor(x, requires_grad=True)
    F.cross_entropy(xt, nv.tensor(t)).backward()
    assert (xt.grad.numpy()[[1, 3]] == 0).all()
    assert gradcheck(lambda a: F.cross_entropy(a, nv.tensor(t)), [nv.tensor(x, requires_grad=True)])
    xt = nv.tensor(x, requires_grad=True)
    for kw in ({}, {"label_smoothing": 0.2}, {"weight": nv.ones(4, dtype=nv.float64)}):
        out = F.cross_entropy(xt, nv.tensor(np.full(6, -100)), **kw)
        assert np.isnan(out.item())     # nothing counts: NaN, silently, as in torch
        out.backward()
        assert (xt.grad.numpy() == 0).all()
        xt.grad = None


def test_spatial_cross_entropy_equals_the_flattened_one():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 3, 5))
    t = rng.integers(0, 4, size=(2, 3, 5))
    flat_x = np.moveaxis(x, 1, -1).reshape(-1, 4)
    a = F.cross_entropy(nv.tensor(x), nv.tensor(t), reduction="none")
    b = F.cross_entropy(nv.tensor(flat_x), nv.tensor(t.reshape(-1)), reduction="none")
    assert a.shape == (2, 3, 5)
    np.testing.assert_allclose(a.numpy().reshape(-1), b.numpy(), rtol=1e-14)


def test_probability_targets_equal_sklearn_log_loss_and_onehot_probs_equal_indices():
    metrics = pytest.importorskip("sklearn.metrics")
    x, t = _logits(n=10, c=3, seed=4)
    p = F.softmax(nv.tensor(x), 1).numpy()
    onehot = F.one_hot(nv.tensor(t), 3).numpy().astype(np.float64)
    soft = F.cross_entropy(nv.tensor(x), nv.tensor(onehot)).item()
    hard = F.cross_entropy(nv.tensor(x), nv.tensor(t)).item()
    assert soft == pytest.approx(hard, rel=1e-13)
    assert hard == pytest.approx(metrics.log_loss(t, p, labels=[0, 1, 2]), rel=1e-10)


def test_cross_entropy_is_entropy_plus_kl():
    """H(p, q) = H(p) + KL(p || q), with q = softmax(x)."""
    rng = np.random.default_rng(5)
    x = nv.tensor(rng.standard_normal((4, 6)))
    p = rng.dirichlet(np.ones(6), size=4)
    ce = F.cross_entropy(x, nv.tensor(p)).item()
    entropy = -(p * np.log(p)).sum(1).mean()
    kl = F.kl_div(F.log_softmax(x, 1), nv.tensor(p), reduction="batchmean").item()
    assert ce == pytest.approx(entropy + kl, rel=1e-13)


def test_cross_entropy_equals_log_softmax_then_nll():
    x, t = _logits(seed=6)
    w = nv.tensor([1.0, 0.2, 3.0, 0.7])
    for kw in ({}, {"weight": w}, {"ignore_index": 2}, {"reduction": "sum", "weight": w}):
        a = F.cross_entropy(nv.tensor(x), nv.tensor(t), **kw).numpy()
        b = F.nll_loss(F.log_softmax(nv.tensor(x), 1), nv.tensor(t), **kw).numpy()
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_cross_entropy_double_backward_on_every_path():
    x, t = _logits(n=4, c=3, seed=7)
    w = nv.tensor([0.5, 1.5, 1.0])
    tt = nv.tensor(np.array([0, 2, -100, 1]))
    for fn in (lambda a: F.cross_entropy(a, nv.tensor(t)),
               lambda a: F.cross_entropy(a, tt, w, label_smoothing=0.3),
               lambda a: F.cross_entropy(a, tt, reduction="none") * nv.tensor([1.0, 2.0, 3.0, 4.0])):
        assert gradgradcheck(fn, [nv.tensor(x, requires_grad=True)])


def test_cross_entropy_fused_is_faster_than_the_composition():
    """The fused op against log_softmax + nll_loss (timed interleaved, best of many)."""
    x = nv.randn(256, 1000, requires_grad=True)
    t = nv.tensor(np.random.default_rng(0).integers(0, 1000, size=256))

    def fused():
        F.cross_entropy(x, t).backward()
        x.grad = None

    def composed():
        F.nll_loss(F.log_softmax(x, 1), t).backward()
        x.grad = None

    best = {fused: np.inf, composed: np.inf}
    for _ in range(15):
        for fn in best:
            t0 = time.perf_counter()
            fn()
            best[fn] = min(best[fn], time.perf_counter() - t0)
    ratio = best[fused] / best[composed]
    assert ratio < 0.8, f"fused cross_entropy takes {ratio:.2f}x the time of the composition"


def test_cross_entropy_unbatched_and_empty():
    x = nv.tensor([1.0, 2.0, 0.5], requires_grad=True)
    out = F.cross_entropy(x, nv.tensor(1))
    assert out.shape == ()
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), F.softmax(x.detach(), 0).numpy() - [0, 1, 0], rtol=1e-6)
    assert F.cross_entropy(x, nv.tensor(1), reduction="none").shape == ()
    assert np.isnan(F.cross_entropy(nv.zeros(0, 3), nv.tensor(np.zeros(0, np.int64))).item())
    assert F.cross_entropy(nv.zeros(0, 3), nv.tensor(np.zeros(0, np.int64)), reduction="sum").item() == 0


def test_cross_entropy_errors_teach():
    x = nv.randn(4, 5)
    with pytest.raises(TypeError, match=r"cross_entropy.*float32.*\(4,\).*target\.long\(\)"):
        F.cross_entropy(x, nv.tensor([0.0, 1.0, 2.0, 3.0]))
    with pytest.raises(IndexError, match=r"target value 5 is out of range for 5 classes"):
        F.cross_entropy(x, nv.tensor([0, 1, 5, 2]))
    with pytest.raises(IndexError, match=r"target value -1"):
        F.cross_entropy(x, nv.tensor([0, -1, 1, 2]))
    with pytest.raises(ValueError, match=r"shape \(4,\), got \(4, 1\).*reshape"):
        F.cross_entropy(x, nv.tensor([[0], [1], [2], [3]]))
    with pytest.raises(ValueError, match=r"one-hot.*argmax"):
        F.cross_entropy(x, nv.tensor(np.eye(5, dtype=np.int64)[:4]))
    with pytest.raises(ValueError, match=r"weight .* \(5,\), got \(3,\)"):
        F.cross_entropy(x, nv.tensor([0, 1, 2, 3]), nv.ones(3))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, nv.tensor([0, 1, 2, 3]), label_smoothing=1.5)
    with pytest.raises(TypeError, match="floating-point"):
        F.cross_entropy(nv.tensor([[1, 2]]), nv.tensor([0]))
    with pytest.raises(IndexError, match="nll_loss: target value 7"):
        F.nll_loss(x, nv.tensor([0, 1, 7, 2]))


# ---------------------------------------------------------------------- binary
def test_bce_clamps_its_logs_at_minus_100():
    p = nv.tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    t = nv.tensor([1.0, 0.0, 0.0, 1.0])
    out = F.binary_cross_entropy(p, t, reduction="none")
    assert out.tolist() == [100.0, 100.0, 0.0, 0.0]
    out.sum().backward()
    assert np.isfinite(p.grad.numpy()).all()


def test_bce_and_bce_with_logits_agree():
    rng = np.random.default_rng(8)
    x = rng.standard_normal(12) * 3
    t = rng.uniform(0, 1, 12)
    a = F.binary_cross_entropy(F.sigmoid(nv.tensor(x)), nv.tensor(t)).item()
    b = F.binary_cross_entropy_with_logits(nv.tensor(x), nv.tensor(t)).item()
    assert a == pytest.approx(b, rel=1e-12)


def test_bce_with_logits_gradient_is_sigmoid_minus_target():
    rng = np.random.default_rng(9)
    x = nv.tensor(rng.standard_normal(10), requires_grad=True)
    t = rng.integers(0, 2, 10).astype(float)
    F.binary_cross_entropy_with_logits(x, nv.tensor(t), reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / (1 + np.exp(-x.numpy())) - t, rtol=1e-12)


def test_binary_errors_teach():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*with_logits"):
        F.binary_cross_entropy(nv.tensor([0.5, 1.5]), nv.tensor([1.0, 0.0]))
    with pytest.raises(TypeError, match=r"target\.float\(\)"):
        F.binary_cross_entropy_with_logits(nv.tensor([0.5, 1.5]), nv.tensor([1, 0]))
    with pytest.raises(ValueError, match=r"\(4,\) must have the input's shape \(4, 1\)"):
        F.binary_cross_entropy_with_logits(nv.randn(4, 1), nv.zeros(4))


# ---------------------------------------------------------------------- kl_div
def test_kl_div_reductions_and_zero_targets():
    q = F.log_softmax(nv.randn(3, 4, dtype=nv.float64), 1)
    p = nv.tensor(np.array([[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0]]))
    none = F.kl_div(q, p, reduction="none")
    assert np.isfinite(none.numpy()).all() and (none.numpy()[p.numpy() == 0] == 0).all()
    assert F.kl_div(q, p, reduction="batchmean").item() == pytest.approx(none.sum().item() / 3)
    assert F.kl_div(q, p).item() == pytest.approx(none.sum().item() / 12)
    logp = nv.tensor(np.log(np.where(p.numpy() > 0, p.numpy(), 1e-300)))
    a = F.kl_div(q, p, reduction="sum").item()
    b = F.kl_div(q, logp, reduction="sum", log_target=True).item()
    assert a == pytest.approx(b, rel=1e-12)
    assert F.kl_div(F.log_softmax(nv.tensor(np.log(p.numpy() + 1e-300)), 1), p,
                    reduction="batchmean").item() == pytest.approx(0, abs=1e-12)


# --------------------------------------------------------------------- one_hot
def test_one_hot_matches_torch_and_inverts_with_argmax():
    idx = np.array([[0, 3], [2, 1], [3, 3]])
    out = F.one_hot(nv.tensor(idx), 5)
    assert out.dtype == np.int64 and out.shape == (3, 2, 5)
    assert (out.numpy().sum(-1) == 1).all()
    np.testing.assert_array_equal(out.numpy().argmax(-1), idx)
    assert F.one_hot(nv.tensor(idx)).shape == (3, 2, 4)
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(out.numpy(), torch.nn.functional.one_hot(torch.tensor(idx), 5).numpy())


def test_one_hot_matches_sklearn():
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    idx = np.array([2, 0, 1, 2, 1])
    enc = preprocessing.OneHotEncoder(sparse_output=False).fit_transform(idx[:, None])
    np.testing.assert_array_equal(F.one_hot(nv.tensor(idx), 3).numpy(), enc)


def test_one_hot_errors():
    with pytest.raises(ValueError, match="index 4 is out of range for num_classes=3"):
        F.one_hot(nv.tensor([0, 4]), 3)
    with pytest.raises(ValueError, match="index -1"):
        F.one_hot(nv.tensor([0, -1]), 3)
    with pytest.raises(TypeError, match=r"\.long\(\)"):
        F.one_hot(nv.tensor([0.0, 1.0]), 3)
    with pytest.raises(ValueError, match="empty"):
        F.one_hot(nv.tensor(np.zeros(0, np.int64)))


def test_docstring_examples_run():
    res = doctest.testmod(L, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 8 and res.failed == 0


@pytest.mark.parametrize("C", [3, 40], ids=["few-classes", "many-classes"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_exact_for_logits_far_apart(C, dtype):
    """Rows whose logits span thousands: the row-max shift keeps exp finite (the few-class
    path reduces a transposed copy, the many-class path reduces each row), and the loss and
    gradient equal the closed form computed in float64 with log-sum-exp."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, C)) * 600.0
    x[:, 0] += 300.0 * np.arange(40)                       # rows on very different scales
    t = rng.integers(0, C, 40)
    lse = x.max(1) + np.log(np.exp(x - x.max(1, keepdims=True)).sum(1))
    want = np.mean(lse - x[np.arange(40), t])
    p = np.exp(x - lse[:, None])
    gwant = (p - np.eye(C)[t]) / 40
    xt = nv.tensor(x.astype(dtype), requires_grad=True)
    loss = F.cross_entropy(xt, nv.tensor(t))
    loss.backward()
    tol = dict(rtol=1e-5, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-9)
    assert np.isfinite(loss.item())
    np.testing.assert_allclose(loss.item(), want, **tol)
    np.testing.assert_allclose(xt.grad.numpy(), gwant, **tol)
