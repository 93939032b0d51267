"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, effective_grad, torch_only_flags

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), as in PyTorch.

    The update is scaled by the ratio of two running RMS values, so its units match the
    parameter's and no hand-tuned rate is needed (``lr`` only rescales it). With
    ``d = g + weight_decay·w``::

        v ← ρ·v + (1 − ρ)·d²                      mean squared gradient
        Δ = √(u + eps) / √(v + eps) · d            u: mean squared update
        u ← ρ·u + (1 − ρ)·Δ²
        w ← w − lr·Δ

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: scale of the update (default 1.0).
        rho: decay rate ρ of both averages (default 0.9).
        eps: added inside both roots (default 1e-6).
        weight_decay: L2 coefficient added to the gradient (default 0).
        maximize: ascend the objective instead (default False).

    State per parameter (PyTorch's names): ``step``, ``square_avg`` (v), ``acc_delta`` (u).

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([1.0], dtype=nv.float64, requires_grad=True)
        >>> opt = nv.optim.Adadelta([w])
        >>> (w * w).sum().backward(); opt.step()
        >>> round(w.item(), 6)   # first step: √eps / √(0.1·4 + eps) · 2
        0.996838
    """

    elementwise = True

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        torch_only_flags(self, differentiable, capturable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._require_nonnegative(group, "lr", "eps", "weight_decay")
        self._require(group, "rho", lambda v: 0 <= v <= 1, "in [0, 1]")

    def init_state(self, param, group):
        return {"step": 0, "square_avg": np.zeros_like(param), "acc_delta": np.zeros_like(param),
                "_tmp": np.empty_like(param), "_delta": np.empty_like(param)}

    def update(self, param, grad, state, group):
        state["step"] += 1
        rho, eps = group["rho"], group["eps"]
        d = effective_grad(param, grad, state, group["weight_decay"], group["maximize"])
        v, u = state["square_avg"], state["acc_delta"]
        tmp, delta = state["_tmp"], state["_delta"]
        v *= rho
        np.multiply(d, 1 - rho, out=tmp)
        tmp *= d
        v += tmp
        np.add(v, eps, out=tmp)
        np.sqrt(tmp, out=tmp)                 # std = √(v + eps)
        np.add(u, eps, out=delta)
        np.sqrt(delta, out=delta)
        delta /= tmp
        delta *= d                            # Δ
        u *= rho
        np.multiply(delta, 1 - rho, out=tmp)
        tmp *= delta
        u += tmp
        delta *= -group["lr"]
        param += delta
