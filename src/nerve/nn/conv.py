"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``.

Each is a thin stateful twin of ``nerve.functional.conv1d / conv2d / conv_transpose2d``:
it owns the filters (``weight``) and ``bias`` and adds non-zero padding modes.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd.tensor import get_default_dtype
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(v, n, name, layer):
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{layer}: {name} must be an int or a tuple of {n} ints, got {v!r}")
        return tuple(int(a) for a in v)
    return (int(v),) * n


def _empty(shape, dtype, device):
    arr = np.empty(shape, dtype=np.dtype(dtype) if dtype is not None else get_default_dtype())
    return backend.to_device(arr, device) if device is not None else arr


class _ConvNd(Module):
    """Shared constructor, initialization and error messages of the conv layers."""

    _nd = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None, output_padding=0):
        super().__init__()
        name = type(self).__name__
        n = self._nd
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name}: {arg} must be a positive integer, got {v!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide both in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = _tuple(kernel_size, n, "kernel_size", name)
        self.stride = _tuple(stride, n, "stride", name)
        self.dilation = _tuple(dilation, n, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' needs stride 1 (got stride={self.stride}); "
                                 "use an integer padding for strided convolutions")
            self.padding = padding
        else:
            self.padding = _tuple(padding, n, "padding", name)
        self.padding_mode = padding_mode
        self.output_padding = _tuple(output_padding, n, "output_padding", name)
        if self._transposed:
            shape = (self.in_channels, self.out_channels // groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // groups) + self.kernel_size
        self.weight = Parameter(_empty(shape, dtype, device))
        if bias:
            self.bias = Parameter(_empty((self.out_channels,), dtype, device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: weight ~ kaiming_uniform_(a=√5) = U(±1/√fan_in), bias U(±1/√fan_in)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _padded_conv(self, conv, x):
        """``conv(x)`` with this layer's settings; a non-zero padding mode pads x first."""
        padding = self.padding
        if self.padding_mode != "zeros":
            pad = self._mode_pad()
            if pad and any(pad):
                x = F.pad(x, pad, self.padding_mode)
            padding = 0
        return conv(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)

    def _mode_pad(self):
        """The F.pad-style tuple (last dimension first) for a non-zero padding mode."""
        if self.padding == "valid":
            return None
        if self.padding == "same":
            pairs = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                     for k, d in zip(self.kernel_size, self.dilation)]
        else:
            pairs = [(p, p) for p in self.padding]
        flat = []
        for lo, hi in reversed(pairs):
            flat += [lo, hi]
        return tuple(flat)

    def _explain(self, x, err):
        k = "×".join(map(str, self.kernel_size))
        shape = tuple(getattr(x, "shape", ()))
        head = f"{type(self).__name__}({self.in_channels}→{self.out_channels}, {k}) got input of shape {shape}"
        want = self._nd + 2
        if len(shape) != want:
            layout = "(N, C, L)" if self._nd == 1 else "(N, C, H, W)"
            return f"{head}; it expects a {want}-D input {layout}"
        if shape[1] != self.in_channels:
            return (f"{head}, which has {shape[1]} channels, but the layer expects in_channels="
                    f"{self.in_channels}; make the previous layer output {self.in_channels} channels "
                    f"or build {type(self).__name__}({shape[1]}, {self.out_channels}, ...)")
        return f"{head}: {err}"

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self._transposed and self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s

    def forward(self, input):  # noqa: A002
        return self._apply_conv(input)

    def _apply_conv(self, input, **conv_kw):  # noqa: A002
        unbatched = input.ndim == self._nd + 1
        x = input.reshape(1, *input.shape) if unbatched else input
        try:
            out = self._conv(x, **conv_kw)
        except (RuntimeError, ValueError) as e:
            raise type(e)(self._explain(x, e)) from e
        return out.reshape(*out.shape[1:]) if unbatched else out


class Conv2d(_ConvNd):
    """2-D convolution layer over (N, C_in, H, W) images: ``F.conv2d`` with learned filters.

    out[n, o] = bias[o] + Σ_c weight[o, c] ⋆ x[n, c]  (cross-correlation);
    H_out = ⌊(H + 2p − d·(k − 1) − 1)/s⌋ + 1, likewise W_out.

    Args:
        in_channels, out_channels: channels in and out (out_channels = number of filters).
        kernel_size: int or (kH, kW).
        stride, dilation: int or pair (default 1).
        padding: int, pair, 'valid' (0) or 'same' (keeps H, W; stride 1 only).
        groups: independent channel groups (in_channels for a depthwise conv).
        bias: learn a per-filter bias (default True).
        padding_mode: 'zeros' (default), 'reflect', 'replicate' or 'circular'.
        device, dtype: where and in what precision to create the parameters.

    Attributes:
        weight: (out_channels, in_channels/groups, kH, kW), U(±1/√fan_in) with
            fan_in = in_channels/groups·kH·kW (PyTorch's kaiming_uniform_(a=√5)).
        bias: (out_channels,), U(±1/√fan_in), or None.

    Parameters: (kH·kW·in_channels/groups + 1)·out_channels (with bias).

    Example:
        >>> import nerve as nv
        >>> layer = nv.nn.Conv2d(3, 32, 3, padding="same")
        >>> layer(nv.zeros(1, 3, 224, 224)).shape
        (1, 32, 224, 224)
        >>> layer.num_parameters()   # (3·3·3 + 1)·32
        896
    """

    _nd = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)

    def _conv(self, x):
        return self._padded_conv(F.conv2d, x)


class Conv1d(_ConvNd):
    """1-D convolution layer over (N, C_in, L) sequences: ``F.conv1d`` with learned filters.

    L_out = ⌊(L + 2p − d·(k − 1) − 1)/s⌋ + 1. Arguments as in :class:`Conv2d` with single
    ints; weight (out_channels, in_channels/groups, k).

    Example:
        >>> import nerve as nv
        >>> nv.nn.Conv1d(4, 8, 3, padding=1)(nv.zeros(2, 4, 10)).shape
        (2, 8, 10)
    """

    _nd = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)

    def _conv(self, x):
        return self._padded_conv(F.conv1d, x)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (learned upsampling): ``F.conv_transpose2d``.

    H_out = (H − 1)·s − 2p + d·(k − 1) + output_padding + 1.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: int or pair.
        stride: int or pair.
        padding: int or pair ('zeros' mode only).
        output_padding: extra rows/columns added on one side of the output.
        groups: blocked connections from input to output channels.
        bias: add a learnable bias.
        dilation: spacing between kernel elements.

    Attributes:
        weight: (in_channels, out_channels/groups, kH, kW) — in_channels first.
        bias: (out_channels,) or None.

    Example:
        >>> import nerve as nv
        >>> up = nv.nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
        >>> up(nv.zeros(1, 16, 14, 14)).shape
        (1, 8, 28, 28)
    """

    _nd = 2
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros" or isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: only padding_mode='zeros' and integer padding are "
                             f"supported, got padding={padding!r}, padding_mode={padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, output_padding)

    def forward(self, input, output_size=None):  # noqa: A002
        """``output_size`` (the spatial sizes, optionally with N and C in front) picks the
        output_padding that gives exactly that size, as PyTorch: a stride-s convolution maps
        s neighbouring sizes to one, so its transpose needs to be told which to restore."""
        if output_size is None:
            return self._apply_conv(input)
        return self._apply_conv(input, output_padding=self._output_padding_for(input, output_size))

    def _output_padding_for(self, input, output_size):  # noqa: A002
        name = type(self).__name__
        size = [int(v) for v in output_size]
        if len(size) == self._nd + 2 or (len(size) == self._nd + 1 and input.ndim == self._nd + 1):
            size = size[-self._nd:]
        if len(size) != self._nd:
            raise ValueError(f"{name}: output_size must have {self._nd} spatial sizes (optionally after N and "
                             f"C), got {tuple(output_size)!r}")
        pads = []
        for d in range(self._nd):
            n_in = input.shape[input.ndim - self._nd + d]
            smallest = ((n_in - 1) * self.stride[d] - 2 * self.padding[d]
                        + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            largest = smallest + self.stride[d] - 1
            if not smallest <= size[d] <= largest:
                raise ValueError(f"{name}: output_size {tuple(size)} is out of reach for input of shape "
                                 f"{tuple(input.shape)}: dimension {d} can be {smallest} to {largest}")
            pads.append(size[d] - smallest)
        return tuple(pads)

    def _conv(self, x, output_padding=None):
        op = self.output_padding if output_padding is None else output_padding
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, op,
                                  self.groups, self.dilation)


class ConvTranspose1d(ConvTranspose2d):
    """Transposed 1-D convolution: (N, C_in, L) → (N, C_out, (L − 1)s − 2p + d(k − 1) + output_padding + 1).

    Example:
        >>> import nerve as nv
        >>> nv.nn.ConvTranspose1d(4, 2, 2, stride=2)(nv.zeros(1, 4, 5)).shape
        (1, 2, 10)
    """

    _nd = 1

    def _conv(self, x, output_padding=None):
        op = self.output_padding if output_padding is None else output_padding
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride[0], self.padding[0],
                                  op[0], self.groups, self.dilation[0])
