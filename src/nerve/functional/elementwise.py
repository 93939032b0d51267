"""Elementwise arithmetic and math: add, mul, exp, clamp, where ...

Every binary op broadcasts like NumPy; its backward sums the gradient back to each
input's shape with ``xp.unbroadcast``. Python numbers are constants.

Sub-gradients at kinks follow PyTorch: ``abs'(0) = 0``, ``sign' = 0``, ``clamp`` passes
the gradient where ``min <= x <= max`` (bounds included), ``maximum``/``minimum`` split the
gradient equally between the two inputs where they tie.
"""
from __future__ import annotations

import operator as _op

import numpy as np

from ..autograd.function import Function
from ..autograd.namespace import register_extra
from ..backend import get_array_module
from ..backend import to_device as _move  # array-level; `to_device` below is the op
from ._errors import broadcast_error
from ..autograd.tensor import get_default_dtype
from ._util import Tensor, _wrap, coerce_pair, data_of


def _shape(v):
    return getattr(v, "shape", ())


def _is_array(v):
    return hasattr(v, "dtype") and hasattr(v, "ndim") and not isinstance(v, np.generic)


def _intlike(v):
    """True for bool/integer arrays and Python or NumPy integers (not floats)."""
    dt = getattr(v, "dtype", None)
    return dt.kind in "biu" if dt is not None else isinstance(v, (int, np.integer))


def _floating(x):
    """A bool/integer tensor as the default float dtype (as torch's float-only math does);
    NumPy would pick float64, or float16 for bool and uint8."""
    if isinstance(x, Tensor) and x.dtype.kind in "biu":
        return cast(x, get_default_dtype())
    return x


class Add(Function):
    def forward(ctx, x, y):
        x, y = coerce_pair(x, y)
        ctx.sx, ctx.sy = _shape(x), _shape(y)
        try:
            return x + y
        except ValueError:
            raise broadcast_error("add", ctx.sx, ctx.sy) from None

    def backward(ctx, grad):
        ub = ctx.xp.unbroadcast
        n = ctx.needs_input_grad
        return (ub(grad, ctx.sx) if n[0] else None, ub(grad, ctx.sy) if n[1] else None)


class Sub(Function):
    def forward(ctx, x, y):
        x, y = coerce_pair(x, y)
        ctx.sx, ctx.sy = _shape(x), _shape(y)
        try:
            return x - y
        except ValueError:
            raise broadcast_error("sub", ctx.sx, ctx.sy) from None

    def backward(ctx, grad):
        ub = ctx.xp.unbroadcast
        n = ctx.needs_input_grad
        return (ub(grad, ctx.sx) if n[0] else None, ub(-grad, ctx.sy) if n[1] else None)


class Mul(Function):
    def forward(ctx, x, y):
        x, y = coerce_pair(x, y)
        n = ctx.needs_input_grad
        # Save each factor only for the other's gradient, so an in-place write to an
        # operand whose values are not needed is allowed (as in PyTorch).
        if n[0] or n[1]:  # (nothing is kept when nothing is recorded)
            ctx.sx, ctx.sy = _shape(x), _shape(y)
            ctx.save_for_backward(x if n[1] else None, y if n[0] else None)
        try:
            return x * y
        except ValueError:
            raise broadcast_error("mul", _shape(x), _shape(y)) from None

    def backward(ctx, grad):
        x, y = ctx.saved
        ub = ctx.xp.unbroadcast
        n = ctx.needs_input_grad
        return (ub(grad * y, ctx.sx) if n[0] else None,
                ub(grad * x, ctx.sy) if n[1] else None)


class Div(Function):
    def forward(ctx, x, y):
        x, y = coerce_pair(x, y)
        if _intlike(x) and _intlike(y):  # true division, in the default float dtype as torch
            x, y = (v.astype(get_default_dtype()) if hasattr(v, "astype") else float(v) for v in (x, y))
        ctx.save_for_backward(x, y)
        try:
            return x / y
        except ValueError:
            raise broadcast_error("div", _shape(x), _shape(y)) from None

    def backward(ctx, grad):
        x, y = ctx.saved
        ub = ctx.xp.unbroadcast
        n = ctx.needs_input_grad
        gx = ub(grad / y, _shape(x)) if n[0] else None
        # (x / y) / y as torch does: y·y underflows to 0 for |y| below ~1e-19 in float32 (1e-154 in
        # float64) and turned a finite gradient into inf or NaN
        gy = ub(-grad * ((x / y) / y), _shape(y)) if n[1] else None
        return gx, gy


def _int_zero_divisor(op, x, y):
    if _intlike(x) and _intlike(y) and (get_array_module(y).asarray(y) == 0).any():
        raise ZeroDivisionError(f"{op}: integer division by zero; make one operand a float "
                                "tensor to get inf/nan instead")


class Remainder(Function):
    """``x - floor(x / y) * y``: the result has the sign of ``y`` (Python's ``%``, torch's
    ``remainder``; ``fmod``'s sign of ``x`` is the other convention).

    Gradient: 1 for x and ``-floor(x / y)`` for y, as torch.
    """

    def forward(ctx, x, y):
        x, y = coerce_pair(x, y)
        _int_zero_divisor("remainder", x, y)
        xp = get_array_module(x, y)
        ctx.sx, ctx.sy = _shape(x), _shape(y)
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                if ctx.needs_input_grad[1]:
                    ctx.q = xp.floor(x / y)  # piecewise constant: no graph of its own
                return xp.remainder(x, y)
        except ValueError:
            raise broadcast_error("remainder", _shape(x), _shape(y)) from None

    def backward(ctx, grad):
        ub = ctx.xp.unbroadcast
        n = ctx.needs_input_grad
        return (ub(grad, ctx.sx) if n[0] else None,
                ub(-grad * ctx.q, ctx.sy) if n[1] else None)


def remainder(x, y):
    """Elementwise ``x % y`` with the sign of ``y``, as ``torch.remainder`` and Python:
    ``remainder(-7, 2)`` is 1 and ``remainder(7, -2)`` is -1. Integer operands give an integer
    result (a zero divisor raises); with a float, 0 gives nan.
    """
    return Remainder.apply(x, y)


def floor_divide(x, y):
    """``floor(x / y)`` elementwise (``//``), rounded toward minus infinity as ``torch.floor_divide``
    and Python: ``-7 // 2`` is -4. Integers stay integers (a zero divisor raises). Piecewise
    constant, so the result carries no gradient.
    """
    dx, dy = coerce_pair(data_of(x), data_of(y))
    _int_zero_divisor("floor_divide", dx, dy)
    xp = get_array_module(dx, dy)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = xp.floor_divide(dx, dy)
    except ValueError:
        raise broadcast_error("floor_divide", _shape(dx), _shape(dy)) from None
    return _wrap(xp.asarray(out))


class Neg(Function):
    def forward(ctx, x):
        return -x

    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """x ** y. d/dx = y·x^(y−1), taken as 0 where y = 0 (so 0**0 passes 0, not NaN);
    d/dy = x^y·log(x), taken as 0 where x = 0 and y >= 0, NaN for a negative base: all as in
    PyTorch."""

    def forward(ctx, x, y):
        x, y = coerce_pair(x, y)
        try:
            out = x ** y
        except ValueError as e:
            if "negative integer powers" in str(e):
                raise RuntimeError("pow: an integer tensor cannot be raised to a negative integer power; "
                                   "make the base a float tensor first (x.float() ** y)") from None
            raise broadcast_error("pow", _shape(x), _shape(y)) from None
        # the output is needed only for d/dy (so pow_ with a constant exponent saves no result)
        ctx.save_for_backward(x, y, out if ctx.needs_input_grad[1] else None)
        return out

    def backward(ctx, grad):
        x, y, out = ctx.saved
        xp = ctx.xp
        ub = xp.unbroadcast
        n = ctx.needs_input_grad
        gx = gy = None
        if n[0]:
            with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** negative is inf, as torch
                if hasattr(y, "shape"):
                    gx = ub(xp.where(y == 0, 0, grad * y * x ** (y - 1)), _shape(x))
                elif y == 0:
                    gx = ub(grad * 0, _shape(x))
                else:
                    gx = ub(grad * y * x ** (y - 1), _shape(x))
        if n[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                if hasattr(x, "shape"):
                    term = xp.where((x == 0) & (y >= 0), 0, out * xp.log(x))
                else:  # a Python number as base
                    lg = float(np.log(np.float64(x)))
                    term = xp.where(y >= 0, 0, out * lg) if x == 0 else out * lg
            gy = ub(grad * term, _shape(y))
        return gx, gy


class Exp(Function):
    def forward(ctx, x):
        out = ctx.xp.exp(x)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * out


class Log(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad / x


class Log1p(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log1p(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad / (x + 1)


class Sqrt(Function):
    def forward(ctx, x):
        out = ctx.xp.sqrt(x)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad / (2 * out)


class Rsqrt(Function):
    def forward(ctx, x):
        out = 1 / ctx.xp.sqrt(x)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * (-0.5) * out * out * out


class Abs(Function):
    """|x|; the gradient at exactly 0 is 0 (PyTorch's choice)."""

    def forward(ctx, x):
        ctx.save_for_backward(ctx.xp.sign(x))
        return ctx.xp.abs(x)

    def backward(ctx, grad):
        (s,) = ctx.saved
        return grad * s


class Sign(Function):
    """sign(x); zero gradient everywhere."""

    def forward(ctx, x):
        return ctx.xp.sign(x)

    def backward(ctx, grad):
        return grad * 0


class Sin(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.sin(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * ctx.xp.cos(x)


class Cos(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.cos(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return -grad * ctx.xp.sin(x)


class Clamp(Function):
    """clamp(x, min, max) = minimum(maximum(x, min), max); the bounds may be tensors.

    Gradients follow PyTorch: x gets it where min <= x <= max (bounds included), ``min``
    where x < min < max, ``max`` where x > max or max < min (then max wins everywhere).
    An integer x with a float bound gives a float result, as in PyTorch.
    """

    def forward(ctx, x, lo, hi):
        xp = ctx.xp
        x0 = x
        if hi is not None:
            x, hi = coerce_pair(x, hi)
        if lo is not None:
            x, lo = coerce_pair(x, lo)
        # result dtype: x's after promotion, widened only by bounds that have dimensions
        dims = [b for b in (lo, hi) if getattr(b, "ndim", 0) > 0]
        dt = np.result_type(x, *dims) if dims else x.dtype
        out = x
        if lo is not None:
            out = xp.maximum(out, lo)
        if hi is not None:
            out = xp.minimum(out, hi)
        n = ctx.needs_input_grad
        if lo is not None and hi is not None:
            masks = ((x >= lo) & (x <= hi), (x < lo) & (lo < hi) if n[1] else None,
                     (x > hi) | (hi < lo) if n[2] else None)
        elif lo is not None:
            masks = (x >= lo, x < lo if n[1] else None, None)
        else:
            masks = (x <= hi, None, x > hi if n[2] else None)
        ctx.shapes = (x0.shape, _shape(lo), _shape(hi))
        ctx.save_for_backward(*masks)
        return xp.asarray(out).astype(dt, copy=False)

    def backward(ctx, grad):
        xp = ctx.xp
        n = ctx.needs_input_grad
        return tuple(xp.unbroadcast(xp.where(m, grad, 0), s) if need and m is not None else None
                     for need, m, s in zip(n, ctx.saved, ctx.shapes))


def _pick_grads(ctx, grad, x, y, x_loses, y_loses):
    """Gradients of maximum/minimum: all to the winner, half each on a tie, and (as torch)
    all to both where a NaN makes neither win."""
    n = ctx.needs_input_grad
    half = (x == y) * 0.5
    out = []
    for need, v, loses in ((n[0], x, x_loses), (n[1], y, y_loses)):
        if need:
            w = 1 - half - loses
            w = w.astype(grad.dtype) if hasattr(w, "astype") else w
            out.append(ctx.xp.unbroadcast(grad * w, _shape(v)))
        else:
            out.append(None)
    return tuple(out)


class Maximum(Function):
    """Elementwise max; ties split the gradient equally, as in PyTorch."""

    def forward(ctx, x, y):
        x, y = coerce_pair(x, y)
        ctx.save_for_backward(x, y)
        try:
            return ctx.xp.maximum(x, y)
        except ValueError:
            raise broadcast_error("maximum", _shape(x), _shape(y)) from None

    def backward(ctx, grad):
        x, y = ctx.saved
        return _pick_grads(ctx, grad, x, y, x < y, x > y)


class Minimum(Function):
    def forward(ctx, x, y):
        x, y = coerce_pair(x, y)
        ctx.save_for_backward(x, y)
        try:
            return ctx.xp.minimum(x, y)
        except ValueError:
            raise broadcast_error("minimum", _shape(x), _shape(y)) from None

    def backward(ctx, grad):
        x, y = ctx.saved
        return _pick_grads(ctx, grad, x, y, x > y, x < y)


class Where(Function):
    """where(cond, x, y): the gradient goes to x where cond holds, to y elsewhere."""

    def forward(ctx, cond, x, y):
        x, y = coerce_pair(x, y)
        ctx.sx, ctx.sy = _shape(x), _shape(y)
        ctx.save_for_backward(cond)
        if not (_is_array(x) or _is_array(y)):  # two numbers: torch's dtypes
            x, y = (v.item() if isinstance(v, np.generic) else v for v in (x, y))
            x, y = (np.asarray(v, dtype=get_default_dtype()) if isinstance(v, float) else v for v in (x, y))
        try:
            return ctx.xp.where(cond, x, y)
        except ValueError:
            raise broadcast_error("where", _shape(cond), ctx.sx, ctx.sy) from None

    def backward(ctx, grad):
        (cond,) = ctx.saved
        xp = ctx.xp
        ub = xp.unbroadcast
        n = ctx.needs_input_grad
        return (None,
                ub(xp.where(cond, grad, 0), ctx.sx) if n[1] else None,
                ub(xp.where(cond, 0, grad), ctx.sy) if n[2] else None)


class Cast(Function):
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype)

    def backward(ctx, grad):
        if ctx.src.kind != "f":
            return None, None
        return ctx.xp.astype(grad, ctx.src), None


register_extra("astype", lambda xp, x, dtype: x.astype(dtype))   # CuPy has no xp.astype


class Clone(Function):
    def forward(ctx, x):
        return x.copy()

    def backward(ctx, grad):
        return grad


class ToDevice(Function):
    def forward(ctx, x, device):
        from ..backend import device_of  # noqa: PLC0415

        ctx.src = device_of(x)
        return _move(x, device)

    def backward(ctx, grad):
        return _move(grad, ctx.src), None


# ---------------------------------------------------------------- functional API
def _times_alpha(x, y, alpha, op):
    """``y * alpha`` in the dtype of ``x op y``: as in torch, alpha never changes the result
    dtype (bool + bool·2 stays bool, int32 + bool·2 stays int32)."""
    if alpha == 1 or not isinstance(y, Tensor):
        return y if alpha == 1 else y * alpha
    a, b = coerce_pair(data_of(x), y._data)
    dt = b.dtype
    if dt.kind in "biu" and isinstance(alpha, float):
        raise RuntimeError(f"{op}: alpha={alpha!r} is a float but the inputs are {dt} (integral); "
                           "give an integer alpha or float inputs")
    ys = y * alpha
    return ys if ys.dtype == dt else cast(ys, dt)


def add(x, y, alpha=1):
    """x + alpha·y with broadcasting."""
    return Add.apply(x, _times_alpha(x, y, alpha, "add"))


def sub(x, y, alpha=1):
    return Sub.apply(x, _times_alpha(x, y, alpha, "sub"))


def mul(x, y):
    return Mul.apply(x, y)


def div(x, y):
    return Div.apply(x, y)


def neg(x):
    return Neg.apply(x)


def pow(x, exponent):  # noqa: A001  (mirrors torch.pow)
    return Pow.apply(x, exponent)


def exp(x):
    return Exp.apply(_floating(x))


def log(x):
    return Log.apply(_floating(x))


def log1p(x):
    return Log1p.apply(_floating(x))


def sqrt(x):
    return Sqrt.apply(_floating(x))


def rsqrt(x):
    return Rsqrt.apply(_floating(x))


def abs(x):  # noqa: A001
    return Abs.apply(x)


def sign(x):
    return Sign.apply(x)


def sin(x):
    return Sin.apply(_floating(x))


def cos(x):
    return Cos.apply(_floating(x))


def square(x):
    return Mul.apply(x, x)


def reciprocal(x):
    return Div.apply(1.0, _floating(x))


def clamp(x, min=None, max=None):  # noqa: A002
    """Limit values to [min, max]; either bound may be None."""
    if min is None and max is None:
        raise ValueError("clamp needs at least one of min or max")
    return Clamp.apply(x, min, max)


clip = clamp


def maximum(x, y):
    return Maximum.apply(x, y)


def minimum(x, y):
    return Minimum.apply(x, y)


def where(condition, x=None, y=None):
    """Pick from x where condition is true, from y elsewhere (broadcasting).

    With only ``condition`` it is ``nonzero(condition, as_tuple=True)``: a tuple of int64
    index tensors, one per dimension, as ``torch.where(cond)``.

    Example:
        >>> import nerve as nv
        >>> c = nv.tensor([[True, False], [False, True]])
        >>> [t.tolist() for t in nv.where(c)]
        [[0, 1], [0, 1]]
    """
    if x is None and y is None:
        return nonzero(condition, as_tuple=True)
    if x is None or y is None:
        raise TypeError("where: pass both x and y, or neither (where(condition) lists the "
                        "indices of the non-zero elements)")
    return Where.apply(data_of(condition), x, y)


def nonzero(input, *, as_tuple=False):  # noqa: A002
    """Indices of the non-zero elements (int64, no gradient), in row-major order.

    ``as_tuple=False``: one (count, ndim) tensor; ``as_tuple=True``: a tuple of ndim
    1-D tensors (a 0-d input counts as 1-D), usable as an index ``x[nonzero(...)]``.

    Example:
        >>> import nerve as nv
        >>> nv.tensor([0.0, 2.0, 0.0, 3.0]).nonzero().tolist()
        [[1], [3]]
    """
    d = data_of(input)
    xp = get_array_module(d)
    if as_tuple:
        return tuple(_wrap(i.astype(np.int64, copy=False)) for i in xp.nonzero(xp.atleast_1d(d)))
    if d.ndim == 0:
        return _wrap(xp.zeros((1 if d else 0, 0), dtype=np.int64))
    return _wrap(xp.argwhere(d).astype(np.int64, copy=False))


def cast(x, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind not in "fc" and isinstance(x, Tensor):
        # an integer or bool result carries no gradient (torch: x.long().requires_grad is
        # False), so it is made outside the graph instead of as a node whose grad is lost
        return _wrap(x._data.astype(dtype))
    return Cast.apply(x, dtype)


def clone(x):
    return Clone.apply(x)


def to_device(x, device):
    return ToDevice.apply(x, device)


# ------------------------------------------------------------- comparisons (no grad)
def _make_cmp(name, fn):
    def f(x, y):
        return _wrap(fn(data_of(x), data_of(y)))

    f.__name__ = name
    return f


eq = _make_cmp("eq", _op.eq)
ne = _make_cmp("ne", _op.ne)
lt = _make_cmp("lt", _op.lt)
le = _make_cmp("le", _op.le)
gt = _make_cmp("gt", _op.gt)
ge = _make_cmp("ge", _op.ge)
# ``&``, ``|``, ``^`` and ``~`` are bitwise, as in torch: on bool tensors that is the logical
# operation, on integer tensors it works bit by bit (``tensor([1]) & tensor([2])`` is 0).
bitwise_and = _make_cmp("bitwise_and", _op.and_)
bitwise_or = _make_cmp("bitwise_or", _op.or_)
bitwise_xor = _make_cmp("bitwise_xor", _op.xor)


def bitwise_not(x):
    d = data_of(x)
    if not hasattr(d, "dtype"):
        d = np.asarray(d)
    if d.dtype.kind not in "biu":
        raise TypeError(f"bitwise_not (~) works on integer and bool tensors, got dtype {d.dtype}; "
                        "for 'is zero' use logical_not(x) or x == 0")
    return _wrap(~d)


# The logical_* functions treat every non-zero value as True and give a bool tensor
# (torch.logical_and(tensor([1]), tensor([2])) is True, where 1 & 2 is 0).
def _make_logical(name, np_name):
    def f(x, y):
        dx, dy = data_of(x), data_of(y)
        return _wrap(getattr(get_array_module(dx, dy), np_name)(dx, dy))

    f.__name__ = name
    return f


logical_and = _make_logical("logical_and", "logical_and")
logical_or = _make_logical("logical_or", "logical_or")
logical_xor = _make_logical("logical_xor", "logical_xor")


def logical_not(x):
    d = data_of(x)
    return _wrap(get_array_module(d).logical_not(d))


def isnan(x):
    d = data_of(x)
    return _wrap(d != d)


def isfinite(x):
    d = data_of(x)
    return _wrap(get_array_module(d).isfinite(d))


def _close_operands(x, y, op):
    a, b = data_of(x), data_of(y)
    if isinstance(x, Tensor) and isinstance(y, Tensor) and a.dtype != b.dtype:
        raise RuntimeError(f"{op}: both tensors must have the same dtype, got {a.dtype} and {b.dtype}; "
                           "convert one with .to(other.dtype) (or .type_as(other))")
    try:
        np.broadcast_shapes(getattr(a, "shape", ()), getattr(b, "shape", ()))
    except ValueError:
        raise broadcast_error(op, getattr(a, "shape", ()), getattr(b, "shape", ())) from None
    return a, b


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """Elementwise ``|input − other| ≤ atol + rtol·|other|`` (bool, no gradient); equal
    infinities are close, nan is close to nan only with ``equal_nan``.

    Example:
        >>> import nerve as nv
        >>> nv.isclose(nv.tensor([1.0, 2.0]), nv.tensor([1.0 + 1e-9, 2.1])).tolist()
        [True, False]
    """
    a, b = _close_operands(input, other, "isclose")
    xp = get_array_module(a, b)
    return _wrap(xp.asarray(xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """True (a Python bool) when every element pair is :func:`isclose`.

    Example:
        >>> import nerve as nv
        >>> nv.allclose(nv.tensor([1.0, 2.0]), nv.tensor([1.0, 2.0000001]))
        True
    """
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input, other):  # noqa: A002
    """True (a Python bool) when both tensors have the same shape and the same elements.

    Example:
        >>> import nerve as nv
        >>> nv.equal(nv.tensor([1, 2]), nv.tensor([1, 2])), nv.equal(nv.tensor([1]), nv.tensor([1, 1]))
        (True, False)
    """
    a, b = data_of(input), data_of(other)
    if tuple(a.shape) != tuple(b.shape):
        return False
    return bool((a == b).all())


def type_as(input, other):  # noqa: A002
    """``input`` converted to ``other``'s dtype (differentiable; a no-op if they match)."""
    return input if input.dtype == other.dtype else cast(input, other.dtype)


def _r(fn):
    return lambda x, y: fn(y, x)


TENSOR_METHODS = {
    "__add__": Add.apply, "__radd__": _r(Add.apply), "__sub__": Sub.apply, "__rsub__": _r(Sub.apply),
    "__mul__": Mul.apply, "__rmul__": _r(Mul.apply), "__truediv__": Div.apply,
    "__rtruediv__": _r(Div.apply), "__neg__": Neg.apply, "__pow__": Pow.apply,
    "__rpow__": _r(Pow.apply), "__abs__": Abs.apply,
    "__floordiv__": floor_divide, "__rfloordiv__": _r(floor_divide), "__mod__": remainder,
    "__rmod__": _r(remainder), "floor_divide": floor_divide, "remainder": remainder,
    "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
    "__and__": bitwise_and, "__or__": bitwise_or, "__xor__": bitwise_xor, "__invert__": bitwise_not,
    "__rand__": _r(bitwise_and), "__ror__": _r(bitwise_or), "__rxor__": _r(bitwise_xor),
    "add": add, "sub": sub, "mul": mul, "div": div, "neg": neg, "pow": pow, "exp": exp, "log": log,
    "log1p": log1p, "sqrt": sqrt, "rsqrt": rsqrt, "abs": abs, "sign": sign, "sin": sin, "cos": cos,
    "square": square, "reciprocal": reciprocal, "clamp": clamp, "clip": clamp,
    "maximum": maximum, "minimum": minimum, "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt,
    "ge": ge, "isnan": isnan, "isfinite": isfinite, "logical_not": logical_not,
    "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor,
    "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor,
    "bitwise_not": bitwise_not,
    "where": lambda x, condition, other: where(condition, x, other), "nonzero": nonzero,
    "isclose": isclose, "allclose": allclose, "equal": equal, "type_as": type_as,
}

# Names a backward formula may call on ctx.xp during create_graph.
GRAPH_NAMESPACE = {
    "exp": exp, "log": log, "log1p": log1p, "sqrt": sqrt, "abs": abs, "sign": sign,
    "sin": sin, "cos": cos, "maximum": maximum, "minimum": minimum, "square": square,
    "where": where, "clip": clamp, "astype": lambda x, dtype: cast(x, dtype),
}
