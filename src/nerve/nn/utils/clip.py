"""Gradient clipping: bound the gradients before the optimizer step.

PyTorch's ``torch.nn.utils.clip_grad_norm_``; ``nerve.optim`` re-exports both functions.
"""
from __future__ import annotations

import math

import numpy as np

from ...autograd.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _grads(parameters, fname):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    out = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fname} expects Tensors (e.g. model.parameters()), but item {i} "
                            f"is a {type(p).__name__}")
        if p.grad is not None:
            out.append(p)
    return out


def _vector_norm(a, norm_type):
    """The p-norm of all entries of ``a``, in ``a``'s dtype (like torch.linalg.vector_norm)."""
    a = a.reshape(-1)
    if norm_type == 2:
        return np.sqrt(np.dot(a, a)) if a.dtype.kind == "f" else np.sqrt(np.sum(np.abs(a) ** 2))
    if norm_type == math.inf:
        return np.max(np.abs(a)) if a.size else a.dtype.type(0)
    if norm_type == -math.inf:
        return np.min(np.abs(a)) if a.size else a.dtype.type(math.inf)
    if norm_type == 0:
        return a.dtype.type(np.count_nonzero(a))
    if norm_type == 1:
        return np.sum(np.abs(a))
    return np.sum(np.abs(a) ** norm_type) ** (1.0 / norm_type)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    r"""Rescale the gradients so that their joint norm is at most ``max_norm``.

    All gradients are treated as one long vector g. With ``n = ‖g‖_p``::

        if n > max_norm:   g ← g · max_norm / (n + 1e-6)

    Gradients whose joint norm is already within ``max_norm`` are left untouched (the
    very same arrays). Each clipped gradient gets a new array; nothing is modified in place.

    Args:
        parameters: a Tensor or an iterable of Tensors; those without ``.grad`` are ignored.
        max_norm: the largest allowed norm.
        norm_type: p of the p-norm (default 2.0); ``float('inf')`` uses the largest
            absolute entry.
        error_if_nonfinite: raise if the norm is nan or inf instead of clipping with it
            (default False).
        foreach: accepted for PyTorch compatibility; ignored.

    Returns:
        The joint norm *before* clipping, as a 0-d Tensor in the gradients' dtype.

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([0.0, 0.0], requires_grad=True)
        >>> (w * nv.tensor([3.0, 4.0])).sum().backward()
        >>> nv.optim.clip_grad_norm_([w], max_norm=1.0).item()
        5.0
        >>> [round(v, 4) for v in w.grad.tolist()]
        [0.6, 0.8]
    """
    params = _grads(parameters, "clip_grad_norm_")
    _check_max_norm(max_norm, "clip_grad_norm_")
    total = _total_norm([p.grad._data for p in params], float(norm_type), error_if_nonfinite,
                        "clip_grad_norm_", "the gradients")
    _scale(params, float(max_norm), total)
    return Tensor(total)


def _check_max_norm(max_norm, fname):
    max_norm = float(max_norm)
    if max_norm < 0 or math.isnan(max_norm):
        raise ValueError(f"{fname}: max_norm must be >= 0, got {max_norm}")


def _total_norm(arrays, norm_type, error_if_nonfinite, fname, what):
    """The p-norm of all ``arrays`` together, a 0-d array (float32 zero when there are none)."""
    if not arrays:
        return np.zeros((), dtype=np.float32)
    norms = [_vector_norm(a, norm_type) for a in arrays]
    dtype = np.result_type(*[a.dtype for a in arrays])
    # NOTE: per-tensor norms first, then the norm of those norms, as torch does; each
    # norm is exact in ``dtype`` when passed through a Python float.
    total = np.asarray(_vector_norm(np.array([float(n) for n in norms], dtype=dtype), norm_type),
                       dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"{fname}: the total norm of order {norm_type} of {what} is {float(total)}, "
            "so they cannot be clipped; look for a nan/inf in the loss or a too-large lr, or pass "
            "error_if_nonfinite=False to clip anyway")
    return total


def _scale(params, max_norm, total):
    coef = max_norm / (total + 1e-6)
    # NOTE: a nan norm gives a nan coef, which scales every gradient to nan, as torch does: the
    # step is visibly broken instead of half-applied (check the norm, or error_if_nonfinite)
    if not coef >= 1:
        with np.errstate(invalid="ignore"):  # an inf norm gives coef 0 and inf·0 = nan, as in torch
            for p in params:
                g = p.grad._data
                p.grad._data = g * np.asarray(coef).astype(g.dtype)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    r"""The p-norm of the given tensors taken together as one vector, as a 0-d Tensor
    (``torch.nn.utils.get_total_norm``): the first half of :func:`clip_grad_norm_`.

    Pass the gradients (``[p.grad for p in params if p.grad is not None]``); ``None`` entries
    are skipped. With no tensors the norm is a float32 zero.

    Example:
        >>> import nerve as nv
        >>> get_total_norm([nv.tensor([3.0]), nv.tensor([4.0])]).item()
        5.0
    """
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    arrays = []
    for i, t in enumerate(tensors):
        if t is None:
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"get_total_norm expects Tensors (e.g. the gradients), but item {i} is a "
                            f"{type(t).__name__}")
        arrays.append(t._data)
    return Tensor(_total_norm(arrays, float(norm_type), error_if_nonfinite, "get_total_norm",
                              "the tensors"))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    r"""Scale the gradients by ``max_norm / (total_norm + 1e-6)`` when that is below 1
    (``torch.nn.utils.clip_grads_with_norm_``): the second half of :func:`clip_grad_norm_`,
    for a norm computed elsewhere (:func:`get_total_norm`, or summed over several groups).

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([0.0, 0.0], requires_grad=True)
        >>> w.grad = nv.tensor([3.0, 4.0])
        >>> clip_grads_with_norm_([w], 1.0, get_total_norm([w.grad]))
        >>> [round(v, 4) for v in w.grad.tolist()]
        [0.6, 0.8]
    """
    params = _grads(parameters, "clip_grads_with_norm_")
    _check_max_norm(max_norm, "clip_grads_with_norm_")
    total = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    _scale(params, float(max_norm), total)


def clip_grad_value_(parameters, clip_value, foreach=None):
    r"""Clamp every gradient entry into ``[−clip_value, clip_value]``.

    Each gradient is replaced by a new clipped array (``g ← clip(g, −c, c)``); parameters
    without ``.grad`` are ignored.

    Args:
        parameters: a Tensor or an iterable of Tensors.
        clip_value: the bound c (>= 0).
        foreach: accepted for PyTorch compatibility; ignored.

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([0.0, 0.0, 0.0], requires_grad=True)
        >>> (w * nv.tensor([-5.0, 0.5, 2.0])).sum().backward()
        >>> nv.optim.clip_grad_value_([w], 1.0)
        >>> w.grad.tolist()
        [-1.0, 0.5, 1.0]
    """
    clip_value = float(clip_value)
    if clip_value < 0 or math.isnan(clip_value):
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for p in _grads(parameters, "clip_grad_value_"):
        g = p.grad._data
        p.grad._data = np.clip(g, -clip_value, clip_value).astype(g.dtype, copy=False)
