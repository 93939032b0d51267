"""ASGD: SGD with a decaying rate and a running (Polyak) average of the iterates."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, effective_grad, torch_only_flags

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992), as in PyTorch.

    The weights follow SGD with a rate ηₜ that decays polynomially and an L2-like shrink,
    and from step ``t0`` on ``ax`` keeps their running average, the estimate to use at the
    end (``opt.state[p]["ax"]``). With ``d = g + weight_decay·w``::

        w ← w·(1 − λ·η) − η·d
        ax ← ax + μ·(w − ax)          (ax ← w while μ = 1)
        η ← lr / (1 + λ·lr·t)^α,   μ ← 1 / max(1, t − t0)

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 1e-2).
        lambd: decay term λ (default 1e-4).
        alpha: power α of the rate decay (default 0.75).
        t0: the step at which averaging starts (default 1e6).
        weight_decay: L2 coefficient added to the gradient (default 0).
        maximize: ascend the objective instead (default False).

    State per parameter (PyTorch's names): ``step``, ``eta`` and ``mu`` (floats), ``ax``.
    NOTE: PyTorch stores ``eta`` and ``mu`` as tensors of its default dtype, so under the
    usual float32 default they are rounded to float32 (float64 parameters then differ from
    nerve's by about 1e-9 relative after a few steps); nerve keeps them as Python floats.

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([1.0], dtype=nv.float64, requires_grad=True)
        >>> opt = nv.optim.ASGD([w], lr=0.1, lambd=0.0)
        >>> (w * w).sum().backward(); opt.step()
        >>> round(w.item(), 6), round(opt.state[w]["ax"].item(), 6)
        (0.8, 0.8)
    """

    elementwise = True
    scalar_state_keys = ("eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        maximize=maximize)
        torch_only_flags(self, differentiable, capturable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._require_nonnegative(group, "lr", "weight_decay")
        for key in ("lambd", "alpha", "t0"):
            self._require(group, key, lambda v: True, "(any real value)")

    def init_state(self, param, group):
        return {"step": 0, "eta": float(group["lr"]), "mu": 1.0, "ax": np.zeros_like(param),
                "_tmp": np.empty_like(param)}

    def update(self, param, grad, state, group):
        state["step"] = step = state["step"] + 1
        lr, lambd = group["lr"], group["lambd"]
        d = effective_grad(param, grad, state, group["weight_decay"], group["maximize"])
        eta, mu = state["eta"], state["mu"]
        tmp, ax = state["_tmp"], state["ax"]
        param *= 1 - lambd * eta
        np.multiply(d, -eta, out=tmp)
        param += tmp
        if mu != 1:
            np.subtract(param, ax, out=tmp)
            tmp *= mu
            ax += tmp
        else:
            np.copyto(ax, param)
        state["eta"] = lr / ((1 + lambd * lr * step) ** group["alpha"])
        state["mu"] = 1 / max(1, step - group["t0"])
