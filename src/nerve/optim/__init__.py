"""Optimizers, learning-rate schedules and gradient clipping, mirroring ``torch.optim``.

    >>> import nerve as nv
    >>> w = nv.tensor([1.0, 1.0], dtype=nv.float64, requires_grad=True)
    >>> opt = nv.optim.Adam([w], lr=0.1)
    >>> for _ in range(100):
    ...     opt.zero_grad()
    ...     loss = (w * w).sum()
    ...     loss.backward()
    ...     opt.step()
    >>> bool(loss.item() < 1e-2)
    True
"""
from . import lr_scheduler  # noqa: F401
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "lr_scheduler",
           "clip_grad_norm_", "clip_grad_value_"]
