"""Pooling and resampling: max / average / adaptive pooling, global average pooling, interpolate.

Layout is channels-first: (N, C, L) for 1-D ops, (N, C, H, W) for 2-D ops (an unbatched
(C, H, W) input is accepted too). The output size of a k-window with stride s, padding p
and dilation d is

    H_out = ⌊(H + 2p − d·(k − 1) − 1) / s⌋ + 1        (⌈·⌉ with ceil_mode=True)

and with ceil_mode a last window that would start in the right padding is dropped, as in
PyTorch.

Why fused ops: a pooling window is visited with one whole-array slice per kernel offset
(k_h·k_w of them), never per pixel. Max pooling remembers which offset won so its
backward sends the gradient to that one input (PyTorch's rule: the first maximum in
row-major window order, and a NaN always wins). Adaptive pooling and interpolation are
separable linear maps, so they are two small matrix products each way. Every backward
here is itself differentiable (create_graph works through all of these ops).
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..autograd.namespace import register_extra
from ._util import _wrap

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "global_avg_pool2d", "interpolate",
           "upsample", "pool_output_size"]


def _ntuple(v, n, name, op):
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")
        return tuple(int(a) for a in v)
    return (int(v),) * n


def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Output length of a pooling window along one dimension (PyTorch's rule).

    ⌊(size + 2p − d·(k − 1) − 1)/s⌋ + 1, rounding up instead with ``ceil_mode`` unless the
    last window would then start past the input and its left padding.

    Example:
        >>> pool_output_size(5, 2, 2)
        2
        >>> pool_output_size(5, 2, 2, ceil_mode=True)
        3
    """
    s = kernel_size if stride is None else stride
    num = size + 2 * padding - dilation * (kernel_size - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + padding:
        out -= 1
    return out


def _need_float(input, op):  # noqa: A002
    """Averages and interpolation weights are fractions: integer input would be truncated."""
    dt = np.dtype(input.dtype)
    if dt.kind not in "fc":
        raise TypeError(f"{op} needs a floating-point tensor, got dtype {dt}; convert it with .float() "
                        f"(or .double()) first")


def _window(start, stride, count):
    return slice(start, start + stride * (count - 1) + 1, stride)


def _pad_to(xp, x, pads, out_hw, kernel, stride, dilation, value):
    """Pad H, W by the left/top padding and whatever the windows need on the other side.

    Windows cover [0, (out − 1)·s + d·(k − 1) + 1) of the padded input; with ceil_mode that
    can reach past the nominal padding, and without it may stop short of it.
    """
    N, C, H, W = x.shape
    need = [(o - 1) * s + d * (k - 1) + 1 for o, s, d, k in zip(out_hw, stride, dilation, kernel)]
    pt, pl = pads
    pb, pr = need[0] - H - pt, need[1] - W - pl
    if not (pt or pl or pb > 0 or pr > 0):
        return x
    out = xp.full((N, C, pt + H + max(pb, 0), pl + W + max(pr, 0)), value, dtype=x.dtype)
    out[:, :, pt:pt + H, pl:pl + W] = x
    return out


def _real_offsets(xp, hw, pads, out_hw, kernel, stride, dilation):
    """Per kernel offset (row-major), an (H_out, W_out) mask of the windows where that
    offset falls inside the input rather than in the padding."""
    rows, cols = (
        [(xp.arange(o) * s + i * d - p >= 0) & (xp.arange(o) * s + i * d - p < n) for i in range(k)]
        for n, p, o, k, s, d in zip(hw, pads, out_hw, kernel, stride, dilation))
    return [r[:, None] & c[None, :] for r in rows for c in cols]


def _crop(xp, g, pads, shape):
    pt, pl = pads
    H, W = shape[2:]
    if g.shape[2:] == (H, W) and not (pt or pl):
        return g
    return xp.ascontiguousarray(g[:, :, pt:pt + H, pl:pl + W])




# ---------------------------------------------------------------- window scatter / gather kernels
# Pooling backward is linear in the incoming gradient: a scatter of each output's gradient
# into its window (all members for average pooling, the arg-max for max pooling). The
# adjoint of that scatter is the matching gather. Each kernel is the other's derivative,
# so the backward formulas call them through ``ctx.xp`` and work under create_graph too.
# ``geom`` = (input shape, padded shape, kernel, stride, left/top pads, dilation).
def _scatter(xp, g, arg, geom):
    """Send g (N, C, H_out, W_out) into the windows: to the arg-max offset, or (arg None) to all."""
    shape, pad_shape, (kh, kw), (sh, sw), pads, (dh, dw) = geom
    Ho, Wo = g.shape[2:]
    gpad = xp.zeros(pad_shape, dtype=g.dtype)
    # Non-overlapping windows (the usual 2×2, stride 2) write disjoint pixels: assign.
    disjoint = sh >= dh * (kh - 1) + 1 and sw >= dw * (kw - 1) + 1
    for i in range(kh):
        rows = _window(i * dh, sh, Ho)
        for j in range(kw):
            target = gpad[:, :, rows, _window(j * dw, sw, Wo)]
            if arg is None:
                target += g
            elif disjoint:
                xp.multiply(g, arg == i * kw + j, out=target)
            else:
                target += g * (arg == i * kw + j)
    return _crop(xp, gpad, pads, shape)


def _gather(xp, x, arg, geom):
    """The adjoint of ``_scatter``: each output sums its window (arg None) or takes its arg-max."""
    shape, pad_shape, (kh, kw), (sh, sw), (pt, pl), (dh, dw) = geom
    Ho, Wo = arg.shape[2:] if arg is not None else _out_from(pad_shape, geom)
    N, C, H, W = x.shape
    xpad = xp.zeros(pad_shape, dtype=x.dtype)
    xpad[:, :, pt:pt + H, pl:pl + W] = x[:, :, :pad_shape[2] - pt, :pad_shape[3] - pl]
    out = xp.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for i in range(kh):
        rows = _window(i * dh, sh, Ho)
        for j in range(kw):
            v = xpad[:, :, rows, _window(j * dw, sw, Wo)]
            out += v if arg is None else v * (arg == i * kw + j)
    return out


def _out_from(pad_shape, geom):
    _, _, (kh, kw), (sh, sw), _, (dh, dw) = geom
    return ((pad_shape[2] - dh * (kh - 1) - 1) // sh + 1, (pad_shape[3] - dw * (kw - 1) - 1) // sw + 1)


def _avg_scatter(xp, g, div, geom):
    return _scatter(xp, g / div, None, geom)


def _avg_gather(xp, x, div, geom):
    return _gather(xp, x, None, geom) / div


register_extra("nerve_pool_scatter", _scatter)
register_extra("nerve_pool_gather", _gather)
register_extra("nerve_avg_scatter", _avg_scatter)
register_extra("nerve_avg_gather", _avg_gather)


class MaxPool2d(Function):
    """Max over k_h×k_w windows; the winning offset per output is kept for backward."""

    def forward(ctx, x, kernel, stride, pads, dilation, out_hw, want_indices):
        xp = ctx.xp
        kh, kw = kernel
        Ho, Wo = out_hw
        # The padding must lose to every value: −∞, the smallest integer, or False (a cast
        # −∞ would be 0 for unsigned types and True for booleans).
        kind = xp.dtype(x.dtype).kind
        low = -xp.inf if kind in "fc" else xp.iinfo(x.dtype).min if kind in "iu" else False
        xpad = _pad_to(xp, x, pads, out_hw, kernel, stride, dilation, low)
        views = [xpad[:, :, _window(i * dilation[0], stride[0], Ho), _window(j * dilation[1], stride[1], Wo)]
                 for i in range(kh) for j in range(kw)]
        out = views[0].copy()
        for v in views[1:]:
            xp.maximum(out, v, out=out)                   # NaN propagates, as in PyTorch
        # The arg-max: PyTorch keeps the first maximum in row-major window order. Its offset
        # is the number of offsets passed before the first match, so count them: small
        # boolean passes, ~3x faster than masked copies into a strided view.
        arg = xp.zeros(out.shape, dtype=xp.uint8 if kh * kw < 256 else xp.int32)
        found = views[0] == out
        for v in views[1:]:
            arg += ~found
            found |= v == out
        if xpad is not x and (out == low).any():
            # A window of −∞ ties with its −∞ padding; PyTorch never picks padding, it keeps
            # the window's first real element. Recount with the padded offsets left out.
            real = _real_offsets(xp, x.shape[2:], pads, out_hw, kernel, stride, dilation)
            arg[...] = 0
            found = real[0] & (views[0] == out)
            for v, r in zip(views[1:], real[1:]):
                arg += ~found
                found |= r & (v == out)
        if xp.isnan(out).any():                           # a NaN wins, the last one seen
            for k, v in enumerate(views):
                xp.copyto(arg, k, where=v != v)
        ctx.geom = (x.shape, xpad.shape, kernel, stride, pads, dilation)
        if want_indices is not None:
            # Flat index into each (H, W) plane of the unpadded input, as PyTorch returns.
            ki, kj = arg // kw, arg % kw
            h = (xp.arange(Ho) * stride[0] - pads[0])[:, None] + ki.astype(xp.int64) * dilation[0]
            w = (xp.arange(Wo) * stride[1] - pads[1])[None, :] + kj.astype(xp.int64) * dilation[1]
            want_indices.append(h * x.shape[3] + w)
        ctx.save_for_backward(arg)
        return out

    def backward(ctx, grad):
        (arg,) = ctx.saved
        return ctx.xp.nerve_pool_scatter(grad, arg, ctx.geom), None, None, None, None, None, None


class _WindowMap(Function):
    """A pooling backward kernel as an op of its own, so create_graph can differentiate it.

    Each kernel is linear in its first argument; its derivative is the adjoint kernel,
    reached through ``ctx.xp`` (array or graph namespace). ``aux`` is the arg-max offsets
    (max pooling) or the divisor (average pooling); it takes no gradient.
    """

    kernel = None       # fn(xp, a, aux, geom) on arrays
    adjoint = ""        # the ctx.xp name of the adjoint kernel

    def forward(ctx, a, aux, geom):
        ctx.geom = geom
        ctx.save_for_backward(aux)
        return type(ctx).kernel(ctx.xp, a, aux, geom)

    def backward(ctx, g):
        (aux,) = ctx.saved
        return getattr(ctx.xp, ctx.adjoint)(g, aux, ctx.geom), None, None


class PoolScatter(_WindowMap):
    """Max pooling's backward: each output's gradient to its window's arg-max."""
    kernel, adjoint = staticmethod(_scatter), "nerve_pool_gather"


class PoolGather(_WindowMap):
    """The adjoint of ``PoolScatter``: each output reads its window's arg-max."""
    kernel, adjoint = staticmethod(_gather), "nerve_pool_scatter"


class AvgScatter(_WindowMap):
    """Average pooling's backward; its derivative is average pooling again."""
    kernel, adjoint = staticmethod(_avg_scatter), "nerve_avg_gather"


class AvgGather(_WindowMap):
    """The adjoint of ``AvgScatter``: average pooling with a given divisor."""
    kernel, adjoint = staticmethod(_avg_gather), "nerve_avg_scatter"


class AvgPool2d(Function):
    """Mean over k_h×k_w windows with PyTorch's divisor rules."""

    def forward(ctx, x, kernel, stride, pads, out_hw, divisor):
        xp = ctx.xp
        kh, kw = kernel
        Ho, Wo = out_hw
        xpad = _pad_to(xp, x, pads, out_hw, kernel, stride, (1, 1), 0)
        out = xp.zeros(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
        for i in range(kh):
            rows = _window(i, stride[0], Ho)
            for j in range(kw):
                out += xpad[:, :, rows, _window(j, stride[1], Wo)]
        div = xp.asarray(divisor, dtype=x.dtype)
        out /= div
        ctx.geom = (x.shape, xpad.shape, kernel, stride, pads, (1, 1))
        ctx.save_for_backward(div)
        return out

    def backward(ctx, grad):
        (div,) = ctx.saved
        return ctx.xp.nerve_avg_scatter(grad, div, ctx.geom), None, None, None, None, None


class Separable(Function):
    """y = A_h · x · A_wᵀ over the last two axes (or y = x · A_wᵀ on 3-D input).

    Adaptive average pooling and (bi)linear / nearest interpolation are all linear maps
    that act on each spatial axis separately; each axis gets a small dense matrix.
    """

    def forward(ctx, x, Ah, Aw):
        ctx.save_for_backward(Ah, Aw)
        y = x if Ah is None else Ah @ x          # (N, C, H_out, W)
        return y @ Aw.T                          # (N, C, H_out, W_out)

    def backward(ctx, grad):
        Ah, Aw = ctx.saved
        g = grad @ Aw                            # (N, C, H_out, W)
        return (g if Ah is None else Ah.T @ g), None, None


class Gather2d(Function):
    """y[..., i, j] = x[..., rows[i], cols[j]] (nearest-neighbour resampling).

    Forward is pure indexing (exact, even for inf/NaN); backward adds through the one-hot
    matrices of the same map.
    """

    def forward(ctx, x, rows, cols, Ah, Aw):
        ctx.save_for_backward(Ah, Aw)
        y = x if rows is None else ctx.xp.take(x, rows, axis=-2)
        return ctx.xp.take(y, cols, axis=-1)

    def backward(ctx, grad):
        Ah, Aw = ctx.saved
        g = grad @ Aw
        return (g if Ah is None else Ah.T @ g), None, None, None, None


# ---------------------------------------------------------------- helpers for the public API
def _as4d(input, nd, op):  # noqa: A002
    """Return (x as 4-D, undo) for 1-D (nd=1) or 2-D (nd=2) pooling inputs, batched or not."""
    if nd == 2:
        if input.ndim == 4:
            return input, lambda y: y
        if input.ndim == 3:
            return input.reshape(1, *input.shape), lambda y: y.reshape(*y.shape[1:])
        raise RuntimeError(f"{op}: expected a 4-D input (N, C, H, W) or a 3-D one (C, H, W), "
                           f"got shape {tuple(input.shape)}")
    if input.ndim == 3:
        N, C, L = input.shape
        return input.reshape(N, C, 1, L), lambda y: y.reshape(N, C, y.shape[-1])
    if input.ndim == 2:
        C, L = input.shape
        return input.reshape(1, C, 1, L), lambda y: y.reshape(C, y.shape[-1])
    raise RuntimeError(f"{op}: expected a 3-D input (N, C, L) or a 2-D one (C, L), got shape {tuple(input.shape)}")


def _pool_args(x_hw, kernel_size, stride, padding, dilation, ceil_mode, nd, op):
    kernel = _ntuple(kernel_size, nd, "kernel_size", op)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else _ntuple(stride, nd, "stride", op)
    padding = _ntuple(padding, nd, "padding", op)
    dilation = _ntuple(dilation, nd, "dilation", op)
    if nd == 1:
        kernel, stride, padding, dilation = (1,) + kernel, (1,) + stride, (0,) + padding, (1,) + dilation
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be positive, got {kernel_size}, "
                         f"{stride}, {dilation}")
    for p, k in zip(padding, kernel):
        # PyTorch's bound is half the kernel size itself, dilation or not.
        if p < 0 or 2 * p > k:
            raise ValueError(f"{op}: padding {p} must be between 0 and half the kernel size {k}; "
                             "use a smaller padding")
    out = tuple(pool_output_size(s, k, st, p, d, ceil_mode)
                for s, k, st, p, d in zip(x_hw, kernel, stride, padding, dilation))
    if min(out) < 1:
        size = x_hw[1:] if nd == 1 else x_hw
        raise RuntimeError(f"{op}: input of spatial size {tuple(size)} is too small for kernel {kernel_size} "
                           f"with stride {stride[1:] if nd == 1 else stride} and padding {padding} "
                           f"(output would be {out[1:] if nd == 1 else out}); use a smaller kernel or pad the input")
    return kernel, stride, padding, dilation, out


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd, op):  # noqa: A002
    x, undo = _as4d(input, nd, op)
    kernel, stride, padding, dilation, out_hw = _pool_args(x.shape[2:], kernel_size, stride, padding,
                                                           dilation, ceil_mode, nd, op)
    holder = [] if return_indices else None
    out = undo(MaxPool2d.apply(x, kernel, stride, padding, dilation, out_hw, holder))
    if return_indices:
        idx = holder[0]
        return out, _wrap(idx.reshape(out.shape))
    return out


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """2-D max pooling: the largest value in each k_h×k_w window.

    H_out = ⌊(H + 2p − d·(k − 1) − 1)/s⌋ + 1 (⌈·⌉ with ceil_mode). Padding is −∞, so it
    never wins. The gradient goes to the arg-max (first maximum in row-major window order).

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: int or (kH, kW).
        stride: int or pair; defaults to kernel_size.
        padding: implicit −∞ border, at most half the kernel.
        dilation: spacing between window elements.
        ceil_mode: round the output size up (windows may hang over the bottom/right edge).
        return_indices: also return the flat H·W index of each maximum (int64).

    Returns: (N, C, H_out, W_out), and the indices if asked.

    Example:
        >>> import nerve as nv
        >>> max_pool2d(nv.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
        [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """1-D max pooling over (N, C, L) or (C, L); see :func:`max_pool2d`.

    Example:
        >>> import nerve as nv
        >>> max_pool1d(nv.tensor([[[1.0, 3.0, 2.0, 0.0, 5.0]]]), 2).tolist()
        [[[3.0, 2.0]]]
    """
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1, "max_pool1d")


def _avg_divisor(x_hw, kernel, stride, padding, out_hw, count_include_pad, divisor_override):
    """The per-output divisor, PyTorch's rule: windows are clipped to the padded input
    (count_include_pad) or to the input itself (otherwise)."""
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError("avg_pool2d: divisor_override must be non-zero, got 0; pass None to divide "
                             "by the window size")
        return np.asarray(float(divisor_override))
    per_axis = []
    for n, k, s, p, o in zip(x_hw, kernel, stride, padding, out_hw):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if count_include_pad:
            per_axis.append(end - start)
        else:
            per_axis.append(np.minimum(end, n) - np.maximum(start, 0))
    return (per_axis[0][:, None] * per_axis[1][None, :]).astype(np.float64)


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,  # noqa: A002
              nd, op):
    _need_float(input, op)
    x, undo = _as4d(input, nd, op)
    kernel, stride, padding, _, out_hw = _pool_args(x.shape[2:], kernel_size, stride, padding, 1,
                                                    ceil_mode, nd, op)
    div = _avg_divisor(x.shape[2:], kernel, stride, padding, out_hw, count_include_pad, divisor_override)
    from ..backend import get_array_module  # noqa: PLC0415

    xp = get_array_module(x._data)
    if xp is not np:
        div = xp.asarray(div)
    return undo(AvgPool2d.apply(x, kernel, stride, padding, out_hw, div))


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,  # noqa: A002
               divisor_override=None):
    """2-D average pooling: the mean of each k_h×k_w window.

    H_out = ⌊(H + 2p − k)/s⌋ + 1 (⌈·⌉ with ceil_mode). Padding is zeros; with
    ``count_include_pad=True`` they count in the divisor (k_h·k_w inside the padded input),
    otherwise only real pixels count. Each window member gets gradient 1/divisor.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size, stride (defaults to kernel_size), padding: int or pair.
        ceil_mode: round the output size up.
        count_include_pad: count zero padding in the divisor.
        divisor_override: use this divisor everywhere instead.

    Returns: (N, C, H_out, W_out).

    Example:
        >>> import nerve as nv
        >>> avg_pool2d(nv.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
        [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
                     2, "avg_pool2d")


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):  # noqa: A002
    """1-D average pooling over (N, C, L) or (C, L); see :func:`avg_pool2d`.

    Example:
        >>> import nerve as nv
        >>> avg_pool1d(nv.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
        [[[2.0, 1.0]]]
    """
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1, "avg_pool1d")


def _adaptive_matrix(n_in, n_out, dtype):
    """Rows average the bins [⌊i·n_in/n_out⌋, ⌈(i+1)·n_in/n_out⌉) (PyTorch's bins)."""
    i = np.arange(n_out)
    start = (i * n_in) // n_out
    end = -((-(i + 1) * n_in) // n_out)
    cols = np.arange(n_in)
    inside = (cols[None, :] >= start[:, None]) & (cols[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _out_pair(output_size, shape, op):
    sz = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(sz) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    return tuple(s if o is None else int(o) for o, s in zip(sz, shape))


def _on_device(a, x):
    from ..backend import get_array_module  # noqa: PLC0415

    xp = get_array_module(x._data)
    return a if xp is np else xp.asarray(a)


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """Average pooling to a fixed output size, whatever the input size.

    Output cell i averages input rows ⌊i·H/H_out⌋ … ⌈(i+1)·H/H_out⌉ − 1 (bins may
    overlap when H is not a multiple of H_out); likewise for columns. ``output_size=1``
    is global average pooling.

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: int or (H_out, W_out); None keeps that dimension.

    Returns: (N, C, H_out, W_out).

    Example:
        >>> import nerve as nv
        >>> adaptive_avg_pool2d(nv.arange(16.0).reshape(1, 1, 4, 4), 1).tolist()
        [[[[7.5]]]]
    """
    _need_float(input, "adaptive_avg_pool2d")
    x, undo = _as4d(input, 2, "adaptive_avg_pool2d")
    H, W = x.shape[2:]
    Ho, Wo = _out_pair(output_size, (H, W), "adaptive_avg_pool2d")
    if Ho < 1 or Wo < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size!r}")
    Ah = None if Ho == H else _on_device(_adaptive_matrix(H, Ho, x.dtype), x)
    Aw = _on_device(_adaptive_matrix(W, Wo, x.dtype), x)
    return undo(Separable.apply(x, Ah, Aw))


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    """Average pooling of (N, C, L) or (C, L) to a fixed length (PyTorch's bins).

    Example:
        >>> import nerve as nv
        >>> adaptive_avg_pool1d(nv.tensor([[[1.0, 2.0, 3.0, 4.0]]]), 2).tolist()
        [[[1.5, 3.5]]]
    """
    if input.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_avg_pool1d: expected (N, C, L) or (C, L), got shape {tuple(input.shape)}")
    _need_float(input, "adaptive_avg_pool1d")
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 1:
            raise ValueError(f"adaptive_avg_pool1d: output_size must be an int or a 1-tuple, got {output_size!r}")
        output_size = output_size[0]
    Lo = int(output_size)
    if Lo < 1:
        raise ValueError(f"adaptive_avg_pool1d: output_size must be positive, got {Lo}")
    x = input if input.ndim == 3 else input.reshape(1, *input.shape)
    out = Separable.apply(x, None, _on_device(_adaptive_matrix(x.shape[2], Lo, x.dtype), x))
    return out if input.ndim == 3 else out.reshape(*out.shape[1:])


def adaptive_max_pool2d(input, output_size, return_indices=False):  # noqa: A002
    """Max over PyTorch's adaptive bins: (N, C, H, W) or (C, H, W) → (…, H_out, W_out),
    for any H, W (bins overlap unevenly when the sizes are not multiples).

    Sizes that divide evenly run as plain max pooling; the others find the first maximum of
    each bin on the array and ``gather`` it, so the gradient is scattered back to it.
    ``return_indices=True`` also returns int64 positions into the flattened H·W plane.
    ``output_size``: int or pair; None keeps that dimension.

    Example:
        >>> import nerve as nv
        >>> adaptive_max_pool2d(nv.arange(16.0).reshape(1, 1, 4, 4), 1).tolist()
        [[[[15.0]]]]
    """
    from ..backend import get_array_module  # noqa: PLC0415
    from .shape import gather  # noqa: PLC0415

    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d: expected (N, C, H, W) or (C, H, W), got shape "
                           f"{tuple(input.shape)}")
    H, W = input.shape[-2:]
    Ho, Wo = _out_pair(output_size, (H, W), "adaptive_max_pool2d")
    if Ho < 1 or Wo < 1 or H < 1 or W < 1:
        raise RuntimeError(f"adaptive_max_pool2d: output_size {(Ho, Wo)} and the input size {(H, W)} must be "
                           f"positive (input shape {tuple(input.shape)})")
    if input.ndim == 4 and not (H % Ho or W % Wo):
        return max_pool2d(input, (H // Ho, W // Wo), return_indices=return_indices)
    d = input._data
    xp = get_array_module(d)
    # (n_out, k) positions of each bin per axis; short bins repeat their last position, which
    # comes after the original in row-major order, so the first maximum is unchanged.
    hs, he = _adaptive_bins(H, Ho)
    ws, we = _adaptive_bins(W, Wo)
    kh, kw = int((he - hs).max()), int((we - ws).max())
    ph = np.minimum(hs[:, None] + np.arange(kh)[None, :], (he - 1)[:, None])      # (Ho, kh)
    pw = np.minimum(ws[:, None] + np.arange(kw)[None, :], (we - 1)[:, None])      # (Wo, kw)
    flat = (ph[:, None, :, None] * W + pw[None, :, None, :]).reshape(Ho, Wo, kh * kw)
    flat = xp.asarray(flat)
    plane = d.reshape(d.shape[:-2] + (H * W,))
    win = plane[..., flat]                                     # (..., Ho, Wo, kh·kw)
    first = xp.argmax(win, axis=-1)                            # first maximum (nan counts as max)
    nan = xp.isnan(win)
    if nan.any():
        # PyTorch lets every NaN of a bin replace the running maximum: the last NaN wins.
        last_nan = nan.shape[-1] - 1 - xp.argmax(nan[..., ::-1], axis=-1)
        first = xp.where(nan.any(-1), last_nan, first)
    idx = xp.take_along_axis(xp.broadcast_to(flat, win.shape), first[..., None], axis=-1)[..., 0]
    idx = idx.astype(np.int64, copy=False)                     # (..., Ho, Wo)
    lead = tuple(input.shape[:-2])
    values = gather(input.reshape(*lead, H * W), -1, _wrap(idx.reshape(lead + (Ho * Wo,))))
    values = values.reshape(*lead, Ho, Wo)
    return (values, _wrap(idx)) if return_indices else values


def _adaptive_bins(n_in, n_out):
    """PyTorch's adaptive bins: bin i covers [⌊i·n_in/n_out⌋, ⌈(i+1)·n_in/n_out⌉)."""
    i = np.arange(n_out)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)


def adaptive_max_pool1d(input, output_size, return_indices=False):  # noqa: A002
    """Max over PyTorch's adaptive bins of the last dim: (N, C, L) or (C, L) → length
    ``output_size``, for any L (bins may overlap when L is not a multiple).

    The window maxima are found on the array (first maximum of each bin, as torch); the
    values are a ``gather`` at those indices, so the gradient is scattered back to them.
    ``return_indices=True`` also returns the int64 positions along L.

    Example:
        >>> import nerve as nv
        >>> v, i = adaptive_max_pool1d(nv.tensor([[[1.0, 5.0, 2.0, 0.0, 3.0]]]), 2, return_indices=True)
        >>> v.tolist(), i.tolist()
        ([[[5.0, 3.0]]], [[[1, 4]]])
    """
    from ..backend import get_array_module  # noqa: PLC0415
    from .shape import gather  # noqa: PLC0415

    if input.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_max_pool1d: expected (N, C, L) or (C, L), got shape {tuple(input.shape)}")
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 1:
            raise ValueError(f"adaptive_max_pool1d: output_size must be an int or a 1-tuple, got {output_size!r}")
        output_size = output_size[0]
    L, Lo = input.shape[-1], int(output_size)
    if Lo < 1 or L < 1:
        raise RuntimeError(f"adaptive_max_pool1d: output_size ({Lo}) and the input length ({L}) must be "
                           f"positive (input shape {tuple(input.shape)})")
    d = input._data
    xp = get_array_module(d)
    start, end = _adaptive_bins(L, Lo)
    k = int((end - start).max())
    # (Lo, k) positions of each bin; short bins repeat their last position, which cannot
    # change the maximum nor come before the first one.
    pos = np.minimum(start[:, None] + np.arange(k)[None, :], (end - 1)[:, None])
    pos = xp.asarray(pos)
    win = d[..., pos]                                          # (..., Lo, k)
    first = xp.argmax(win, axis=-1)                            # first maximum (nan counts as max)
    nan = xp.isnan(win)
    if nan.any():
        # PyTorch lets every NaN of a bin replace the running maximum: the last NaN wins.
        last_nan = nan.shape[-1] - 1 - xp.argmax(nan[..., ::-1], axis=-1)
        first = xp.where(nan.any(-1), last_nan, first)
    idx = xp.take_along_axis(xp.broadcast_to(pos, win.shape), first[..., None], axis=-1)[..., 0]
    idx = idx.astype(np.int64, copy=False)                     # (..., Lo)
    values = gather(input, -1, _wrap(idx))
    return (values, _wrap(idx)) if return_indices else values


def global_avg_pool2d(input, keepdim=False):  # noqa: A002
    """The mean of each feature map: (N, C, H, W) → (N, C), or (N, C, 1, 1) with keepdim.

    Each input pixel gets gradient 1/(H·W). Equal to ``adaptive_avg_pool2d(x, 1)``
    flattened; the (N, C) default makes it a drop-in replacement for Flatten before the
    classifier.

    Example:
        >>> import nerve as nv
        >>> global_avg_pool2d(nv.ones(2, 3, 5, 5)).shape
        (2, 3)
    """
    if input.ndim != 4:
        raise RuntimeError(f"global_avg_pool2d: expected (N, C, H, W), got shape {tuple(input.shape)}")
    return input.mean(dim=(2, 3), keepdim=keepdim)


# ---------------------------------------------------------------- interpolate
def _scale_for(n_in, n_out, align_corners, scale, dtype):
    """PyTorch's area_pixel_compute_scale, in the computation dtype."""
    if align_corners:
        return dtype.type((n_in - 1) / (n_out - 1)) if n_out > 1 else dtype.type(0)
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(n_in) / dtype.type(n_out)


def _linear_matrix(n_in, n_out, align_corners, scale, dtype):
    """(n_out, n_in): each row blends the two nearest input samples (PyTorch's rule)."""
    A = np.zeros((n_out, n_in), dtype=dtype)
    rows = np.arange(n_out)
    if n_in == n_out:
        A[rows, rows] = 1
        return A
    ratio = _scale_for(n_in, n_out, align_corners, scale, dtype)
    dst = rows.astype(dtype)
    if align_corners:
        src = ratio * dst
    else:
        src = np.maximum(ratio * (dst + dtype.type(0.5)) - dtype.type(0.5), dtype.type(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = i0 + (i0 < n_in - 1)
    lam1 = (src - i0.astype(dtype)).astype(dtype)
    lam0 = (dtype.type(1) - lam1).astype(dtype)
    np.add.at(A, (rows, i0), lam0)
    np.add.at(A, (rows, i1), lam1)
    return A


def _nearest_index(n_in, n_out, scale, shortcuts):
    """PyTorch's nearest rule: ⌊i · n_in/n_out⌋ (or ⌊i / scale⌋) computed in float32, clipped.

    PyTorch's 2-D kernel maps equal sizes to the identity and doubled sizes to i // 2
    before looking at the scale; its 1-D kernel has no such shortcuts, so a 1-D
    scale_factor of 2.1 onto exactly twice the length still reads ⌊i / 2.1⌋.
    """
    dst = np.arange(n_out)
    if shortcuts and n_out == n_in:
        return dst
    if shortcuts and n_out == 2 * n_in:
        return dst >> 1
    s = np.float32(1.0 / scale) if scale is not None and scale > 0 else np.float32(n_in) / np.float32(n_out)
    return np.minimum(np.floor(dst.astype(np.float32) * s).astype(np.int64), n_in - 1)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,  # noqa: A002
                recompute_scale_factor=None):
    """Resize the spatial dimensions of (N, C, L) or (N, C, H, W) input.

    Output size: ``size``, or ⌊in · scale_factor⌋. Modes:

    - 'nearest': out[i] = x[⌊i · in/out⌋] (PyTorch's legacy nearest rule);
    - 'linear' (3-D) / 'bilinear' (4-D): out[i] = (1 − λ)·x[i₀] + λ·x[i₀ + 1] where the
      source coordinate is i·(in − 1)/(out − 1) with ``align_corners=True`` (corner pixels
      line up) and (i + ½)·in/out − ½, clamped at 0, otherwise (pixel areas line up).

    When ``scale_factor`` is given (and ``recompute_scale_factor`` is not True) the
    coordinate map uses 1/scale_factor, as PyTorch does.

    Args:
        input: (N, C, L) or (N, C, H, W).
        size: int or tuple of output sizes.
        scale_factor: float or tuple of floats.
        mode: 'nearest', 'linear' or 'bilinear'.
        align_corners: bool for the linear modes (default False); must be None for 'nearest'.

    Returns: (N, C, L_out) or (N, C, H_out, W_out).

    Example:
        >>> import nerve as nv
        >>> interpolate(nv.tensor([[[1.0, 2.0]]]), scale_factor=2).tolist()
        [[[1.0, 1.0, 2.0, 2.0]]]
        >>> interpolate(nv.tensor([[[1.0, 2.0]]]), size=3, mode="linear", align_corners=True).tolist()
        [[[1.0, 1.5, 2.0]]]
    """
    nd = input.ndim - 2
    if nd not in (1, 2):
        raise NotImplementedError(f"interpolate: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, "
                                  f"got shape {tuple(input.shape)}")
    linear_mode = {1: "linear", 2: "bilinear"}[nd]
    if mode not in ("nearest", linear_mode):
        raise ValueError(f"interpolate: mode {mode!r} is not available for a {input.ndim}-D input; "
                         f"use 'nearest' or {linear_mode!r}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners only applies to the linear modes; leave it None for 'nearest'")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    in_sz = input.shape[2:]
    if size is not None:
        out_sz = tuple(int(s) for s in (size if isinstance(size, (tuple, list)) else (size,) * nd))
        scales = (None,) * nd
    else:
        sf = tuple(float(s) for s in (scale_factor if isinstance(scale_factor, (tuple, list))
                                      else (scale_factor,) * nd))
        out_sz = tuple(int(math.floor(n * s)) for n, s in zip(in_sz, sf))
        scales = (None,) * nd if recompute_scale_factor else sf
    if len(out_sz) != nd or min(out_sz) < 1:
        raise ValueError(f"interpolate: output size {out_sz} is not valid for input {tuple(input.shape)}")
    dtype = input.dtype
    if mode == "nearest":
        idx = [_nearest_index(n, o, s, nd == 2) for n, o, s in zip(in_sz, out_sz, scales)]
        mats = []
        for ix, n in zip(idx, in_sz):
            A = np.zeros((len(ix), n), dtype=dtype)
            A[np.arange(len(ix)), ix] = 1
            mats.append(_on_device(A, input))
        idx = [_on_device(i, input) for i in idx]
        if nd == 1:
            return Gather2d.apply(input, None, idx[0], None, mats[0])
        return Gather2d.apply(input, idx[0], idx[1], mats[0], mats[1])
    _need_float(input, f"interpolate (mode {mode!r})")
    ac = bool(align_corners)
    mats = [_on_device(_linear_matrix(n, o, ac, s, np.dtype(dtype)), input)
            for n, o, s in zip(in_sz, out_sz, scales)]
    if nd == 1:
        return Separable.apply(input, None, mats[0])
    return Separable.apply(input, mats[0], mats[1])


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):  # noqa: A002
    """Alias of :func:`interpolate` (PyTorch's deprecated name)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


TENSOR_METHODS = {}
GRAPH_NAMESPACE = {
    "nerve_pool_scatter": lambda g, arg, geom: PoolScatter.apply(g, arg, geom),
    "nerve_pool_gather": lambda x, arg, geom: PoolGather.apply(x, arg, geom),
    "nerve_avg_scatter": lambda g, div, geom: AvgScatter.apply(g, div, geom),
    "nerve_avg_gather": lambda x, div, geom: AvgGather.apply(x, div, geom),
}
