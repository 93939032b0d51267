"""The ``Distribution`` base class: shapes, argument handling and the shared sampling API.

A distribution has a ``batch_shape`` (independent, differently parameterised copies) and an
``event_shape`` (the shape of one draw). ``sample(sample_shape)`` returns a Tensor of shape
``sample_shape + batch_shape + event_shape`` cut from the graph; ``rsample`` returns the same
draw as a differentiable function of the parameters (the reparameterisation trick), for the
distributions that allow it. Random draws use nerve's global generator (``nerve.manual_seed``)
or the ``generator=`` passed to ``sample``/``rsample``.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Tensor, get_default_dtype, no_grad
from ..random import resolve as _resolve_generator

__all__ = ["Distribution"]


def _as_tensor(value, name, dtype=None):
    """A parameter as a floating Tensor (numbers and arrays are wrapped; graphs are kept)."""
    if isinstance(value, Tensor):
        if value.dtype.kind != "f":
            raise TypeError(f"{name} must be a floating-point Tensor, got dtype {value.dtype}")
        return value
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.ndarray, list, tuple)):
        raise TypeError(f"{name} must be a Tensor, an array or a number, got {type(value).__name__}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if dtype is None:
        # NumPy float arrays keep their precision; Python numbers and integers take the default
        dtype = arr.dtype if isinstance(value, np.ndarray) and arr.dtype.kind == "f" else _default_dtype()
    return Tensor(np.asarray(arr, dtype=dtype))


def _default_dtype():
    return np.dtype(get_default_dtype())


def _broadcast_params(names_values):
    """Tensors broadcast to one shape; plain numbers take the dtype of a Tensor (or a NumPy
    float array) among them, so a float64 loc does not get a float32 scale."""
    dtype = next((v.dtype for _, v in names_values if isinstance(v, Tensor)), None)
    if dtype is None:
        dtype = next((v.dtype for _, v in names_values if isinstance(v, np.ndarray) and v.dtype.kind == "f"), None)
    tensors = [_as_tensor(v, n, dtype) for n, v in names_values]
    try:
        shape = np.broadcast_shapes(*(tuple(t.shape) for t in tensors))
    except ValueError:
        shapes = ", ".join(f"{n} {tuple(t.shape)}" for (n, _), t in zip(names_values, tensors))
        raise ValueError(f"the parameters do not broadcast to one shape: {shapes}") from None
    return [t if tuple(t.shape) == shape else t.expand(*shape) for t in tensors], shape


def _data(t):
    return t._data if isinstance(t, Tensor) else np.asarray(t)


def _sample_shape(sample_shape, name="sample_shape"):
    if isinstance(sample_shape, (int, np.integer)) and not isinstance(sample_shape, bool):
        sample_shape = (int(sample_shape),)
    try:
        entries = list(sample_shape)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of non-negative integers, got {sample_shape!r}") from None
    # int() would cut (2.7,) down to (2,) without a word; torch raises for a float entry too
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in entries):
        raise TypeError(f"{name} must be a tuple of non-negative integers, got {sample_shape!r}")
    shape = tuple(int(s) for s in entries)
    if any(s < 0 for s in shape):
        raise ValueError(f"{name} must be a tuple of non-negative integers, got {sample_shape!r}")
    return shape


class Distribution:
    """Base class of the probability distributions (``torch.distributions.Distribution``'s API).

    Subclasses set ``batch_shape``/``event_shape`` and implement ``log_prob``, ``entropy``,
    ``mean``, ``variance`` and ``sample`` (and ``rsample`` when ``has_rsample``).
    """

    has_rsample = False
    arg_names = ()

    def __init__(self, batch_shape=(), event_shape=(), validate_args=True):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        self._validate_args = bool(validate_args)

    @property
    def batch_shape(self) -> tuple:
        """The shape of independent copies, e.g. ``(N, D)`` for a ``Normal`` with ``(N, D)`` loc."""
        return self._batch_shape

    @property
    def event_shape(self) -> tuple:
        """The shape of a single draw (``()`` for scalar distributions)."""
        return self._event_shape

    def expand(self, batch_shape) -> "Distribution":
        """A new distribution of the same kind with its parameters broadcast to ``batch_shape``
        (views, no copies; gradients flow back to the original parameters), as torch's ``expand``.

        ``batch_shape`` must be a shape the current ``batch_shape`` broadcasts to, e.g. (2, 3, 4)
        from (3, 1); the ``event_shape`` stays as it is.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement expand")

    def _expanded_copy(self, batch_shape):
        """A shallow copy with ``batch_shape`` set, after checking it is a valid expansion."""
        shape = _sample_shape(batch_shape, f"{type(self).__name__}.expand: batch_shape")
        try:
            ok = np.broadcast_shapes(self._batch_shape, shape) == shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{type(self).__name__}.expand: batch_shape {self._batch_shape} cannot be expanded "
                             f"to {shape}; only axes of size 1 can grow and new axes go on the left")
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._batch_shape = shape
        return new

    def _extended_shape(self, sample_shape=()):
        return _sample_shape(sample_shape) + self._batch_shape + self._event_shape

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not define its mean")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not define its variance")

    @property
    def stddev(self) -> Tensor:
        """The square root of the variance."""
        return self.variance.sqrt()

    def sample(self, sample_shape=(), generator=None) -> Tensor:
        """A draw of shape ``sample_shape + batch_shape + event_shape``, outside the graph."""
        with no_grad():
            return self.rsample(sample_shape, generator=generator).detach()

    def rsample(self, sample_shape=(), generator=None) -> Tensor:
        """A reparameterised draw: differentiable with respect to the parameters."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement rsample: its draws are discrete (or not "
            "reparameterisable), so no gradient flows through them; use sample() and a score-function "
            "estimator (log_prob) instead")

    def log_prob(self, value) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not define log_prob")

    def cdf(self, value) -> Tensor:
        """P(X ≤ value), for the distributions that define it (``Normal``)."""
        raise NotImplementedError(f"{type(self).__name__} does not define cdf")

    def icdf(self, value) -> Tensor:
        """The inverse of ``cdf``: the value below which a fraction ``value`` of the mass lies."""
        raise NotImplementedError(f"{type(self).__name__} does not define icdf")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not define entropy")

    def _check_value_shape(self, value):
        """``value`` must broadcast with ``batch_shape + event_shape``."""
        shape = tuple(value.shape)
        full = self._batch_shape + self._event_shape
        try:
            np.broadcast_shapes(shape, full)
        except ValueError:
            raise ValueError(f"{type(self).__name__}.log_prob got a value of shape {shape}, which does "
                             f"not broadcast with batch_shape + event_shape {full}") from None

    def __repr__(self):
        parts = []
        for name in self.arg_names:
            v = getattr(self, name, None)
            if isinstance(v, Tensor):
                parts.append(f"{name}: {v.item() if v.numel() == 1 else f'size {tuple(v.shape)}'}")
        return f"{type(self).__name__}({', '.join(parts)})"
