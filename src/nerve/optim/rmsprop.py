"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, effective_grad, torch_only_flags

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, Coursera lecture 6e), as in PyTorch.

    With ``d = g + weight_decay·w`` and smoothing constant α::

        s ← α·s + (1 − α)·d²                       mean of squares
        ḡ ← ḡ + (1 − α)·(d − ḡ)                     mean gradient (centered=True only)
        r = √(s − ḡ²) + eps   if centered,   √s + eps   otherwise
        b ← μ·b + d / r,  w ← w − lr·b             when momentum μ > 0
        w ← w − lr·d / r                           otherwise

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant α (default 0.99).
        eps: added to the root for numerical stability (default 1e-8).
        weight_decay: L2 coefficient added to the gradient (default 0).
        momentum: momentum factor μ (default 0).
        centered: normalise by an estimate of the gradient's variance instead of its
            raw second moment (default False).
        maximize: ascend the objective instead (default False).
        foreach, fused, capturable: PyTorch's speed switches, accepted and ignored;
            ``differentiable=True`` is refused.

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([1.0], dtype=nv.float64, requires_grad=True)
        >>> opt = nv.optim.RMSprop([w], lr=0.01)
        >>> (w * w).sum().backward(); opt.step()
        >>> round(w.item(), 4)   # first step: lr·g/√(0.01·g²) = 10·lr
        0.9
    """

    elementwise = True

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        torch_only_flags(self, differentiable, capturable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._require_nonnegative(group, "lr", "eps", "momentum", "weight_decay", "alpha")

    def init_state(self, param, group):
        state = {"step": 0, "square_avg": np.zeros_like(param), "_tmp": np.empty_like(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(param)
        return state

    def update(self, param, grad, state, group):
        state["step"] += 1
        alpha = group["alpha"]
        d = effective_grad(param, grad, state, group["weight_decay"], group["maximize"])
        tmp = state["_tmp"]
        square_avg = state["square_avg"]
        square_avg *= alpha
        np.multiply(d, 1 - alpha, out=tmp)
        tmp *= d
        square_avg += tmp
        if group["centered"]:
            grad_avg = state.get("grad_avg")
            if grad_avg is None:
                grad_avg = state["grad_avg"] = np.zeros_like(param)
            np.subtract(d, grad_avg, out=tmp)
            tmp *= 1 - alpha
            grad_avg += tmp
            np.multiply(grad_avg, grad_avg, out=tmp)
            np.subtract(square_avg, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(square_avg, out=tmp)
        tmp += group["eps"]
        np.divide(d, tmp, out=tmp)
        momentum = group["momentum"]
        if momentum > 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.zeros_like(param)
            buf *= momentum
            buf += tmp
            np.multiply(buf, group["lr"], out=tmp)
        else:
            tmp *= group["lr"]
        param -= tmp
