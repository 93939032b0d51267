"""The categorical distribution over K classes, from probabilities or from logits."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..autograd import Tensor
from .bernoulli import probs_to_logits
from .distribution import Distribution, _as_tensor, _data, _resolve_generator

__all__ = ["Categorical"]


class Categorical(Distribution):
    """One of K classes, P(x = k) = p_k; the last axis of ``probs``/``logits`` holds the K classes.

    ``probs`` are normalised to sum to 1 and ``logits`` are shifted to log-probabilities
    (ℓ − logsumexp ℓ), as in torch. log p(k) = ℓ_k;  H = −Σ p_k ℓ_k. ``batch_shape`` is the
    shape without the last axis; one draw is an integer class index (``event_shape`` ``()``).
    ``mean`` and ``variance`` are NaN (class indices are labels, not quantities), as in torch.

    Example:
        >>> import nerve as nv
        >>> d = Categorical(probs=nv.tensor([0.25, 0.25, 0.5]))
        >>> round(float(d.entropy()), 4), float(d.log_prob(2).exp())
        (1.0397, 0.5)
    """

    arg_names = ("probs",)

    def __init__(self, probs=None, logits=None, validate_args=True):
        if (probs is None) == (logits is None):
            raise ValueError("Categorical takes exactly one of probs or logits, e.g. Categorical(logits=scores)")
        name, given = ("probs", probs) if probs is not None else ("logits", logits)
        t = _as_tensor(given, name)
        if t.ndim < 1 or t.shape[-1] < 1:
            raise ValueError(f"Categorical: {name} needs a last axis of at least one class, got shape "
                             f"{tuple(t.shape)}")
        if probs is not None:
            if validate_args:
                p = _data(t)
                if not ((p >= 0).all() and np.isfinite(p).all()) or not (p.sum(-1) > 0).all():
                    raise ValueError("Categorical: probs must be non-negative and finite with a positive sum "
                                     "over the last axis; pass raw scores as logits= instead")
            self.probs = t / t.sum(-1, keepdim=True)
            self.logits = probs_to_logits(self.probs)
        else:
            if validate_args and np.isnan(_data(t)).any():
                raise ValueError("Categorical: logits hold NaN")
            self.logits = t - F.logsumexp(t, -1, keepdim=True)
            if validate_args and np.isnan(_data(self.logits)).any():
                # +inf logits or a row of only −inf have no normalised form (torch rejects them too)
                raise ValueError("Categorical: logits must not be +inf, and each row needs at least one "
                                 "finite logit; clip the scores before passing them")
            self.probs = F.softmax(t, -1)
        self.num_classes = int(t.shape[-1])
        super().__init__(tuple(t.shape[:-1]), (), validate_args)

    @property
    def mean(self) -> Tensor:
        return Tensor(np.full(self.batch_shape, np.nan, dtype=self.probs.dtype))

    @property
    def variance(self) -> Tensor:
        return Tensor(np.full(self.batch_shape, np.nan, dtype=self.probs.dtype))

    def expand(self, batch_shape) -> "Categorical":
        new = self._expanded_copy(batch_shape)
        shape = new.batch_shape + (self.num_classes,)
        new.probs, new.logits = self.probs.expand(*shape), self.logits.expand(*shape)
        return new

    def sample(self, sample_shape=(), generator=None) -> Tensor:
        shape = self._extended_shape(sample_shape)
        cdf = np.cumsum(_data(self.probs), axis=-1)          # (*batch, K)
        cdf = cdf / cdf[..., -1:]                              # exact 1 at the end
        u = _resolve_generator(generator).random(shape + (1,))
        # the class is the number of cumulative probabilities the uniform draw exceeds
        idx = (u >= cdf).sum(-1)
        return Tensor(np.minimum(idx, self.num_classes - 1).astype(np.int64))

    def log_prob(self, value) -> Tensor:
        v = _data(value) if isinstance(value, Tensor) else np.asarray(value)
        if self._validate_args:
            if v.dtype.kind not in "biuf" or (v.dtype.kind == "f" and not (v == np.round(v)).all()):
                raise ValueError(f"Categorical.log_prob takes integer class indices, got {v.dtype} values")
            if v.size and (v.min() < 0 or v.max() >= self.num_classes):
                bad = v[(v < 0) | (v >= self.num_classes)].ravel()[0]
                raise ValueError(f"Categorical.log_prob: class index {bad} is outside 0..{self.num_classes - 1}")
            self._check_value_shape(Tensor(v))
        idx = v.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_classes):
            # checked even without validation: a negative index must not wrap round to a class
            bad = idx[(idx < 0) | (idx >= self.num_classes)].ravel()[0]
            raise IndexError(f"Categorical.log_prob: class index {bad} is outside 0..{self.num_classes - 1}")
        # pick ℓ_k itself (as torch's gather); a one-hot product would turn a −inf logit of another
        # class into 0·(−inf) = NaN
        shape = np.broadcast_shapes(idx.shape, self.batch_shape)
        logits = self.logits.expand(*shape, self.num_classes)
        return F.gather(logits, -1, np.broadcast_to(idx, shape)[..., None].copy()).squeeze(-1)

    def entropy(self) -> Tensor:
        # NOTE: a class with probability 0 has logit −inf; clamp it so that 0·ℓ is 0, not NaN.
        logits = F.clamp(self.logits, min=float(np.finfo(self.logits.dtype).min))
        return -(self.probs * logits).sum(-1)
