"""The normal (Gaussian) distribution, with reparameterised sampling."""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..autograd import Tensor, no_grad
from .distribution import Distribution, _as_tensor, _broadcast_params, _data, _resolve_generator

__all__ = ["Normal"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_SQRT2 = math.sqrt(2.0)


def _erfc(x):
    with no_grad():
        return _data(F.erfc(Tensor(x)))


def _ndtri(p):
    """Φ⁻¹(p) of the standard normal in float64 (no graph): Newton's method on
    log Φ(z) = log q for the lower-tail probability q = min(p, 1 − p). log Φ is concave and
    increasing, so the iteration converges from any start, without loss in the far tail."""
    p = np.asarray(p, dtype=np.float64)
    q = np.minimum(p, 1.0 - p)                 # 1 − p is exact for p ≥ ½
    inside = (q > 0) & (q < 0.5)
    qs = np.where(inside, q, 0.25)
    logq = np.log(qs)
    z = -np.sqrt(-2.0 * logq)                  # the tail asymptote: a start left of the root
    for _ in range(50):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            cdf = 0.5 * _erfc(-z / _SQRT2)
            log_cdf, mills = np.log(cdf), cdf / np.exp(-0.5 * z * z - _HALF_LOG_2PI)
            # below −30σ (q < 5e-198) Φ nears the subnormals: use the asymptotic series
            # Φ(z) = φ(z)/(−z)·(1 − 1/z² + 3/z⁴ − 15/z⁶ + 105/z⁸ − 945/z¹⁰ …), exact to ~1e-14 there
            far = z < -30
            r = 1.0 / np.where(far, z * z, 900.0)
            series = 1 - r * (1 - 3 * r * (1 - 5 * r * (1 - 7 * r * (1 - 9 * r))))
            zn = np.where(far, -z, 30.0)
            log_cdf = np.where(far, -0.5 * zn * zn - np.log(zn) - _HALF_LOG_2PI + np.log(series), log_cdf)
            mills = np.where(far, series / zn, mills)
        step = (log_cdf - logq) * mills
        z = z - step
        if np.all(np.abs(step) <= 1e-15 * np.maximum(1.0, np.abs(z))):
            break
    z = np.where(inside, z, np.where(q == 0, -np.inf, 0.0))
    z = np.where(p > 0.5, -z, z)
    return np.where((p >= 0) & (p <= 1), z, np.nan)


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
            self._check_value(value, "log_prob")
        # NOTE: torch divides by 2σ², which underflows for σ below ~1e-19 in float32 (1e-23 gives
        # 0/0 = NaN at the mean, and the gradient in σ overflows sooner); the standardised
        # z = (x − μ)/σ keeps both finite wherever the answer is.
        z = (value - self.loc) / self.scale
        return -0.5 * (z * z) - self.scale.log() - _HALF_LOG_2PI

    def _check_value(self, value, method):
        self._check_value_shape(value)
        if np.isnan(_data(value)).any():
            raise ValueError(f"Normal.{method} got a NaN value; the support is the real line (pass "
                             "validate_args=False to get NaN back instead)")

    def cdf(self, value) -> Tensor:
        """P(X ≤ value) = ½·erfc(−(value − μ) / (σ√2)), differentiable in value, μ and σ."""
        value = _as_tensor(value, "value", self.loc.dtype)
        if self._validate_args:
            self._check_value(value, "cdf")
        # NOTE: torch writes ½(1 + erf(·)), which cancels to 0 below about −8σ (float64); the
        # erfc form is the same number elsewhere and keeps the lower tail (Φ(−10) = 7.6e-24).
        return 0.5 * F.erfc((self.loc - value) / (self.scale * _SQRT2))

    def icdf(self, value) -> Tensor:
        """The quantile μ + σ·Φ⁻¹(value) for value in [0, 1] (±inf at 0 and 1, NaN outside, as
        torch), differentiable in value (dz/dp = 1/φ(z)), μ and σ.

        NOTE: torch computes Φ⁻¹(p) as √2·erfinv(2p − 1), which returns −inf for every
        p < 1.1e-16 (2p − 1 rounds to −1); this stays accurate down to the smallest p.
        """
        value = _as_tensor(value, "value", self.loc.dtype)
        if self._validate_args:
            self._check_value_shape(value)
        p = _data(value)
        z = _ndtri(p)
        # z + (p − p)/φ(z) in Tensor ops: the value is z exactly, and the gradient with respect
        # to p is 1/φ(z), the derivative of the quantile (capped at the dtype's largest number
        # where it overflows, beyond 37σ in float64, and 0 at p = 0 or 1)
        dt = self.loc.dtype
        finite = np.isfinite(z)
        zf = np.where(finite, z, 0.0)
        with np.errstate(over="ignore"):
            inv_pdf = np.where(finite, np.minimum(np.exp(0.5 * zf * zf + _HALF_LOG_2PI), np.finfo(dt).max), 0.0)
        zt = Tensor(z.astype(dt)) + (value - Tensor(p)) * Tensor(inv_pdf.astype(dt))
        return self.loc + self.scale * zt

    def entropy(self) -> Tensor:
        return 0.5 + _HALF_LOG_2PI + self.scale.log()
