"""Loss functions: mse, l1, smooth L1, Huber, cross-entropy, NLL, BCE, KL divergence, and the
margin losses (binary hinge and squared hinge, multi-class and multi-label margin).

Every loss takes ``reduction``: ``'none'`` returns the per-element (or per-sample) loss,
``'sum'`` adds it up and ``'mean'`` averages it (for class-index losses with weights or
``ignore_index``, the average is weighted: the sum divided by the total weight of the
targets that count, as in PyTorch). So ``reduction='none'`` followed by ``.mean()``
equals ``reduction='mean'`` for the unweighted losses.

``cross_entropy`` on class indices is one fused ``Function`` (log-softmax and the NLL
pick in one pass, one backward: ``(softmax - onehot) / N`` for the plain mean): composing
it from log_softmax and an indexing op would cost two graph nodes and an extra pass, and
it is the last op of every classifier. Class probabilities as targets are composed from
``log_softmax`` and elementwise ops instead.

Numerics: ``cross_entropy`` subtracts the row maximum; ``binary_cross_entropy_with_logits``
is written as ``(1 - t)·softplus(x) + t·pw·softplus(-x)``, both softplus terms sharing one
``log1p(exp(-|x|))``, so logits of ±1e4 give finite losses and gradients and nothing
cancels catastrophically; ``binary_cross_entropy`` clamps each log at -100 like PyTorch.
Weights (``weight``, ``pos_weight``) are constants: they receive no gradient.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..autograd.function import Function
from ..autograd.namespace import register_extra
from ..backend import get_array_module
from ._util import Tensor, _wrap, data_of
from .activation import _row_max, _row_sum, log_softmax, softmax

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "one_hot",
           "hinge_loss", "squared_hinge_loss", "multi_margin_loss", "multilabel_margin_loss",
           "pairwise_distance", "contrastive_loss", "triplet_margin_loss", "cosine_embedding_loss",
           "cosine_similarity"]

_REDUCTIONS = ("mean", "sum", "none")


# ------------------------------------------------------------------------ helpers
def _check_reduction(op, reduction, allowed=_REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{op}: reduction must be one of {', '.join(repr(a) for a in allowed)}, "
                         f"got {reduction!r}")


def _check_float_input(op, x):
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating-point tensor, got dtype {x.dtype}; "
                        "convert it with .float()")


def _reduce(xp, loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if loss.size == 0:  # PyTorch: the mean of nothing is NaN
        return xp.asarray(xp.nan, dtype=loss.dtype)
    return loss.mean()


def _empty_mean(loss):
    """The 'mean' of an empty loss Tensor: NaN, as in PyTorch, but still part of the graph, so
    that ``backward()`` runs (and leaves empty gradients) instead of raising."""
    return loss.sum() + float("nan")


def _scale(grad, reduction, n):
    """d(reduced)/d(elementwise loss) times the upstream gradient."""
    # max(n, 1): an empty batch has no gradient entries to scale (and no 0-division warning)
    return grad / max(n, 1) if reduction == "mean" else grad


def _as_target(op, x, target):
    """The target's array, ints promoted to the input's float dtype (as PyTorch promotes)."""
    t = data_of(target)
    if not hasattr(t, "dtype"):
        t = np.asarray(t, dtype=x.dtype)
    if t.dtype.kind in "biu":
        t = t.astype(x.dtype)
    return t


def _const(v, x):
    """A weight (Tensor, array, list or number) as a constant array of the input's dtype."""
    if v is None:
        return None
    v = data_of(v)
    if not hasattr(v, "astype"):
        return get_array_module(x._data).asarray(v, dtype=x.dtype)
    return v.astype(x.dtype, copy=False)


def _warn_broadcast(op, x, t):
    if tuple(x.shape) != tuple(t.shape):
        warnings.warn(
            f"{op}: target of shape {tuple(t.shape)} differs from input of shape {tuple(x.shape)}; "
            "they will be broadcast, which is rarely intended (a (N,) target against an (N, 1) "
            "prediction gives an (N, N) loss). Reshape one of them to match.", UserWarning,
            stacklevel=3)


# ------------------------------------------------------------ regression losses
class _PointwiseLoss(Function):
    """Base for losses of d = input - target: subclasses give value(d) and slope(d)."""

    def forward(ctx, x, t, reduction, param):
        ctx.reduction, ctx.param = reduction, param
        ctx.save_for_backward(x, t)
        d = x - t
        ctx.n = d.size
        return _reduce(ctx.xp, ctx.value(ctx.xp, d, param), reduction)

    def backward(ctx, grad):
        x, t = ctx.saved
        xp = ctx.xp
        g = ctx.slope(xp, x - t, ctx.param) * _scale(grad, ctx.reduction, ctx.n)
        n = ctx.needs_input_grad
        return (xp.unbroadcast(g, tuple(x.shape)) if n[0] else None,
                xp.unbroadcast(-g, tuple(t.shape)) if n[1] else None, None, None)


class MSE(_PointwiseLoss):
    """(x - t)²; slope 2(x - t)."""

    @staticmethod
    def value(xp, d, _):
        d *= d
        return d

    @staticmethod
    def slope(xp, d, _):
        return d * 2


class L1(_PointwiseLoss):
    """|x - t|; slope sign(x - t), 0 where x = t (as PyTorch)."""

    @staticmethod
    def value(xp, d, _):
        return xp.abs(d)

    @staticmethod
    def slope(xp, d, _):
        return xp.sign(d)


class SmoothL1(_PointwiseLoss):
    """0.5·d²/beta where |d| < beta, |d| - 0.5·beta elsewhere; slope clip(d/beta, -1, 1)."""

    @staticmethod
    def value(xp, d, beta):
        a = xp.abs(d)
        return xp.where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta)

    @staticmethod
    def slope(xp, d, beta):
        return xp.where(xp.abs(d) < beta, d / beta, xp.sign(d))


class Huber(_PointwiseLoss):
    """0.5·d² where |d| < delta, delta·(|d| - 0.5·delta) elsewhere; slope clip(d, ±delta)."""

    @staticmethod
    def value(xp, d, delta):
        a = xp.abs(d)
        return xp.where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)

    @staticmethod
    def slope(xp, d, delta):
        return xp.where(xp.abs(d) < delta, d, xp.sign(d) * delta)


def _pointwise(cls, op, input, target, reduction, param=None, weight=None, mean="weight"):  # noqa: A002
    _check_reduction(op, reduction)
    _check_float_input(op, input)
    t = target if isinstance(target, Tensor) and target.dtype.kind == "f" else _as_target(op, input, target)
    _warn_broadcast(op, input, t)
    if weight is None:
        return cls.apply(input, t, reduction, param)
    # Per-element weights, as torch 2.13: the weighted terms are summed, and the 'mean'
    # divides by the total weight (mean="weight": mse, l1) or by the count (huber).
    w = weight if isinstance(weight, Tensor) else _wrap(_const(weight, input))
    if tuple(w.shape) != tuple(input.shape):
        raise ValueError(f"{op}: weight must have the input's shape {tuple(input.shape)}, got "
                         f"{tuple(w.shape)}; give one weight per element")
    loss = cls.apply(input, t, "none", param) * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if loss.numel() == 0:
        return _empty_mean(loss)
    return loss.sum() / w.sum() if mean == "weight" else loss.mean()


def mse_loss(input, target, *, reduction="mean", weight=None):  # noqa: A002
    """Mean squared error: ``mean((input - target)²)``.

    The gradient with respect to the input is ``2·(input - target)/N`` for the mean.

    Args:
        input: predictions, any shape.
        target: same shape as ``input`` (broadcasting works but warns).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (elementwise).
        weight: optional per-element weights of the input's shape; the mean then divides
            the weighted sum by the sum of the weights (as PyTorch).

    Example:
        >>> import nerve as nv
        >>> nv.functional.mse_loss(nv.tensor([1.0, 2.0]), nv.tensor([0.0, 4.0])).item()
        2.5
    """
    return _pointwise(MSE, "mse_loss", input, target, reduction, weight=weight)


def l1_loss(input, target, *, reduction="mean", weight=None):  # noqa: A002
    """Mean absolute error: ``mean(|input - target|)``; the gradient at a tie is 0.

    ``weight`` (optional, the input's shape) weights each element; the mean then divides
    by the sum of the weights, as PyTorch's.

    Example:
        >>> import nerve as nv
        >>> nv.functional.l1_loss(nv.tensor([1.0, 2.0]), nv.tensor([0.0, 4.0])).item()
        1.5
    """
    return _pointwise(L1, "l1_loss", input, target, reduction, weight=weight)


def smooth_l1_loss(input, target, *, reduction="mean", beta=1.0):  # noqa: A002
    """Quadratic below ``beta``, linear above: ``0.5·d²/beta`` if ``|d| < beta`` else ``|d| - beta/2``.

    ``beta = 0`` is the L1 loss. ``huber_loss(x, t, delta=b) == b * smooth_l1_loss(x, t, beta=b)``.

    Example:
        >>> import nerve as nv
        >>> nv.functional.smooth_l1_loss(nv.tensor([0.5, 3.0]), nv.tensor([0.0, 0.0])).item()
        1.3125
    """
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    return _pointwise(SmoothL1, "smooth_l1_loss", input, target, reduction, float(beta))


def huber_loss(input, target, *, reduction="mean", delta=1.0, weight=None):  # noqa: A002
    """Huber loss: ``0.5·d²`` if ``|d| < delta`` else ``delta·(|d| - delta/2)``.

    The gradient is ``d`` clipped to ``[-delta, delta]``: large errors pull with a bounded force.
    ``weight`` (optional, the input's shape) weights each element; unlike ``mse_loss`` the
    mean stays the plain mean of the weighted terms, as in PyTorch.

    Example:
        >>> import nerve as nv
        >>> nv.functional.huber_loss(nv.tensor([0.5, 3.0]), nv.tensor([0.0, 0.0])).item()
        1.3125
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    return _pointwise(Huber, "huber_loss", input, target, reduction, float(delta), weight, mean="count")


# ------------------------------------------------------------ class-index losses
def _class_layout(op, input, target, weight):
    """Check shapes and bring (N, C, d1, ...) logits and (N, d1, ...) targets to (M, C), (M,).

    Returns (x2d, t1d, weight array or None, shape of the 'none' result).
    """
    _check_float_input(op, input)
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, got a 0-d tensor; expected "
                         "(C,), (N, C) or (N, C, d1, ...)")
    C = input.shape[1] if input.ndim >= 2 else input.shape[0]
    if C == 0:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} has no classes (C = 0)")
    want = tuple(input.shape[:1]) + tuple(input.shape[2:]) if input.ndim >= 2 else ()
    t = data_of(target)
    if not hasattr(t, "dtype"):
        t = np.asarray(t)
    if t.dtype.kind == "f":
        raise TypeError(
            f"{op}: target has dtype {t.dtype} and shape {tuple(t.shape)}, but class-index targets "
            f"must be integers (for input of shape {tuple(input.shape)} they have shape {want}). "
            "Convert them with target.long()" +
            (", or give class probabilities as a float target of the input's shape."
             if op == "cross_entropy" else "."))
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {t.dtype}")
    if tuple(t.shape) != want:
        hint = ""
        if tuple(t.shape) == want + (1,):
            hint = f"; drop the trailing dimension with target.reshape({want})"
        elif len(t.shape) == len(want) + 1 and t.shape[:1] == want[:1] and t.shape[1:2] == (C,):
            hint = "; it looks one-hot encoded: pass target.argmax(1) (or float probabilities)"
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} ({C} classes) needs a target of "
                         f"shape {want}, got {tuple(t.shape)}{hint}")
    w = _const(weight, input)
    if w is not None and tuple(w.shape) != (C,):
        raise ValueError(f"{op}: weight must have one entry per class, shape ({C},), got "
                         f"{tuple(w.shape)}")
    if input.ndim == 1:
        x2 = input.reshape(1, C)
    elif input.ndim == 2:
        x2 = input
    else:
        # (N, C, d1, ...) -> (N, d1, ..., C) -> (M, C): the class dim last, rows contiguous.
        perm = (0,) + tuple(range(2, input.ndim)) + (1,)
        x2 = input.permute(*perm).reshape(-1, C)
    return x2, t.reshape(-1), w, want


_UNSIGNED = {n: np.dtype(f"u{n}") for n in (1, 2, 4, 8)}


def _targets(op, t, C, ignore_index):
    """Validate class indices; return (safe indices, float-able valid mask or None)."""
    xp = get_array_module(t)
    M = t.shape[0]
    if M == 0:
        return t, None
    if xp is not np:
        # On a GPU, checking the range here would stop the device and wait for it every batch.
        # Instead an out-of-range target turns the loss into NaN (see _poison), which the
        # Trainer reports when it reads the loss, the one value it fetches per step.
        valid = t != ignore_index
        return xp.where(valid & (t >= 0) & (t < C), t, 0), valid
    ignore_in_range = 0 <= ignore_index < C
    # One reduction checks both ends: viewed as unsigned, negative indices become huge.
    u = t.view(_UNSIGNED[t.dtype.itemsize]) if t.dtype.kind == "i" else t
    if int(u.max()) < C and not ignore_in_range:
        return t, None                       # the common case: every target counts
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= C))
    if bad.any():
        v = int(t[bad][0])
        raise IndexError(
            f"{op}: target value {v} is out of range for {C} classes (valid targets are 0..{C - 1}, "
            f"or ignore_index={ignore_index} to skip a sample). Does the model's last layer have "
            "as many outputs as there are classes, and do the labels start at 0?")
    return xp.where(valid, t, 0), valid


def _flat_targets(t, M, C):
    """Flat positions ``i·C + t_i`` of each row's target in a C-ordered (M, C) host array:
    one ``take`` reads them (a third cheaper than ``z[arange(M), t]``). ``t`` is in range."""
    flat = np.arange(0, M * C, C)
    if t.dtype == np.uint64:
        t = t.astype(np.intp)  # (uint64 + int64 would go through float64)
    flat += t
    return flat


def _on_device(xp):
    """True for CuPy (the module or the ``ctx.xp`` namespace over it), False for NumPy."""
    return xp is not np and getattr(xp, "module", None) is not np


def _weighted_mean(xp, loss, denom):
    """sum / denom; NaN (silently, like PyTorch) when nothing counts: no rows or all ignored."""
    if _on_device(xp):  # 0 / 0 is NaN on the device too, without a host round trip to test it
        return loss.sum() / denom
    if loss.shape[0] == 0 or denom == 0:
        return xp.asarray(xp.nan, dtype=loss.dtype)
    return loss.sum() / denom


def _poison(xp, loss, t_raw, C, ignore_index):
    """NaN wherever a (device) target is out of range and not ignored: the device-side check."""
    if not _on_device(xp):
        return loss
    bad = (t_raw != ignore_index) & ((t_raw < 0) | (t_raw >= C))
    return xp.where(bad, xp.nan, loss)


class CrossEntropy(Function):
    """Fused log-softmax + negative log-likelihood on (M, C) logits and (M,) class indices.

    loss_i = (1 - ε)·w[t_i]·(lse_i - x_{i,t_i}) + (ε/C)·Σ_c w_c·(lse_i - x_ic), where
    lse_i = log Σ_c exp(x_ic), ε the label smoothing and w the class weights (1 if none).
    d loss_i / d x_i = p_i·((1 - ε)·w[t_i] + ε·Σw/C) - (1 - ε)·w[t_i]·onehot(t_i) - (ε/C)·w.
    """

    def forward(ctx, x, t, w, ignore_index, reduction, smoothing):
        xp = ctx.xp
        M, C = x.shape
        t_raw = t
        t, valid = _targets("cross_entropy", t, C, ignore_index)
        ctx.t, ctx.w, ctx.reduction, ctx.eps = t, w, reduction, smoothing
        host = not _on_device(xp)
        if host:
            z = x - _row_max(x)                                    # (M, C)
            ctx.flat_t = flat = _flat_targets(t, M, C)             # where row i's target sits in z
            nll = z.take(flat)                                     # z_t; becomes lse - z_t below
        else:
            z = x - x.max(axis=1, keepdims=True)
            nll = z[xp.arange(M), t]
        zw = None
        if smoothing:
            zw = z.sum(axis=1) if w is None else z @ w             # Σ_c w_c z_ic
        xp.exp(z, out=z)
        s = _row_sum(z) if host else z.sum(axis=1)
        if ctx.needs_input_grad[0]:
            z /= s[:, None]                                        # z is now p = softmax(x)
            ctx.save_for_backward(x, z)
        lse = xp.log(s, out=s)
        nll = xp.subtract(lse, nll, out=nll)
        wt = None                                                  # per-row weight, None = 1
        if w is not None:
            wt = w[t]
            if valid is not None:
                wt = wt * valid
        elif valid is not None:
            wt = valid.astype(x.dtype)
        ctx.wt, ctx.valid = wt, valid
        if valid is not None:
            # An ignored row counts 0 whatever its logits: masked (-inf) logits would make
            # inf·0 = NaN if the row were multiplied by its zero weight instead.
            nll = xp.where(valid, nll, 0)
        loss = nll if wt is None else nll * wt
        if smoothing:
            W = C if w is None else w.sum()
            smooth = lse * W - zw
            if valid is not None:
                smooth = xp.where(valid, smooth, 0)
            loss = loss * (1 - smoothing) + smooth * (smoothing / C)
        loss = _poison(xp, loss, t_raw, C, ignore_index)
        if reduction == "mean":
            ctx.denom = M if wt is None else wt.sum()
        if reduction == "none":
            return loss
        if reduction == "sum":
            return loss.sum()
        return _weighted_mean(xp, loss, ctx.denom)

    def backward(ctx, grad):
        # The array path reuses the saved softmax (with an in-place hot path); under
        # create_graph the graph namespace rebuilds p = softmax(x) and calls _dense.
        return ctx.xp.nerve_cross_entropy_grad(ctx, grad), None

    def _dense(ctx, p, grad):
        """The general gradient with every constant folded into (M,) / (M, C) arrays."""
        M, C = p.shape
        xp = get_array_module(ctx.t)        # constants are plain arrays, even under create_graph
        dt = ctx.saved[0].dtype
        eps, wt, valid, w = ctx.eps, ctx.wt, ctx.valid, ctx.w
        ones = wt if wt is not None else xp.ones(M, dtype=dt)
        coef = ones * (1 - eps)                                    # weight on p and onehot
        onehot = xp.zeros((M, C), dtype=dt)
        onehot[xp.arange(M), ctx.t] = coef
        base = coef
        if eps:
            W = C if w is None else w.sum()
            vmask = valid.astype(dt) if valid is not None else xp.ones(M, dtype=dt)
            base = coef + vmask * (eps * W / C)
            onehot += vmask[:, None] * ((eps / C) * (w if w is not None else xp.ones(C, dtype=dt)))
        if ctx.reduction == "none":
            r = grad.reshape((M, 1))
        elif ctx.reduction == "mean":
            if xp is not np:  # no host round trip: 0 where nothing counts
                d = ctx.denom
                r = xp.where(d != 0, grad / xp.where(d != 0, d, 1), 0)
            else:
                r = grad / ctx.denom if ctx.denom else grad * 0  # all ignored: zero, as torch
        else:
            r = grad
        return (p * base[:, None] - onehot) * r


def _cross_entropy_grad_array(xp, ctx, grad):
    x, p = ctx.saved
    M, C = p.shape
    if ctx.wt is None and not ctx.eps and ctx.reduction == "mean":
        # Hot path: (softmax - onehot) / N, computed in that order so it is exact.
        gx = p.copy()
        flat = ctx.__dict__.get("flat_t")
        if flat is not None:
            gx.reshape(-1)[flat] -= 1                              # a view: the copy is C-ordered
        else:
            gx[get_array_module(p).arange(M), ctx.t] -= 1
        gx /= M
        if type(grad) is not np.ndarray or grad != 1:  # a device grad: multiply, don't compare
            gx *= grad
        return gx
    return ctx._dense(p, grad)


def _cross_entropy_grad_graph(ctx, grad):
    return ctx._dense(softmax(ctx.saved[0], 1), grad)


register_extra("nerve_cross_entropy_grad", _cross_entropy_grad_array)


class NLL(Function):
    """Negative log-likelihood on (M, C) log-probabilities: loss_i = -w[t_i]·x_{i,t_i}."""

    def forward(ctx, x, t, w, ignore_index, reduction):
        xp = ctx.xp
        M, C = x.shape
        t_raw = t
        t, valid = _targets("nll_loss", t, C, ignore_index)
        wt = None
        if w is not None:
            wt = w[t] if valid is None else w[t] * valid
        elif valid is not None:
            wt = valid.astype(x.dtype)
        ctx.t, ctx.wt, ctx.reduction, ctx.shape = t, wt, reduction, x.shape
        loss = -x[xp.arange(M), t]
        if valid is not None:
            loss = xp.where(valid, loss, 0)  # an ignored row is 0 even where its x is -inf
        if wt is not None:
            loss *= wt
        loss = _poison(xp, loss, t_raw, C, ignore_index)
        if reduction == "none":
            return loss
        if reduction == "sum":
            return loss.sum()
        ctx.denom = M if wt is None else wt.sum()
        return _weighted_mean(xp, loss, ctx.denom)

    def backward(ctx, grad):
        M, C = ctx.shape
        dt = grad.dtype
        xp = get_array_module(ctx.t)
        coef = -ctx.wt if ctx.wt is not None else xp.full(M, -1, dtype=dt)
        if ctx.reduction == "none":
            r = grad
        elif ctx.reduction == "mean":
            if xp is not np:  # no host round trip: 0 where nothing counts
                d = ctx.denom
                r = xp.where(d != 0, grad / xp.where(d != 0, d, 1), 0)
            else:
                r = grad / ctx.denom if ctx.denom else grad * 0  # all ignored: zero, as torch
        else:
            r = grad
        # Linear in grad: a constant one-hot pattern times r (a Tensor under create_graph).
        onehot = xp.zeros((M, C), dtype=dt)
        onehot[xp.arange(M), ctx.t] = coef
        return onehot * (r.reshape((M, 1)) if ctx.reduction == "none" else r), None


def _none_shape(reduction, out, want):
    return out.reshape(want) if reduction == "none" else out


def cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction="mean",  # noqa: A002
                  label_smoothing=0.0):
    """Cross-entropy between logits and class targets: ``-log softmax(input)[target]``.

    Fuses log-softmax and the negative log-likelihood; for the plain mean the gradient
    with respect to the logits is exactly ``(softmax(input) - onehot(target)) / N``.

    Args:
        input: unnormalized logits of shape (C,), (N, C) or (N, C, d1, ...) (C classes on
            dimension 1, e.g. per-pixel logits (N, C, H, W)).
        target: integer class indices of shape (), (N,) or (N, d1, ...) in [0, C); or
            class probabilities, a float tensor of the input's shape.
        weight: optional (C,) rescaling per class. With ``reduction='mean'`` the sum is
            divided by the total weight of the non-ignored targets.
        ignore_index: targets equal to it contribute nothing (indices only).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (shape of the target).
        label_smoothing: ε in [0, 1]: the target becomes (1 - ε)·onehot + ε/C.

    Example:
        >>> import nerve as nv
        >>> logits = nv.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        >>> round(nv.functional.cross_entropy(logits, nv.tensor([0, 2])).item(), 6)
        0.669079
    """
    t = target._data if isinstance(target, Tensor) else target
    if (weight is None and reduction == "mean" and not label_smoothing and ignore_index == -100
            and input.ndim == 2 and getattr(t, "ndim", -1) == 1 and t.shape[0] == input.shape[0]
            and t.dtype.kind in "iu" and input.dtype.kind == "f"):
        # The training-loop case, (N, C) logits and (N,) class indices with no options: skip
        # the general layout checks (the op still rejects out-of-range targets).
        return CrossEntropy.apply(input, t, None, -100, "mean", 0.0)
    op = "cross_entropy"
    _check_reduction(op, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    t = data_of(target)
    if getattr(t, "dtype", np.dtype(int)).kind == "f" and tuple(t.shape) == tuple(input.shape) \
            and input.ndim >= 1 and not (input.ndim == 1 and t.ndim == 0):
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    x2, t1, w, want = _class_layout(op, input, target, weight)
    out = CrossEntropy.apply(x2, t1, w, int(ignore_index), reduction, float(label_smoothing))
    return _none_shape(reduction, out, want)


def _cross_entropy_probs(input, target, weight, reduction, smoothing):  # noqa: A002
    """Soft targets: -Σ_c w_c·t_c·log_softmax(x)_c, the mean taken over samples."""
    _check_float_input("cross_entropy", input)
    cdim = 1 if input.ndim >= 2 else 0
    C = input.shape[cdim]
    logp = log_softmax(input, cdim)
    t = target
    if smoothing:
        t = t * (1 - smoothing) + smoothing / C
    prod = logp * t
    if weight is not None:
        w = _const(weight, input)
        if tuple(w.shape) != (C,):
            raise ValueError(f"cross_entropy: weight must have one entry per class, shape ({C},), "
                             f"got {tuple(w.shape)}")
        prod = prod * w.reshape((C,) + (1,) * (input.ndim - cdim - 1))
    if reduction == "none":
        return -prod.sum(cdim)
    if reduction == "sum":
        return -prod.sum()
    n = input.numel() // C if C else 0
    if n == 0:
        return _empty_mean(prod)
    return -prod.sum() / n


def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):  # noqa: A002
    """Negative log-likelihood: ``-input[n, target[n]]``, for log-probabilities as input.

    ``nll_loss(log_softmax(x, 1), t)`` equals ``cross_entropy(x, t)``; prefer the latter
    (one fused op). Shapes, ``weight``, ``ignore_index`` and ``reduction`` are as in
    :func:`cross_entropy`.

    Example:
        >>> import nerve as nv
        >>> logp = nv.tensor([[-0.5, -1.0], [-2.0, -0.1]])
        >>> nv.functional.nll_loss(logp, nv.tensor([0, 1])).item()
        0.30000001192092896
    """
    op = "nll_loss"
    _check_reduction(op, reduction)
    x2, t1, w, want = _class_layout(op, input, target, weight)
    out = NLL.apply(x2, t1, w, int(ignore_index), reduction)
    return _none_shape(reduction, out, want)


# ------------------------------------------------------------------ binary losses
def _check_same_shape(op, x, t):
    if tuple(t.shape) != tuple(x.shape):
        raise ValueError(
            f"{op}: target of shape {tuple(t.shape)} must have the input's shape {tuple(x.shape)}; "
            "for one output unit per sample use input.reshape(-1) or target.reshape(N, 1)")


def _check_probabilities(op, name, a, hint):
    if a.size:
        lo, hi = float(a.min()), float(a.max())
        if not (lo >= 0 and hi <= 1):  # NaN fails both comparisons
            got = "NaN" if lo != lo or hi != hi else f"values in [{lo:.4g}, {hi:.4g}]"
            raise ValueError(f"{op}: {name} must hold probabilities in [0, 1], got {got}{hint}")


def _binary_weight(op, name, v, x):
    """``_const`` for a weight of the binary losses, which must broadcast to the input's shape
    without enlarging it: a larger result would be a different loss (and its mean a wrong one)."""
    w = _const(v, x)
    if w is not None:
        try:
            ok = np.broadcast_shapes(tuple(w.shape), tuple(x.shape)) == tuple(x.shape)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{op}: {name} of shape {tuple(w.shape)} must broadcast to the input's shape "
                             f"{tuple(x.shape)} without enlarging it; reshape or index the {name}")
    return w


def _binary_target(op, x, target):
    t = data_of(target)
    if not hasattr(t, "dtype"):
        t = np.asarray(t)
    if t.dtype.kind != "f":
        raise TypeError(f"{op}: target must be a float tensor of 0/1 labels or probabilities, got "
                        f"dtype {t.dtype}; convert it with target.float()")
    _check_same_shape(op, x, t)
    if isinstance(target, Tensor) and target.requires_grad:
        return target
    return t.astype(x.dtype, copy=False)


class BinaryCrossEntropy(Function):
    """-w·(t·log(x) + (1 - t)·log(1 - x)) with each log clamped at -100 (PyTorch's rule)."""

    def forward(ctx, x, t, w, reduction):
        xp = ctx.xp
        ctx.w, ctx.reduction, ctx.n = w, reduction, x.size
        ctx.save_for_backward(x, t)
        with np.errstate(divide="ignore"):
            logx = xp.maximum(xp.log(x), -100)
            log1mx = xp.maximum(xp.log1p(-x), -100)
        loss = (log1mx - logx) * t
        loss -= log1mx                                 # -(t·logx + (1 - t)·log1mx)
        if w is not None:
            loss = loss * w
        return _reduce(xp, loss, reduction)

    def backward(ctx, grad):
        x, t = ctx.saved
        xp = ctx.xp
        g = _scale(grad, ctx.reduction, ctx.n)
        if ctx.w is not None:
            g = g * ctx.w
        n = ctx.needs_input_grad
        gx = gt = None
        if n[0]:
            # NOTE: the 1e-12 floor (PyTorch's) keeps the gradient finite at x = 0 or 1.
            gx = g * (x - t) / xp.maximum((1 - x) * x, 1e-12)
        if n[1]:
            with np.errstate(divide="ignore"):
                gt = g * (xp.maximum(xp.log1p(-x), -100) - xp.maximum(xp.log(x), -100))
        return gx, gt, None, None


class BCEWithLogits(Function):
    """(1 - t)·softplus(x) + pw·t·softplus(-x), times w: sigmoid and BCE in one stable op."""

    def forward(ctx, x, t, w, pw, reduction):
        xp = ctx.xp
        ctx.w, ctx.pw, ctx.reduction = w, pw, reduction
        ctx.save_for_backward(x, t)
        # softplus(±x) = max(±x, 0) + log1p(exp(-|x|)): one shared transcendental, and
        # neither term cancels, so the loss is accurate even where it is tiny.
        c = xp.log1p(xp.exp(-xp.abs(x)))
        sp_pos = xp.maximum(x, 0) + c                  # softplus(x)
        sp_neg = xp.maximum(-x, 0) + c                 # softplus(-x)
        tp = t if pw is None else t * pw
        loss = (1 - t) * sp_pos + tp * sp_neg
        if w is not None:
            loss = loss * w
        ctx.n = loss.size
        return _reduce(xp, loss, reduction)

    def backward(ctx, grad):
        x, t = ctx.saved
        xp = ctx.xp
        g = _scale(grad, ctx.reduction, ctx.n)
        if ctx.w is not None:
            g = g * ctx.w
        pw = ctx.pw
        n = ctx.needs_input_grad
        s = xp.sigmoid(x)
        gx = gt = None
        if n[0]:
            gx = g * (s - t) if pw is None else g * ((1 - t + pw * t) * s - pw * t)
        if n[1]:
            gt = -g * x if pw is None else g * ((pw - 1) * xp.softplus(-x) - x)
        ub = xp.unbroadcast
        return (ub(gx, tuple(x.shape)) if gx is not None else None,
                ub(gt, tuple(t.shape)) if gt is not None else None, None, None)


def binary_cross_entropy(input, target, weight=None, *, reduction="mean"):  # noqa: A002
    """Binary cross-entropy on probabilities: ``-(t·log p + (1 - t)·log(1 - p))``.

    Each log is clamped at -100, so p = 0 or 1 gives a large but finite loss; the
    gradient ``(p - t) / max(p·(1 - p), 1e-12)`` is finite too. Prefer
    :func:`binary_cross_entropy_with_logits` on raw scores: it is exact in the tails.

    Args:
        input: probabilities in [0, 1], any shape.
        target: float labels or probabilities of the same shape.
        weight: optional rescaling, broadcast against the input.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Example:
        >>> import nerve as nv
        >>> round(nv.functional.binary_cross_entropy(nv.tensor([0.5]), nv.tensor([1.0])).item(), 6)
        0.693147
    """
    op = "binary_cross_entropy"
    _check_reduction(op, reduction)
    _check_float_input(op, input)
    t = _binary_target(op, input, target)
    _check_probabilities(op, "input", input._data, "; apply sigmoid first, or better, pass the raw "
                         "scores to binary_cross_entropy_with_logits")
    # As PyTorch: a target outside [0, 1] has no cross-entropy meaning (the loss would be
    # unbounded below), so it is an error rather than a silently negative loss.
    _check_probabilities(op, "target", data_of(t), "; rescale the labels into [0, 1]")
    return BinaryCrossEntropy.apply(input, t, _binary_weight(op, "weight", weight, input), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, *, reduction="mean",  # noqa: A002
                                     pos_weight=None):
    """Sigmoid + binary cross-entropy in one numerically stable op, on raw scores.

    loss = ``w·[(1 - t)·softplus(x) + pos_weight·t·softplus(-x)]``, which equals
    ``-w·[pos_weight·t·log σ(x) + (1 - t)·log(1 - σ(x))]`` without ever forming σ(x), so
    logits of ±1e4 are fine. The gradient is ``w·(σ(x) - t)`` (without pos_weight).

    Args:
        input: logits, any shape.
        target: float labels in [0, 1] of the same shape.
        weight: optional rescaling, broadcast against the input.
        pos_weight: weight of the positive term, broadcast along the last dimension
            (one per class); > 1 raises recall on a rare positive class.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Example:
        >>> import nerve as nv
        >>> F = nv.functional
        >>> round(F.binary_cross_entropy_with_logits(nv.tensor([0.0]), nv.tensor([1.0])).item(), 6)
        0.693147
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(op, reduction)
    _check_float_input(op, input)
    t = _binary_target(op, input, target)
    return BCEWithLogits.apply(input, t, _binary_weight(op, "weight", weight, input),
                               _binary_weight(op, "pos_weight", pos_weight, input), reduction)


# ------------------------------------------------------------------ margin losses
# Composed from elementwise ops (no fused Function): each is a handful of array passes, so the
# composition costs little, and double backward comes for free.
def _sign_target(op, x, target):
    t = data_of(target)
    if not hasattr(t, "dtype"):
        t = np.asarray(t)
    if tuple(t.shape) != tuple(x.shape):
        raise ValueError(f"{op}: target of shape {tuple(t.shape)} must have the scores' shape "
                         f"{tuple(x.shape)} (one label in {{-1, +1}} per score)")
    if t.size:
        xp = get_array_module(t)
        bad = (t != 1) & (t != -1)
        if bool(bad.any()):
            v = t[bad].reshape(-1)[0].item()
            raise ValueError(f"{op}: targets must be -1 or +1, got {v!r}; map 0/1 labels with "
                             "2 * y - 1")
        t = xp.asarray(t)
    return t.astype(x.dtype, copy=False)


def _hinge(op, input, target, margin, reduction, power):  # noqa: A002
    from .elementwise import where  # noqa: PLC0415

    _check_reduction(op, reduction)
    _check_float_input(op, input)
    t = _sign_target(op, input, target)
    z = (input * t) * -1.0 + margin                       # margin − y·s
    # NOTE: `>=` puts the kink y·s = margin on the active side, so the subgradient there is
    # −y (PyTorch's clamp(min=0) convention), and 0 only strictly beyond the margin.
    h = where(z.data >= 0, z, 0.0)
    if power == 2:
        h = h * h
    if reduction == "none":
        return h
    if reduction == "sum":
        return h.sum()
    return h.mean() if h.numel() else _empty_mean(h)


def hinge_loss(input, target, *, margin=1.0, reduction="mean"):  # noqa: A002
    """Binary hinge loss: ``mean(max(0, margin − y·s))`` for scores s and labels y ∈ {−1, +1}.

    The loss of the soft-margin SVM. With ``margin=1`` and the mean it equals scikit-learn's
    ``metrics.hinge_loss(y, s)``. The subgradient with respect to s is ``−y`` where
    y·s ≤ margin and 0 where y·s > margin (divided by N for the mean).

    Args:
        input: scores s, any shape (typically (N,)).
        target: labels of the same shape, each −1 or +1.
        margin: the required functional margin (1 for the SVM).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Example:
        >>> import nerve as nv
        >>> s, y = nv.tensor([2.0, 0.5, -1.0]), nv.tensor([1.0, 1.0, 1.0])
        >>> round(nv.functional.hinge_loss(s, y).item(), 6)     # (0 + 0.5 + 2) / 3
        0.833333
    """
    return _hinge("hinge_loss", input, target, float(margin), reduction, 1)


def squared_hinge_loss(input, target, *, margin=1.0, reduction="mean"):  # noqa: A002
    """Squared hinge: ``mean(max(0, margin − y·s)²)``, y ∈ {−1, +1} (LinearSVC's default loss).

    Differentiable everywhere, with gradient ``−2y·max(0, margin − y·s)``.

    Example:
        >>> import nerve as nv
        >>> nv.functional.squared_hinge_loss(nv.tensor([0.5, -1.0]), nv.tensor([1.0, 1.0])).item()
        2.125
    """
    return _hinge("squared_hinge_loss", input, target, float(margin), reduction, 2)


def _index_target(op, input, target):
    t = data_of(target)
    if not hasattr(t, "dtype"):
        t = np.asarray(t)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {t.dtype}; "
                        "convert it with target.long()")
    return t


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, *, reduction="mean"):  # noqa: A002
    """Multi-class hinge loss (Weston-Watkins form), as ``torch.nn.functional.multi_margin_loss``.

    For scores x of one sample and its class y:
        loss = Σ_{i ≠ y} w_y · max(0, margin − x_y + x_i)^p / C,
    so every wrong class must score at least ``margin`` below the right one.

    Args:
        input: (N, C) or (C,) scores.
        target: (N,) or () integer classes in [0, C).
        p: 1 or 2.
        margin: the required gap.
        weight: optional (C,) per-class weights, applied by the target class.
        reduction: ``'mean'`` (over samples), ``'sum'`` or ``'none'`` ((N,)).

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> round(nv.functional.multi_margin_loss(x, nv.tensor([3])).item(), 4)
        0.325
    """
    from .elementwise import where  # noqa: PLC0415

    op = "multi_margin_loss"
    _check_reduction(op, reduction)
    _check_float_input(op, input)
    if p not in (1, 2):
        raise ValueError(f"{op}: p must be 1 or 2, got {p!r}")
    if input.ndim not in (1, 2):
        raise ValueError(f"{op}: input must be (N, C) or (C,), got shape {tuple(input.shape)}")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    N, C = x.shape
    t = _index_target(op, input, target).reshape(-1)
    if t.shape[0] != N:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} needs {N} target(s), got "
                         f"target of shape {tuple(data_of(target).shape)}")
    if t.size and (int(t.min()) < 0 or int(t.max()) >= C):
        raise IndexError(f"{op}: target values must be in 0..{C - 1}, got "
                         f"{int(t.min()) if int(t.min()) < 0 else int(t.max())}")
    xp = get_array_module(x.data)
    onehot = xp.zeros((N, C), dtype=x.dtype)
    onehot[xp.arange(N), t] = 1
    xy = (x * onehot).sum(1, keepdim=True)                 # (N, 1) score of the true class
    z = x - xy + margin                                    # (N, C)
    # torch's kink: the term counts only where z > 0; the true class's own term is masked out.
    h = where((z.data > 0) & (onehot == 0), z, 0.0)
    if p == 2:
        h = h * h
    w = _const(weight, x)
    if w is not None:
        if tuple(w.shape) != (C,):
            raise ValueError(f"{op}: weight must have shape ({C},), got {tuple(w.shape)}")
        h = h * w[t].reshape(N, 1)
    loss = h.sum(1) * (1.0 / C)                            # (N,)
    if reduction == "none":
        return loss if input.ndim == 2 else loss.reshape(())
    if reduction == "sum":
        return loss.sum()
    return loss.mean() if N else _empty_mean(loss)


def multilabel_margin_loss(input, target, *, reduction="mean"):  # noqa: A002
    """Multi-label hinge loss, as ``torch.nn.functional.multilabel_margin_loss``.

    Each row of ``target`` lists the sample's classes, padded after the last one with −1
    (``[3, 0, -1, 1]`` means classes {3, 0}). With J the listed classes:
        loss = Σ_{j ∈ J} Σ_{i ∉ J} max(0, 1 − (x_j − x_i)) / C,
    every listed class must score 1 above every unlisted one.

    Args:
        input: (N, C) or (C,) scores.
        target: integer tensor of the input's shape.
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` ((N,)).

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> round(nv.functional.multilabel_margin_loss(x, nv.tensor([[3, 0, -1, 1]])).item(), 4)
        0.85
    """
    from .elementwise import where  # noqa: PLC0415

    op = "multilabel_margin_loss"
    _check_reduction(op, reduction)
    _check_float_input(op, input)
    if input.ndim not in (1, 2):
        raise ValueError(f"{op}: input must be (N, C) or (C,), got shape {tuple(input.shape)}")
    t = _index_target(op, input, target)
    if tuple(t.shape) != tuple(input.shape):
        raise ValueError(f"{op}: target must have the input's shape {tuple(input.shape)} (class "
                         f"lists padded with -1), got {tuple(t.shape)}")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    N, C = x.shape
    t2 = np.asarray(t).reshape(N, C)
    if t2.size and (int(t2.max()) >= C or int(t2.min()) < -1):
        raise IndexError(f"{op}: target entries must be class indices in 0..{C - 1} or -1 "
                         "(the end of a sample's list)")
    # The listed classes are those before the first -1; count repeats as PyTorch does.
    listed = np.cumsum(t2 < 0, axis=1) == 0                   # (N, C) position is in the list
    counts = np.zeros((N, C), dtype=x.dtype)
    rows = np.broadcast_to(np.arange(N)[:, None], (N, C))
    np.add.at(counts, (rows[listed], t2[listed]), 1)
    xp = get_array_module(x.data)
    counts = xp.asarray(counts)
    is_target = counts > 0
    pair_w = counts[:, :, None] * (~is_target)[:, None, :]  # (N, j, i)
    z = x.reshape(N, 1, C) - x.reshape(N, C, 1) + 1.0       # 1 − (x_j − x_i), [n, j, i]
    h = where((z.data > 0) & (pair_w > 0), z, 0.0) * pair_w
    loss = h.sum((1, 2)) * (1.0 / C)
    if reduction == "none":
        return loss if input.ndim == 2 else loss.reshape(())
    if reduction == "sum":
        return loss.sum()
    return loss.mean() if N else _empty_mean(loss)


# ------------------------------------------------------------- embedding losses
# Losses on pairs and triplets of embeddings (metric learning, Siamese networks). Composed
# from differentiable ops like the margin losses above, so double backward comes for free.
def _reduce_composed(loss, reduction, dtype):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean() if loss.numel() else _empty_mean(loss)


def _embedding_pair(op, a, b, names=("x1", "x2")):
    _check_float_input(op, a)
    if a.ndim not in (1, 2) or tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{op}: {names[0]} and {names[1]} must both be (N, D) or (D,) with the same "
                         f"shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The p-norm distance between matching rows: ``‖x1 − x2 + eps‖_p`` over the last dimension.

    As ``torch.nn.functional.pairwise_distance``: ``eps`` is added to the difference (not to
    the norm), which keeps the gradient finite when two rows are equal.

    Args:
        x1, x2: (N, D) or (D,) tensors (broadcasting like subtraction).
        p: the norm's order (2: Euclidean).
        eps: added to every difference.
        keepdim: keep the last dimension (size 1).

    Example:
        >>> import nerve as nv
        >>> x1, x2 = nv.tensor([[0.0, 0.0]]), nv.tensor([[3.0, 4.0]])
        >>> nv.functional.pairwise_distance(x1, x2, eps=0.0).tolist()
        [5.0]
    """
    from .reduction import norm  # noqa: PLC0415

    _check_float_input("pairwise_distance", x1)
    return norm(x1 - x2 + eps, p, dim=-1, keepdim=keepdim)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim``, as
    ``torch.nn.functional.cosine_similarity``:

        Σ x1·x2 / (max(‖x1‖₂, eps) · max(‖x2‖₂, eps))

    Each norm is clamped on its own, so a zero vector scores 0 (and vectors shorter than
    ``eps`` score below their true cosine: their norms count as ``eps``). ``x1`` and ``x2``
    broadcast against each other first; ``dim`` indexes the broadcast shape and is removed
    from the result.

    Example:
        >>> import nerve as nv
        >>> a, b = nv.tensor([[1.0, 0.0], [1.0, 1.0]]), nv.tensor([[0.0, 2.0], [3.0, 3.0]])
        >>> [round(v, 4) for v in nv.functional.cosine_similarity(a, b).tolist()]
        [0.0, 1.0]
    """
    from .elementwise import clamp  # noqa: PLC0415
    from .reduction import norm  # noqa: PLC0415
    from .shape import broadcast_to  # noqa: PLC0415

    _check_float_input("cosine_similarity", x1)
    _check_float_input("cosine_similarity", x2)
    try:
        shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise ValueError(f"cosine_similarity: shapes {tuple(x1.shape)} and {tuple(x2.shape)} do not "
                         "broadcast against each other") from None
    x1 = x1 if tuple(x1.shape) == shape else broadcast_to(x1, shape)
    x2 = x2 if tuple(x2.shape) == shape else broadcast_to(x2, shape)
    u1 = x1 / clamp(norm(x1, 2, dim=dim, keepdim=True), min=eps)
    u2 = x2 / clamp(norm(x2, 2, dim=dim, keepdim=True), min=eps)
    return (u1 * u2).sum(dim)


def _labels01(op, x, target, want):
    t = data_of(target)
    if not hasattr(t, "dtype"):
        t = np.asarray(t)
    if tuple(t.shape) != tuple(want):
        raise ValueError(f"{op}: target must have shape {tuple(want)} (one label per pair), got "
                         f"{tuple(t.shape)}")
    return t


def contrastive_loss(x1, x2, target, margin=1.0, *, p=2.0, eps=1e-6, reduction="mean"):
    """Contrastive loss of Hadsell, Chopra & LeCun (2006) on pairs of embeddings.

    With d = ``pairwise_distance(x1, x2, p, eps)`` and label y per pair:

        loss = ½ · [ y · d²  +  (1 − y) · max(0, margin − d)² ]

    Label convention: **y = 1 for a similar pair** (pulled together) and **y = 0 for a
    dissimilar pair** (pushed apart until it is ``margin`` away). The paper itself writes
    Y = 0 for similar pairs; this function follows the y = 1-similar convention of most
    libraries, so map the paper's labels with ``1 − Y``.

    Args:
        x1, x2: (N, D) or (D,) embeddings of the two sides of each pair.
        target: (N,) or () labels, each 0 or 1 (bool, int or float).
        margin: how far apart dissimilar pairs must be before they stop contributing.
        p, eps: passed to :func:`pairwise_distance`.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` ((N,)).

    Example:
        >>> import nerve as nv
        >>> a, b = nv.tensor([[0.0, 0.0], [0.0, 0.0]]), nv.tensor([[0.6, 0.8], [0.3, 0.4]])
        >>> y = nv.tensor([1.0, 0.0])          # similar at d = 1, dissimilar at d = 0.5
        >>> F = nv.functional
        >>> [round(v, 6) for v in F.contrastive_loss(a, b, y, eps=0.0, reduction="none").tolist()]
        [0.5, 0.125]
    """
    from .elementwise import where  # noqa: PLC0415

    op = "contrastive_loss"
    _check_reduction(op, reduction)
    _embedding_pair(op, x1, x2)
    t = _labels01(op, x1, target, x1.shape[:-1])
    if t.size and bool(((t != 0) & (t != 1)).any()):
        bad = t[(t != 0) & (t != 1)].reshape(-1)[0].item()
        raise ValueError(f"{op}: labels must be 1 (similar) or 0 (dissimilar), got {bad!r}; map "
                         "±1 labels with (y + 1) / 2")
    y = t.astype(x1.dtype)
    d = pairwise_distance(x1, x2, p, eps)
    gap = d * -1.0 + float(margin)                              # margin − d
    push = where(gap.data > 0, gap, 0.0)
    loss = (d * d * y + push * push * (1.0 - y)) * 0.5
    return _reduce_composed(loss, reduction, x1.dtype)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, *,
                        reduction="mean"):
    """Triplet loss: ``max(d(a, p) − d(a, n) + margin, 0)``, as ``torch.nn.functional.triplet_margin_loss``.

    Distances are :func:`pairwise_distance` (``‖u − v + eps‖_p``). With ``swap=True`` the
    negative distance is the smaller of d(a, n) and d(p, n) (the "distance swap" of Balntas
    et al. 2016), so the harder of the two negatives counts.

    Args:
        anchor, positive, negative: (N, D) or (D,) embeddings of the same shape.
        margin: the gap required between the negative and the positive distance.
        p, eps: the distance's norm order and its additive epsilon.
        swap: use the distance swap.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` ((N,)).

    Example:
        >>> import nerve as nv
        >>> a, pos, neg = nv.tensor([[0.0, 0.0]]), nv.tensor([[0.0, 1.0]]), nv.tensor([[1.5, 0.0]])
        >>> nv.functional.triplet_margin_loss(a, pos, neg, eps=0.0).item()   # 1 − 1.5 + 1
        0.5
    """
    from .elementwise import minimum, where  # noqa: PLC0415

    op = "triplet_margin_loss"
    _check_reduction(op, reduction)
    _embedding_pair(op, anchor, positive, ("anchor", "positive"))
    _embedding_pair(op, anchor, negative, ("anchor", "negative"))
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    z = d_pos - d_neg + float(margin)
    # NOTE: `>=` as torch's clamp_min: at exactly z = 0 the gradient flows.
    loss = where(z.data >= 0, z, 0.0)
    return _reduce_composed(loss, reduction, anchor.dtype)


_COS_EPS = 1e-12  # added to each squared norm, as PyTorch does, so zero vectors give cos = 0


def cosine_embedding_loss(input1, input2, target, margin=0.0, *, reduction="mean"):
    """Cosine embedding loss, as ``torch.nn.functional.cosine_embedding_loss``.

    With cos = x1·x2 / sqrt((‖x1‖² + 1e-12)(‖x2‖² + 1e-12)) per pair:

        loss = 1 − cos                 where y = +1 (the pair should point the same way)
        loss = max(0, cos − margin)    where y = −1 (the pair should be at most ``margin`` alike)

    Args:
        input1, input2: (N, D) or (D,) tensors of the same shape.
        target: (N,) or () labels, each +1 or −1.
        margin: in [−1, 1]; 0 to 0.5 is the usual range.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` ((N,)).

    Example:
        >>> import nerve as nv
        >>> x1, x2 = nv.tensor([[1.0, 0.0], [1.0, 0.0]]), nv.tensor([[0.0, 1.0], [1.0, 1.0]])
        >>> y = nv.tensor([1, -1])
        >>> [round(v, 4) for v in nv.functional.cosine_embedding_loss(x1, x2, y, reduction="none").tolist()]
        [1.0, 0.7071]
    """
    from .elementwise import where  # noqa: PLC0415

    op = "cosine_embedding_loss"
    _check_reduction(op, reduction)
    _embedding_pair(op, input1, input2, ("input1", "input2"))
    t = _labels01(op, input1, target, input1.shape[:-1])
    if t.size and bool(((t != 1) & (t != -1)).any()):
        bad = t[(t != 1) & (t != -1)].reshape(-1)[0].item()
        raise ValueError(f"{op}: labels must be +1 (alike) or -1 (unlike), got {bad!r}; map 0/1 "
                         "labels with 2 * y - 1")
    dot = (input1 * input2).sum(-1)
    sq1 = (input1 * input1).sum(-1) + _COS_EPS
    sq2 = (input2 * input2).sum(-1) + _COS_EPS
    cos = dot / (sq1 * sq2).sqrt()
    pos = cos * -1.0 + 1.0
    over = cos - float(margin)
    # NOTE: `>=` as torch's clamp_min: at cos = margin exactly (a zero vector against the
    # default margin 0, or orthogonal pairs) the gradient flows.
    neg = where(over.data >= 0, over, 0.0)
    loss = where(t == 1, pos, neg)
    return _reduce_composed(loss, reduction, input1.dtype)


# ---------------------------------------------------------------- distributions
def kl_div(input, target, *, reduction="mean", log_target=False):  # noqa: A002
    """Kullback-Leibler divergence ``Σ t·(log t - input)`` with ``input`` = log q.

    ``input`` holds log-probabilities (e.g. ``log_softmax``), ``target`` probabilities
    (or log-probabilities with ``log_target=True``). Terms with t = 0 contribute 0.

    Args:
        reduction: ``'batchmean'`` (the KL divergence per sample: sum / N, the
            mathematically meaningful choice), ``'sum'``, ``'none'``, or ``'mean'``
            (sum / number of elements, PyTorch's default, kept for compatibility).

    Example:
        >>> import nerve as nv
        >>> F = nv.functional
        >>> q = F.log_softmax(nv.tensor([[0.0, 0.0]]), dim=1)
        >>> round(F.kl_div(q, nv.tensor([[1.0, 0.0]]), reduction="batchmean").item(), 6)
        0.693147
    """
    op = "kl_div"
    _check_reduction(op, reduction, _REDUCTIONS + ("batchmean",))
    _check_float_input(op, input)
    from . import elementwise as E  # noqa: PLC0415

    if not isinstance(target, Tensor):
        target = _wrap(np.asarray(target, dtype=input.dtype))
    if log_target:
        loss = E.exp(target) * (target - input)
    else:
        nonzero = target._data != 0
        # t·log t with the convention 0·log 0 = 0 (log is taken of 1 where t = 0). A negative
        # target keeps its log, NaN, as PyTorch's xlogy: it is no probability, and a finite
        # loss would hide that.
        with np.errstate(invalid="ignore"):
            loss = target * (E.log(E.where(nonzero, target, 1.0)) - input)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "batchmean":
        if input.ndim and input.shape[0] == 0:
            return _empty_mean(loss)
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return loss.mean()


def one_hot(tensor, num_classes=-1):
    """Encode integer class indices as rows of 0s with a single 1 (int64 tensor).

    Args:
        tensor: integer indices of any shape, in [0, num_classes).
        num_classes: the length of each encoding; -1 means ``max(tensor) + 1``.

    Returns:
        An int64 tensor of shape ``tensor.shape + (num_classes,)``; argmax over the last
        dimension gives the indices back.

    Example:
        >>> import nerve as nv
        >>> nv.functional.one_hot(nv.tensor([0, 2]), 3).tolist()
        [[1, 0, 0], [0, 0, 1]]
    """
    idx = data_of(tensor)
    if not hasattr(idx, "dtype"):
        idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be an integer tensor, got dtype {idx.dtype}; "
                        "use .long()")
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"one_hot: num_classes must be an int, got {num_classes!r}; pass -1 to infer "
                        "it from the largest index")
    num_classes = int(num_classes)
    if num_classes < -1:
        raise ValueError(f"one_hot: num_classes must be -1 (infer it) or at least 0, got {num_classes}")
    if num_classes == -1:
        if idx.size == 0:
            raise ValueError("one_hot: cannot infer the number of classes from an empty tensor; "
                             "pass num_classes")
        num_classes = int(idx.max()) + 1
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= num_classes:
            bad = lo if lo < 0 else hi
            valid = f"0..{num_classes - 1}" if num_classes else "none"
            raise ValueError(f"one_hot: index {bad} is out of range for num_classes={num_classes} "
                             f"(valid: {valid})")
    xp = get_array_module(idx)
    flat = idx.reshape(-1)
    out = xp.zeros((flat.size, num_classes), dtype=np.int64)
    out[xp.arange(flat.size), flat] = 1
    return _wrap(out.reshape(tuple(idx.shape) + (num_classes,)))


TENSOR_METHODS = {}
GRAPH_NAMESPACE = {"nerve_cross_entropy_grad": _cross_entropy_grad_graph}
