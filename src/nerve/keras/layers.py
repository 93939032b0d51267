"""Keras layer specifications, turned into nerve modules when their input shape is known.

A Keras layer is declared without its input size (``Dense(128)``); the model infers every
shape from the first layer's ``input_shape`` (or an ``Input``) and then asks each layer for
its output shape, its parameter count and, when the weights are needed, its nerve module.
Shapes are Keras's: channels last, without the batch axis (``(224, 224, 3)``); the modules
work channels-first, as the rest of nerve does (the model converts at the input).
"""
from __future__ import annotations

import math
import re

import numpy as np

from .. import nn

__all__ = ["Layer", "Input", "InputLayer", "Dense", "Conv2D", "MaxPooling2D", "AveragePooling2D", "Flatten",
           "Dropout", "BatchNormalization", "GlobalAveragePooling2D", "Activation"]

_INITIALIZERS = ("glorot_uniform", "zeros", "ones")


def _pair(v, name):
    if isinstance(v, (int, np.integer)):
        v = (int(v), int(v))
    v = tuple(int(a) for a in v)
    if len(v) != 2 or min(v) < 1:
        raise ValueError(f"{name} must be a positive int or a pair of them, got {v!r}")
    return v


def _snake(name):
    """Keras's default layer name: ``MaxPooling2D`` -> ``max_pooling2d``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _init(tensor, how, what):
    if how not in _INITIALIZERS:
        raise ValueError(f"{what} must be one of {_INITIALIZERS}, got {how!r}")
    if how == "glorot_uniform":
        nn.init.xavier_uniform_(tensor)
    elif how == "zeros":
        nn.init.zeros_(tensor)
    else:
        nn.init.ones_(tensor)


class Layer:
    """Base of the layer specifications.

    Subclasses give ``output_shape(input_shape)``, ``count_params(input_shape)`` (trainable,
    non-trainable) and ``build(input_shape)`` returning a list of nerve modules.
    """

    def __init__(self, input_shape=None, name=None):
        self.input_shape = None if input_shape is None else tuple(int(s) for s in input_shape)
        self.name = name

    @property
    def kind(self):
        return type(self).__name__

    def output_shape(self, shape):
        return shape

    def count_params(self, shape):
        return 0, 0

    def build(self, shape):
        return []

    def __repr__(self):
        return f"<{self.kind} {self.name or ''}>".replace(" >", ">")


class InputLayer(Layer):
    """The model's input: ``shape`` without the batch axis, e.g. ``(28, 28, 1)``."""

    def __init__(self, shape, name=None):
        if shape is not None and any(s is None for s in shape):  # Keras allows it; this facade builds eagerly
            raise ValueError(f"Input shape {tuple(shape)} has a None (variable) size; this facade needs every "
                             "size fixed, e.g. Input((28, 28, 1))")
        if shape is None or any(int(s) < 1 for s in shape):
            raise ValueError(f"Input needs a shape of positive sizes without the batch axis, got {shape!r}")
        super().__init__(shape, name)


def Input(shape, name=None):  # noqa: N802  (Keras's spelling)
    """Declare the input shape (without the batch axis) as the first entry of a ``Sequential``.

    Example:
        >>> from nerve import keras
        >>> keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).count_params()
        10
    """
    return InputLayer(tuple(shape), name)


class Activation(Layer):
    """An activation by name (``'relu'``, ``'softmax'``, ``'sigmoid'``, ``'tanh'`` ...)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation
        _activation_module(activation)   # reject unknown names at once

    def build(self, shape):
        return [_activation_module(self.activation)]


def _activation_module(name):
    if name is None or name == "linear":
        return None
    if name == "softmax":
        return nn.Softmax(dim=1)
    return nn.get_activation(name)


class _WithActivation(Layer):
    def _act(self):
        m = _activation_module(self.activation)
        return [] if m is None else [m]


class Dense(_WithActivation):
    """A fully connected layer: ``activation(x @ kernel + bias)`` with ``units`` outputs.

    Kernels start Glorot-uniform and biases at zero, as in Keras. The input must be flat
    ``(features,)``; put ``Flatten()`` after convolutions.
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", input_shape=None, name=None):
        super().__init__(input_shape, name)
        if not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense units must be a positive integer, got {units!r}")
        for v, what in ((kernel_initializer, "kernel_initializer"), (bias_initializer, "bias_initializer")):
            if v not in _INITIALIZERS:
                raise ValueError(f"Dense {what} must be one of {_INITIALIZERS}, got {v!r}")
        self.units, self.activation, self.use_bias = int(units), activation, bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        _activation_module(activation)

    def _check(self, shape):
        if len(shape) != 1:
            raise ValueError(f"Dense expects flat inputs (features,), got shape {shape}; add Flatten() or "
                             "GlobalAveragePooling2D() before it")

    def output_shape(self, shape):
        self._check(shape)
        return (self.units,)

    def count_params(self, shape):
        self._check(shape)
        return shape[0] * self.units + (self.units if self.use_bias else 0), 0

    def build(self, shape):
        self._check(shape)
        lin = nn.Linear(shape[0], self.units, bias=self.use_bias)
        _init(lin.weight, self.kernel_initializer, "kernel_initializer")
        if self.use_bias:
            _init(lin.bias, self.bias_initializer, "bias_initializer")
        return [lin] + self._act()


def _check_image(shape, who):
    if len(shape) != 3:
        raise ValueError(f"{who} expects images (height, width, channels), got shape {shape}")


class Conv2D(_WithActivation):
    """2-D convolution with ``filters`` output channels on channels-last images.

    ``padding='valid'`` adds nothing; ``'same'`` keeps ``ceil(size / stride)`` outputs and, like
    Keras, puts an odd extra pixel of padding at the bottom / right.
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", input_shape=None, name=None):
        super().__init__(input_shape, name)
        if not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"Conv2D filters must be a positive integer, got {filters!r}")
        if padding not in ("valid", "same"):
            raise ValueError(f"Conv2D padding must be 'valid' or 'same', got {padding!r}")
        self.filters, self.kernel_size, self.strides = int(filters), _pair(kernel_size, "kernel_size"), \
            _pair(strides, "strides")
        self.padding, self.activation, self.use_bias = padding, activation, bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        _activation_module(activation)

    def _pads(self, shape):
        """(top, bottom, left, right) padding."""
        if self.padding == "valid":
            return 0, 0, 0, 0
        out = []
        for size, k, s in zip(shape[:2], self.kernel_size, self.strides):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            out += [total // 2, total - total // 2]
        return tuple(out)

    def output_shape(self, shape):
        _check_image(shape, "Conv2D")
        t, b, lft, r = self._pads(shape)
        h = (shape[0] + t + b - self.kernel_size[0]) // self.strides[0] + 1
        w = (shape[1] + lft + r - self.kernel_size[1]) // self.strides[1] + 1
        if h < 1 or w < 1:
            raise ValueError(f"Conv2D kernel {self.kernel_size} does not fit an input of {shape[:2]}; use "
                             "padding='same' or a smaller kernel")
        return (h, w, self.filters)

    def count_params(self, shape):
        _check_image(shape, "Conv2D")
        k = self.kernel_size[0] * self.kernel_size[1] * shape[2] * self.filters
        return k + (self.filters if self.use_bias else 0), 0

    def build(self, shape):
        self.output_shape(shape)
        t, b, lft, r = self._pads(shape)
        mods = []
        if t == b and lft == r:
            pad = (t, lft)
        else:
            mods.append(nn.ZeroPad2d((lft, r, t, b)))
            pad = 0
        conv = nn.Conv2d(shape[2], self.filters, self.kernel_size, stride=self.strides, padding=pad,
                         bias=self.use_bias)
        _init(conv.weight, self.kernel_initializer, "kernel_initializer")
        if self.use_bias:
            _init(conv.bias, self.bias_initializer, "bias_initializer")
        return mods + [conv] + self._act()


class MaxPooling2D(Layer):
    """Max over ``pool_size`` windows, ``strides`` defaulting to ``pool_size``.

    ``padding='same'`` keeps ``ceil(size / stride)`` outputs, the windows at the border taking the
    max of the pixels they cover (the extra pixel, if odd, at the bottom / right, as in Keras).
    """

    _module = nn.MaxPool2d
    _paddings = ("valid", "same")

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", input_shape=None, name=None):
        super().__init__(input_shape, name)
        if padding not in self._paddings:
            raise ValueError(f"{type(self).__name__} padding must be one of {self._paddings}, got {padding!r}")
        self.pool_size = _pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _pair(strides, "strides")
        self.padding = padding

    def _pads(self, shape):
        """(top, bottom, left, right)."""
        if self.padding == "valid":
            return 0, 0, 0, 0
        out = []
        for size, k, s in zip(shape[:2], self.pool_size, self.strides):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            out += [total // 2, total - total // 2]
        return tuple(out)

    def output_shape(self, shape):
        _check_image(shape, self.kind)
        t, b, lft, r = self._pads(shape)
        h = (shape[0] + t + b - self.pool_size[0]) // self.strides[0] + 1
        w = (shape[1] + lft + r - self.pool_size[1]) // self.strides[1] + 1
        if h < 1 or w < 1:
            raise ValueError(f"{self.kind} pool {self.pool_size} does not fit an input of {shape[:2]}; "
                             "use padding='same'")
        return (h, w, shape[2])

    def build(self, shape):
        self.output_shape(shape)
        t, b, lft, r = self._pads(shape)
        pad = [nn.ConstantPad2d((lft, r, t, b), -math.inf)] if any((t, b, lft, r)) else []
        return pad + [self._module(self.pool_size, stride=self.strides)]


class AveragePooling2D(MaxPooling2D):
    """Mean over ``pool_size`` windows ('valid' padding)."""

    _module = nn.AvgPool2d
    _paddings = ("valid",)


class _ChannelsLastFlatten(nn.Module):
    """Flatten (N, C, H, W) in Keras's (H, W, C) order, so a Dense kernel lines up with Keras's."""

    def forward(self, x):
        if x.ndim == 4:
            x = x.permute(0, 2, 3, 1)
        return x.reshape(x.shape[0], -1)


class Flatten(Layer):
    """Flatten each sample to one axis, in channels-last order (as Keras lays the features out)."""

    def output_shape(self, shape):
        return (int(np.prod(shape)),)

    def build(self, shape):
        return [_ChannelsLastFlatten()]


class Dropout(Layer):
    """Zero a fraction ``rate`` of the inputs while training (scaled by 1 / (1 - rate))."""

    def __init__(self, rate, input_shape=None, name=None):
        super().__init__(input_shape, name)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must lie in [0, 1), got {rate}")
        self.rate = float(rate)

    def build(self, shape):
        return [nn.Dropout(self.rate)]


class BatchNormalization(Layer):
    """Batch normalization over the channel (last) axis.

    Keras's ``momentum=0.99`` keeps 99 % of the running statistics per step (torch's
    ``momentum=0.01``) and ``epsilon=1e-3``. Keras counts four numbers per channel: the
    trainable scale and offset, and the two running statistics as non-trainable.

    The running variance follows nerve's (PyTorch's) rule and averages the unbiased batch
    variance (× m/(m − 1) for m values per channel); Keras averages the biased one, so after
    training the two differ by that factor (1.03 for a batch of 32 flat samples).
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, input_shape=None, name=None):
        super().__init__(input_shape, name)
        if axis not in (-1,):
            raise ValueError(f"BatchNormalization normalizes the channel axis (-1) only, got axis={axis!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"BatchNormalization momentum must lie in [0, 1), got {momentum}")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)

    def count_params(self, shape):
        return 2 * shape[-1], 2 * shape[-1]

    def build(self, shape):
        cls = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
        if len(shape) not in (1, 3):
            raise ValueError(f"BatchNormalization expects (features,) or (h, w, channels), got {shape}")
        return [cls(shape[-1], eps=self.epsilon, momentum=1.0 - self.momentum)]


class GlobalAveragePooling2D(Layer):
    """The mean of each channel over height and width: ``(h, w, c) -> (c,)``."""

    def output_shape(self, shape):
        _check_image(shape, "GlobalAveragePooling2D")
        return (shape[2],)

    def build(self, shape):
        self.output_shape(shape)
        return [nn.GlobalAvgPool2d()]
