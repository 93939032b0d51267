"""Calling a module with other tensors in place of its parameters (``torch.func.functional_call``)."""
from __future__ import annotations

__all__ = ["functional_call"]


def _merged(dicts):
    if isinstance(dicts, dict):
        return dict(dicts)
    if not isinstance(dicts, (list, tuple)) or not all(isinstance(d, dict) for d in dicts):
        raise TypeError("functional_call expects a dict {name: Tensor} (or a list of such dicts) of "
                        f"parameters and buffers, got {type(dicts).__name__}")
    out = {}
    for d in dicts:
        dup = sorted(set(out) & set(d))
        if dup:
            raise ValueError(f"functional_call got {dup} in more than one of its dicts; give each "
                             "name once")
        out.update(d)
    return out


def _slots(module):
    """Every dotted name of every parameter and buffer -> (owning module, attribute), and the
    names grouped by tensor (a weight tied between two modules has two names)."""
    slots, names_of = {}, {}
    for prefix, m in module.named_modules(remove_duplicate=False):
        for store in (m._parameters, m._buffers):
            for leaf, t in store.items():
                if t is None:
                    continue
                name = f"{prefix}.{leaf}" if prefix else leaf
                slots[name] = (m, leaf)
                names_of.setdefault(id(t), []).append(name)
    return slots, names_of


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True,
                    strict=False):
    """Run ``module(*args, **kwargs)`` with the given tensors ({dotted name: Tensor}) standing in
    for the parameters (and buffers) of those names; the module is unchanged afterwards.

    The signature is torch's: ``args`` is one argument or a tuple of them, ``kwargs`` a dict.
    The stand-ins may be non-leaf Tensors (weights after an inner update, as in MAML), so
    gradients flow through them back to whatever they were computed from.

    Args:
        module: the module to run.
        parameter_and_buffer_dicts: a dict {name: Tensor}, or a list of dicts with distinct names.
        args: the positional argument, or a tuple of them.
        kwargs: keyword arguments for the forward.
        tie_weights: a weight shared by several modules (tied embeddings) is replaced everywhere
            it is used when one of its names is given (default, as torch); giving different
            tensors for two names of one tied weight is an error. False replaces only the
            names given.
        strict: every parameter and buffer must be given.

    A name the module does not have raises KeyError (torch ignores it, which hides typos).

    Example:
        >>> import nerve as nv
        >>> lin = nv.nn.Linear(2, 1, bias=False)
        >>> functional_call(lin, {"weight": nv.tensor([[1.0, 2.0]])}, nv.tensor([[3.0, 4.0]])).item()
        11.0
    """
    params = _merged(parameter_and_buffer_dicts)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    if kwargs is None:
        kwargs = {}
    elif not isinstance(kwargs, dict):
        raise TypeError(f"functional_call: kwargs must be a dict of keyword arguments, got "
                        f"{type(kwargs).__name__}; pass several positional arguments as one tuple")
    slots, names_of = _slots(module)
    for name in params:
        if name not in slots:
            raise KeyError(f"{type(module).__name__} has no parameter or buffer named {name!r}")
    values = {}
    for name, value in params.items():
        m, leaf = slots[name]
        group = names_of[id(m.__dict__[leaf])] if tie_weights else [name]
        for other in group:
            if other in params and params[other] is not value:
                raise ValueError(
                    f"functional_call got different tensors for {name!r} and {other!r}, which are "
                    "one tied weight in the module; give one of them, or pass tie_weights=False")
            values[other] = value
    if strict:
        missing = [n for n in slots if n not in values]
        if missing:
            raise RuntimeError(f"functional_call(strict=True): no tensor given for {missing} of "
                               f"{type(module).__name__}; give every parameter and buffer, or "
                               "pass strict=False")
    swapped, seen = [], set()
    try:
        for name, value in values.items():
            m, leaf = slots[name]
            if (id(m), leaf) not in seen:
                seen.add((id(m), leaf))
                swapped.append((m, leaf, m.__dict__[leaf]))
            # NOTE: only the attribute the forward reads is replaced, not the registry, so
            # parameters() and state_dict() keep returning the module's own tensors.
            m.__dict__[leaf] = value
        return module(*args, **kwargs)
    finally:
        for m, leaf, old in reversed(swapped):
            m.__dict__[leaf] = old
