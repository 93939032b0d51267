"""Per-parameter gradient norms and the first-to-last layer ratio."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class GradientNorms:
    """The result of :func:`gradient_norms`.

    Attributes:
        norms: ``{parameter name: ‖grad‖₂}`` in the model's registration order.
        layers: the names the ratio is taken over (the weight matrices, in order).
        first, last: the first and last name in ``layers``.
        ratio: ``norms[first] / norms[last]`` (``inf`` when the last norm is 0, ``nan``
            when both are 0 or a norm is not finite).
        total: the norm of all gradients together, √(Σ ‖g‖²).
        nonfinite: names whose gradient holds NaN or Inf.
    """

    norms: dict = field(default_factory=dict)
    layers: list = field(default_factory=list)
    first: str | None = None
    last: str | None = None
    ratio: float = float("nan")
    total: float = 0.0
    nonfinite: list = field(default_factory=list)

    def __repr__(self):
        return (f"GradientNorms({len(self.norms)} parameters, first/last ratio {self.ratio:.3g}, "
                f"total {self.total:.3g}" + (f", non-finite {self.nonfinite}" if self.nonfinite else "")
                + ")")


def _l2(g) -> float:
    g = np.asarray(g)
    if g.dtype.kind == "f" and g.dtype.itemsize < 8:
        g = g.astype(np.float64)  # NOTE: float32 squares overflow from |g| ≈ 1.8e19
    flat = g.reshape(-1)
    return float(np.sqrt(np.dot(flat, flat)))


def gradient_norms(model) -> GradientNorms:
    """L2 norm of each parameter's gradient, and the first-to-last layer ratio.

    Call it after ``loss.backward()``. For every parameter ``p`` with a gradient,
    ``norms[name] = ‖∂L/∂p‖₂ = √(Σ g²)``. The ratio compares the first and the last
    *weight* (a parameter with two or more dimensions; biases are skipped because they
    are often zero-initialized and small), in the order the model registers them::

        ratio = ‖∇W_first‖₂ / ‖∇W_last‖₂

    A ratio far below 1 (say < 1e-4) means the early layers barely learn: vanishing
    gradients. Far above 1 (> 1e4) means exploding gradients.

    Args:
        model: a ``Module`` (anything with ``named_parameters()``).

    Returns:
        a :class:`GradientNorms`.

    Example:
        >>> import nerve as nv
        >>> from nerve import nn
        >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        >>> net(nv.ones(5, 3)).sum().backward()
        >>> g = gradient_norms(net)
        >>> g.first, g.last, list(g.norms)
        ('0.weight', '2.weight', ['0.weight', '0.bias', '2.weight', '2.bias'])
        >>> round(g.norms['2.bias'], 4)   # d(sum)/d(bias) = 5 for both outputs: √(5² + 5²)
        7.0711
    """
    if not hasattr(model, "named_parameters"):
        raise TypeError(f"gradient_norms needs a Module with named_parameters(), got {type(model).__name__}")
    out = GradientNorms()
    weights = []
    total_sq = 0.0
    for name, p in model.named_parameters():
        if p.grad is None:
            continue
        g = p.grad._data if hasattr(p.grad, "data") else p.grad
        n = _l2(g)
        out.norms[name] = n
        if not math.isfinite(n):
            out.nonfinite.append(name)
        total_sq += n * n
        if np.ndim(g) >= 2:
            weights.append(name)
    if not out.norms:
        raise ValueError("gradient_norms found no gradients: call loss.backward() first (and check "
                         "that the parameters have requires_grad=True)")
    out.total = math.sqrt(total_sq)
    out.layers = weights or list(out.norms)
    out.first, out.last = out.layers[0], out.layers[-1]
    a, b = out.norms[out.first], out.norms[out.last]
    if not (math.isfinite(a) and math.isfinite(b)) or (a == 0 and b == 0):
        out.ratio = float("nan")
    else:
        out.ratio = a / b if b > 0 else float("inf")
    return out
