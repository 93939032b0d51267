"""The normal (Gaussian) distribution, with reparameterised sampling."""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Tensor
from .distribution import Distribution, _as_tensor, _broadcast_params, _data, _resolve_generator

__all__ = ["Normal"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class Normal(Distribution):
    """N(loc, scale²), elementwise: ``batch_shape`` is the broadcast shape of ``loc`` and ``scale``.

    log p(x) = −(x − μ)² / (2σ²) − log σ − ½ log 2π;  H = ½ + ½ log 2π + log σ.
    ``rsample`` draws ε ~ N(0, 1) and returns μ + σ·ε, so gradients reach ``loc`` and ``scale``
    (Kingma & Welling 2014).

    Args:
        loc: the mean μ (Tensor, array or number).
        scale: the standard deviation σ > 0.
        validate_args: check ``scale > 0`` (and finite parameters) at construction, and that
            ``log_prob`` values are not NaN.

    Example:
        >>> import nerve as nv
        >>> d = Normal(nv.zeros(3), nv.ones(3))
        >>> d.batch_shape, d.sample((5,)).shape
        ((3,), (5, 3))
        >>> round(float(d.log_prob(nv.zeros(3))[0]), 4)
        -0.9189
    """

    has_rsample = True
    arg_names = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=True):
        (self.loc, self.scale), shape = _broadcast_params([("loc", loc), ("scale", scale)])
        if validate_args:
            s, m = _data(self.scale), _data(self.loc)
            if not np.isfinite(m).all():
                raise ValueError("Normal: loc must be finite, got values that are NaN or infinite")
            if not (s > 0).all() or not np.isfinite(s).all():
                bad = s[~((s > 0) & np.isfinite(s))].ravel()[0]
                raise ValueError(f"Normal: scale must be positive and finite, got {float(bad)!r}; "
                                 "pass a standard deviation, e.g. exp(log_std) or softplus(raw)")
        super().__init__(shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return self.scale * self.scale

    @property
    def stddev(self) -> Tensor:
        return self.scale

    def expand(self, batch_shape) -> "Normal":
        new = self._expanded_copy(batch_shape)
        new.loc, new.scale = self.loc.expand(*new.batch_shape), self.scale.expand(*new.batch_shape)
        return new

    def rsample(self, sample_shape=(), generator=None) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = _resolve_generator(generator).standard_normal(shape).astype(self.loc.dtype, copy=False)
        return self.loc + self.scale * Tensor(eps)

    def log_prob(self, value) -> Tensor:
        value = _as_tensor(value, "value", self.loc.dtype)
        if self._validate_args:
            self._check_value_shape(value)
            if np.isnan(_data(value)).any():
                raise ValueError("Normal.log_prob got a NaN value; the support is the real line (pass "
                                 "validate_args=False to get NaN back instead)")
        var = self.scale * self.scale
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - _HALF_LOG_2PI

    def entropy(self) -> Tensor:
        return 0.5 + _HALF_LOG_2PI + self.scale.log()
