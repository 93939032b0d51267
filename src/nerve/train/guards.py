"""Two callbacks that make a run safe to stop and to resume.

* :class:`NonFiniteGuard` stops training when an epoch ends with a non-finite metric or
  weight, before any later callback (``ModelCheckpoint``, order 100) saves that epoch, so the
  last checkpoint is always finite;
* :class:`CarryState` puts any object with ``state_dict()``/``load_state_dict()`` (a random
  augmentation's generator, say) into the trainer's checkpoints, so a resumed run draws what
  an uninterrupted one would.
"""
from __future__ import annotations

import math

import numpy as np

from .callbacks import Callback

__all__ = ["NonFiniteGuard", "CarryState"]


class NonFiniteGuard(Callback):
    """Raise ``FloatingPointError`` at the end of an epoch whose logs or weights hold NaN/Inf.

        >>> import nerve as nv
        >>> from nerve.train import Trainer
        >>> model = nv.nn.Linear(2, 1)
        >>> guard = NonFiniteGuard()
        >>> guard.trainer = Trainer(model, None, nv.nn.MSELoss())
        >>> guard.on_epoch_end(0, {"loss": 0.5})  # finite: nothing happens
        >>> guard.on_epoch_end(0, {"loss": float("nan")})
        Traceback (most recent call last):
        ...
        FloatingPointError: loss became nan at epoch 1
    """

    order = 50  # after the loggers (0), before ModelCheckpoint (100)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            if isinstance(value, (float, np.floating)) and not math.isfinite(value):
                raise FloatingPointError(f"{key} became {value} at epoch {epoch + 1}")
        for name, p in self.trainer.model.named_parameters():
            if not np.isfinite(p.data).all():
                raise FloatingPointError(f"the weights became non-finite at epoch {epoch + 1} "
                                         f"({name} holds NaN or Inf)")


class CarryState(Callback):
    """Save ``obj.state_dict()`` with each checkpoint and restore it on resume.

    Callback states are keyed by position in ``Trainer(callbacks=[...])``: give the same list
    when resuming.
    """

    def __init__(self, obj):
        if not (hasattr(obj, "state_dict") and hasattr(obj, "load_state_dict")):
            raise TypeError(f"CarryState needs an object with state_dict() and load_state_dict(), got "
                            f"{type(obj).__name__}")
        self.obj = obj

    def state_dict(self):
        return {"state": self.obj.state_dict()}

    def load_state_dict(self, state):
        self.obj.load_state_dict(state["state"])
