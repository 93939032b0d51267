"""Normalization: batch, instance, layer and group norm, and local response norm.

The first four share one formula and differ only in which elements share statistics:

    x̂ = (x − μ) / √(σ² + ε),   y = γ · x̂ + β

with μ and σ² the mean and the *biased* variance over

    batch_norm     (N, H, W) per channel         instance_norm  (H, W) per sample and channel
    layer_norm     the trailing normalized_shape group_norm     (C/G, H, W) per sample and group

Why fused ops: built from primitives, the backward would keep five full-size
intermediates and walk the graph through two reductions. The closed form

    ∂L/∂x = (1/σ̂) · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)),    ĝ = γ · ∂L/∂y

needs only x̂ and 1/σ̂ and is numerically better behaved. Under create_graph the same
formula is rebuilt from x with differentiable ops, so second derivatives work too.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.namespace import register_extra
from ._util import Tensor

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "local_response_norm", "normalize"]


def _mean(xp, a, axes):
    """``a.mean(axis=axes, keepdims=True)`` as matrix-vector products where the layout allows.

    NOTE: BLAS gemv sums a float32 row about 3× faster than NumPy's pairwise reduction,
    and the normalization ops spend most of their time in these means.
    """
    nd, shape = a.ndim, a.shape
    if a.dtype.kind == "f" and a.flags.c_contiguous and a.size:
        k = len(axes)
        if axes == tuple(range(nd - k, nd)):                       # trailing: layer / group / instance
            D = a.size // max(1, int(_prod(shape[:nd - k])))
            m = a.reshape(-1, D) @ xp.full(D, 1.0 / D, dtype=a.dtype)
            return m.reshape(shape[:nd - k] + (1,) * k)
        if nd >= 2 and axes == (0,) + tuple(range(2, nd)):         # batch norm: all but channels
            N, C = shape[:2]
            R = a.size // (N * C)
            s = xp.full(N, 1.0 / N, dtype=a.dtype) @ a.reshape(N, C * R)
            m = s.reshape(C, R) @ xp.full(R, 1.0 / R, dtype=a.dtype)
            return m.reshape((1, C) + (1,) * (nd - 2))
    return a.mean(axis=axes, keepdims=True)


def _prod(t):
    out = 1
    for v in t:
        out *= v
    return out


def _empty_affine(input, weight, bias, shape):  # noqa: A002
    """An empty batch stays empty (as in PyTorch), still passing through γ and β so that
    they receive a zero gradient, as torch gives them, rather than none."""
    out = input.reshape(input.shape)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _reduce_to(xp, a, shape):
    """Sum ``a`` down to ``shape`` (the affine parameters' broadcast shape), as a new array.

    When there is nothing to sum (one sample, or only size-1 leading dimensions) unbroadcast
    hands back ``a`` itself or a view of it; the backward then reuses ``a``'s buffer in place
    (and ``a`` may be the caller's gradient), so such a result is copied.
    """
    r = xp.unbroadcast(a, shape)
    return r.copy() if r is a or r.base is not None else r


class Normalize(Function):
    """y = γ·x̂ + β, x̂ standardized over ``axes`` of ``x.reshape(norm_shape)``.

    γ and β (or None) broadcast as ``affine_shape``. When ``stats`` is a list, the batch
    mean and biased variance (in ``norm_shape`` with kept dims) are appended to it, for the
    caller's running averages. NOTE: temporaries are reused in place (``out=``): each
    full-size allocation costs page faults comparable to the arithmetic itself.
    """

    def forward(ctx, x, w, b, norm_shape, axes, affine_shape, eps, stats):
        xp = ctx.xp
        xr = x.reshape(norm_shape)
        mean = _mean(xp, xr, axes)
        xc = xr - mean                                             # becomes x̂ in place
        sq = xp.square(xc)
        var = _mean(xp, sq, axes)                                  # NOTE: biased, as PyTorch
        invstd = 1.0 / xp.sqrt(var + eps)
        xc *= invstd
        xhat = xc.reshape(x.shape)
        if stats is not None:
            stats.extend((mean, var))
        if w is None and b is None:
            y = xhat.copy()
        else:
            y = sq.reshape(x.shape)                                # reuse the buffer
            if w is not None:
                xp.multiply(xhat, w.reshape(affine_shape), out=y)
            else:
                y[...] = xhat
            if b is not None:
                y += b.reshape(affine_shape)
        ctx.norm_shape, ctx.axes, ctx.affine_shape, ctx.eps = norm_shape, axes, affine_shape, eps
        ctx.b_shape = None if b is None else b.shape
        ctx.save_for_backward(xhat, invstd, w, x)
        return y

    def backward(ctx, grad):
        # The array path reuses x̂ and 1/σ̂ and works in place; under create_graph the graph
        # namespace runs _normalize_backward_graph, the same closed form rebuilt from x.
        return ctx.xp.nerve_normalize_grad(ctx, grad)


def _normalize_backward_array(_, ctx, grad):
    xp = ctx.xp   # the array namespace (with unbroadcast), not the bare module
    xhat, invstd, w, _ = ctx.saved
    n = ctx.needs_input_grad
    gx = gw = gb = None
    full = (1,) * (grad.ndim - len(ctx.affine_shape)) + tuple(ctx.affine_shape)
    tmp = xp.multiply(grad, xhat)                              # ∂L/∂y · x̂
    if n[1]:
        gw = _reduce_to(xp, tmp, full).reshape(w.shape)
    if n[2]:
        gb = _reduce_to(xp, grad, full).reshape(ctx.b_shape)
    if n[0]:
        gh = grad * w.reshape(ctx.affine_shape) if w is not None else grad.copy()
        gr = gh.reshape(ctx.norm_shape)
        xr = xhat.reshape(ctx.norm_shape)
        t = tmp.reshape(ctx.norm_shape)
        m1 = _mean(xp, gr, ctx.axes)
        xp.multiply(gr, xr, out=t)
        m2 = _mean(xp, t, ctx.axes)
        # ∂L/∂x = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / σ̂, built in gr's buffer
        xp.multiply(xr, m2, out=t)
        gr -= m1
        gr -= t
        gr *= invstd
        gx = gr.reshape(grad.shape)
    return gx, gw, gb, None, None, None, None, None


def _normalize_backward_graph(ctx, grad):
    """Normalize's backward for create_graph: the same closed form, rebuilt from x with
    differentiable Tensor ops (x̂ and 1/σ̂ are recomputed, not taken from the saved arrays)."""
    _, _, w, x = ctx.saved
    n = ctx.needs_input_grad
    axes, shp = ctx.axes, ctx.norm_shape
    xc = x.reshape(shp) - x.reshape(shp).mean(dim=axes, keepdim=True)
    invstd = ((xc * xc).mean(dim=axes, keepdim=True) + ctx.eps) ** -0.5
    xhat = xc * invstd
    full = (1,) * (grad.ndim - len(ctx.affine_shape)) + tuple(ctx.affine_shape)
    gx = gw = gb = None
    if n[0]:
        gr = (grad if w is None else grad * w.reshape(ctx.affine_shape)).reshape(shp)
        gx = invstd * (gr - gr.mean(dim=axes, keepdim=True) - xhat * (gr * xhat).mean(dim=axes, keepdim=True))
        gx = gx.reshape(grad.shape)
    if n[1]:
        gw = ctx.xp.unbroadcast(grad * xhat.reshape(grad.shape), full).reshape(w.shape)
    if n[2]:
        gb = ctx.xp.unbroadcast(grad, full).reshape(ctx.b_shape)
    return gx, gw, gb, None, None, None, None, None


class AffineStats(Function):
    """Normalization with fixed statistics (eval-mode batch norm): y = (x − μ)·γ/√(σ²+ε) + β.

    A per-channel affine map, so the input gradient is just ∂L/∂y · γ/√(σ²+ε).
    """

    def forward(ctx, x, w, b, mean, var, shape, eps):
        xp = ctx.xp
        invstd = (1.0 / xp.sqrt(var + eps)).astype(x.dtype).reshape(shape)
        mean = mean.astype(x.dtype).reshape(shape)
        scale = invstd if w is None else invstd * w.reshape(shape)
        y = (x - mean) * scale
        if b is not None:
            y += b.reshape(shape)
        ctx.shape = shape
        ctx.save_for_backward(x, mean, invstd, w, b)
        return y

    def backward(ctx, grad):
        x, mean, invstd, w, b = ctx.saved
        xp = ctx.xp
        n = ctx.needs_input_grad
        full = (1,) * (grad.ndim - len(ctx.shape)) + tuple(ctx.shape)
        scale = invstd if w is None else invstd * w.reshape(ctx.shape)   # recomputed: w may be a graph input
        gx = grad * scale if n[0] else None
        gw = xp.unbroadcast(grad * ((x - mean) * invstd), full).reshape(w.shape) if n[1] else None
        gb = xp.unbroadcast(grad, full).reshape(b.shape) if n[2] else None
        return gx, gw, gb, None, None, None, None


def _data(t):
    return t._data if isinstance(t, Tensor) else t


def _update_running(buf, value, momentum):
    """buf ← momentum·value + (1 − momentum)·buf, in place (PyTorch's convention)."""
    arr = _data(buf)
    arr[...] = (momentum * value + (1.0 - momentum) * arr).astype(arr.dtype)


def _check_param(p, C, name, op):
    if p is not None and tuple(p.shape) != (C,):
        raise RuntimeError(f"{op}: {name} has shape {tuple(p.shape)} but the input has {C} channels; "
                           f"expected ({C},) — check num_features of the layer")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,  # noqa: A002
               momentum=0.1, eps=1e-5):
    """Batch normalization over (N, C), (N, C, L) or (N, C, H, W) input.

    Training (or no running statistics): each channel is standardized with the mean and
    biased variance over the batch and spatial positions, and, when buffers are given,
    they are updated in place:

        running_mean ← (1 − momentum)·running_mean + momentum·μ
        running_var  ← (1 − momentum)·running_var  + momentum·σ²·M/(M − 1)   (unbiased, M values)

    Evaluation: the running statistics replace the batch ones. Then y = γ·x̂ + β.

    Args:
        input: (N, C, *).
        running_mean, running_var: (C,) buffers, or None.
        weight, bias: (C,) affine parameters γ and β, or None.
        training: use (and update) batch statistics.
        momentum: weight of the new batch in the running averages.
        eps: added to the variance for stability.

    Returns: a tensor shaped like ``input``.

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor([[1.0], [3.0]])
        >>> rm, rv = nv.zeros(1), nv.ones(1)
        >>> [round(v, 4) for v in batch_norm(x, rm, rv, training=True).flatten().tolist()]
        [-1.0, 1.0]
        >>> round(rm.item(), 4), round(rv.item(), 4)
        (0.2, 1.1)
    """
    if input.ndim < 2:
        raise RuntimeError(f"batch_norm: expected an input of at least 2 dimensions (N, C, ...), "
                           f"got shape {tuple(input.shape)}")
    C = input.shape[1]
    for p, name in ((weight, "weight"), (bias, "bias"), (running_mean, "running_mean"), (running_var, "running_var")):
        _check_param(p, C, name, "batch_norm")
    shape = (1, C) + (1,) * (input.ndim - 2)
    if input._data.size == 0:
        return _empty_affine(input, weight, bias, shape)
    if training or running_mean is None or running_var is None:
        axes = (0,) + tuple(range(2, input.ndim))
        M = input._data.size // C if C else 0
        if training and M <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input "
                             f"of shape {tuple(input.shape)}; use a batch larger than 1 or call .eval()")
        stats = [] if (training and running_mean is not None) else None
        out = Normalize.apply(input, weight, bias, tuple(input.shape), axes, shape, eps, stats)
        if stats:
            mean, var = stats
            _update_running(running_mean, mean.reshape(C), momentum)
            _update_running(running_var, var.reshape(C) * (M / (M - 1)), momentum)
        return out
    return AffineStats.apply(input, weight, bias, _data(running_mean), _data(running_var), shape, eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,  # noqa: A002
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalization: each (sample, channel) map is standardized on its own.

    x̂[n, c] = (x[n, c] − mean(x[n, c])) / √(var(x[n, c]) + ε) over the spatial positions,
    then y = γ[c]·x̂ + β[c]. Running statistics, when given, are updated with the batch
    average of the per-instance statistics (unbiased variance), as in PyTorch; with
    ``use_input_stats=False`` they are used instead.

    Args:
        input: (N, C, L) or (N, C, H, W) (any number of spatial dimensions).
        running_mean, running_var: optional (C,) buffers.
        weight, bias: optional (C,) affine parameters.

    Returns: a tensor shaped like ``input``.

    Example:
        >>> import nerve as nv
        >>> y = instance_norm(nv.tensor([[[1.0, 2.0, 3.0]], [[5.0, 5.0, 8.0]]]))
        >>> [round(abs(v), 6) for v in y.mean(dim=2).flatten().tolist()]
        [0.0, 0.0]
    """
    if input.ndim < 3:
        raise RuntimeError(f"instance_norm: expected (N, C, L) or (N, C, H, W), got shape {tuple(input.shape)}")
    N, C = input.shape[:2]
    for p, name in ((weight, "weight"), (bias, "bias"), (running_mean, "running_mean"), (running_var, "running_var")):
        _check_param(p, C, name, "instance_norm")
    shape = (1, C) + (1,) * (input.ndim - 2)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and running_var")
        return AffineStats.apply(input, weight, bias, _data(running_mean), _data(running_var), shape, eps)
    if input._data.size == 0:
        return _empty_affine(input, weight, bias, shape)
    axes = tuple(range(2, input.ndim))
    M = input._data.size // (N * C)
    if M <= 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element per channel, got input of shape "
                         f"{tuple(input.shape)}")
    stats = [] if running_mean is not None else None
    out = Normalize.apply(input, weight, bias, tuple(input.shape), axes, shape, eps, stats)
    if stats:
        mean, var = stats
        _update_running(running_mean, mean.reshape(N, C).mean(axis=0), momentum)
        _update_running(running_var, (var.reshape(N, C) * (M / (M - 1))).mean(axis=0), momentum)
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Layer normalization over the trailing ``normalized_shape`` dimensions.

    Each sample (every leading index) is standardized over its last dimensions, then
    y = γ·x̂ + β with γ, β of shape ``normalized_shape``.

    Args:
        input: (*, *normalized_shape).
        normalized_shape: int or tuple: the trailing dimensions to normalize.
        weight, bias: tensors of shape ``normalized_shape``, or None.
        eps: added to the variance.

    Returns: a tensor shaped like ``input``.

    Example:
        >>> import nerve as nv
        >>> [round(v, 4) for v in layer_norm(nv.tensor([[1.0, 2.0, 3.0]]), 3).flatten().tolist()]
        [-1.2247, 0.0, 1.2247]
    """
    ns = (int(normalized_shape),) if not isinstance(normalized_shape, (tuple, list)) else tuple(normalized_shape)
    k = len(ns)
    if tuple(input.shape[input.ndim - k:]) != ns or input.ndim < k:
        raise RuntimeError(f"layer_norm: normalized_shape {ns} must match the last dimensions of the input, "
                           f"got input of shape {tuple(input.shape)}")
    for p, name in ((weight, "weight"), (bias, "bias")):
        if p is not None and tuple(p.shape) != ns:
            raise RuntimeError(f"layer_norm: {name} has shape {tuple(p.shape)}, expected {ns}")
    D = 1
    for s in ns:
        D *= s
    return Normalize.apply(input, weight, bias, (-1, D), (1,), ns, eps, None)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Group normalization: channels split into ``num_groups`` groups, each standardized
    per sample over its channels and spatial positions; then a per-channel γ, β.

    num_groups = 1 is layer norm over (C, H, W); num_groups = C is instance norm.

    Args:
        input: (N, C, *) with C divisible by ``num_groups``.
        num_groups: number of groups G.
        weight, bias: (C,) or None.

    Returns: a tensor shaped like ``input``.

    Example:
        >>> import nerve as nv
        >>> group_norm(nv.randn(2, 4, 3, 3), 2).shape
        (2, 4, 3, 3)
    """
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: expected (N, C, ...), got shape {tuple(input.shape)}")
    N, C = input.shape[:2]
    G = int(num_groups)
    if G < 1 or C % G:
        raise ValueError(f"group_norm: num_groups={num_groups} must divide the {C} channels of input "
                         f"{tuple(input.shape)}")
    for p, name in ((weight, "weight"), (bias, "bias")):
        _check_param(p, C, name, "group_norm")
    shape = (1, C) + (1,) * (input.ndim - 2)
    if input._data.size == 0:
        return _empty_affine(input, weight, bias, shape)
    return Normalize.apply(input, weight, bias, (N, G, input._data.size // (N * G)), (2,), shape, eps, None)


class LocalResponseNorm(Function):
    """y = x / (k + α/n · Σ_{c' near c} x[c']²)^β, the window running over n channels."""

    def forward(ctx, x, size, alpha, beta, k):
        xp = ctx.xp
        lo, hi = size // 2, (size - 1) // 2              # channels before / after c in its window
        d = _channel_window_sum(xp, x * x, lo, hi)
        d *= alpha / size
        d += k
        ctx.size, ctx.alpha, ctx.beta, ctx.k = size, alpha, beta, k
        ctx.save_for_backward(x, d)
        return x / d ** beta

    def backward(ctx, grad):
        x, d = ctx.saved
        xp = ctx.xp
        size, alpha, beta = ctx.size, ctx.alpha, ctx.beta
        lo, hi = size // 2, (size - 1) // 2
        # d is reused on the array path and rebuilt from x under create_graph.
        d = xp.reuse(d, lambda: xp.nerve_channel_window_sum(x * x, lo, hi) * (alpha / size) + ctx.k)
        dpow = d ** -beta
        # ∂L/∂s[c'] for the window sum s; x[c] sits in the windows of c' ∈ [c − hi, c + lo].
        t = grad * x * dpow / d * (-beta * alpha / size)
        gx = grad * dpow + 2 * x * xp.nerve_channel_window_sum(t, hi, lo)
        return gx, None, None, None, None


def _channel_window_sum(xp, a, lo, hi):
    """s[:, c] = Σ_{c' = c − lo}^{c + hi} a[:, c'] with zeros outside; one add per offset."""
    C = a.shape[1]
    s = a.copy()
    for o in range(1, max(lo, hi) + 1):
        if o < C:
            if o <= lo:
                s[:, o:] += a[:, :C - o]
            if o <= hi:
                s[:, :C - o] += a[:, o:]
    return s


def _window_sum_graph(a, lo, hi):
    """``_channel_window_sum`` with differentiable ops: zero-pad channels, add shifted slices."""
    from .shape import pad  # noqa: PLC0415

    C = a.shape[1]
    p = pad(a, (0, 0) * (a.ndim - 2) + (lo, hi))
    s = p[:, 0:C]
    for o in range(1, lo + hi + 1):
        s = s + p[:, o:o + C]
    return s


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):  # noqa: A002
    """Local response normalization across channels (AlexNet), with PyTorch's convention.

    y[n, c] = x[n, c] / (k + α/size · Σ x[n, c']²)^β, the sum over the ``size`` channels
    c − ⌊size/2⌋ … c + ⌊(size − 1)/2⌋ (missing channels count as 0). Note that α is
    divided by ``size``. AlexNet used size = 5, α = 1e-4, β = 0.75, k = 2.

    Args:
        input: (N, C, *) with at least 3 dimensions.
        size: number of neighbouring channels in the sum.
        alpha, beta, k: the constants above.

    Returns: a tensor shaped like ``input``.

    Example:
        >>> import nerve as nv
        >>> local_response_norm(nv.ones(1, 3, 1, 1), 3, alpha=3.0, beta=1.0, k=0.0).flatten().tolist()
        [0.5, 0.3333333432674408, 0.5]
    """
    if input.ndim < 3:
        raise RuntimeError(f"local_response_norm: expected an input of at least 3 dimensions (N, C, *), "
                           f"got shape {tuple(input.shape)}")
    if int(size) < 1:
        raise ValueError(f"local_response_norm: size must be positive, got {size}")
    if getattr(input.dtype, "kind", "f") not in "fc":
        raise TypeError(f"local_response_norm needs a floating-point tensor, got dtype {input.dtype}; convert "
                        f"it with .float() (or .double()) first")
    return LocalResponseNorm.apply(input, int(size), float(alpha), float(beta), float(k))


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002
    """``input / max(‖input‖_p, eps)`` along ``dim``: unit-p-norm vectors, as
    ``torch.nn.functional.normalize``. ``eps`` keeps an all-zero vector at zero instead of
    dividing by zero.

    Composed of norm, clamp and division (each with its own backward), so it is twice
    differentiable; a fused op would save one elementwise pass.

    Example:
        >>> import nerve as nv
        >>> normalize(nv.tensor([[3.0, 4.0], [0.0, 0.0]])).tolist()
        [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    from .elementwise import clamp  # noqa: PLC0415
    from .reduction import norm  # noqa: PLC0415

    if out is not None:
        raise NotImplementedError("normalize: out= is not supported; use the returned tensor")
    if input.dtype.kind != "f":
        raise RuntimeError(f"normalize: expected a floating-point input, got dtype {input.dtype}")
    denom = clamp(norm(input, p, dim, keepdim=True), min=eps)
    return input / denom


TENSOR_METHODS = {}
register_extra("nerve_normalize_grad", _normalize_backward_array)
register_extra("nerve_channel_window_sum", _channel_window_sum)
GRAPH_NAMESPACE = {"nerve_normalize_grad": _normalize_backward_graph,
                   "nerve_channel_window_sum": lambda a, lo, hi: _window_sum_graph(a, lo, hi)}
