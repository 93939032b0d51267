"""``Module``: the base class of every layer and model.

A module holds three kinds of state, all registered by plain attribute assignment in
``__init__``:

* parameters (``nn.Parameter``): what the optimizer learns;
* sub-modules: layers inside the layer, named by their attribute;
* buffers (``register_buffer``): tensors that are state but not learned (running
  statistics), saved in ``state_dict`` unless ``persistent=False``.

Registered values live both in the registry dicts (``_parameters``, ``_modules``,
``_buffers``) and in the instance ``__dict__``, so ``self.weight`` inside ``forward`` is
an ordinary attribute lookup with no ``__getattr__`` detour. Always change them by
assignment (or ``register_parameter`` / ``register_buffer`` / ``add_module``), never by
writing into the registry dicts directly.

``module(x)`` calls ``forward(x)``; when no hook is registered that is the whole cost.
"""
from __future__ import annotations

import difflib
import fnmatch
import itertools
from collections import OrderedDict, namedtuple

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..autograd.tensor import _bump as _bump_version
from .parameter import Parameter

__all__ = ["Module", "RemovableHandle"]

# Bumped on every structural change anywhere (a parameter, buffer or sub-module added,
# replaced or removed). ``parameters()`` caches its flat list against this number.
_structure_version = itertools.count()
_version = [next(_structure_version)]


_EXTRA_STATE = "_extra_state"   # the state_dict key of get_extra_state()'s value, as in torch


def _bump():
    _version[0] = next(_structure_version)


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` could not match: (missing_keys, unexpected_keys)."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, module, hooks_dict, extra_dicts=()):
        self.id = next(RemovableHandle._ids)
        self._module = module
        self._hooks_dict = hooks_dict
        self._extra_dicts = tuple(extra_dicts)   # per-hook flags (with_kwargs, always_call)

    def remove(self):
        self._hooks_dict.pop(self.id, None)
        for d in self._extra_dicts:
            d.pop(self.id, None)
        self._module._update_has_hooks()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _parse_to_args(args, kwargs):
    """Split ``module.to(...)`` arguments into (device or None, dtype or None)."""
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)  # accepted for PyTorch compatibility: copies here are synchronous
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}; "
                        "use to(device), to(dtype) or to(device, dtype)")
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, str) and a.split(":")[0].lower() in ("cpu", "cuda", "gpu", "tpu", "mps"):
            device = a
        elif a is None:
            continue
        else:
            try:
                dtype = np.dtype(a)
            except TypeError:
                device = a
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind not in "fc":
            raise TypeError(f"Module.to() only accepts floating-point dtypes, got {dtype}; "
                            "integer parameters cannot hold gradients")
    if device is not None:
        device = backend.parse_device(device)
    return device, dtype


class _BackwardHookFn(Function):
    """Identity on the tensors it is given; its backward hands their gradients to a callback
    (which may replace them). Full backward hooks sit on a module's inputs and outputs."""

    @staticmethod
    def forward(ctx, callback, *tensors):
        ctx.callback = callback
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.callback(grads))


class _BackwardHookState:
    """One forward call's bookkeeping for the module's full backward (pre-)hooks."""

    def __init__(self, module):
        self.module = module
        self.grad_output = None
        self.n_inputs = 0
        self.input_idx = None      # positions of the inputs whose gradient is tracked
        self._slots = ()
        self._untracked = {}

    def setup_inputs(self, args):
        tensors = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_inputs = len(tensors)
        idx = [i for i in tensors if args[i].requires_grad]
        if not grad_mode.is_grad_enabled() or not idx:
            return args
        self.input_idx = idx
        # grad_input has one entry per tensor argument; as in torch, one that needs no
        # gradient gets zeros (when another input does need one)
        slots = tensors
        self._untracked = {i: args[i] for i in tensors if i not in idx}
        new = _BackwardHookFn.apply(self._on_input_grads, *(args[i] for i in idx))
        args = list(args)
        for i, t in zip(idx, new):
            args[i] = t
        self._slots = slots
        return tuple(args)

    def _pack(self, grads):
        by_pos = dict(zip(self.input_idx or (), grads))
        for i, a in self._untracked.items():
            by_pos[i] = Tensor(backend.get_array_module(a._data).zeros_like(a._data))
        return tuple(by_pos.get(i) for i in self._slots)

    def _run_full_hooks(self, grad_input):
        m = self.module
        for hook in tuple(m._backward_hooks.values()):
            res = hook(m, grad_input, self.grad_output)
            if res is None:
                continue
            if self.input_idx is None:
                raise RuntimeError("a full backward hook returned a grad_input, but no input of "
                                   f"{type(m).__name__} requires grad; return None instead")
            res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
            if len(res) != len(grad_input):
                raise RuntimeError(f"a full backward hook returned {len(res)} gradients, expected "
                                   f"{len(grad_input)} (one per tensor argument)")
            grad_input = res
        return grad_input

    def _on_input_grads(self, grads):
        grad_input = self._run_full_hooks(self._pack(grads))
        by_pos = dict(zip(self._slots, grad_input))
        return tuple(by_pos[i] for i in self.input_idx)

    def setup_outputs(self, out):
        if not grad_mode.is_grad_enabled():
            return out
        single = isinstance(out, Tensor)
        outs = (out,) if single else tuple(out) if isinstance(out, (tuple, list)) else None
        if outs is None:
            return out
        idx = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not idx:
            return out
        new = _BackwardHookFn.apply(self._on_output_grads, *(outs[i] for i in idx))
        outs = list(outs)
        for i, t in zip(idx, new):
            outs[i] = t
        if single:
            return outs[0]
        return type(out)(outs) if isinstance(out, list) else tuple(outs)

    def _on_output_grads(self, grads):
        m = self.module
        grads = tuple(grads)
        for hook in tuple(m._backward_pre_hooks.values()):
            res = hook(m, grads)
            if res is not None:
                res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
                if len(res) != len(grads):
                    raise RuntimeError(f"a backward pre-hook returned {len(res)} gradients, "
                                       f"expected {len(grads)} (one per output)")
                grads = res
        self.grad_output = grads
        if self.input_idx is None:   # no input needs a gradient: the hooks run now
            self._run_full_hooks((None,) * self.n_inputs)
        return grads



class _MissingAttribute(AttributeError):
    """A Module has no attribute ``name``; the message, with a close name to suggest, is built
    when it is first read (difflib over every name costs ~0.2 ms, wasted on hasattr())."""

    def __init__(self, module, name):
        super().__init__()
        self._module, self._attr = module, name
        self._message = None

    @property
    def args(self):
        return (str(self),)

    def __repr__(self):
        return f"AttributeError({str(self)!r})"

    def __reduce__(self):  # pickles (e.g. from a DataLoader worker) as the plain AttributeError
        return (AttributeError, (str(self),))

    def __str__(self):
        if self._message is None:
            module, name = self._module, self._attr
            d = module.__dict__
            known = [k for k in d if not k.startswith("_")] + [
                k for k in dir(type(module)) if not k.startswith("_")]
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            if "_parameters" not in d:
                hint += (f" (Module.__init__() has not run: call super().__init__() first in "
                         f"{type(module).__name__}.__init__)")
            self._message = f"'{type(module).__name__}' object has no attribute '{name}'{hint}"
        return self._message


# Tracebacks and pickles show it as what it is to the user: a plain AttributeError.
_MissingAttribute.__module__ = "builtins"
_MissingAttribute.__name__ = _MissingAttribute.__qualname__ = "AttributeError"

class Module:
    """Base class for layers and models: subclass it, declare state in ``__init__``,
    compute in ``forward``.

    Example:
        >>> import nerve as nv
        >>> from nerve import nn
        >>> class TwoLayer(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = nn.Linear(3, 4)
        ...         self.out = nn.Linear(4, 1)
        ...     def forward(self, x):
        ...         return self.out(self.hidden(x).relu())
        >>> net = TwoLayer()
        >>> [name for name, _ in net.named_parameters()]
        ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
        >>> net.num_parameters()   # 3×4 + 4 + 4×1 + 1
        21
        >>> net(nv.zeros(5, 3)).shape
        (5, 1)
    """

    training = True
    _has_hooks = False      # class-level fallback; __init__ sets it on the instance
    _version_cached = -1
    _param_cache = None
    dump_patches = False

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments; "
                            "Module.__init__ takes none")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers"] = set()
        d["_modules"] = {}
        d["_forward_hooks"] = {}
        d["_forward_pre_hooks"] = {}
        d["_backward_hooks"] = {}
        d["_backward_pre_hooks"] = {}
        d["_has_hooks"] = False

    # ----------------------------------------------------------------- calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(); define forward(self, x) in the subclass")

    def __call__(self, *args, **kwargs):
        if self._has_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        d = self.__dict__
        pre_kw = d.get("_forward_pre_hooks_with_kwargs", ())
        post_kw = d.get("_forward_hooks_with_kwargs", ())
        always = d.get("_forward_hooks_always_called", ())
        called = set()
        try:
            for hid, hook in tuple(self._forward_pre_hooks.items()):
                if hid in pre_kw:
                    res = hook(self, args, kwargs)
                    if res is not None:
                        if not (isinstance(res, tuple) and len(res) == 2):
                            raise RuntimeError(
                                "a forward pre-hook registered with with_kwargs=True must return "
                                f"None or a tuple (args, kwargs), got {type(res).__name__}")
                        args, kwargs = res
                        args = args if isinstance(args, tuple) else (args,)
                else:
                    res = hook(self, args)
                    if res is not None:
                        args = res if isinstance(res, tuple) else (res,)
            bw = None
            if d["_backward_hooks"] or d["_backward_pre_hooks"]:
                bw = _BackwardHookState(self)
                args = bw.setup_inputs(args)
            out = self.forward(*args, **kwargs)
            for hid, hook in tuple(self._forward_hooks.items()):
                called.add(hid)
                res = hook(self, args, kwargs, out) if hid in post_kw else hook(self, args, out)
                if res is not None:
                    out = res
            if bw is not None:
                out = bw.setup_outputs(out)
            return out
        except Exception:
            # hooks registered with always_call=True still run (with output None) when
            # forward or an earlier hook raised, as in PyTorch; the error then propagates
            for hid, hook in tuple(self._forward_hooks.items()):
                if hid in always and hid not in called:
                    try:
                        hook(self, args, kwargs, None) if hid in post_kw else hook(self, args, None)
                    except Exception:  # noqa: BLE001,S110  the original error matters more
                        pass
            raise

    def _update_has_hooks(self):
        d = self.__dict__
        d["_has_hooks"] = bool(self._forward_hooks or self._forward_pre_hooks
                               or d["_backward_hooks"] or d["_backward_pre_hooks"])

    def _add_hook(self, hooks, hook, prepend, flags):
        """Put ``hook`` into the dict ``hooks`` (first when ``prepend``); ``flags`` maps the
        name of each per-hook flag dict to whether this hook has that flag."""
        self._require_init()
        d = self.__dict__
        extra = []
        for attr, on in flags.items():
            if attr not in d:
                d[attr] = {}
            extra.append(d[attr])
        handle = RemovableHandle(self, hooks, extra)
        for attr, on in flags.items():
            if on:
                d[attr][handle.id] = True
        if prepend:
            rest = list(hooks.items())
            hooks.clear()
            hooks[handle.id] = hook
            hooks.update(rest)
        else:
            hooks[handle.id] = hook
        self._update_has_hooks()
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before every ``forward``.

        The hook may return a replacement for ``args`` (a tuple, or a single value that
        is wrapped in one). With ``with_kwargs=True`` it is called as
        ``hook(module, args, kwargs)`` and may return a replacement ``(args, kwargs)``.
        ``prepend=True`` runs it before the hooks already registered. Returns a handle
        whose ``remove()`` unregisters it.
        """
        return self._add_hook(self._forward_pre_hooks, hook, prepend,
                              {"_forward_pre_hooks_with_kwargs": with_kwargs})

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """Call ``hook(module, args, output)`` after every ``forward``.

        The hook may return a replacement output. With ``with_kwargs=True`` it is called
        as ``hook(module, args, kwargs, output)``; ``prepend=True`` runs it before the
        hooks already registered; ``always_call=True`` runs it (with output None) even
        when ``forward`` raises. Returns a handle with ``remove()``.

        Example:
            >>> import nerve as nv
            >>> seen = []
            >>> layer = nv.nn.Linear(2, 3)
            >>> h = layer.register_forward_hook(lambda m, args, out: seen.append(out.shape))
            >>> _ = layer(nv.zeros(4, 2)); h.remove(); _ = layer(nv.zeros(1, 2))
            >>> seen
            [(4, 3)]
        """
        return self._add_hook(self._forward_hooks, hook, prepend,
                              {"_forward_hooks_with_kwargs": with_kwargs,
                               "_forward_hooks_always_called": always_call})

    def register_full_backward_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_input, grad_output)`` when gradients reach this module's inputs.

        ``grad_output`` holds the gradients of the outputs (tensors that require grad),
        ``grad_input`` one entry per tensor argument of the call (None where that input
        needs no gradient). The hook may return a replacement ``grad_input`` tuple.
        Returns a handle with ``remove()``.
        """
        self._require_init()
        return self._add_hook(self._backward_hooks, hook, prepend, {})

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_output)`` when the gradients of this module's outputs are
        known, before its inputs' gradients are computed; it may return a replacement
        ``grad_output``. Returns a handle with ``remove()``."""
        self._require_init()
        return self._add_hook(self._backward_pre_hooks, hook, prepend, {})

    # ----------------------------------------------------------- registration
    def _require_init(self):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign parameters, sub-modules or hooks before Module.__init__() runs; "
                f"call super().__init__() first in {type(self).__name__}.__init__")

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                self._require_init()
            if name not in params:   # replacing keeps the registration order, as in PyTorch
                self._forget(name)
            params[name] = value
            d[name] = value
            _bump()
        elif params is not None and name in params:
            # checked before the Module case, as in PyTorch: a Module assigned to a
            # parameter's name is an error, not a silent swap of the parameter for a layer
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to parameter '{name}' of "
                    f"{type(self).__name__}: wrap it as nn.Parameter(...) (or assign None, or "
                    f"update values in place with self.{name}.data[...] = ...)")
            params[name] = None
            d[name] = None
            _bump()
        elif isinstance(value, Module):
            if params is None:
                self._require_init()
            if name not in d["_modules"]:
                self._forget(name)
            d["_modules"][name] = value
            d[name] = value
            _bump()
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to sub-module '{name}' of "
                                f"{type(self).__name__}: a Module (or None) is expected")
            d["_modules"][name] = None
            d[name] = None
            _bump()
        elif params is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer '{name}' of "
                                f"{type(self).__name__}: a Tensor (or None) is expected")
            d["_buffers"][name] = value
            d[name] = value
            _bump()
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        """Drop ``name`` from every registry (before it is registered as something else)."""
        d = self.__dict__
        for reg in (d["_parameters"], d["_buffers"], d["_modules"]):
            reg.pop(name, None)
        d["_non_persistent_buffers"].discard(name)
        d.pop(name, None)

    def __delattr__(self, name):
        d = self.__dict__
        if "_parameters" in d and (name in d["_parameters"] or name in d["_buffers"]
                                   or name in d["_modules"]):
            self._forget(name)
            _bump()
        else:
            object.__delattr__(self, name)

    def __getattr__(self, name):
        # Only reached when normal lookup fails. The "did you mean" hint is worked out only when
        # the message is read: getattr(module, name, default) and hasattr() swallow the error,
        # and a Trainer asks such questions every step.
        if name.startswith("__") or name in ("_parameters", "_buffers", "_modules"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        raise _MissingAttribute(self, name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent optional one) as ``name``."""
        self._require_init()
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter('{name}', ...) needs an nn.Parameter or None, got "
                            f"{type(param).__name__}; wrap it as nn.Parameter(tensor)")
        if param is None:
            self._forget(name)
            self._parameters[name] = None
            self.__dict__[name] = None
            _bump()
        else:
            self.__setattr__(name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """Register a non-learned tensor (running statistics, masks) as state.

        Args:
            name: the attribute name.
            tensor: a Tensor, or None (an absent buffer).
            persistent: include it in ``state_dict`` (default True).
        """
        self._require_init()
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer('{name}', ...) needs a Tensor or None, got "
                            f"{type(tensor).__name__}; wrap arrays with nv.tensor(...)")
        self._forget(name)
        self._buffers[name] = tensor
        self.__dict__[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)
        _bump()

    def add_module(self, name, module):
        """Register ``module`` (or None) as the sub-module ``name``."""
        self._require_init()
        if not isinstance(name, str):
            raise TypeError(f"module names must be strings, got {type(name).__name__}")
        self._check_name(name, "module", allow_digits=True)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module('{name}', ...) needs a Module or None, got "
                            f"{type(module).__name__}")
        if name not in self._modules:   # replacing keeps the position
            self._forget(name)
        self._modules[name] = module
        self.__dict__[name] = module
        _bump()

    register_module = add_module

    def _check_name(self, name, kind, allow_digits=False):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a string, got {type(name).__name__} {name!r}")
        if not name:
            raise KeyError(f"{kind} name must be a non-empty string, got {name!r}")
        if "." in name:
            raise KeyError(f"{kind} name {name!r} may not contain '.': dots separate nested names")
        if name in type(self).__dict__ or (hasattr(type(self), name) and name not in self.__dict__
                                            and not name.startswith("_")):
            raise KeyError(f"cannot register {kind} {name!r}: {type(self).__name__} already has a "
                           "method or class attribute of that name")
        d = self.__dict__
        own = {"parameter": d["_parameters"], "buffer": d["_buffers"], "module": d["_modules"]}
        for other, reg in own.items():
            if other != kind and name in reg:
                # as in PyTorch: register_* never silently turns one kind of state into another
                raise KeyError(f"cannot register {kind} {name!r}: {type(self).__name__} already has a "
                               f"{other} of that name; delete it first (del self.{name}) or pick "
                               "another name")
        if name in d and not (name in d["_parameters"] or name in d["_buffers"] or name in d["_modules"]):
            raise KeyError(f"cannot register {kind} {name!r}: {type(self).__name__} already has a plain "
                           f"attribute of that name; delete it first (del self.{name}) or pick another name")

    # ----------------------------------------------------------------- walking
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Yield (dotted name, module) for this module and every module inside it, once each."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        """Yield (name, module) for the direct sub-modules."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, get, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, v in get(mod):
                if v is None:
                    continue
                if remove_duplicate:
                    if id(v) in seen:
                        continue
                    seen.add(id(v))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield (dotted name, Parameter) pairs; a shared parameter appears once, under its first name.

        Example:
            >>> from nerve import nn
            >>> [n for n, _ in nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)).named_parameters()]
            ['0.weight', '0.bias', '2.weight', '2.bias']
        """
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """Iterate over the parameters, each exactly once (cached until the structure changes)."""
        if not recurse:
            return (p for _, p in self.named_parameters(recurse=False))
        d = self.__dict__
        if d.get("_version_cached") != _version[0]:
            d["_param_cache"] = [p for _, p in self.named_parameters()]
            d["_version_cached"] = _version[0]
        return iter(d["_param_cache"])

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """The module at dotted path ``target`` ('' is this module)."""
        mod = self
        if target == "":
            return mod
        for part in target.split("."):
            nxt = mod._modules.get(part) if isinstance(mod, Module) else None
            if nxt is None:
                raise AttributeError(f"{type(mod).__name__} has no sub-module '{part}' (looking up "
                                     f"'{target}'); its sub-modules are {list(mod._modules)}")
            mod = nxt
        return mod

    def set_submodule(self, target, module, strict=False):
        """Put ``module`` at dotted path ``target`` (``"encoder.0"``), replacing what is there.

        The parent must exist; with ``strict=True`` the attribute must exist too. A name
        held by a parameter, buffer or plain attribute is refused (AttributeError).
        """
        if not target:
            raise ValueError("set_submodule needs a non-empty target such as 'layer.0'")
        if not isinstance(module, Module):
            raise ValueError(f"set_submodule('{target}', ...) needs an nn.Module, got "
                             f"{type(module).__name__}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        d = parent.__dict__
        if name in d and name not in d["_modules"]:
            raise AttributeError(f"`{name}` is not an nn.Module (looking up '{target}'); "
                                 "pick another name")
        if strict and name not in d["_modules"]:
            raise AttributeError(f"{type(parent).__name__} has no sub-module '{name}' (strict=True); "
                                 f"its sub-modules are {list(d['_modules'])}")
        setattr(parent, name, module)

    def _get_entry(self, target, registry, kind):
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        entries = mod.__dict__[registry]
        if name not in entries:
            raise AttributeError(f"{type(mod).__name__} has no {kind} '{name}'; its {kind}s "
                                 f"are {list(entries)}")
        return entries[name]

    def get_parameter(self, target):
        """The parameter at dotted path ``target`` (``"0.weight"``)."""
        return self._get_entry(target, "_parameters", "parameter")

    def get_buffer(self, target):
        """The buffer at dotted path ``target`` (``"0.running_mean"``)."""
        return self._get_entry(target, "_buffers", "buffer")

    def num_parameters(self, trainable_only=False):
        """How many numbers the model learns: the sum of ``p.numel()`` over unique parameters.

        Args:
            trainable_only: count only parameters with ``requires_grad=True``.
        """
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------ modes
    def train(self, mode=True):
        """Set training mode on this module and every module inside it; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode) expects a bool, got {mode!r}")
        # each child's own train() is called (not just its flag set), as in torch, so a
        # sub-module that overrides train() -- to keep its BatchNorm frozen, say -- is obeyed
        self.__dict__["training"] = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        """Set evaluation mode (dropout off, normalization uses running statistics); returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Turn gradient tracking on or off for every parameter; returns self.

        ``model.requires_grad_(False)`` freezes a model (its parameters get no ``.grad``).
        """
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def _matching_parameters(self, patterns):
        # A pattern selects a parameter by its dotted name, by a prefix of whole name parts
        # ("features" selects "features.0.weight"), or as a glob ("*.bias", "layer[12].*").
        if not patterns:
            return list(self.parameters())
        named = list(self.named_parameters())
        chosen = []
        for q in patterns:
            if not isinstance(q, str):
                raise TypeError(f"freeze/unfreeze take parameter names or glob patterns, got {q!r}")
            hits = [p for n, p in named
                    if n == q or n.startswith(q + ".") or fnmatch.fnmatchcase(n, q)]
            if not hits:
                raise ValueError(f"{q!r} matches no parameter of {type(self).__name__}; names look "
                                 f"like {', '.join(repr(n) for n, _ in named[:4])}")
            chosen += hits
        return chosen

    def freeze(self, *patterns):
        """Stop training the parameters selected by ``patterns`` (all of them when none are
        given); returns self.

        A pattern is a dotted name, a prefix of whole name parts (``"features"`` freezes
        ``features.0.weight`` ...) or a glob (``"*.bias"``, ``"layer[12].*"``). A pattern
        that matches nothing is an error, so a typo cannot leave a layer training.

        Example:
            >>> import nerve as nv
            >>> net = nv.nn.Sequential(nv.nn.Linear(2, 3), nv.nn.Linear(3, 1)).freeze("0", "*.bias")
            >>> [n for n, p in net.named_parameters() if p.requires_grad]
            ['1.weight']
        """
        for p in self._matching_parameters(patterns):
            p.requires_grad_(False)
        return self

    def unfreeze(self, *patterns):
        """Undo ``freeze`` for the parameters selected by ``patterns`` (all when none are given)."""
        for p in self._matching_parameters(patterns):
            p.requires_grad_(True)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's gradient (to None by default, or to zeros in place)."""
        for p in self.parameters():
            if p._grad is None:
                continue
            if set_to_none:
                p._grad = None
            else:
                p.grad._data[...] = 0

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module (children first), then on self; returns self.

        Example:
            >>> from nerve import nn
            >>> net = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
            >>> def init(m):
            ...     if isinstance(m, nn.Linear):
            ...         nn.init.zeros_(m.bias)
            >>> net.apply(init)[0].bias.tolist()
            [0.0, 0.0, 0.0]
        """
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -------------------------------------------------------- device and dtype
    def _apply_arrays(self, fn, floating_only=True):
        """Replace every parameter's and buffer's array with ``fn(array)`` in place.

        Parameters keep their identity (optimizers hold references to them).
        """
        for m in self.modules():
            for p in m._parameters.values():
                if p is None or (floating_only and p._data.dtype.kind not in "fc"):
                    continue
                p._data = fn(p._data)
                if p.grad is not None:
                    p.grad._data = fn(p.grad._data)
            for b in m._buffers.values():
                if b is None or (floating_only and b._data.dtype.kind not in "fc"):
                    continue
                b._data = fn(b._data)
        return self

    def to(self, *args, **kwargs):
        """Move parameters and buffers to a device and/or cast floating ones to a dtype.

        ``model.to('cuda')``, ``model.to(nv.float64)``, ``model.to('cpu', nv.float32)``.
        Works in place and returns self.
        """
        device, dtype = _parse_to_args(args, kwargs)
        if device is not None:
            for m in self.modules():
                for t in itertools.chain(m._parameters.values(), m._buffers.values()):
                    if t is None:
                        continue
                    t._data = backend.to_device(t._data, device)
                    if t.grad is not None:
                        t.grad._data = backend.to_device(t.grad._data, device)
        if dtype is not None:
            self._apply_arrays(lambda a: a.astype(dtype) if a.dtype != dtype else a)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        """Move parameters and buffers to the GPU (needs CuPy); ``device`` an index or a spec."""
        if device is None:
            return self.to("cuda")
        return self.to(f"cuda:{device}" if isinstance(device, int) else device)

    def float(self):
        """Cast floating-point parameters and buffers to float32; returns self."""
        return self.to(dtype=np.float32)

    def double(self):
        """Cast floating-point parameters and buffers to float64; returns self."""
        return self.to(dtype=np.float64)

    def half(self):
        return self.to(dtype=np.float16)

    def type(self, dst_type):
        """Cast every parameter and buffer to ``dst_type`` -- integer buffers too, as torch's
        ``Module.type`` does (``to(dtype)`` leaves them alone); returns self."""
        _, dtype = _parse_to_args((), {"dtype": dst_type})
        return self._apply_arrays(lambda a: a.astype(dtype) if a.dtype != dtype else a,
                                  floating_only=False)

    # --------------------------------------------------------------- state
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An OrderedDict of dotted name → Tensor: every parameter and persistent buffer.

        The tensors share memory with the model (detached unless ``keep_vars``); copy them
        (or save them to a file) to keep a snapshot.
        """
        return self._collect_state(destination, prefix, keep_vars, extra=True)

    def _collect_state(self, destination, prefix, keep_vars, extra):
        out = OrderedDict() if destination is None else destination
        # A module used twice is saved under both names, as in PyTorch, so checkpoints
        # interoperate; loading writes the same values twice.
        for mod_prefix, m in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            head = f"{mod_prefix}." if mod_prefix else ""
            for name, p in m._parameters.items():
                if p is not None:
                    out[head + name] = p if keep_vars else p.detach()
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent_buffers:
                    out[head + name] = b if keep_vars else b.detach()
            if extra and type(m).get_extra_state is not Module.get_extra_state:
                out[head + _EXTRA_STATE] = m.get_extra_state()
        return out

    def get_extra_state(self):
        """Override to save extra (non-tensor) state: ``state_dict`` stores what this returns
        under the key ``'_extra_state'``, and ``load_state_dict`` hands it back to
        ``set_extra_state``. Override both."""
        raise RuntimeError(f"{type(self).__name__}.get_extra_state() was called but is not "
                           "overridden; define get_extra_state and set_extra_state together")

    def set_extra_state(self, state):
        """Override to restore what ``get_extra_state`` returned (see there)."""
        raise RuntimeError(f"{type(self).__name__}.set_extra_state() was called but is not "
                           "overridden; define get_extra_state and set_extra_state together")

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values from ``state_dict`` into this model's parameters and buffers.

        Args:
            state_dict: a mapping of dotted name → Tensor or NumPy array.
            strict: require the keys to match exactly (default True). With ``strict=False``
                missing and unexpected keys are tolerated and reported.
            assign: make the state dict's arrays the model's storage instead of copying into
                them (the stored dtype wins; the two then share memory, as in torch).

        Returns:
            a named tuple ``(missing_keys, unexpected_keys)``.

        Raises:
            RuntimeError: one error listing every missing key, unexpected key (strict mode)
                and shape mismatch (always), with the fix.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict expects a mapping of name -> tensor, got "
                            f"{type(state_dict).__name__}")
        own = self._collect_state(None, "", True, extra=False)
        # modules that override set_extra_state take their '_extra_state' entry (torch's rule)
        extra = OrderedDict()
        for mod_prefix, m in self.named_modules(remove_duplicate=False):
            if type(m).set_extra_state is not Module.set_extra_state:
                extra[(f"{mod_prefix}." if mod_prefix else "") + _EXTRA_STATE] = m
        missing = [k for k in itertools.chain(own, extra) if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own and k not in extra]
        mismatched = []
        pending = []
        for k, target in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            arr = v._data if isinstance(v, Tensor) else v
            if not hasattr(arr, "shape"):
                try:
                    arr = np.asarray(arr)
                except Exception as e:  # noqa: BLE001
                    raise TypeError(f"state_dict['{k}'] is a {type(v).__name__}; expected a Tensor "
                                    "or a NumPy array") from e
            if target.ndim == 0 and tuple(arr.shape) == (1,):
                arr = arr.reshape(())   # as torch: older checkpoints stored scalars with shape (1,)
            if tuple(arr.shape) != tuple(target.shape):
                mismatched.append((k, tuple(arr.shape), tuple(target.shape)))
                continue
            pending.append((target, arr, v))
        problems = []
        if strict and missing:
            problems.append("  missing keys (in the model, not in the state dict): "
                            + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            problems.append("  unexpected keys (in the state dict, not in the model): "
                            + ", ".join(repr(k) for k in unexpected))
        for k, got, want in mismatched:
            problems.append(f"  size mismatch for {k!r}: the state dict has shape {got}, "
                            f"the model has shape {want}")
        if problems:
            fix = []
            if mismatched:
                fix.append("build the model with the same layer sizes as the saved one")
            if strict and (missing or unexpected):
                fix.append("check that the architecture matches, or pass strict=False to load "
                           "only the matching keys")
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n"
                               + "\n".join(problems) + "\nFix: " + "; ".join(fix) + ".")
        for k, m in extra.items():
            if k in state_dict:
                m.set_extra_state(state_dict[k])
        for target, arr, v in pending:
            moved = backend.get_array_module(arr) is not backend.get_array_module(target._data)
            if moved:
                arr = backend.to_device(arr, target.device)
            if assign:
                # as torch: the model takes the state dict's storage (no second copy of the
                # weights); a read-only array (a memory-mapped file) is copied so training
                # can write to it
                flags = getattr(arr, "flags", None)
                if flags is not None and not flags.writeable:
                    arr = arr.copy()
                elif isinstance(v, Tensor) and not moved and arr is v._data:
                    if v._vc is None:
                        v._vc = [0, 0]
                    target._vc = v._vc   # one storage, one version counter
                    target._data = arr
                    continue
                target._data = arr
            else:
                target._data[...] = arr
            # as torch's copy_: an in-place write, so a graph built on the old values refuses
            # to backpropagate instead of computing gradients with the loaded ones
            _bump_version(target)
        return _IncompatibleKeys(missing, unexpected)

    # --------------------------------------------------------------- summary
    def summary(self, input_shape=None, batch_size=1, dtype=None, **kwargs):
        """Per-layer output shapes and parameter counts; see ``nerve.nn.summary``."""
        from .summary import summary  # noqa: PLC0415

        return summary(self, input_shape, batch_size=batch_size, dtype=dtype, **kwargs)

    # ------------------------------------------------------------------ repr
    def extra_repr(self):
        """The text inside this module's parentheses in its repr (override in layers)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if len(lines) <= 1 and not self._modules:
            return f"{self._get_name()}({extra})"
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        keys = set(super().__dir__())
        return sorted(k for k in keys if not k[0].isdigit())

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_param_cache", None)
        state.pop("_version_cached", None)
        return state
