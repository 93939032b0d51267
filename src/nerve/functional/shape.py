"""Shape ops: reshape, transpose, expand, indexing ...

These move data around without arithmetic; their backward moves the gradient back.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.namespace import register_extra
from ._util import Tensor, normalize_dim


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


class Reshape(Function):
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise RuntimeError(
                f"reshape: cannot view a tensor of shape {tuple(x.shape)} ({x.size} elements) "
                f"as shape {tuple(shape)}") from None

    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


class Permute(Function):
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    def backward(ctx, grad):
        inv = tuple(np.argsort(ctx.axes))
        return grad.transpose(inv) if not isinstance(grad, Tensor) else permute(grad, inv), None


class BroadcastTo(Function):
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        try:
            return ctx.xp.broadcast_to(x, shape)
        except ValueError:
            raise RuntimeError(
                f"expand: a tensor of shape {tuple(x.shape)} cannot be broadcast to {tuple(shape)}; "
                "only dimensions of size 1 can grow") from None

    def backward(ctx, grad):
        return ctx.xp.unbroadcast(grad, ctx.shape), None


def _index_data(idx):
    """Unwrap Tensors inside an index expression."""
    if isinstance(idx, Tensor):
        return idx.data
    if isinstance(idx, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in idx)
    if isinstance(idx, list):
        return np.asarray(idx)
    return idx


def _is_basic(idx):
    """True for an index without integer arrays (slices, ints, None, Ellipsis, bool masks)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    for i in items:
        if hasattr(i, "dtype") and i.dtype != np.bool_:
            return False
        if isinstance(i, (list,)):
            return False
    return True


def _index_add_to(xp, grad, shape, idx):
    """Array version: a zero array of ``shape`` with ``grad`` added at ``idx``."""
    gx = xp.zeros(shape, dtype=grad.dtype)
    if _is_basic(idx):
        gx[idx] = grad  # no repeated positions, so plain assignment is exact
    else:
        xp.add.at(gx, idx, grad)
    return gx


class IndexAddTo(Function):
    """The backward of indexing as an op of its own, so it is differentiable too."""

    def forward(ctx, grad, shape, idx):
        ctx.idx = idx
        return _index_add_to(ctx.xp.module, grad, shape, idx)

    def backward(ctx, g):
        return g[ctx.idx], None, None


class GetItem(Function):
    def forward(ctx, x, idx):
        ctx.shape, ctx.idx = x.shape, idx
        return x[idx]

    def backward(ctx, grad):
        return ctx.xp.index_add_to(grad, ctx.shape, ctx.idx), None


register_extra("index_add_to", _index_add_to)


# ---------------------------------------------------------------- functional API
def reshape(x, *shape):
    """A tensor with the same data and a new shape (one dimension may be -1)."""
    return Reshape.apply(x, _shape_arg(shape))


def view(x, *shape):
    return Reshape.apply(x, _shape_arg(shape))


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions start_dim..end_dim into one."""
    nd = x.ndim
    if nd == 0:
        return Reshape.apply(x, (1,))
    s = normalize_dim(start_dim, nd, "flatten")
    e = normalize_dim(end_dim, nd, "flatten")
    shp = x.shape
    new = shp[:s] + (-1,) + shp[e + 1:] if e >= s else shp
    if e >= s:
        n = 1
        for d in shp[s:e + 1]:
            n *= d
        new = shp[:s] + (n,) + shp[e + 1:]
    return Reshape.apply(x, new)


def permute(x, *dims):
    dims = _shape_arg(dims)
    if sorted(normalize_dim(d, x.ndim, "permute") for d in dims) != list(range(x.ndim)):
        raise RuntimeError(f"permute: {dims} is not a permutation of the {x.ndim} dimensions of a "
                           f"tensor of shape {tuple(x.shape)}")
    return Permute.apply(x, tuple(normalize_dim(d, x.ndim, "permute") for d in dims))


def transpose(x, dim0=-2, dim1=-1):
    """Swap two dimensions (the last two by default)."""
    nd = x.ndim
    if nd < 2:
        return x
    a, b = normalize_dim(dim0, nd, "transpose"), normalize_dim(dim1, nd, "transpose")
    axes = list(range(nd))
    axes[a], axes[b] = axes[b], axes[a]
    return Permute.apply(x, tuple(axes))


def t(x):
    return transpose(x, 0, 1) if x.ndim == 2 else x


def broadcast_to(x, *shape):
    return BroadcastTo.apply(x, _shape_arg(shape))


def expand(x, *shape):
    """Broadcast size-1 dimensions to ``shape`` (-1 keeps a dimension)."""
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    full = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    return BroadcastTo.apply(x, full)


def expand_as(x, other):
    return BroadcastTo.apply(x, tuple(other.shape))


def getitem(x, idx):
    return GetItem.apply(x, _index_data(idx))


def _T(x):
    return x.permute(*reversed(range(x.ndim))) if x.ndim >= 2 else x


TENSOR_METHODS = {
    "reshape": reshape, "view": view, "flatten": flatten, "permute": permute,
    "transpose": transpose, "t": t, "expand": expand, "expand_as": expand_as,
    "broadcast_to": broadcast_to, "__getitem__": getitem, "T": property(_T),
    "mT": property(lambda x: transpose(x, -2, -1)),
}


def _np_transpose(x, axes=None):
    return permute(x, *(axes if axes is not None else reversed(range(x.ndim))))


GRAPH_NAMESPACE = {
    "broadcast_to": broadcast_to,
    "reshape": lambda x, shape: reshape(x, shape),
    "transpose": _np_transpose,
    "index_add_to": lambda grad, shape, idx: IndexAddTo.apply(grad, shape, idx),
}
