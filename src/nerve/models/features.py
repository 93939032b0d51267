"""Reusing a trained network: intermediate outputs through forward hooks, and a new head.

* ``feature_extractor(model, layers)``: a Module whose call returns ``{layer name: output}``
  for the named sub-modules (dotted names, as in ``named_modules``), gathered by forward
  hooks while the wrapped model runs, so the values are exactly what those layers produced.
* ``extract_features(model, layers, x)``: the same as NumPy arrays, in batches, without a
  graph and in ``eval()`` mode.
* ``replace_head(model, num_classes)``: swap the last ``Linear`` for a fresh one (transfer
  learning keeps the body and learns a new classifier).
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad

__all__ = ["FeatureExtractor", "feature_extractor", "extract_features", "replace_head"]


class FeatureExtractor(nn.Module):
    """Run ``model`` and return the outputs of the sub-modules named in ``layers``.

    Args:
        model: any Module.
        layers: dotted sub-module names (``"features.3"``), or a dict of name → the key to
            report it under.
        stop_early: skip what the model would compute after the last requested layer is
            reached (the rest of the forward pass raises internally and is abandoned).

    Calling it returns a dict ``{key: Tensor}`` in the order of ``layers``. The hooks stay
    registered until ``remove()``; the extractor shares the model's parameters.

    Example:
        >>> import nerve as nv
        >>> net = nv.nn.Sequential(nv.nn.Linear(4, 8), nv.nn.ReLU(), nv.nn.Linear(8, 2))
        >>> feats = feature_extractor(net, ["1"])(nv.ones(3, 4))
        >>> list(feats), feats["1"].shape
        (['1'], (3, 8))
    """

    def __init__(self, model, layers, stop_early=False):
        super().__init__()
        if isinstance(layers, str):
            layers = [layers]
        names = dict(layers) if isinstance(layers, dict) else {n: n for n in layers}
        if not names:
            raise ValueError("feature_extractor needs at least one layer name")
        modules = dict(model.named_modules())
        unknown = [n for n in names if n not in modules]
        if unknown:
            raise ValueError(f"no sub-module named {unknown[0]!r} in {type(model).__name__}; the names "
                             f"are: {', '.join(repr(k) for k in modules if k)}")
        self.model = model
        self.__dict__["_keys"] = names
        self.__dict__["_stop_early"] = bool(stop_early)
        self.__dict__["_store"] = {}
        self.__dict__["_handles"] = [modules[n].register_forward_hook(self._hook(n)) for n in names]

    def _hook(self, name):
        def hook(module, args, out):
            store = self._store
            store[self._keys[name]] = out
            if self._stop_early and len(store) == len(self._keys):
                raise _Done
        return hook

    def forward(self, x):
        self._store.clear()
        try:
            self.model(x)
        except _Done:
            pass
        missing = [k for k in self._keys.values() if k not in self._store]
        if missing:
            raise RuntimeError(f"layers {missing} did not run in the forward pass of "
                               f"{type(self.model).__name__}; pick modules that its forward calls")
        out = {k: self._store[k] for k in self._keys.values()}
        self._store.clear()
        return out

    def remove(self):
        """Unregister the hooks; the model behaves as before."""
        for h in self._handles:
            h.remove()
        self._handles.clear()


class _Done(Exception):
    """Raised inside the hooks to end a forward pass early."""


def feature_extractor(model, layers, stop_early=False):
    """A ``FeatureExtractor`` over ``model`` for ``layers`` (see its docstring)."""
    return FeatureExtractor(model, layers, stop_early=stop_early)


def extract_features(model, layers, x, batch_size=256, flatten=True):
    """The outputs of ``layers`` for the inputs ``x``, as NumPy arrays, in batches.

    Runs under ``no_grad`` with the model in ``eval()`` mode (every sub-module's own mode is
    put back afterwards). A floating NumPy ``x`` takes the dtype of the model's weights. With
    ``flatten`` each array is reshaped to (N, features), ready for a linear probe.
    """
    arr = x._data if isinstance(x, Tensor) else np.asarray(x)
    if not isinstance(x, Tensor) and arr.dtype.kind == "f":  # float64 arrays into a float32 model
        dtype = next((p._data.dtype for p in model.parameters() if p._data.dtype.kind == "f"), arr.dtype)
        arr = arr.astype(dtype, copy=False)
    # model.train(was_training) would flip a sub-module kept in eval (a frozen BatchNorm) to train
    modes = [(m, m.training) for m in model.modules()]
    ext = FeatureExtractor(model, layers, stop_early=True)
    parts = {}
    model.eval()
    try:
        with no_grad():
            for i in range(0, len(arr), batch_size):
                for k, v in ext(Tensor(arr[i:i + batch_size])).items():
                    parts.setdefault(k, []).append(np.asarray(v.numpy()))
    finally:
        ext.remove()
        for m, mode in modes:
            m.training = mode
    out = {k: np.concatenate(v) for k, v in parts.items()}
    return {k: v.reshape(len(v), -1) for k, v in out.items()} if flatten else out


def replace_head(model, num_classes, name=None):
    """Put a freshly initialised ``Linear(in_features, num_classes)`` in place of the head.

    ``name`` is the dotted name of the layer to replace (default: the last ``Linear`` in
    ``named_modules`` order). Returns the new layer; the model is changed in place.
    """
    if name is None:
        linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
        if not linears:
            raise ValueError(f"{type(model).__name__} has no Linear layer to replace; pass name=")
        name = linears[-1]
    old = model.get_submodule(name)
    if not isinstance(old, nn.Linear):
        raise TypeError(f"{name!r} is a {type(old).__name__}, not a Linear; name the classifier layer")
    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    new = new.to(old.weight.dtype)
    parent_name, _, leaf = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, leaf, new)
    return new
