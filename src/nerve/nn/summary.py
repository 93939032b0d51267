"""``summary(model, input_shape)``: each layer's output shape and parameter count.

The model runs once on zeros, in eval mode and without recording the graph, with a
forward hook on every module; the hooks record the output shapes in call order. Each
row counts the parameters the layer owns directly and shows the arithmetic: the product
of each weight's dimensions, plus the bias (``784×16 + 16 = 12,560`` for a Linear,
``6×1×5×5 + 6 = 156`` for a Conv2d).

Layer-counting convention: only modules that run are rows, and the input is not a
layer: it is the data, and it holds no weights. So 784-16-16-10 has 3 Linear layers.

    >>> from nerve import models
    >>> s = models.get_model("seed-mlp").summary((784,))
    >>> s.total_params, [r.num_params for r in s.rows if r.num_params]
    (13002, [12560, 272, 170])
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np

from .. import random as _random
from ..autograd import grad_mode
from ..autograd.tensor import Tensor, get_default_dtype
from .module import Module

__all__ = ["summary", "ModelSummary", "SummaryRow", "param_arithmetic"]


def _fmt(n):
    return f"{n:,}"


def param_arithmetic(shapes):
    """The parameter count of a layer written out: ``[(16, 784), (16,)]`` → ``'784×16 + 16 = 12,560'``.

    Each term is the product of one tensor's dimensions. The weight's dimensions are
    written input-first for a 2-D (out, in) weight, matching how layer sizes are read
    (784 → 16); other shapes are written as stored (``6×1×5×5``).
    """
    terms, total = [], 0
    for shape in shapes:
        shape = tuple(int(s) for s in shape)
        total += math.prod(shape)
        dims = (shape[1], shape[0]) if len(shape) == 2 else shape
        terms.append("×".join(str(d) for d in dims) if dims else "1")
    if not terms:
        return "0"
    if len(terms) == 1 and "×" not in terms[0]:
        return _fmt(total)
    return " + ".join(terms) + f" = {_fmt(total)}"


@dataclass
class SummaryRow:
    """One layer call: where it sits, what it produced and what it owns."""

    name: str                 # dotted path inside the model ('1', 'features.0')
    type: str                 # class name ('Linear')
    output_shape: object      # a tuple, or a list of tuples for several outputs
    num_params: int           # parameters owned directly by this layer (0 on a repeat call)
    arithmetic: str           # '784×16 + 16 = 12,560'
    trainable: int = 0        # how many of num_params require grad
    depth: int = 0
    shared: bool = False      # a repeat call of a module already listed

    @property
    def output_shape_str(self):
        return _shape_str(self.output_shape)


def _shape_of(out):
    if isinstance(out, Tensor) or hasattr(out, "shape"):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)):
        return [_shape_of(o) for o in out]
    if isinstance(out, dict):
        return {k: _shape_of(v) for k, v in out.items()}
    return type(out).__name__


def _shape_str(shape):
    if isinstance(shape, tuple):
        return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_str(s) for s in shape) + "]"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_shape_str(v)}" for k, v in shape.items()) + "}"
    return str(shape)


@dataclass
class ModelSummary:
    """The result of ``summary``: print it, or read ``rows`` and the totals."""

    model_name: str
    input_shape: tuple
    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    param_bytes: int = 0
    buffer_bytes: int = 0
    output_shape: object = None

    @property
    def layer_counts(self):
        """How many layers of each type own parameters, e.g. {'Linear': 3}."""
        counts = {}
        for r in self.rows:
            if r.num_params and not r.shared:
                counts[r.type] = counts.get(r.type, 0) + 1
        return counts

    @property
    def num_layers(self):
        """Layers with weights (the convention the docs use: 3 for 784-16-16-10)."""
        return sum(self.layer_counts.values())

    def _table(self):
        head = ("Layer (type)", "Output shape", "Param #", "Arithmetic")
        body = []
        for r in self.rows:
            label = "  " * r.depth + f"{r.name} ({r.type})"
            count = "shared" if r.shared else _fmt(r.num_params)
            arith = "counted once, above" if r.shared else (r.arithmetic if r.num_params else "")
            frozen = 0 if r.shared else r.num_params - r.trainable
            if frozen:
                arith += " (frozen)" if frozen == r.num_params else f" ({_fmt(frozen)} frozen)"
            body.append((label, r.output_shape_str, count, arith))
        return head, body

    def _footer(self):
        kib = self.param_bytes / 1024
        lines = [
            f"Total params: {_fmt(self.total_params)}",
            f"Trainable params: {_fmt(self.trainable_params)}",
            f"Non-trainable params: {_fmt(self.non_trainable_params)}",
            f"Parameter memory: {_fmt(self.param_bytes)} bytes ({kib:,.2f} KiB)",
        ]
        if self.buffer_bytes:
            lines.append(f"Buffer memory: {_fmt(self.buffer_bytes)} bytes "
                         f"({self.buffer_bytes / 1024:,.2f} KiB)")
        counts = self.layer_counts
        if counts:
            kinds = ", ".join(f"{n} {t}" for t, n in counts.items())
            lines.append(f"Layers with weights: {self.num_layers} ({kinds}). The input "
                         f"{_shape_str(self.input_shape)} is data, not a layer: it holds no weights.")
        return lines

    def __str__(self):
        head, body = self._table()
        widths = [max(len(head[i]), *(len(row[i]) for row in body)) if body else len(head[i])
                  for i in range(4)]

        def line(cells):
            left = f"{cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}  {cells[2]:>{widths[2]}}"
            return (left + (f"  {cells[3]}" if cells[3] else "")).rstrip()

        table = [line(head)] + [line(row) for row in body]
        rule = "=" * max(len(t) for t in table)
        out = [f"{self.model_name} summary, input {_shape_str(self.input_shape)}", rule, table[0],
               "-" * len(rule)]
        out += table[1:]
        out += [rule] + self._footer() + [rule]
        return "\n".join(out)

    def __repr__(self):
        return str(self)

    def __rich__(self):
        from rich.table import Table  # noqa: PLC0415

        head, body = self._table()
        table = Table(title=f"{self.model_name} summary, input {_shape_str(self.input_shape)}",
                      caption="\n".join(self._footer()), caption_justify="left")
        for i, h in enumerate(head):
            table.add_column(h, justify="right" if i == 2 else "left")
        for row in body:
            table.add_row(*row)
        return table

    def print(self, file=None):
        """Print as a rich table on a terminal (when rich is installed), plain text otherwise."""
        stream = file if file is not None else sys.stdout
        if hasattr(stream, "isatty") and stream.isatty():
            try:
                from rich.console import Console  # noqa: PLC0415
            except ImportError:
                pass
            else:
                Console(file=stream).print(self)
                return
        print(str(self), file=stream)


def _model_dtype(model):
    for p in model.parameters():
        if p._data.dtype.kind == "f":
            return p._data.dtype
    return get_default_dtype()


def summary(model, input_shape=None, batch_size=1, dtype=None, input_data=None, device=None):
    """Run ``model`` once and tabulate each layer's output shape and parameters.

    Args:
        model: any ``nn.Module``.
        input_shape: the shape of ONE sample, without the batch dimension, e.g. (784,) or
            (1, 28, 28). A Tensor or array here is used as the input itself.
        batch_size: the batch size of the zeros fed through (default 1).
        dtype: the input's dtype (default: the model's floating dtype).
        input_data: a ready input (Tensor, or a tuple of arguments) instead of zeros.
        device: where to build the zeros (default: the model's device).

    Returns:
        a ``ModelSummary``: ``str()`` of it is the table; ``.rows`` holds one
        ``SummaryRow`` per layer call; ``.total_params``, ``.trainable_params``,
        ``.non_trainable_params``, ``.param_bytes`` hold the totals.
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary expects an nn.Module, got {type(model).__name__}")
    if isinstance(input_shape, (Tensor, np.ndarray)) and input_data is None:
        input_data, input_shape = input_shape, None
    if input_data is None:
        if input_shape is None:
            raise ValueError("summary needs input_shape (one sample's shape, e.g. (784,) or "
                             "(1, 28, 28)) or input_data")
        if isinstance(input_shape, int):
            input_shape = (input_shape,)
        shape = (batch_size,) + tuple(int(s) for s in input_shape)
        if device is None:
            device = next((p.device for p in model.parameters()), "cpu")
        from ..creation import zeros  # noqa: PLC0415

        args = (zeros(*shape, dtype=dtype or _model_dtype(model),
                      device=None if device == "cpu" else device),)
    else:
        args = input_data if isinstance(input_data, tuple) else (input_data,)
        input_shape = tuple(getattr(args[0], "shape", ()))[1:]
        if not isinstance(args[0], Tensor):
            from ..creation import as_tensor  # noqa: PLC0415

            args = (as_tensor(args[0]),) + tuple(args[1:])

    names = {id(m): n for n, m in model.named_modules()}
    rows, seen, handles = [], set(), []

    def hook(module, inputs, output):
        # Fires after forward; rows are re-ordered by call start below.
        entry = starts.pop(id(module), None)
        own = [p for p in module._parameters.values() if p is not None]
        shared = id(module) in seen
        seen.add(id(module))
        name = names.get(id(module), "?")
        rows.append((entry, SummaryRow(
            name=name or type(module).__name__, type=type(module).__name__,
            output_shape=_shape_of(output),
            num_params=0 if shared else sum(p.numel() for p in own),
            arithmetic=param_arithmetic([p.shape for p in own]),
            trainable=0 if shared else sum(p.numel() for p in own if p.requires_grad),
            depth=max(name.count(".") , 0) if name else 0, shared=shared)))

    starts, counter = {}, [0]

    def pre_hook(module, inputs):
        starts[id(module)] = counter[0]
        counter[0] += 1

    for m in model.modules():
        if m is model and m._modules:
            continue  # the whole model's row would repeat the totals
        if m._modules and not m._parameters:
            continue  # a pure container: its children are the rows
        handles.append(m.register_forward_pre_hook(pre_hook))
        handles.append(m.register_forward_hook(hook))

    modes = [(m, m.training) for m in model.modules()]
    rng_state = _random.get_rng_state()
    model.eval()
    try:
        with grad_mode.no_grad():
            out = model(*args)
    except Exception as e:
        if input_data is None:
            e.add_note(f"summary fed the model zeros of shape {tuple(args[0].shape)}: input_shape "
                       f"{tuple(input_shape)} is ONE sample's shape, without the batch dimension "
                       f"(batch_size={batch_size} is prepended)")
        raise
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.__dict__["training"] = mode
        _random.set_rng_state(rng_state)

    rows.sort(key=lambda er: er[0] if er[0] is not None else -1)
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return ModelSummary(
        model_name=type(model).__name__, input_shape=tuple(input_shape),
        rows=[r for _, r in rows], total_params=total, trainable_params=trainable,
        non_trainable_params=total - trainable,
        param_bytes=sum(p.numel() * p._data.dtype.itemsize for p in params),
        buffer_bytes=sum(b.numel() * b._data.dtype.itemsize for b in model.buffers()),
        output_shape=_shape_of(out))
