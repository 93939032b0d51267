"""A Siamese network: one shared encoder maps both sides of a pair to embeddings.

Trained with a pair loss (``nn.ContrastiveLoss``) or a triplet loss (``nn.TripletMarginLoss``),
the embedding distance ``‖f(x1) − f(x2)‖`` becomes small for same-class pairs and large for
different-class ones (Bromley et al. 1993; Hadsell, Chopra & LeCun 2006).

Default encoder for the 8x8 digits (``SiameseNet()``): Flatten → Linear(64→128) → ReLU →
Linear(128→32): 64·128 + 128 + 128·32 + 32 = 12,448 parameters, shared by both branches.

    >>> import nerve as nv
    >>> from nerve import models
    >>> net = models.SiameseNet()
    >>> net.num_parameters()
    12448
    >>> e1, e2 = net(nv.zeros(3, 1, 8, 8), nv.ones(3, 1, 8, 8))
    >>> e1.shape, net.distance(nv.zeros(3, 1, 8, 8), nv.ones(3, 1, 8, 8)).shape
    ((3, 32), (3,))
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from . import register_model

__all__ = ["SiameseNet", "siamese_net", "make_pairs"]


class SiameseNet(nn.Module):
    """Two weight-sharing branches: ``forward(x1, x2)`` returns ``(embed(x1), embed(x2))``.

    Args:
        encoder: the shared embedding network; default an MLP for (N, 1, 8, 8) digits
            (``in_features`` → ``hidden`` → ``embedding_dim``).
        in_features, hidden, embedding_dim: sizes of the default encoder.
    """

    def __init__(self, encoder=None, in_features=64, hidden=128, embedding_dim=32):
        super().__init__()
        if encoder is None:
            encoder = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(),
                                    nn.Linear(hidden, embedding_dim))
        self.encoder = encoder

    def embed(self, x):
        """The embedding of one batch, (N, ...) → (N, embedding_dim)."""
        return self.encoder(x)

    def forward(self, x1, x2):
        return self.embed(x1), self.embed(x2)

    def distance(self, x1, x2, p=2.0):
        """The embedding distance of each pair (N,): small means "same"."""
        e1, e2 = self(x1, x2)
        return F.pairwise_distance(e1, e2, p)


@register_model("siamese-net", "siamese")
def siamese_net(**kwargs):
    """``SiameseNet(**kwargs)``: the digits Siamese MLP (12,448 parameters by default)."""
    return SiameseNet(**kwargs)


def make_pairs(labels, n_pairs, seed=0):
    """Index pairs ``(i, j, same)`` for pair training, half same-class and half different-class.

    Args:
        labels: (N,) integer class labels.
        n_pairs: how many pairs to draw (an even split between the two kinds; odd gives one
            more different-class pair). A same-class pair joins two different examples, unless
            the anchor's class has only that one example.
        seed: seeds the draw.

    Returns:
        ``i``, ``j`` int64 index arrays and ``same`` (float 1.0 where the classes match,
        0.0 where they differ: the ``ContrastiveLoss`` convention).
    """
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, (int, np.integer)) or n_pairs < 0:
        raise ValueError(f"make_pairs: n_pairs must be a non-negative integer, got {n_pairs!r}")
    n_pairs = int(n_pairs)
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size < 2:
        raise ValueError(f"make_pairs: labels must be a 1-D array of at least 2 labels, got shape "
                         f"{labels.shape}")
    classes = np.unique(labels)
    if classes.size < 2:
        raise ValueError("make_pairs: need at least two classes to draw different-class pairs")
    rng = np.random.default_rng(seed)
    n_same = n_pairs // 2
    n_diff = n_pairs - n_same
    # same-class pairs: a random anchor, then a random other member of its class (a pair of an
    # example with itself has distance 0 and teaches nothing; only a class of one has no choice)
    i_same = rng.integers(0, labels.size, n_same)
    order = np.argsort(labels, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(labels.size)                   # each example's place in sorted order
    sorted_labels = labels[order]
    start = np.searchsorted(sorted_labels, labels[i_same], "left")
    stop = np.searchsorted(sorted_labels, labels[i_same], "right")
    others = np.maximum(stop - start - 1, 1)
    k = start + (rng.random(n_same) * others).astype(np.int64)
    k += (k >= rank[i_same]) & (stop - start > 1)          # step over the anchor itself
    j_same = order[k]
    # different-class pairs: redraw the partner until its class differs (whole-array passes)
    i_diff = rng.integers(0, labels.size, n_diff)
    j_diff = rng.integers(0, labels.size, n_diff)
    clash = labels[i_diff] == labels[j_diff]
    while clash.any():
        j_diff[clash] = rng.integers(0, labels.size, int(clash.sum()))
        clash = labels[i_diff] == labels[j_diff]
    i = np.concatenate([i_same, i_diff])
    j = np.concatenate([j_same, j_diff])
    same = np.concatenate([np.ones(n_same), np.zeros(n_diff)])
    perm = rng.permutation(n_pairs)
    return i[perm], j[perm], same[perm]
