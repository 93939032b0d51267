"""``Tensor``: an array plus what reverse-mode autograd needs to know about it.

The op methods (``x.exp()``, ``x + y``, ``x.sum()`` ...) are attached by
``nerve.functional`` when it is imported, so this file only knows about the graph:
``.data``, ``.grad``, ``.requires_grad``, the node that made the tensor (``grad_fn``),
and ``backward``.
"""
from __future__ import annotations

import numpy as np

from .. import backend

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


def _infer_array(data, dtype):
    """Turn user data into an array following PyTorch's dtype rules.

    Python floats become the default dtype (float32), Python ints int64, bools bool; an
    existing array keeps its dtype unless ``dtype`` says otherwise.
    """
    if isinstance(data, Tensor):
        data = data._data
    xp = backend.get_array_module(data)
    if dtype is not None:
        return xp.asarray(data, dtype=np.dtype(dtype))
    if hasattr(data, "dtype") and hasattr(data, "shape"):
        arr = xp.asarray(data)
        return arr
    arr = np.asarray(data)
    if arr.dtype == np.float64:
        arr = arr.astype(_default_dtype)
    elif arr.dtype.kind in "iu" and arr.dtype != np.int64:
        arr = arr.astype(np.int64)
    elif arr.dtype == object:
        raise TypeError(f"cannot build a tensor from {type(data).__name__} data "
                        "(ragged nested lists or mixed types?); give a rectangular list of numbers")
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

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        >>> x.shape
        (2, 3)
        >>> (x * x).sum().backward()
        >>> x.grad.tolist()
        [[2.0, 4.0, 6.0], [8.0, 10.0, 12.0]]
    """

    __slots__ = ("_data", "grad", "requires_grad", "_ctx", "_hooks", "__weakref__")
    __array_ufunc__ = None  # make NumPy defer to our reflected operators (np.float32(2) * t)
    __array_priority__ = 1000

    def __init__(self, data, dtype=None, requires_grad=False, device=None):
        arr = _infer_array(data, dtype)
        if device is not None:
            arr = backend.to_device(arr, device)
        self._data = arr
        self.grad = None
        self._ctx = None
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------ basics
    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, value):
        self._data = value._data if isinstance(value, Tensor) else value

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
        return backend.device_of(self._data)

    @property
    def grad_fn(self):
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

    def __hash__(self):
        return id(self)

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

    def to(self, device=None, dtype=None):
        """Return a tensor on ``device`` and/or of ``dtype`` (differentiable)."""
        from .. import functional as F  # noqa: PLC0415

        out = self
        if isinstance(device, (np.dtype, type)) and dtype is None:
            device, dtype = None, device
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            out = F.cast(out, dtype)
        if device is not None and backend.parse_device(device) != self.device:
            out = F.to_device(out, backend.parse_device(device))
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(dtype=np.float32)

    def double(self):
        return self.to(dtype=np.float64)

    def long(self):
        return self.to(dtype=np.int64)

    def int(self):
        return self.to(dtype=np.int32)

    def bool(self):
        return self.to(dtype=np.bool_)

    def type(self, dtype):
        return self.to(dtype=dtype)

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
        """A tensor sharing this data, cut out of the graph (no grad)."""
        t = Tensor.__new__(Tensor)
        t._data = self._data
        t.grad = None
        t._ctx = None
        t._hooks = None
        t.requires_grad = False
        return t

    def detach_(self):
        self._ctx = None
        self.requires_grad = False
        return self

    def zero_(self):
        """Fill with zeros in place (outside the graph)."""
        self._data[...] = 0
        return self

    def fill_(self, value):
        self._data[...] = value
        return self

    def copy_(self, other):
        self._data[...] = other.data if isinstance(other, Tensor) else other
        return self

    def clone(self):
        from .. import functional as F  # noqa: PLC0415

        return F.clone(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when the gradient for this tensor is computed.

        The hook may return a replacement gradient. Returns a handle with ``remove()``.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self._ctx is not None:
            if self._ctx.hooks is None:
                self._ctx.hooks = []
            hooks = self._ctx.hooks
        else:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def retain_grad(self):
        """Keep ``.grad`` for a non-leaf tensor too."""
        if self._ctx is None:
            return

        def _keep(g, t=self):
            t.grad = g if t.grad is None else t.grad + g

        self.register_hook(_keep)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Args:
            gradient: d(loss)/d(self); needed unless ``self`` has one element.
            retain_graph: keep saved arrays so backward can run again (default:
                ``create_graph``).
            create_graph: make the gradients themselves differentiable.
            inputs: only accumulate into these leaves.
        """
        _engine().run_backward((self,), (gradient,), retain_graph, create_graph, inputs=inputs)


_ENGINE = None


def _engine():
    """The engine module, imported on first use (it imports this module)."""
    global _ENGINE
    if _ENGINE is None:
        from . import engine  # noqa: PLC0415

        _ENGINE = engine
    return _ENGINE


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _wrap(data, requires_grad=False):
    """Build a Tensor around an array with no checks (internal fast path)."""
    t = Tensor.__new__(Tensor)
    t._data = data
    t.grad = None
    t._ctx = None
    t._hooks = None
    t.requires_grad = requires_grad
    return t
