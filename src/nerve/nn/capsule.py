"""Capsule layers (Sabour, Frosst & Hinton 2017): vectors whose length is a probability.

A capsule outputs a vector: its direction encodes the pose of an entity and its length,
kept in [0, 1) by :func:`squash`, the probability that the entity is present.

* :class:`PrimaryCaps`: a convolution whose channels are cut into capsule vectors;
* :func:`dynamic_routing` (the paper's Procedure 1): each child capsule i sends its
  prediction û_{j|i} to parent j with coupling c_ij = softmax_j(b_ij), and b_ij grows with
  the agreement û_{j|i} · v_j, so children route to the parents that their predictions
  agree with;
* :class:`DigitCaps`: predictions û_{j|i} = W_ij u_i, then routing;
* :func:`margin_loss`: a per-class hinge on capsule lengths.

Everything here is composed from differentiable ops (``einsum``, ``softmax``, elementwise),
so gradients flow through every routing iteration. The routing sums are ``einsum`` calls, so
the (N, children, parents, d) products are never materialised.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.tensor import Tensor, _wrap
from . import functional as F
from . import init
from .conv import Conv2d
from .module import Module
from .parameter import Parameter

__all__ = ["squash", "dynamic_routing", "margin_loss", "PrimaryCaps", "DigitCaps", "MarginLoss"]


def squash(s, dim=-1):
    """Shrink each vector along ``dim`` to length n²/(1 + n²) (n its length), keeping its direction.

        squash(s) = (‖s‖² / (1 + ‖s‖²)) · s / ‖s‖

    Short vectors go to almost 0 and long ones to just under 1. The zero vector maps to zero
    (its norm is replaced by 1 in the division, where the numerator is 0 anyway), so the
    formula is exact everywhere and the gradient finite.

    Example:
        >>> import nerve as nv
        >>> from nerve import nn
        >>> v = nn.squash(nv.tensor([[3.0, 4.0], [0.0, 0.0]], dtype=nv.float64))
        >>> v.tolist()                                  # length 5 → 25/26, direction (0.6, 0.8)
        [[0.576923076923077, 0.7692307692307693], [0.0, 0.0]]
    """
    sq = (s * s).sum(dim, keepdim=True)
    norm = F.sqrt(F.where(sq.data > 0, sq, 1.0))
    return s * (sq / ((sq + 1.0) * norm))


def dynamic_routing(u_hat, iters=3, return_couplings=False):
    """Routing by agreement (Sabour et al. 2017, Procedure 1).

    For predictions ``u_hat[n, i, j]`` = û_{j|i} of child i for parent j::

        b_ij ← 0
        repeat iters times:
            c_i  ← softmax_j(b_i)              (each child's couplings sum to 1 over parents)
            s_j  ← Σ_i c_ij û_{j|i}
            v_j  ← squash(s_j)
            b_ij ← b_ij + û_{j|i} · v_j

    Args:
        u_hat: (N, n_children, n_parents, d) predictions.
        iters: routing iterations r (3 in the paper); 1 means plain uniform averaging.
        return_couplings: also return the couplings c (N, n_children, n_parents) that produced
            the final v.

    Returns:
        v (N, n_parents, d), or ``(v, c)``.

    Example:
        >>> import nerve as nv
        >>> from nerve import nn
        >>> v, c = nn.dynamic_routing(nv.randn(2, 6, 3, 4), iters=3, return_couplings=True)
        >>> v.shape, c.shape, bool(abs(c.sum(-1).numpy() - 1).max() < 1e-6)
        ((2, 3, 4), (2, 6, 3), True)
    """
    if u_hat.ndim != 4:
        raise ValueError(f"dynamic_routing: u_hat must be (N, n_children, n_parents, d), got shape "
                         f"{tuple(u_hat.shape)}")
    if int(iters) < 1:
        raise ValueError(f"dynamic_routing: iters must be at least 1, got {iters!r}")
    N, n_in, n_out, _ = u_hat.shape
    b = _wrap(np.zeros((N, n_in, n_out), dtype=u_hat.dtype))
    for r in range(int(iters)):
        c = F.softmax(b, dim=2)                                  # (N, n_in, n_out)
        s = F.einsum("nij,nijd->njd", c, u_hat)                  # Σ_i c_ij û_j|i  (N, n_out, d)
        v = squash(s)
        if r < int(iters) - 1:                                   # the last update is unused
            b = b + F.einsum("nijd,njd->nij", u_hat, v)          # agreement û_j|i · v_j
    return (v, c) if return_couplings else v


def margin_loss(lengths, target, m_plus=0.9, m_minus=0.1, lam=0.5, reduction="mean"):
    """The capsule margin loss: per class k,

        L_k = T_k · max(0, m⁺ − ‖v_k‖)² + λ · (1 − T_k) · max(0, ‖v_k‖ − m⁻)²

    summed over classes (T_k = 1 for the true class), then averaged over the batch.

    Args:
        lengths: (N, K) capsule lengths ‖v_k‖ (or any scores in [0, 1]).
        target: (N,) integer classes.
        m_plus, m_minus: the present / absent thresholds (0.9 and 0.1 in the paper).
        lam: down-weighting of absent classes (0.5).
        reduction: ``'mean'`` over samples (default), ``'sum'`` or ``'none'`` ((N,)).

    Example:
        >>> import nerve as nv
        >>> from nerve import nn
        >>> round(nn.margin_loss(nv.tensor([[0.5, 0.3]]), nv.tensor([0])).item(), 6)  # 0.4² + 0.5·0.2²
        0.18
    """
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if lengths.ndim != 2 or t.shape != (lengths.shape[0],) or t.dtype.kind not in "iu":
        raise ValueError(f"margin_loss: lengths must be (N, K) and target (N,) integer classes, got "
                         f"shapes {tuple(lengths.shape)} and {tuple(t.shape)} (dtype {t.dtype})")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"margin_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    T = np.zeros(tuple(lengths.shape), dtype=lengths.dtype)
    T[np.arange(t.size), t] = 1
    present = F.relu(lengths * -1.0 + m_plus)
    absent = F.relu(lengths - m_minus)
    loss = (present * present * T + absent * absent * ((1.0 - T) * lam)).sum(1)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


class MarginLoss(Module):
    """Module twin of :func:`margin_loss`: ``MarginLoss()(lengths, target)``."""

    def __init__(self, m_plus=0.9, m_minus=0.1, lam=0.5, reduction="mean"):
        super().__init__()
        self.m_plus, self.m_minus, self.lam, self.reduction = m_plus, m_minus, lam, reduction

    def forward(self, lengths, target):
        return margin_loss(lengths, target, self.m_plus, self.m_minus, self.lam, self.reduction)


class PrimaryCaps(Module):
    """Convolutional capsules: a Conv2d with ``num_capsules · capsule_dim`` channels, each
    position's channels cut into ``num_capsules`` vectors of ``capsule_dim``, squashed.

    Shapes: (N, in_channels, H, W) → (N, num_capsules · H' · W', capsule_dim), the capsules
    ordered by type, then position.

    Example:
        >>> import nerve as nv
        >>> from nerve import nn
        >>> nn.PrimaryCaps(16, num_capsules=4, capsule_dim=8, kernel_size=3, stride=1)(nv.ones(2, 16, 6, 6)).shape
        (2, 64, 8)
    """

    def __init__(self, in_channels, num_capsules=32, capsule_dim=8, kernel_size=9, stride=2, padding=0):
        super().__init__()
        self.num_capsules, self.capsule_dim = num_capsules, capsule_dim
        self.conv = Conv2d(in_channels, num_capsules * capsule_dim, kernel_size, stride=stride,
                           padding=padding)

    def forward(self, x):
        h = self.conv(x)                                            # (N, caps·dim, H', W')
        N, _, H, W = h.shape
        h = h.reshape(N, self.num_capsules, self.capsule_dim, H, W).permute(0, 1, 3, 4, 2)
        return squash(h.reshape(N, self.num_capsules * H * W, self.capsule_dim))


class DigitCaps(Module):
    """A fully connected capsule layer with routing: û_{j|i} = W_ij u_i, then
    :func:`dynamic_routing`.

    Args:
        in_capsules, in_dim: number and size of the child capsules.
        out_capsules, out_dim: number and size of the parent capsules (one per class).
        routing_iters: routing iterations (3).

    Attributes:
        weight: (in_capsules, out_capsules, out_dim, in_dim) transformation matrices W_ij,
            initialised N(0, 1/in_dim).

    Shapes: (N, in_capsules, in_dim) → (N, out_capsules, out_dim).

    Example:
        >>> import nerve as nv
        >>> from nerve import nn
        >>> nn.DigitCaps(64, 8, 10, 16)(nv.ones(2, 64, 8)).shape
        (2, 10, 16)
    """

    def __init__(self, in_capsules, in_dim, out_capsules, out_dim, routing_iters=3):
        super().__init__()
        self.in_capsules, self.in_dim = in_capsules, in_dim
        self.out_capsules, self.out_dim, self.routing_iters = out_capsules, out_dim, routing_iters
        self.weight = Parameter(np.empty((in_capsules, out_capsules, out_dim, in_dim), dtype=np.float32))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight, 0.0, 1.0 / math.sqrt(self.in_dim))

    def predictions(self, u):
        """û (N, in_capsules, out_capsules, out_dim) from the children u (N, in_capsules, in_dim)."""
        if u.ndim != 3 or tuple(u.shape[1:]) != (self.in_capsules, self.in_dim):
            raise ValueError(f"DigitCaps({self.in_capsules}×{self.in_dim} → {self.out_capsules}×"
                             f"{self.out_dim}) got input of shape {tuple(u.shape)}; expected "
                             f"(N, {self.in_capsules}, {self.in_dim})")
        return F.einsum("ijdk,nik->nijd", self.weight, u)

    def forward(self, u, return_couplings=False):
        return dynamic_routing(self.predictions(u), self.routing_iters, return_couplings)

    def extra_repr(self):
        return (f"{self.in_capsules}×{self.in_dim} → {self.out_capsules}×{self.out_dim}, "
                f"routing_iters={self.routing_iters}")
