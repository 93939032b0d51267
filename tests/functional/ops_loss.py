"""Op-table rows for the losses (nerve.functional.loss).

Targets are generated in ``make``; class indices and weights take no gradient
(``grad=(True, False, ...)``). Regression and binary losses also check the target's
gradient, which PyTorch provides too.
"""
import warnings

import numpy as np
import torch_twin as T

import nerve.functional as F
from optable import Op

PAIR = [((5,), (5,)), ((3, 4), (3, 4)), ((2, 3, 4), (2, 3, 4)), ((), ())]
CLS = [((4, 5), (4,)), ((3, 4, 2, 2), (3, 2, 2)), ((5,), ()), ((2, 3, 5), (2, 5))]


# ----------------------------------------------------------------- input makers
def _pair_away(*gaps):
    """(prediction, target) with |prediction - target| kept 0.05 away from each gap value."""
    def make(r, s, d):
        x = r.standard_normal(s[0]) * 1.5
        diff = r.standard_normal(s[1]) * 1.5
        for g in gaps:
            for sign in (1, -1):
                diff = np.where(np.abs(diff - sign * g) < 0.05, sign * g + 0.1 * np.sign(diff + 1e-9), diff)
        return [x.astype(d), (x - diff).astype(d)]
    return make


def _cls(ignore=False, weight=False, probs=False, smooth_probs=False):
    def make(r, s, d):
        x = r.standard_normal(s[0]) * 2
        C = s[0][1] if len(s[0]) >= 2 else s[0][0]
        if probs:
            t = r.uniform(0.05, 1, size=s[0])
            t = t / t.sum(axis=1 if len(s[0]) >= 2 else 0, keepdims=True)
            out = [x.astype(d), t.astype(d)]
        else:
            t = r.integers(0, C, size=s[1])
            if ignore and t.size > 1:
                t.reshape(-1)[1::3] = -100
            out = [x.astype(d), np.asarray(t, dtype=np.int64)]
        if weight:
            out.append(r.uniform(0.2, 2.0, size=C).astype(d))
        return out
    return make


def _logp(r, s, d):
    x = r.standard_normal(s[0])
    ax = 1 if x.ndim >= 2 else 0
    x = x - np.log(np.exp(x).sum(axis=ax, keepdims=True))
    C = s[0][1] if len(s[0]) >= 2 else s[0][0]
    return [x.astype(d), np.asarray(r.integers(0, C, size=s[1]), dtype=np.int64)]


def _probs(weight=None):
    def make(r, s, d):
        out = [r.uniform(0.05, 0.95, size=s[0]).astype(d), r.uniform(0, 1, size=s[1]).astype(d)]
        if weight == "full":
            out.append(r.uniform(0.5, 2, size=s[0]).astype(d))
        elif weight == "last":
            out.append(r.uniform(0.5, 2, size=s[0][-1:]).astype(d))
        return out
    return make


def _logits(extra=None):
    def make(r, s, d):
        out = [(r.standard_normal(s[0]) * 2).astype(d), r.uniform(0, 1, size=s[1]).astype(d)]
        if extra == "weight":
            out.append(r.uniform(0.5, 2, size=s[0]).astype(d))
        elif extra == "pos_weight":
            out.append(r.uniform(0.5, 3, size=s[0][-1:]).astype(d))
        return out
    return make


def _kl(log_target=False):
    def make(r, s, d):
        q = r.standard_normal(s[0])
        q = q - np.log(np.exp(q).sum(axis=-1, keepdims=True))
        p = r.uniform(0.05, 1, size=s[1])
        p = p / p.sum(axis=-1, keepdims=True)
        return [q.astype(d), (np.log(p) if log_target else p).astype(d)]
    return make


def _quiet(fn):
    """Silence torch's warning that kl_div's 'mean' is not 'batchmean' (we test both)."""
    def call(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(*args)
    return call


# ------------------------------------------------------------------ references
def _red(l, reduction, denom=None):
    if reduction == "none":
        return l
    if reduction == "sum":
        return np.sum(l)
    return np.sum(l) / (l.size if denom is None else denom)


def _ce_ref(x, t, w=None, ignore=-100, reduction="mean", eps=0.0):
    """PyTorch's cross-entropy semantics, written out in NumPy on (M, C)."""
    tshape = np.shape(t)
    if x.ndim == 1:
        x, t = x[None], np.asarray(t).reshape(1)
    C = x.shape[1]
    x2 = np.moveaxis(x, 1, -1).reshape(-1, C)
    t2 = t.reshape(-1)
    z = x2 - x2.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    valid = t2 != ignore
    ts = np.where(valid, t2, 0)
    wv = np.ones(C, x.dtype) if w is None else w
    wt = wv[ts] * valid
    nll = -logp[np.arange(len(ts)), ts] * wt
    smooth = -(logp * wv).sum(1) * valid
    loss = (1 - eps) * nll + eps / C * smooth
    shape = tshape if reduction == "none" else None
    out = _red(loss, reduction, wt.sum())
    return out.reshape(shape) if shape is not None else out


def _ce_probs_ref(x, t, w=None, reduction="mean", eps=0.0):
    ax = 1 if x.ndim >= 2 else 0
    C = x.shape[ax]
    z = x - x.max(ax, keepdims=True)
    logp = z - np.log(np.exp(z).sum(ax, keepdims=True))
    t = t * (1 - eps) + eps / C
    prod = logp * t
    if w is not None:
        prod = prod * w.reshape((C,) + (1,) * (x.ndim - ax - 1))
    if reduction == "none":
        return -prod.sum(ax)
    return -prod.sum() / (1 if reduction == "sum" else x.size // C)


def _nll_ref(x, t, reduction="mean"):
    if x.ndim == 1:
        return -x[t]
    x2 = np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])
    l = -x2[np.arange(t.size), t.reshape(-1)]
    return _red(l, reduction) if reduction != "none" else l.reshape(t.shape)


def _bce_ref(x, t, w=None, reduction="mean"):
    l = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log1p(-x), -100))
    return _red(l if w is None else l * w, reduction)


def _bcel_ref(x, t, w=None, pw=None, reduction="mean"):
    lsig = -np.logaddexp(0, -x)          # log σ(x)
    lsig_neg = -np.logaddexp(0, x)       # log(1 - σ(x))
    l = -((1 if pw is None else pw) * t * lsig + (1 - t) * lsig_neg)
    return _red(l if w is None else l * w, reduction)


def _kl_ref(q, p, reduction="mean", log_target=False):
    l = np.exp(p) * (p - q) if log_target else p * (np.log(p) - q)
    if reduction == "batchmean":
        return l.sum() / q.shape[0]
    return _red(l, reduction)


def _sl1(d, beta):
    a = np.abs(d)
    return np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)


def _huber(d, delta):
    a = np.abs(d)
    return np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


ROWS = [
    # regression
    Op("mse_loss", F.mse_loss, lambda a, b: np.mean((a - b) ** 2), PAIR, torch=T.nnf("mse_loss")),
    Op("mse_loss_sum", lambda a, b: F.mse_loss(a, b, reduction="sum"), lambda a, b: np.sum((a - b) ** 2),
       PAIR, torch=T.nnf("mse_loss", reduction="sum")),
    Op("mse_loss_none", lambda a, b: F.mse_loss(a, b, reduction="none"), lambda a, b: (a - b) ** 2,
       PAIR, torch=T.nnf("mse_loss", reduction="none")),
    Op("l1_loss", F.l1_loss, lambda a, b: np.mean(np.abs(a - b)), PAIR, make=_pair_away(0.0),
       torch=T.nnf("l1_loss")),
    Op("l1_loss_none", lambda a, b: F.l1_loss(a, b, reduction="none"), lambda a, b: np.abs(a - b), PAIR,
       make=_pair_away(0.0), torch=T.nnf("l1_loss", reduction="none")),
    Op("smooth_l1_loss", F.smooth_l1_loss, lambda a, b: np.mean(_sl1(a - b, 1.0)), PAIR,
       make=_pair_away(0.0, 1.0), torch=T.nnf("smooth_l1_loss")),
    Op("smooth_l1_beta", lambda a, b: F.smooth_l1_loss(a, b, reduction="sum", beta=0.5),
       lambda a, b: np.sum(_sl1(a - b, 0.5)), PAIR, make=_pair_away(0.0, 0.5),
       torch=T.nnf("smooth_l1_loss", reduction="sum", beta=0.5)),
    Op("huber_loss", F.huber_loss, lambda a, b: np.mean(_huber(a - b, 1.0)), PAIR,
       make=_pair_away(0.0, 1.0), torch=T.nnf("huber_loss")),
    Op("huber_delta_none", lambda a, b: F.huber_loss(a, b, reduction="none", delta=2.0),
       lambda a, b: _huber(a - b, 2.0), PAIR, make=_pair_away(0.0, 2.0),
       torch=T.nnf("huber_loss", reduction="none", delta=2.0)),
    # classification on indices
    Op("cross_entropy", F.cross_entropy, _ce_ref, CLS, make=_cls(), grad=(True, False),
       torch=T.nnf("cross_entropy")),
    Op("cross_entropy_sum", lambda x, t: F.cross_entropy(x, t, reduction="sum"),
       lambda x, t: _ce_ref(x, t, reduction="sum"), CLS, make=_cls(), grad=(True, False),
       torch=T.nnf("cross_entropy", reduction="sum")),
    Op("cross_entropy_none", lambda x, t: F.cross_entropy(x, t, reduction="none"),
       lambda x, t: _ce_ref(x, t, reduction="none"), CLS, make=_cls(), grad=(True, False),
       torch=T.nnf("cross_entropy", reduction="none")),
    Op("cross_entropy_weight", lambda x, t, w: F.cross_entropy(x, t, w), _ce_ref, CLS,
       make=_cls(weight=True), grad=(True, False, False), torch=T.nnf("cross_entropy")),
    Op("cross_entropy_ignore", lambda x, t: F.cross_entropy(x, t, ignore_index=-100),
       _ce_ref, CLS[:2] + CLS[3:], make=_cls(ignore=True), grad=(True, False),
       torch=T.nnf("cross_entropy", ignore_index=-100)),
    Op("cross_entropy_ignore_class", lambda x, t: F.cross_entropy(x, t, ignore_index=2),
       lambda x, t: _ce_ref(x, t, ignore=2), CLS, make=_cls(), grad=(True, False),
       torch=T.nnf("cross_entropy", ignore_index=2)),
    Op("cross_entropy_smooth", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
       lambda x, t: _ce_ref(x, t, eps=0.1), CLS, make=_cls(), grad=(True, False),
       torch=T.nnf("cross_entropy", label_smoothing=0.1)),
    Op("cross_entropy_all_options",
       lambda x, t, w: F.cross_entropy(x, t, w, ignore_index=-100, label_smoothing=0.2),
       lambda x, t, w: _ce_ref(x, t, w, eps=0.2), CLS[:2] + CLS[3:], make=_cls(ignore=True, weight=True),
       grad=(True, False, False), torch=T.nnf("cross_entropy", ignore_index=-100, label_smoothing=0.2)),
    Op("cross_entropy_all_options_none",
       lambda x, t, w: F.cross_entropy(x, t, w, reduction="none", label_smoothing=0.2),
       lambda x, t, w: _ce_ref(x, t, w, reduction="none", eps=0.2), CLS[:2] + CLS[3:],
       make=_cls(ignore=True, weight=True), grad=(True, False, False),
       torch=T.nnf("cross_entropy", reduction="none", label_smoothing=0.2)),
    Op("cross_entropy_probs", F.cross_entropy, _ce_probs_ref,
       [((4, 5), (4, 5)), ((3, 4, 2, 2), (3, 4, 2, 2)), ((5,), (5,))], make=_cls(probs=True),
       torch=T.nnf("cross_entropy")),
    Op("cross_entropy_probs_options",
       lambda x, t, w: F.cross_entropy(x, t, w, reduction="sum", label_smoothing=0.3),
       lambda x, t, w: _ce_probs_ref(x, t, w, reduction="sum", eps=0.3),
       [((4, 5), (4, 5)), ((3, 5, 2), (3, 5, 2))], make=_cls(probs=True, weight=True),
       grad=(True, True, False), torch=T.nnf("cross_entropy", reduction="sum", label_smoothing=0.3)),
    Op("nll_loss", F.nll_loss, _nll_ref, CLS, make=_logp, grad=(True, False), torch=T.nnf("nll_loss")),
    Op("nll_loss_none", lambda x, t: F.nll_loss(x, t, reduction="none"),
       lambda x, t: _nll_ref(x, t, "none"), CLS, make=_logp, grad=(True, False),
       torch=T.nnf("nll_loss", reduction="none")),
    # binary
    Op("binary_cross_entropy", F.binary_cross_entropy, _bce_ref, PAIR, make=_probs(),
       torch=T.nnf("binary_cross_entropy")),
    Op("binary_cross_entropy_weight_sum",
       lambda x, t, w: F.binary_cross_entropy(x, t, w, reduction="sum"),
       lambda x, t, w: _bce_ref(x, t, w, "sum"), PAIR[:3], make=_probs("full"), grad=(True, True, False),
       torch=T.nnf("binary_cross_entropy", reduction="sum")),
    Op("binary_cross_entropy_none_bcast_weight",
       lambda x, t, w: F.binary_cross_entropy(x, t, w, reduction="none"),
       lambda x, t, w: _bce_ref(x, t, w, "none"), PAIR[:3], make=_probs("last"), grad=(True, True, False),
       torch=T.nnf("binary_cross_entropy", reduction="none")),
    Op("bce_with_logits", F.binary_cross_entropy_with_logits, _bcel_ref, PAIR, make=_logits(),
       torch=T.nnf("binary_cross_entropy_with_logits")),
    Op("bce_with_logits_weight_none",
       lambda x, t, w: F.binary_cross_entropy_with_logits(x, t, w, reduction="none"),
       lambda x, t, w: _bcel_ref(x, t, w, reduction="none"), PAIR, make=_logits("weight"),
       grad=(True, True, False), torch=T.nnf("binary_cross_entropy_with_logits", reduction="none")),
    Op("bce_with_logits_pos_weight",
       lambda x, t, pw: F.binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction="sum"),
       lambda x, t, pw: _bcel_ref(x, t, pw=pw, reduction="sum"), PAIR[:3], make=_logits("pos_weight"),
       grad=(True, True, False),
       torch=lambda x, t, pw: T.torch().nn.functional.binary_cross_entropy_with_logits(
           x, t, pos_weight=pw, reduction="sum")),
    Op("one_hot", lambda t: F.one_hot(t, 5), lambda t: np.eye(5, dtype=np.int64)[t], [((4,),), ((2, 3),)],
       make=lambda r, s, d: [r.integers(0, 5, size=s[0])], torch=lambda t: T.nnf("one_hot")(t, 5)),
    # distributions
    Op("kl_div_batchmean", lambda q, p: F.kl_div(q, p, reduction="batchmean"),
       lambda q, p: _kl_ref(q, p, "batchmean"), [((4, 5), (4, 5)), ((2, 3, 4), (2, 3, 4))], make=_kl(),
       torch=T.nnf("kl_div", reduction="batchmean")),
    Op("kl_div_mean", lambda q, p: F.kl_div(q, p), lambda q, p: _kl_ref(q, p), [((4, 5), (4, 5))],
       make=_kl(), torch=_quiet(T.nnf("kl_div", reduction="mean"))),
    Op("kl_div_sum_log_target", lambda q, p: F.kl_div(q, p, reduction="sum", log_target=True),
       lambda q, p: _kl_ref(q, p, "sum", True), [((4, 5), (4, 5)), ((3,), (3,))], make=_kl(True),
       torch=T.nnf("kl_div", reduction="sum", log_target=True)),
    Op("kl_div_none", lambda q, p: F.kl_div(q, p, reduction="none"), lambda q, p: _kl_ref(q, p, "none"),
       [((4, 5), (4, 5))], make=_kl(), torch=T.nnf("kl_div", reduction="none")),
]


# ---------------------------------------------------------------- margin losses
def _margin_pair(squared=False):
    """Scores s and labels y ∈ {−1, +1} with y·s kept 0.05 away from the kink at 1."""
    def make(r, s, d):
        y = r.choice([-1.0, 1.0], size=s[1])
        m = r.standard_normal(s[0]) * 1.5 + 0.5
        m = np.where(np.abs(m - 1) < 0.05, 1 + 0.1 * np.sign(m - 1 + 1e-9), m)
        return [(m * y).astype(d), y.astype(d)]
    return make


def _hinge_ref(s, y, reduction="mean", power=1):
    return _red(np.maximum(0, 1 - y * s) ** power, reduction)


def _mm_make(weight=False):
    def make(r, s, d):
        x = r.standard_normal(s[0])
        C = s[0][-1]
        t = np.asarray(r.integers(0, C, size=s[1]), dtype=np.int64)
        # keep every margin term margin − x_y + x_i off its kink at 0
        xy = np.take_along_axis(x.reshape(-1, C), t.reshape(-1, 1), 1)
        z = 1.0 - xy + x.reshape(-1, C)
        x = np.where(np.abs(z) < 0.05, x + 0.1, x.reshape(-1, C)).reshape(s[0])
        out = [x.astype(d), t]
        if weight:
            out.append(r.uniform(0.5, 2.0, size=C).astype(d))
        return out
    return make


def _mm_ref(x, t, w=None, p=1, margin=1.0, reduction="mean"):
    x2 = x.reshape(-1, x.shape[-1])
    t2 = np.asarray(t).reshape(-1)
    N, C = x2.shape
    xy = x2[np.arange(N), t2][:, None]
    h = np.maximum(0, margin - xy + x2) ** p
    h[np.arange(N), t2] = 0
    if w is not None:
        h = h * w[t2][:, None]
    loss = h.sum(1) / C
    if reduction == "none":
        return loss if x.ndim == 2 else loss.reshape(())
    return _red(loss, reduction)


def _mlm_make(r, s, d):
    x = r.standard_normal(s[0])
    C = s[0][-1]
    rows = []
    for _ in range(int(np.prod(s[0][:-1])) if len(s[0]) > 1 else 1):
        k = int(r.integers(0, C + 1))
        lab = list(r.permutation(C)[:k]) + [-1] * (C - k)
        rows.append(lab)
    t = np.asarray(rows, dtype=np.int64).reshape(s[0])
    # nudge scores so no pair difference sits on the kink x_j − x_i = 1
    x = x + np.arange(C) * 0.013
    return [x.astype(d), t]


def _mlm_ref(x, t, reduction="mean"):
    x2, t2 = x.reshape(-1, x.shape[-1]), t.reshape(-1, x.shape[-1])
    N, C = x2.shape
    out = np.zeros(N)
    for n in range(N):
        J = []
        for v in t2[n]:
            if v < 0:
                break
            J.append(v)
        notJ = [i for i in range(C) if i not in J]
        out[n] = sum(max(0.0, 1 - (x2[n, j] - x2[n, i])) for j in J for i in notJ) / C
    out = out.astype(x.dtype)
    if reduction == "none":
        return out if x.ndim == 2 else out.reshape(())
    return _red(out, reduction)


def _torch_hinge(power=1, reduction="mean"):
    def call(s, y):
        h = T.torch().clamp(1 - y * s, min=0) ** power
        return h.mean() if reduction == "mean" else (h.sum() if reduction == "sum" else h)
    return call


MM = [((4, 5), (4,)), ((6,), ()), ((1, 3), (1,))]
ROWS += [
    Op("hinge_loss", F.hinge_loss, _hinge_ref, PAIR[:3], make=_margin_pair(), double=False,
       grad=(True, False), torch=_torch_hinge()),
    Op("hinge_loss_none", lambda s, y: F.hinge_loss(s, y, reduction="none"),
       lambda s, y: _hinge_ref(s, y, "none"), PAIR[:3], make=_margin_pair(), double=False,
       grad=(True, False), torch=_torch_hinge(1, "none")),
    Op("squared_hinge_loss_sum", lambda s, y: F.squared_hinge_loss(s, y, reduction="sum"),
       lambda s, y: _hinge_ref(s, y, "sum", 2), PAIR[:3], make=_margin_pair(),
       grad=(True, False), torch=_torch_hinge(2, "sum")),
    Op("multi_margin_loss", F.multi_margin_loss, _mm_ref, MM, make=_mm_make(), double=False,
       grad=(True, False), torch=T.nnf("multi_margin_loss")),
    Op("multi_margin_loss_p2_weight_none",
       lambda x, t, w: F.multi_margin_loss(x, t, p=2, margin=0.5, weight=w, reduction="none"),
       lambda x, t, w: _mm_ref(x, t, w, p=2, margin=0.5, reduction="none"), MM[:1] + MM[2:],
       make=_mm_make(weight=True), grad=(True, False, False),
       torch=lambda x, t, w: T.torch().nn.functional.multi_margin_loss(
           x, t, p=2, margin=0.5, weight=w, reduction="none")),
    Op("multilabel_margin_loss", F.multilabel_margin_loss, _mlm_ref,
       [((4, 5), (4, 5)), ((6,), (6,))], make=_mlm_make, double=False, grad=(True, False),
       torch=T.nnf("multilabel_margin_loss")),
    Op("multilabel_margin_loss_none", lambda x, t: F.multilabel_margin_loss(x, t, reduction="none"),
       lambda x, t: _mlm_ref(x, t, "none"), [((5, 4), (5, 4))], make=_mlm_make, double=False,
       grad=(True, False), torch=T.nnf("multilabel_margin_loss", reduction="none")),
]
