"""Op-table rows for the embedding losses (pairwise_distance, contrastive, triplet, cosine
embedding) in nerve.functional.loss.

Inputs are drawn until every hinge sits at least 0.05 away from its kink (and, with
``swap``, the two negative distances are not tied), so finite differences stay valid.
Labels take no gradient.
"""
import numpy as np
import torch_twin as T

import nerve.functional as F
from optable import Op

VEC = [((4, 3), (4, 3)), ((5,), (5,)), ((1, 6), (1, 6))]
TRI = [((4, 3),) * 3, ((5,),) * 3]
LAB = [((4, 3), (4, 3), (4,)), ((5,), (5,), ())]


def _red(l, reduction):
    if reduction == "none":
        return l
    return np.sum(l) if reduction == "sum" else np.mean(l)


def _dist(a, b, p=2.0, eps=1e-6):
    return (np.abs(a - b + eps) ** p).sum(-1) ** (1.0 / p)


# ------------------------------------------------------------------ input makers
def _pair(r, s, d):
    return [r.standard_normal(s[0]).astype(d), r.standard_normal(s[1]).astype(d)]


def _triplet(p=2.0, margin=1.0, swap=False):
    def make(r, s, d):
        for _ in range(200):
            a, pos, neg = (r.standard_normal(x) for x in s)
            dn, ds = _dist(a, neg, p), _dist(pos, neg, p)
            z = _dist(a, pos, p) - (np.minimum(dn, ds) if swap else dn) + margin
            if np.all(np.abs(z) > 0.05) and (not swap or np.all(np.abs(dn - ds) > 0.05)):
                return [a.astype(d), pos.astype(d), neg.astype(d)]
        raise RuntimeError("no kink-free triplet found")
    return make


def _contrastive(margin=1.0):
    def make(r, s, d):
        for _ in range(200):
            a, b = r.standard_normal(s[0]), r.standard_normal(s[1]) * 0.5
            y = r.integers(0, 2, size=s[2]).astype(d)
            if np.all(np.abs(_dist(a, b) - margin) > 0.05):
                return [a.astype(d), b.astype(d), y]
        raise RuntimeError("no kink-free pair found")
    return make


def _cosine(margin=0.0):
    def make(r, s, d):
        for _ in range(200):
            a, b = r.standard_normal(s[0]), r.standard_normal(s[1])
            y = r.choice([-1, 1], size=s[2]).astype(np.int64)
            cos = (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
            if np.all(np.abs(cos - margin) > 0.05):
                return [a.astype(d), b.astype(d), y]
        raise RuntimeError("no kink-free pair found")
    return make


# ------------------------------------------------------------------ references
def _contrastive_ref(a, b, y, margin=1.0, reduction="mean"):
    dist = _dist(a, b)
    loss = 0.5 * (y * dist ** 2 + (1 - y) * np.maximum(0, margin - dist) ** 2)
    return _red(loss.astype(a.dtype), reduction)


def _triplet_ref(a, pos, neg, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction="mean"):
    dn = _dist(a, neg, p, eps)
    if swap:
        dn = np.minimum(dn, _dist(pos, neg, p, eps))
    return _red(np.maximum(_dist(a, pos, p, eps) - dn + margin, 0).astype(a.dtype), reduction)


def _cosine_ref(a, b, y, margin=0.0, reduction="mean"):
    cos = (a * b).sum(-1) / np.sqrt(((a * a).sum(-1) + 1e-12) * ((b * b).sum(-1) + 1e-12))
    loss = np.where(y == 1, 1 - cos, np.maximum(0, cos - margin))
    return _red(np.asarray(loss, dtype=a.dtype), reduction)


def _contrastive_torch(margin=1.0, reduction="mean"):
    """Hadsell's loss written with torch ops (torch has no contrastive loss of its own)."""
    def call(a, b, y):
        t = T.torch()
        dist = t.nn.functional.pairwise_distance(a, b)
        loss = 0.5 * (y * dist ** 2 + (1 - y) * t.clamp(margin - dist, min=0) ** 2)
        return loss if reduction == "none" else (loss.sum() if reduction == "sum" else loss.mean())
    return call


ROWS = [
    Op("pairwise_distance", F.pairwise_distance, _dist, VEC, make=_pair,
       torch=T.nnf("pairwise_distance")),
    Op("pairwise_distance_p1_keepdim", lambda a, b: F.pairwise_distance(a, b, p=1, keepdim=True),
       lambda a, b: _dist(a, b, 1.0)[..., None], VEC[:1], make=_pair, double=False,
       torch=T.nnf("pairwise_distance", p=1, keepdim=True)),
    Op("pairwise_distance_p3_eps", lambda a, b: F.pairwise_distance(a, b, p=3, eps=1e-3),
       lambda a, b: _dist(a, b, 3.0, 1e-3), VEC, make=_pair,
       torch=T.nnf("pairwise_distance", p=3, eps=1e-3)),
]
for red in ("mean", "sum", "none"):
    ROWS += [
        Op(f"triplet_margin_loss_{red}",
           lambda a, p, n, red=red: F.triplet_margin_loss(a, p, n, reduction=red),
           lambda a, p, n, red=red: _triplet_ref(a, p, n, reduction=red), TRI, make=_triplet(),
           torch=T.nnf("triplet_margin_loss", reduction=red)),
        Op(f"contrastive_loss_{red}",
           lambda a, b, y, red=red: F.contrastive_loss(a, b, y, reduction=red),
           lambda a, b, y, red=red: _contrastive_ref(a, b, y, reduction=red), LAB,
           make=_contrastive(), grad=(True, True, False), torch=_contrastive_torch(reduction=red)),
        Op(f"cosine_embedding_loss_{red}",
           lambda a, b, y, red=red: F.cosine_embedding_loss(a, b, y, reduction=red),
           lambda a, b, y, red=red: _cosine_ref(a, b, y, reduction=red), LAB, make=_cosine(),
           grad=(True, True, False), torch=T.nnf("cosine_embedding_loss", reduction=red)),
    ]
ROWS += [
    Op("triplet_margin_loss_swap_p1_margin", lambda a, p, n: F.triplet_margin_loss(
        a, p, n, margin=0.5, p=1, eps=1e-4, swap=True),
       lambda a, p, n: _triplet_ref(a, p, n, 0.5, 1.0, 1e-4, True), TRI,
       make=_triplet(1.0, 0.5, True), double=False,
       torch=T.nnf("triplet_margin_loss", margin=0.5, p=1, eps=1e-4, swap=True)),
    Op("triplet_margin_loss_swap_p3_none", lambda a, p, n: F.triplet_margin_loss(
        a, p, n, margin=2.0, p=3, swap=True, reduction="none"),
       lambda a, p, n: _triplet_ref(a, p, n, 2.0, 3.0, 1e-6, True, "none"), TRI,
       make=_triplet(3.0, 2.0, True),
       torch=T.nnf("triplet_margin_loss", margin=2.0, p=3, swap=True, reduction="none")),
    Op("contrastive_loss_margin2_sum", lambda a, b, y: F.contrastive_loss(a, b, y, margin=2.0,
                                                                          reduction="sum"),
       lambda a, b, y: _contrastive_ref(a, b, y, 2.0, "sum"), LAB, make=_contrastive(2.0),
       grad=(True, True, False), torch=_contrastive_torch(2.0, "sum")),
    Op("cosine_embedding_loss_margin", lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=0.3),
       lambda a, b, y: _cosine_ref(a, b, y, 0.3), LAB, make=_cosine(0.3), grad=(True, True, False),
       torch=T.nnf("cosine_embedding_loss", margin=0.3)),
]
