"""torchvision.utils: ``make_grid`` and ``save_image`` (the ones in :mod:`nerve.data.grid`).

    >>> import numpy as np
    >>> make_grid(np.ones((4, 1, 2, 2), np.float32), nrow=2, padding=1).shape
    (3, 7, 7)
"""
from ..data.grid import make_grid, save_image

__all__ = ["make_grid", "save_image"]
