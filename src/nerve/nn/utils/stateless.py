"""Calling a module with other tensors in place of its parameters (``torch.func.functional_call``)."""
from __future__ import annotations

__all__ = ["functional_call"]


def functional_call(module, params, *args, **kwargs):
    """Run ``module(*args, **kwargs)`` with ``params`` ({dotted name: Tensor}) standing in for
    the parameters (and buffers) of those names; the module is unchanged afterwards.

    The stand-ins may be non-leaf Tensors (weights after an inner update, as in MAML), so
    gradients flow through them back to whatever they were computed from.

    Example:
        >>> import nerve as nv
        >>> lin = nv.nn.Linear(2, 1, bias=False)
        >>> functional_call(lin, {"weight": nv.tensor([[1.0, 2.0]])}, nv.tensor([[3.0, 4.0]])).item()
        11.0
    """
    subs = dict(module.named_modules())
    swapped = []
    try:
        for name, value in params.items():
            owner, _, leaf = name.rpartition(".")
            m = subs.get(owner)
            if m is None or not (leaf in m._parameters or leaf in m._buffers):
                raise KeyError(f"{type(module).__name__} has no parameter or buffer named {name!r}")
            swapped.append((m, leaf, m.__dict__[leaf]))
            # NOTE: only the attribute the forward reads is replaced, not the registry, so
            # parameters() and state_dict() keep returning the module's own tensors.
            m.__dict__[leaf] = value
        return module(*args, **kwargs)
    finally:
        for m, leaf, old in reversed(swapped):
            m.__dict__[leaf] = old
