"""Fast path: run an elementwise update rule once over a whole parameter group.

Every rule in this package updates each coordinate from that coordinate alone (no norms
across a tensor), so the rule gives bitwise the same numbers whether it runs tensor by
tensor or on all of a group's tensors laid end to end. With many small tensors (a small
MLP: weights and biases of a few layers) the per-call overhead of NumPy dominates, and one
pass over a concatenation replaces ~13 calls per tensor by ~13 calls per group:

    G ← concat(grads);  update(P, G, flat_state)   where every parameter's storage is a slice of P

On its first step the group copies the parameters into P and makes each parameter's array
its slice of P (PyTorch's "flat parameters"), so no gather or scatter is needed afterwards.
Parameters the user made as views lying end to end in one buffer of their own keep that
buffer as P, so it goes on following them (as in PyTorch); views of one user buffer laid
out any other way keep the per-tensor path, which updates them where they are.
Code that holds a parameter's old array (``a = p.numpy()`` before the first step) keeps a
stale copy; code that writes ``p.data[...]`` / ``p.copy_()`` writes into P. If a parameter's
array is swapped (``p.data = ...``, ``module.double()``) the group re-adopts it.

The state buffers live in flat arrays too, and each parameter's ``state[p]`` holds views
into them, so ``opt.state[p]``, ``state_dict()`` and the per-tensor path (used as soon as
a step has a parameter without a gradient) see the same numbers. Writing into those views
changes the flat state; replacing an entry (``opt.state[p]["exp_avg"] = ...``, ``["step"] =
0``) or emptying ``opt.state`` makes the next step build the group again from what the
state then holds, as the per-tensor path would use it. To notice those changes without
looking at every entry on every step, ``opt.state`` and the per-parameter dicts of a group
are CountingDict objects: each change made through a dict method bumps a counter, and a
step compares two counters (a plain dict put in ``opt.state`` is checked entry by entry).
"""
from __future__ import annotations

import weakref

import numpy as np

from ..autograd.tensor import _bump

# Above this mean tensor size the per-call overhead is negligible and the extra copies
# (gather P and G, scatter P) would cost more than they save.
MAX_MEAN_SIZE = 1 << 15


_UNSET = object()

# The flat buffers (P) made here, so that parameters already living in one of them are told
# apart from parameters a user made as views of a buffer of their own.
_OWN_BUFFERS = weakref.WeakValueDictionary()


def _root(a):
    """The array that owns ``a``'s memory (``a`` itself when it owns it)."""
    while isinstance(getattr(a, "base", None), np.ndarray):
        a = a.base
    return a


def _address(a):
    return a.__array_interface__["data"][0]


def _user_storage(arrays):
    """How the parameters' arrays relate to a buffer the user made them views of.

    Returns ``(region, shared)``: ``region`` is a 1-D view of that buffer when all arrays
    are C-contiguous views lying end to end in it, in order (the group then uses it as its
    flat buffer, so the user's buffer keeps following the parameters, as in PyTorch);
    ``shared`` is True when two arrays are views of one user buffer in any other way (the
    group then keeps the per-tensor path, which updates them where they are). Buffers made
    by this module are not the user's. (A single parameter that is a view cannot be told
    apart from one whose array was merely reshaped, and is moved like any other.)
    """
    if type(arrays[0]) is not np.ndarray:
        return None, False
    roots = [_root(a) for a in arrays]
    if not all(r.flags.writeable for r in roots):
        return None, False  # a read-only buffer (a mapped file) cannot be updated in place: copy
    owners = [id(r) for r, a in zip(roots, arrays) if r is not a and id(r) not in _OWN_BUFFERS]
    if len(set(owners)) == len(owners):
        return None, False  # no user buffer holds two of them
    root = roots[0]
    if len(owners) != len(arrays) or any(r is not root for r in roots) \
            or not root.flags.c_contiguous or root.dtype != arrays[0].dtype:
        return None, True
    itemsize = root.itemsize
    start = end = _address(arrays[0])
    for a in arrays:
        if a.size and (not a.flags.c_contiguous or _address(a) != end):
            return None, True
        end += a.size * itemsize
    offset = (start - _address(root)) // itemsize
    return root.reshape(-1)[offset:offset + (end - start) // itemsize], False


class CountingDict(dict):
    """A dict that counts the changes made through its methods in ``counter[0]``.

    Several dicts may share one counter (a flat group's per-parameter states do), so one
    comparison tells whether any of them changed. Reads cost what a dict's cost.
    """

    __slots__ = ("counter",)

    def __init__(self, *args, counter=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.counter = [0] if counter is None else counter

    def __setitem__(self, key, value):
        self.counter[0] += 1
        dict.__setitem__(self, key, value)

    def __delitem__(self, key):
        self.counter[0] += 1
        dict.__delitem__(self, key)

    def clear(self):
        self.counter[0] += 1
        dict.clear(self)

    def pop(self, *args):
        self.counter[0] += 1
        return dict.pop(self, *args)

    def popitem(self):
        self.counter[0] += 1
        return dict.popitem(self)

    def setdefault(self, key, default=None):
        if key not in self:
            self.counter[0] += 1
        return dict.setdefault(self, key, default)

    def update(self, *args, **kwargs):
        self.counter[0] += 1
        dict.update(self, *args, **kwargs)

    def __ior__(self, other):
        self.counter[0] += 1
        return dict.__ior__(self, other)

    def __reduce__(self):  # copy, deepcopy and pickle keep the entries and the shared counter
        return (_counting_dict, (dict(self), self.counter))


def _counting_dict(entries, counter):
    return CountingDict(entries, counter=counter)


def _is_array(v):
    return hasattr(v, "shape") and hasattr(v, "dtype")


class FlatGroup:
    """A parameter group run as one concatenated array (see the module docstring). ``region``:
    the user's buffer the parameters already lie in end to end (``_user_storage``), if any."""

    def __init__(self, opt, group, params, state, region=None):
        self.opt = opt
        self.group = group
        self.params = list(params)  # the tensors it was built for (the group's list may be edited)
        self.shapes = [p._data.shape for p in params]
        sizes = [int(np.prod(s)) for s in self.shapes]
        self.offsets = np.cumsum([0] + sizes).tolist()
        like = params[0]._data
        total = self.offsets[-1]
        # parameters made as views lying end to end in a buffer of the user's keep it as
        # their storage; otherwise they move into a new buffer of the group's
        self.P = region if region is not None else np.empty_like(like, shape=(total,))
        _OWN_BUFFERS[id(self.P)] = self.P
        self.G = np.empty_like(like, shape=(total,))
        self.param_views = self._views(self.P)
        self.state = state
        # Each parameter's state dict becomes a CountingDict sharing the group's counter (its
        # entries kept), so a step sees a replaced entry by comparing one number.
        self.counter = [0]
        states = opt.state
        self.param_states = []
        for p in params:
            s = CountingDict(states.get(p) or (), counter=self.counter)
            states[p] = s
            self.param_states.append(s)
        self.seen = {}
        self._sync_views()
        self._remember()

    def _remember(self):
        """Note the counters after the group's own writes; a later difference is the user's."""
        self.counted = self.counter[0]
        self.opt_state = st = self.opt.state
        self.opt_state_counted = st.counter[0] if type(st) is CountingDict else None

    @classmethod
    def build(cls, opt, group):
        """A FlatGroup for ``group``; False if the fast path cannot apply, None to decide later."""
        params = group["params"]
        if len(params) < 2 or not opt.group_fast_path_pays(group):
            return False
        first = params[0]._data
        dtype, xp = first.dtype, type(first)
        if dtype.kind == "c":
            return False  # complex parameters update as real pairs, tensor by tensor
        total = 0
        for p in params:
            if p._data.dtype != dtype or type(p._data) is not xp:
                return False
            if p.grad is None:
                return None  # decide on a later step
            total += p._data.size
        if total > MAX_MEAN_SIZE * len(params):
            return False
        region, shared = _user_storage([p._data for p in params])
        if shared:
            return False  # views of one user buffer, not end to end: update them where they are
        states = [opt.state.get(p) for p in params]
        if all(s is None for s in states):
            state = opt.init_state(np.empty_like(first, shape=(total,)), group)
        else:
            state = cls._adopt(params, states)
            if state is None:
                return False
        return cls(opt, group, params, state, region)

    @staticmethod
    def _adopt(params, states):
        """Concatenate existing per-tensor states (e.g. just loaded), if they line up."""
        if any(s is None for s in states) or len({tuple(sorted(s)) for s in states}) != 1:
            return None
        flat = {}
        for key in states[0]:
            values = [s[key] for s in states]
            if all(_is_array(v) for v in values):
                if any(v.shape != p._data.shape for v, p in zip(values, params)):
                    return None
                flat[key] = np.concatenate([v.reshape(-1) for v in values])
            elif all(v is None for v in values) or all(v == values[0] for v in values):
                flat[key] = values[0]  # shared scalars such as the step count
            else:
                return None
        return flat

    def _views(self, flat):
        o = self.offsets
        return [flat[o[i]:o[i + 1]].reshape(s) for i, s in enumerate(self.shapes)]

    def _sync_views(self):
        """Point every per-tensor state at the flat state: slices of its arrays, its scalars.
        (Written with dict.__setitem__: the group's own writes do not count as changes.)"""
        param_states = self.param_states
        seen = self.seen
        put = dict.__setitem__
        for key, value in self.state.items():
            if seen.get(key, _UNSET) is value and (value is None or type(value) is not int):
                continue  # the same buffer (or None) as last step: the views already point at it
            if _is_array(value):
                seen[key] = value  # a buffer made (or remade) by update()
                for s, v in zip(param_states, self._views(value)):
                    put(s, key, v)
            else:
                seen[key] = value
                for s in param_states:
                    put(s, key, value)

    def _state_changed(self):
        """True if the user changed ``opt.state`` since the last step: cleared or replaced it,
        replaced or removed a parameter's entry, or replaced a value in one."""
        if self.counter[0] != self.counted:
            return True  # an entry of one of the group's per-parameter dicts was replaced
        st = self.opt.state
        if st is not self.opt_state:
            return True  # opt.state = {...}
        if self.opt_state_counted is not None:
            return st.counter[0] != self.opt_state_counted
        # a plain dict the user put there: look at every parameter's entry
        return any(st.get(p) is not s for p, s in zip(self.params, self.param_states))

    def step(self, update):
        """One update of the whole group; False (and nothing done) if it no longer applies,
        None (nothing done) if the optimizer's state was cleared or replaced since the last
        step, so that the group must be built again from what ``opt.state`` now holds."""
        params = self.params
        if len(self.group["params"]) != len(params):
            return False  # the group's list was edited
        grads = []
        moved = False  # a parameter's array is no longer its slice of P
        for p, q, v in zip(self.group["params"], params, self.param_views):
            if p is not q:
                return False  # a tensor of the group was replaced: it gets a state of its own
            g = p._grad
            if g is None:
                return False
            grads.append(g._data)
            if p._data is not v:
                moved = True
        if self._state_changed():
            # ``opt.state.clear()``, ``opt.state = {}``, an entry replaced, or a value in one
            # (``["exp_avg"] = ...``, ``["step"] = 0``): the flat buffers no longer are the
            # optimizer's state, so the group is built again from what it now holds (PyTorch
            # uses the new values too).
            return None
        np.concatenate(grads, axis=None, out=self.G)  # axis=None: each gradient read flat
        if moved and not self._adopt_params():
            return False
        update(self.P, self.G, self.state, self.group)  # writes straight into every parameter
        _bump(params[0])  # the group's parameters share one storage, so one version counter
        self._sync_views()
        self._remember()
        return True

    def _adopt_params(self):
        """Make each parameter's storage its slice of P (copying its current values in), so
        a step needs no gather and no scatter. False if a parameter changed shape, dtype or
        array type since the group was built (the per-tensor path then takes over)."""
        P = self.P
        for p, shape in zip(self.params, self.shapes):
            d = p._data
            if d.shape != shape or d.dtype != P.dtype or type(d) is not type(P):
                return False
        np.concatenate([p._data.reshape(-1) for p in self.params], out=P)
        vc = [0, 0]  # one storage now: one counter (aliases of the old arrays no longer share it)
        for p, v in zip(self.params, self.param_views):
            p._data = v
            p._vc = vc
        return True
