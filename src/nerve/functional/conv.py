"""Convolutions: conv1d, conv2d, conv_transpose2d, unfold/fold (im2col/col2im).

Layout is channels-first (NCHW), as in PyTorch. Every convolution is a cross-correlation:

    out[n, o, h, w] = b[o] + Σ_{c, i, j} W[o, c, i, j] · x_pad[n, g·C/G + c, h·s_h + i·d_h, w·s_w + j·d_w]

with ``g`` the group of output channel ``o``. The spatial output size is

    H_out = ⌊(H + p_top + p_bottom − d·(k − 1) − 1) / s⌋ + 1      (torch: ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1)

Why fused ops: composing a convolution out of slicing, multiplication and sums would build
k_h·k_w graph nodes and as many full-size temporaries. Here the forward copies the
receptive fields once into a column buffer (im2col: one whole-array copy per kernel
offset) and does one batched matrix product; the backward is two matrix products and a
col2im that adds the column gradients back, again one whole-array add per kernel offset.
No loop ever runs over pixels, batch items or channels. conv2d, conv_transpose2d and the
weight gradient are each other's derivatives, so all of them differentiate to any order.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.namespace import register_extra

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold",
           "conv_output_size", "conv_transpose_output_size"]


# ---------------------------------------------------------------- argument helpers
def _ntuple(v, n, name, op):
    """An int or a length-n sequence of ints → a tuple of n ints."""
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")
        out = tuple(int(a) for a in v)
    else:
        out = (int(v),) * n
    return out


def _padding_pairs(padding, kernel, dilation, stride, op):
    """Normalize ``padding`` to ((lo, hi), ...) per spatial dimension.

    'valid' is no padding; 'same' pads d·(k−1) in total, the odd pixel going to the end
    (bottom/right), exactly as PyTorch does for even kernels.
    """
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is only defined for stride 1 (got stride={stride}); "
                                 "use an explicit integer padding for strided convolutions")
            pairs = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pairs.append((total // 2, total - total // 2))
            return tuple(pairs)
        raise ValueError(f"{op}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
    p = _ntuple(padding, n, "padding", op)
    if any(a < 0 for a in p):
        raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
    return tuple((a, a) for a in p)


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """⌊(size + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1 for one dimension.

    ``padding`` may be a (lo, hi) pair for asymmetric padding.

    Example:
        >>> conv_output_size(28, 5, padding=2)
        28
        >>> conv_output_size(224, 7, stride=2, padding=3)
        112
    """
    lo, hi = padding if isinstance(padding, (tuple, list)) else (padding, padding)
    return (size + lo + hi - dilation * (kernel_size - 1) - 1) // stride + 1


def conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    """(size − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1.

    Example:
        >>> conv_transpose_output_size(14, 4, stride=2, padding=1)
        28
    """
    return (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1


# ---------------------------------------------------------------- im2col / col2im on raw arrays
# Columns are laid out channel-major, (C, kh, kw, <positions>): reshaped to
# (C·kh·kw, positions) they are the right operand of ONE matrix product with the
# (C_out, C·kh·kw) weight. NOTE: NumPy's stacked matmul (a batch of small GEMMs, one per
# image) measured 2–8× slower than one large GEMM here, hence one big product.
#
# The positions come in one of two orders, picked from the output width alone (so the
# forward, the weight gradient and the input gradient of one conv always agree):
#   batch-first  (N, H_out, W_out): the output (O, N, H_out, W_out) → (N, O, ...) moves
#       whole H_out·W_out planes; but each im2col copy / col2im add moves rows of W_out.
#   batch-last   (H_out, W_out, N): each copy/add moves blocks of W_out·N contiguous
#       numbers (640 for LeNet's second conv, against rows of 10), measured 2–3× faster
#       for im2col and 2× for col2im; the price is transposing the output and the
#       incoming gradient with N innermost, which costs more the bigger the output is.
# Measured on LeNet (batch 64): batch-last wins for the 10×10 output of its second conv,
# batch-first for the 28×28 output of its first, hence the width threshold.
# Channels-last columns (N·H_out·W_out, kh·kw·C) were measured too: their copies move runs
# of C numbers (1 or 6 in LeNet), slower than either.
_BATCH_LAST_BELOW = 16


def _batch_last(out_hw):
    """Whether the columns of a conv with this output size put the batch axis last."""
    return out_hw[1] < _BATCH_LAST_BELOW


def _window(start, stride, count):
    """The slice picking ``count`` positions from ``start`` every ``stride``."""
    return slice(start, start + stride * (count - 1) + 1, stride)


def _spatial(a, bl, rows, cols):
    """The (rows, cols) window of a (C, H, W, N) array (bl) or a (C, N, H, W) one."""
    return a[:, rows, cols] if bl else a[:, :, rows, cols]


def _pad_cols_layout(xp, x, pads, bl):
    """(N, C, H, W) → zero-padded (C, H', W', N) if bl else (C, N, H', W'); a negative pad crops."""
    (pt, pb), (pl, pr) = pads
    N, C, H, W = x.shape
    if pb < 0 or pr < 0:
        x = x[:, :, :H + min(pb, 0), :W + min(pr, 0)]
        H, W = x.shape[2:]
        pb, pr = max(pb, 0), max(pr, 0)
    Hp, Wp = H + pt + pb, W + pl + pr
    out = xp.zeros((C, Hp, Wp, N) if bl else (C, N, Hp, Wp), dtype=x.dtype)
    _spatial(out, bl, slice(pt, pt + H), slice(pl, pl + W))[...] = _to_cols_layout(x, bl)
    return out


def _to_cols_layout(a, bl):
    """(N, C, H, W) as a (C, H, W, N) view if bl, else (C, N, H, W)."""
    return a.transpose(1, 2, 3, 0) if bl else a.transpose(1, 0, 2, 3)


def _from_cols_layout(a, bl):
    """The inverse view of ``_to_cols_layout``."""
    return a.transpose(3, 0, 1, 2) if bl else a.transpose(1, 0, 2, 3)


def _cols_shape(C, kernel, N, out_hw, bl):
    return (C, *kernel, *out_hw, N) if bl else (C, *kernel, N, *out_hw)


def _im2col(xp, x, kernel, stride, dilation, pads, out_hw):
    """(N, C, H, W) → columns (C, kh, kw, H_out, W_out, N) (``_batch_last(out_hw)``) or
    (C, kh, kw, N, H_out, W_out), zero padding included.

    One strided copy per kernel offset; a 1×1, stride-1, unpadded kernel is one transpose.
    """
    N, C = x.shape[:2]
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    Ho, Wo = out_hw
    bl = _batch_last(out_hw)
    shape = _cols_shape(C, kernel, N, out_hw, bl)
    if kh == kw == 1 and sh == sw == 1 and not any(pads[0] + pads[1]) and (Ho, Wo) == x.shape[2:]:
        return xp.ascontiguousarray(_to_cols_layout(x, bl)).reshape(shape)
    xpad = _pad_cols_layout(xp, x, pads, bl)
    cols = xp.empty(shape, dtype=x.dtype)
    for i in range(kh):
        rows = _window(i * dh, sh, Ho)
        for j in range(kw):
            cols[:, i, j] = _spatial(xpad, bl, rows, _window(j * dw, sw, Wo))
    return cols


def _col2im(xp, cols, x_shape, kernel, stride, dilation, pads, out_hw):
    """The adjoint of ``_im2col``: add every column entry back to its pixel → (N, C, H, W)."""
    N, C, H, W = x_shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    (pt, pb), (pl, pr) = pads
    Ho, Wo = out_hw
    bl = _batch_last(out_hw)
    cols = cols.reshape(_cols_shape(C, kernel, N, out_hw, bl))
    if kh == kw == 1 and sh == sw == 1 and not (pt or pb or pl or pr) and (Ho, Wo) == (H, W):
        return xp.ascontiguousarray(_from_cols_layout(cols[:, 0, 0], bl))
    # A negative bottom/right pad (conv_transpose's output_padding) means those rows
    # receive nothing; they are still allocated so the crop below keeps them.
    Hp, Wp = H + pt + max(pb, 0), W + pl + max(pr, 0)
    out = xp.zeros((C, Hp, Wp, N) if bl else (C, N, Hp, Wp), dtype=cols.dtype)
    for i in range(kh):
        rows = _window(i * dh, sh, Ho)
        for j in range(kw):
            _spatial(out, bl, rows, _window(j * dw, sw, Wo))[...] += cols[:, i, j]
    out = _spatial(out, bl, slice(pt, pt + H), slice(pl, pl + W))
    return xp.ascontiguousarray(_from_cols_layout(out, bl))


# Skinny products run in panels along their long axis, each panel's operands and result
# about 256 KiB so they stay in the L2 cache. With OpenBLAS (0.3.31, one thread) the whole
# (6, 25) @ (25, 50176) product of LeNet's first conv, and its (25, 50176) @ (50176, 6)
# weight gradient, measured 2–2.5× slower than in panels; LeNet's second conv, (16, 150) @
# (150, 6400) and (150, 16) @ (16, 6400), 10–15% slower. Where the small matrix has more
# than 16 rows and columns (e.g. 64×27) panels measured up to 13% slower, so those
# products stay whole. A long contraction is cut only for a result of at most 1024
# entries (LeNet's second weight gradient, 150×16, was no faster cut).
_PANEL_BYTES = 1 << 18


def _panel(itemsize, a, b):
    """Panel length along the long axis for small sides ``a`` and ``b``."""
    return max(256, _PANEL_BYTES // (itemsize * (a + b)) // 64 * 64)


def _matmul2d(xp, a, b):
    """a (m, k) @ b (k, n), in panels when a small matrix meets a long one."""
    m, k = a.shape
    n = b.shape[1]
    if min(m, k) <= 16 and m * k <= 4096:                  # long free axis: panels of output columns
        p = _panel(a.itemsize, m, k)
        if n >= 4 * p:
            out = xp.empty((m, n), dtype=xp.result_type(a, b))
            for s in range(0, n, p):
                xp.matmul(a, b[:, s:s + p], out=out[:, s:s + p])
            return out
    if m * n <= 1024:                                      # long contraction: sum of panel products
        p = _panel(a.itemsize, m, n)
        if k >= 4 * p:
            out = a[:, :p] @ b[:p]
            for s in range(p, k, p):
                out += a[:, s:s + p] @ b[s:s + p]
            return out
    return a @ b


def _grouped_matmul(xp, a, b):
    """(G, m, k) @ (G, k, n); a plain 2-D GEMM when G == 1."""
    if a.shape[0] == 1:
        return _matmul2d(xp, a[0], b[0])[None]
    return a @ b


def _check_float_pair(x, W, op):
    if x.dtype != W.dtype:
        raise RuntimeError(f"{op}: input dtype {x.dtype} does not match weight dtype {W.dtype}; "
                           "convert the input with .float() (or the layer with .double())")


# ---------------------------------------------------------------- the ops
# Array kernels shared by the three ops below. Conv2d, ConvTranspose2d and ConvWeightGrad
# are each other's derivatives, so their backward formulas call these through ``ctx.xp``:
# on arrays they are the kernels, under create_graph the differentiable ops themselves,
# which gives second (and higher) derivatives without a second implementation.
def _conv2d_array(xp, x, W, stride, pads, dilation, groups, out_hw, cols=None, bias=None):
    """(N, C, H, W) ⋆ (O, C/G, kh, kw) (+ bias) → (N, O, H_out, W_out); also returns the columns."""
    N = x.shape[0]
    O, Cg, kh, kw = W.shape
    if cols is None:
        cols = _im2col(xp, x, (kh, kw), stride, dilation, pads, out_hw)
        cols = cols.reshape(groups, Cg * kh * kw, -1)                # (G, K, positions)
    out = _grouped_matmul(xp, W.reshape(groups, O // groups, -1), cols)   # (G, O/G, positions)
    if bias is not None:
        # On the fresh product, a contiguous pass; measured faster than adding it during
        # the transpose below (a broadcast add over a strided view).
        out += bias.reshape(groups, O // groups, 1)
    bl = _batch_last(out_hw)
    out = _from_cols_layout(out.reshape((O, *out_hw, N) if bl else (O, N, *out_hw)), bl)
    return xp.ascontiguousarray(out), cols


def _grad_cols_layout(xp, g, groups):
    """An output gradient (N, O, H_out, W_out) in the columns' position order: (G, O/G, positions)."""
    bl = _batch_last(g.shape[2:])
    return xp.ascontiguousarray(_to_cols_layout(g, bl)).reshape(groups, g.shape[1] // groups, -1)


def _conv_transpose2d_array(xp, g, W, stride, pads, dilation, groups, out_hw):
    """The adjoint of ``_conv2d_array`` in its input: (N, O, h, w) → (N, C, *out_hw)."""
    N, O = g.shape[:2]
    _, Cg, kh, kw = W.shape
    G = groups
    gT = _grad_cols_layout(xp, g, G)                                                 # (G, O/G, positions)
    WT = xp.ascontiguousarray(W.reshape(G, O // G, -1).transpose(0, 2, 1))         # (G, K, O/G)
    cols = _grouped_matmul(xp, WT, gT)                                                  # (G, K, positions)
    return _col2im(xp, cols, (N, G * Cg) + tuple(out_hw), (kh, kw), stride, dilation, pads,
                   tuple(g.shape[2:]))


def _conv_weight_grad_array(xp, x, g, W_shape, stride, pads, dilation, groups, cols=None):
    """Σ over batch and positions of g ⊗ receptive fields: the weight gradient of conv2d."""
    O, Cg, kh, kw = W_shape
    if cols is None:
        cols = _im2col(xp, x, (kh, kw), stride, dilation, pads, g.shape[2:]).reshape(groups, Cg * kh * kw, -1)
    gT = _grad_cols_layout(xp, g, groups)                                           # (G, O/G, positions)
    # (cols @ gTᵀ)ᵀ rather than gT @ colsᵀ: same numbers, but BLAS then walks the long
    # positions axis contiguously in both operands (measured 2x faster for LeNet's first layer).
    gW = _grouped_matmul(xp, cols, gT.transpose(0, 2, 1)).transpose(0, 2, 1)          # (G, O/G, K)
    return xp.ascontiguousarray(gW).reshape(W_shape)


register_extra("nerve_conv2d", lambda xp, x, W, stride, pads, dilation, groups, out_hw:
               _conv2d_array(xp, x, W, stride, pads, dilation, groups, out_hw)[0])
register_extra("nerve_conv_transpose2d", _conv_transpose2d_array)
register_extra("nerve_conv_weight_grad", _conv_weight_grad_array)


class Conv2d(Function):
    """Grouped, strided, dilated 2-D cross-correlation: im2col + one GEMM per group.

    x: (N, C, H, W), W: (O, C/G, kh, kw), b: (O,) or None → (N, O, H_out, W_out).
    Backward: ∂x = conv_transpose2d(∂out, W), ∂W = Σ ∂out ⊗ columns, ∂b = Σ ∂out.
    """

    def forward(ctx, x, W, b, stride, pads, dilation, groups, out_hw):
        out, cols = _conv2d_array(ctx.xp, x, W, stride, pads, dilation, groups, out_hw, bias=b)
        ctx.args = (stride, pads, dilation, groups)
        ctx.save_for_backward(x, W, cols)   # cols: reused by the weight gradient (no recompute)
        return out

    def backward(ctx, grad):
        x, W, cols = ctx.saved
        xp = ctx.xp
        n = ctx.needs_input_grad
        stride, pads, dilation, groups = ctx.args
        gx = gW = gb = None
        if n[0]:
            gx = xp.nerve_conv_transpose2d(grad, W, stride, pads, dilation, groups, tuple(x.shape[2:]))
        if n[1]:
            gW = xp.nerve_conv_weight_grad(x, grad, tuple(W.shape), stride, pads, dilation, groups,
                                           cols)   # the graph namespace recomputes cols from x
        if n[2]:
            gb = grad.sum(axis=(0, 2, 3))
        return gx, gW, gb


class ConvTranspose2d(Function):
    """The adjoint of Conv2d with respect to its input (a "fractionally strided" conv).

    x: (N, C_in, H, W), W: (C_in, C_out/G, kh, kw) → (N, C_out, H_out, W_out) with
    H_out = (H − 1)·s − 2p + d·(k − 1) + output_padding + 1. In conv2d's terms W is the
    weight of the conv that maps the output back to x, so ∂x = conv2d(∂out, W).
    """

    def forward(ctx, x, W, b, stride, pads, dilation, groups, out_hw):
        out = _conv_transpose2d_array(ctx.xp, x, W, stride, pads, dilation, groups, out_hw)
        if b is not None:
            out += b.reshape(1, -1, 1, 1)
        ctx.args = (stride, pads, dilation, groups)
        ctx.save_for_backward(x, W)
        return out

    def backward(ctx, grad):
        x, W = ctx.saved
        xp = ctx.xp
        n = ctx.needs_input_grad
        stride, pads, dilation, groups = ctx.args
        gx = gW = gb = None
        if n[0]:
            gx = xp.nerve_conv2d(grad, W, stride, pads, dilation, groups, tuple(x.shape[2:]))
        if n[1]:
            gW = xp.nerve_conv_weight_grad(grad, x, tuple(W.shape), stride, pads, dilation, groups)
        if n[2]:
            gb = grad.sum(axis=(0, 2, 3))
        return gx, gW, gb


class ConvWeightGrad(Function):
    """∂W of conv2d as an op of its own (bilinear in x and ∂out), for double backward."""

    def forward(ctx, x, g, W_shape, stride, pads, dilation, groups):
        ctx.args = (stride, pads, dilation, groups)
        ctx.save_for_backward(x, g)
        return _conv_weight_grad_array(ctx.xp, x, g, W_shape, stride, pads, dilation, groups)

    def backward(ctx, gg):
        x, g = ctx.saved
        xp = ctx.xp
        n = ctx.needs_input_grad
        stride, pads, dilation, groups = ctx.args
        gx = gg_ = None
        if n[0]:
            gx = xp.nerve_conv_transpose2d(g, gg, stride, pads, dilation, groups, tuple(x.shape[2:]))
        if n[1]:
            gg_ = xp.nerve_conv2d(x, gg, stride, pads, dilation, groups, tuple(g.shape[2:]))
        return gx, gg_, None, None, None, None, None


class DepthwiseConv2d(Function):
    """The depthwise special case (groups = C_in = C_out): one k_h×k_w filter per channel.

    Each group is a 1-row matrix product, which im2col + GEMM handles badly (the column
    buffer is k_h·k_w times the input for a product of tiny matrices). Instead, one
    multiply-add of whole arrays per kernel offset:

        out[n, c] = b[c] + Σ_{i,j} W[c, 0, i, j] · x_pad[n, c, i·d_h + s_h·h, j·d_w + s_w·w]
    """

    def forward(ctx, x, W, b, stride, pads, dilation, out_hw):
        xp = ctx.xp
        N, C = x.shape[:2]
        kh, kw = W.shape[2:]
        Ho, Wo = out_hw
        xpad = _pad_nchw(xp, x, pads)
        out = xp.zeros((N, C, Ho, Wo), dtype=x.dtype)
        tmp = xp.empty_like(out)
        for i in range(kh):
            rows = _window(i * dilation[0], stride[0], Ho)
            for j in range(kw):
                xp.multiply(xpad[:, :, rows, _window(j * dilation[1], stride[1], Wo)],
                            W[:, 0, i, j].reshape(1, C, 1, 1), out=tmp)
                out += tmp
        if b is not None:
            out += b.reshape(1, C, 1, 1)
        ctx.shape, ctx.stride, ctx.pads, ctx.dilation = x.shape, stride, pads, dilation
        ctx.save_for_backward(xpad, W, x)
        return out

    def backward(ctx, grad):
        # The array path loops over kernel offsets on the saved padded input; under
        # create_graph the graph namespace uses the general grouped ops, differentiable in x.
        return ctx.xp.nerve_depthwise_grad(ctx, grad)


def _depthwise_grad_graph(ctx, grad):
    _, W, x = ctx.saved
    xp = ctx.xp
    n = ctx.needs_input_grad
    args = (ctx.stride, ctx.pads, ctx.dilation, W.shape[0])
    gx = xp.nerve_conv_transpose2d(grad, W, *args, tuple(x.shape[2:])) if n[0] else None
    gW = xp.nerve_conv_weight_grad(x, grad, tuple(W.shape), *args) if n[1] else None
    return gx, gW, grad.sum(axis=(0, 2, 3)) if n[2] else None


def _depthwise_grad_array(_, ctx, grad):
    xpad, W, x = ctx.saved
    xp = ctx.xp
    n = ctx.needs_input_grad
    C, _, kh, kw = W.shape
    Ho, Wo = grad.shape[2:]
    gpad = xp.zeros(xpad.shape, dtype=grad.dtype) if n[0] else None
    gW = xp.zeros(W.shape, dtype=W.dtype) if n[1] else None
    tmp = xp.empty_like(grad)
    for i in range(kh):
        rows = _window(i * ctx.dilation[0], ctx.stride[0], Ho)
        for j in range(kw):
            cols = _window(j * ctx.dilation[1], ctx.stride[1], Wo)
            if n[0]:
                xp.multiply(grad, W[:, 0, i, j].reshape(1, C, 1, 1), out=tmp)
                gpad[:, :, rows, cols] += tmp
            if n[1]:
                gW[:, 0, i, j] = xp.einsum("nchw,nchw->c", grad, xpad[:, :, rows, cols])
    gx = None
    if n[0]:
        (pt, _), (pl, _) = ctx.pads
        H, Wd = ctx.shape[2:]
        gx = xp.ascontiguousarray(gpad[:, :, pt:pt + H, pl:pl + Wd])
    gb = grad.sum(axis=(0, 2, 3)) if n[2] else None
    return gx, gW, gb


register_extra("nerve_depthwise_grad", _depthwise_grad_array)


def _pad_nchw(xp, x, pads):
    """Zero-pad H and W of (N, C, H, W) by ((top, bottom), (left, right))."""
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return x
    N, C, H, W = x.shape
    out = xp.zeros((N, C, H + pt + pb, W + pl + pr), dtype=x.dtype)
    out[:, :, pt:pt + H, pl:pl + W] = x
    return out


class Unfold(Function):
    """im2col as a public op: (N, C, H, W) → (N, C·kh·kw, L)."""

    def forward(ctx, x, kernel, stride, pads, dilation, out_hw):
        ctx.args = (x.shape, kernel, stride, dilation, pads)
        return _unfold_array(ctx.xp, x, kernel, stride, pads, dilation, out_hw)

    def backward(ctx, grad):
        x_shape, kernel, stride, dilation, pads = ctx.args
        return ctx.xp.nerve_col2im(grad, x_shape, kernel, stride, dilation, pads), None, None, None, None, None


class Fold(Function):
    """col2im as a public op: (N, C·kh·kw, L) → (N, C, H, W), overlaps summed."""

    def forward(ctx, cols, x_shape, kernel, stride, dilation, pads, out_hw):
        ctx.args = (kernel, stride, pads, dilation, out_hw)
        return _fold(ctx.xp, cols, x_shape, kernel, stride, dilation, pads, out_hw)

    def backward(ctx, grad):
        kernel, stride, pads, dilation, out_hw = ctx.args
        return ctx.xp.nerve_im2col(grad, kernel, stride, pads, dilation, out_hw), None, None, None, None, None, None


def _fold(xp, cols, x_shape, kernel, stride, dilation, pads, out_hw):
    """(N, C·kh·kw, L) → (N, C, H, W) via the channel-major col2im."""
    N, C = x_shape[:2]
    c6 = cols.reshape(N, C, kernel[0], kernel[1], out_hw[0], out_hw[1])
    c6 = c6.transpose(1, 2, 3, 4, 5, 0) if _batch_last(out_hw) else c6.transpose(1, 2, 3, 0, 4, 5)
    return _col2im(xp, c6, x_shape, kernel, stride, dilation, pads, out_hw)


def _unfold_array(xp, x, kernel, stride, pads, dilation, out_hw):
    """(N, C, H, W) → (N, C·kh·kw, L) (PyTorch's unfold layout)."""
    N, C = x.shape[:2]
    cols = _im2col(xp, x, kernel, stride, dilation, pads, out_hw)
    cols = cols.transpose(5, 0, 1, 2, 3, 4) if _batch_last(out_hw) else cols.transpose(3, 0, 1, 2, 4, 5)
    cols = xp.ascontiguousarray(cols)                                 # (N, C, kh, kw, Ho, Wo)
    return cols.reshape(N, C * kernel[0] * kernel[1], out_hw[0] * out_hw[1])


# The backward of Unfold is Fold and vice versa; naming them in the namespace makes both
# differentiable to any order (create_graph swaps ctx.xp for the graph namespace).
register_extra("nerve_col2im", lambda xp, g, x_shape, kernel, stride, dilation, pads:
               _fold(xp, g, x_shape, kernel, stride, dilation, pads,
                     tuple(conv_output_size(s, k, st, p, d) for s, k, st, p, d
                           in zip(x_shape[2:], kernel, stride, pads, dilation))))
register_extra("nerve_im2col", _unfold_array)


# ---------------------------------------------------------------- public API
def _check_bias(bias, out_channels, weight, op):
    """A bias must be (C_out,): anything else would broadcast or fail deep in the kernels."""
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise RuntimeError(f"{op}: bias has shape {tuple(bias.shape)}, but the weight of shape "
                           f"{tuple(weight.shape)} gives {out_channels} output channels; pass a bias of shape "
                           f"({out_channels},) or None")


def _prepare(input, weight, stride, padding, dilation, groups, op, transposed=False):  # noqa: A002
    """Validate a 2-D convolution call; returns the normalized arguments."""
    if input.ndim != 4:
        raise RuntimeError(f"{op}: expected a 4-D input (N, C, H, W) or an unbatched 3-D one (C, H, W), "
                           f"got shape {tuple(input.shape)}"
                           + ("; flatten() before a conv layer? Reshape to (N, C, H, W)" if input.ndim == 2 else ""))
    if weight.ndim != 4:
        raise RuntimeError(f"{op}: expected a 4-D weight, got shape {tuple(weight.shape)}")
    _check_float_pair(input._data, weight._data, op)
    kernel = tuple(weight.shape[2:])
    stride = _ntuple(stride, 2, "stride", op)
    dilation = _ntuple(dilation, 2, "dilation", op)
    if any(s < 1 for s in stride) or any(d < 1 for d in dilation):
        raise ValueError(f"{op}: stride and dilation must be positive, got stride={stride}, dilation={dilation}")
    groups = int(groups)
    C = input.shape[1]
    if groups < 1 or C % groups:
        raise ValueError(f"{op}: groups={groups} must divide the {C} input channels")
    if transposed:
        if weight.shape[0] != C:
            raise RuntimeError(f"{op}: input of shape {tuple(input.shape)} has {C} channels, but the weight "
                               f"of shape {tuple(weight.shape)} expects {weight.shape[0]} (weight is "
                               "(in_channels, out_channels/groups, kH, kW))")
    else:
        if weight.shape[1] * groups != C:
            raise RuntimeError(
                f"{op}: input of shape {tuple(input.shape)} has {C} channels, but the weight of shape "
                f"{tuple(weight.shape)} with groups={groups} expects {weight.shape[1] * groups}; "
                "check in_channels of the layer (or the previous layer's out_channels)")
        if weight.shape[0] % groups:
            raise ValueError(f"{op}: groups={groups} must divide the {weight.shape[0]} output channels")
    pads = _padding_pairs(padding, kernel, dilation, stride, op) if not transposed else \
        tuple((p, p) for p in _ntuple(padding, 2, "padding", op))
    return kernel, stride, pads, dilation, groups


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """2-D convolution (cross-correlation) over a batch of images.

    out[n, o] = bias[o] + Σ_c weight[o, c] ⋆ input[n, c], each group of C/G input channels
    feeding O/G output channels. H_out = ⌊(H + 2p − d·(k − 1) − 1)/s⌋ + 1 (same for W).

    Args:
        input: (N, C_in, H, W), or unbatched (C_in, H, W).
        weight: (C_out, C_in/groups, kH, kW).
        bias: (C_out,) or None.
        stride, dilation: int or (sH, sW).
        padding: int, (pH, pW), 'valid' (0) or 'same' (output size = input size; stride 1
            only; an odd total padding puts the extra pixel at the bottom/right).
        groups: split the channels into this many independent convolutions
            (groups = C_in = C_out is a depthwise convolution).

    Returns: (N, C_out, H_out, W_out), in the input's dtype.

    Example:
        >>> import nerve as nv
        >>> x = nv.ones(1, 1, 4, 4)
        >>> w = nv.ones(2, 1, 3, 3)
        >>> conv2d(x, w, padding=1).shape
        (1, 2, 4, 4)
        >>> conv2d(x, w)[0, 0].tolist()
        [[9.0, 9.0], [9.0, 9.0]]
    """
    if input.ndim == 3 and weight.ndim == 4:                      # unbatched (C, H, W)
        out = conv2d(input.reshape(1, *input.shape), weight, bias, stride, padding, dilation, groups)
        return out.reshape(*out.shape[1:])
    kernel, stride, pads, dilation, groups = _prepare(input, weight, stride, padding, dilation, groups, "conv2d")
    _check_bias(bias, weight.shape[0], weight, "conv2d")
    out_hw = tuple(conv_output_size(s, k, st, p, d)
                   for s, k, st, p, d in zip(input.shape[2:], kernel, stride, pads, dilation))
    if min(out_hw) < 1:
        raise RuntimeError(
            f"conv2d: input of shape {tuple(input.shape)} is too small for a {kernel[0]}×{kernel[1]} kernel "
            f"with stride {stride}, padding {padding}, dilation {dilation} (output would be {out_hw}); "
            "use a larger input, more padding or a smaller kernel")
    if groups > 1 and groups == input.shape[1] == weight.shape[0]:
        return DepthwiseConv2d.apply(input, weight, bias, stride, pads, dilation, out_hw)
    return Conv2d.apply(input, weight, bias, stride, pads, dilation, groups, out_hw)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """1-D convolution (cross-correlation) over sequences: the conv2d of a height-1 image.

    L_out = ⌊(L + 2p − d·(k − 1) − 1)/s⌋ + 1.

    Args:
        input: (N, C_in, L). weight: (C_out, C_in/groups, k). bias: (C_out,) or None.
        stride, padding ('same', 'valid' or int), dilation, groups: as in :func:`conv2d`.

    Returns: (N, C_out, L_out).

    Example:
        >>> import nerve as nv
        >>> conv1d(nv.tensor([[[1.0, 2.0, 3.0, 4.0]]]), nv.tensor([[[1.0, -1.0]]])).tolist()
        [[[-1.0, -1.0, -1.0]]]
    """
    if input.ndim == 2 and weight.ndim == 3:                      # unbatched (C, L)
        out = conv1d(input.reshape(1, *input.shape), weight, bias, stride, padding, dilation, groups)
        return out.reshape(*out.shape[1:])
    if input.ndim != 3 or weight.ndim != 3:
        raise RuntimeError(f"conv1d: expected a 3-D input (N, C, L) and a 3-D weight (C_out, C_in/groups, k), "
                           f"got {tuple(input.shape)} and {tuple(weight.shape)}")
    _check_bias(bias, weight.shape[0], weight, "conv1d")
    s = _ntuple(stride, 1, "stride", "conv1d")[0]
    d = _ntuple(dilation, 1, "dilation", "conv1d")[0]
    pad = padding if isinstance(padding, str) else (0, _ntuple(padding, 1, "padding", "conv1d")[0])
    N, C, L = input.shape
    out = conv2d(input.reshape(N, C, 1, L), weight.reshape(*weight.shape[:2], 1, weight.shape[2]), bias,
                 (1, s), pad, (1, d), groups)
    return out.reshape(N, out.shape[1], out.shape[3])


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """Transposed 2-D convolution: the gradient of conv2d with respect to its input.

    Each input pixel scatters a weighted copy of the kernel into the output, spaced by the
    stride. H_out = (H − 1)·s − 2p + d·(k − 1) + output_padding + 1.

    Args:
        input: (N, C_in, H, W), or unbatched (C_in, H, W).
        weight: (C_in, C_out/groups, kH, kW) (note: in_channels first, as in PyTorch).
        bias: (C_out,) or None.
        stride, padding, dilation: int or pair; padding removes rows/columns from the
            borders of the full output.
        output_padding: extra rows/columns added at the bottom/right (smaller than stride
            or dilation), to pick one of the input sizes a strided conv maps to the same size.
        groups: independent channel groups.

    Returns: (N, C_out, H_out, W_out).

    Example:
        >>> import nerve as nv
        >>> conv_transpose2d(nv.ones(1, 1, 14, 14), nv.ones(1, 3, 4, 4), stride=2, padding=1).shape
        (1, 3, 28, 28)
    """
    if isinstance(padding, str):
        raise ValueError("conv_transpose2d: padding must be an int or a pair (string padding is not "
                         "defined for transposed convolutions)")
    if input.ndim == 3 and weight.ndim == 4:                      # unbatched (C, H, W)
        out = conv_transpose2d(input.reshape(1, *input.shape), weight, bias, stride, padding, output_padding,
                               groups, dilation)
        return out.reshape(*out.shape[1:])
    kernel, stride, pads, dilation, groups = _prepare(input, weight, stride, padding, dilation, groups,
                                                      "conv_transpose2d", transposed=True)
    _check_bias(bias, weight.shape[1] * groups, weight, "conv_transpose2d")
    op = _ntuple(output_padding, 2, "output_padding", "conv_transpose2d")
    for o, s, d in zip(op, stride, dilation):
        if not (o < s or o < d):
            raise ValueError(f"conv_transpose2d: output_padding {op} must be smaller than the stride {stride} "
                             f"or the dilation {dilation}")
    out_hw = tuple(conv_transpose_output_size(s, k, st, p[0], o, d)
                   for s, k, st, p, o, d in zip(input.shape[2:], kernel, stride, pads, op, dilation))
    if min(out_hw) < 1:
        raise RuntimeError(f"conv_transpose2d: the output size {out_hw} is not positive for input "
                           f"{tuple(input.shape)}; reduce the padding")
    # Padding the full output is equivalent to cropping it: the bottom/right pad grows by
    # output_padding so the crop keeps those extra rows.
    pads = tuple((p[0], p[1] - o) for p, o in zip(pads, op))
    return ConvTranspose2d.apply(input, weight, bias, stride, pads, dilation, groups, out_hw)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """Transposed 1-D convolution: (N, C_in, L) → (N, C_out, (L − 1)s − 2p + d(k − 1) + output_padding + 1).

    Example:
        >>> import nerve as nv
        >>> conv_transpose1d(nv.ones(1, 1, 3), nv.ones(1, 1, 2), stride=2).tolist()
        [[[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]]
    """
    if input.ndim == 2 and weight.ndim == 3:                      # unbatched (C, L)
        out = conv_transpose1d(input.reshape(1, *input.shape), weight, bias, stride, padding, output_padding,
                               groups, dilation)
        return out.reshape(*out.shape[1:])
    if input.ndim != 3 or weight.ndim != 3:
        raise RuntimeError(f"conv_transpose1d: expected a 3-D input (N, C, L) or an unbatched 2-D one (C, L) "
                           f"and a 3-D weight, got {tuple(input.shape)} and {tuple(weight.shape)}")
    _check_bias(bias, weight.shape[1] * int(groups), weight, "conv_transpose1d")
    N, C, L = input.shape

    def one(v, name, lead):
        return (lead, _ntuple(v, 1, name, "conv_transpose1d")[0])

    out = conv_transpose2d(input.reshape(N, C, 1, L), weight.reshape(*weight.shape[:2], 1, weight.shape[2]),
                           bias, one(stride, "stride", 1), one(padding, "padding", 0),
                           one(output_padding, "output_padding", 0), groups, one(dilation, "dilation", 1))
    return out.reshape(N, out.shape[1], out.shape[3])


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """Extract sliding blocks (im2col): (N, C, H, W) → (N, C·kH·kW, L); unbatched (C, H, W) → (C·kH·kW, L).

    L = H_out·W_out, the number of block positions, with the conv output-size formula.
    Column index c·kH·kW + i·kW + j holds channel c at kernel offset (i, j).

    Example:
        >>> import nerve as nv
        >>> unfold(nv.arange(16.0).reshape(1, 1, 4, 4), 2, stride=2)[0, :, 0].tolist()
        [0.0, 1.0, 4.0, 5.0]
    """
    if input.ndim == 3:                                           # unbatched (C, H, W)
        out = unfold(input.reshape(1, *input.shape), kernel_size, dilation, padding, stride)
        return out.reshape(*out.shape[1:])
    if input.ndim != 4:
        raise RuntimeError(f"unfold: expected a 4-D input (N, C, H, W) or an unbatched 3-D one (C, H, W), "
                           f"got shape {tuple(input.shape)}")
    kernel = _ntuple(kernel_size, 2, "kernel_size", "unfold")
    stride = _ntuple(stride, 2, "stride", "unfold")
    dilation = _ntuple(dilation, 2, "dilation", "unfold")
    pads = tuple((p, p) for p in _ntuple(padding, 2, "padding", "unfold"))
    out_hw = tuple(conv_output_size(s, k, st, p, d)
                   for s, k, st, p, d in zip(input.shape[2:], kernel, stride, pads, dilation))
    if min(out_hw) < 1:
        raise RuntimeError(f"unfold: input {tuple(input.shape)} is smaller than the {kernel} kernel")
    return Unfold.apply(input, kernel, stride, pads, dilation, out_hw)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """Sum sliding blocks back into an image (col2im): (N, C·kH·kW, L) → (N, C, H, W)
    (unbatched: (C·kH·kW, L) → (C, H, W)).

    The adjoint of :func:`unfold`; overlapping entries are added, so
    ``fold(unfold(x))`` multiplies each pixel by the number of blocks covering it.

    Example:
        >>> import nerve as nv
        >>> x = nv.ones(1, 1, 3, 3)
        >>> fold(unfold(x, 2), (3, 3), 2)[0, 0].tolist()
        [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    if input.ndim == 2:                                           # unbatched (C·kH·kW, L)
        out = fold(input.reshape(1, *input.shape), output_size, kernel_size, dilation, padding, stride)
        return out.reshape(*out.shape[1:])
    if input.ndim != 3:
        raise RuntimeError(f"fold: expected a 3-D input (N, C·kH·kW, L) or an unbatched 2-D one (C·kH·kW, L), "
                           f"got shape {tuple(input.shape)}")
    size = _ntuple(output_size, 2, "output_size", "fold")
    kernel = _ntuple(kernel_size, 2, "kernel_size", "fold")
    stride = _ntuple(stride, 2, "stride", "fold")
    dilation = _ntuple(dilation, 2, "dilation", "fold")
    pads = tuple((p, p) for p in _ntuple(padding, 2, "padding", "fold"))
    out_hw = tuple(conv_output_size(s, k, st, p, d) for s, k, st, p, d in zip(size, kernel, stride, pads, dilation))
    N, CK, L = input.shape
    kk = kernel[0] * kernel[1]
    if CK % kk or L != out_hw[0] * out_hw[1]:
        raise RuntimeError(f"fold: input of shape {tuple(input.shape)} does not match kernel {kernel} and "
                           f"output size {size}: expected (N, C·{kk}, {out_hw[0] * out_hw[1]})")
    return Fold.apply(input, (N, CK // kk) + size, kernel, stride, dilation, pads, out_hw)


def _graph_unfold(x, kernel, stride, pads, dilation, out_hw):
    return Unfold.apply(x, kernel, stride, pads, dilation, out_hw)


def _graph_fold(g, x_shape, kernel, stride, dilation, pads):
    out_hw = tuple(conv_output_size(s, k, st, p, d)
                   for s, k, st, p, d in zip(x_shape[2:], kernel, stride, pads, dilation))
    return Fold.apply(g, x_shape, kernel, stride, dilation, pads, out_hw)


TENSOR_METHODS = {}
GRAPH_NAMESPACE = {"nerve_im2col": _graph_unfold, "nerve_col2im": _graph_fold,
                   "nerve_conv2d": lambda x, W, stride, pads, dilation, groups, out_hw:
                   Conv2d.apply(x, W, None, stride, pads, dilation, groups, out_hw),
                   "nerve_conv_transpose2d": lambda g, W, stride, pads, dilation, groups, out_hw:
                   ConvTranspose2d.apply(g, W, None, stride, pads, dilation, groups, out_hw),
                   "nerve_conv_weight_grad": lambda x, g, W_shape, stride, pads, dilation, groups, cols=None:
                   ConvWeightGrad.apply(x, g, W_shape, stride, pads, dilation, groups),
                   "nerve_depthwise_grad": _depthwise_grad_graph,
}
