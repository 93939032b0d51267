"""Adamax: Adam with the infinity norm of past gradients in place of their RMS."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_betas, effective_grad, lerp_, torch_only_flags

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7.1), as in PyTorch.

    With ``d = g + weight_decay·w``::

        m ← m + (1 − β₁)·(d − m)
        u ← max(β₂·u, |d| + eps)                  a decaying running maximum of |d|
        w ← w − lr/(1 − β₁ᵗ) · m / u

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 2e-3).
        betas: (β₁, β₂) (default (0.9, 0.999)).
        eps: added to |d| (default 1e-8).
        weight_decay: L2 coefficient added to the gradient (default 0).
        maximize: ascend the objective instead (default False).

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_inf`` (u).

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([2.0, -3.0], dtype=nv.float64, requires_grad=True)
        >>> opt = nv.optim.Adamax([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step()
        >>> [round(v, 6) for v in w.tolist()]   # the first step has length lr
        [1.9, -2.9]
    """

    elementwise = True

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None,
                 *, maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize)
        torch_only_flags(self, differentiable, capturable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._require_nonnegative(group, "lr", "eps", "weight_decay")
        check_betas(self, group)

    def init_state(self, param, group):
        return {"step": 0, "exp_avg": np.zeros_like(param), "exp_inf": np.zeros_like(param),
                "_tmp": np.empty_like(param)}

    def update(self, param, grad, state, group):
        state["step"] = step = state["step"] + 1
        beta1, beta2 = group["betas"]
        d = effective_grad(param, grad, state, group["weight_decay"], group["maximize"])
        tmp, m, u = state["_tmp"], state["exp_avg"], state["exp_inf"]
        lerp_(m, d, 1 - beta1, tmp)
        u *= beta2
        np.abs(d, out=tmp)
        tmp += group["eps"]
        np.maximum(u, tmp, out=u)
        clr = group["lr"] / (1 - beta1 ** step)
        np.multiply(m, -clr, out=tmp)
        tmp /= u
        param += tmp
