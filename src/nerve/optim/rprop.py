"""Rprop: per-coordinate step sizes adapted from the sign of the gradient alone."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, torch_only_flags

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Resilient backpropagation (Riedmiller & Braun, 1993), as in PyTorch.

    Only the sign of the gradient is used. Each coordinate has its own step size Δ: when
    the gradient keeps its sign, Δ grows by η₊; when it flips (the last step jumped over a
    minimum), Δ shrinks by η₋ and that coordinate skips this step::

        s = sign(g·g_prev)
        Δ ← clip(Δ·(η₊ if s > 0, η₋ if s < 0, 1 if s = 0), Δ_min, Δ_max)
        g ← 0 where s < 0
        w ← w − sign(g)·Δ,   g_prev ← g

    Meant for full-batch training: mini-batch noise flips signs at random.

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: the initial step size Δ (default 1e-2).
        etas: (η₋, η₊), with 0 < η₋ < 1 < η₊ (default (0.5, 1.2)).
        step_sizes: (Δ_min, Δ_max) (default (1e-6, 50)).
        maximize: ascend the objective instead (default False).

    State per parameter: ``step``, ``prev`` (g_prev), ``step_size`` (Δ).

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([3.0, -3.0], dtype=nv.float64, requires_grad=True)
        >>> opt = nv.optim.Rprop([w], lr=0.5)
        >>> for _ in range(2):
        ...     opt.zero_grad(); (w * w).sum().backward(); opt.step()
        >>> [round(v, 6) for v in w.tolist()]   # steps of 0.5, then 0.5·1.2
        [1.9, -1.9]
    """

    elementwise = True

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False,
                 foreach=None, maximize=False, differentiable=False):
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize)
        torch_only_flags(self, differentiable, capturable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._require(group, "lr", lambda v: v >= 0, ">= 0")
        etas = group.get("etas")
        if etas is not None and (len(etas) != 2 or not 0.0 < etas[0] < 1.0 < etas[1]):
            raise ValueError(f"Rprop: etas must be a pair (eta_minus, eta_plus) with 0 < eta_minus < 1 "
                             f"< eta_plus, got {etas!r}")
        sizes = group.get("step_sizes")
        if sizes is not None and (len(sizes) != 2 or not 0.0 <= sizes[0] <= sizes[1]):
            raise ValueError(f"Rprop: step_sizes must be a pair (min, max) with 0 <= min <= max, got "
                             f"{sizes!r}")

    def init_state(self, param, group):
        step_size = np.empty_like(param)
        lr = group["lr"]
        # a complex parameter's real and imaginary parts each start there (as in PyTorch)
        step_size[...] = complex(lr, lr) if step_size.dtype.kind == "c" else lr
        return {"step": 0, "prev": np.zeros_like(param), "step_size": step_size,
                "_sign": np.empty_like(param)}

    def update(self, param, grad, state, group):
        state["step"] += 1
        eta_minus, eta_plus = group["etas"]
        lo, hi = group["step_sizes"]
        prev, step_size, sign = state["prev"], state["step_size"], state["_sign"]
        g = -grad if group["maximize"] else grad
        np.multiply(g, prev, out=sign)
        np.sign(sign, out=sign)
        # (s > 0 → η₊, s < 0 → η₋, s = 0 → 1), written into sign itself as torch does
        factor = np.where(sign > 0, eta_plus, np.where(sign < 0, eta_minus, 1.0))
        step_size *= factor
        np.clip(step_size, lo, hi, out=step_size)
        np.copyto(prev, g)
        prev[factor == eta_minus] = 0       # a flipped sign: skip this step, forget the gradient
        np.sign(prev, out=sign)
        sign *= step_size
        param -= sign
