"""Dropout family: dropout, dropout1d/2d (whole channels) and DropConnect.

Inverted dropout: in training each unit is kept with probability 1 − p and the kept ones
are scaled by 1/(1 − p), so E[y] = x and evaluation needs no rescaling (it is the
identity). Masks come from ``nerve.random.default_generator()``, so ``nv.manual_seed``
fixes them. Backward multiplies by the same scaled mask.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..backend import get_array_module
from ..random import default_generator, device_generator

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "dropconnect_linear"]


class MaskMul(Function):
    """y = x · m for a constant mask m (already scaled); the gradient is ∂L/∂y · m."""

    def forward(ctx, x, mask):
        ctx.save_for_backward(mask)
        return x * mask

    def backward(ctx, grad):
        (mask,) = ctx.saved
        return grad * mask, None


def _check_p(p, op):
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability must be in [0, 1], got {p}")
    return p


def _scaled_mask(shape, p, dtype, like):
    """Bernoulli(1 − p) keep-mask scaled by 1/(1 − p), drawn where ``like`` lives: the global
    NumPy generator on the host, the device's own generator on a GPU (no host draw and copy)."""
    xp = get_array_module(like)
    if p == 1.0:
        return xp.zeros(shape, dtype=dtype)
    gen = default_generator() if xp is np else device_generator(xp)
    u = gen.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
    mask = (u >= p).astype(dtype)
    mask *= dtype.type(1.0 / (1.0 - p))
    return mask


def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero each element with probability p in training; scale survivors by 1/(1 − p).

    y = x · m / (1 − p) with m ~ Bernoulli(1 − p) elementwise; in evaluation
    (``training=False``) y = x exactly (the same tensor is returned).

    Args:
        input: any shape.
        p: drop probability in [0, 1].
        training: apply dropout (True) or act as the identity (False).
        inplace: accepted for PyTorch compatibility; a new tensor is returned.

    Returns: a tensor shaped like ``input``.

    Example:
        >>> import nerve as nv
        >>> x = nv.ones(4)
        >>> dropout(x, 0.5, training=False) is x
        True
        >>> sorted(set(dropout(x, 0.5).tolist())) in ([0.0, 2.0], [0.0], [2.0])
        True
    """
    p = _check_p(p, "dropout")
    if not training or p == 0.0:
        return input
    return MaskMul.apply(input, _scaled_mask(input.shape, p, np.dtype(input.dtype), input._data))


def _channel_dropout(input, p, training, nd, op):  # noqa: A002
    p = _check_p(p, op)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected a {nd + 2}-D (N, C, ...) or {nd + 1}-D (C, ...) input, "
                           f"got shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    lead = input.ndim - nd                                   # (N, C) or (C,)
    shape = tuple(input.shape[:lead]) + (1,) * nd
    return MaskMul.apply(input, _scaled_mask(shape, p, np.dtype(input.dtype), input._data))


def dropout2d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero whole channels (feature maps) of (N, C, H, W) input with probability p.

    Each (n, c) map is kept with probability 1 − p and scaled by 1/(1 − p), or zeroed
    entirely; neighbouring pixels in a map are correlated, so dropping single pixels
    would barely regularize. Identity in evaluation.

    Example:
        >>> import nerve as nv
        >>> y = dropout2d(nv.ones(2, 8, 3, 3), 0.5)
        >>> all(len(set(m.flatten().tolist())) == 1 for m in y.reshape(16, 9))
        True
    """
    return _channel_dropout(input, p, training, 2, "dropout2d")


def dropout1d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero whole channels of (N, C, L) input with probability p (see :func:`dropout2d`)."""
    return _channel_dropout(input, p, training, 1, "dropout1d")


def dropout3d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero whole channels of (N, C, D, H, W) input with probability p (see :func:`dropout2d`)."""
    return _channel_dropout(input, p, training, 3, "dropout3d")


def dropconnect_linear(input, weight, bias=None, p=0.5, training=True):  # noqa: A002
    """A linear layer with DropConnect: drop individual *weights*, not units (Wan et al. 2013).

    Training: y = x · (W ⊙ M)ᵀ / (1 − p) + b with M ~ Bernoulli(1 − p) of W's shape, one
    mask per call (shared by the batch); dropped weights get a gradient of exactly 0.
    Evaluation: y = x · Wᵀ + b, the expectation of the training output. The bias is never
    dropped.

    Args:
        input: (*, in_features).
        weight: (out_features, in_features).
        bias: (out_features,) or None.
        p: probability of dropping each weight.
        training: apply the mask (True) or use the mean weights (False).

    Returns: (*, out_features).

    Example:
        >>> import nerve as nv
        >>> x, W = nv.ones(2, 3), nv.ones(4, 3)
        >>> dropconnect_linear(x, W, p=0.5, training=False).tolist()[0]
        [3.0, 3.0, 3.0, 3.0]
    """
    from .linalg import linear  # noqa: PLC0415

    p = _check_p(p, "dropconnect_linear")
    if training and p > 0.0:
        weight = MaskMul.apply(weight, _scaled_mask(weight.shape, p, np.dtype(weight.dtype), weight._data))
    return linear(input, weight, bias)


TENSOR_METHODS = {}
GRAPH_NAMESPACE = {}
