"""Helpers for naming torch twins in op-table rows without importing torch eagerly."""
import numpy as np


def torch():
    import torch as _t  # noqa: PLC0415

    return _t


def f(name, **kw):
    """The torch function ``torch.<name>`` (or ``torch.nn.functional.<name>``) with kwargs."""
    def call(*args):
        t = torch()
        fn = getattr(t, name, None) or getattr(t.nn.functional, name)
        return fn(*args, **kw)

    return call


def nnf(name, **kw):
    def call(*args):
        return getattr(torch().nn.functional, name)(*args, **kw)

    return call


def off_grid(rng, shape, points, gap=0.05):
    """Normal samples nudged at least ``gap`` away from each kink in ``points``."""
    x = rng.standard_normal(shape)
    for p in points:
        close = np.abs(x - p) < gap
        x = np.where(close, p + np.sign(x - p + 1e-12) * gap * 2, x)
    return x
