"""Containers: ``Sequential`` (a pipeline), ``ModuleList`` / ``ModuleDict`` (registries of
layers) and ``ParameterList`` / ``ParameterDict`` (registries of bare parameters)."""
from __future__ import annotations

import operator
from collections import OrderedDict

from ..autograd.tensor import Tensor
from .module import Module, _bump
from .parameter import Parameter

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _check_module(m, where):
    if not isinstance(m, Module):
        hint = ""
        if isinstance(m, type) and issubclass(m, Module):
            hint = f"; did you mean {m.__name__}() (an instance, not the class)?"
        elif callable(m):
            hint = "; wrap plain functions in a Module (nn.Identity, or a small subclass)"
        raise TypeError(f"{where} needs nn.Module instances, got {type(m).__name__}{hint}")
    return m


def _checked_index(idx, n, what):
    """``idx`` (-n..n-1) as a position 0..n-1, or an IndexError naming the index and length."""
    i = operator.index(idx)
    if not -n <= i < n:
        raise IndexError(f"index {idx} is out of range for {what} of length {n}")
    return i % n


class _IndexedModules(Module):
    """Shared integer-index logic of Sequential and ModuleList (keys '0', '1', ...)."""

    def _index(self, idx):
        return _checked_index(idx, len(self._modules), type(self).__name__)

    def _renumber(self, mods):
        for k in list(self._modules):
            self._forget(k)
        for i, m in enumerate(mods):
            self._modules[str(i)] = m
            self.__dict__[str(i)] = m
        _bump()

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[self._index(idx)]
        self._renumber(mods)

    def __setitem__(self, idx, module):
        key = list(self._modules)[self._index(idx)]
        # assigning to an existing dict key keeps its position
        self._modules[key] = _check_module(module, f"{type(self).__name__}[{idx}] = ...")
        self.__dict__[key] = module
        _bump()

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), _check_module(module, f"{type(self).__name__}.append"))
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        mods = list(self._modules.values())
        mods.insert(index, _check_module(module, f"{type(self).__name__}.insert"))
        self._renumber(mods)

    def pop(self, index=-1):
        mods = list(self._modules.values())
        m = mods.pop(self._index(index))
        self._renumber(mods)
        return m


class Sequential(_IndexedModules):
    """Modules applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Args:
        *modules: the layers in order, or a single ``OrderedDict`` of name → module.

    Sub-modules are named '0', '1', ... (or by the dict's keys), so parameter names read
    ``'0.weight'``. Supports ``len``, iteration, ``seq[i]``, ``seq[1:]`` (a new
    Sequential sharing the layers), ``append``/``add``, ``insert``, ``extend``, ``pop``.

    Example:
        >>> import nerve as nv
        >>> from nerve import nn
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10))
        >>> net(nv.zeros(2, 28, 28)).shape
        (2, 10)
        >>> len(net), type(net[1]).__name__, len(net[1:])
        (4, 'Linear', 3)
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (OrderedDict, dict)):
            for name, m in modules[0].items():
                self.add_module(name, _check_module(m, "Sequential"))
        else:
            if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
                modules = tuple(modules[0])
            for i, m in enumerate(modules):
                self.add_module(str(i), _check_module(m, f"Sequential (argument {i})"))

    def forward(self, input):  # noqa: A002
        for m in self._modules.values():
            input = m(input)
        return input

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            # a plain Sequential: subclasses (models.MLP) may take other constructor arguments
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        if isinstance(idx, str):
            return self._modules[idx]
        return list(self._modules.values())[self._index(idx)]

    def append(self, module):
        """Add ``module`` at the end; returns self (Keras spells it ``add``)."""
        name = str(len(self))
        while name in self._modules:  # keys from an OrderedDict may collide with numbers
            name = str(int(name) + 1)
        self.add_module(name, _check_module(module, "Sequential.append"))
        return self

    add = append

    def insert(self, index, module):
        """Put ``module`` before position ``index`` (-len..len) and return self, as torch."""
        n = len(self)
        i = operator.index(index)
        if not -n <= i <= n:
            # list.insert would quietly put it at an end instead
            raise IndexError(f"Sequential.insert: index {index} is out of range for a Sequential of "
                             f"length {n} (valid: {-n}..{n})")
        super().insert(i, module)
        return self

    def __add__(self, other):
        if not isinstance(other, Sequential):
            return NotImplemented
        return Sequential(*self, *other)

    def __iadd__(self, other):
        # in place, as in PyTorch: other references to this Sequential see the new layers
        if not isinstance(other, Sequential):
            return NotImplemented
        for m in list(other):
            self.append(m)
        return self

    def __mul__(self, n):
        """``seq * n``: a Sequential repeating these layers n times (the same layers, shared)."""
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise ValueError(f"Sequential can only be multiplied by a positive int, got {n!r}")
        return Sequential(*(list(self) * n))

    __rmul__ = __mul__


class ModuleList(_IndexedModules):
    """A list of modules whose parameters are registered (a plain Python list would hide them).

    Example:
        >>> from nerve import nn
        >>> layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
        >>> len(layers), len(list(layers.parameters()))
        (3, 6)
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return list(self._modules.values())[self._index(idx)]

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(); iterate over it inside your "
                                  "module's forward, or use nn.Sequential for a pipeline")


class ModuleDict(Module):
    """A dict of named modules whose parameters are registered.

    Example:
        >>> from nerve import nn
        >>> heads = nn.ModuleDict({"digit": nn.Linear(16, 10), "parity": nn.Linear(16, 1)})
        >>> sorted(heads.keys()), heads["parity"].out_features
        (['digit', 'parity'], 1)
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        try:
            return self._modules[key]
        except KeyError:
            raise KeyError(f"ModuleDict has no key {key!r}; its keys are {list(self._modules)}") from None

    def __setitem__(self, key, module):
        self.add_module(key, _check_module(module, f"ModuleDict[{key!r}] = ..."))

    def __delitem__(self, key):
        if key not in self._modules:
            # delattr alone would remove any attribute of that name (``training``) or raise
            # AttributeError; a dict says KeyError
            raise KeyError(f"ModuleDict has no key {key!r}; its keys are {list(self._modules)}")
        self.__delattr__(key)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self[k] = m

    def pop(self, key):
        m = self[key]
        del self[key]
        return m

    def clear(self):
        for k in list(self._modules):
            del self[k]

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward(); pick a module by key inside "
                                  "your module's forward")


def _as_parameter(value, where):
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)  # shares the tensor's array, as torch does
    raise TypeError(f"{where} needs Parameters or Tensors, got {type(value).__name__}")


class ParameterList(Module):
    """A list of parameters, registered as '0', '1', ... (Tensors are wrapped as Parameters).

    Example:
        >>> import nerve as nv
        >>> from nerve import nn
        >>> scales = nn.ParameterList([nv.ones(3) for _ in range(2)])
        >>> [n for n, _ in scales.named_parameters()]
        ['0', '1']
    """

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def _index(self, idx):
        return _checked_index(idx, len(self._parameters), "ParameterList")

    def __getitem__(self, idx):
        values = list(self._parameters.values())
        if isinstance(idx, slice):
            return ParameterList(values[idx])
        return values[self._index(idx)]

    def __setitem__(self, idx, value):
        key = list(self._parameters)[self._index(idx)]
        self.__setattr__(key, _as_parameter(value, "ParameterList"))

    def append(self, value):
        self.register_parameter(str(len(self)), _as_parameter(value, "ParameterList.append"))
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self

    def __iadd__(self, values):
        return self.extend(values)

    def extra_repr(self):
        return "\n".join(f"({i}): Parameter of shape {tuple(p.shape)}" for i, p in enumerate(self))


class ParameterDict(Module):
    """A dict of named parameters (Tensors are wrapped as Parameters).

    Example:
        >>> import nerve as nv
        >>> from nerve import nn
        >>> d = nn.ParameterDict({"gamma": nv.ones(4), "beta": nv.zeros(4)})
        >>> sorted(d.keys()), d["gamma"].requires_grad
        (['beta', 'gamma'], True)
    """

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.update(values)

    def __getitem__(self, key):
        try:
            return self._parameters[key]
        except KeyError:
            raise KeyError(f"ParameterDict has no key {key!r}; its keys are {list(self._parameters)}") from None

    def __setitem__(self, key, value):
        self.register_parameter(key, _as_parameter(value, f"ParameterDict[{key!r}] = ..."))

    def __delitem__(self, key):
        if key not in self._parameters:   # see ModuleDict.__delitem__
            raise KeyError(f"ParameterDict has no key {key!r}; its keys are {list(self._parameters)}")
        self.__delattr__(key)

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, key):
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

    def update(self, values):
        """Add or replace entries from a mapping or an iterable of (key, value) pairs.

        A plain ``dict`` is added in sorted key order, as PyTorch does, so the parameter
        order (and ``parameters()``, optimizer state, flattened vectors) matches a torch
        model built from the same dict; an OrderedDict or ParameterDict keeps its order.
        """
        if isinstance(values, (OrderedDict, ParameterDict)):
            items = values.items()
        elif hasattr(values, "items"):
            items = sorted(values.items())
        else:
            items = values
        for k, v in items:
            self[k] = v

    def pop(self, key):
        """Remove ``key`` and return its parameter."""
        v = self[key]
        del self[key]
        return v

    def get(self, key, default=None):
        return self._parameters.get(key, default)

    def clear(self):
        for k in list(self._parameters):
            del self[k]

    def extra_repr(self):
        return "\n".join(f"({k}): Parameter of shape {tuple(p.shape)}" for k, p in self.items())
