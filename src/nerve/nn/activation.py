"""Activation layers: module twins of the functions in ``nerve.functional.activation``.

Each class stores its settings and calls ``F.<name>`` in ``forward``; the function's
docstring has the formula and the derivative convention at the kinks. ``inplace=`` is
accepted for PyTorch compatibility, but nerve always computes out of place (an in-place
write would corrupt arrays the graph saved for backward).

``get_activation("relu")`` builds a layer from a name; this is what ``activation="relu"``
arguments (``models.mlp``, the Keras facade) resolve through.
"""
from __future__ import annotations

import copy
import warnings

from ..creation import full
from ..autograd.tensor import get_default_dtype
from . import functional as F
from .linear import Identity
from .module import Module
from .parameter import Parameter

__all__ = ["ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "SiLU", "Sigmoid",
           "Tanh", "Softplus", "Softsign", "Hardtanh", "Softmax", "LogSoftmax",
           "get_activation", "register_activation", "available_activations"]


class _Activation(Module):
    """Shared repr for activations: torch shows ``inplace=True`` only when set."""

    inplace = False

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_Activation):
    """max(0, x); see ``F.relu`` (gradient 0 at exactly 0, as in PyTorch).

    Example:
        >>> import nerve as nv
        >>> nv.nn.ReLU()(nv.tensor([-1.0, 0.0, 2.0])).tolist()
        [0.0, 0.0, 2.0]
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return F.relu(input)


class ReLU6(_Activation):
    """min(max(0, x), 6); see ``F.relu6``."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return F.relu6(input)


class LeakyReLU(_Activation):
    """x for x > 0, negative_slope·x otherwise; see ``F.leaky_relu``.

    Args:
        negative_slope: the slope α on the negative side (default 0.01).
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """Leaky ReLU whose negative slope a is learned; see ``F.prelu``.

    f(x) = x for x > 0, a·x otherwise, with ∂f/∂a = x on the negative side.

    Args:
        num_parameters: 1 (one a shared by all channels) or the number of channels
            (dimension 1 of the input).
        init: the starting value of a (default 0.25).

    Example:
        >>> import nerve as nv
        >>> act = nv.nn.PReLU()
        >>> act(nv.tensor([-2.0, 3.0])).tolist()
        [-0.5, 3.0]
    """

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        if not isinstance(num_parameters, int) or num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be a positive integer, got {num_parameters!r}")
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(full((num_parameters,), float(init), dtype=dtype or get_default_dtype(),
                                     device=device))

    def reset_parameters(self):
        self.weight._data[...] = self.init

    def forward(self, input):  # noqa: A002
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class ELU(_Activation):
    """x for x > 0, alpha·(eˣ − 1) otherwise; see ``F.elu``."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SELU(_Activation):
    """scale·ELU(x, α) with Klambauer et al.'s constants (self-normalizing); see ``F.selu``."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return F.selu(input)


class GELU(Module):
    """x·Φ(x), exact (``approximate='none'``) or the tanh approximation; see ``F.gelu``."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):  # noqa: A002
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(_Activation):
    """x·σ(x), also called swish; see ``F.silu``."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return F.silu(input)


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e⁻ˣ), stable in both tails; see ``F.sigmoid``."""

    def forward(self, input):  # noqa: A002
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x), with tanh′ = 1 − tanh²; see ``F.tanh``."""

    def forward(self, input):  # noqa: A002
        return F.tanh(input)


class Softplus(Module):
    """(1/β)·log(1 + e^(βx)), linear where βx > threshold; see ``F.softplus``."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):  # noqa: A002
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Module):
    """x / (1 + |x|); see ``F.softsign``."""

    def forward(self, input):  # noqa: A002
        return F.softsign(input)


class Hardtanh(_Activation):
    """clamp(x, min_val, max_val); see ``F.hardtanh``."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if max_val <= min_val:
            raise ValueError(f"Hardtanh needs min_val < max_val, got {min_val} and {max_val}")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


def _implicit_dim(ndim, name):
    # PyTorch's legacy rule when dim is not given; always better to pass dim explicitly.
    warnings.warn(f"{name} was built without dim; pass dim explicitly (e.g. {name}(dim=1) for "
                  "(N, C) logits). Using PyTorch's legacy choice.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """exp(xᵢ) / Σⱼ exp(xⱼ) along ``dim``; see ``F.softmax``.

    Args:
        dim: the dimension that sums to 1 (for (N, C) logits, dim=1 or -1).

    Example:
        >>> import nerve as nv
        >>> p = nv.nn.Softmax(dim=1)(nv.zeros(2, 4))
        >>> p.tolist()[0]
        [0.25, 0.25, 0.25, 0.25]
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        dim = self.dim if self.dim is not None else _implicit_dim(input.ndim, "Softmax")
        return F.softmax(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim``, computed stably; see ``F.log_softmax``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        dim = self.dim if self.dim is not None else _implicit_dim(input.ndim, "LogSoftmax")
        return F.log_softmax(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


# ------------------------------------------------------------------- registry
_REGISTRY = {
    "relu": ReLU, "relu6": ReLU6, "leaky_relu": LeakyReLU, "prelu": PReLU, "elu": ELU,
    "selu": SELU, "gelu": GELU, "silu": SiLU, "swish": SiLU, "sigmoid": Sigmoid, "tanh": Tanh,
    "softplus": Softplus, "softsign": Softsign, "hardtanh": Hardtanh,
    "softmax": lambda **kw: Softmax(**{"dim": -1, **kw}),
    "log_softmax": lambda **kw: LogSoftmax(**{"dim": -1, **kw}),
    "identity": Identity, "linear": Identity,
}


def _key(name):
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def register_activation(name, factory):
    """Make ``get_activation(name)`` build ``factory(**kwargs)`` (a Module class or function)."""
    _REGISTRY[_key(name)] = factory
    return factory


def available_activations():
    """The names ``get_activation`` accepts, sorted."""
    return sorted(_REGISTRY)


def get_activation(activation, **kwargs):
    """Build an activation layer from a name, a class or an instance.

    Args:
        activation: a name (``'relu'``, ``'leaky_relu'``, ``'sigmoid'``, ``'tanh'``,
            ``'gelu'``, ``'silu'``, ``'elu'``, ``'selu'``, ``'softplus'``,
            ``'identity'``/``'linear'`` ..., case and dashes ignored), None (identity), a
            Module class (instantiated with ``kwargs``) or a Module instance (a deep
            copy is returned, so learnable activations such as PReLU are not shared).
        **kwargs: settings for the layer (``negative_slope=0.2``).

    Example:
        >>> from nerve import nn
        >>> nn.get_activation("leaky_relu", negative_slope=0.2)
        LeakyReLU(negative_slope=0.2)
    """
    if activation is None:
        return Identity()
    if isinstance(activation, Module):
        return copy.deepcopy(activation)
    if isinstance(activation, type) and issubclass(activation, Module):
        return activation(**kwargs)
    if isinstance(activation, str):
        factory = _REGISTRY.get(_key(activation))
        if factory is None:
            raise ValueError(f"unknown activation {activation!r}; valid names are "
                             f"{', '.join(available_activations())} (or pass a Module)")
        return factory(**kwargs)
    raise TypeError(f"activation must be a name, None, a Module class or a Module instance, got "
                    f"{type(activation).__name__}")
