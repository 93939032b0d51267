"""Adam and AdamW: bias-corrected running moments of the gradient and its square."""
from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer, check_betas, decayed_grad, ema_sq_, torch_only_flags

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with optional AMSGrad, as in PyTorch.

    At step t, with ``d = g + weight_decay·w`` (L2 added to the gradient)::

        m ← m + (1 − β₁)·(d − m)                 first moment
        v ← β₂·v + (1 − β₂)·d²                   second moment
        v̂ = max(v̂, v) if amsgrad else v
        w ← w − lr/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + eps)

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 1e-3).
        betas: (β₁, β₂), the decay rates of the two moments (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 coefficient added to the gradient (default 0); see ``AdamW``
            for the decoupled form.
        amsgrad: normalise by the largest second moment seen so far (default False).
        maximize: ascend the objective instead (default False).
        decoupled_weight_decay: shrink the weights directly instead (``AdamW``'s rule;
            default False), as PyTorch's argument of the same name.
        foreach, fused, capturable: PyTorch's speed switches, accepted and ignored (one
            NumPy code path); ``differentiable=True`` is refused.

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([2.0, -3.0], dtype=nv.float64, requires_grad=True)
        >>> opt = nv.optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step()
        >>> [round(v, 6) for v in w.tolist()]   # the first step has length lr per coordinate
        [1.9, -2.9]
    """

    decoupled_weight_decay = False

    elementwise = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=None):
        if decoupled_weight_decay is None:
            decoupled_weight_decay = type(self).decoupled_weight_decay
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=bool(decoupled_weight_decay))
        torch_only_flags(self, differentiable, capturable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._require_nonnegative(group, "lr", "eps", "weight_decay")
        check_betas(self, group)

    def init_state(self, param, group):
        state = {"step": 0, "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param),
                 "_tmp": np.empty_like(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        return state

    def update(self, param, grad, state, group):
        state["step"] = step = state["step"] + 1
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        # a checkpoint from before the group held the switch: the class's rule
        decoupled = group.get("decoupled_weight_decay", self.decoupled_weight_decay)
        d = decayed_grad(param, grad, state, group, decoupled)
        tmp = state["_tmp"]
        exp_avg = state["exp_avg"]
        exp_avg_sq = state["exp_avg_sq"]
        np.subtract(d, exp_avg, out=tmp)  # m ← m + (1 − β₁)(d − m)
        tmp *= 1 - beta1
        exp_avg += tmp
        ema_sq_(exp_avg_sq, d, beta2, tmp)  # v ← β₂ v + (1 − β₂) d²
        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
        if group["amsgrad"]:
            top = state.get("max_exp_avg_sq")
            if top is None:
                top = state["max_exp_avg_sq"] = np.zeros_like(param)
            np.maximum(top, exp_avg_sq, out=top)
            np.sqrt(top, out=tmp)
        else:
            np.sqrt(exp_avg_sq, out=tmp)
        tmp /= bias_correction2_sqrt
        tmp += group["eps"]
        np.divide(exp_avg, tmp, out=tmp)
        tmp *= step_size
        param -= tmp


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as in PyTorch.

    The decay shrinks the weights directly instead of entering the gradient, so it is
    not rescaled by Adam's per-coordinate step::

        w ← w·(1 − lr·weight_decay)
        then the Adam update of ``Adam`` with the raw gradient g

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 1e-3).
        betas: (β₁, β₂) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: decoupled decay coefficient (default 1e-2).
        amsgrad: use the AMSGrad maximum (default False).
        maximize: ascend the objective instead (default False).
        foreach, fused, capturable: accepted for PyTorch compatibility and ignored.

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([1.0], dtype=nv.float64, requires_grad=True)
        >>> opt = nv.optim.AdamW([w], lr=0.1, weight_decay=0.5)
        >>> (w * 0.0).sum().backward(); opt.step()   # zero gradient: only the decay acts
        >>> round(w.item(), 6)
        0.95
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, capturable=capturable,
                         differentiable=differentiable, decoupled_weight_decay=True)
