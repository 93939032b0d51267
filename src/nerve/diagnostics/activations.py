"""Dead units, sparsity and saturation of activation layers, measured with forward hooks."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..autograd import Tensor, no_grad

# Rectifiers: a unit whose output is <= 0 on every input is "dead" (for ReLU and ReLU6 the
# output is then exactly 0 and so is the gradient through it).
RECTIFIERS = ("ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "SiLU")
# Bounded activations and their (lower, upper) bounds, for saturation.
BOUNDED = {"Sigmoid": (0.0, 1.0), "Tanh": (-1.0, 1.0), "Softsign": (-1.0, 1.0)}
ACTIVATIONS = RECTIFIERS + tuple(BOUNDED) + ("Softplus", "Hardtanh")


def is_activation(module) -> bool:
    """True for element-wise activation layers (ReLU family, Sigmoid, Tanh ...), not Softmax."""
    return type(module).__name__ in ACTIVATIONS


@dataclass
class ActivationStats:
    """Statistics of one activation layer's outputs (see :func:`activation_stats`).

    Attributes:
        kind: the layer's class name ("ReLU", "Sigmoid" ...).
        units: how many units the layer has (features, or channels for (N, C, ...) conv
            outputs).
        samples: how many inputs were seen.
        dead_fraction: share of units whose output was <= 0 for every input (rectifiers
            only, else ``None``).
        dead_units: the indices of those units.
        sparsity: share of output values that are exactly 0.
        saturation: share of outputs within ``tol`` of a bound (sigmoid, tanh, softsign;
            else ``None``).
        mean, std: of all output values.
    """

    kind: str
    units: int
    samples: int
    dead_fraction: float | None
    dead_units: np.ndarray | None
    sparsity: float
    saturation: float | None
    mean: float
    std: float


class ActivationRecorder:
    """Accumulates per-layer counts over any number of forward passes.

    ``attach(model)`` puts a forward hook on every activation layer (and a light one on each
    layer with weights, to know which axis holds the units), ``detach()`` takes them off,
    and ``stats()`` returns ``{layer name: ActivationStats}`` over everything seen in
    between. ``TrainingDoctor`` keeps one attached for a whole epoch, with
    ``training_only=True`` so that validation passes (run in ``eval()`` mode) are not counted.
    """

    def __init__(self, tol: float = 0.01, training_only: bool = False):
        if not 0.0 < tol < 0.5:
            raise ValueError(f"tol must be in (0, 0.5), got {tol}")
        self.tol = float(tol)
        self.training_only = bool(training_only)
        self.enabled = True  # switched off, the hooks stay in place but record nothing
        self._handles = []
        self._activations = 0  # how many of the hooks sit on activation layers
        self._last = None  # (unit axis, output shape) of the last layer with weights that ran
        self.reset()

    def reset(self):
        self._acc = {}

    def attach(self, model):
        if not hasattr(model, "named_modules"):
            raise TypeError(f"expected a Module, got {type(model).__name__}")
        self.detach()
        last = _features_last_types()
        # each forward pass starts with no layer seen (a shape left from the previous pass's
        # last Linear must not decide the units of an activation that runs first)
        self._handles.append(model.register_forward_pre_hook(lambda module, args: self._forget_last()))
        for name, m in model.named_modules():
            if is_activation(m):
                self._handles.append(m.register_forward_hook(self._hook(name)))
                self._activations += 1
            elif isinstance(m, last):
                self._handles.append(m.register_forward_hook(self._shape_hook(-1)))
            elif next(iter(m.parameters(recurse=False)), None) is not None:  # a conv, a BatchNorm ...
                self._handles.append(m.register_forward_hook(self._shape_hook(1)))
        return self

    def _forget_last(self):
        self._last = None

    def _shape_hook(self, axis):
        """Remember where the units of the latest weighted layer's output are: its last axis
        after a Linear (features of an (N, T, F) sequence), axis 1 after a conv."""
        def hook(module, args, out):
            self._last = (axis, tuple(getattr(out, "shape", ())))
        return hook

    def detach(self):
        for h in self._handles:
            h.remove()
        self._handles = []
        self._last = None
        self._activations = 0

    @property
    def attached(self) -> bool:
        """Whether hooks sit on at least one activation layer."""
        return self._activations > 0

    def _hook(self, name):
        def hook(module, args, out):
            if not self.enabled or (self.training_only and not module.training):
                return
            arr = out._data if isinstance(out, Tensor) else out
            # the units follow the layer that made the input, when its output is what this
            # activation received (same shape); after a reshape (Unflatten) they are axis 1
            axis = self._last[0] if self._last is not None and self._last[1] == tuple(arr.shape) else 1
            self.update(name, type(module).__name__, arr, unit_axis=axis)
        return hook

    def update(self, name: str, kind: str, out, unit_axis: int = 1) -> None:
        out = np.asarray(out)
        n = out.shape[0] if out.ndim else 1
        # reduce over every axis but the unit axis: 1 for (N, C, ...) after a conv, the last
        # for (N, ..., F) after a Linear (a sequence model's features, not its time steps)
        unit = (unit_axis % out.ndim) if out.ndim >= 2 else None
        axes = tuple(i for i in range(out.ndim) if i != unit) if unit is not None else None
        width = out.shape[unit] if unit is not None else 1
        a = self._acc.get(name)
        if a is None:
            a = self._acc[name] = {"kind": kind, "units": width, "samples": 0, "values": 0,
                                   "zeros": 0, "saturated": 0, "sum": 0.0, "sumsq": 0.0,
                                   "ever_positive": np.zeros(width, dtype=bool)}
        if a["units"] != width:
            raise ValueError(f"activation layer {name!r} changed width from {a['units']} to "
                             f"{width} between batches; reset() the recorder between models")
        a["samples"] += n
        a["values"] += out.size
        a["zeros"] += int(np.count_nonzero(out == 0))
        a["sum"] += float(out.sum(dtype=np.float64))
        a["sumsq"] += float(np.square(out, dtype=np.float64).sum())
        if kind in RECTIFIERS:
            a["ever_positive"] |= (out > 0).any(axis=axes) if axes is not None else bool((out > 0).any())
        if kind in BOUNDED:
            lo, hi = BOUNDED[kind]
            a["saturated"] += int(np.count_nonzero((out <= lo + self.tol) | (out >= hi - self.tol)))

    def stats(self) -> dict:
        res = {}
        for name, a in self._acc.items():
            v = max(a["values"], 1)
            mean = a["sum"] / v
            rect = a["kind"] in RECTIFIERS
            dead = np.flatnonzero(~a["ever_positive"]) if rect else None
            res[name] = ActivationStats(
                kind=a["kind"], units=a["units"], samples=a["samples"],
                dead_fraction=(dead.size / a["units"]) if rect else None, dead_units=dead,
                sparsity=a["zeros"] / v,
                saturation=(a["saturated"] / v) if a["kind"] in BOUNDED else None,
                mean=mean, std=float(np.sqrt(max(a["sumsq"] / v - mean * mean, 0.0))))
        return res


def _features_last_types():
    """Layers whose outputs hold their units on the last axis: (N, ..., F)."""
    from .. import nn  # noqa: PLC0415

    return tuple(c for c in (getattr(nn, k, None) for k in ("Linear", "LayerNorm", "Embedding", "RMSNorm",
                                                            "MultiheadAttention")) if isinstance(c, type))


def as_model_input(model, x):
    """Wrap ``x`` in a Tensor; a floating NumPy array takes the dtype of the model's weights."""
    if isinstance(x, Tensor):
        return x
    x = np.asarray(x)
    if x.dtype.kind == "f":
        for p in model.parameters():
            if p._data.dtype.kind == "f":
                x = x.astype(p._data.dtype, copy=False)
                break
    return Tensor(x)


def _plain_numbers(data):
    """True when ``data`` is a list (of lists ...) of Python numbers: an array written out."""
    first = data
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    if not isinstance(first, (int, float, np.number)) or isinstance(first, bool):
        return False
    try:
        return np.asarray(data).dtype.kind in "iuf"
    except ValueError:  # ragged: pairs of (inputs, target) rather than one array
        return False


def _batches(data):
    if isinstance(data, (np.ndarray, Tensor)):
        yield data
        return
    if isinstance(data, (list, tuple)) and data and _plain_numbers(data):
        # a (nested) list of numbers is one batch; iterating it as batches would keep only
        # the first number of each row, taken for an (inputs, targets) pair
        yield np.asarray(data)
        return
    for batch in data:
        yield batch[0] if isinstance(batch, (tuple, list)) else batch


def activation_stats(model, data, tol: float = 0.01) -> dict:
    """Dead units, sparsity and saturation of every activation layer in ``model``.

    Runs ``model`` on ``data`` without recording a graph, with a forward hook on each
    activation layer (ReLU family, Sigmoid, Tanh, Softsign, Softplus, Hardtanh). Per layer:

    * **dead fraction**: a unit is dead when its output is <= 0 for *every* input seen (for
      ReLU that means exactly 0, so no gradient reaches its weights);
    * **sparsity**: the fraction of output values that are exactly 0. For ReLU this is
      P(pre-activation <= 0), which depends on the data and weights: 0.5 for N(0, 1)
      pre-activations but Φ(−1) ≈ 0.159 for N(1, 1);
    * **saturation** (sigmoid, tanh, softsign): the fraction of outputs within ``tol`` of a
      bound, where the derivative is nearly 0 (σ′ ≤ tol at σ ≥ 1 − tol).

    Units are the features of (N, F) outputs, the channels (dimension 1) of (N, C, ...)
    outputs after a conv or BatchNorm, and the last dimension of (N, ..., F) outputs after a
    Linear, LayerNorm or Embedding (a sequence model's features, not its time steps).

    Args:
        model: a ``Module``; a bare activation layer works too (its name is ``""``).
        data: one batch (array or Tensor) or an iterable of batches, e.g. a DataLoader
            (from ``(inputs, targets)`` pairs only the inputs are used).
        tol: the distance from a bound that counts as saturated.

    Returns:
        ``{layer name: ActivationStats}`` in the order the layers ran.

    Example:
        >>> import numpy as np
        >>> from nerve import nn
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
        >>> net[0].bias.data[:] = [-10.0, 0.0, 0.0]; net[0].weight.data[0] = 0.0
        >>> s = activation_stats(net, np.random.default_rng(0).normal(size=(64, 2)))
        >>> s["1"].dead_fraction, s["1"].dead_units.tolist()
        (0.3333333333333333, [0])
    """
    rec = ActivationRecorder(tol).attach(model)
    try:
        if not rec.attached:
            raise ValueError(f"{type(model).__name__} has no activation layers (ReLU, Sigmoid, Tanh ...) "
                             "to measure; functional calls such as F.relu inside forward() are invisible "
                             "to hooks, so use the nn layers")
        with no_grad():
            for x in _batches(data):
                model(as_model_input(model, x))
    finally:
        rec.detach()
    return rec.stats()


def activation_sparsity(model, data, layer: str = "") -> float:
    """The fraction of exact zeros in one activation layer's outputs over ``data``.

    A shortcut for ``activation_stats(model, data)[layer].sparsity``; ``layer`` is a name
    from ``model.named_modules()`` (``""`` when ``model`` is itself the activation).

    Example:
        >>> import numpy as np
        >>> from nerve import nn
        >>> x = np.random.default_rng(0).normal(loc=1.0, size=(100_000, 1)).astype(np.float32)
        >>> round(activation_sparsity(nn.ReLU(), x), 2)    # Φ(−1) ≈ 0.159, not one half
        0.16
    """
    stats = activation_stats(model, data)
    if layer not in stats:
        raise KeyError(f"{layer!r} is not an activation layer of this model; measured layers are "
                       f"{list(stats)}")
    return stats[layer].sparsity
