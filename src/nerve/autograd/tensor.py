"""``Tensor``: an array plus what reverse-mode autograd needs to know about it.

The op methods (``x.exp()``, ``x + y``, ``x.sum()`` ...) are attached by
``nerve.functional`` when it is imported, so this file only knows about the graph:
``.data``, ``.grad``, ``.requires_grad``, the node that made the tensor (``grad_fn``),
and ``backward``.
"""
from __future__ import annotations

import warnings
import weakref

import numpy as np

from .. import backend
from . import grad_mode
from ._coerce import as_numeric_array, check_numeric

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype) -> None:
    """Set the dtype used for tensors built from Python floats (float32 or float64)."""
    global _default_dtype
    d = np.dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"default dtype must be a floating type such as float32 or float64, got {d}")
    _default_dtype = d


def get_default_dtype():
    return _default_dtype


def default_complex_dtype():
    """The complex dtype Python complex numbers become: complex64 with a float32 default,
    complex128 with float64 (as torch)."""
    return np.dtype(np.complex64) if _default_dtype.itemsize <= 4 else np.dtype(np.complex128)


def _infer_array(data, dtype):
    """Turn user data into an array following PyTorch's dtype rules.

    Python floats become the default dtype (float32), Python ints int64, bools bool; an
    existing array keeps its dtype unless ``dtype`` says otherwise.
    """
    if isinstance(data, Tensor):
        data = data._data
    xp = backend.get_array_module(data)
    if dtype is not None:
        if xp is np and not hasattr(data, "dtype"):
            as_numeric_array(data)  # strings, objects, ragged lists: a clear error first
        return check_numeric(xp.asarray(data, dtype=np.dtype(dtype)), data)
    if hasattr(data, "dtype") and hasattr(data, "shape"):
        if xp is not np:
            return xp.asarray(data)
        arr = check_numeric(xp.asarray(data), data)
        if not arr.dtype.isnative:
            # big-endian data ('>f8'): the same values in native order, so the dtype equals
            # nv.float64 and ops behave. torch refuses these; a copy loses nothing here.
            arr = arr.astype(arr.dtype.newbyteorder("="))
        return arr
    arr = as_numeric_array(data)
    if arr.dtype == np.float64:
        arr = arr.astype(_default_dtype)
    elif arr.dtype == np.complex128:  # Python complex: the complex type of the default dtype
        arr = arr.astype(default_complex_dtype())
    elif arr.dtype.kind in "iu" and arr.dtype != np.int64:
        arr = arr.astype(np.int64)
    return arr


def _check_grad_dtype(arr, what="a tensor"):
    if arr.dtype.kind not in "fc":
        raise RuntimeError(
            f"only floating-point tensors can require gradients, but {what} has dtype {arr.dtype}; "
            "convert it first with .float() (or .double()), or leave requires_grad=False for "
            "indices and labels")


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Args:
        data: a nested list, a number, a NumPy/CuPy array or another Tensor.
        dtype: a NumPy dtype (``nv.float32``, ``nv.float64``, ``nv.int64`` ...).
        requires_grad: record operations so ``backward()`` can fill ``.grad``.
        device: ``'cpu'`` (default) or ``'cuda'``.

    Storage and versions (PyTorch's rules): a tensor's array is its storage. Views
    (``x[0]``, ``x.view(...)``, ``x.t()``, ``x.detach()``, ``x.data``) share the storage
    and one version counter with their base; every in-place op (``add_``, ``x[i] = v``,
    ``x -= y`` ...) bumps that counter, and backward refuses to use a saved tensor whose
    storage changed after it was saved, naming the op.

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        >>> x.shape
        (2, 3)
        >>> (x * x).sum().backward()
        >>> x.grad.tolist()
        [[2.0, 4.0, 6.0], [8.0, 10.0, 12.0]]
    """

    # _data: the array. _grad: the accumulated gradient (a Tensor). _ctx: the node that
    # made it (None for a leaf) and _oidx which of that node's outputs it is. _vc: the
    # storage's version counter [version, last-write stamp], shared by every alias, made on
    # first need. _base: the tensor whose storage this one views (None if it owns it).
    __slots__ = ("_data", "_grad", "requires_grad", "_ctx", "_hooks", "_vc", "_base", "_oidx",
                 "__weakref__")
    # No __array_ufunc__: NumPy ufuncs (np.isfinite(t)) see the array through __array__, while
    # the high priority makes NumPy operators defer to ours (np.float32(2) * t, arr @ t).
    __array_priority__ = 1000

    def __init__(self, data, dtype=None, requires_grad=False, device=None):
        if isinstance(data, Tensor):
            arr = _infer_array(data._data, dtype)
            if arr is data._data:
                arr = arr.copy()  # nv.tensor(t) copies, as torch.tensor(t) does
        else:
            arr = _infer_array(data, dtype)
        if device is not None:
            arr = backend.to_device(arr, device)
        self._data = arr
        self._grad = None
        self._ctx = None
        self._hooks = None
        self._vc = None
        self._base = None
        self._oidx = 0
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------- data and grad
    @property
    def data(self):
        """A tensor sharing this one's storage (and version counter), cut out of the graph.

        ``p.data -= lr * p.grad`` and ``p.data.sub_(...)`` update ``p`` in place without
        recording anything. Assigning ``t.data = other`` swaps the storage.
        """
        return self.detach()

    @data.setter
    def data(self, value):
        if isinstance(value, Tensor):
            value = value._data
        elif not (hasattr(value, "shape") and hasattr(value, "dtype")):
            raise TypeError(f"tensor.data must be set to a Tensor or an array, got {type(value).__name__}")
        self._data = value
        self._vc = None  # new storage: a fresh version history

    @property
    def grad(self):
        """The gradient accumulated by ``backward()`` (a Tensor), or None.

        A non-leaf only gets one after ``retain_grad()``; reading it otherwise warns, as torch.
        """
        g = self._grad
        if g is None and self._ctx is not None and not self.retains_grad:
            warnings.warn(
                "reading .grad of a non-leaf tensor, which backward() does not fill: it is None. "
                "Call .retain_grad() on it before backward() to keep its gradient, or read the "
                ".grad of the leaf tensors instead", UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad must be a Tensor or None, got {type(value).__name__}; "
                    "wrap arrays with nv.tensor(...) first, or set .grad = None to clear it")
            if tuple(value._data.shape) != tuple(self._data.shape):
                raise RuntimeError(
                    f"assigned grad has shape {tuple(value._data.shape)}, but the tensor has shape "
                    f"{tuple(self._data.shape)}; they must match")
            if value._data.dtype.kind not in "fc" and self._data.dtype.kind in "fc":
                raise TypeError(f"assigned grad has dtype {value._data.dtype}, but the tensor's is "
                                f"{self._data.dtype}; gradients must be floating point")
            if backend.device_of(value._data) != backend.device_of(self._data):
                raise RuntimeError(
                    f"assigned grad is on {backend.device_of(value._data)} but the tensor is on "
                    f"{backend.device_of(self._data)}; move it with .to(...) first")
        self._grad = value

    @property
    def _version(self):
        """How many in-place writes this tensor's storage has seen."""
        vc = self._vc
        return 0 if vc is None else vc[0]

    def __array__(self, dtype=None, copy=None):
        if self.requires_grad and self._ctx is not None:
            # np.exp(t) would silently drop t's graph; say so (PyTorch refuses too)
            raise RuntimeError(
                "NumPy cannot use a tensor that is part of a graph (it would lose the gradient); "
                "call .detach() first, or use nerve's own ops (t.exp() instead of np.exp(t))")
        arr = self.numpy()
        if dtype is not None and arr.dtype != dtype:
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    # ------------------------------------------------------------------ basics
    @property
    def shape(self):
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def size(self, dim=None):
        return self._data.shape if dim is None else self._data.shape[dim]

    def numel(self):
        return int(self._data.size)

    @property
    def device(self):
        """Where the data lives: ``device('cpu')`` or ``device('cuda')`` (equal to the string)."""
        return backend.device(backend.device_of(self._data))

    @property
    def is_cuda(self):
        """True when the data is a CuPy array on a GPU."""
        return backend.device_of(self._data) == "cuda"

    @property
    def grad_fn(self):
        if self._base is not None:
            _fresh_view(self)  # a view whose storage changed since: its history, made again
        return self._ctx

    @property
    def is_leaf(self):
        return self._ctx is None

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", precision=4,
                               prefix="tensor(").replace("\n", "\n")
        extras = []
        if self._data.dtype not in (_default_dtype, np.dtype(np.int64)) or self._data.dtype == np.bool_:
            extras.append(f"dtype={self._data.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self._ctx is not None:
            extras.append(f"grad_fn={self._ctx!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all()")
        return bool(self._data)

    # Identity hashing (``==`` is elementwise, so equal values never mean the same key), in C:
    # optimizers and the engine look tensors up in dicts on every step.
    __hash__ = object.__hash__

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    # --------------------------------------------------------------- conversion
    def numpy(self):
        """The data as a NumPy array (shared memory on the CPU, a copy from the GPU)."""
        return backend.to_device(self._data, "cpu")

    def item(self):
        if self._data.size != 1:
            raise ValueError(
                f"item() needs a tensor with exactly one element, got shape {tuple(self._data.shape)}")
        return self._data.reshape(()).item() if hasattr(self._data, "item") else self._data

    def tolist(self):
        return self.numpy().tolist()

    # ---------------------------------------------------------------- autograd
    def requires_grad_(self, requires_grad=True):
        if requires_grad:
            _check_grad_dtype(self._data)
        elif self._ctx is not None:
            raise RuntimeError("you can only change requires_grad of leaf tensors; "
                               "use .detach() to cut a non-leaf out of the graph")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        """A tensor sharing this storage and its version counter, cut out of the graph."""
        t = _wrap(self._data)
        t._vc = _counter(self)
        return t

    def detach_(self):
        if self._base is not None and self._base.requires_grad:
            raise RuntimeError("detach_() on a view of a tensor that requires grad is not allowed; "
                               "use .detach() (out of place) instead")
        if self._ctx is not None:
            # Ops that already used this tensor keep sending gradients into its history.
            _MUT[0] += 1
            key = id(self)
            _DETACHED[key] = (weakref.ref(self, lambda _, k=key: _DETACHED.pop(k, None)),
                              _MUT[0], self._ctx, self._oidx)
            _REBASED[0] = True
        self._ctx = None
        self.requires_grad = False
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` when the gradient for this tensor is computed.

        The hook may return a replacement gradient. Returns a handle with ``remove()``.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        hooks = self._hook_list()
        # retain_grad's hook stays last, so .grad is the gradient after every hook (as torch)
        pos = len(hooks)
        while pos and getattr(hooks[pos - 1], "_retains", None) is not None:
            pos -= 1
        hooks.insert(pos, hook)
        return _HookHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` right after backward has added this leaf's gradient into
        ``.grad`` (once per backward, with the complete gradient). For optimizer steps fused
        into backward. ``autograd.grad`` does not fill ``.grad`` and so does not call it.
        Returns a handle with ``remove()``.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self._ctx is not None:
            raise RuntimeError("register_post_accumulate_grad_hook works on leaf tensors only (their "
                               ".grad is what gets accumulated); use register_hook on a non-leaf")
        key = id(self)
        entry = _POST_HOOKS.get(key)
        if entry is None or entry[0]() is not self:
            entry = _POST_HOOKS[key] = (weakref.ref(self, lambda _, k=key: _POST_HOOKS.pop(k, None)), [])
        hooks = self._hook_list()
        if _post_marker not in hooks:
            hooks.insert(0, _post_marker)  # routes this leaf through the engine's hook path
        entry[1].append(hook)
        return _HookHandle(entry[1], hook)

    def _hook_list(self):
        """The list this tensor's gradient hooks live in (its node's, for a non-leaf)."""
        ctx = self._ctx
        if ctx is not None:
            return _node_hooks(ctx, self._oidx, create=True)
        if self._hooks is None:
            self._hooks = []
            _LEAF_HOOKS[0] = True
        return self._hooks

    @property
    def retains_grad(self):
        """True for a non-leaf whose ``.grad`` is kept (``retain_grad()`` was called)."""
        if self._ctx is None:
            return False
        return any(getattr(h, "_retains", None) is self for h in self._hook_list())

    def retain_grad(self):
        """Keep ``.grad`` for a non-leaf tensor too (after its hooks have run; calling it again
        changes nothing). A leaf that requires grad keeps its ``.grad`` anyway."""
        if self._ctx is None:
            if not self.requires_grad:
                raise RuntimeError("retain_grad() on a tensor that does not require grad: it will "
                                   "never get a gradient; set requires_grad=True first")
            return
        if self.retains_grad:
            return

        def _keep(g, t=self):
            t._grad = g if t._grad is None else t._grad + g

        _keep._retains = self
        self._hook_list().append(_keep)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Args:
            gradient: d(loss)/d(self); needed unless ``self`` has one element.
            retain_graph: keep saved arrays so backward can run again (default:
                ``create_graph``).
            create_graph: make the gradients themselves differentiable.
            inputs: only accumulate into these leaves.
        """
        if gradient is None and not create_graph and inputs is None and self._ctx is not None:
            _engine().backward_scalar(self, retain_graph)  # loss.backward(): the lean pass
        else:
            _engine().run_backward((self,), (gradient,), retain_graph, create_graph, inputs=inputs)


_ENGINE = None


def _engine():
    """The engine module, imported on first use (it imports this module)."""
    global _ENGINE
    if _ENGINE is None:
        from . import engine  # noqa: PLC0415

        _ENGINE = engine
    return _ENGINE


# id(leaf) -> (weak ref, [hooks]) for register_post_accumulate_grad_hook (keyed by id: a
# Tensor's == is elementwise, so it cannot be a dict key itself).
_POST_HOOKS = {}


def _post_marker(grad):
    """A no-op gradient hook standing for a leaf's post-accumulate hooks in its hook list."""
    return None


def run_post_accumulate_hooks(p):
    """Call the post-accumulate-grad hooks of the leaf ``p`` (after its ``.grad`` changed)."""
    entry = _POST_HOOKS.get(id(p))
    if entry is not None and entry[0]() is p:
        for h in tuple(entry[1]):
            h(p)


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _wrap(data, requires_grad=False):
    """Build a Tensor around an array with no checks (internal fast path)."""
    t = _new(Tensor)
    t._data = data
    t._grad = None
    t._ctx = None
    t._hooks = None
    t._vc = None
    t._base = None
    t._oidx = 0
    t.requires_grad = requires_grad
    return t


_new = object.__new__


def _fresh_view(a):
    """Before a view is used: if its storage was written (through its base or another view)
    after its history was made, give it a new one -- its elements of the base as the base is
    now (PyTorch's view replay). Ops that used the view before the write keep the old history."""
    if not grad_mode._enabled:
        return
    root = a._base
    c = a._ctx
    if c is None:
        if not root.requires_grad:
            return
    elif a._vc[1] <= c._stamp:
        return
    if VIEW_REPLAY[0] is not None:
        VIEW_REPLAY[0](a, root)


# True once any leaf has had a hook: from then on backward counts the uses of hooked leaves
# (engine._toposort), so their hooks run once, on the complete gradient.
_LEAF_HOOKS = [False]

# Set by nerve.functional: replay(view, root) rebuilds a view's history from its root.
VIEW_REPLAY = [None]

# ------------------------------------------------------------------ versions and in-place
# _MUT[0] is a clock that ticks on every in-place write anywhere. Each graph node records
# the clock when it was made (node._stamp); each storage's counter records the clock of its
# last write. A saved tensor written after its node was made has a later stamp: backward
# then refuses it. With no in-place writes at all the check is one comparison per node.
_MUT = [0]


# True once any tensor was given a new history (an in-place op recorded on a non-leaf, a view
# replayed): only then may the engine have to route gradients to a history as it was.
_REBASED = [False]
# detach_() on a non-leaf: id(tensor) -> (weak ref, clock, node, output index) of the history
# it dropped (keyed by id: a Tensor's == is elementwise, so it cannot be a dict key).
_DETACHED = {}


def _mark_rebase(node, old):
    """``node`` replaces the history that ``old`` (a snapshot) still holds."""
    node._rebase_of = old
    _REBASED[0] = True


def _counter(t):
    """The version counter of ``t``'s storage, made on first need (shared by its aliases)."""
    vc = t._vc
    if vc is None:
        vc = t._vc = [0, 0]
    return vc


def _bump(t):
    """Record one in-place write to ``t``'s storage."""
    _MUT[0] += 1
    vc = t._vc
    if vc is None:
        vc = t._vc = [0, 0]
    vc[0] += 1
    vc[1] = _MUT[0]


def _link_view(view, base):
    """Make ``view`` an alias of ``base``'s storage: same counter, same root base."""
    view._vc = _counter(base)
    view._base = base._base if base._base is not None else base


def _op_name(fn):
    return getattr(fn, "__name__", type(fn).__name__)


def _inplace(t, name, fn, *args):
    """Run the in-place op ``name`` on ``t``: its new value is ``fn(t, *args)``.

    ``fn`` is the out-of-place op (differentiable). Without graph recording the result is
    written into ``t``'s storage. With recording, ``t`` also takes the op's node as its
    history (PyTorch's rebase), so gradients flow through the in-place op; if the node
    saved ``t``'s old values, it gets a private copy of them first.
    """
    record = grad_mode._enabled and (t.requires_grad or any(
        isinstance(a, Tensor) and a.requires_grad for a in args))
    if record:
        if t._ctx is None and t.requires_grad:
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad (shape {tuple(t.shape)}) cannot be "
                "changed in place while gradients are recorded, or its gradient would be wrong. "
                "Update parameters inside `with nv.no_grad():`, or use the out-of-place op "
                "(the method without the trailing underscore).")
        base = t._base
        if base is not None:
            _fresh_view(t)  # a view made before its storage last changed: replay it first
        if base is not None and base._ctx is None and base.requires_grad:
            raise RuntimeError(
                f"{name}: this tensor is a view of a leaf that requires grad (shape "
                f"{tuple(base.shape)}), which cannot be changed in place while gradients are "
                "recorded; work on a clone(), or update it inside `with nv.no_grad():`")
        arr = t._data
        old = _wrap(arr, t.requires_grad)
        old._ctx, old._oidx, old._vc = t._ctx, t._oidx, t._vc
        res = fn(old, *args)
        _check_inplace_result(t, res, name)
        node = res._ctx
        if node is not None and node.saved:
            saved = node.saved
            if any(s is arr for s in saved):  # the node needs the values we are about to overwrite
                cp = arr.copy()
                old._data = cp
                old._vc = None
                node.saved = tuple(cp if s is arr else s for s in saved)
        if base is not None:  # the base changes too: it and the view get new histories
            if VIEW_WRITER[0] is None:
                raise RuntimeError(f"{name}: writing through a view needs nerve.functional")
            VIEW_WRITER[0](t, base, res, name, old)
            return t
        _bump(t)
        arr[...] = res._data
        if node is not None:
            _alias_saved_output(node, arr, t)
            node._stamp = _MUT[0]  # the node's view of every saved value starts after this write
            _mark_rebase(node, old)  # ops that used t before this write still see old's history
            t._ctx, t._oidx = node, res._oidx
            t.requires_grad = True
            _move_retained(t, old._ctx, old._oidx)
        return t
    res = fn(t, *args)
    _check_inplace_result(t, res, name)
    _bump(t)
    t._data[...] = res._data
    return t


def _node_hooks(ctx, oidx, create):
    """The hook list of output ``oidx`` of the node ``ctx`` (kept per output when it has several);
    None when it has none and ``create`` is False."""
    if ctx.n_out > 1:
        if ctx.out_hooks is None:
            if not create:
                return None
            ctx.out_hooks = {}
        return ctx.out_hooks.setdefault(oidx, []) if create else ctx.out_hooks.get(oidx)
    if ctx.hooks is None and create:
        ctx.hooks = []
    return ctx.hooks


def _move_retained(t, old_ctx, old_oidx):
    """``t`` got a new history (an in-place op): its retain_grad hook moves to the new node, so
    ``t.grad`` is the gradient of its new value, as in torch. Its other hooks stay where they
    were registered (they see the gradient of the value they were registered on)."""
    if old_ctx is None or old_ctx is t._ctx:
        return
    hooks = _node_hooks(old_ctx, old_oidx, create=False)
    if not hooks:
        return
    for h in hooks:
        if getattr(h, "_retains", None) is t:
            hooks.remove(h)
            t._hook_list().append(h)
            return


def _alias_saved_output(node, arr, t):
    """An in-place op whose backward needs its result saved ``t``'s new values: from now on
    that is ``t``'s storage (as in PyTorch), so a later write to ``t`` makes backward refuse."""
    if node.out_index >= 0:
        saved = list(node.saved)
        saved[node.out_index] = arr
        node.saved = tuple(saved)
        node._out_vc = _counter(t)
    else:
        node._out_vc = None


# Set by nerve.functional: writer(view, base, new_view_value, op_name, view_snapshot) performs a recorded
# write through a view (the base's history gains the write, the view's is made again).
VIEW_WRITER = [None]


def _check_inplace_result(t, res, name):
    if tuple(res._data.shape) != tuple(t._data.shape):
        raise RuntimeError(
            f"{name}: the result has shape {tuple(res._data.shape)} but the tensor written into has "
            f"shape {tuple(t._data.shape)}; an in-place op cannot change a tensor's shape "
            "(the other operand may only broadcast to it)")
    rd, td = res._data.dtype, t._data.dtype
    if rd != td and not np.can_cast(rd, td, "same_kind"):
        raise RuntimeError(
            f"{name}: the result has dtype {rd}, which cannot be stored in this tensor of dtype {td} "
            f"without losing information; convert first (x = x.to({rd.name})) or use the "
            "out-of-place op")
