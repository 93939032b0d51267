"""Dropout layers, twins of ``nerve.functional.dropout``: ``Dropout``, ``Dropout1d``,
``Dropout2d`` and ``DropConnectLinear``.

All of them act only in training mode (``module.train()``); after ``module.eval()`` they
are exactly the identity (DropConnectLinear: a plain linear layer).
"""
from __future__ import annotations

from . import functional as F
from .linear import Linear
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "DropConnectLinear"]


class _DropoutBase(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be a probability in [0, 1], got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self):
        return f"p={self.p}"


class Dropout(_DropoutBase):
    """Inverted dropout (Srivastava et al. 2014): ``F.dropout``.

    Training: each element is zeroed with probability p and survivors are scaled by
    1/(1 − p), so the expected output equals the input. Evaluation: the identity.

    Example:
        >>> import nerve as nv
        >>> drop = nv.nn.Dropout(0.5)
        >>> x = nv.ones(3)
        >>> drop.eval()(x) is x
        True
    """

    def forward(self, input):  # noqa: A002
        return F.dropout(input, self.p, self.training)


class Dropout2d(_DropoutBase):
    """Channel dropout for (N, C, H, W) maps: whole channels are zeroed with probability p
    (survivors scaled by 1/(1 − p)); ``F.dropout2d``.

    Example:
        >>> import nerve as nv
        >>> nv.nn.Dropout2d(0.2)(nv.ones(2, 4, 3, 3)).shape
        (2, 4, 3, 3)
    """

    def forward(self, input):  # noqa: A002
        return F.dropout2d(input, self.p, self.training)


class Dropout1d(_DropoutBase):
    """Channel dropout for (N, C, L) sequences; ``F.dropout1d``."""

    def forward(self, input):  # noqa: A002
        return F.dropout1d(input, self.p, self.training)


class DropConnectLinear(Linear):
    """A Linear layer with DropConnect (Wan et al. 2013): ``F.dropconnect_linear``.

    Training: every forward draws a Bernoulli(1 − p) mask over the *weights* and uses
    W ⊙ M / (1 − p); dropped weights receive a zero gradient. Evaluation: the plain layer
    y = x Wᵀ + b, which is the expectation of the training output. Initialization as
    :class:`Linear`.

    Example:
        >>> import nerve as nv
        >>> layer = nv.nn.DropConnectLinear(8, 4, p=0.3)
        >>> layer(nv.ones(2, 8)).shape
        (2, 4)
    """

    def __init__(self, in_features, out_features, p=0.5, bias=True, device=None, dtype=None):
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"DropConnectLinear: p must be a probability in [0, 1], got {p}")
        super().__init__(in_features, out_features, bias, device, dtype)
        self.p = p

    def forward(self, input):  # noqa: A002
        try:
            return F.dropconnect_linear(input, self.weight, self.bias, self.p, self.training)
        except RuntimeError as e:
            raise RuntimeError(self._explain(input, e)) from e

    def extra_repr(self):
        return super().extra_repr() + f", p={self.p}"
