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

import inspect

import numpy as np

from ..backend import get_array_module
from . import grad_mode
from .namespace import array_namespace

_ndarray = np.ndarray


class Function:
    """Base class for ops. See the module docstring for the contract.

    Two styles share this base. The op library's (above) works on raw arrays and is the
    fast path. PyTorch's style -- ``@staticmethod forward(ctx, *args)`` and
    ``@staticmethod backward(ctx, *grads)`` on Tensors, with ``ctx.save_for_backward``,
    ``ctx.saved_tensors``, ``ctx.needs_input_grad``, ``ctx.mark_dirty`` and
    ``ctx.mark_non_differentiable`` -- is recognised by the ``staticmethod`` and runs
    through :func:`_apply_tensor_style`. Both are called as ``MyFunction.apply(...)``.
    """

    # Class-level defaults keep the per-call cost low: an instance only gets the
    # attributes its op sets.
    xp = array_namespace(np)
    saved = ()            # arrays saved for backward; None once freed
    out_index = -1        # which saved array is the op's output (for create_graph)
    out_saved = ()        # several outputs: (saved position, output index) pairs
    parents = ()
    needs_input_grad = ()
    hooks = None          # gradient hooks registered on this node's output tensor
    out_hooks = None      # several outputs: {output index: [hooks]}
    n_out = 1             # how many outputs the op returns
    out_meta = None       # several outputs: ((shape, dtype), ...) to materialise unused grads
    materialize_grads = True
    is_view = False       # the output is a view of the first input (reshape, slicing ...)
    tensor_style = False  # PyTorch-style static forward/backward on Tensors
    _stamp = 0            # the in-place clock when the node was made (see tensor._MUT)
    _out_vc = None        # the version counter of a saved output
    _out_vcs = ()         # several outputs: counters of the saved ones
    _rebase_of = None     # an in-place op: the snapshot of the tensor's history before it

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fwd = inspect.getattr_static(cls, "forward", None)
        cls.tensor_style = isinstance(fwd, staticmethod) or (
            "setup_context" in cls.__dict__ and isinstance(cls.__dict__["setup_context"], staticmethod))
        # Each style gets its own apply, so the op library's hot path pays no dispatch.
        if cls.tensor_style and "apply" not in cls.__dict__:
            cls.apply = classmethod(lambda c, *args, **kwargs: _apply_tensor_style(c, args, kwargs))
        elif cls.is_view and "apply" not in cls.__dict__:
            cls.apply = classmethod(_apply_view)

    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(ctx).__name__} has no forward")

    def backward(ctx, grad):  # pragma: no cover - abstract
        raise NotImplementedError(
            f"{type(ctx).__name__} is not differentiable; detach() its inputs or use no_grad()")

    def save_for_backward(ctx, *values):
        if ctx.tensor_style:
            for v in values:
                if v is not None and not isinstance(v, Tensor):
                    raise TypeError(
                        f"{type(ctx).__name__}.save_for_backward takes Tensors (or None), got "
                        f"{type(v).__name__}; keep other values as attributes (ctx.k = k)")
            ctx._saved_versions = tuple(None if v is None else v._version for v in values)
        ctx.saved = values

    @property
    def saved_tensors(ctx):
        saved = ctx.saved
        if saved is None:
            raise RuntimeError(_engine_freed_msg(ctx))
        if ctx.tensor_style:
            for i, (v, ver) in enumerate(zip(saved, ctx.__dict__.get("_saved_versions", ()))):
                if v is not None and v._version != ver:
                    raise RuntimeError(
                        f"one of the tensors saved by {type(ctx).__name__} (saved tensor {i}, shape "
                        f"{tuple(v.shape)}) was modified by an in-place operation after it was saved: "
                        f"it is at version {v._version}; expected version {ver}. Use the out-of-place "
                        "op, or clone() the tensor before changing it.")
        return saved

    def mark_dirty(ctx, *tensors):
        """Tensor style: these inputs were modified in place by forward (and are returned)."""
        ctx._dirty = tensors

    def mark_non_differentiable(ctx, *tensors):
        """Tensor style: these outputs get no gradient (indices, masks ...)."""
        ctx._non_diff = tensors

    def set_materialize_grads(ctx, value):
        """Tensor style: pass None (instead of zeros) for outputs that got no gradient."""
        ctx.materialize_grads = bool(value)

    def name(ctx) -> str:
        """The node's name, as in PyTorch (``MulBackward``)."""
        return type(ctx).__name__ + "Backward"

    @property
    def next_functions(ctx):
        """One ``(node, output index)`` pair per input: the node that made it, an
        ``AccumulateGrad`` for a leaf that requires grad, or ``(None, 0)``."""
        out = []
        for p in ctx.parents:
            if not isinstance(p, Tensor) or not p.requires_grad:
                out.append((None, 0))
                continue
            c, k = history_at(p, ctx._stamp)
            out.append((AccumulateGrad(p), 0) if c is None else (c, k))
        return tuple(out)

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward on the arrays inside ``args`` and record a node if needed.

        Non-Tensor arguments (Python numbers, arrays) are constants. ``forward`` may
        return a tuple of arrays: then ``apply`` returns a tuple of Tensors and backward
        receives one gradient per output.
        """
        ctx = _new(cls)
        arrays = []
        needs = []
        requires = False
        for a in args:
            if isinstance(a, Tensor):
                if a._base is not None:
                    _fresh_view(a)
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
            if type(out) is tuple:
                return _finish_several(ctx, args, out, record)
            out = ctx.xp.asarray(out)  # NumPy returns scalars for 0-d results
        t = _new(Tensor)
        t._data = out
        t._grad = None
        t._hooks = None
        t._vc = None
        t._base = None
        t._oidx = 0
        if record:
            ctx.parents = args
            ctx._stamp = _MUT[0]
            saved = ctx.saved
            if saved:
                i = -1
                for s in saved:  # (a counter, not enumerate: this runs for every op)
                    i += 1
                    if s is raw:
                        ctx.out_index = i
                        if raw is not out:
                            ctx.saved = saved[:i] + (out,) + saved[i + 1:]
                        ctx._out_vc = t._vc = [0, 0]  # t is new: its storage's counter
                        break
            t.requires_grad = True
            t._ctx = ctx
        else:
            t.requires_grad = False
            t._ctx = None
        return t


_new = object.__new__


def history_at(t, stamp):
    """The (node, output index) that made ``t`` as seen by an op made at clock ``stamp``.

    An in-place op on a non-leaf gives the tensor a new history (a rebase); an op that
    used the tensor before that must still send its gradient into the old history, as
    PyTorch's graph edges do. Each rebase node keeps the snapshot it replaced.
    """
    c, k = t._ctx, t._oidx
    if c is None:
        d = _DETACHED.get(id(t))
        if d is not None and d[0]() is t and d[1] > stamp:  # detach_() came after that op
            c, k = d[2], d[3]
    while c is not None and c._stamp > stamp and c._rebase_of is not None:
        old = c._rebase_of
        c, k = old._ctx, old._oidx
    return c, k


def _engine_freed_msg(ctx):
    return (f"the tensors saved by {type(ctx).__name__} were freed after the first backward; pass "
            "retain_graph=True to the first backward() if you need to backpropagate twice")


def _apply_view(cls, *args, **kwargs):
    """``apply`` for view ops: the output shares its first input's storage when NumPy
    returned a view (a reshape of a non-contiguous array is a copy, and is not)."""
    out = Function.apply.__func__(cls, *args, **kwargs)
    src = args[0]
    if isinstance(src, Tensor):
        outs = out if type(out) is tuple else (out,)
        for t in outs:
            _maybe_view(t, src, src._data)
    return out


def _maybe_view(t, src, arr):
    """If the op's output really is a view of its first input's storage, alias them."""
    out = t._data
    if not isinstance(src, Tensor):
        return
    if out is arr or (out.base is not None and out.base is (arr if arr.base is None else arr.base)):
        _link_view(t, src)


def _finish_several(ctx, args, outs, record):
    """Wrap the arrays of a several-output op; one node, one output index per Tensor."""
    xp = ctx.xp
    outs = tuple(o if type(o) is _ndarray else xp.asarray(o) for o in outs)
    n = len(outs)
    ctx.n_out = n
    tensors = []
    for i, o in enumerate(outs):
        t = _wrap(o)
        t._oidx = i
        if record and o.dtype.kind in "fc":
            t.requires_grad = True
            t._ctx = ctx
        tensors.append(t)
    if record:
        ctx.parents = args
        ctx._stamp = _MUT[0]
        ctx.out_meta = tuple((o.shape, o.dtype) for o in outs)
        saved = ctx.saved
        if saved:
            pairs = []
            for i, s in enumerate(saved):
                for k, o in enumerate(outs):
                    if s is o:
                        pairs.append((i, k))
                        break
            if pairs:
                ctx.out_saved = tuple(pairs)
                ctx._out_vcs = tuple(_counter(tensors[k]) for _, k in pairs)
    return tuple(tensors)


class AccumulateGrad:
    """The node ``next_functions`` shows for a leaf: it adds into ``variable.grad``."""

    __slots__ = ("variable",)
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad>"

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)


def _apply_tensor_style(cls, args, kwargs):
    """``apply`` for a PyTorch-style Function: forward on Tensors under no_grad."""
    ctx = _new(cls)
    needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    record = grad_mode._enabled and any(needs)
    ctx.needs_input_grad = needs
    before = [a._version if isinstance(a, Tensor) else None for a in args]
    with grad_mode.no_grad():
        if "setup_context" in cls.__dict__ or _has_setup_context(cls):
            out = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, out)
        else:
            out = cls.forward(ctx, *args, **kwargs)
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    dirty = ctx.__dict__.get("_dirty", ())
    non_diff = ctx.__dict__.get("_non_diff", ())
    results = []
    parents = list(args)
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            results.append(o)
            continue
        if any(o is d for d in dirty):
            if all(o._version == v for a, v in zip(args, before) if a is o):
                _bump(o)  # forward wrote through the array: count the write here
            if record and o._ctx is None and o.requires_grad:
                raise RuntimeError(
                    f"{cls.__name__}: a leaf tensor that requires grad was modified in place "
                    "(mark_dirty); clone() it before calling the function")
            if record:  # the input's old history becomes the node's parent (a rebase)
                old = _wrap(o._data, o.requires_grad)
                old._ctx, old._oidx = o._ctx, o._oidx
                parents = [old if a is o else a for a in parents]
                _mark_rebase(ctx, old)
            t = o
        elif any(o is a for a in args):
            t = _wrap(o._data)  # returning an input unchanged: a new tensor, same storage
            _link_view(t, o)
        else:
            t = o
        t._oidx = i
        if record and not any(o is d for d in non_diff) and t._data.dtype.kind in "fc":
            t._ctx = ctx
            t.requires_grad = True
        elif t._ctx is None:
            t.requires_grad = False
        results.append(t)
    if record:
        ctx.parents = tuple(parents)
        ctx._stamp = _MUT[0]
        ctx.n_out = len(outs)
        ctx.out_meta = tuple((o._data.shape, o._data.dtype) if isinstance(o, Tensor) else None
                             for o in outs)
    return results[0] if single else tuple(results)


def _has_setup_context(cls):
    for k in cls.__mro__:
        if k is Function:
            return False
        if "setup_context" in k.__dict__:
            return True
    return False


class _NoGrads:
    """needs_input_grad for a node that records nothing: every entry is False."""

    def __getitem__(self, i):
        return False

    def __iter__(self):
        return iter(())


_NO_GRADS = _NoGrads()

from .tensor import (_DETACHED, _MUT, Tensor, _bump, _counter, _fresh_view, _link_view,  # noqa: E402
                     _mark_rebase, _wrap)
