"""``Parameter``: a tensor that a ``Module`` learns.

A Parameter is an ordinary leaf ``Tensor`` with two differences: it requires a gradient
unless told otherwise, and assigning one to a ``Module`` attribute registers it, so
``module.parameters()`` finds it and an optimizer can update it.
"""
from __future__ import annotations

from ..autograd.tensor import Tensor, _check_grad_dtype, _infer_array


class Parameter(Tensor):
    """A learnable tensor; registered automatically when set as a Module attribute.

    Args:
        data: the initial values (a Tensor, a NumPy/CuPy array or nested lists). A Tensor's
            array is shared, not copied, as in PyTorch.
        requires_grad: whether the optimizer should see gradients for it (default True).

    Example:
        >>> import nerve as nv
        >>> w = nv.nn.Parameter(nv.zeros(2, 3))
        >>> w.requires_grad, w.shape
        (True, (2, 3))
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = _infer_array([], None)
        arr = data._data if isinstance(data, Tensor) else _infer_array(data, None)
        if requires_grad:
            _check_grad_dtype(arr, "this parameter")
        self._data = arr
        self._grad = None
        self._ctx = None
        self._hooks = None
        self._vc = data._vc if isinstance(data, Tensor) else None
        if isinstance(data, Tensor) and self._vc is None:
            self._vc = data._vc = [0, 0]  # the parameter shares the tensor's storage
        self._base = None
        self._oidx = 0
        self.requires_grad = bool(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(self._data.copy(), self.requires_grad)
        if self.grad is not None:
            out.grad = Tensor(self.grad._data.copy())
        memo[id(self)] = out
        return out
