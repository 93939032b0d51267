"""Pooling and resampling layers, twins of ``nerve.functional.pooling``.

``MaxPool1d/2d``, ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d``, ``AdaptiveMaxPool1d/2d``,
``GlobalAvgPool2d`` and ``Upsample``. They hold no parameters.
"""
from __future__ import annotations

from . import functional as F
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "GlobalAvgPool2d", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


class _Pool(Module):
    def _call(self, fn, input, *args):  # noqa: A002
        try:
            return fn(input, *args)
        except (RuntimeError, ValueError) as e:
            raise type(e)(f"{type(self).__name__}({self.extra_repr()}) got input of shape "
                          f"{tuple(getattr(input, 'shape', ()))}: {e}") from e


class MaxPool2d(_Pool):
    """2-D max pooling: ``F.max_pool2d``. H_out = ⌊(H + 2p − d·(k − 1) − 1)/s⌋ + 1.

    Args:
        kernel_size: int or pair.
        stride: defaults to kernel_size.
        padding: implicit −∞ padding on both sides.
        dilation: spacing between window elements.
        return_indices: also return the arg-max indices.
        ceil_mode: round the output size up instead of down.

    Shapes: (N, C, H, W) or (C, H, W) → (N, C, H_out, W_out).

    Example:
        >>> import nerve as nv
        >>> nv.nn.MaxPool2d(2)(nv.zeros(1, 6, 28, 28)).shape
        (1, 6, 14, 14)
    """

    _fn = staticmethod(F.max_pool2d)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = stride if stride is not None else kernel_size
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, input):  # noqa: A002
        return self._call(self._fn, input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(MaxPool2d):
    """1-D max pooling over (N, C, L): ``F.max_pool1d``.

    Example:
        >>> import nerve as nv
        >>> nv.nn.MaxPool1d(3, 2)(nv.zeros(2, 4, 11)).shape
        (2, 4, 5)
    """

    _fn = staticmethod(F.max_pool1d)


class AvgPool2d(_Pool):
    """2-D average pooling: ``F.avg_pool2d``. H_out = ⌊(H + 2p − k)/s⌋ + 1.

    Args:
        kernel_size: int or pair.
        stride: defaults to kernel_size.
        padding: implicit zero padding on both sides.
        ceil_mode: round the output size up instead of down.
        count_include_pad: count the zero padding in the divisor.
        divisor_override: divide by this instead of the window size.

    Example:
        >>> import nerve as nv
        >>> nv.nn.AvgPool2d(2)(nv.ones(1, 1, 4, 4)).tolist()
        [[[[1.0, 1.0], [1.0, 1.0]]]]
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = stride if stride is not None else kernel_size
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, input):  # noqa: A002
        return self._call(F.avg_pool2d, input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(AvgPool2d):
    """1-D average pooling over (N, C, L): ``F.avg_pool1d``.

    Example:
        >>> import nerve as nv
        >>> nv.nn.AvgPool1d(2)(nv.ones(1, 1, 6)).shape
        (1, 1, 3)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)

    def forward(self, input):  # noqa: A002
        return self._call(F.avg_pool1d, input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)


class AdaptiveAvgPool2d(_Pool):
    """Average pooling to a fixed (H_out, W_out): ``F.adaptive_avg_pool2d``.

    ``AdaptiveAvgPool2d(1)`` is global average pooling that keeps (N, C, 1, 1).

    Example:
        >>> import nerve as nv
        >>> nv.nn.AdaptiveAvgPool2d((1, 1))(nv.zeros(2, 512, 7, 7)).shape
        (2, 512, 1, 1)
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):  # noqa: A002
        return self._call(F.adaptive_avg_pool2d, input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """Average pooling of (N, C, L) to a fixed length: ``F.adaptive_avg_pool1d``."""

    def forward(self, input):  # noqa: A002
        return self._call(F.adaptive_avg_pool1d, input, self.output_size)


class AdaptiveMaxPool2d(AdaptiveAvgPool2d):
    """Max pooling to a fixed output size (input sizes must be multiples of it)."""

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):  # noqa: A002
        return self._call(F.adaptive_max_pool2d, input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(AdaptiveAvgPool2d):
    """Max pooling of (N, C, L) or (C, L) to a fixed length over PyTorch's adaptive bins:
    ``F.adaptive_max_pool1d``. ``return_indices=True`` also returns the arg-max positions.

    Example:
        >>> import nerve as nv
        >>> nv.nn.AdaptiveMaxPool1d(2)(nv.tensor([[[1.0, 5.0, 2.0, 0.0, 3.0]]])).tolist()
        [[[5.0, 3.0]]]
    """

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):  # noqa: A002
        return self._call(F.adaptive_max_pool1d, input, self.output_size, self.return_indices)


class GlobalAvgPool2d(_Pool):
    """Global average pooling: the mean of each feature map, (N, C, H, W) → (N, C).

    The flattened output replaces ``Flatten`` before a classifier (Lin et al. 2014); pass
    ``keepdim=True`` for (N, C, 1, 1), which equals ``AdaptiveAvgPool2d(1)``.

    Example:
        >>> import nerve as nv
        >>> nv.nn.GlobalAvgPool2d()(nv.ones(2, 8, 5, 5)).shape
        (2, 8)
    """

    def __init__(self, keepdim=False):
        super().__init__()
        self.keepdim = keepdim

    def forward(self, input):  # noqa: A002
        return self._call(F.global_avg_pool2d, input, self.keepdim)

    def extra_repr(self):
        return f"keepdim={self.keepdim}"


class Upsample(_Pool):
    """Resize feature maps: ``F.interpolate`` with size or scale_factor, 'nearest' or 'bilinear'.

    Example:
        >>> import nerve as nv
        >>> nv.nn.Upsample(scale_factor=2, mode="bilinear")(nv.zeros(1, 3, 8, 8)).shape
        (1, 3, 16, 16)
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input):  # noqa: A002
        return self._call(F.interpolate, input, self.size, self.scale_factor, self.mode, self.align_corners,
                          self.recompute_scale_factor)

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(mode='nearest')``."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, "nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(mode='bilinear', align_corners=True)``, as in PyTorch."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, "bilinear", True)
