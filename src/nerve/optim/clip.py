"""Gradient clipping, also reachable as ``nerve.optim.clip_grad_norm_``.

Implemented in ``nerve.nn.utils.clip`` (PyTorch's home for it is ``torch.nn.utils``); the
optimizer layer sits above ``nn``, so it re-exports the functions rather than ``nn``
reaching up for them.
"""
from ..nn.utils.clip import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
