"""RAdam: Adam whose adaptive step is switched on only once its variance estimate is reliable."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_betas, decayed_grad, ema_sq_, lerp_, torch_only_flags

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2020), as in PyTorch.

    Early on, √v rests on few samples and its inverse has a huge variance. RAdam measures
    that through ρₜ, the length of the approximated simple moving average, and takes plain
    momentum-SGD steps until ρₜ > 5, then rectified Adam steps::

        ρ∞ = 2/(1 − β₂) − 1,   ρₜ = ρ∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)
        m̂ = m/(1 − β₁ᵗ)
        ρₜ > 5:  w ← w − lr · m̂ · √(1 − β₂ᵗ)/(√v + eps) · rₜ,
                 rₜ = √((ρₜ − 4)(ρₜ − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρₜ))
        else:    w ← w − lr · m̂

    with m, v Adam's moments of ``d = g + weight_decay·w`` (or, with
    ``decoupled_weight_decay``, the raw gradient and ``w ← w·(1 − lr·weight_decay)``).

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 1e-3).
        betas: (β₁, β₂) (default (0.9, 0.999)).
        eps: added to √v (default 1e-8).
        weight_decay: decay coefficient (default 0).
        decoupled_weight_decay: AdamW-style decay (default False).
        maximize: ascend the objective instead (default False).

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``.

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([1.0], dtype=nv.float64, requires_grad=True)
        >>> opt = nv.optim.RAdam([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step()
        >>> round(w.item(), 6)   # ρ₁ = 1 ≤ 5: an SGD-with-momentum step, lr·m̂ = 0.1·2
        0.8
    """

    elementwise = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        torch_only_flags(self, differentiable, capturable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._require_nonnegative(group, "lr", "eps", "weight_decay")
        check_betas(self, group)

    def init_state(self, param, group):
        return {"step": 0, "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param),
                "_tmp": np.empty_like(param), "_denom": np.empty_like(param)}

    def update(self, param, grad, state, group):
        state["step"] = step = state["step"] + 1
        lr, (beta1, beta2) = group["lr"], group["betas"]
        d = decayed_grad(param, grad, state, group, group["decoupled_weight_decay"])
        tmp, denom, m, v = state["_tmp"], state["_denom"], state["exp_avg"], state["exp_avg_sq"]
        lerp_(m, d, 1 - beta1, tmp)
        ema_sq_(v, d, beta2, tmp)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        np.divide(m, bias_correction1, out=tmp)   # m̂
        tmp *= lr
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            np.sqrt(v, out=denom)
            denom += group["eps"]
            np.divide(bias_correction2 ** 0.5, denom, out=denom)   # the adaptive rate
            tmp *= denom
            tmp *= rect
        param -= tmp
