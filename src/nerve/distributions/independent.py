"""``Independent``: read some batch axes of a distribution as one event (a product density)."""
from __future__ import annotations

from ..autograd import Tensor
from .distribution import Distribution

__all__ = ["Independent"]


def _sum_rightmost(t: Tensor, n: int) -> Tensor:
    return t.sum(tuple(range(-n, 0))) if n else t


class Independent(Distribution):
    """The product over the rightmost ``reinterpreted_batch_ndims`` batch axes of ``base``.

    ``Independent(Normal(mu, sigma), 1)`` with ``mu`` of shape (N, D) is N diagonal Gaussians
    in D dimensions: ``batch_shape`` (N,), ``event_shape`` (D,), and ``log_prob``/``entropy``
    sum the D coordinates'. ``kl_divergence`` between two such sums the KL the same way.

    Example:
        >>> import nerve as nv
        >>> from nerve.distributions import Normal
        >>> d = Independent(Normal(nv.zeros(4, 2), nv.ones(4, 2)), 1)
        >>> d.batch_shape, d.event_shape, d.log_prob(nv.zeros(4, 2)).shape
        ((4,), (2,), (4,))
    """

    def __init__(self, base_distribution, reinterpreted_batch_ndims: int, validate_args=None):
        if not isinstance(base_distribution, Distribution):
            raise TypeError(f"Independent wraps a Distribution, got {type(base_distribution).__name__}")
        n = reinterpreted_batch_ndims
        batch = base_distribution.batch_shape
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= len(batch):
            raise ValueError(f"reinterpreted_batch_ndims must be an integer from 0 to {len(batch)} (the base's "
                             f"batch_shape is {batch}), got {n!r}")
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = n
        cut = len(batch) - n
        validate = base_distribution._validate_args if validate_args is None else validate_args
        super().__init__(batch[:cut], batch[cut:] + base_distribution.event_shape, validate)

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def mean(self) -> Tensor:
        return self.base_dist.mean

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance

    def expand(self, batch_shape) -> "Independent":
        new = self._expanded_copy(batch_shape)
        n = self.reinterpreted_batch_ndims
        new.base_dist = self.base_dist.expand(new.batch_shape + self.event_shape[:n])
        return new

    def sample(self, sample_shape=(), generator=None) -> Tensor:
        return self.base_dist.sample(sample_shape, generator=generator)

    def rsample(self, sample_shape=(), generator=None) -> Tensor:
        return self.base_dist.rsample(sample_shape, generator=generator)

    def log_prob(self, value) -> Tensor:
        return _sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self) -> Tensor:
        return _sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self):
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
