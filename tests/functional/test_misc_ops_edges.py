"""Less common functional ops and losses at their edges, against PyTorch: distances and
normalisation at p = 0, negative p, ±inf and ties, zero and equal rows, broadcasting and empty
batches; kl_div on 0-d, broadcast and negative targets; the binary losses with target
gradients, out-of-range targets and weights that would enlarge the result; one_hot's
num_classes; the ELU family and PReLU at ±inf. (test_loss_edges.py and test_ops_edges.py
hold the earlier sweeps.)

A case is ``(id, name, args, kwargs)``: ``G(array)`` is a float input that takes a gradient,
``C(array)`` a constant; the same call runs on ``nerve.nn.functional`` and
``torch.nn.functional``, and the value and every input gradient (of ``sum(out * up)``, ``up``
random) must agree.
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
INF = np.inf


class G:
    def __init__(self, a):
        self.a = np.asarray(a, dtype=np.float64)


class C:
    def __init__(self, a):
        self.a = np.asarray(a)


def _args(vals, dtype, make, leaves):
    out = []
    for v in vals:
        if not isinstance(v, (G, C)):
            out.append(v)
            continue
        a = v.a.astype(dtype) if v.a.dtype.kind == "f" else v.a
        t = make(a.copy())
        if isinstance(v, G):
            t.requires_grad_(True)
            leaves.append(t)
        out.append(t)
    return out


def _compare(name, args, kw, dtype):
    kw = dict(kw)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    nl, tl = [], []
    keys = list(kw)
    n_all = _args(list(args) + [kw[k] for k in keys], dtype, nv.tensor, nl)
    t_all = _args(list(args) + [kw[k] for k in keys], dtype, torch.tensor, tl)
    na = len(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out = getattr(TF, name)(*t_all[:na], **dict(zip(keys, t_all[na:])))
        n_out = getattr(NF, name)(*n_all[:na], **dict(zip(keys, n_all[na:])))
        up = np.random.default_rng(0).uniform(0.5, 1.5, size=tuple(t_out.shape)).astype(dtype)
        t_out.backward(torch.tensor(up))
        n_out.backward(nv.tensor(up))
    assert tuple(n_out.shape) == tuple(t_out.shape)
    assert n_out.dtype == t_out.detach().numpy().dtype
    np.testing.assert_allclose(n_out.detach().numpy(), t_out.detach().numpy(), equal_nan=True,
                               err_msg="value", **tol)
    for i, (a, b) in enumerate(zip(nl, tl)):
        if b.grad is None:  # p = 0 counts non-zeros: no gradient in either
            assert a.grad is None or not a.grad.numpy().any(), f"input {i}: torch gives no gradient"
            continue
        assert a.grad is not None, f"input {i}: nerve gives no gradient"
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), equal_nan=True,
                                   err_msg=f"grad of input {i}", **tol)


R = np.random.default_rng(11)


def _n(*s, scale=1.0):
    return R.standard_normal(s) * scale


def _u(*s, lo=0.05, hi=0.95):
    return R.uniform(lo, hi, size=s)


def _logp(*s):
    x = R.standard_normal(s)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _probs(*s):
    p = R.uniform(0.05, 1.0, size=s)
    return p / p.sum(-1, keepdims=True)


PLAIN = []  # ops without a reduction argument
LOSS = []   # run for 'none', 'mean' and 'sum'

# pairwise_distance: every p, ties at p = ±inf, equal rows with eps = 0 (gradient 0 there)
for p in (0.0, 1.0, 3.0, 0.5, -1.0, INF, -INF):
    PLAIN.append((f"pd-p{p}", "pairwise_distance", (G(_n(4, 3)), G(_n(4, 3))), dict(p=p)))
PLAIN += [
    ("pd-pinf-tie", "pairwise_distance", (G([[1.0, -1.0, 0.5]]), G([[0.0, 0.0, 0.0]])), dict(p=INF, eps=0.0)),
    ("pd-equal-p2-eps0", "pairwise_distance", (G([[1.0, 2.0]]), G([[1.0, 2.0]])), dict(eps=0.0)),
    ("pd-equal-p1-eps0", "pairwise_distance", (G([[1.0, 2.0]]), G([[1.0, 2.0]])), dict(p=1.0, eps=0.0)),
    ("pd-equal-p3-eps0", "pairwise_distance", (G([[1.0, 2.0]]), G([[1.0, 2.0]])), dict(p=3.0, eps=0.0)),
    ("pd-1d-keepdim", "pairwise_distance", (G(_n(3)), G(_n(3))), dict(keepdim=True)),
    ("pd-1d-vs-2d", "pairwise_distance", (G(_n(3)), G(_n(4, 3))), {}),
    ("pd-3d", "pairwise_distance", (G(_n(2, 4, 3)), G(_n(2, 4, 3))), dict(p=1.5)),
    ("pd-0d", "pairwise_distance", (G(np.float64(1.0)), G(np.float64(2.0))), {}),
    ("pd-empty", "pairwise_distance", (G(np.zeros((0, 3))), G(np.zeros((0, 3)))), {}),
    ("pd-no-features", "pairwise_distance", (G(np.zeros((2, 0))), G(np.zeros((2, 0)))), {}),
    # cosine_similarity
    ("cs-dim0", "cosine_similarity", (G(_n(3, 4)), G(_n(3, 4))), dict(dim=0)),
    ("cs-dim-neg", "cosine_similarity", (G(_n(2, 3, 4)), G(_n(2, 3, 4))), dict(dim=-2)),
    ("cs-both-zero", "cosine_similarity", (G(np.zeros((2, 3))), G(np.zeros((2, 3)))), {}),
    ("cs-bcast-1d", "cosine_similarity", (G(_n(4)), G(_n(3, 4))), dict(dim=-1)),
    ("cs-inf", "cosine_similarity", (G([[INF, 1.0]]), G([[1.0, 1.0]])), {}),
    ("cs-empty", "cosine_similarity", (G(np.zeros((0, 3))), G(np.zeros((0, 3)))), {}),
    ("cs-no-features", "cosine_similarity", (G(np.zeros((2, 0))), G(np.zeros((2, 0)))), {}),
    # normalize: every p, zero rows, ties at p = inf, eps above a row's norm
    ("nz-zero-rows", "normalize", (G([[0.0, 0.0], [3.0, 4.0]]),), {}),
    ("nz-zero-rows-p1", "normalize", (G([[0.0, 0.0], [3.0, -4.0]]),), dict(p=1.0)),
    ("nz-zero-rows-pinf", "normalize", (G([[0.0, 0.0], [3.0, -4.0]]),), dict(p=INF)),
    ("nz-pinf-tie", "normalize", (G([[2.0, -2.0, 1.0]]),), dict(p=INF)),
    ("nz-p0", "normalize", (G([[2.0, 0.0, 1.0]]),), dict(p=0)),
    ("nz-eps-wins", "normalize", (G([[1e-3, 2e-3], [3.0, 4.0]]),), dict(eps=0.1)),
    ("nz-dim0", "normalize", (G(_n(3, 4)),), dict(dim=0)),
    ("nz-1d", "normalize", (G(_n(4)),), dict(dim=0)),
    ("nz-dim-neg", "normalize", (G(_n(2, 3, 4)),), dict(dim=-1)),
    ("nz-empty", "normalize", (G(np.zeros((0, 3))),), {}),
]
for p in (1.0, 3.0, 0.5, -1.0, INF, -INF):
    PLAIN.append((f"nz-p{p}", "normalize", (G(_n(3, 4)),), dict(p=p)))

# activations at their kinks and at ±inf (fixed: the ELU family's slope at +inf was NaN, as
# was PReLU's weight gradient there, from inf·0 in the backward)
KINKS = [-INF, -30.0, -1.0, -0.5, 0.0, 0.5, 1.0, 6.0, 30.0, INF]
PLAIN += [
    ("elu-kinks", "elu", (G(KINKS),), {}),
    ("elu-alpha2-kinks", "elu", (G(KINKS),), dict(alpha=2.0)),
    ("selu-kinks", "selu", (G(KINKS),), {}),
    ("prelu-kinks", "prelu", (G([KINKS, KINKS[::-1]]), G([0.25])), {}),
    ("prelu-channels-inf", "prelu", (G([[[INF, -1.0], [2.0, -INF]]]), G([0.1, -0.3])), {}),
]

# kl_div (batchmean is added to the reductions below)
LOSS += [
    ("kl-0d", "kl_div", (G(np.float64(-0.5)), G(np.float64(0.3))), {}),
    ("kl-bcast-target", "kl_div", (G(_logp(3, 4)), G(_probs(1, 4))), {}),
    ("kl-3d", "kl_div", (G(_logp(2, 3, 4)), G(_probs(2, 3, 4))), {}),
    ("kl-lt-grad", "kl_div", (G(_logp(2, 3)), G(_logp(2, 3))), dict(log_target=True)),
    ("kl-inf-input", "kl_div", (G([[-INF, -0.1, -1.0]]), C([[0.0, 0.5, 0.5]])), {}),
    ("kl-lt-inf-both", "kl_div", (G([[-INF, -0.1, -1.0]]), C([[-INF, np.log(0.5), np.log(0.5)]])),
     dict(log_target=True)),
    # fixed: a negative target is no probability; torch's xlogy gives NaN, nerve gave a number
    ("kl-negative-target", "kl_div", (G(_logp(2, 3)), G([[-0.1, 0.5, 0.6], [0.2, 0.3, 0.5]])), {}),
]
# regression losses at beta ~ 0 and at infinities
LOSS += [
    ("sl1-beta-tiny", "smooth_l1_loss", (G(_n(5)), G(_n(5))), dict(beta=1e-30)),
    ("sl1-beta0-tie", "smooth_l1_loss", (G([1.0, 2.0]), G([1.0, 0.0])), dict(beta=0.0)),
    ("sl1-inf", "smooth_l1_loss", (G([INF, -INF, 1.0]), G([0.0, 0.0, INF])), {}),
    ("huber-inf", "huber_loss", (G([INF, -INF, 1.0]), G([0.0, 0.0, INF])), {}),
    ("huber-tie", "huber_loss", (G([1.0, 2.0]), G([1.0, 2.0])), dict(delta=0.5)),
]
# binary losses: target gradients (the earlier sweep held targets constant)
LOSS += [
    ("bce-target-grad", "binary_cross_entropy", (G(_u(3, 4)), G(_u(3, 4, lo=0, hi=1))), {}),
    ("bce-target-grad-weight", "binary_cross_entropy", (G(_u(3, 4)), G(_u(3, 4, lo=0, hi=1))),
     dict(weight=C(_u(4, lo=0.5, hi=2)))),
    ("bcel-target-grad", "binary_cross_entropy_with_logits", (G(_n(3, 4)), G(_u(3, 4, lo=0, hi=1))), {}),
    ("bcel-target-grad-pw", "binary_cross_entropy_with_logits", (G(_n(3, 4)), G(_u(3, 4, lo=0, hi=1))),
     dict(pos_weight=C(_u(4, lo=0.5, hi=3)), weight=C(_u(3, 1, lo=0.5, hi=2)))),
    ("bcel-extreme-target-grad-pw", "binary_cross_entropy_with_logits", (G([1e4, -1e4, 50.0]), G([0.3, 0.6, 0.5])),
     dict(pos_weight=C([2.0, 3.0, 0.5]))),
]
# margins and embeddings
LOSS += [
    ("mm-margin-neg", "multi_margin_loss", (G(_n(5, 4)), C(R.integers(0, 4, 5))), dict(margin=-0.5)),
    ("mm-margin0-p2", "multi_margin_loss", (G(_n(5, 4)), C(R.integers(0, 4, 5))), dict(margin=0.0, p=2)),
    ("mm-tie-p2", "multi_margin_loss", (G([[1.0, 0.0, 2.0]]), C(np.array([0]))), dict(p=2)),
    ("trip-swap-p2", "triplet_margin_loss", (G(_n(4, 3)), G(_n(4, 3)), G(_n(4, 3))), dict(swap=True)),
    ("trip-swap-pinf", "triplet_margin_loss", (G(_n(4, 3)), G(_n(4, 3)), G(_n(4, 3))), dict(swap=True, p=INF)),
    ("trip-equal-eps0", "triplet_margin_loss", (G([[1.0, 2.0]]), G([[1.0, 2.0]]), G([[3.0, 2.0]])), dict(eps=0.0)),
    ("cosemb-float-target", "cosine_embedding_loss", (G(_n(3, 4)), G(_n(3, 4)), C(np.array([1.0, -1.0, 1.0]))), {}),
    ("cosemb-both-zero", "cosine_embedding_loss", (G(np.zeros((2, 3))), G(np.zeros((2, 3))), C(np.array([1, -1]))),
     {}),
]

PARAMS = [(cid, name, args, kw) for cid, name, args, kw in PLAIN]
for cid, name, args, kw in LOSS:
    reds = ("none", "mean", "sum") + (("batchmean",) if name == "kl_div" else ())
    PARAMS += [(f"{cid}-{r}", name, args, dict(kw, reduction=r)) for r in reds]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("cid,name,args,kw", PARAMS, ids=[p[0] for p in PARAMS])
def test_matches_torch(cid, name, args, kw, dtype):
    _compare(name, args, kw, dtype)


# ---------------------------------------------------------------- errors torch raises too
X4 = np.array([0.2, 0.4, 0.6, 0.8])


@pytest.mark.parametrize("name,kw,word", [
    ("binary_cross_entropy", dict(weight=np.ones((3, 4))), "weight"),
    ("binary_cross_entropy_with_logits", dict(weight=np.ones((3, 4))), "weight"),
    ("binary_cross_entropy_with_logits", dict(pos_weight=np.ones((3, 4))), "pos_weight"),
    ("binary_cross_entropy_with_logits", dict(pos_weight=np.ones(3)), "pos_weight"),
])
def test_binary_weight_may_not_enlarge_the_loss(name, kw, word):
    # A (3, 4) weight against a (4,) input used to give a (3, 4) loss whose 'mean' divided
    # by 4, not 12 (three times too big); torch refuses, and so does nerve now.
    for reduction in ("none", "mean", "sum"):
        with pytest.raises(RuntimeError):
            getattr(TF, name)(torch.tensor(X4), torch.tensor(X4),
                              **{k: torch.tensor(v) for k, v in kw.items()}, reduction=reduction)
        with pytest.raises(ValueError, match=rf"{word} of shape .* must broadcast to the input's shape \(4,\)"):
            getattr(NF, name)(nv.tensor(X4), nv.tensor(X4), **{k: nv.tensor(v) for k, v in kw.items()},
                              reduction=reduction)


@pytest.mark.parametrize("target,where,msg", [
    ([1.5, 0.5, 0.3, 0.0], "target", r"target must hold probabilities in \[0, 1\], got values in \[0, 1.5\]"),
    ([-0.5, 0.5, 0.3, 1.0], "target", r"target must hold probabilities .* got values in \[-0.5, 1\]"),
    ([np.nan, 0.5, 0.3, 1.0], "target", "target must hold probabilities in .* got NaN"),
    ([1.0, 0.5, 0.3, 1.0], "input", "input must hold probabilities in .* got NaN"),
])
def test_binary_cross_entropy_checks_its_ranges(target, where, msg):
    # torch raises on a target outside [0, 1] (and on a NaN input); nerve returned a loss
    # (negative or NaN) without a word.
    x = X4.astype(np.float32)
    if where == "input":
        x = x.copy()
        x[1] = np.nan
    t = np.asarray(target, np.float32)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        TF.binary_cross_entropy(torch.tensor(x), torch.tensor(t))
    with pytest.raises(ValueError, match=msg):
        NF.binary_cross_entropy(nv.tensor(x), nv.tensor(t))


def test_binary_cross_entropy_accepts_the_range_ends():
    x, t = np.array([0.0, 1.0, 0.5]), np.array([0.0, 1.0, 1.0])
    np.testing.assert_allclose(NF.binary_cross_entropy(nv.tensor(x), nv.tensor(t)).item(),
                               TF.binary_cross_entropy(torch.tensor(x), torch.tensor(t)).item(), rtol=1e-12)


@pytest.mark.parametrize("num_classes,exc,msg", [
    (-2, ValueError, "num_classes must be -1 .* or at least 0, got -2"),
    (3.0, TypeError, "num_classes must be an int, got 3.0"),
    (None, TypeError, "num_classes must be an int, got None"),
    (True, TypeError, "num_classes must be an int, got True"),
    (0, ValueError, r"index 1 is out of range for num_classes=0 \(valid: none\)"),
])
def test_one_hot_num_classes(num_classes, exc, msg):
    # these used to fail with Python's own messages or "valid: 0..-3"
    with pytest.raises(exc, match=msg):
        NF.one_hot(nv.tensor([0, 1]), num_classes)


def test_one_hot_matches_torch():
    idx = np.array([[0, 3], [2, 2]])
    for nc in (-1, 4, 6, np.int64(5)):
        np.testing.assert_array_equal(NF.one_hot(nv.tensor(idx), nc).numpy(),
                                      TF.one_hot(torch.tensor(idx), int(nc)).numpy())
    np.testing.assert_array_equal(NF.one_hot(nv.tensor(np.int64(2))).numpy(), [0, 0, 1])
    assert NF.one_hot(nv.tensor(np.zeros((0, 2), np.int64)), 4).shape == (0, 2, 4)


@pytest.mark.parametrize("name,kw", [("elu", {}), ("elu", dict(alpha=2.0)), ("selu", {})])
def test_elu_second_derivative_matches_torch(name, kw):
    # (not at exactly 0: there nerve takes the left branch for both derivatives, torch the
    # left for the first and the right, 0, for the second)
    x = np.array([-30.0, -2.0, -0.5, -1e-9, 1e-9, 0.5, 3.0, 40.0])
    xn = nv.tensor(x, requires_grad=True)
    g = nv.autograd.grad(getattr(NF, name)(xn, **kw).sum(), xn, create_graph=True)[0]
    (g * g).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    gt = torch.autograd.grad(getattr(TF, name)(xt, **kw).sum(), xt, create_graph=True)[0]
    (gt * gt).sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
