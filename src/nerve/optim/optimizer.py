"""``Optimizer``: the base every update rule builds on.

The base class owns everything that is the same for all rules: parameter groups (each a
dict of parameters plus their hyperparameters), the per-parameter ``state`` dict,
``zero_grad``, ``step`` and checkpointing through ``state_dict``/``load_state_dict``.
A subclass writes two things:

* ``init_state(param, group)``: the buffers a parameter needs, built on its first step;
* ``update(param, grad, state, group)``: one in-place update on raw arrays.

``update`` works on NumPy (or CuPy) arrays, never on Tensors, and changes only
``param`` and the buffers in ``state``. A gradient array may be shared between two
parameters by the engine, so it is read and never written.

State keys that start with an underscore are scratch buffers (reused every step to avoid
allocating temporaries); they are left out of ``state_dict``.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.grad_mode import enable_grad
from ..autograd.tensor import Tensor, _bump
from ._flat import CountingDict, FlatGroup

__all__ = ["Optimizer", "required"]


class _Required:
    """Marks a hyperparameter that has no default and must be given."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


def _plain(value):
    """A checkpoint-friendly copy: tuples become lists, arrays are copied to the host."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return np.array(backend.to_device(value, "cpu"), copy=True)
    return value


class Optimizer:
    """Base class for optimizers: parameter groups, per-parameter state and the step loop.

    Args:
        params: an iterable of Tensors, or of dicts, each with a ``"params"`` entry and
            any hyperparameters that override ``defaults`` for that group.
        defaults: the hyperparameters of every group that does not set its own.

    Subclasses implement ``init_state`` and ``update``; see the module docstring.

    Example:
        >>> import nerve as nv
        >>> w = nv.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nv.optim.SGD([w], lr=0.5)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.tolist()
        [0.0, 0.0]
    """

    #: True when ``update`` treats every coordinate independently, so that it may run on
    #: a whole group at once (see ``_flat.py``); custom rules keep the per-tensor loop.
    elementwise = False

    #: State entries that are one number per parameter (NAdam's ``mu_product``, ASGD's ``eta``):
    #: a checkpoint may hold them as 0-d arrays or tensors (PyTorch does); they load as floats.
    scalar_state_keys = ()

    def __init__(self, params, defaults):
        self._flat = {}  # id(group) -> FlatGroup, or False where the per-tensor path is used
        self.defaults = dict(defaults)
        self._check_hyperparameters(self.defaults)
        self.state = CountingDict()  # the flat fast path notices changes by its counter
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__} expects an iterable of Tensors (or of dicts), got a single "
                "Tensor; wrap it in a list: [tensor], or pass model.parameters()")
        if isinstance(params, dict):
            params = [params]
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{type(self).__name__}: parameters must be in an ordered collection "
                            "(a list), not a set, so that state_dict indices are the same on every run")
        groups = list(params)
        if not groups:
            raise ValueError(
                f"{type(self).__name__} got an empty parameter list; pass model.parameters() "
                "(a generator can only be used once: call parameters() again for a new optimizer)")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a group of parameters with its own hyperparameters (e.g. a smaller lr).

        Missing hyperparameters are filled from ``defaults``. Useful for fine-tuning:
        unfreeze a layer and add it with ``opt.add_param_group({"params": layer.parameters(),
        "lr": 1e-4})``.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry, got keys "
                             f"{sorted(param_group)}")
        group = param_group  # kept as the same dict, as in PyTorch: later edits to it take effect
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters must be in an ordered collection (a list), not a set, "
                            "so that state_dict indices are the same on every run")
        params = list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} can only optimize Tensors, but parameter {i} of the group "
                                f"is a {type(p).__name__}")
            if p._data.dtype.kind not in "fc":
                raise TypeError(f"{name} can only optimize floating-point tensors, but parameter {i} "
                                f"has dtype {p._data.dtype}; convert it with .float() or .double()")
            if p._ctx is not None:
                raise ValueError(f"{name} can't optimize a non-leaf tensor (parameter {i} was computed "
                                 "from other tensors); optimize the leaves, or call .detach()"
                                 ".requires_grad_() on it")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter group contains the same tensor more than once")
        group["params"] = params
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{name}: parameter group does not set the required "
                                 f"hyperparameter {key!r}")
            group.setdefault(key, default)
        self._check_hyperparameters(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group; "
                             "each tensor may belong to one group only")
        self.param_groups.append(group)

    def _check_hyperparameters(self, group):
        """Subclasses raise ``ValueError`` naming any invalid value in ``group``."""

    def _require(self, group, key, ok, rule):
        """Raise ``ValueError("SGD: lr must be >= 0, got -1")`` unless ``ok(group[key])``."""
        value = group.get(key)
        if value is required or value is None:
            return
        if not is_number(value):
            raise TypeError(f"{type(self).__name__}: {key} must be a number {rule}, got "
                            f"{value!r} ({type(value).__name__})")
        if not ok(value):
            raise ValueError(f"{type(self).__name__}: {key} must be {rule}, got {value!r}")

    def _require_nonnegative(self, group, *keys):
        """``_require(group, key, v >= 0)`` for each of ``keys``."""
        for key in keys:
            self._require(group, key, lambda v: v >= 0, ">= 0")

    # ------------------------------------------------------------ the update
    def init_state(self, param, group):
        """Return the state dict for ``param`` before its first update (arrays on its device)."""
        return {}

    def group_fast_path_pays(self, group):
        """Whether running ``update`` once on the concatenated group beats the per-tensor loop.

        Only asked when ``elementwise`` is True. The fast path adds one gather of the
        gradients per step (the parameters already live in the flat buffer).
        """
        return True

    def update(self, param, grad, state, group):
        """Update the array ``param`` in place from the array ``grad``."""
        raise NotImplementedError(f"{type(self).__name__} must implement update(param, grad, state, group)")

    def step(self, closure=None):
        """Apply one update to every parameter that has a gradient.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss
                (it should call ``zero_grad`` and ``backward`` itself); it runs with
                gradients enabled and its result is returned.

        Parameters whose ``.grad`` is ``None`` are skipped.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        state = self.state
        init = self.init_state
        update = self.update
        flat = self._flat
        for group in self.param_groups:
            if self.elementwise:
                fast = flat.get(id(group))
                if fast is None:
                    fast = FlatGroup.build(self, group)
                    if fast is not None:
                        flat[id(group)] = fast
                if fast:
                    done = fast.group is group and fast.step(update)
                    if done is None:  # the state was cleared or replaced: build the group again
                        fast = FlatGroup.build(self, group)
                        flat[id(group)] = fast
                        done = fast.step(update) if fast else fast
                    if done:
                        continue
                    if done is not None:
                        flat[id(group)] = False  # from now on the per-tensor path (its state is shared)
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                s = state.get(p)
                if s is None:
                    s = state[p] = init(p._data, group)
                if p._data.dtype.kind == "c":
                    _update_as_real(update, p._data, g._data, s, group)
                else:
                    update(p._data, g._data, s, group)
                _bump(p)  # a saved copy of p is stale now: backward through it would raise
        return loss

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's gradient.

        Args:
            set_to_none: drop ``.grad`` (default, cheapest); with ``False`` the gradient
                becomes a fresh array of zeros instead.
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if g._ctx is not None:
                        g.detach_()
                    g._data = np.zeros_like(g._data)

    # --------------------------------------------------------- checkpointing
    def state_dict(self):
        """Return the optimizer's state as plain data, keyed by parameter index.

        The result holds ``"state"`` (``{index: {name: array or number}}``, indices
        counting parameters across groups in order, as in PyTorch) and
        ``"param_groups"`` (the hyperparameters, with ``"params"`` replaced by indices).
        It contains only NumPy arrays (copies), numbers, bools, strings, ``None``, lists
        and dicts, so it can be written to safetensors/JSON.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: _plain(v) for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = {k: _plain(v) for k, v in s.items() if not k.startswith("_")}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore state saved by ``state_dict()`` into an optimizer over the same parameters.

        Arrays are copied, cast to each parameter's dtype and moved to its device.
        Hyperparameters come from the checkpoint; one it lacks (saved before that option
        existed, e.g. by an older PyTorch) keeps this optimizer's value.
        """
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the checkpoint has {len(saved_groups)} parameter "
                             f"groups but this optimizer has {len(self.param_groups)}")
        for i, (g, sg) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has {len(g['params'])} "
                                 f"parameters but the checkpoint's has {len(sg['params'])}")
        by_index = {}
        for g, sg in zip(self.param_groups, saved_groups):
            for p, idx in zip(g["params"], sg["params"]):
                by_index[int(idx)] = (p, g)
        # Check every entry before changing anything: a refused checkpoint must leave the
        # optimizer as it was (its moments and learning rates), not half-loaded.
        for idx, saved in state_dict["state"].items():
            idx = int(idx)
            if idx not in by_index:
                raise ValueError(f"{name}.load_state_dict: the checkpoint has state for parameter "
                                 f"{idx}, but there are only {len(by_index)} parameters")
            p = by_index[idx][0]
            for k, v in saved.items():
                if (k != "step" and k not in self.scalar_state_keys and hasattr(v, "shape")
                        and hasattr(v, "dtype") and tuple(v.shape) != tuple(p._data.shape)):
                    raise ValueError(f"{name}.load_state_dict: state {k!r} of parameter {idx} has "
                                     f"shape {tuple(v.shape)} but the parameter has shape "
                                     f"{tuple(p._data.shape)}")
        new_groups = []
        for g, sg in zip(self.param_groups, saved_groups):
            new = {}
            for k, v in sg.items():
                if k == "params":
                    continue
                if isinstance(g.get(k), tuple) and isinstance(v, list):
                    v = tuple(v)
                new[k] = v
            for k, v in g.items():  # an older checkpoint, from before an option existed: keep
                new.setdefault(k, v)  # this optimizer's setting (PyTorch fills its default)
            new["params"] = g["params"]
            new_groups.append(new)
        self.param_groups = new_groups
        self._flat = {}
        groups_of = {id(p): g for g in new_groups for p in g["params"]}
        self.state = CountingDict()  # the flat fast path notices changes by its counter
        for idx, saved in state_dict["state"].items():
            p = by_index[int(idx)][0]
            s = self.init_state(p._data, groups_of[id(p)])
            ours = {k for k in s if k != "step" and not k.startswith("_")}
            theirs = {k for k in saved if k != "step"}
            if ours and theirs and not ours & theirs:
                raise ValueError(f"{name}.load_state_dict: the checkpoint's state for parameter {idx} "
                                 f"holds {sorted(theirs)}, none of which {name} keeps ({sorted(ours)}); "
                                 f"load it into the optimizer that saved it")
            for k, v in saved.items():
                if k == "step":
                    s[k] = int(np.asarray(v).item()) if hasattr(v, "shape") else int(v)
                elif k in self.scalar_state_keys:
                    s[k] = float(np.asarray(v).item()) if hasattr(v, "shape") else float(v)
                elif hasattr(v, "shape") and hasattr(v, "dtype"):  # shape checked above
                    s[k] = copy_of(p._data, backend.to_device(v, p.device))
                else:
                    s[k] = v
            self.state[p] = s

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)


# ----------------------------------------------------------------- helpers
def as_real(a):
    """A real view of the complex array ``a``, shape ``a.shape + (2,)``: (real, imaginary)."""
    return a[..., None].view(a.real.dtype)


def _update_as_real(update, param, grad, state, group):
    """Run ``update`` on a complex parameter as on a real one of twice the size, as PyTorch
    does (``view_as_real``): real and imaginary parts are independent coordinates, so the
    squares, roots, signs and maxima of the rules act on each part, not on complex numbers.
    The state keeps complex arrays (as PyTorch's); buffers ``update`` makes are kept as
    complex views of what it made."""
    views = {k: as_real(v) for k, v in state.items() if hasattr(v, "dtype") and v.dtype.kind == "c"}
    real = dict(state, **views)
    update(as_real(param), as_real(grad), real, group)
    for k, v in real.items():
        if v is views.get(k):
            continue  # updated in place
        if hasattr(v, "dtype") and v.dtype.kind == "f" and v.shape == param.shape + (2,):
            v = np.ascontiguousarray(v).view(param.dtype)[..., 0]  # a buffer made by update
        state[k] = v


def scratch(state, key, like):
    """Return the scratch array ``state[key]`` (same shape and dtype as ``like``), made once."""
    buf = state.get(key)
    if buf is None:
        buf = state[key] = np.empty_like(like)
    return buf


def effective_grad(param, grad, state, weight_decay, maximize):
    """The gradient the rule actually follows: ``(-grad if maximize else grad) + wd * param``.

    Returns ``grad`` itself when there is nothing to add (no copy), otherwise a scratch
    buffer (``state["_grad"]``) holding the result. ``grad`` is never modified.
    NOTE: wd·p + g is bitwise equal to wd·p − (−g), so maximizing −f follows exactly the
    trajectory of minimizing f.
    """
    if not weight_decay and not maximize:
        return grad
    out = scratch(state, "_grad", param)
    if weight_decay:
        np.multiply(param, weight_decay, out=out)
        if maximize:
            out -= grad
        else:
            out += grad
    else:
        np.negative(grad, out=out)
    return out


def decayed_grad(param, grad, state, group, decoupled):
    """The gradient an Adam-family rule follows, after its weight decay.

    ``decoupled`` (AdamW's rule): the weights shrink by ``lr·weight_decay`` here and the raw
    gradient is returned; otherwise the decay enters the gradient as an L2 term
    (:func:`effective_grad`). ``maximize`` is applied either way.
    """
    wd = group["weight_decay"]
    if decoupled:
        if wd:
            param *= 1 - group["lr"] * wd
        wd = 0
    return effective_grad(param, grad, state, wd, group["maximize"])


def ema_sq_(avg_sq, d, beta, tmp):
    """``avg_sq ← β·avg_sq + (1 − β)·d²`` in place (Adam's second moment), as PyTorch rounds it."""
    avg_sq *= beta
    np.multiply(d, 1 - beta, out=tmp)
    tmp *= d
    avg_sq += tmp
    return avg_sq


def copy_of(like, values):
    """A new array shaped like ``like`` (same dtype and device) holding ``values``."""
    out = np.empty_like(like)
    out[...] = values
    return out


def is_number(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def lerp_(avg, target, weight, tmp):
    """``avg ← avg + weight·(target − avg)`` in place, rounded as ``torch.lerp`` rounds.

    NOTE: torch switches to ``target − (target − avg)·(1 − weight)`` when ``weight >= 0.5``;
    following both branches keeps the moments bitwise where the formulas agree.
    """
    np.subtract(target, avg, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        avg += tmp
    else:
        tmp *= 1 - weight
        np.subtract(target, tmp, out=avg)
    return avg


def check_betas(opt, group):
    """Raise ``ValueError`` unless ``group['betas']`` is a pair in [0, 1)."""
    betas = group.get("betas")
    if betas is None:
        return
    if len(betas) != 2:
        raise ValueError(f"{type(opt).__name__}: betas must be a pair (beta1, beta2), got {betas!r}")
    for i, b in enumerate(betas):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"{type(opt).__name__}: betas[{i}] must be in [0, 1), got {b!r}")


def torch_only_flags(opt, differentiable=False, capturable=False):
    """Accept PyTorch's ``foreach``/``capturable``/``differentiable`` arguments: the first two
    change nothing here (one NumPy code path, no CUDA graphs); ``differentiable=True``
    (gradients through the update itself) is not supported and says so."""
    if differentiable:
        raise ValueError(f"{type(opt).__name__}: differentiable=True (backpropagating through the "
                         "optimizer step) is not supported by nerve; leave it False")
