"""Weight penalties to add to a loss: L1, L2 and their mix, the elastic net.

Each helper returns a scalar Tensor built from differentiable ops, so ``loss + penalty``
backpropagates into the parameters like any other term:

    l1_penalty(params)                = Σ |w|
    l2_penalty(params)                = Σ w²
    elastic_net_penalty(params, ρ)    = ρ·Σ |w| + (1 − ρ)·Σ w²

and each takes a ``strength`` λ that multiplies the result. The sums run over every
element of every tensor given.

Gradients: ∂/∂w Σ w² = 2w (a pull towards 0 proportional to w), and ∂/∂w Σ |w| = sign(w)
(a constant-size pull, which drives small weights to exactly 0 and gives sparse solutions).
|w| has a kink at 0; its gradient there is taken as 0, as in PyTorch.

Relation to ``weight_decay``: SGD's ``weight_decay=wd`` adds wd·w to each gradient, which is
the gradient of (wd/2)·Σ w², i.e. ``l2_penalty(params, strength=wd / 2)``. With Adam the two
differ (Adam rescales the penalty's gradient; AdamW's decoupled decay does not).
scikit-learn's ``ElasticNet`` writes the L2 part as ½·(1 − ρ)·Σ w²; here both parts use the
plain sums, so ``elastic_net_penalty(p, 1.0)`` is ``l1_penalty(p)`` and
``elastic_net_penalty(p, 0.0)`` is ``l2_penalty(p)``.

Biases are usually left out of the penalty; pass only the weights for that:

    >>> import nerve as nv
    >>> from nerve import nn
    >>> net = nn.Linear(3, 2)
    >>> _ = net.weight.data.fill_(0.5)
    >>> float(nn.l2_penalty([net.weight]))            # 6 weights × 0.25
    1.5
    >>> float(nn.l1_penalty(net, strength=0.1)) > 0.3  # a Module means all its parameters
    True
"""
from __future__ import annotations

from ..autograd.tensor import Tensor

__all__ = ["l1_penalty", "l2_penalty", "elastic_net_penalty"]


def _tensors(params, fn):
    from .module import Module  # noqa: PLC0415

    if isinstance(params, Module):
        params = params.parameters()
    elif isinstance(params, Tensor):
        params = [params]
    out = []
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: expected Parameters or Tensors (e.g. model.parameters()), got an item "
                            f"of type {type(p).__name__}")
        out.append(p)
    if not out:
        raise ValueError(f"{fn}: got no parameters to penalize. If you passed model.parameters() (a "
                         f"generator), it may have been consumed already: pass list(model.parameters()) "
                         f"or the model itself")
    return out


def _check_strength(strength, fn):
    strength = float(strength)
    if strength < 0:
        raise ValueError(f"{fn}: strength must be ≥ 0 (a negative penalty rewards large weights), "
                         f"got {strength}")
    return strength


def _total(terms):
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def l1_penalty(params, strength=1.0):
    """λ·Σ|w| over all elements of ``params`` (Tensors, a Module, or an iterable of either's parameters).

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([1.0, -2.0, 0.0], requires_grad=True)
        >>> p = l1_penalty([w]); p.backward()
        >>> float(p), w.grad.tolist()
        (3.0, [1.0, -1.0, 0.0])
    """
    fn = "l1_penalty"
    strength = _check_strength(strength, fn)
    return _total([p.abs().sum() for p in _tensors(params, fn)]) * strength


def l2_penalty(params, strength=1.0):
    """λ·Σw² over all elements of ``params`` (no ½: the gradient is 2λw).

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([1.0, -2.0, 0.0], requires_grad=True)
        >>> p = l2_penalty([w]); p.backward()
        >>> float(p), w.grad.tolist()
        (5.0, [2.0, -4.0, 0.0])
    """
    fn = "l2_penalty"
    strength = _check_strength(strength, fn)
    return _total([(p * p).sum() for p in _tensors(params, fn)]) * strength


def elastic_net_penalty(params, l1_ratio=0.5, strength=1.0):
    """λ·(ρ·Σ|w| + (1 − ρ)·Σw²) with ρ = ``l1_ratio`` in [0, 1].

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([1.0, -2.0], requires_grad=True)
        >>> float(elastic_net_penalty([w], l1_ratio=0.5))   # 0.5·3 + 0.5·5
        4.0
    """
    fn = "elastic_net_penalty"
    rho = float(l1_ratio)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"{fn}: l1_ratio must be in [0, 1] (1 = pure L1, 0 = pure L2), got {l1_ratio}")
    strength = _check_strength(strength, fn)
    tensors = _tensors(params, fn)
    return (_total([p.abs().sum() for p in tensors]) * rho
            + _total([(p * p).sum() for p in tensors]) * (1.0 - rho)) * strength
