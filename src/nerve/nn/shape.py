"""Shape layers: ``Flatten``, ``Unflatten``, ``PixelShuffle``, ``PixelUnshuffle`` (module twins
of ``F.flatten`` / reshape / ``F.pixel_shuffle``)."""
from __future__ import annotations

import numpy as np

from . import functional as F
from .module import Module

__all__ = ["Flatten", "Unflatten", "PixelShuffle", "PixelUnshuffle"]


class Flatten(Module):
    """Merge dimensions ``start_dim`` … ``end_dim`` into one; see ``F.flatten``.

    With the defaults (start_dim=1) the batch dimension is kept, so an image batch
    (N, 1, 28, 28) or (N, 28, 28) becomes (N, 784), ready for a Linear layer. It has no
    parameters: the 784 inputs of the chapter-1 network are data, not a layer.

    Example:
        >>> import nerve as nv
        >>> nv.nn.Flatten()(nv.zeros(32, 1, 28, 28)).shape
        (32, 784)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):  # noqa: A002
        if input.ndim == 1 and self.start_dim == 1:
            # (N,) with start_dim=1: nothing to merge, so the input is kept (torch raises
            # here). A start_dim past that is a mistake and F.flatten says so.
            return input
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``: the inverse of ``Flatten``.

    Example:
        >>> import nerve as nv
        >>> nv.nn.Unflatten(1, (1, 28, 28))(nv.zeros(32, 784)).shape
        (32, 1, 28, 28)
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)
        sizes = self.unflattened_size
        if (not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= -1
                    for v in sizes)
                or sizes.count(-1) > 1):
            raise ValueError(f"Unflatten: unflattened_size must hold non-negative ints and at most "
                             f"one -1 (the size to infer), got {sizes}")

    def forward(self, input):  # noqa: A002
        shape = tuple(input.shape)
        if not shape:
            raise IndexError(f"Unflatten: a 0-d input has no dimension {self.dim} to unflatten")
        if not -len(shape) <= self.dim < len(shape):
            # a wrapped index would silently split some other dimension
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for an input of shape "
                             f"{shape} (valid dims are {-len(shape)}..{len(shape) - 1})")
        d = self.dim % len(shape)
        size = list(self.unflattened_size)
        known = 1
        for s in size:
            if s != -1:
                known *= s
        if -1 in size:
            size[size.index(-1)] = shape[d] // known if known else 0
        n = 1
        for s in size:
            n *= s
        if n != shape[d]:
            raise RuntimeError(
                f"Unflatten({self.dim}, {self.unflattened_size}) got input of shape {shape}: "
                f"dimension {self.dim} has {shape[d]} elements, but {self.unflattened_size} "
                f"holds {n}")
        return F.reshape(input, shape[:d] + tuple(size) + shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class PixelShuffle(Module):
    """(N, C·r², H, W) → (N, C, H·r, W·r), as ``torch.nn.PixelShuffle``; see ``F.pixel_shuffle``.

    Example:
        >>> import nerve as nv
        >>> nv.nn.PixelShuffle(3)(nv.zeros(2, 18, 4, 5)).shape
        (2, 2, 12, 15)
    """

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):  # noqa: A002
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(N, C, H·r, W·r) → (N, C·r², H, W), as ``torch.nn.PixelUnshuffle``; see ``F.pixel_unshuffle``.

    Example:
        >>> import nerve as nv
        >>> nv.nn.PixelUnshuffle(2)(nv.zeros(1, 3, 4, 6)).shape
        (1, 12, 2, 3)
    """

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):  # noqa: A002
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
