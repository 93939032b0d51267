"""The Bernoulli distribution, from probabilities or from logits."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..autograd import Tensor
from .distribution import Distribution, _as_tensor, _broadcast_params, _data, _resolve_generator

__all__ = ["Bernoulli", "probs_to_logits"]


def probs_to_logits(probs, binary: bool = False) -> Tensor:
    """log-odds of ``probs`` (``binary``) or their logs, with probabilities kept inside
    [eps, 1 − eps] so that 0 and 1 give large finite numbers instead of ±inf (as torch does)."""
    eps = float(np.finfo(probs.dtype).eps)
    p = F.clamp(probs, min=eps, max=1 - eps)
    return (p.log() - (-p).log1p()) if binary else p.log()


def _bce_with_logits(logits, target):
    # t·softplus(−ℓ) + (1 − t)·softplus(ℓ): equal to softplus(ℓ) − t·ℓ, without its cancellation
    loss = target * F.softplus(-logits) + (1 - target) * F.softplus(logits)
    # NOTE: at ℓ = ±inf the outcome is certain, and the term for the other outcome is 0·inf = NaN.
    # Its true value is 0 (log p(1 | ℓ = +inf) = 0, entropy 0), so set it; torch returns NaN
    # there, which we take to be a defect rather than a convention.
    ell, t = np.broadcast_arrays(_data(logits), _data(target))
    certain = ((ell == np.inf) & (t == 1)) | ((ell == -np.inf) & (t == 0))
    if certain.any():
        loss = F.where(Tensor(certain), Tensor(np.zeros((), dtype=loss.dtype)), loss)
    return loss


class Bernoulli(Distribution):
    """A coin with P(x = 1) = p, elementwise; give exactly one of ``probs`` or ``logits``.

    With logits ℓ (p = σ(ℓ)): log p(x) = x·ℓ − softplus(ℓ) (computed without cancellation, so
    ℓ of any size is fine); H = softplus(ℓ) − p·ℓ. Draws are discrete, so there is ``sample`` but no ``rsample``.
    With ``probs`` the logits are log p − log(1 − p), p clipped to [eps, 1 − eps].

    Args:
        probs: probabilities in [0, 1].
        logits: real log-odds.
        validate_args: check the parameters, and that ``log_prob`` values are 0 or 1.

    Example:
        >>> import nerve as nv
        >>> d = Bernoulli(logits=nv.tensor([0.0, 2.0]))
        >>> [round(v, 4) for v in d.log_prob(nv.tensor([1.0, 0.0])).tolist()]
        [-0.6931, -2.1269]
    """

    arg_names = ("probs",)

    def __init__(self, probs=None, logits=None, validate_args=True):
        if (probs is None) == (logits is None):
            raise ValueError("Bernoulli takes exactly one of probs or logits, e.g. Bernoulli(logits=scores)")
        if probs is not None:
            (self.probs,), shape = _broadcast_params([("probs", probs)])
            if validate_args:
                p = _data(self.probs)
                if not ((p >= 0) & (p <= 1)).all():
                    bad = p[~((p >= 0) & (p <= 1))].ravel()[0]
                    raise ValueError(f"Bernoulli: probs must lie in [0, 1], got {float(bad)!r}; "
                                     "pass raw scores as logits= instead")
            self.logits = probs_to_logits(self.probs, binary=True)
        else:
            (self.logits,), shape = _broadcast_params([("logits", logits)])
            if validate_args and np.isnan(_data(self.logits)).any():
                raise ValueError("Bernoulli: logits hold NaN")
            self.probs = F.sigmoid(self.logits)
        super().__init__(shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def expand(self, batch_shape) -> "Bernoulli":
        new = self._expanded_copy(batch_shape)
        new.probs, new.logits = self.probs.expand(*new.batch_shape), self.logits.expand(*new.batch_shape)
        return new

    def sample(self, sample_shape=(), generator=None) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = _resolve_generator(generator).random(shape)
        return Tensor((u < _data(self.probs)).astype(self.probs.dtype))

    def log_prob(self, value) -> Tensor:
        value = _as_tensor(value, "value", self.logits.dtype)
        if self._validate_args:
            self._check_value_shape(value)
            v = _data(value)
            if not ((v == 0) | (v == 1)).all():
                bad = v[~((v == 0) | (v == 1))].ravel()[0]
                raise ValueError(f"Bernoulli.log_prob takes values 0 or 1, got {float(bad)!r}; for "
                                 "intensities in [0, 1] pass validate_args=False (continuous relaxation)")
        return -_bce_with_logits(self.logits, value)

    def entropy(self) -> Tensor:
        return _bce_with_logits(self.logits, self.probs)
