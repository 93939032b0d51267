"""Matrix products: matmul (batched, broadcasting) and the fused linear layer."""
from __future__ import annotations

from ..autograd.function import Function
from ._util import Tensor


def _swap(a):
    """Transpose the last two dimensions (arrays or Tensors)."""
    if isinstance(a, Tensor):
        from .shape import transpose  # noqa: PLC0415

        return transpose(a, -2, -1)
    return a.swapaxes(-1, -2)


class MatMul(Function):
    """x @ y with NumPy's rules: 1-D operands are promoted, batch dims broadcast."""

    def forward(ctx, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise RuntimeError("matmul: both arguments need at least 1 dimension; use * for scalars")
        kx = x.shape[-1]
        ky = y.shape[-2] if y.ndim > 1 else y.shape[0]
        if kx != ky:
            raise RuntimeError(
                f"matmul: shapes {tuple(x.shape)} and {tuple(y.shape)} cannot be multiplied "
                f"({kx} columns on the left, {ky} rows on the right)")
        if x.dtype != y.dtype:
            raise RuntimeError(
                f"matmul: both operands must have the same dtype, got {x.dtype} and {y.dtype}; "
                "convert one with .float() or .double()")
        ctx.save_for_backward(x, y)
        return x @ y

    def backward(ctx, grad):
        x, y = ctx.saved
        ub = ctx.xp.unbroadcast
        n = ctx.needs_input_grad
        x2 = x.reshape((1,) + tuple(x.shape)) if x.ndim == 1 else x
        y2 = y.reshape(tuple(y.shape) + (1,)) if y.ndim == 1 else y
        g = grad
        if x.ndim == 1:
            g = g.reshape(tuple(g.shape[:-1]) + (1,) + tuple(g.shape[-1:])) if y.ndim > 1 else g.reshape((1,))
        if y.ndim == 1:
            g = g.reshape(tuple(g.shape) + (1,))
        gx = gy = None
        if n[0]:
            gx = g @ _swap(y2)
            gx = ub(gx, tuple(x2.shape)).reshape(tuple(x.shape))
        if n[1]:
            gy = _swap(x2) @ g
            gy = ub(gy, tuple(y2.shape)).reshape(tuple(y.shape))
        return gx, gy


class Linear(Function):
    """y = x Wᵀ + b, fused: one GEMM forward, two backward, no transposed copies kept.

    x: (..., in), W: (out, in), b: (out,) → (..., out).
    """

    def forward(ctx, x, W, b):
        if x.shape[-1] != W.shape[1] if x.ndim else True:
            raise RuntimeError(
                f"linear: input of shape {tuple(x.shape)} has {x.shape[-1] if x.ndim else 0} features "
                f"in its last dimension, but the weight of shape {tuple(W.shape)} expects "
                f"{W.shape[1]}" + ("; did you forget to flatten the input (nn.Flatten())?"
                                   if x.ndim > 2 else ""))
        if x.dtype is not W.dtype and x.dtype != W.dtype:
            raise RuntimeError(
                f"linear: input dtype {x.dtype} does not match weight dtype {W.dtype}; "
                "convert the input with .float() (or the model with .double())")
        ctx.save_for_backward(x, W)
        out = x @ W.T
        if b is not None:
            out += b
        return out

    def backward(ctx, grad):
        x, W = ctx.saved
        n = ctx.needs_input_grad
        gx = gW = gb = None
        if n[0]:
            gx = grad @ W
        if n[1] or n[2]:
            g2 = grad.reshape((-1, W.shape[0])) if grad.ndim != 2 else grad   # (M, out)
            if n[1]:
                x2 = x.reshape((-1, W.shape[1])) if x.ndim != 2 else x        # (M, in)
                gW = g2.T @ x2                                                 # (out, in)
            if n[2]:
                gb = g2.sum(axis=0)
        return gx, gW, gb


def matmul(x, y):
    """Matrix product with NumPy's broadcasting rules (also ``x @ y``)."""
    return MatMul.apply(x, y)


def mm(x, y):
    if x.ndim != 2 or y.ndim != 2:
        raise RuntimeError(f"mm expects two 2-D tensors, got shapes {tuple(x.shape)} and {tuple(y.shape)}")
    return MatMul.apply(x, y)


def linear(input, weight, bias=None):  # noqa: A002
    """y = input @ weightᵀ + bias; the op behind ``nn.Linear``."""
    return Linear.apply(input, weight, bias)


TENSOR_METHODS = {"__matmul__": matmul, "__rmatmul__": lambda x, y: matmul(y, x),
                  "matmul": matmul, "mm": mm}
GRAPH_NAMESPACE = {"matmul": matmul}
