"""Shape ops: reshape, transpose, squeeze, cat, split, flip, pad, gather, indexing ...

These move data around without arithmetic; their backward moves the gradient back
(slices go back into zeros, gathers become scatter-adds, pads become crops). Each such
backward is itself an op with a backward, so every op here is twice differentiable.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..autograd.function import Function
from ..autograd.namespace import register_extra
from ._errors import fmt_shape, index_dtype_error
from ..backend import get_array_module
from ._util import Tensor, _wrap, normalize_dim

__all__ = ["reshape", "view", "flatten", "permute", "transpose", "t", "broadcast_to", "expand",
           "expand_as", "view_as", "getitem", "squeeze", "unsqueeze", "cat", "concat", "concatenate", "stack",
           "split", "chunk", "unbind", "narrow", "movedim", "moveaxis", "swapaxes", "flip", "pad",
           "repeat", "tile", "contiguous", "gather", "scatter_add", "index_select", "index_add",
           "masked_fill", "pixel_shuffle", "pixel_unshuffle"]


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


class Reshape(Function):
    is_view = True

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
    is_view = True

    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    def backward(ctx, grad):
        inv = tuple(np.argsort(ctx.axes))
        return ctx.xp.transpose(grad, inv), None


class BroadcastTo(Function):
    is_view = True

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


def _unwrap_item(i):
    if isinstance(i, Tensor):
        i = i._data
    elif isinstance(i, list) and not i:
        return np.zeros(0, dtype=np.int64)  # x[[]]: no rows (NumPy would make a float index)
    if getattr(i, "dtype", None) == np.uint8 and getattr(i, "ndim", 0) > 0:
        # a uint8 index is a mask in PyTorch (deprecated there too), not a list of positions
        warnings.warn("indexing with a uint8 tensor treats it as a mask, as PyTorch does; "
                      "use a bool tensor (mask.bool()) to say so", UserWarning, stacklevel=4)
        i = i.astype(bool)
    return i


def _is_int_scalar(i):
    if isinstance(i, (bool, np.bool_)):
        return False
    if isinstance(i, (int, np.integer)):
        return True
    return getattr(i, "ndim", None) == 0 and i.dtype.kind in "iu"


def _is_array_index(i):
    return isinstance(i, list) or (getattr(i, "ndim", 0) > 0 and not isinstance(i, np.generic))


def _torch_order(items, shape):
    """An index with integers and index arrays, rewritten so NumPy places the result's
    dimensions as PyTorch does.

    PyTorch applies integers first (each removes its dimension) and only then the index
    arrays, so ``x[1, :, [0, 3]]`` on (2, 3, 4) is (3, 2). NumPy counts the integer among the
    index arrays; separated from them by a slice, it moves the array's dimension to the
    front: (2, 3). When that can happen, the positions PyTorch picks are computed on a grid
    of flat positions and handed back as one integer array per dimension, an index that
    means the same thing to every reader (getitem, setitem, index_put and the backward).
    """
    if not (any(_is_int_scalar(i) for i in items) and any(_is_array_index(i) for i in items)):
        return items
    if any(isinstance(i, (bool, np.bool_)) or (getattr(i, "ndim", None) == 0 and i.dtype == np.bool_)
           for i in items) or sum(i is Ellipsis for i in items) > 1:
        return items  # left to NumPy (and its error for two Ellipses)
    adv = [k for k, i in enumerate(items) if _is_int_scalar(i) or _is_array_index(i)]
    if adv[-1] - adv[0] == len(adv) - 1:
        return items  # one run: NumPy and PyTorch agree
    items = tuple(np.asarray(i) if isinstance(i, list) else i for i in items)
    used = sum(0 if i is None or i is Ellipsis else (i.ndim if getattr(i, "dtype", None) == np.bool_
                                                    else 1) for i in items)
    expanded = []
    for i in items:
        expanded.extend([slice(None)] * max(len(shape) - used, 0) if i is Ellipsis else [i])
    first, then = [], []  # integers, slices and None first; the index arrays on what is left
    for i in expanded:
        if _is_int_scalar(i):
            first.append(i)
        elif i is None or isinstance(i, slice):
            first.append(i)
            then.append(slice(None))
        else:
            first.extend([slice(None)] * (i.ndim if i.dtype == np.bool_ else 1))
            then.append(i)
    xp = get_array_module(*[i for i in items if hasattr(i, "ndim")])
    # One coordinate grid per dimension, each a zero-stride broadcast of an arange (no memory the
    # size of the tensor); indexed the PyTorch way, they give the positions picked.
    n = len(shape)
    coords = []
    for d, size in enumerate(shape):
        axis = xp.arange(size).reshape((1,) * d + (size,) + (1,) * (n - d - 1))
        coords.append(xp.broadcast_to(axis, shape)[tuple(first)][tuple(then)])
    return tuple(coords)


_BASIC_ITEMS = frozenset({int, slice, type(None), type(Ellipsis)})   # exact types: bool is not int here


def _index_data(idx, shape=None):
    """Unwrap Tensors inside an index expression, read with PyTorch's rules (see
    ``_torch_order``; ``shape`` is the indexed tensor's, needed for that rewrite)."""
    # A list, nested or not, is one index array (torch 2.13 still reads x[[[0, 1], [2, 2]]] as
    # x[[0, 1], [2, 2]] with a deprecation warning; nerve follows the announced meaning).
    if isinstance(idx, tuple):
        if all(type(i) in _BASIC_ITEMS for i in idx):
            return idx                  # no index arrays: nothing to unwrap, NumPy and PyTorch agree
        idx = tuple(_unwrap_item(i) for i in idx)
        return idx if shape is None else _torch_order(idx, tuple(shape))
    if type(idx) in _BASIC_ITEMS:
        return idx
    if isinstance(idx, list):
        return np.zeros(0, dtype=np.int64) if not idx else np.asarray(idx)
    return _unwrap_item(idx)


def _is_basic(idx):
    """True for an index without integer arrays (slices, ints, None, Ellipsis, bool masks)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    for i in items:
        if hasattr(i, "dtype") and i.dtype != np.bool_:
            return False
        if isinstance(i, (list,)):
            return False
    return True


def _one_array_axis(idx):
    """(axis, array) when ``idx`` is one integer array after full slices (``x[:, :, i]``,
    ``W[ids]``), the pattern of embedding lookups and index_select; else (None, None)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    axis = arr = None
    for k, i in enumerate(items):
        if hasattr(i, "dtype") and i.dtype.kind in "iu" and getattr(i, "ndim", 0) > 0:
            if arr is not None:
                return None, None
            axis, arr = k, i
        elif not (isinstance(i, slice) and i == slice(None)):
            return None, None
    return axis, arr


def _index_add_axis(xp, out, axis, index, values):
    """``out[(:,) * axis + (index,)] += values`` in place, repeated indices accumulating.

    ``index`` is 1-D and ``values`` has ``len(index)`` at ``axis``. Faster than
    ``ufunc.at``: plain ``+=`` when no index repeats; for wide rows a stable sort and one
    segmented sum (``add.reduceat``); ``add.at`` only for narrow rows, where it is best.
    """
    n = out.shape[axis]
    if index.size == 0:
        return out
    if index.min() < 0:
        index = index % n  # negative indices count from the end, as in indexing
    o = xp.moveaxis(out, axis, 0)       # views: writes land in out
    v = xp.moveaxis(values, axis, 0)    # (len(index), ...)
    if xp.bincount(index, minlength=n).max() <= 1:
        o[index] += v
    elif v.size // index.size >= 16:
        order = xp.argsort(index, kind="stable")  # stable: a deterministic summation order
        s = index[order]
        starts = xp.flatnonzero(xp.concatenate((xp.ones(1, dtype=bool), s[1:] != s[:-1])))
        o[s[starts]] += xp.add.reduceat(v[order], starts, axis=0)
    else:
        xp.add.at(o, index, v)
    return out


def _index_add_to(xp, grad, shape, idx):
    """Array version: a zero array of ``shape`` with ``grad`` added at ``idx``."""
    gx = xp.zeros(shape, dtype=grad.dtype)
    if _is_basic(idx):
        gx[idx] = grad  # no repeated positions, so plain assignment is exact
        return gx
    axis, arr = _one_array_axis(idx)
    if arr is not None:
        # (..., *arr.shape, ...) -> (..., arr.size, ...): one flat index along ``axis``
        vals = grad.reshape(tuple(shape[:axis]) + (arr.size,) + tuple(shape[axis + 1:]))
        return _index_add_axis(xp, gx, axis, arr.reshape(-1), vals)
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
    is_view = True

    def forward(ctx, x, idx):
        ctx.shape, ctx.idx = x.shape, idx
        out = x[idx]
        if type(out) is not type(x) and _is_basic(idx):
            # x[0] of a 1-D array is a NumPy scalar (a copy); x[0, ...] is the 0-d view
            # PyTorch gives, so a write through it reaches x
            items = idx if isinstance(idx, tuple) else (idx,)
            if Ellipsis not in items:
                out = x[items + (Ellipsis,)]
        return out

    def backward(ctx, grad):
        return ctx.xp.index_add_to(grad, ctx.shape, ctx.idx), None


register_extra("index_add_to", _index_add_to)


# ----------------------------------------------------- joining, flipping, padding, tiling
class Cat(Function):
    """Concatenation along ``axis``; each input's gradient is its slice of grad."""

    def forward(ctx, *xs, axis):
        ctx.axis = axis
        ends = np.cumsum([x.shape[axis] for x in xs]).tolist()
        ctx.bounds = list(zip([0] + ends[:-1], ends))
        return ctx.xp.concatenate(xs, axis=axis)

    def backward(ctx, grad):
        pre = (slice(None),) * ctx.axis
        n = ctx.needs_input_grad
        return tuple(grad[pre + (slice(a, b),)] if n[i] else None
                     for i, (a, b) in enumerate(ctx.bounds))


class Stack(Function):
    """Join equal-shape tensors along a new axis; input i's gradient is grad[..., i, ...]."""

    def forward(ctx, *xs, axis):
        ctx.axis = axis
        return ctx.xp.stack(xs, axis=axis)

    def backward(ctx, grad):
        pre = (slice(None),) * ctx.axis
        n = ctx.needs_input_grad
        return tuple(grad[pre + (i,)] if n[i] else None for i in range(len(n)))


class Flip(Function):
    """Reverse the order of elements along ``axes`` (a copy, as in PyTorch)."""

    def forward(ctx, x, axes):
        ctx.axes = axes
        return ctx.xp.flip(x, axes).copy()

    def backward(ctx, grad):
        return ctx.xp.flip(grad, ctx.axes), None


def _pad_constant(xp, x, widths, value=0):
    """Array version of constant padding. ``widths`` holds one (before, after) pair per
    axis in NumPy order; a negative width crops instead of padding."""
    shape = tuple(s + a + b for s, (a, b) in zip(x.shape, widths))
    src = tuple(slice(max(-a, 0), s - max(-b, 0)) for s, (a, b) in zip(x.shape, widths))
    if all(a <= 0 and b <= 0 for a, b in widths):
        return x[src]  # a pure crop (the backward of padding) is a view
    if value == 0:
        out = xp.zeros(shape, dtype=x.dtype)
    else:
        out = xp.full(shape, value, dtype=x.dtype)
    dst = tuple(slice(max(a, 0), n - max(b, 0)) for n, (a, b) in zip(shape, widths))
    out[dst] = x[src]
    return out


class PadConstant(Function):
    """Constant padding (negative widths crop). Padding and cropping are each other's
    adjoint, so the backward is this op again with the widths negated."""

    def forward(ctx, x, widths, value):
        ctx.widths = widths
        out = ctx.xp.pad_constant(x, widths, value)
        return out.copy() if out.base is not None else out  # own memory, like torch's result

    def backward(ctx, grad):
        return ctx.xp.pad_constant(grad, tuple((-a, -b) for a, b in ctx.widths), 0), None, None


class Repeat(Function):
    """``Tensor.repeat`` (NumPy's ``tile``). The gradient of each input element is the
    sum of grad over its copies: view grad as (r0, s0, r1, s1, ...) and sum the r axes."""

    def forward(ctx, x, reps):
        ctx.shape = x.shape
        ctx.full = (1,) * (len(reps) - x.ndim) + tuple(x.shape)
        ctx.reps = reps
        return ctx.xp.tile(x, reps)

    def backward(ctx, grad):
        inter = tuple(v for r, s in zip(ctx.reps, ctx.full) for v in (r, s))  # (r0, s0, r1, s1, ...)
        g = grad.reshape(inter).sum(axis=tuple(range(0, len(inter), 2)))
        return g.reshape(ctx.shape), None


# ------------------------------------------------------- gather and scatter along an axis
def _flat_along(xp, index, axis, shape):
    """Flat offsets, into a C-ordered array of ``shape``, of the positions
    ``[i0, ..., index[i0, ..., in], ..., in]``: ``index`` along ``axis`` and each other
    coordinate running over the index's own extent. One 1-D index is NumPy's fastest
    path for both ``take`` and ``ufunc.at``."""
    nd = len(shape)
    stride = [1] * nd
    for d in range(nd - 2, -1, -1):
        stride[d] = stride[d + 1] * shape[d + 1]
    flat = index * stride[axis]
    for d in range(nd):
        if d != axis and index.shape[d] > 1:
            shp = [1] * nd
            shp[d] = index.shape[d]
            flat = flat + xp.arange(0, index.shape[d] * stride[d], stride[d]).reshape(shp)
    return xp.broadcast_to(flat, index.shape).reshape(-1)


def _gather_along(xp, x, axis, index):
    """torch.gather on arrays: ``out[i][j][k] = x[i][index[i][j][k]][k]`` for axis 1."""
    flat = _flat_along(xp, index, axis, x.shape)
    return xp.take(x, flat).reshape(index.shape)  # take() reads x in C order


def _scatter_add_into(xp, out, axis, index, src, unique=False):
    """``out`` (C-contiguous) += ``src`` scattered along ``axis`` at ``index``, in place;
    repeated positions accumulate unless ``unique`` says there are none."""
    flat = _flat_along(xp, index, axis, out.shape)
    o = out.reshape(-1)  # a view, since out is C-contiguous
    if unique:
        o[flat] += src.reshape(-1)
    else:
        xp.add.at(o, flat, src.reshape(-1))
    return out


def _scatter_add_along(xp, src, shape, axis, index, unique=False):
    """The adjoint of :func:`_gather_along`: zeros of ``shape`` with ``src`` added at the
    gathered positions (repeated positions accumulate unless ``unique``)."""
    return _scatter_add_into(xp, xp.zeros(shape, dtype=src.dtype), axis, index, src, unique)


class Gather(Function):
    def forward(ctx, x, axis, index, unique):
        ctx.shape, ctx.axis, ctx.index, ctx.unique = x.shape, axis, index, unique
        return ctx.xp.gather_along(x, axis, index)

    def backward(ctx, grad):
        return ctx.xp.scatter_add_along(grad, ctx.shape, ctx.axis, ctx.index, ctx.unique), None, None, None


class ScatterAddAlong(Function):
    """Zeros of ``shape`` plus ``src`` scattered along ``axis``; backward is a gather.
    This is Gather's backward as an op of its own, so it is differentiable too."""

    def forward(ctx, src, shape, axis, index, unique):
        ctx.axis, ctx.index = axis, index
        return ctx.xp.scatter_add_along(src, shape, axis, index, unique)

    def backward(ctx, g):
        return ctx.xp.gather_along(g, ctx.axis, ctx.index), None, None, None, None


class ScatterAdd(Function):
    """``x.scatter_add(dim, index, src)``: a copy of x with src added at the gathered
    positions. d/dx = grad, d/dsrc = grad gathered at the same positions."""

    def forward(ctx, x, src, axis, index):
        ctx.axis, ctx.index = axis, index
        return _scatter_add_into(ctx.xp, x.copy(), axis, index, src)

    def backward(ctx, grad):
        n = ctx.needs_input_grad
        gs = ctx.xp.gather_along(grad, ctx.axis, ctx.index) if n[1] else None
        return (grad if n[0] else None), gs, None, None


class IndexAdd(Function):
    """``x.index_add(dim, index, source, alpha)``: x with alpha·source[..., i, ...] added to
    x[..., index[i], ...]. d/dx = grad, d/dsource = alpha · grad[..., index, ...]."""

    def forward(ctx, x, src, axis, index, alpha):
        ctx.axis, ctx.index, ctx.alpha = axis, index, alpha
        return _index_add_axis(ctx.xp, x.copy(), axis, index, src if alpha == 1 else src * alpha)

    def backward(ctx, grad):
        n = ctx.needs_input_grad
        gs = None
        if n[1]:
            gs = grad[(slice(None),) * ctx.axis + (ctx.index,)]
            if ctx.alpha != 1:
                gs = gs * ctx.alpha
        return (grad if n[0] else None), gs, None, None, None


register_extra("gather_along", _gather_along)
register_extra("scatter_add_along", _scatter_add_along)
register_extra("pad_constant", _pad_constant)


# ---------------------------------------------------------------- functional API
def reshape(x, *shape):
    """A tensor with the same data and a new shape (one dimension may be -1)."""
    return Reshape.apply(x, _shape_arg(shape))


def view(x, *shape):
    return Reshape.apply(x, _shape_arg(shape))


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions start_dim..end_dim into one."""
    nd = x.ndim
    s = normalize_dim(start_dim, nd, "flatten")
    e = normalize_dim(end_dim, nd, "flatten")
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a tensor of "
                           f"shape {tuple(x.shape)}; swap them")
    if nd == 0:
        return Reshape.apply(x, (1,))
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
        if (dim0, dim1) != (-2, -1):  # named dims must exist (x.transpose(0, 1) of 1-D is an error)
            normalize_dim(dim0, nd, "transpose"), normalize_dim(dim1, nd, "transpose")
        return x
    a, b = normalize_dim(dim0, nd, "transpose"), normalize_dim(dim1, nd, "transpose")
    axes = list(range(nd))
    axes[a], axes[b] = axes[b], axes[a]
    return Permute.apply(x, tuple(axes))


def t(x):
    """The transpose of a matrix; a 0-D or 1-D tensor comes back as it is (as ``torch.t``)."""
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with at most 2 dimensions, got shape "
                           f"{fmt_shape(x.shape)}; use transpose(dim0, dim1) or .mT for a "
                           "batch of matrices")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def _mT(x):
    if x.ndim == 0:
        return x  # the identity, as in torch (which warns that this is deprecated)
    if x.ndim == 1:
        raise RuntimeError(f".mT transposes the last two dimensions and needs at least 2, got "
                           f"shape {fmt_shape(x.shape)}; a 1-D tensor has nothing to transpose")
    return transpose(x, -2, -1)


def broadcast_to(x, *shape):
    return BroadcastTo.apply(x, _shape_arg(shape))


def expand(x, *shape):
    """Broadcast size-1 dimensions to ``shape`` (-1 keeps a dimension)."""
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    full = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    return BroadcastTo.apply(x, full)


def expand_as(x, other):
    """``x`` broadcast to ``other``'s shape (size-1 dims repeat without copying)."""
    return expand(x, tuple(other.shape))


def view_as(x, other):
    """``x`` with ``other``'s shape (same number of elements), as ``x.view(other.shape)``."""
    return Reshape.apply(x, tuple(other.shape))


def getitem(x, idx):
    return GetItem.apply(x, _index_data(idx, x.shape))

# ------------------------------------------------------------- squeeze and unsqueeze
def squeeze(x, dim=None):
    """Remove dimensions of size 1: all of them, or only those in ``dim`` (int or tuple).

    As in PyTorch, a listed dimension whose size is not 1 is left alone.

    Example:
        >>> import nerve as nv
        >>> nv.zeros(2, 1, 3, 1).squeeze().shape
        (2, 3)
        >>> nv.zeros(2, 1, 3, 1).squeeze((1, 0)).shape
        (2, 3, 1)
    """
    shape = tuple(x.shape)
    if dim is None:
        axes = {i for i, s in enumerate(shape) if s == 1}
    else:
        d = normalize_dim(dim, x.ndim, "squeeze")
        axes = {a for a in (d if isinstance(d, tuple) else (d,)) if x.ndim and shape[a] == 1}
    if not axes:
        return Reshape.apply(x, shape)
    return Reshape.apply(x, tuple(s for i, s in enumerate(shape) if i not in axes))


def unsqueeze(x, dim):
    """Insert a dimension of size 1 at ``dim`` (``-1`` appends one).

    Example:
        >>> import nerve as nv
        >>> nv.zeros(2, 3).unsqueeze(1).shape, nv.zeros(2, 3).unsqueeze(-1).shape
        ((2, 1, 3), (2, 3, 1))
    """
    d = normalize_dim(dim, x.ndim + 1, "unsqueeze")
    shape = tuple(x.shape)
    return Reshape.apply(x, shape[:d] + (1,) + shape[d:])


# ------------------------------------------------------------------------ cat, stack
def _as_tensor_list(tensors, op):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}() takes a list or tuple of tensors, not a single Tensor; "
                        f"write {op}([a, b]) (or list(x.unbind()) to split one tensor)")
    ts = [t if isinstance(t, Tensor) else _wrap(np.asarray(t)) for t in tensors]
    if not ts:
        raise RuntimeError(f"{op}() expects a non-empty list of tensors")
    return ts


def _common_dtype(ts):
    """PyTorch's promotion for a list: the widest float if any is float, else NumPy's."""
    floats = [t.dtype for t in ts if t.dtype.kind in "fc"]
    return np.result_type(*floats) if floats else np.result_type(*[t.dtype for t in ts])


def _promote(ts):
    dt = _common_dtype(ts)
    return [t if t.dtype == dt else t.to(dtype=dt) for t in ts]


def cat(tensors, dim=0):
    """Concatenate tensors along an existing dimension.

    All shapes must agree except in ``dim``. Mixed dtypes promote as in PyTorch (float32
    with float64 gives float64). Legacy empty 1-D tensors of shape (0,) are skipped.

    Args:
        tensors: a list or tuple of tensors, each with at least one dimension.
        dim: the dimension to join along.

    Example:
        >>> import nerve as nv
        >>> from nerve.functional.shape import cat
        >>> cat([nv.zeros(2, 3), nv.ones(1, 3)]).shape
        (3, 3)
    """
    ts = _as_tensor_list(tensors, "cat")
    kept = [t for t in ts if t.shape != (0,)]
    ts = kept or ts[:1]
    ref = ts[0]
    for i, t in enumerate(ts):
        if t.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated; use stack() to join scalars, or unsqueeze(0) them first")
    nd = ref.ndim
    axis = normalize_dim(dim, nd, "cat")
    for i, t in enumerate(ts[1:], 1):
        if t.ndim != nd:
            raise RuntimeError(
                f"cat: tensors must have the same number of dimensions, but tensor 0 has shape "
                f"{fmt_shape(ref.shape)} and tensor {i} has shape {fmt_shape(t.shape)}")
        bad = [d for d in range(nd) if d != axis and t.shape[d] != ref.shape[d]]
        if bad:
            raise RuntimeError(
                f"cat: sizes must match except in dimension {axis}, but tensor 0 has shape "
                f"{fmt_shape(ref.shape)} and tensor {i} has shape {fmt_shape(t.shape)} "
                f"(they differ in dimension {bad[0]}). Concatenate along dim={bad[0]}, or "
                "reshape the tensors so they agree")
    if len(ts) == 1:
        return Reshape.apply(ts[0], tuple(ts[0].shape))
    return Cat.apply(*_promote(ts), axis=axis)


concat = concatenate = cat


def stack(tensors, dim=0):
    """Join tensors of equal shape along a new dimension ``dim``.

    Example:
        >>> import nerve as nv
        >>> from nerve.functional.shape import stack
        >>> stack([nv.zeros(2, 3), nv.ones(2, 3)], dim=1).shape
        (2, 2, 3)
    """
    ts = _as_tensor_list(tensors, "stack")
    ref = ts[0]
    for i, t in enumerate(ts[1:], 1):
        if t.shape != ref.shape:
            raise RuntimeError(
                f"stack: expects each tensor to be the same shape, but tensor 0 has shape "
                f"{fmt_shape(ref.shape)} and tensor {i} has shape {fmt_shape(t.shape)}")
    axis = normalize_dim(dim, ref.ndim + 1, "stack")
    return Stack.apply(*_promote(ts), axis=axis)


# ----------------------------------------------------------- split, chunk, unbind, narrow
def _slice_along(x, axis, start, stop):
    return GetItem.apply(x, (slice(None),) * axis + (slice(start, stop),))


class Split(Function):
    """Cut ``x`` along ``axis`` into views, one op with several outputs.

    ``bounds`` lists each piece's (start, stop); with ``drop`` the axis is indexed away
    (``unbind``). Backward joins the pieces' gradients with one concatenate (or stack),
    zeros standing in for pieces that got none.
    """
    is_view = True

    def forward(ctx, x, axis, bounds, drop):
        ctx.axis, ctx.drop = axis, drop
        pre = (slice(None),) * axis
        if drop:
            return tuple(x[pre + (i,)] for i in range(x.shape[axis]))
        return tuple(x[pre + (slice(a, b),)] for a, b in bounds)

    def backward(ctx, *grads):
        if ctx.drop:
            return ctx.xp.stack(grads, axis=ctx.axis), None, None, None
        return ctx.xp.concatenate(grads, axis=ctx.axis), None, None, None


def split(x, split_size_or_sections, dim=0):
    """Split into pieces along ``dim``: of size ``split_size_or_sections`` each (the last
    may be smaller), or of the listed sizes, which must add up to the dimension's size.

    Returns a tuple of tensors; each piece's gradient flows back to its slice.

    Example:
        >>> import nerve as nv
        >>> [p.shape for p in nv.zeros(5, 2).split(2)]
        [(2, 2), (2, 2), (1, 2)]
        >>> [p.shape for p in nv.zeros(5, 2).split([1, 4])]
        [(1, 2), (4, 2)]
    """
    if x.ndim == 0:
        raise RuntimeError("split: cannot split a 0-d tensor; it has no dimension to split along")
    axis = normalize_dim(dim, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0 and n > 0:
            raise ValueError(f"split: split_size must be a positive integer, got {size}")
        starts = list(range(0, n, size)) if n else [0]
        bounds = [(a, min(a + size, n)) for a in starts]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise RuntimeError(
                f"split: split sizes {sizes} add up to {sum(sizes)}, but dimension {axis} of a "
                f"tensor of shape {fmt_shape(x.shape)} has size {n}; the sizes must be "
                "non-negative and add up to it")
        ends = np.cumsum(sizes).tolist()
        bounds = list(zip([0] + ends[:-1], ends))
    if len(bounds) == 1:
        return (_slice_along(x, axis, *bounds[0]),)
    return Split.apply(x, axis, tuple(bounds), False)


def chunk(x, chunks, dim=0):
    """Split into ``chunks`` pieces of size ceil(n / chunks) along ``dim`` (fewer pieces
    when n does not fill them all, as in PyTorch).

    Example:
        >>> import nerve as nv
        >>> [p.shape[0] for p in nv.zeros(5).chunk(4)]
        [2, 2, 1]
    """
    chunks = int(chunks)
    if chunks <= 0:
        raise ValueError(f"chunk: the number of chunks must be a positive integer, got {chunks}")
    if x.ndim == 0:
        raise RuntimeError("chunk: cannot chunk a 0-d tensor; it has no dimension to split along")
    axis = normalize_dim(dim, x.ndim, "chunk")
    n = x.shape[axis]
    if n == 0:  # PyTorch gives `chunks` empty pieces here
        return tuple(_slice_along(x, axis, 0, 0) for _ in range(chunks))
    return split(x, -(-n // chunks), dim)


def unbind(x, dim=0):
    """The slices along ``dim`` as a tuple, with that dimension removed.

    Example:
        >>> import nerve as nv
        >>> [r.tolist() for r in nv.tensor([[1.0, 2.0], [3.0, 4.0]]).unbind(1)]
        [[1.0, 3.0], [2.0, 4.0]]
    """
    if x.ndim == 0:
        raise RuntimeError("unbind: cannot unbind a 0-d tensor; it has no dimension")
    axis = normalize_dim(dim, x.ndim, "unbind")
    if x.shape[axis] == 0:
        return ()
    if x.shape[axis] == 1:
        return (GetItem.apply(x, (slice(None),) * axis + (0,)),)
    return Split.apply(x, axis, (), True)


def narrow(x, dim, start, length):
    """The slice ``start:start + length`` along ``dim``."""
    axis = normalize_dim(dim, x.ndim, "narrow")
    n = x.shape[axis]
    start = int(start) + (n if int(start) < 0 else 0)
    if not 0 <= start <= n or length < 0 or start + length > n:
        raise IndexError(f"narrow: start {start} and length {length} do not fit in dimension "
                         f"{axis} of size {n}")
    return _slice_along(x, axis, start, start + int(length))


def movedim(x, source, destination):
    """Move dimension(s) ``source`` to position(s) ``destination``, keeping the others in order."""
    src = normalize_dim(source, x.ndim, "movedim")
    dst = normalize_dim(destination, x.ndim, "movedim")
    src = src if isinstance(src, tuple) else (src,)
    dst = dst if isinstance(dst, tuple) else (dst,)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {source} and destination {destination} must have the "
                         "same number of dimensions")
    if x.ndim == 0:  # dims 0 and -1 of a 0-d tensor name the tensor itself, as in torch
        return Permute.apply(x, ())
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return Permute.apply(x, tuple(order))


moveaxis = movedim


def swapaxes(x, axis0, axis1):
    return transpose(x, axis0, axis1)


# ------------------------------------------------------------------ flip, pad, repeat
def flip(x, dims):
    """Reverse the order of elements along ``dims`` (an int or a sequence); returns a copy.

    Example:
        >>> import nerve as nv
        >>> nv.tensor([[1.0, 2.0], [3.0, 4.0]]).flip(1).tolist()
        [[2.0, 1.0], [4.0, 3.0]]
    """
    axes = normalize_dim(dims, x.ndim, "flip") if x.ndim else ()
    axes = axes if isinstance(axes, tuple) else (axes,)
    return Flip.apply(x, axes)


def _pad_widths(x, pad, op="pad"):
    """Turn PyTorch's pad tuple (last dimension first: left, right, top, bottom, ...)
    into NumPy's per-axis (before, after) pairs."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(
            f"{op}: the pad tuple must have an even length of at most 2·ndim = {2 * x.ndim} "
            f"for a tensor of shape {fmt_shape(x.shape)}, got {len(pad)} values {pad}. It lists "
            "(left, right) for the last dimension first, then for the one before it, ...")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    for d, ((a, b), s) in enumerate(zip(widths, x.shape)):
        if s + a + b < 0:
            raise RuntimeError(f"{op}: padding ({a}, {b}) on dimension {d} of size {s} would give "
                               f"a negative size {s + a + b}")
        if -a > s or -b > s:
            # As PyTorch: a crop reaching past the far edge would otherwise wrap into padding.
            raise RuntimeError(f"{op}: padding ({a}, {b}) on dimension {d} of size {s} crops more than "
                               f"the {s} elements there; crop at most the whole dimension")
    return tuple(widths)


# Reflect, replicate and circular padding: each padded position reads a source index;
# the backward (PadAdjoint) adds every padded position's gradient back onto its source.
_NP_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}   # ours -> np.pad's


def _pad_sources(n, lo, hi, mode):
    """For one axis: the source index in [0, n) of every padded position."""
    # index bookkeeping is tiny, always on the host (NumPy even on a GPU)
    return np.pad(np.arange(n), (lo, hi), mode=_NP_MODES[mode])


def _pad_array(xp, x, pairs, mode):
    width = [(0, 0)] * (x.ndim - len(pairs)) + list(pairs)
    return xp.pad(x, width, mode=_NP_MODES[mode])


def _pad_adjoint_array(xp, g, shape, pairs, mode):
    """The transpose of padding: every padded position adds its gradient to its source."""
    lead = len(shape) - len(pairs)
    for k, (lo, hi) in enumerate(pairs):
        ax = lead + k
        n = shape[ax]
        g = xp.moveaxis(g, ax, -1)
        inner = g[..., lo:lo + n].copy()
        if lo or hi:
            src = _pad_sources(n, lo, hi, mode)
            border = list(range(lo)) + list(range(lo + n, lo + n + hi))
            # Border positions map back onto the interior, some several times
            # (replicate), so they are scattered with an unbuffered add.
            xp.add.at(inner, (Ellipsis, xp.asarray(src[border])), g[..., border])
        g = xp.moveaxis(inner, -1, ax)
    return xp.ascontiguousarray(g)


class PadND(Function):
    """Pad trailing dimensions by reflection, replication or wrap-around (constant padding
    is PadConstant)."""

    def forward(ctx, x, pairs, mode):
        ctx.shape, ctx.pairs, ctx.mode = x.shape, pairs, mode
        return _pad_array(ctx.xp, x, pairs, mode)

    def backward(ctx, grad):
        return ctx.xp.nerve_pad_adjoint(grad, ctx.shape, ctx.pairs, ctx.mode), None, None


class PadAdjoint(Function):
    """The backward of PadND as an op, so padding is differentiable to any order."""

    def forward(ctx, g, shape, pairs, mode):
        ctx.pairs, ctx.mode = pairs, mode
        return _pad_adjoint_array(ctx.xp, g, shape, pairs, mode)

    def backward(ctx, grad):
        return ctx.xp.nerve_pad(grad, ctx.pairs, ctx.mode), None, None, None


register_extra("nerve_pad_adjoint", _pad_adjoint_array)
register_extra("nerve_pad", _pad_array)


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    """Pad (or, in constant mode, crop with negative amounts) the trailing dimensions: ``F.pad``.

    ``pad`` lists amounts from the **last** dimension backwards: ``(left, right)`` pads
    the last dimension, ``(left, right, top, bottom)`` the last two, and so on. Modes, as in
    PyTorch: 'constant' fills with ``value`` (default 0); 'reflect' mirrors without the edge
    element (each amount < the size it pads); 'replicate' repeats the edge; 'circular'
    wraps around (each amount ≤ the size it pads).

    Shapes: (..., H, W) → (..., H + top + bottom, W + left + right).

    Example:
        >>> import nerve as nv
        >>> import nerve.functional as F
        >>> F.pad(nv.ones(2, 3), (1, 2)).shape
        (2, 6)
        >>> F.pad(nv.ones(1, 1), (0, 0, 1, 0), value=5.0).tolist()
        [[5.0], [1.0]]
        >>> F.pad(nv.tensor([[[1.0, 2.0, 3.0]]]), (2, 1), mode="reflect").tolist()
        [[[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]]
    """
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: mode {mode!r} is not available; supported modes: {list(_PAD_MODES)}")
    widths = _pad_widths(input, pad)
    if mode == "constant":
        return PadConstant.apply(input, widths, 0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f"pad: value= only applies to mode='constant', not {mode!r}")
    k = len(pad) // 2
    pairs = widths[input.ndim - k:]
    for (lo, hi), n in zip(pairs, input.shape[input.ndim - k:]):
        if lo < 0 or hi < 0:
            raise ValueError(f"pad: negative padding {tuple(pad)} crops only in mode='constant'; "
                             f"slice the tensor instead")
        if mode == "reflect" and max(lo, hi) >= n:
            raise ValueError(f"pad: reflect padding {max(lo, hi)} must be smaller than the dimension "
                             f"it pads ({n}) for an input of shape {fmt_shape(input.shape)}")
        if mode == "circular" and max(lo, hi) > n:
            raise ValueError(f"pad: circular padding {max(lo, hi)} cannot exceed the dimension "
                             f"it wraps ({n}) for an input of shape {fmt_shape(input.shape)}")
    return PadND.apply(input, pairs, mode)


def repeat(x, *sizes):
    """Tile the tensor ``sizes[i]`` times along each dimension (``Tensor.repeat``).

    ``len(sizes)`` may exceed ``x.ndim``: new leading dimensions are added.

    Example:
        >>> import nerve as nv
        >>> nv.tensor([1.0, 2.0]).repeat(2, 2).tolist()
        [[1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 1.0, 2.0]]
    """
    reps = tuple(int(s) for s in _shape_arg(sizes))
    if len(reps) < x.ndim:
        raise RuntimeError(
            f"repeat: got {len(reps)} repeat counts {reps} for a tensor with {x.ndim} dimensions "
            f"(shape {fmt_shape(x.shape)}); give at least one per dimension, or use tile()")
    if any(r < 0 for r in reps):
        raise ValueError(f"repeat: repeat counts must be non-negative, got {reps}")
    return Repeat.apply(x, reps)


def tile(x, dims):
    """Like :func:`repeat`, but fewer counts than dimensions are padded with 1s in front.

    Example:
        >>> import nerve as nv
        >>> nv.zeros(2, 3).tile((2,)).shape
        (2, 6)
    """
    reps = tuple(int(s) for s in (dims if isinstance(dims, (tuple, list)) else (dims,)))
    reps = (1,) * (x.ndim - len(reps)) + reps
    return repeat(x, reps)


def contiguous(x, memory_format=None):
    """The tensor itself: NumPy-backed tensors need no layout change to be used."""
    return x


# --------------------------------------------------------------- gather, scatter, index
def _int_index(index, op):
    a = index._data if isinstance(index, Tensor) else np.asarray(index)
    if a.dtype.kind not in "iu":
        raise index_dtype_error(op, a.dtype)
    return a


def _check_bounds(a, n, op, axis):
    if a.size:
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise IndexError(f"{op}: index {bad} is out of bounds for dimension {axis} with size {n}")


def _check_along(x, idx, axis, op, other=None):
    """torch's rule for gather/scatter: same ndim, and index no larger than x (and the
    source) in every dimension except ``axis``."""
    if idx.ndim != x.ndim:
        raise RuntimeError(f"{op}: index (shape {fmt_shape(idx.shape)}) must have as many "
                           f"dimensions as the input (shape {fmt_shape(x.shape)})")
    for name, t in (("input", x), ("src", other)):
        if t is None:
            continue
        for d in range(x.ndim):
            if (d != axis or name == "src") and idx.shape[d] > t.shape[d]:
                raise RuntimeError(
                    f"{op}: index shape {fmt_shape(idx.shape)} is larger than {name} shape "
                    f"{fmt_shape(t.shape)} in dimension {d}")


def gather(x, dim, index, *, _unique=False):
    """Pick values along ``dim`` at ``index``: for dim=1,
    ``out[i][j][k] = x[i][index[i][j][k]][k]``. ``out`` has the index's shape.

    The gradient adds grad back into the gathered positions (repeats accumulate).

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> x.gather(1, nv.tensor([[0, 0], [1, 0]])).tolist()
        [[1.0, 1.0], [4.0, 3.0]]
    """
    idx = _int_index(index, "gather")
    if x.ndim == 0:
        normalize_dim(dim, 0, "gather")
        return gather(x.reshape(1), 0, idx.reshape(1)).reshape(())
    axis = normalize_dim(dim, x.ndim, "gather")
    _check_along(x, idx, axis, "gather")
    _check_bounds(idx, x.shape[axis], "gather", axis)
    return Gather.apply(x, axis, idx, _unique)


def scatter_add(x, dim, index, src):
    """A copy of ``x`` with ``src`` added along ``dim`` at ``index``: for dim=0,
    ``out[index[i][j]][j] += src[i][j]``. Repeated indices accumulate.

    Example:
        >>> import nerve as nv
        >>> nv.zeros(3).scatter_add(0, nv.tensor([0, 2, 0]), nv.tensor([1.0, 2.0, 3.0])).tolist()
        [4.0, 0.0, 2.0]
    """
    idx = _int_index(index, "scatter_add")
    if not isinstance(src, Tensor):
        src = _wrap(np.asarray(src, dtype=x.dtype))
    if src.dtype != x.dtype:
        raise RuntimeError(f"scatter_add: src has dtype {src.dtype} but the input has dtype "
                           f"{x.dtype}; convert src with .to({x.dtype})")
    if x.ndim == 0:
        normalize_dim(dim, 0, "scatter_add")
        return scatter_add(x.reshape(1), 0, idx.reshape(1), src.reshape(1)).reshape(())
    axis = normalize_dim(dim, x.ndim, "scatter_add")
    _check_along(x, idx, axis, "scatter_add", src)
    _check_bounds(idx, x.shape[axis], "scatter_add", axis)
    if src.shape != idx.shape:  # only the index-shaped corner of src is used (torch)
        src = GetItem.apply(src, tuple(slice(0, s) for s in idx.shape))
    return ScatterAdd.apply(x, src, axis, idx)


def _index_1d(index, op):
    idx = _int_index(index, op)
    if idx.ndim > 1:
        raise RuntimeError(f"{op}: index must be 0-d or 1-d, got shape {fmt_shape(idx.shape)}")
    return idx.reshape(-1)


def index_select(x, dim, index):
    """The slices ``index[0], index[1], ...`` of ``x`` along ``dim``, in that order.

    Example:
        >>> import nerve as nv
        >>> nv.tensor([[1.0, 2.0], [3.0, 4.0]]).index_select(0, nv.tensor([1, 1])).tolist()
        [[3.0, 4.0], [3.0, 4.0]]
    """
    idx = _index_1d(index, "index_select")
    if x.ndim == 0:
        normalize_dim(dim, 0, "index_select")
        return index_select(x.reshape(1), 0, idx).reshape(())
    axis = normalize_dim(dim, x.ndim, "index_select")
    _check_bounds(idx, x.shape[axis], "index_select", axis)
    return GetItem.apply(x, (slice(None),) * axis + (idx,))


def index_add(x, dim, index, source, *, alpha=1):
    """A copy of ``x`` with ``alpha · source[..., i, ...]`` added to ``x[..., index[i], ...]``
    along ``dim``; repeated indices accumulate.

    Example:
        >>> import nerve as nv
        >>> nv.zeros(3, 1).index_add(0, nv.tensor([2, 2]), nv.ones(2, 1)).tolist()
        [[0.0], [0.0], [2.0]]
    """
    idx = _index_1d(index, "index_add")
    if not isinstance(source, Tensor):
        source = _wrap(np.asarray(source, dtype=x.dtype))
    if x.ndim == 0:
        normalize_dim(dim, 0, "index_add")
        return index_add(x.reshape(1), 0, idx, source.reshape(1), alpha=alpha).reshape(())
    axis = normalize_dim(dim, x.ndim, "index_add")
    want = tuple(x.shape[:axis]) + (idx.size,) + tuple(x.shape[axis + 1:])
    if tuple(source.shape) != want:
        raise RuntimeError(
            f"index_add: source has shape {fmt_shape(source.shape)} but must have shape "
            f"{fmt_shape(want)} (the input's shape {fmt_shape(x.shape)} with dimension {axis} "
            f"replaced by the {idx.size} indices)")
    if source.dtype != x.dtype:
        raise RuntimeError(f"index_add: source has dtype {source.dtype} but the input has dtype "
                           f"{x.dtype}; convert it with .to({x.dtype})")
    _check_bounds(idx, x.shape[axis], "index_add", axis)
    return IndexAdd.apply(x, source, axis, idx, alpha)


def masked_fill(x, mask, value):
    """``x`` with ``value`` wherever the boolean ``mask`` (broadcast to x's shape) is True.

    ``value`` is a number or a 0-d tensor (which then receives the sum of the gradient
    over the filled positions).

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor([1.0, 2.0, 3.0])
        >>> x.masked_fill(x > 1.5, 0.0).tolist()
        [1.0, 0.0, 0.0]
    """
    from .elementwise import where  # noqa: PLC0415

    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {m.dtype}; "
                        "build it with a comparison (x > 0) or convert it with .bool()")
    try:
        shape = np.broadcast_shapes(m.shape, tuple(x.shape))
    except ValueError:
        shape = None
    if shape != tuple(x.shape):
        raise RuntimeError(f"masked_fill: mask of shape {fmt_shape(m.shape)} cannot be broadcast "
                           f"to the input's shape {fmt_shape(x.shape)}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill: value must be a number or a 0-d tensor, got a tensor "
                               f"of shape {fmt_shape(value.shape)}")
        if value.dtype != x.dtype:
            value = value.to(dtype=x.dtype)
    else:
        value = x.dtype.type(value)
    return where(m, value, x)


def _T(x):
    return x.permute(*reversed(range(x.ndim))) if x.ndim >= 2 else x


TENSOR_METHODS = {
    "reshape": reshape, "view": view, "flatten": flatten, "permute": permute,
    "transpose": transpose, "t": t, "expand": expand, "expand_as": expand_as, "view_as": view_as,
    "broadcast_to": broadcast_to, "__getitem__": getitem, "T": property(_T),
    "mT": property(_mT),
    "squeeze": squeeze, "unsqueeze": unsqueeze, "split": split, "chunk": chunk,
    "unbind": unbind, "narrow": narrow, "movedim": movedim, "moveaxis": movedim,
    "swapaxes": swapaxes, "flip": flip, "repeat": repeat, "tile": tile,
    "contiguous": contiguous, "gather": gather, "scatter_add": scatter_add,
    "index_select": index_select, "index_add": index_add, "masked_fill": masked_fill,
}


# NumPy-style signatures for backward formulas run under create_graph (ctx.xp.<name>).
def _np_transpose(x, axes=None):
    return permute(x, *(axes if axes is not None else reversed(range(x.ndim))))


def _np_expand_dims(a, axis):
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    nd = a.ndim + len(axes)
    for d in sorted(normalize_dim(ax, nd, "expand_dims") for ax in axes):
        a = unsqueeze(a, d)
    return a


def _np_flip(m, axis=None):
    return flip(m, tuple(range(m.ndim)) if axis is None else axis)


def _np_pad(array, pad_width, mode="constant", constant_values=0):
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} has no differentiable version yet")
    w = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2) if np.ndim(pad_width)
                        else np.full((1, 2), int(pad_width)), (array.ndim, 2))
    return PadConstant.apply(array, tuple((int(a), int(b)) for a, b in w), constant_values)


def _np_take_along_axis(arr, indices, axis):
    idx = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if axis is None:
        arr, axis = arr.reshape((-1,)), 0
    axis = normalize_dim(axis, arr.ndim, "take_along_axis")
    both = [s if d == axis else np.broadcast_shapes((s,), (i,))[0]
            for d, (s, i) in enumerate(zip(arr.shape, idx.shape))]
    if tuple(both) != tuple(arr.shape):
        arr = broadcast_to(arr, tuple(both))
    both[axis] = idx.shape[axis]
    return Gather.apply(arr, axis, np.broadcast_to(idx, tuple(both)), False)


GRAPH_NAMESPACE = {
    "nerve_pad": lambda x, pairs, mode: PadND.apply(x, pairs, mode),
    "nerve_pad_adjoint": lambda g, shape, pairs, mode: PadAdjoint.apply(g, shape, pairs, mode),
    "broadcast_to": broadcast_to,
    "reshape": lambda x, shape: reshape(x, shape),
    "transpose": _np_transpose,
    "index_add_to": lambda grad, shape, idx: IndexAddTo.apply(grad, shape, idx),
    "concatenate": lambda arrays, axis=0: cat(list(arrays), axis),
    "stack": lambda arrays, axis=0: stack(list(arrays), axis),
    "expand_dims": _np_expand_dims,
    "squeeze": lambda a, axis=None: squeeze(a, axis),
    "flip": _np_flip,
    "moveaxis": movedim,
    "swapaxes": swapaxes,
    "tile": tile,
    "pad": _np_pad,
    "take_along_axis": _np_take_along_axis,
    "pad_constant": lambda x, widths, value=0: PadConstant.apply(x, tuple(map(tuple, widths)), value),
    "gather_along": lambda x, axis, index: Gather.apply(x, axis, index, False),
    "scatter_add_along": lambda src, shape, axis, index, unique=False: ScatterAddAlong.apply(
        src, shape, axis, index, unique),
}


def _upscale_arg(r, op):
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 1:
        raise ValueError(f"{op}: the factor must be a positive integer, got {r!r}")
    return int(r)


def pixel_shuffle(input, upscale_factor):  # noqa: A002
    """Rearrange (*, C·r², H, W) into (*, C, H·r, W·r), as ``torch.nn.functional.pixel_shuffle``.

    Output pixel (c, h·r + i, w·r + j) is input channel c·r² + i·r + j at (h, w): the
    sub-pixel convolution of Shi et al. (2016), which upsamples by learning r² feature maps
    per output channel. A reshape, a permute and a reshape, so gradients come for free.

    Example:
        >>> import nerve as nv
        >>> pixel_shuffle(nv.arange(8.0).reshape(1, 4, 1, 2), 2)[0, 0].tolist()
        [[0.0, 2.0, 1.0, 3.0], [4.0, 6.0, 5.0, 7.0]]
    """
    r = _upscale_arg(upscale_factor, "pixel_shuffle")
    if input.ndim < 3 or input.shape[-3] % (r * r):
        raise ValueError(f"pixel_shuffle: expected (*, C*{r * r}, H, W) with channels divisible by "
                         f"{r * r}, got shape {fmt_shape(input.shape)}")
    *lead, c, h, w = input.shape
    n = len(lead)
    x = reshape(input, *lead, c // (r * r), r, r, h, w)
    x = permute(x, *range(n), n, n + 3, n + 1, n + 4, n + 2)
    return reshape(x, *lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):  # noqa: A002
    """Rearrange (*, C, H·r, W·r) into (*, C·r², H, W): the inverse of :func:`pixel_shuffle`.

    Example:
        >>> import nerve as nv
        >>> x = nv.arange(16.0).reshape(1, 1, 4, 4)
        >>> bool((pixel_shuffle(pixel_unshuffle(x, 2), 2) == x).all())
        True
    """
    r = _upscale_arg(downscale_factor, "pixel_unshuffle")
    if input.ndim < 3 or input.shape[-2] % r or input.shape[-1] % r:
        raise ValueError(f"pixel_unshuffle: expected (*, C, H, W) with H and W divisible by {r}, got "
                         f"shape {fmt_shape(input.shape)}")
    *lead, c, h, w = input.shape
    n = len(lead)
    x = reshape(input, *lead, c, h // r, r, w // r, r)
    x = permute(x, *range(n), n, n + 2, n + 4, n + 1, n + 3)
    return reshape(x, *lead, c * r * r, h // r, w // r)
