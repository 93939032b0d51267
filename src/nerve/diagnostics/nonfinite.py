"""Locate the first module whose output holds NaN or Inf."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..autograd import Tensor
from .activations import as_model_input


@dataclass
class NonFinite:
    """Where a forward pass first produced NaN or Inf (see :func:`find_nonfinite`).

    Attributes:
        module: the module's name in ``named_modules()`` (``""`` for the model itself;
            ``"<input>"`` when the input already held NaN/Inf).
        kind: its class name.
        op: the name of the last autograd op of that module (``"Linear"``, ``"Exp"`` ...),
            or ``None`` when no graph was recorded.
        nan, inf: how many output values are NaN and ±Inf.
        input_min, input_max: the range of the finite values of the module's first input.
        input_finite: whether that input was entirely finite (if not, the NaN came from
            an operation outside any module, before this one).
        bad_parameters: the module's own parameters that hold NaN/Inf.
    """

    module: str
    kind: str
    op: str | None
    nan: int
    inf: int
    input_min: float
    input_max: float
    input_finite: bool
    bad_parameters: list

    def describe(self) -> str:
        where = "the input batch" if self.module == "<input>" else \
            f"module {self.module or '(model)'!r} ({self.kind}" + (f", op {self.op}" if self.op else "") + ")"
        text = (f"{where} produced {self.nan} NaN and {self.inf} Inf values; its input ranged over "
                f"[{self.input_min:.4g}, {self.input_max:.4g}]")
        if self.bad_parameters:
            text += f"; its parameters {self.bad_parameters} are already non-finite"
        elif not self.input_finite:
            text += " and already held NaN/Inf, so an operation outside the modules made them"
        return text


def _array(v):
    return np.asarray(v._data if isinstance(v, Tensor) else v)


def _finite_range(a):
    a = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    if a.size == 0:
        return float("nan"), float("nan")
    return float(a.min()), float(a.max())


def inspect_output(name, module, args, out):
    """A :class:`NonFinite` for ``module``'s output if it holds NaN/Inf, else ``None``."""
    o = _array(out[0] if isinstance(out, (tuple, list)) else out)
    if o.dtype.kind != "f" or np.isfinite(o).all():
        return None
    x = _array(args[0]) if args else np.zeros(0)
    lo, hi = _finite_range(x) if x.dtype.kind in "fiu" else (float("nan"), float("nan"))
    ctx = getattr(out, "grad_fn", None)
    bad = [n for n, p in module.named_parameters(recurse=False) if not np.isfinite(p._data).all()]
    return NonFinite(module=name, kind=type(module).__name__,
                     op=type(ctx).__name__ if ctx is not None else None,
                     nan=int(np.count_nonzero(np.isnan(o))), inf=int(np.count_nonzero(np.isinf(o))),
                     input_min=lo, input_max=hi,
                     input_finite=bool(x.dtype.kind != "f" or np.isfinite(x).all()),
                     bad_parameters=bad)


class NonFiniteWatcher:
    """Forward hooks on every module that remember the first NaN/Inf output.

    Children finish before their parents, so the first hook to fire with a bad output
    is the innermost module that made it. ``first`` stays set until ``reset()``.
    """

    def __init__(self):
        self._handles = []
        self.first = None

    def reset(self):
        self.first = None

    def attach(self, model):
        self.detach()
        for name, m in model.named_modules():
            self._handles.append(m.register_forward_hook(self._hook(name)))
        return self

    def detach(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    def _hook(self, name):
        def hook(module, args, out):
            if self.first is None:
                self.first = inspect_output(name, module, args, out)
        return hook


def find_nonfinite(model, x):
    """Run ``model(x)`` and report the first module whose output holds NaN or Inf.

    Every module gets a forward hook for the duration of one forward pass (with the graph
    recorded, so the module's last op can be named). If the batch itself is not finite,
    the report says so with ``module="<input>"``.

    Args:
        model: a ``Module``.
        x: one input batch (array or Tensor).

    Returns:
        a :class:`NonFinite`, or ``None`` when every output was finite.

    Example:
        >>> import numpy as np
        >>> from nerve import nn
        >>> net = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
        >>> net[2].weight.data[0, 0] = np.inf
        >>> r = find_nonfinite(net, np.ones((4, 2), np.float32))
        >>> r.module, r.kind, r.bad_parameters
        ('2', 'Linear', ['weight'])
        >>> find_nonfinite(nn.Linear(2, 2), np.ones((1, 2), np.float32)) is None
        True
    """
    xa = _array(x)
    if xa.dtype.kind == "f" and not np.isfinite(xa).all():
        lo, hi = _finite_range(xa)
        return NonFinite("<input>", "input", None, int(np.count_nonzero(np.isnan(xa))),
                         int(np.count_nonzero(np.isinf(xa))), lo, hi, False, [])
    watcher = NonFiniteWatcher().attach(model)
    try:
        with np.errstate(all="ignore"):  # the NaN/Inf being looked for would warn on the way
            model(as_model_input(model, x))
    finally:
        watcher.detach()
    return watcher.first
