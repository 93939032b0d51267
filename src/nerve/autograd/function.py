"""``Function``: one differentiable op, forward and backward side by side.

A subclass writes ``forward(ctx, *arrays, **params)`` on raw arrays and
``backward(ctx, grad)`` returning one gradient per positional input (``None`` where no
gradient is needed). ``ctx`` is the node itself: forward stores what backward needs with
``ctx.save_for_backward(...)`` and plain parameters as attributes.

Backward formulas are written with the array namespace ``ctx.xp`` (NumPy or CuPy) and
with operators and methods that arrays and Tensors share. During a normal backward the
formula runs on raw arrays. With ``create_graph=True`` the engine hands it Tensors and
swaps ``ctx.xp`` for a differentiable namespace, so the same formula builds the graph of
the gradient (higher-order derivatives without a second implementation). For that to be
exact, ``save_for_backward`` must only receive inputs, the output, or values whose
derivative is zero (masks, indices); anything derived from them is recomputed in
backward.
"""
from __future__ import annotations

import numpy as np

from ..backend import get_array_module
from . import grad_mode
from .namespace import array_namespace

_ndarray = np.ndarray


class Function:
    """Base class for ops. See the module docstring for the contract."""

    # Class-level defaults keep the per-call cost low: an instance only gets the
    # attributes its op sets.
    xp = array_namespace(np)
    saved = ()            # arrays saved for backward; None once freed
    out_index = -1        # which saved array is the op's output (for create_graph)
    parents = ()
    needs_input_grad = ()
    hooks = None          # gradient hooks registered on this node's output tensor

    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(ctx).__name__} has no forward")

    def backward(ctx, grad):  # pragma: no cover - abstract
        raise NotImplementedError(
            f"{type(ctx).__name__} is not differentiable; detach() its inputs or use no_grad()")

    def save_for_backward(ctx, *arrays):
        ctx.saved = arrays

    @property
    def saved_tensors(ctx):
        return ctx.saved

    @property
    def name(ctx) -> str:
        return type(ctx).__name__

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward on the arrays inside ``args`` and record a node if needed.

        Non-Tensor arguments (Python numbers, arrays) are constants.
        """
        ctx = _new(cls)
        arrays = []
        needs = []
        requires = False
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a._data)
                r = a.requires_grad
                needs.append(r)
                if r:
                    requires = True
            else:
                arrays.append(a)
                needs.append(False)
        record = requires and grad_mode._enabled
        ctx.needs_input_grad = needs if record else _NO_GRADS
        if arrays:
            x0 = arrays[0]
            if type(x0) is not _ndarray and not isinstance(x0, (int, float)):
                xp = get_array_module(*[a for a in arrays if a is not None])
                if xp is not np:
                    ctx.xp = array_namespace(xp)
        raw = out = ctx.forward(*arrays, **kwargs)
        if type(out) is not _ndarray:
            out = ctx.xp.asarray(out)  # NumPy returns scalars for 0-d results
        t = _new(Tensor)
        t._data = out
        t.grad = None
        t._hooks = None
        if record:
            ctx.parents = args
            saved = ctx.saved
            if saved:
                for i, s in enumerate(saved):
                    if s is raw:
                        ctx.out_index = i
                        if raw is not out:
                            ctx.saved = saved[:i] + (out,) + saved[i + 1:]
                        break
            t.requires_grad = True
            t._ctx = ctx
        else:
            t.requires_grad = False
            t._ctx = None
        return t


_new = object.__new__


class _NoGrads:
    """needs_input_grad for a node that records nothing: every entry is False."""

    def __getitem__(self, i):
        return False


_NO_GRADS = _NoGrads()

from .tensor import Tensor  # noqa: E402  (Tensor needs Function defined first)
