"""Parameters as one flat vector, and the total gradient norm."""
from __future__ import annotations

import math

from ... import backend
from ...autograd.function import Function
from ...autograd.tensor import Tensor, _bump

__all__ = ["parameters_to_vector", "vector_to_parameters", "grad_norm"]


def _as_list(parameters, fn):
    if isinstance(parameters, Tensor):
        return [parameters]
    params = list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn} expects Tensors (e.g. model.parameters()), got {type(p).__name__}")
    return params


class _FlatCat(Function):
    """Concatenate the flattened inputs; backward splits the gradient back into shapes.

    One fused op instead of a reshape + cat per parameter: a model has many parameters.
    """

    def forward(ctx, *arrays):
        ctx.shapes = [a.shape for a in arrays]
        xp = backend.get_array_module(*arrays)
        return xp.concatenate([a.reshape(-1) for a in arrays])

    def backward(ctx, grad):
        out, start = [], 0
        for shape, need in zip(ctx.shapes, ctx.needs_input_grad):
            n = math.prod(shape)
            out.append(grad[start:start + n].reshape(shape) if need else None)
            start += n
        return tuple(out)


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D tensor (differentiable).

    Example:
        >>> import nerve as nv
        >>> net = nv.nn.Linear(3, 2)
        >>> nv.nn.utils.parameters_to_vector(net.parameters()).shape   # 3×2 + 2
        (8,)
    """
    params = _as_list(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector got no parameters")
    return _FlatCat.apply(*params)


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place.

    The inverse of ``parameters_to_vector``; ``vec`` must have exactly as many elements as
    the parameters together. Each write counts as an in-place change of the parameter, so
    a backward through a graph that saved the old values raises instead of using the new ones.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters expects a Tensor, got {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters expects a 1-D vector, got shape {tuple(vec.shape)}")
    params = _as_list(parameters, "vector_to_parameters")
    total = sum(p.numel() for p in params)
    if total != vec.numel():
        raise ValueError(f"the vector has {vec.numel()} elements but the parameters hold {total}")
    start = 0
    for p in params:
        n = p.numel()
        p._data[...] = vec._data[start:start + n].reshape(p.shape)
        _bump(p)
        start += n


def grad_norm(parameters, norm_type=2.0):
    """The norm of all gradients taken together as one vector, as a float (parameters
    without a gradient are skipped): (Σ ‖g‖ₚᵖ)^(1/p), max |g| for ``norm_type=inf``,
    min |g| for ``-inf`` and the number of non-zero entries for 0."""
    grads = [p.grad._data for p in _as_list(parameters, "grad_norm") if p.grad is not None]
    if not grads:
        return 0.0
    xp = backend.get_array_module(grads[0])
    p = float(norm_type)
    sized = [g for g in grads if g.size]
    if p == math.inf:
        return max((float(xp.abs(g).max()) for g in sized), default=0.0)
    if p == -math.inf:   # the smallest |g|, not the largest
        return min((float(xp.abs(g).min()) for g in sized), default=math.inf)
    if p == 0:
        return float(sum(int(xp.count_nonzero(g)) for g in grads))
    return float(sum(float((xp.abs(g.astype(xp.float64)) ** p).sum()) for g in grads) ** (1 / p))
