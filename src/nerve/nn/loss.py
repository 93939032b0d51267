"""Loss layers: module twins of the functions in ``nerve.functional.loss``.

Each loss is called as ``loss_fn(input, target)`` and reduces with ``reduction``:
``'mean'`` (default), ``'sum'`` or ``'none'`` (one value per element or sample).
Class weights are registered as buffers, so they follow ``model.to(...)`` and appear in
``state_dict`` as in PyTorch.
"""
from __future__ import annotations

from ..autograd.tensor import Tensor
from ..creation import as_tensor
from . import functional as F
from .module import Module

__all__ = ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss",
           "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "HingeLoss", "MultiMarginLoss",
           "MultiLabelMarginLoss", "PairwiseDistance", "CosineSimilarity", "ContrastiveLoss", "TripletMarginLoss",
           "CosineEmbeddingLoss"]

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, "
                             f"got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        if weight is not None and not isinstance(weight, Tensor):
            weight = as_tensor(weight)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error: mean((input − target)²); see ``F.mse_loss``.

    The gradient is 2(input − target)/N with reduction='mean'.

    Example:
        >>> import nerve as nv
        >>> nv.nn.MSELoss()(nv.tensor([1.0, 2.0]), nv.tensor([0.0, 0.0])).item()
        2.5
    """

    def forward(self, input, target):  # noqa: A002
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: mean(|input − target|); see ``F.l1_loss``."""

    def forward(self, input, target):  # noqa: A002
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """0.5·d²/β where |d| < β, |d| − 0.5·β elsewhere (d = input − target); see ``F.smooth_l1_loss``."""

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):  # noqa: A002
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """0.5·d² where |d| < δ, δ·(|d| − 0.5·δ) elsewhere; see ``F.huber_loss``.

    Equal to δ·SmoothL1Loss(beta=δ).
    """

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):  # noqa: A002
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy on raw logits; see ``F.cross_entropy``.

    loss_i = −Σ_c q_ic · log softmax(x_i)_c, with q the one-hot target (smoothed by
    ``label_smoothing``), weighted by ``weight[class]``.

    Args:
        weight: per-class weights, shape (C,).
        ignore_index: targets equal to it contribute nothing (default −100).
        reduction: 'mean' (weighted mean over non-ignored samples), 'sum' or 'none'.
        label_smoothing: ε in [0, 1]: the target becomes (1 − ε)·one-hot + ε/C.

    Shapes: input (N, C) or (N, C, d1, ...) logits; target (N,) class indices or
    (N, C) probabilities.

    Example:
        >>> import nerve as nv
        >>> loss = nv.nn.CrossEntropyLoss()(nv.zeros(4, 10), nv.tensor([0, 1, 2, 3]))
        >>> round(loss.item(), 4)   # log(10)
        2.3026
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):  # noqa: A002
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of the target class, given log-probabilities; see ``F.nll_loss``.

    Pair it with ``LogSoftmax(dim=1)``; the two together equal ``CrossEntropyLoss``.
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities: −[y·log p + (1 − y)·log(1 − p)]; see
    ``F.binary_cross_entropy``. Prefer ``BCEWithLogitsLoss`` on raw scores: it is stable."""

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy on logits, fused with the sigmoid (finite for logits of ±1e4);
    see ``F.binary_cross_entropy_with_logits``.

    Args:
        weight: a per-element rescaling weight, broadcast against the input.
        pos_weight: a weight on the positive term per class (> 1 raises recall).
    """

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(weight, reduction)
        if pos_weight is not None and not isinstance(pos_weight, Tensor):
            pos_weight = as_tensor(pos_weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class KLDivLoss(_Loss):
    """Kullback–Leibler divergence target·(log target − input), with ``input`` given as
    log-probabilities; see ``F.kl_div``.

    Use ``reduction='batchmean'`` for the mathematically correct KL (sum / batch size);
    'mean' averages over every element, as in PyTorch.
    """

    def __init__(self, reduction="mean", log_target=False):
        if reduction == "batchmean":
            super().__init__("mean")
            self.reduction = "batchmean"
        else:
            super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input, target):  # noqa: A002
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class HingeLoss(_Loss):
    """Binary hinge loss max(0, margin − y·s) for labels y ∈ {−1, +1} (squared with
    ``squared=True``); see ``F.hinge_loss`` and ``F.squared_hinge_loss``.

    Example:
        >>> import nerve as nv
        >>> nv.nn.HingeLoss()(nv.tensor([2.0, 0.0]), nv.tensor([1.0, -1.0])).item()
        0.5
    """

    def __init__(self, margin=1.0, squared=False, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin
        self.squared = squared

    def forward(self, input, target):  # noqa: A002
        fn = F.squared_hinge_loss if self.squared else F.hinge_loss
        return fn(input, target, margin=self.margin, reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss Σ_{i≠y} w_y·max(0, margin − x_y + x_i)^p / C, as PyTorch's; see
    ``F.multi_margin_loss``.

    Shapes: input (N, C) scores, target (N,) class indices; 'none' gives (N,).

    Example:
        >>> import nerve as nv
        >>> round(nv.nn.MultiMarginLoss()(nv.tensor([[0.1, 0.2, 0.4, 0.8]]), nv.tensor([3])).item(), 4)
        0.325
    """

    def __init__(self, p=1, margin=1.0, weight=None, reduction="mean"):
        super().__init__(weight, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: p must be 1 or 2, got {p!r}")
        self.p = p
        self.margin = margin

    def forward(self, input, target):  # noqa: A002
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin, weight=self.weight,
                                   reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss, as PyTorch's; see ``F.multilabel_margin_loss``.

    The target lists each sample's classes and pads with −1; every listed class must score at
    least 1 above every unlisted one.

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> round(nv.nn.MultiLabelMarginLoss()(x, nv.tensor([[3, 0, -1, 1]])).item(), 4)
        0.85
    """

    def forward(self, input, target):  # noqa: A002
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class PairwiseDistance(Module):
    """``‖x1 − x2 + eps‖_p`` per row, as ``torch.nn.PairwiseDistance``; see ``F.pairwise_distance``.

    Example:
        >>> import nerve as nv
        >>> nv.nn.PairwiseDistance(eps=0.0)(nv.tensor([[0.0, 0.0]]), nv.tensor([[3.0, 4.0]])).tolist()
        [5.0]
    """

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """Cosine similarity along ``dim``, as ``torch.nn.CosineSimilarity``; see ``F.cosine_similarity``.

    Example:
        >>> import nerve as nv
        >>> nv.nn.CosineSimilarity(dim=1)(nv.tensor([[1.0, 0.0]]), nv.tensor([[2.0, 0.0]])).tolist()
        [1.0]
    """

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class ContrastiveLoss(_Loss):
    """Hadsell et al.'s pair loss ½·[y·d² + (1 − y)·max(0, margin − d)²]; see ``F.contrastive_loss``.

    Called as ``loss_fn(x1, x2, y)`` on two (N, D) embeddings and (N,) labels with
    **y = 1 for similar pairs and y = 0 for dissimilar ones** (the paper writes the opposite).

    Example:
        >>> import nerve as nv
        >>> a, b = nv.tensor([[0.0, 0.0]]), nv.tensor([[0.3, 0.4]])
        >>> nv.nn.ContrastiveLoss(margin=1.0, eps=0.0)(a, b, nv.tensor([0.0])).item()  # ½(1 − 0.5)²
        0.125
    """

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, reduction="mean"):
        super().__init__(reduction)
        self.margin, self.p, self.eps = margin, p, eps

    def forward(self, x1, x2, target):
        return F.contrastive_loss(x1, x2, target, self.margin, p=self.p, eps=self.eps,
                                  reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """max(d(a, p) − d(a, n) + margin, 0), as ``torch.nn.TripletMarginLoss``; see
    ``F.triplet_margin_loss``.

    Example:
        >>> import nerve as nv
        >>> a, p, n = nv.tensor([[0.0, 0.0]]), nv.tensor([[0.0, 1.0]]), nv.tensor([[1.5, 0.0]])
        >>> nv.nn.TripletMarginLoss(eps=0.0)(a, p, n).item()
        0.5
    """

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction="mean"):
        super().__init__(reduction)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps,
                                     self.swap, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """1 − cos for y = +1 and max(0, cos − margin) for y = −1, as ``torch.nn.CosineEmbeddingLoss``;
    see ``F.cosine_embedding_loss``.

    Example:
        >>> import nerve as nv
        >>> nv.nn.CosineEmbeddingLoss()(nv.tensor([[1.0, 0.0]]), nv.tensor([[0.0, 1.0]]), nv.tensor([1])).item()
        1.0
    """

    def __init__(self, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, self.margin, reduction=self.reduction)
