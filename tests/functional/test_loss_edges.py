"""Losses at their edges, against PyTorch: value and input gradients for every loss with a
torch twin, in float64 and float32, for each reduction, at batch 1, one or two classes,
K-dim inputs with size-1 dims, 0-d/1-D targets, every option, extreme logits, and with
read-only inputs and a read-only upstream gradient (a fast path that writes into an array
it was given shows up only there).

A case is ``(name, args, kwargs)``: ``args``/``kwargs`` hold ``G(array)`` (a float tensor
that takes a gradient), ``C(array)`` (a constant tensor: targets, weights) or plain values;
the same call runs on ``nerve.nn.functional`` and ``torch.nn.functional``.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import nerve as nv
import nerve.nn.functional as NF

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
TF = torch.nn.functional


class G:
    """An input that takes a gradient (``fortran=True``: held column-major, not contiguous)."""

    def __init__(self, a, fortran=False):
        self.a = np.asarray(a, dtype=np.float64)
        self.fortran = fortran


class C:
    """A constant tensor (targets, weights); float arrays follow the case's dtype."""

    def __init__(self, a):
        self.a = np.asarray(a)


def _cast(a, dtype):
    return a.astype(dtype) if a.dtype.kind == "f" else a


def _to_nerve(v, dtype, readonly, leaves):
    if isinstance(v, (G, C)):
        a = _cast(v.a, dtype).copy()
        if getattr(v, "fortran", False):
            a = np.asfortranarray(a)
            assert a.ndim < 2 or not a.flags.c_contiguous
            t = nv.from_numpy(a)
        elif readonly:
            a.flags.writeable = False
            t = nv.from_numpy(a)
        else:
            t = nv.tensor(a)
        if isinstance(v, G):
            t.requires_grad_(True)
            leaves.append(t)
        return t
    return v


def _to_torch(v, dtype, leaves):
    if isinstance(v, (G, C)):
        a = _cast(v.a, dtype)
        t = torch.tensor(a.astype(np.int64) if a.dtype.kind == "i" else a)  # torch: long targets only
        if isinstance(v, G):
            t.requires_grad_(True)
            leaves.append(t)
        return t
    return v


def _run(name, args, kw, dtype, readonly=False, upstream_seed=0):
    """(value, grads) from nerve and from torch, and the upstream gradient used."""
    nl, tl = [], []
    n_args = [_to_nerve(v, dtype, readonly, nl) for v in args]
    n_kw = {k: _to_nerve(v, dtype, readonly, nl) for k, v in kw.items()}
    t_args = [_to_torch(v, dtype, tl) for v in args]
    t_kw = {k: _to_torch(v, dtype, tl) for k, v in kw.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out = getattr(TF, name)(*t_args, **t_kw)
        n_out = getattr(NF, name)(*n_args, **n_kw)
    up = np.random.default_rng(upstream_seed).uniform(0.5, 1.5, size=tuple(t_out.shape)).astype(dtype)
    if tl:
        t_out.backward(torch.tensor(up))
    if nl:
        up_n = up.copy()
        if readonly:
            up_n.flags.writeable = False
            n_out.backward(nv.from_numpy(up_n))
        else:
            n_out.backward(nv.tensor(up_n))
    t_grads = [None if t.grad is None else t.grad.numpy() for t in tl]
    n_grads = [None if t.grad is None else np.asarray(t.grad.numpy()) for t in nl]
    return (np.asarray(n_out.detach().numpy()), n_grads), (t_out.detach().numpy(), t_grads), up


def _compare(name, args, kw, dtype, readonly=False):
    kw = dict(kw)
    loose = kw.pop("_loose", None)  # (rtol, atol) where torch rounds a clamp differently
    (nv_val, nv_grads), (t_val, t_grads), _ = _run(name, args, kw, dtype, readonly)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    if loose:
        tol = dict(rtol=max(tol["rtol"], loose[0]), atol=max(tol["atol"], loose[1]))
    assert nv_val.shape == t_val.shape, (nv_val.shape, t_val.shape)
    assert nv_val.dtype == t_val.dtype, (nv_val.dtype, t_val.dtype)
    np.testing.assert_allclose(nv_val, t_val, equal_nan=True, err_msg="value", **tol)
    for i, (a, b) in enumerate(zip(nv_grads, t_grads)):
        if b is None:
            continue
        assert a is not None, f"input {i}: nerve gives no gradient, torch does"
        assert a.shape == b.shape, (i, a.shape, b.shape)
        np.testing.assert_allclose(a, b, equal_nan=True, err_msg=f"grad of input {i}", **tol)


# ------------------------------------------------------------------------- cases
R = np.random.default_rng(7)


def _n(*shape, scale=1.0):
    return R.standard_normal(shape) * scale


def _u(*shape, lo=0.05, hi=0.95):
    return R.uniform(lo, hi, size=shape)


def _idx(C_, *shape):
    return R.integers(0, C_, size=shape).astype(np.int64)


def _probs(*shape, axis=1):
    p = R.uniform(0.05, 1.0, size=shape)
    return p / p.sum(axis=axis, keepdims=True)


def _logp(*shape, axis=-1):
    x = R.standard_normal(shape)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def _pair_shapes():
    return [(1,), (), (1, 1), (3, 1, 2)]


CASES = []  # (id, name, args, kwargs) without reduction; each runs for every reduction


def case(cid, name, *args, **kw):
    CASES.append((cid, name, args, kw))


# regression: target gradients too
for s in _pair_shapes():
    sid = "x".join(map(str, s)) or "0d"
    case(f"mse-{sid}", "mse_loss", G(_n(*s)), G(_n(*s)))
    d = _n(*s)
    case(f"l1-{sid}", "l1_loss", G(d), G(d * 0 + d.flat[0] if d.size else d))  # a tie
    case(f"smooth_l1-{sid}", "smooth_l1_loss", G(_n(*s, scale=2)), G(_n(*s)))
    case(f"huber-{sid}", "huber_loss", G(_n(*s, scale=2)), G(_n(*s)))
case("mse-target-bcast", "mse_loss", G(_n(3, 4)), G(_n(3, 1)))
case("l1-input-bcast", "l1_loss", G(_n(1, 4)), G(_n(3, 4)))
case("huber-both-bcast", "huber_loss", G(_n(3, 1)), G(_n(1, 4, scale=3)))
case("smooth_l1-0d-target", "smooth_l1_loss", G(_n(2, 3)), G(np.float64(0.4)))
# per-element weights (torch 2.13): mse/l1 divide the mean by the total weight, huber by N
for _nm in ("mse_loss", "l1_loss", "huber_loss"):
    case(f"{_nm}-weight", _nm, G(_n(3, 4, scale=2)), G(_n(3, 4)), weight=C(_u(3, 4, lo=0.1, hi=2)))
    case(f"{_nm}-weight-grad-b1", _nm, G(_n(1, 2, scale=2)), G(_n(1, 2)), weight=G(_u(1, 2, lo=0.1, hi=2)))
    case(f"{_nm}-weight-bcast-target", _nm, G(_n(3, 4, scale=2)), G(_n(1, 4)), weight=C(_u(3, 4, lo=0.1, hi=2)))
case("smooth_l1-beta0", "smooth_l1_loss", G(_n(4)), G(_n(4)), beta=0.0)
case("smooth_l1-beta2.5", "smooth_l1_loss", G(_n(2, 3, scale=3)), G(_n(2, 3)), beta=2.5)
case("huber-delta0.3", "huber_loss", G(_n(2, 3, scale=3)), G(_n(2, 3)), delta=0.3)
case("huber-delta5", "huber_loss", G(_n(2, 3, scale=3)), G(_n(2, 3)), delta=5.0)
case("smooth_l1-at-beta", "smooth_l1_loss", G([1.0, -1.0, 0.0]), G([0.0, 0.0, 0.0]))
case("huber-at-delta", "huber_loss", G([2.0, -2.0, 0.0]), G([0.0, 0.0, 0.0]), delta=2.0)

# cross_entropy / nll_loss with class indices
for Cn in (1, 2, 5):
    case(f"ce-b1-C{Cn}", "cross_entropy", G(_n(1, Cn)), C(_idx(Cn, 1)))
    case(f"ce-1d-C{Cn}", "cross_entropy", G(_n(Cn)), C(np.int64(Cn - 1)))
    case(f"ce-kdim1-C{Cn}", "cross_entropy", G(_n(2, Cn, 1, 1)), C(_idx(Cn, 2, 1, 1)))
    case(f"ce-kdim-b1-C{Cn}", "cross_entropy", G(_n(1, Cn, 3)), C(_idx(Cn, 1, 3)))
    case(f"nll-b1-C{Cn}", "nll_loss", G(_logp(1, Cn)), C(_idx(Cn, 1)))
    case(f"nll-1d-C{Cn}", "nll_loss", G(_logp(Cn)), C(np.int64(0)))
    case(f"nll-kdim1-C{Cn}", "nll_loss", G(_logp(2, Cn, 1, 1, axis=1)), C(_idx(Cn, 2, 1, 1)))
W5 = _u(5, lo=0.3, hi=2.0)
T_IGN = np.array([0, 3, -100, 4, 1, -100], dtype=np.int64)
T_IGN2 = np.array([2, 2, 1, 0, 2, 4], dtype=np.int64)
case("ce-weight", "cross_entropy", G(_n(6, 5)), C(T_IGN2), weight=C(W5))
case("ce-ignore", "cross_entropy", G(_n(6, 5)), C(T_IGN))
case("ce-ignore2-weight-smooth", "cross_entropy", G(_n(6, 5)), C(T_IGN2), weight=C(W5),
     ignore_index=2, label_smoothing=0.2)
case("ce-ignore-all", "cross_entropy", G(_n(3, 5)), C(np.full(3, -100)))
case("ce-ignore-all-weight-smooth", "cross_entropy", G(_n(3, 5)), C(np.full(3, 4)), weight=C(W5),
     ignore_index=4, label_smoothing=0.1)
case("ce-ignore-b1-1d", "cross_entropy", G(_n(5)), C(np.int64(3)), ignore_index=3)
case("ce-smooth1", "cross_entropy", G(_n(4, 5)), C(_idx(5, 4)), label_smoothing=1.0)
case("ce-smooth-kdim-weight", "cross_entropy", G(_n(2, 5, 2, 1)), C(_idx(5, 2, 2, 1)), weight=C(W5),
     label_smoothing=0.3)
case("ce-smooth-C1", "cross_entropy", G(_n(3, 1)), C(np.zeros(3, np.int64)), label_smoothing=0.4)
case("ce-extreme", "cross_entropy", G([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]]),
     C(np.array([1, 2, 0])))
case("ce-extreme-smooth", "cross_entropy", G([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4]]),
     C(np.array([1, 1])), label_smoothing=0.1)
case("ce-masked-neginf", "cross_entropy", G([[0.0, -np.inf, 1.0], [-np.inf, 2.0, -np.inf]]), C(np.array([0, 1])))
case("ce-masked-neginf-weight-ignore", "cross_entropy", G([[0.0, -np.inf, 1.0], [-np.inf, 2.0, -np.inf]]),
     C(np.array([2, 0])), weight=C([0.5, 2.0, 1.5]), ignore_index=0)
case("ce-masked-row-ignored", "cross_entropy", G([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf]]),
     C(np.array([0, -100])))
case("ce-masked-row-ignored-smooth", "cross_entropy", G([[0.0, -1.0, 1.0], [-np.inf, 3.0, -np.inf]]),
     C(np.array([0, -100])), label_smoothing=0.1)
case("nll-neginf-ignored", "nll_loss", G([[-0.5, -np.inf, -1.0], [-np.inf, 0.0, -np.inf]]), C(np.array([2, -100])))
case("nll-neginf-ignored-weight", "nll_loss", G([[-0.5, -np.inf, -1.0], [-np.inf, 0.0, -np.inf]]),
     C(np.array([2, 0])), weight=C([1.0, 2.0, 3.0]), ignore_index=0)
case("ce-probs", "cross_entropy", G(_n(4, 5)), C(_probs(4, 5)))
case("ce-probs-b1", "cross_entropy", G(_n(1, 5)), C(_probs(1, 5)))
case("ce-probs-1d", "cross_entropy", G(_n(5)), C(_probs(5, axis=0)))
case("ce-probs-weight-smooth", "cross_entropy", G(_n(4, 5)), C(_probs(4, 5)), weight=C(W5),
     label_smoothing=0.25)
case("ce-probs-kdim", "cross_entropy", G(_n(2, 5, 1, 3)), C(_probs(2, 5, 1, 3)), weight=C(W5))
case("ce-probs-extreme", "cross_entropy", G([[1e4, -1e4, 0.0]]), C([[0.2, 0.3, 0.5]]))
case("ce-int32-target", "cross_entropy", G(_n(4, 3)), C(_idx(3, 4).astype(np.int32)))
case("ce-ignore-255", "cross_entropy", G(_n(2, 3, 2)), C(np.array([[255, 1], [2, 255]])), ignore_index=255)
case("ce-ignore-minus1-weight", "cross_entropy", G(_n(4, 3)), C(np.array([-1, 2, 0, -1])), ignore_index=-1,
     weight=C(_u(3, lo=0.3, hi=2)), label_smoothing=0.15)
case("nll-int32-ignore255", "nll_loss", G(_logp(4, 3)), C(np.array([0, 255, 2, 1], np.int32)),
     ignore_index=255)
case("nll-weight-ignore", "nll_loss", G(_logp(6, 5)), C(T_IGN2), weight=C(W5), ignore_index=2)
case("nll-ignore-all", "nll_loss", G(_logp(3, 5)), C(np.full(3, -100)))
case("nll-ignore-all-weight", "nll_loss", G(_logp(2, 5)), C(np.array([1, 1])), weight=C(W5),
     ignore_index=1)
case("nll-kdim-weight-ignore", "nll_loss", G(_logp(2, 5, 2, 2, axis=1)),
     C(np.array([[[0, -100], [4, 4]], [[-100, 1], [2, 3]]])), weight=C(W5))

# binary
for s in [(1,), (), (2, 1, 3)]:
    sid = "x".join(map(str, s)) or "0d"
    case(f"bce-{sid}", "binary_cross_entropy", G(_u(*s)), C(_u(*s, lo=0, hi=1)))
    case(f"bcel-{sid}", "binary_cross_entropy_with_logits", G(_n(*s, scale=2)), C(_u(*s, lo=0, hi=1)))
case("bce-weight-bcast", "binary_cross_entropy", G(_u(3, 4)), C(_u(3, 4, lo=0, hi=1)),
     weight=C(_u(4, lo=0.3, hi=2)))
case("bce-weight-full", "binary_cross_entropy", G(_u(3, 4)), C((_u(3, 4) > 0.5) * 1.0),
     weight=C(_u(3, 4, lo=0.3, hi=2)))
# torch divides by max(x(1 - x), 1e-12) with the 1e-12 held as a float32 (4e-9 off)
case("bce-at-0-and-1", "binary_cross_entropy", G([0.0, 1.0, 0.0, 1.0, 0.5]),
     C([0.0, 1.0, 1.0, 0.0, 0.5]), _loose=(1e-8, 0))
case("bcel-extreme", "binary_cross_entropy_with_logits", G([1e4, -1e4, 1e4, -1e4, 0.0]),
     C([1.0, 0.0, 0.0, 1.0, 0.5]))
case("bcel-extreme-pw", "binary_cross_entropy_with_logits", G([[1e4, -1e4, 30.0], [-1e4, 1e4, -40.0]]),
     C([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), pos_weight=C([2.0, 0.5, 3.0]))
case("bcel-pw-last", "binary_cross_entropy_with_logits", G(_n(2, 3, 4)), C(_u(2, 3, 4, lo=0, hi=1)),
     pos_weight=C(_u(4, lo=0.5, hi=3)))
case("bcel-pw-1", "binary_cross_entropy_with_logits", G(_n(3, 4)), C(_u(3, 4, lo=0, hi=1)),
     pos_weight=C([2.5]))
case("bcel-pw-bcast2d", "binary_cross_entropy_with_logits", G(_n(2, 3, 4)), C(_u(2, 3, 4, lo=0, hi=1)),
     pos_weight=C(_u(3, 1, lo=0.5, hi=3)))
case("bcel-pw-weight", "binary_cross_entropy_with_logits", G(_n(3, 4)), C(_u(3, 4, lo=0, hi=1)),
     weight=C(_u(3, 1, lo=0.3, hi=2)), pos_weight=C(_u(4, lo=0.5, hi=3)))
case("bcel-pw-0d", "binary_cross_entropy_with_logits", G(_n(3)), C(_u(3, lo=0, hi=1)),
     pos_weight=C(np.float64(2.0)))

# kl_div (batchmean added below)
for lt in (False, True):
    for s in [(1, 3), (3,), (2, 3, 1)]:
        sid = "x".join(map(str, s))
        tgt = _logp(*s) if lt else _probs(*s, axis=-1)
        case(f"kl-{sid}-lt{int(lt)}", "kl_div", G(_logp(*s)), G(tgt), log_target=lt)
# where the target is 0 its own gradient is log 0 (torch: nan); only the input's is compared
case("kl-zero-target", "kl_div", G(_logp(2, 3)), C([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]))
case("kl-neginf-logtarget", "kl_div", G(_logp(1, 3)), C([[-np.inf, np.log(0.5), np.log(0.5)]]),
     log_target=True)

# margins
for Cn in (1, 2, 4):
    case(f"mm-b1-C{Cn}", "multi_margin_loss", G(_n(1, Cn)), C(_idx(Cn, 1)))
    case(f"mm-1d-C{Cn}", "multi_margin_loss", G(_n(Cn)), C(np.int64(0)))
case("mm-p2-margin-weight", "multi_margin_loss", G(_n(5, 4)), C(_idx(4, 5)), p=2, margin=0.7,
     weight=C(_u(4, lo=0.3, hi=2)))
case("mm-tie-at-margin", "multi_margin_loss", G([[1.0, 0.0, 2.0]]), C(np.array([0])))
case("mlm-b1", "multilabel_margin_loss", G(_n(1, 4)), C(np.array([[3, 0, -1, 1]])))
case("mlm-1d", "multilabel_margin_loss", G(_n(4)), C(np.array([2, -1, 0, 0])))
case("mlm-empty-labels", "multilabel_margin_loss", G(_n(2, 3)), C(np.array([[-1, 0, 1], [1, 2, -1]])))
case("mlm-all-labels", "multilabel_margin_loss", G(_n(2, 3)), C(np.array([[0, 1, 2], [2, 1, 0]])))
case("mlm-C1", "multilabel_margin_loss", G(_n(3, 1)), C(np.array([[0], [-1], [0]])))
case("mlm-dup-labels", "multilabel_margin_loss", G(_n(1, 4)), C(np.array([[1, 1, 3, -1]])))

# embeddings
for s in [(1, 4), (4,), (3, 1)]:
    sid = "x".join(map(str, s))
    case(f"triplet-{sid}", "triplet_margin_loss", G(_n(*s)), G(_n(*s)), G(_n(*s)))
case("triplet-swap-p1", "triplet_margin_loss", G(_n(4, 3)), G(_n(4, 3)), G(_n(4, 3)), margin=2.0, p=1.0,
     swap=True)
case("triplet-p3", "triplet_margin_loss", G(_n(4, 3)), G(_n(4, 3)), G(_n(4, 3)), margin=0.5, p=3.0)
X_SAME = _n(2, 3)
case("triplet-identical", "triplet_margin_loss", G(X_SAME), G(X_SAME), G(X_SAME))
for s, ts in [((1, 4), (1,)), ((4,), ()), ((3, 1), (3,))]:
    sid = "x".join(map(str, s))
    tgt = np.where(R.random(ts) > 0.5, 1, -1) if ts else np.int64(-1)
    # with one feature the cosine is ±1 and its gradient is rounding noise (float32: ~1e-4)
    case(f"cosemb-{sid}", "cosine_embedding_loss", G(_n(*s)), G(_n(*s)), C(tgt), margin=0.1,
         _loose=(0, 1e-4) if s[-1] == 1 else None)
case("cosemb-margin-neg", "cosine_embedding_loss", G(_n(5, 3)), G(_n(5, 3)), C(np.array([1, -1, -1, 1, -1])),
     margin=-0.5)
# a zero row: the gradient is ~1e6, divided by a norm torch and nerve round differently
case("cosemb-zero-row", "cosine_embedding_loss", G([[0.0, 0.0], [1.0, 2.0]]), G([[1.0, 0.0], [0.0, 0.0]]),
     C(np.array([1, -1])), _loose=(1e-8, 0))

# kinks hit exactly: torch's clamp_min lets the gradient through at 0
case("cosemb-orthogonal-tie", "cosine_embedding_loss", G([[1.0, 0.0], [0.0, 2.0]]), G([[0.0, 3.0], [1.0, 0.0]]),
     C(np.array([-1, -1])))
case("triplet-tie", "triplet_margin_loss", G([[0.0, 0.0]]), G([[3.0, 4.0]]), G([[0.0, 6.0]]), margin=1.0,
     eps=0.0)

# empty batches: 'mean' of nothing is NaN, 'sum' 0, 'none' empty; gradients empty
case("empty-mse", "mse_loss", G(np.zeros((0, 3))), G(np.zeros((0, 3))))
case("empty-huber", "huber_loss", G(np.zeros((0,))), G(np.zeros((0,))))
case("empty-ce", "cross_entropy", G(np.zeros((0, 3))), C(np.zeros(0, np.int64)))
case("empty-ce-kdim-weight", "cross_entropy", G(np.zeros((0, 3, 2))), C(np.zeros((0, 2), np.int64)),
     weight=C([1.0, 2.0, 3.0]), label_smoothing=0.1)
case("empty-ce-probs", "cross_entropy", G(np.zeros((0, 3))), C(np.zeros((0, 3))))
case("empty-nll", "nll_loss", G(np.zeros((0, 3))), C(np.zeros(0, np.int64)))
case("empty-bce", "binary_cross_entropy", G(np.zeros((0, 2))), C(np.zeros((0, 2))))
case("empty-bcel", "binary_cross_entropy_with_logits", G(np.zeros((0, 2))), C(np.zeros((0, 2))),
     pos_weight=C([1.0, 2.0]))
case("empty-kl", "kl_div", G(np.zeros((0, 3))), G(np.zeros((0, 3))))
case("empty-triplet", "triplet_margin_loss", G(np.zeros((0, 3))), G(np.zeros((0, 3))), G(np.zeros((0, 3))))
case("empty-cosemb", "cosine_embedding_loss", G(np.zeros((0, 3))), G(np.zeros((0, 3))), C(np.zeros(0, np.int64)))

# column-major (non-contiguous) inputs: the fused kernels must not assume C order
case("F-ce", "cross_entropy", G(_n(5, 4), fortran=True), C(_idx(4, 5)))
case("F-ce-kdim", "cross_entropy", G(_n(2, 4, 3), fortran=True), C(_idx(4, 2, 3)), weight=C(_u(4)),
     label_smoothing=0.1)
case("F-ce-probs", "cross_entropy", G(_n(5, 4), fortran=True), C(_probs(5, 4)))
case("F-nll", "nll_loss", G(_logp(5, 4), fortran=True), C(_idx(4, 5)))
case("F-bce", "binary_cross_entropy", G(_u(5, 4), fortran=True), C(_u(5, 4, lo=0, hi=1)))
case("F-bcel", "binary_cross_entropy_with_logits", G(_n(5, 4), fortran=True), C(_u(5, 4, lo=0, hi=1)),
     pos_weight=C(_u(4, lo=0.5, hi=2)))
case("F-mse", "mse_loss", G(_n(5, 4), fortran=True), G(_n(5, 4), fortran=True))
case("F-kl", "kl_div", G(_logp(5, 4), fortran=True), G(_probs(5, 4)))
case("F-mm", "multi_margin_loss", G(_n(5, 4), fortran=True), C(_idx(4, 5)))
case("F-mlm", "multilabel_margin_loss", G(_n(2, 4), fortran=True), C(np.array([[3, 0, -1, 1], [2, -1, 0, 0]])))
case("F-triplet", "triplet_margin_loss", G(_n(5, 4), fortran=True), G(_n(5, 4)), G(_n(5, 4), fortran=True))
case("F-cosemb", "cosine_embedding_loss", G(_n(5, 4), fortran=True), G(_n(5, 4), fortran=True),
     C(np.array([1, -1, 1, -1, -1])))

REDUCTIONS = ("none", "mean", "sum")
PARAMS = [(cid, name, args, kw, red) for cid, name, args, kw in CASES for red in REDUCTIONS]
PARAMS += [(f"{cid}", name, args, kw, "batchmean") for cid, name, args, kw in CASES if name == "kl_div"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("cid,name,args,kw,reduction", PARAMS, ids=[f"{p[0]}-{p[4]}" for p in PARAMS])
def test_matches_torch(cid, name, args, kw, reduction, dtype):
    _compare(name, args, dict(kw, reduction=reduction), dtype)


# Every case with read-only inputs, targets, weights and (for 'none') upstream gradient.
RO = [(cid, name, args, kw, red) for cid, name, args, kw in CASES for red in ("none", "mean")]


@pytest.mark.parametrize("cid,name,args,kw,reduction", RO, ids=[f"{p[0]}-{p[4]}" for p in RO])
def test_read_only_inputs_and_upstream(cid, name, args, kw, reduction):
    _compare(name, args, dict(kw, reduction=reduction), np.float64, readonly=True)


@pytest.mark.parametrize("name,target", [("multi_margin_loss", np.zeros(0, np.int64)),
                                         ("multilabel_margin_loss", np.zeros((0, 3), np.int64))])
def test_margin_losses_of_an_empty_batch(name, target):
    # torch 2.13 returns uninitialised memory here, so the reference is the definition:
    # the mean of nothing is NaN, the sum 0, and backward runs with empty gradients.
    for reduction, want in (("mean", np.nan), ("sum", 0.0), ("none", np.zeros(0))):
        x = nv.tensor(np.zeros((0, 3)), requires_grad=True)
        out = getattr(NF, name)(x, nv.tensor(target), reduction=reduction)
        np.testing.assert_array_equal(out.numpy(), want)
        out.sum().backward()
        assert x.grad.shape == (0, 3)


# distances the embedding losses are built on (no reduction argument)
DIST = [
    ("pd-b1", "pairwise_distance", (G(_n(1, 3)), G(_n(1, 3))), {}),
    ("pd-1d", "pairwise_distance", (G(_n(3)), G(_n(3))), {}),
    ("pd-bcast", "pairwise_distance", (G(_n(4, 3)), G(_n(1, 3))), dict(keepdim=True)),
    ("pd-same-rows-p1", "pairwise_distance", (G(X_SAME), G(X_SAME)), dict(p=1.0)),
    ("pd-p-inf", "pairwise_distance", (G(_n(4, 3)), G(_n(4, 3))), dict(p=float("inf"))),
    ("pd-p3-eps0", "pairwise_distance", (G(_n(4, 3)), G(_n(4, 3))), dict(p=3.0, eps=0.0)),
    ("cs-b1", "cosine_similarity", (G(_n(1, 3)), G(_n(1, 3))), {}),
    ("cs-1d", "cosine_similarity", (G(_n(3)), G(_n(3))), dict(dim=0)),
    ("cs-zero", "cosine_similarity", (G([[0.0, 0.0], [1.0, 2.0]]), G([[1.0, 1.0], [0.0, 0.0]])), {}),
    ("cs-bcast-dim-last", "cosine_similarity", (G(_n(2, 1, 3)), G(_n(1, 4, 3))), dict(dim=-1)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("cid,name,args,kw", DIST, ids=[d[0] for d in DIST])
def test_distances_match_torch(cid, name, args, kw, dtype):
    _compare(name, args, kw, dtype)


# Second derivatives (a gradient penalty through the loss): d/dx Σ (dL/dx · c)², c fixed.
def _double(fw, name, args, kw, dtype):
    leaves = []
    if fw == "nerve":
        a = [_to_nerve(v, dtype, False, leaves) for v in args]
        k = {key: _to_nerve(v, dtype, False, leaves) for key, v in kw.items()}
        out = getattr(NF, name)(*a, **k)
        up = nv.tensor(np.full(tuple(out.shape), 0.75, dtype=dtype))
        g = nv.autograd.grad(out, leaves[0], up, create_graph=True)[0]
        c = nv.tensor(np.linspace(0.5, 1.5, g.numel()).reshape(tuple(g.shape)).astype(dtype))
        ((g * c) ** 2).sum().backward()
        return leaves[0].grad.numpy()
    a = [_to_torch(v, dtype, leaves) for v in args]
    k = {key: _to_torch(v, dtype, leaves) for key, v in kw.items()}
    out = getattr(TF, name)(*a, **k)
    up = torch.full(tuple(out.shape), 0.75, dtype=out.dtype)
    g = torch.autograd.grad(out, leaves[0], up, create_graph=True)[0]
    c = torch.tensor(np.linspace(0.5, 1.5, g.numel()).reshape(tuple(g.shape)).astype(dtype))
    ((g * c) ** 2).sum().backward()
    return leaves[0].grad.numpy()


# nll_loss and kl_div are linear in their input (no second derivative; torch then hands back
# a ZeroTensor or None, nerve a gradient that needs no graph), so they are left out.
SMOOTH = {"mse_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "binary_cross_entropy",
          "binary_cross_entropy_with_logits", "triplet_margin_loss", "cosine_embedding_loss"}
SECOND = [(cid, name, args, kw, red) for cid, name, args, kw in CASES if name in SMOOTH
          and "extreme" not in cid and "inf" not in cid and "empty" not in cid and "at-" not in cid
          and "zero" not in cid and "_loose" not in kw and "ignore-all" not in cid and "beta0" not in cid
          and "p1" not in cid
          for red in ("none", "mean")]


@pytest.mark.parametrize("cid,name,args,kw,reduction", SECOND, ids=[f"{p[0]}-{p[4]}" for p in SECOND])
def test_second_derivatives_match_torch(cid, name, args, kw, reduction):
    kw = dict(kw, reduction=reduction)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _double("nerve", name, args, kw, np.float64)
        theirs = _double("torch", name, args, kw, np.float64)
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)
