"""Stochastic gradient descent, with optional (Nesterov) momentum and weight decay."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, copy_of, effective_grad, torch_only_flags

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Gradient descent, optionally with momentum, following PyTorch's conventions.

    With ``d = g + weight_decay·w`` (``g`` negated first when ``maximize``)::

        no momentum:  w ← w − lr·d
        momentum μ:   v ← μ·v + (1 − dampening)·d      (v starts as the first d)
                      w ← w − lr·v                     (classic, Polyak)
                      w ← w − lr·(d + μ·v)             (nesterov=True, Sutskever et al.)

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate (default 1e-3).
        momentum: momentum factor μ (default 0).
        dampening: dampening of the new gradient in the momentum buffer (default 0).
        weight_decay: L2 coefficient added to the gradient (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: ascend the objective instead of descending it (default False).
        foreach, fused, capturable: PyTorch's speed switches, accepted and ignored;
            ``differentiable=True`` is refused.

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([1.0, 1.0], dtype=nv.float64, requires_grad=True)
        >>> opt = nv.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> for _ in range(2):
        ...     opt.zero_grad()
        ...     (w * w).sum().backward()
        ...     opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.46, 0.46]
    """

    elementwise = True

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False, fused=None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        torch_only_flags(self, differentiable)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._require_nonnegative(group, "lr", "momentum", "weight_decay")
        if group.get("nesterov") and (group.get("momentum", 0) <= 0 or group.get("dampening", 0) != 0):
            raise ValueError(
                f"SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={group.get('momentum')!r}, dampening={group.get('dampening')!r}")

    def group_fast_path_pays(self, group):
        # Even plain SGD gains: a flat group's parameters live in its buffer, so a step is one
        # gradient gather and one update instead of an update per tensor.
        return True

    def init_state(self, param, group):
        # The momentum buffer is created on the first step from that step's gradient.
        return {"momentum_buffer": None, "_tmp": np.empty_like(param)}

    def update(self, param, grad, state, group):
        momentum = group["momentum"]
        tmp = state["_tmp"]
        d = grad
        if group["weight_decay"] or group["maximize"]:
            d = effective_grad(param, grad, state, group["weight_decay"], group["maximize"])
        if momentum:
            buf = state["momentum_buffer"]
            if buf is None:
                buf = state["momentum_buffer"] = copy_of(param, d)
            else:
                buf *= momentum
                dampening = group["dampening"]
                if dampening:
                    np.multiply(d, 1 - dampening, out=tmp)
                    buf += tmp
                else:
                    buf += d
            if group["nesterov"]:
                np.multiply(buf, momentum, out=tmp)  # d + μ·v
                tmp += d
                d = tmp
            else:
                d = buf
        np.multiply(d, group["lr"], out=tmp)
        param -= tmp
