"""Padding layers, twins of ``F.pad``: ``ZeroPad1d/2d/3d`` and ``ConstantPad1d/2d/3d``.

Padding widths follow PyTorch: an int pads every side; a tuple lists (left, right) for
the last dim, then (top, bottom) for the one before. Negative widths crop.
"""
from __future__ import annotations

from . import functional as F
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d"]


class _ConstantPadNd(Module):
    _sides = 2

    def __init__(self, padding, value=0.0):
        super().__init__()
        name = type(self).__name__
        if isinstance(padding, int):
            padding = (padding,) * self._sides
        padding = tuple(padding)
        if len(padding) != self._sides or not all(isinstance(p, int) for p in padding):
            raise ValueError(f"{name}: padding must be an int or a tuple of {self._sides} ints, got {padding!r}")
        self.padding = padding
        self.value = value

    def forward(self, input):  # noqa: A002
        need = self._sides // 2
        if input.ndim < need + 1:
            raise RuntimeError(f"{type(self).__name__}{self.padding} expects an input with at least "
                               f"{need + 1} dimensions ((C, ...) or (N, C, ...)), got shape {tuple(input.shape)}")
        return F.pad(input, self.padding, value=self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim of (N, C, L) or (C, L) with ``value``: ``(left, right)``.

    Example:
        >>> import nerve as nv
        >>> nv.nn.ConstantPad1d((1, 2), 9.0)(nv.zeros(1, 1, 2)).tolist()
        [[[9.0, 0.0, 0.0, 9.0, 9.0]]]
    """

    _sides = 2


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims of (N, C, H, W) or (C, H, W) with ``value``:
    ``(left, right, top, bottom)``."""

    _sides = 4


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims of (N, C, D, H, W) or (C, D, H, W) with ``value``:
    ``(left, right, top, bottom, front, back)``."""

    _sides = 6


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim with zeros: ``(left, right)``; an int pads both sides."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"padding={self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims with zeros: ``(left, right, top, bottom)``; an int pads all four.

    Example:
        >>> import nerve as nv
        >>> nv.nn.ZeroPad2d((1, 0, 0, 1))(nv.ones(1, 1, 1, 1)).tolist()
        [[[[0.0, 1.0], [0.0, 0.0]]]]
    """

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"padding={self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pad the last three dims with zeros: ``(left, right, top, bottom, front, back)``."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"padding={self.padding}"
