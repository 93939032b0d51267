"""Reductions: sum, mean, var, std, max, min, logsumexp, prod, cumsum, norm ...

``dim`` may be an int, a tuple or None (all dimensions); ``keepdim`` keeps the reduced
dimensions with size 1. NumPy's names ``axis``/``keepdims`` are accepted too, as in
PyTorch.

Sub-gradients where the function has a kink follow PyTorch:

* ``max``/``min``/``amax``/``amin`` without a dim, and ``amax``/``amin`` with one, split
  the gradient **evenly among tied maxima** (each of k ties gets grad / k).
* ``max(dim)``/``min(dim)`` send the whole gradient to the **index they return**, which
  is the first maximum (minimum) along the dimension, as ``argmax`` returns.
* ``std`` and ``norm`` have gradient 0 where the result is 0 (instead of 0/0).
* ``prod`` differentiates through zeros exactly, without dividing by zero.
"""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from ..autograd.function import Function
from ..backend import get_array_module
from ._util import Tensor, _wrap, data_of, normalize_dim

__all__ = ["sum", "mean", "var", "std", "var_mean", "std_mean", "max", "min", "amax", "amin",
           "argmax", "argmin", "logsumexp", "prod", "cumsum", "cumprod", "diff", "all", "any", "norm",
           "MaxResult", "MinResult"]

# torch.return_types.max / min: a tuple that also has .values and .indices.
MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


# ------------------------------------------------------------------------ helpers
def _expand_back(xp, grad, shape, axes, keepdim):
    """Broadcast a reduced gradient back to the input shape (arrays or Tensors)."""
    if not keepdim and axes is not None:
        kept = list(shape)
        for a in axes:
            kept[a] = 1
        grad = grad.reshape(tuple(kept))
    return xp.broadcast_to(grad, shape)


def _axes(dim, ndim, op):
    """A tuple of non-negative axes, or None for "all dimensions"."""
    if dim is None:
        return None
    d = normalize_dim(dim, ndim, op)
    d = d if isinstance(d, tuple) else (d,)
    if ndim == 0 or not d:  # an empty dim list means every dimension, as in PyTorch
        return None  # (PyTorch also accepts dim 0 / -1 on a 0-d tensor)
    if len(set(d)) != len(d):
        raise RuntimeError(f"{op}: dimension {dim} appears more than once in the list of dims")
    return d


def _kept_shape(shape, axes):
    """The shape a reduction over ``axes`` has with keepdim=True."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _count(shape, axes):
    """How many elements each reduced slice holds."""
    n = 1
    for i, s in enumerate(shape):
        if axes is None or i in axes:
            n *= s
    return n


def _dim_args(dim, axis, keepdim, keepdims):
    if axis is not None:
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    return dim, builtins.bool(keepdim)


def _need_float(x, op):
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"{op}() needs a floating-point tensor, got dtype {x.dtype}; "
                           "call .float() first")


def _need_elements(x, axes, op):
    if x._data.size == 0 and (axes is None or builtins.any(x.shape[a] == 0 for a in axes)):
        raise RuntimeError(
            f"{op}(): cannot reduce an empty slice of a tensor of shape {tuple(x.shape)}; "
            "the maximum/minimum of nothing is undefined. Check the shape, or pass a dim "
            "whose size is not 0")


# ----------------------------------------------------------------- sum and mean
# float16 reductions run in float32 and round once at the end, as torch does: NumPy adds
# float16 along a strided axis one element at a time, and such a running total stops growing
# at 2048 when adding ones (a sum over dim 0 of 5000 ones gave 2048).
def _half(a):
    with np.errstate(over="ignore"):  # past 65504 the result is inf, as in torch
        return a.astype(np.float16)


class Sum(Function):
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        if x.dtype == np.float16:
            return _half(x.sum(axis=axes, keepdims=keepdim, dtype=np.float32))
        return x.sum(axis=axes, keepdims=keepdim)

    def backward(ctx, grad):
        return _expand_back(ctx.xp, grad, ctx.shape, ctx.axes, ctx.keepdim), None, None


class Mean(Function):
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        out = x.mean(axis=axes, keepdims=keepdim)
        ctx.count = x.size // builtins.max(out.size, 1) if x.size else 0
        return out

    def backward(ctx, grad):
        g = _expand_back(ctx.xp, grad, ctx.shape, ctx.axes, ctx.keepdim)
        return g / ctx.count, None, None


# ----------------------------------------------------------------- var and std
class Var(Function):
    """Variance with Bessel-style correction: sum((x - mean)²) / max(N - correction, 0).

    Fused rather than composed so the mean is computed once and the backward is one
    expression: d var / dx = 2 (x - mean) / (N - correction).
    """

    def forward(ctx, x, axes, correction, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        ctx.denom = builtins.max(_count(x.shape, axes) - correction, 0)
        d = x - x.mean(axis=axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):  # N <= correction gives inf/nan, as torch
            out = (d * d).sum(axis=axes, keepdims=keepdim) / x.dtype.type(ctx.denom)
        ctx.save_for_backward(x)
        return out

    def backward(ctx, grad):
        (x,) = ctx.saved
        g = _expand_back(ctx.xp, grad, ctx.shape, ctx.axes, ctx.keepdim)
        scale = 2.0 / ctx.denom if ctx.denom > 0 else float("inf")
        with np.errstate(invalid="ignore"):
            return g * (x - x.mean(axis=ctx.axes, keepdims=True)) * scale, None, None, None


class Std(Function):
    """Standard deviation sqrt(var). Where std = 0 the gradient is 0 (PyTorch's choice).

    d std / dx = (x - mean) / ((N - correction) · std).
    """

    def forward(ctx, x, axes, correction, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        ctx.denom = builtins.max(_count(x.shape, axes) - correction, 0)
        d = x - x.mean(axis=axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = ctx.xp.sqrt((d * d).sum(axis=axes, keepdims=keepdim) / x.dtype.type(ctx.denom))
        ctx.save_for_backward(x, out)
        return out

    def backward(ctx, grad):
        x, out = ctx.saved
        xp = ctx.xp
        zero = out == 0
        # NOTE: the inner where keeps 1/0 out of the graph, so double backward has no nan.
        gs = xp.where(zero, 0, grad / xp.where(zero, 1, out))
        g = _expand_back(xp, gs, ctx.shape, ctx.axes, ctx.keepdim)
        scale = 1.0 / ctx.denom if ctx.denom > 0 else float("inf")
        with np.errstate(invalid="ignore"):
            return g * (x - x.mean(axis=ctx.axes, keepdims=True)) * scale, None, None, None


def _correction(op, dim, unbiased, correction):
    """Sort out torch's two spellings: ``var(x, dim, unbiased, keepdim)`` and
    ``var(x, dim, *, correction)``. ``var(x, True)`` means unbiased=True."""
    if isinstance(dim, builtins.bool):
        if unbiased is not None:
            raise TypeError(f"{op}: got a bool for dim and unbiased={unbiased}; pass dim as an int")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}: pass either unbiased= or correction=, not both")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, correction


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    """Variance over ``dim`` with a degrees-of-freedom correction.

    ``var = Σ (x − mean)² / max(N − correction, 0)``, N the number of reduced elements.
    ``correction=1`` (default) is the unbiased sample variance, ``correction=0`` the
    population variance; ``unbiased=True/False`` is the older spelling of 1/0. With
    N ≤ correction the result is inf or nan, as in PyTorch.

    Args:
        x: a floating-point tensor of any shape.
        dim: int, tuple of ints or None (all dimensions).
        unbiased: legacy alias, True → correction 1, False → correction 0.
        keepdim: keep reduced dimensions with size 1.
        correction: the number subtracted from N in the denominator.

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor([1.0, 2.0, 3.0, 4.0])
        >>> round(x.var().item(), 4), round(x.var(correction=0).item(), 4)
        (1.6667, 1.25)
    """
    dim, keepdim = _dim_args(dim, axis, keepdim, keepdims)
    dim, correction = _correction("var", dim, unbiased, correction)
    _need_float(x, "var")
    return Var.apply(x, _axes(dim, x.ndim, "var"), correction, keepdim)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    """Standard deviation over ``dim``: ``sqrt(var(x, dim, correction))``.

    Same arguments as :func:`var`. The gradient is 0 where the result is 0 (a constant
    slice), where the exact derivative would be 0/0.

    Example:
        >>> import nerve as nv
        >>> nv.tensor([[1.0, 3.0], [2.0, 2.0]]).std(dim=1, correction=0).tolist()
        [1.0, 0.0]
    """
    dim, keepdim = _dim_args(dim, axis, keepdim, keepdims)
    dim, correction = _correction("std", dim, unbiased, correction)
    _need_float(x, "std")
    return Std.apply(x, _axes(dim, x.ndim, "std"), correction, keepdim)


def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var(x, dim), mean(x, dim))`` as a tuple, like ``torch.var_mean``."""
    v = var(x, dim, unbiased, keepdim, correction=correction)
    return v, mean(x, _correction("var", dim, unbiased, correction)[0], keepdim)


def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std(x, dim), mean(x, dim))`` as a tuple, like ``torch.std_mean``."""
    s = std(x, dim, unbiased, keepdim, correction=correction)
    return s, mean(x, _correction("std", dim, unbiased, correction)[0], keepdim)


# ------------------------------------------------------------------- max and min
class AMax(Function):
    """Largest (``minimum=True``: smallest) value over ``axes``.

    Ties share the gradient evenly: each of the k maximal entries of a slice gets
    grad / k, as ``torch.amax`` and ``torch.max()`` (no dim) do.
    """

    def forward(ctx, x, axes, keepdim, minimum):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        out = x.min(axis=axes, keepdims=keepdim) if minimum else x.max(axis=axes, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        return out

    def backward(ctx, grad):
        x, out = ctx.saved
        kshape = _kept_shape(ctx.shape, ctx.axes)
        # The tie mask is built here rather than in forward, so a forward without
        # backward costs one pass. It is a constant (zero derivative) made from the raw
        # arrays, so the same line serves double backward. A nan result counts as a tie
        # of the nans that produced it, as in PyTorch.
        xd, od = data_of(x), data_of(out).reshape(kshape)
        mask = (xd == od) | ((xd != xd) & (od != od))
        count = mask.sum(axis=ctx.axes, keepdims=True, dtype=xd.dtype)
        return ctx.xp.where(mask, grad.reshape(kshape) / count, 0), None, None, None


def _arg_reduce(x, axis, keepdim, minimum):
    """argmax/argmin on a raw array with PyTorch's conventions (first index on ties)."""
    d = x._data
    xp = get_array_module(d)
    if d.ndim == 0:
        return xp.zeros((), dtype=np.int64)
    fn = xp.argmin if minimum else xp.argmax
    if axis is None:
        idx = xp.asarray(fn(d.reshape(-1)), dtype=np.int64)
        return idx.reshape((1,) * d.ndim) if keepdim else idx
    return fn(d, axis=axis, keepdims=keepdim).astype(np.int64, copy=False)


def _max_dim(x, dim, keepdim, minimum):
    op = "min" if minimum else "max"
    if x.ndim == 0:
        normalize_dim(dim, 0, op)
        idx = _wrap(get_array_module(x._data).zeros((), dtype=np.int64))
        values = x * 1 if x.requires_grad else _wrap(x._data.copy())
        return (MinResult if minimum else MaxResult)(values, idx)
    axis = normalize_dim(dim, x.ndim, op)
    if x.shape[axis] == 0:
        raise RuntimeError(f"{op}(): dimension {dim} of the input (shape {tuple(x.shape)}) has size 0; "
                           "there is no maximum/minimum of an empty slice")
    idx = _arg_reduce(x, axis, True, minimum)  # (..., 1, ...)
    from .shape import gather  # noqa: PLC0415  (shape imports nothing from here)

    # The values are a gather at the indices, so the gradient goes to exactly the
    # index returned (first on ties), and its own backward (a scatter) is differentiable.
    values = gather(x, axis, _wrap(idx), _unique=True)
    if not keepdim:
        values = values.reshape(tuple(s for i, s in enumerate(x.shape) if i != axis))
        idx = idx.reshape(values.shape)
    return (MinResult if minimum else MaxResult)(values, _wrap(idx))


def max(x, dim=None, keepdim=False):  # noqa: A001  (mirrors torch.max)
    """Largest value; with ``dim``, the largest values and their indices.

    * ``max(x)`` → a 0-d tensor. Tied maxima share the gradient evenly.
    * ``max(x, dim, keepdim=False)`` → ``(values, indices)``, a namedtuple like
      ``torch.return_types.max``. The index is the first maximum along ``dim`` and the
      gradient goes to that element only.
    * ``max(x, other)`` with a Tensor ``other`` → elementwise :func:`maximum`.

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor([[1.0, 5.0, 5.0], [7.0, 2.0, 0.0]])
        >>> x.max().item()
        7.0
        >>> values, indices = x.max(dim=1)
        >>> values.tolist(), indices.tolist()
        ([5.0, 7.0], [1, 0])
    """
    if isinstance(dim, Tensor):
        from .elementwise import maximum  # noqa: PLC0415

        return maximum(x, dim)
    if dim is None:
        _need_elements(x, None, "max")
        return AMax.apply(x, None, False, False)
    return _max_dim(x, dim, keepdim, False)


def min(x, dim=None, keepdim=False):  # noqa: A001  (mirrors torch.min)
    """Smallest value; with ``dim``, ``(values, indices)``. See :func:`max`.

    Example:
        >>> import nerve as nv
        >>> nv.tensor([[1.0, 5.0], [7.0, 0.0]]).min(1).indices.tolist()
        [0, 1]
    """
    if isinstance(dim, Tensor):
        from .elementwise import minimum  # noqa: PLC0415

        return minimum(x, dim)
    if dim is None:
        _need_elements(x, None, "min")
        return AMax.apply(x, None, False, True)
    return _max_dim(x, dim, keepdim, True)


def amax(x, dim=(), keepdim=False):
    """Largest value over ``dim`` (int, tuple; ``()`` or None means all dimensions).

    Unlike ``max(dim)`` it returns values only, and tied maxima share the gradient
    evenly (torch.amax's convention).

    Example:
        >>> import nerve as nv
        >>> nv.tensor([[1.0, 4.0], [3.0, 2.0]]).amax(0).tolist()
        [3.0, 4.0]
    """
    axes = _axes(dim if dim != () else None, x.ndim, "amax")
    _need_elements(x, axes, "amax")
    return AMax.apply(x, axes, builtins.bool(keepdim), False)


def amin(x, dim=(), keepdim=False):
    """Smallest value over ``dim``; ties share the gradient evenly. See :func:`amax`."""
    axes = _axes(dim if dim != () else None, x.ndim, "amin")
    _need_elements(x, axes, "amin")
    return AMax.apply(x, axes, builtins.bool(keepdim), True)


def argmax(x, dim=None, keepdim=False):
    """Index of the largest value (int64, no gradient); the first one on ties.

    With ``dim=None`` the index is into the flattened tensor.

    Example:
        >>> import nerve as nv
        >>> nv.tensor([[1.0, 9.0, 9.0], [4.0, 2.0, 4.0]]).argmax(dim=1).tolist()
        [1, 0]
    """
    axis = None if dim is None else normalize_dim(dim, x.ndim, "argmax")
    _need_elements(x, None if axis is None or x.ndim == 0 else (axis,), "argmax")
    return _wrap(_arg_reduce(x, axis if x.ndim else None, keepdim, False))


def argmin(x, dim=None, keepdim=False):
    """Index of the smallest value (int64, no gradient); the first one on ties."""
    axis = None if dim is None else normalize_dim(dim, x.ndim, "argmin")
    _need_elements(x, None if axis is None or x.ndim == 0 else (axis,), "argmin")
    return _wrap(_arg_reduce(x, axis if x.ndim else None, keepdim, True))


# ---------------------------------------------------------------------- logsumexp
class LogSumExp(Function):
    """log Σ exp(x), computed as m + log Σ exp(x − m) with m the slice maximum.

    Fused for stability: exp never sees a positive argument, so logits of ±1e4 stay
    finite in float32. The gradient is the softmax, exp(x − out).
    """

    def forward(ctx, x, axes, keepdim):
        xp = ctx.xp
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        if x.dtype == np.float16:  # in float32, rounded once (see _half)
            out = _half(LogSumExp.forward(ctx, x.astype(np.float32), axes, keepdim))
            ctx.save_for_backward(x, out)
            return out
        if x.size:
            m = x.max(axis=axes, keepdims=True)
            # NOTE: a slice that is all -inf (or holds +inf) is shifted by 0 instead,
            # so the result is -inf (+inf) rather than nan, as in PyTorch.
            m = xp.where(xp.isinf(m), 0, m).astype(x.dtype, copy=False)
        else:
            m = xp.zeros(_kept_shape(x.shape, axes), dtype=x.dtype)
        with np.errstate(divide="ignore"):
            out = xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True)) + m
        if not keepdim:
            out = out.reshape(tuple(s for i, s in enumerate(x.shape) if axes is not None and i not in axes))
        ctx.save_for_backward(x, out)
        return out

    def backward(ctx, grad):
        x, out = ctx.saved
        k = _kept_shape(ctx.shape, ctx.axes)
        return grad.reshape(k) * ctx.xp.exp(x - out.reshape(k)), None, None


def logsumexp(x, dim=None, keepdim=False):
    """``log(sum(exp(x), dim))`` without overflow.

    Computed as ``m + log Σ exp(x − m)`` with ``m`` the maximum of each slice, so it is
    finite for inputs of ±1e4 in float32. ``dim=None`` reduces every dimension.
    Gradient: ``softmax(x, dim)``.

    Example:
        >>> import nerve as nv
        >>> nv.tensor([1e4, 1e4]).logsumexp(0).item() - 1e4  # log 2
        0.693359375
    """
    _need_float(x, "logsumexp")
    return LogSumExp.apply(x, _axes(dim, x.ndim, "logsumexp"), builtins.bool(keepdim))


# ---------------------------------------------------------------------------- prod
def _prod_others(xp, x, axis):
    """For each element, the product of the *other* elements of its slice (arrays).

    Exclusive cumulative products from the left and from the right: no division, so
    zeros are exact. (..., n) along ``axis``.
    """
    xm = xp.moveaxis(x, axis, -1)
    n = xm.shape[-1]
    left = xp.ones_like(xm)
    right = xp.ones_like(xm)
    if n > 1:
        xp.cumprod(xm[..., :-1], axis=-1, out=left[..., 1:])
        right[..., :-1] = xp.cumprod(xm[..., :0:-1], axis=-1)[..., ::-1]
    return xp.moveaxis(left * right, -1, axis)


def _prod_others_graph(xp, x, axis):
    """The same on Tensors (create_graph with zeros present): product over a matrix whose
    diagonal is replaced by ones. O(n²) in the slice length, used only for double
    backward through a product that contains zeros."""
    xm = xp.moveaxis(x, axis, -1)
    n = xm.shape[-1]
    rows = xp.broadcast_to(xm.reshape(tuple(xm.shape[:-1]) + (1, n)), tuple(xm.shape) + (n,))
    others = xp.prod(xp.where(get_array_module(data_of(x)).eye(n, dtype=bool), 1, rows), axis=-1)
    return xp.moveaxis(others, -1, axis)


class Prod(Function):
    """Product over one axis (None: all). Gradient: grad · out / x where no input is
    zero; the product of the other elements otherwise (exact at zeros)."""

    def forward(ctx, x, axis, keepdim):
        ctx.shape, ctx.axis, ctx.keepdim = x.shape, axis, keepdim
        out = x.prod(axis=axis, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        return out

    def backward(ctx, grad):
        x, out = ctx.saved
        xp = ctx.xp
        axis, shape = ctx.axis, ctx.shape
        k = _kept_shape(shape, None if axis is None else (axis,))
        g, o = grad.reshape(k), out.reshape(k)
        if not (data_of(x) == 0).any():
            return g * o / x, None, None
        if axis is None:  # all dimensions: work on the flat vector
            x = x.reshape((-1,))
            axis = 0
        if isinstance(x, Tensor):
            others = _prod_others_graph(xp, x, axis)
        else:
            others = _prod_others(xp, x, axis)
        return g * others.reshape(shape), None, None


def prod(x, dim=None, keepdim=False, *, dtype=None):
    """Product of the elements over ``dim`` (a single int, or None for all).

    The gradient of element i is the product of the other elements of its slice. It
    is computed as ``grad · out / x`` when no element is zero and with exclusive
    cumulative products otherwise, so zeros never cause a division by zero.

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor([2.0, 0.0, 3.0], requires_grad=True)
        >>> x.prod().backward()
        >>> x.grad.tolist()
        [0.0, 6.0, 0.0]
    """
    if dtype is not None:
        x = x.to(dtype=dtype)
    elif x.dtype.kind == "u":  # int64 as torch; NumPy's product of uint8 is uint64
        x = x.to(dtype=np.int64)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"prod: dim must be a single int or None, got {dim!r}; "
                        "reduce one dimension at a time")
    axis = None if dim is None or x.ndim == 0 else normalize_dim(dim, x.ndim, "prod")
    if dim is not None and x.ndim == 0:
        normalize_dim(dim, 0, "prod")
    return Prod.apply(x, axis, builtins.bool(keepdim))


# -------------------------------------------------------------------------- cumsum
class CumSum(Function):
    """Running sum along an axis. Its backward is the reversed running sum of grad."""

    def forward(ctx, x, axis):
        ctx.axis = axis
        if axis is None:  # a 0-d tensor: the running sum is the value itself
            return ctx.xp.cumsum(x.reshape(1)).reshape(())
        if x.dtype == np.float16:  # a float32 running total, as torch (see _half)
            return _half(ctx.xp.cumsum(x, axis=axis, dtype=np.float32))
        return ctx.xp.cumsum(x, axis=axis)

    def backward(ctx, grad):
        a = ctx.axis
        if a is None:
            return grad, None
        xp = ctx.xp
        if grad.dtype == np.float16:
            with np.errstate(over="ignore"):
                return xp.astype(xp.flip(xp.cumsum(xp.flip(grad, a), a, dtype=np.float32), a),
                                 np.float16), None
        return xp.flip(xp.cumsum(xp.flip(grad, a), a), a), None


def cumsum(x, dim, *, dtype=None):
    """Cumulative sum along ``dim``: ``out[..., i] = Σ_{j ≤ i} x[..., j]``.

    Integer and bool inputs give int64 (PyTorch's rule). Gradient: the cumulative sum
    of ``grad`` taken from the end.

    Example:
        >>> import nerve as nv
        >>> nv.tensor([1.0, 2.0, 3.0]).cumsum(0).tolist()
        [1.0, 3.0, 6.0]
    """
    if dtype is not None:
        x = x.to(dtype=dtype)
    elif x.dtype.kind in "biu" and x.dtype != np.int64:
        x = x.to(dtype=np.int64)
    axis = normalize_dim(dim, x.ndim, "cumsum")
    return CumSum.apply(x, axis if x.ndim else None)


# ------------------------------------------------------------------------- cumprod
def _revcumsum(xp, a, axis):
    return xp.flip(xp.cumsum(xp.flip(a, axis), axis), axis)


def _cumprod_grad(xp, x, out, grad, axis):
    """d/dx of Σ_j g_j · out_j for out = cumprod(x), exact when x holds zeros.

    Without zeros: gx_i = Σ_{j≥i} g_j out_j / x_i. With z the first zero of a slice:
    * i < z: the same formula (x_i ≠ 0 there);
    * i = z: Σ_{j≥z} g_j Π_{m≤j, m≠z} x_m, the reversed running sum of g times the running
      product of x1 = x with x_z replaced by 1;
    * i > z: x_z · (the same gradient taken for x1), which is 0 since x_z = 0.
    Whole-array ops only, and the masks are constants, so the same lines build the graph
    under create_graph.
    """
    xd = data_of(x)
    if not (xd == 0).any():
        return _revcumsum(xp, grad * out, axis) / x
    axp = get_array_module(xd)
    n = xd.shape[axis]
    is_zero = xd == 0
    z = axp.where(is_zero.any(axis=axis, keepdims=True), axp.argmax(is_zero, axis=axis, keepdims=True), n)
    shape = [1] * xd.ndim
    shape[axis] = n
    pos = axp.arange(n).reshape(shape)
    before, at = pos < z, pos == z
    x1 = xp.where(at, 1, x)
    at_z = _revcumsum(xp, grad * xp.cumprod(x1, axis), axis)
    prior = _revcumsum(xp, grad * out, axis) / xp.where(before, x, 1)
    after = 0
    if isinstance(x, Tensor):
        # NOTE: x_z · gx1 is exactly 0 in value, so the array path skips it (it would
        # recurse once per zero); under create_graph it carries d/dx_z of the entries
        # after the first zero, which second derivatives need.
        x_z = xp.where(at, x, 0).sum(axis=axis, keepdims=True)
        after = x_z * _cumprod_grad(xp, x1, xp.cumprod(x1, axis), grad, axis)
    return xp.where(before, prior, xp.where(at, at_z, after))


class CumProd(Function):
    """Running product along an axis.

    Backward: gx_i = Σ_{j≥i} g_j · out_j / x_i, i.e. the reversed running sum of g·out
    divided by x, when no element is zero; with zeros, exact without dividing by zero
    (see ``_cumprod_grad``), as torch's gradient is exact there too.
    """

    def forward(ctx, x, axis):
        ctx.axis = axis
        out = ctx.xp.cumprod(x, axis=axis)
        ctx.save_for_backward(x, out)
        return out

    def backward(ctx, grad):
        x, out = ctx.saved
        xp, a = ctx.xp, ctx.axis
        if x.shape[a] == 0:
            return grad, None
        return _cumprod_grad(xp, x, out, grad, a), None


def cumprod(x, dim, *, dtype=None):
    """Cumulative product along ``dim``: ``out[..., i] = Π_{j ≤ i} x[..., j]``.

    Integer and bool inputs give int64 (PyTorch's rule). The gradient is exact when the
    input holds zeros (no division by zero).

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor([2.0, 0.0, 3.0], requires_grad=True)
        >>> x.cumprod(0).tolist()
        [2.0, 0.0, 0.0]
        >>> x.cumprod(0).sum().backward()
        >>> x.grad.tolist()
        [1.0, 8.0, 0.0]
    """
    if dtype is not None:
        x = x.to(dtype=dtype)
    elif x.dtype.kind in "biu" and x.dtype != np.int64:
        x = x.to(dtype=np.int64)
    axis = normalize_dim(dim, x.ndim, "cumprod")
    if x.ndim == 0:
        return CumProd.apply(x.reshape(1), 0).reshape(())
    return CumProd.apply(x, axis)


# ---------------------------------------------------------------------------- diff
def diff(input, n=1, dim=-1, prepend=None, append=None):  # noqa: A002
    """n-th forward difference along ``dim``: ``out[i] = x[i + 1] − x[i]``, applied ``n``
    times, after joining ``prepend`` / ``append`` to the input along ``dim`` (as
    ``torch.diff``). Bool inputs give logical xor instead of a difference.

    Composed of slicing and subtraction (each with its own backward), so it is
    differentiable to any order; a fused op would save one slice per step.

    Example:
        >>> import nerve as nv
        >>> nv.tensor([1.0, 4.0, 9.0, 16.0]).diff().tolist()
        [3.0, 5.0, 7.0]
        >>> nv.tensor([1.0, 4.0, 9.0]).diff(n=2, prepend=nv.tensor([0.0])).tolist()
        [2.0, 2.0]
    """
    from .shape import cat, narrow  # noqa: PLC0415

    if input.ndim == 0:
        raise RuntimeError("diff: expected a tensor with at least 1 dimension, got a 0-d tensor")
    axis = normalize_dim(dim, input.ndim, "diff")
    n = int(n)
    if n < 0:
        raise RuntimeError(f"diff: order n must be non-negative, got {n}")
    parts = []
    for name, extra in (("prepend", prepend), (None, input), ("append", append)):
        if extra is None:
            continue
        if not isinstance(extra, Tensor):
            extra = _wrap(get_array_module(input._data).asarray(extra, dtype=input.dtype))
        if name is not None and (extra.ndim != input.ndim or builtins.any(
                s != t for i, (s, t) in enumerate(zip(extra.shape, input.shape)) if i != axis)):
            raise RuntimeError(f"diff: {name} of shape {tuple(extra.shape)} must match the input's shape "
                               f"{tuple(input.shape)} in every dimension except dim {dim}")
        parts.append(extra)
    x = cat(parts, axis) if len(parts) > 1 else input
    for _ in range(n):
        size = x.shape[axis]
        if size == 0:
            break
        hi, lo = narrow(x, axis, 1, size - 1), narrow(x, axis, 0, size - 1)
        x = (hi ^ lo) if x.dtype == np.bool_ else hi - lo
    return x


# ------------------------------------------------------------------- all and any
def all(x, dim=None, keepdim=False):  # noqa: A001
    """True where every element over ``dim`` is non-zero (bool, no gradient)."""
    d = data_of(x)
    axes = _axes(dim, d.ndim, "all")
    return _wrap(get_array_module(d).asarray(d.all(axis=axes, keepdims=builtins.bool(keepdim))))


def any(x, dim=None, keepdim=False):  # noqa: A001
    """True where some element over ``dim`` is non-zero (bool, no gradient)."""
    d = data_of(x)
    axes = _axes(dim, d.ndim, "any")
    return _wrap(get_array_module(d).asarray(d.any(axis=axes, keepdims=builtins.bool(keepdim))))


# ---------------------------------------------------------------------------- norm
class CountNonzero(Function):
    """The 0-"norm": how many elements are non-zero. Piecewise constant, so its gradient is
    0 everywhere; it stays in the graph (as in torch) so a loss built on it still backprops."""

    def forward(ctx, x, axes, keepdim):
        return ctx.xp.asarray((x != 0).sum(axis=axes, keepdims=keepdim, dtype=x.dtype))

    def backward(ctx, grad):
        return None, None, None  # nothing flows back: the engine treats it as a zero gradient


class VectorNorm(Function):
    """‖x‖_p = (Σ |x|^p)^(1/p) over ``axes`` for a finite p ∉ {0}.

    Gradient: sign(x)·|x|^(p−1) / ‖x‖^(p−1) (for p = 2 simply x / ‖x‖), and 0 where the
    norm is 0 — PyTorch's choice at the kink.
    """

    def forward(ctx, x, p, axes, keepdim):
        xp = ctx.xp
        ctx.shape, ctx.axes, ctx.keepdim, ctx.p = x.shape, axes, keepdim, p
        if x.dtype == np.float16:  # in float32, rounded once (see _half): x*x passes 65504 at 256
            out = _half(VectorNorm.forward(ctx, x.astype(np.float32), p, axes, keepdim))
            ctx.save_for_backward(x, out)
            return out
        if p == 2:
            out = xp.sqrt((x * x).sum(axis=axes, keepdims=keepdim))
        else:
            with np.errstate(divide="ignore"):
                out = (xp.abs(x) ** p).sum(axis=axes, keepdims=keepdim) ** (1.0 / p)
        ctx.save_for_backward(x, out)
        return out

    def backward(ctx, grad):
        x, out = ctx.saved
        xp, p = ctx.xp, ctx.p
        k = _kept_shape(ctx.shape, ctx.axes)
        g, o = grad.reshape(k), out.reshape(k)
        zero = o == 0
        # NOTE: each where() keeps the masked branch finite, so double backward sees no
        # inf·0 either.
        if p == 2:
            return x * xp.where(zero, 0, g / xp.where(zero, 1, o)), None, None, None
        nz = x == 0
        xs = xp.where(nz, 0, xp.sign(x) * xp.where(nz, 1, xp.abs(x)) ** (p - 1))
        scale = xp.where(zero, 0, g / xp.where(zero, 1, o) ** (p - 1))
        return xs * scale, None, None, None


def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (all elements when None): ``(Σ |x|^p)^(1/p)``.

    ``p`` may be any number, ``inf`` (max |x|), ``-inf`` (min |x|), ``0`` (count of
    non-zeros, no gradient), ``'fro'`` (= 2, the default) or ``'nuc'`` (the nuclear norm
    over the two dims ``dim``, as ``torch.norm``). The gradient at a zero norm is 0.

    Example:
        >>> import nerve as nv
        >>> nv.tensor([3.0, 4.0]).norm().item()
        5.0
        >>> nv.tensor([[3.0, -4.0]]).norm(p=1, dim=1).tolist()
        [7.0]
    """
    if dtype is not None:
        x = x.to(dtype=dtype)
    _need_float(x, "norm")
    if isinstance(p, str):
        if p == "nuc":  # torch.norm's one matrix norm: over dim, or the whole 2-D input
            from .linalg import matrix_norm  # noqa: PLC0415

            if dim is None and x.ndim != 2:
                raise RuntimeError(f"norm: p='nuc' needs a 2-D input or a pair of dims, got shape "
                                   f"{tuple(x.shape)}; pass dim=(-2, -1)")
            return matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim)
        if p != "fro":
            raise ValueError(f"norm: p={p!r} is not a norm this function knows; use 'fro', 'nuc', a "
                             "number, inf or -inf (and nerve.linalg.matrix_norm for spectral norms)")
        p = 2
    p = float(p)
    axes = _axes(dim, x.ndim, "norm")
    keepdim = builtins.bool(keepdim)
    if p == np.inf or p == -np.inf:
        from .elementwise import abs as _abs  # noqa: PLC0415

        _need_elements(x, axes, "norm")
        return AMax.apply(_abs(x), axes, keepdim, p < 0)
    if p == 0:
        return CountNonzero.apply(x, axes, keepdim)
    if p == 1:
        from .elementwise import abs as _abs  # noqa: PLC0415

        return Sum.apply(_abs(x), axes, keepdim)
    return VectorNorm.apply(x, p, axes, keepdim)


# ------------------------------------------------------------------ sum and mean API
def sum(x, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None):  # noqa: A001
    """Sum over ``dim`` (all dimensions when None).

    Example:
        >>> import nerve as nv
        >>> nv.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(dim=0).tolist()
        [4.0, 6.0]
    """
    dim, keepdim = _dim_args(dim, axis, keepdim, keepdims)
    if dtype is not None:
        x = x.to(dtype=dtype)
    elif x.dtype.kind == "u":  # torch sums every integer dtype in int64; NumPy would keep uint64
        x = x.to(dtype=np.int64)
    return Sum.apply(x, _axes(dim, x.ndim, "sum"), keepdim)


def mean(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Arithmetic mean over ``dim`` (all dimensions when None)."""
    dim, keepdim = _dim_args(dim, axis, keepdim, keepdims)
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"mean() needs a floating-point tensor, got dtype {x.dtype}; call .float() first")
    return Mean.apply(x, _axes(dim, x.ndim, "mean"), keepdim)


TENSOR_METHODS = {
    "sum": sum, "mean": mean, "var": var, "std": std, "max": max, "min": min, "amax": amax,
    "amin": amin, "argmax": argmax, "argmin": argmin, "logsumexp": logsumexp, "prod": prod,
    "cumsum": cumsum, "cumprod": cumprod, "diff": diff, "all": all, "any": any, "norm": norm,
}


# NumPy-style signatures for backward formulas run under create_graph (ctx.xp.<name>).
def _np_cumsum(a, axis=None, dtype=None):
    if axis is None:  # NumPy flattens first
        a = a.reshape((-1,))
        axis = 0
    return cumsum(a, axis, dtype=dtype)


GRAPH_NAMESPACE = {
    "sum": lambda a, axis=None, keepdims=False, dtype=None: sum(a, axis, keepdims, dtype=dtype),
    "mean": lambda a, axis=None, keepdims=False: mean(a, axis, keepdims),
    "var": lambda a, axis=None, ddof=0, keepdims=False: var(a, axis, keepdim=keepdims, correction=ddof),
    "std": lambda a, axis=None, ddof=0, keepdims=False: std(a, axis, keepdim=keepdims, correction=ddof),
    "prod": lambda a, axis=None, keepdims=False: prod(a, axis, keepdims),
    "cumsum": _np_cumsum,
    "cumprod": lambda a, axis: cumprod(a, axis),
    "amax": lambda a, axis=None, keepdims=False: amax(a, axis, keepdims),
    "amin": lambda a, axis=None, keepdims=False: amin(a, axis, keepdims),
    "max": lambda a, axis=None, keepdims=False: amax(a, axis, keepdims),
    "min": lambda a, axis=None, keepdims=False: amin(a, axis, keepdims),
    "logsumexp": lambda a, axis=None, keepdims=False: logsumexp(a, axis, keepdims),
}
