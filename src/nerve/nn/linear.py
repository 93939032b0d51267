"""Dense layers: ``Linear`` (y = x Wᵀ + b) and ``Identity``."""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd.tensor import get_default_dtype
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Identity", "Linear"]


class Identity(Module):
    """Returns its input unchanged; accepts and ignores any constructor arguments.

    Use it as the "linear" activation, or to switch a layer off without changing the
    model's structure (A22: two Linear layers with an Identity between them collapse to
    one Linear with W = W₂W₁ and b = W₂b₁ + b₂).
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):  # noqa: A002
        return input


def _empty(shape, dtype, device):
    arr = np.empty(shape, dtype=np.dtype(dtype) if dtype is not None else get_default_dtype())
    return backend.to_device(arr, device) if device is not None else arr


class Linear(Module):
    """A fully connected (dense) layer: y = x Wᵀ + b, computed by ``F.linear``.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample (the number of neurons).
        bias: learn an additive bias b (default True).
        device, dtype: where and in what precision to create the parameters
            (default: CPU, float32).
        weight_init, bias_init: optional overrides of the default init: a name
            (``'xavier_uniform'``, ``'he_normal'``, ``'zeros'`` ...), a number (constant)
            or a function of the tensor; see ``nn.init.get_initializer``.

    Attributes:
        weight: (out_features, in_features), initialized U(−k, k) with k = 1/√in_features
            (``kaiming_uniform_(a=√5)``, as in PyTorch).
        bias: (out_features,), U(−k, k), or None when ``bias=False``.

    Shapes: input (*, in_features) → output (*, out_features).

    Parameters: in_features·out_features + out_features (784×16 + 16 = 12,560).

    Example:
        >>> import nerve as nv
        >>> layer = nv.nn.Linear(784, 16)
        >>> layer(nv.zeros(32, 784)).shape
        (32, 16)
        >>> layer.weight.shape, layer.bias.shape
        ((16, 784), (16,))
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None,
                 weight_init=None, bias_init=None):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
                raise ValueError(f"Linear: {name} must be a non-negative integer, got {v!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(_empty((self.out_features, self.in_features), dtype, device))
        if bias:
            self.bias = Parameter(_empty((self.out_features,), dtype, device))
        else:
            self.register_parameter("bias", None)
        self._weight_init = weight_init
        self._bias_init = bias_init
        self.reset_parameters()

    def reset_parameters(self):
        """Re-draw the parameters with the default (or the constructor's) initializers."""
        if self._weight_init is None:
            # a = √5 gives gain √(1/3), so the bound is √3·√(1/3)/√fan_in = 1/√fan_in.
            init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        else:
            init.get_initializer(self._weight_init)(self.weight)
        if self.bias is not None:
            if self._bias_init is None:
                bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
                init.uniform_(self.bias, -bound, bound)
            else:
                init.get_initializer(self._bias_init)(self.bias)

    def forward(self, input):  # noqa: A002
        try:
            return F.linear(input, self.weight, self.bias)
        except RuntimeError as e:
            raise RuntimeError(self._explain(input, e)) from e

    def _explain(self, x, err):
        """Rewrite F.linear's error so it names this layer and the likely fix."""
        shape = tuple(getattr(x, "shape", ()))
        head = f"Linear({self.in_features}→{self.out_features}) got input of shape {shape}"
        if not shape or shape[-1] != self.in_features:
            trailing = 1
            for s in shape[1:]:
                trailing *= s
            if len(shape) > 2 and trailing == self.in_features:
                return (f"{head}; did you forget Flatten()? It expects (N, {self.in_features}): "
                        f"put nn.Flatten() before this layer to turn {shape} into "
                        f"({shape[0]}, {trailing}).")
            got = shape[-1] if shape else "no"
            return (f"{head}, whose last dimension has {got} features, but the layer expects "
                    f"{self.in_features}; make the previous layer output {self.in_features} "
                    f"features, or build Linear({got}, {self.out_features})")
        return f"{head}: {err}"

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
