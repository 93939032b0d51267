"""Writing into tensors: the in-place methods (``add_``, ``x[i] = v``, ``x -= y`` ...) and
the write ops they need (fill, copy, index_put, scatter, index_fill).

Every in-place method goes through :func:`nerve.autograd.tensor._inplace`, which applies
PyTorch's rules: the storage's version counter is bumped (so backward refuses a saved
value that changed), a leaf that requires grad cannot be changed while gradients are
recorded, and a non-leaf takes the op into its history, so gradients stay exact::

    with nv.no_grad():
        w -= lr * w.grad          # a real update of w's storage
    h = x.exp()
    h[0] = 0.0                    # differentiable: d/dx of h[1:] still flows
"""
from __future__ import annotations

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.tensor import (_MUT, VIEW_REPLAY, VIEW_WRITER, Tensor, _alias_saved_output, _bump,
                               _inplace, _mark_rebase, _move_retained, _wrap)
from ..backend import get_array_module
from ..random import default_generator
from ._errors import fmt_shape
from ._util import normalize_dim
from .activation import relu, sigmoid, tanh
from .elementwise import (abs, add, bitwise_and, bitwise_or, bitwise_xor, clamp, cos, div,  # noqa: A004
                          exp, floor_divide, log, log1p, mul, neg, pow, reciprocal, remainder, sin,
                          sqrt, square, sub)
from .shape import IndexAddTo, _index_data, broadcast_to, masked_fill

__all__ = ["fill", "index_put", "scatter", "index_fill"]


# ------------------------------------------------------------------------ write ops
class Fill(Function):
    """``x`` replaced by a constant: no gradient reaches ``x``."""

    def forward(ctx, x, value):
        return ctx.xp.full(x.shape, value, dtype=x.dtype)

    def backward(ctx, grad):
        return grad * 0, None


class CopyFrom(Function):
    """``src`` broadcast to ``x``'s shape and cast to its dtype (``x.copy_(src)``)."""

    def forward(ctx, x, src):
        ctx.shape = getattr(src, "shape", ())
        return ctx.xp.broadcast_to(ctx.xp.asarray(src, dtype=x.dtype), x.shape).copy()

    def backward(ctx, grad):
        n = ctx.needs_input_grad
        return (grad * 0 if n[0] else None,
                ctx.xp.unbroadcast(grad, ctx.shape) if n[1] else None)


class IndexPut(Function):
    """``x`` with ``x[idx] = v`` (basic or advanced index, ``v`` broadcast to the slot).

    With repeated advanced indices the last write wins, as in NumPy and PyTorch.
    """

    def forward(ctx, x, v, idx):
        ctx.idx, ctx.vshape, ctx.m = idx, getattr(v, "shape", ()), ctx.xp.module
        out = x.copy()
        out[idx] = v
        return out

    def backward(ctx, grad):
        n = ctx.needs_input_grad
        gx = gv = None
        if n[0]:
            keep = ctx.m.ones(grad.shape, dtype=grad.dtype)
            keep[ctx.idx] = 0  # the overwritten positions pass no gradient back to x
            gx = grad * keep
        if n[1]:
            gv = ctx.xp.unbroadcast(grad[ctx.idx], ctx.vshape)
        return gx, gv, None


class Scatter(Function):
    """``x`` with ``src`` written at ``index`` along ``axis`` (PyTorch's ``scatter``)."""

    def forward(ctx, x, src, axis, index):
        ctx.axis, ctx.index, ctx.m = axis, index, ctx.xp.module
        ctx.scalar = not hasattr(src, "shape") or src.ndim == 0
        ctx.sshape = None if ctx.scalar else src.shape
        out = x.copy()
        vals = ctx.m.broadcast_to(src, index.shape) if ctx.scalar else _crop(src, index.shape)
        ctx.m.put_along_axis(out, index, vals, ctx.axis)
        return out

    def backward(ctx, grad):
        n = ctx.needs_input_grad
        gx = gs = None
        if n[0]:
            keep = ctx.m.ones(grad.shape, dtype=grad.dtype)
            ctx.m.put_along_axis(keep, ctx.index, 0, ctx.axis)
            gx = grad * keep
        if n[1]:
            g = ctx.xp.take_along_axis(grad, ctx.index, axis=ctx.axis)
            if ctx.scalar:
                gs = g.sum()
            elif tuple(g.shape) != tuple(ctx.sshape):  # src's unread tail gets no gradient
                gs = ctx.xp.pad(g, [(0, s - i) for s, i in zip(ctx.sshape, g.shape)])
            else:
                gs = g
        return gx, gs, None, None


def _crop(src, shape):
    """The leading ``shape`` block of ``src`` (scatter reads only that much of src)."""
    return src[tuple(slice(0, s) for s in shape)]


class PutFlat(Function):
    """The base with the view's elements (at C-order positions ``pos``) replaced by ``v``:
    the graph of a write through a view (PyTorch's CopySlices)."""

    def forward(ctx, b, v, pos):
        ctx.pos, ctx.vshape, ctx.m = pos, v.shape, ctx.xp.module
        out = b.copy()
        out.reshape(-1)[pos.reshape(-1)] = v.reshape(-1)
        return out

    def backward(ctx, grad):
        n = ctx.needs_input_grad
        gb = gv = None
        flat = ctx.pos.reshape(-1)
        if n[0]:
            keep = ctx.m.ones(grad.shape, dtype=grad.dtype)
            keep.reshape(-1)[flat] = 0
            gb = grad * keep
        if n[1]:
            gv = grad.reshape((-1,))[flat].reshape(ctx.vshape)
        return gb, gv, None


class TakeFlat(Function):
    """The elements of ``b`` at C-order positions ``pos`` (a view's values, as a graph)."""

    def forward(ctx, b, pos):
        ctx.pos, ctx.bshape = pos, b.shape
        return b.reshape(-1)[pos]

    def backward(ctx, grad):
        size = 1
        for d in ctx.bshape:
            size *= d
        g = ctx.xp.index_add_to(grad.reshape((-1,)), (size,), ctx.pos.reshape(-1))
        return g.reshape(ctx.bshape), None


def _addresses(a, start):
    """Byte offset of every element of ``a`` (C order), ``start`` for its first one."""
    out = np.full(a.shape, start, dtype=np.int64)
    for d, (n, st) in enumerate(zip(a.shape, a.strides)):
        shape = [1] * a.ndim
        shape[d] = n
        out = out + (np.arange(n, dtype=np.int64) * st).reshape(shape)
    return out


def _positions(base, view, name):
    """C-order positions in ``base`` of each element of ``view`` (which shares its memory)."""
    if not (isinstance(base, np.ndarray) and isinstance(view, np.ndarray)):
        raise RuntimeError(f"{name}: writing through a view while recording gradients is only "
                           "supported for NumPy arrays; write into the base with indexing")
    if view.size == 0:             # nothing to locate (an empty batch): no positions
        return np.zeros(view.shape, dtype=np.int64)
    b0 = base.__array_interface__["data"][0]
    v0 = view.__array_interface__["data"][0]
    ba = _addresses(base, 0).reshape(-1)
    va = _addresses(view, v0 - b0).reshape(-1)
    order = np.argsort(ba, kind="stable")
    sb = ba[order]
    i = np.minimum(np.searchsorted(sb, va), max(sb.size - 1, 0))
    if sb.size == 0 or not np.array_equal(sb[i], va) or np.unique(sb).size != sb.size:
        raise RuntimeError(f"{name}: this view's elements cannot be located in its base (a "
                           "broadcast or overlapping view); write into the base with indexing")
    return order[i].reshape(view.shape)


def _write_through_view(t, base, res, name, old_t):
    """A recorded in-place write through the view ``t`` of ``base``: the storage gets ``res``,
    the base's history gains a PutFlat node (a rebase), and ``t``'s history becomes its
    elements of the new base, so gradients through either are exact."""
    pos = _positions(base._data, t._data, name)
    old_b = _wrap(base._data, base.requires_grad)
    old_b._ctx, old_b._oidx, old_b._vc = base._ctx, base._oidx, base._vc
    new_b = PutFlat.apply(old_b, res, pos)
    _bump(t)                       # t and base share the counter
    t._data[...] = res._data       # the storage holds the new values
    if res._ctx is not None:
        _alias_saved_output(res._ctx, t._data, t)
        res._ctx._stamp = _MUT[0]
    node = new_b._ctx
    node._stamp = _MUT[0]
    _mark_rebase(node, old_b)
    base._ctx, base._oidx, base.requires_grad = node, 0, True
    _move_retained(base, old_b._ctx, old_b._oidx)
    _rehistory(t, TakeFlat.apply(base, pos), old_t)


def _rehistory(t, again, old_t):
    """Give ``t`` the history of ``again``; ops that used ``t`` before keep ``old_t``'s."""
    node = again._ctx
    node._stamp = _MUT[0]
    _mark_rebase(node, old_t)
    t._ctx, t._oidx, t.requires_grad = node, 0, True
    _move_retained(t, old_t._ctx, old_t._oidx)


VIEW_WRITER[0] = _write_through_view


def _replay_view(t, root):
    """A view's history made again: its elements of ``root`` as ``root`` is now."""
    if not root.requires_grad:
        return
    old_t = _wrap(t._data, t.requires_grad)
    old_t._ctx, old_t._oidx = t._ctx, t._oidx
    _rehistory(t, TakeFlat.apply(root, _positions(root._data, t._data, "view")), old_t)


VIEW_REPLAY[0] = _replay_view


def fill(x, value):
    """A tensor of ``x``'s shape and dtype filled with ``value`` (out of place)."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill: value must be a number or a 0-d tensor, got shape "
                               f"{fmt_shape(value.shape)}")
        return CopyFrom.apply(x, value)
    return Fill.apply(x, value)


def index_put(x, idx, value, accumulate=False):
    """``x`` with ``x[idx] = value`` as a new tensor; gradients reach both.

    ``accumulate=True`` adds instead (``x[idx] += value``), and a position that ``idx``
    names more than once receives every value, as ``torch.Tensor.index_put``.

    Example:
        >>> import nerve as nv
        >>> nv.zeros(3).index_put((nv.tensor([0, 0, 2]),), nv.tensor(1.0), accumulate=True).tolist()
        [2.0, 0.0, 1.0]
    """
    idx = _index_data(idx, x.shape)
    if isinstance(value, Tensor) and value.dtype != x.dtype:
        value = value.to(dtype=x.dtype)
    try:
        if accumulate:
            if not isinstance(value, Tensor):
                value = Tensor(np.asarray(value, dtype=x.dtype))
            slot = np.broadcast_to(np.empty((), dtype=np.int8), tuple(x.shape))[idx].shape
            return add(x, IndexAddTo.apply(broadcast_to(value, slot), tuple(x.shape), idx))
        return IndexPut.apply(x, value, idx)
    except (ValueError, IndexError) as e:
        raise RuntimeError(f"x[idx] = value on a tensor of shape {fmt_shape(x.shape)}: {e}") from None


def scatter(x, dim, index, src=None, value=None):
    """``x`` with ``src`` (or the number ``value``) written at ``index`` along ``dim``.

    For 2-D, ``out[index[i][j]][j] = src[i][j]`` with ``dim=0``. ``index`` has x's
    number of dimensions and may be smaller than x and src elsewhere.

    Example:
        >>> import nerve as nv
        >>> nv.zeros(2, 3).scatter(1, nv.tensor([[2], [0]]), 5.0).tolist()
        [[0.0, 0.0, 5.0], [5.0, 0.0, 0.0]]
    """
    if src is None and value is None:
        raise TypeError("scatter: give src (a tensor) or value (a number)")
    if src is not None and not isinstance(src, Tensor):
        value, src = src, None
    axis = normalize_dim(dim, x.ndim, "scatter")
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"scatter: index must be an integer tensor, got dtype {idx.dtype}")
    if idx.ndim != x.ndim:
        raise RuntimeError(f"scatter: index has {idx.ndim} dimensions but the tensor has {x.ndim}; "
                           "they must match")
    n = x.shape[axis]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"scatter: index values must lie in [-{n}, {n}) along dim {dim}, "
                         f"got {int(idx.min())}..{int(idx.max())}")
    idx = np.where(idx < 0, idx + n, idx) if idx.size and idx.min() < 0 else idx
    if src is not None:
        if src.dtype != x.dtype:
            src = src.to(dtype=x.dtype)
        return Scatter.apply(x, src, axis, idx)
    return Scatter.apply(x, x.dtype.type(value), axis, idx)


def index_fill(x, dim, index, value):
    """``x`` with every slice ``index`` along ``dim`` set to ``value``."""
    axis = normalize_dim(dim, x.ndim, "index_fill")
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu" or idx.ndim > 1:
        raise TypeError(f"index_fill: index must be a 0-d or 1-D integer tensor, got dtype "
                        f"{idx.dtype} and shape {fmt_shape(idx.shape)}")
    return index_put(x, (slice(None),) * axis + (idx.reshape(-1),), value)


# --------------------------------------------------------------- the in-place methods
def _method(name, fn):
    def method(self, *args, **kwargs):
        return _inplace(self, name, lambda t, *a: fn(t, *a, **kwargs), *args)

    method.__name__ = name
    method.__doc__ = f"In place: ``x.{name}(...)`` writes ``x.{name.rstrip('_')}(...)`` into x."
    return method


def _random_fill(name, draw):
    def method(self, *args, generator=None, **kwargs):
        if self.dtype.kind != "f":
            raise TypeError(f"{name}: needs a floating-point tensor, got dtype {self.dtype}")
        g = generator or default_generator()
        vals = get_array_module(self._data).asarray(draw(g, self.shape, *args, **kwargs),
                                                    dtype=self.dtype)
        # the same rules as every in-place op (a leaf that requires grad refuses; a non-leaf
        # now holds constants, and earlier users keep its old history)
        return _inplace(self, name, lambda t: CopyFrom.apply(t, vals))

    method.__name__ = name
    return method


def _uniform(g, shape, a=0.0, b=1.0, **_):
    return g.uniform(a, b, size=shape)


def _normal(g, shape, mean=0.0, std=1.0, **_):
    return g.normal(mean, std, size=shape)


def _setitem(self, idx, value):
    if not grad_mode._enabled or not (self.requires_grad or (
            isinstance(value, Tensor) and value.requires_grad)):
        try:  # nothing to record: write straight into the storage
            self._data[_index_data(idx, self.shape)] = value._data if isinstance(value, Tensor) else value
        except (ValueError, IndexError) as e:
            raise RuntimeError(
                f"x[idx] = value on a tensor of shape {fmt_shape(self.shape)}: {e}") from None
        _bump(self)
        return
    _inplace(self, "__setitem__", lambda t, v: index_put(t, idx, v), value)


def _iop(fn, name):
    def method(self, other):
        return _inplace(self, name, fn, other)

    method.__name__ = name
    return method


def _ifloordiv(self, other):
    if self.requires_grad and grad_mode._enabled:
        # the history would stay that of the old values and hand back their gradient
        raise RuntimeError("x //= y on a tensor that requires grad: floor division has no "
                           "gradient; write x = x // y (a new tensor without history), or do it "
                           "under no_grad()")
    return _inplace(self, "__ifloordiv__", floor_divide, other)


def _div(x, y, rounding_mode=None):
    if rounding_mode is not None:
        raise ValueError(f"div_: rounding_mode={rounding_mode!r} is not supported; divide and "
                         "round explicitly")
    return div(x, y)


def _clamp_min(x, m):
    return clamp(x, min=m)


def _clamp_max(x, m):
    return clamp(x, max=m)


def _addcmul(x, t1, t2, value=1):
    return x + value * t1 * t2


def _addcdiv(x, t1, t2, value=1):
    return x + value * t1 / t2


def _lerp(x, end, weight):
    return x + weight * (end - x)


def _zero(x):
    return Fill.apply(x, 0)


TENSOR_METHODS = {
    "add_": _method("add_", add), "sub_": _method("sub_", sub), "mul_": _method("mul_", mul),
    "div_": _method("div_", _div), "pow_": _method("pow_", pow),
    "clamp_": _method("clamp_", clamp), "clip_": _method("clip_", clamp),
    "clamp_min_": _method("clamp_min_", _clamp_min), "clamp_max_": _method("clamp_max_", _clamp_max),
    "exp_": _method("exp_", exp), "log_": _method("log_", log), "log1p_": _method("log1p_", log1p),
    "neg_": _method("neg_", neg), "abs_": _method("abs_", abs), "sqrt_": _method("sqrt_", sqrt),
    "square_": _method("square_", square), "reciprocal_": _method("reciprocal_", reciprocal),
    "sin_": _method("sin_", sin), "cos_": _method("cos_", cos),
    "sigmoid_": _method("sigmoid_", sigmoid), "tanh_": _method("tanh_", tanh),
    "relu_": _method("relu_", relu),
    "addcmul_": _method("addcmul_", _addcmul), "addcdiv_": _method("addcdiv_", _addcdiv),
    "lerp_": _method("lerp_", _lerp),
    "zero_": _method("zero_", _zero), "fill_": _method("fill_", fill),
    "copy_": _method("copy_", lambda x, src: CopyFrom.apply(x, src)),
    "masked_fill_": _method("masked_fill_", masked_fill),
    "index_fill_": _method("index_fill_", index_fill),
    "scatter_": _method("scatter_", scatter),
    "uniform_": _random_fill("uniform_", _uniform), "normal_": _random_fill("normal_", _normal),
    "__iadd__": _iop(add, "__iadd__"), "__isub__": _iop(sub, "__isub__"),
    "__imul__": _iop(mul, "__imul__"), "__itruediv__": _iop(div, "__itruediv__"),
    # mask &= other writes into mask (and into the tensor it is a view of), as in torch;
    # without these Python rebinds the name to a new tensor and the view's base is untouched
    "__iand__": _iop(bitwise_and, "__iand__"), "__ior__": _iop(bitwise_or, "__ior__"),
    "__ixor__": _iop(bitwise_xor, "__ixor__"),
    "__ifloordiv__": _ifloordiv, "__imod__": _iop(remainder, "__imod__"),
    "__setitem__": _setitem,
    "fill": fill, "scatter": scatter, "index_fill": index_fill, "index_put": index_put,
}
