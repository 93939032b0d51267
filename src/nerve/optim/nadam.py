"""NAdam: Adam with Nesterov momentum (the gradient is looked at one momentum step ahead)."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_betas, decayed_grad, ema_sq_, lerp_, torch_only_flags

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), as in PyTorch, with its momentum schedule.

    The momentum coefficient warms up as μₜ = β₁·(1 − ½·0.96^(t·ψ)) (ψ = ``momentum_decay``),
    and the update mixes the current gradient with the momentum of the *next* step. With
    ``d = g + weight_decay·w`` (or decoupled decay ``w ← w·(1 − lr·weight_decay)``)::

        Πₜ = μ₁·…·μₜ
        m ← m + (1 − β₁)·(d − m),   v ← β₂·v + (1 − β₂)·d²
        r = √(v / (1 − β₂ᵗ)) + eps
        w ← w − lr·(1 − μₜ)/(1 − Πₜ) · d / r − lr·μₜ₊₁/(1 − Πₜ·μₜ₊₁) · m / r

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 2e-3).
        betas: (β₁, β₂) (default (0.9, 0.999)).
        eps: added to the root (default 1e-8).
        weight_decay: decay coefficient (default 0).
        momentum_decay: ψ of the momentum schedule (default 4e-3).
        decoupled_weight_decay: shrink the weights directly (AdamW style, "NAdamW")
            instead of adding the L2 term to the gradient (default False).
        maximize: ascend the objective instead (default False).

    State per parameter: ``step``, ``mu_product`` (Πₜ, a float), ``exp_avg``, ``exp_avg_sq``.
    NOTE: PyTorch keeps ``mu_product`` in the default dtype (float32 unless
    ``torch.set_default_dtype(torch.float64)``); nerve keeps it as a Python float.

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([1.0], dtype=nv.float64, requires_grad=True)
        >>> opt = nv.optim.NAdam([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step()
        >>> round(w.item(), 4)   # lr·(1 − μ₁)/(1 − μ₁) + lr·μ₂/(1 − μ₁μ₂), each times ĝ/|ĝ| = 1
        0.8944
    """

    elementwise = True
    scalar_state_keys = ("mu_product",)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize)
        torch_only_flags(self, differentiable, capturable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._require_nonnegative(group, "lr", "eps", "weight_decay", "momentum_decay")
        check_betas(self, group)

    def init_state(self, param, group):
        return {"step": 0, "mu_product": 1.0, "exp_avg": np.zeros_like(param),
                "exp_avg_sq": np.zeros_like(param), "_tmp": np.empty_like(param),
                "_denom": np.empty_like(param)}

    def update(self, param, grad, state, group):
        state["step"] = step = state["step"] + 1
        lr, (beta1, beta2) = group["lr"], group["betas"]
        d = decayed_grad(param, grad, state, group, group["decoupled_weight_decay"])
        bias_correction2 = 1 - beta2 ** step
        psi = group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        state["mu_product"] = mu_product = state["mu_product"] * mu
        mu_product_next = mu_product * mu_next
        tmp, denom, m, v = state["_tmp"], state["_denom"], state["exp_avg"], state["exp_avg_sq"]
        lerp_(m, d, 1 - beta1, tmp)
        ema_sq_(v, d, beta2, tmp)
        np.divide(v, bias_correction2, out=denom)
        np.sqrt(denom, out=denom)
        denom += group["eps"]
        np.multiply(d, -lr * (1.0 - mu) / (1.0 - mu_product), out=tmp)
        tmp /= denom
        param += tmp
        np.multiply(m, (-lr * mu_next) / (1.0 - mu_product_next), out=tmp)
        tmp /= denom
        param += tmp

