"""Reductions: sum, mean ...

``dim`` may be an int, a tuple or None (all dimensions); ``keepdim`` keeps the reduced
dimensions with size 1. NumPy's names ``axis``/``keepdims`` are accepted too, as in
PyTorch.
"""
from __future__ import annotations

from ..autograd.function import Function
from ._util import normalize_dim


def _expand_back(xp, grad, shape, axes, keepdim):
    """Broadcast a reduced gradient back to the input shape (arrays or Tensors)."""
    if not keepdim and axes is not None:
        kept = list(shape)
        for a in axes:
            kept[a] = 1
        grad = grad.reshape(tuple(kept))
    return xp.broadcast_to(grad, shape)


def _axes(dim, ndim, op):
    if dim is None:
        return None
    d = normalize_dim(dim, ndim, op)
    return d if isinstance(d, tuple) else (d,)


class Sum(Function):
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return x.sum(axis=axes, keepdims=keepdim)

    def backward(ctx, grad):
        return _expand_back(ctx.xp, grad, ctx.shape, ctx.axes, ctx.keepdim), None, None


class Mean(Function):
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        out = x.mean(axis=axes, keepdims=keepdim)
        ctx.count = x.size // max(out.size, 1) if x.size else 0
        return out

    def backward(ctx, grad):
        g = _expand_back(ctx.xp, grad, ctx.shape, ctx.axes, ctx.keepdim)
        return g / ctx.count, None, None


def _dim_args(dim, axis, keepdim, keepdims):
    if axis is not None:
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    return dim, bool(keepdim)


def sum(x, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None):  # noqa: A001
    """Sum over ``dim`` (all dimensions when None)."""
    dim, keepdim = _dim_args(dim, axis, keepdim, keepdims)
    if dtype is not None:
        x = x.to(dtype=dtype)
    return Sum.apply(x, _axes(dim, x.ndim, "sum"), keepdim)


def mean(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Arithmetic mean over ``dim`` (all dimensions when None)."""
    dim, keepdim = _dim_args(dim, axis, keepdim, keepdims)
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"mean() needs a floating-point tensor, got dtype {x.dtype}; call .float() first")
    return Mean.apply(x, _axes(dim, x.ndim, "mean"), keepdim)


TENSOR_METHODS = {"sum": sum, "mean": mean}
GRAPH_NAMESPACE = {}
