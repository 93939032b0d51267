"""Adagrad: per-coordinate step sizes that shrink with the gradients seen so far."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, effective_grad, torch_only_flags

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011), as in PyTorch.

    Each coordinate keeps the running sum of its squared gradients, so rarely-updated
    (sparse) features keep a large step while frequent ones slow down. At step t, with
    ``d = g + weight_decay·w``::

        lr_t = lr / (1 + (t − 1)·lr_decay)
        G    ← G + d²
        w    ← w − lr_t · d / (√G + eps)

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay per step (default 0).
        weight_decay: L2 coefficient added to the gradient (default 0).
        initial_accumulator_value: starting value of G (default 0).
        eps: added to √G for numerical stability (default 1e-10).
        maximize: ascend the objective instead (default False).
        foreach, fused, capturable: PyTorch's speed switches, accepted and ignored;
            ``differentiable=True`` is refused.

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([3.0, -0.5], dtype=nv.float64, requires_grad=True)
        >>> opt = nv.optim.Adagrad([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step()
        >>> [round(v, 6) for v in w.tolist()]   # the first step moves every coordinate by lr
        [2.9, -0.4]
    """

    elementwise = True

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, foreach=None, maximize=False, differentiable=False, fused=None):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize)
        torch_only_flags(self, differentiable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._require_nonnegative(group, "lr", "lr_decay", "weight_decay", "initial_accumulator_value",
                                  "eps")

    def init_state(self, param, group):
        total = np.empty_like(param)
        value = group["initial_accumulator_value"]
        # a complex parameter's real and imaginary parts each start there (as in PyTorch)
        total[...] = complex(value, value) if total.dtype.kind == "c" else value
        return {"step": 0, "sum": total, "_tmp": np.empty_like(param)}

    def update(self, param, grad, state, group):
        state["step"] = step = state["step"] + 1
        d = effective_grad(param, grad, state, group["weight_decay"], group["maximize"])
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        tmp = state["_tmp"]
        total = state["sum"]
        np.multiply(d, d, out=tmp)
        total += tmp
        np.sqrt(total, out=tmp)
        tmp += group["eps"]
        np.divide(d, tmp, out=tmp)
        tmp *= clr
        param -= tmp
