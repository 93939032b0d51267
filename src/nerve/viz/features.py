"""Seeing inside a CNN: its first-layer filters, and the feature maps one input produces.

* ``filters(layer_or_model)``: the (out, in, kH, kW) kernels of a conv layer, or of the
  first ``Conv2d`` in a model, as a NumPy array;
* ``feature_maps(model, x, layer)``: the activations (C, H, W) that ``layer`` outputs for
  one input, captured with a forward hook while the model runs;
* ``save_filters(...)`` and ``save_feature_maps(...)``: the same as a PNG grid, one panel per
  filter or channel.

Colour scales: a kernel holds signed weights, so single-channel kernels are drawn with a
diverging map centred on 0 (red positive, blue negative, white 0), each panel scaled to its
own largest |w|. Kernels with 3 input channels are drawn as RGB images, each min-max scaled
to [0, 1]. Feature maps use one shared grey scale per picture (black = the smallest value
among all maps shown, white = the largest), so bright maps are the ones that respond most.

Files are written atomically (temporary file, then rename) and matplotlib is imported only
when a picture is drawn, on the Agg canvas (no window, no global pyplot state).

    >>> import nerve as nv
    >>> conv = nv.nn.Conv2d(1, 4, 3)
    >>> filters(conv).shape
    (4, 1, 3, 3)
    >>> fm = feature_maps(nv.nn.Sequential(conv, nv.nn.ReLU()), nv.zeros(1, 1, 8, 8), layer="0")
    >>> fm.shape
    (4, 6, 6)
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ._figure import new_figure, save_png

__all__ = ["filters", "feature_maps", "save_filters", "save_feature_maps", "first_conv", "layer_trace",
           "default_feature_layer"]


def _module_types():
    from .. import nn  # noqa: PLC0415  (viz sits above nn; imported when used)

    return nn.Module, nn.Conv2d


def first_conv(model):
    """The first ``Conv2d`` of ``model`` in definition order (or ``model`` itself if it is one)."""
    Module, Conv2d = _module_types()
    if isinstance(model, Conv2d):
        return model
    if not isinstance(model, Module):
        raise TypeError(f"expected a Conv2d layer or a Module containing one, got {type(model).__name__}")
    for m in model.modules():
        if isinstance(m, Conv2d):
            return m
    raise ValueError(f"{type(model).__name__} has no Conv2d layer; filters are drawn from a conv layer's "
                     f"weight (out_channels, in_channels, kH, kW)")


def filters(layer_or_model):
    """The kernels of a conv layer (or of a model's first Conv2d): a float64 array (out, in, kH, kW)."""
    return np.asarray(first_conv(layer_or_model).weight.numpy(), dtype=np.float64)


def _resolve_layer(model, layer):
    Module, _ = _module_types()
    if isinstance(layer, Module):
        if not any(m is layer for m in model.modules()):
            raise ValueError(f"the layer {type(layer).__name__} is not part of {type(model).__name__}; "
                             f"pass one of its sub-modules or a dotted name")
        return layer
    try:
        return model.get_submodule(str(layer))
    except (AttributeError, KeyError, ValueError) as e:
        names = [n for n, _ in model.named_modules() if n]
        raise ValueError(f"{type(model).__name__} has no sub-module named {layer!r}; its sub-modules are: "
                         f"{', '.join(names[:40])}{' ...' if len(names) > 40 else ''}") from e


def _as_input(model, x):
    """``x`` as a Tensor; an array takes the floating dtype of the model's weights (float32
    for a model without any), so a float64 model is not handed float32 pixels."""
    from .. import tensor  # noqa: PLC0415
    from ..autograd.tensor import Tensor  # noqa: PLC0415

    if isinstance(x, Tensor):
        return x
    dtype = next((p._data.dtype for p in model.parameters() if p._data.dtype.kind == "f"), np.float32)
    return tensor(np.asarray(x, dtype=dtype))


def feature_maps(model, x, layer, index=0):
    """Run ``model`` on ``x`` and return what ``layer`` output for sample ``index``, shape (C, H, W).

    Args:
        model: any Module.
        x: one image (C, H, W) or a batch (N, C, H, W): a Tensor or an array (an array is
            converted to the model's floating dtype).
        layer: a sub-module of ``model`` or its dotted name (``'features.0'``, ``'layer1'``).
        index: which sample of the batch to return.

    The model runs in eval mode (BatchNorm uses its running statistics, dropout is off) and
    without recording gradients; its previous mode is restored afterwards.
    """
    from .. import no_grad  # noqa: PLC0415

    target = _resolve_layer(model, layer)
    xt = _as_input(model, x)
    if xt.ndim == 3:
        xt = xt.reshape(1, *xt.shape)
    captured = []
    handle = target.register_forward_hook(lambda m, inputs, out: captured.append(out))
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            model(xt)
    finally:
        handle.remove()
        for m, mode in modes:
            m.__dict__["training"] = mode
    if not captured:
        raise RuntimeError(f"the layer {layer!r} did not run in {type(model).__name__}.forward; pick a layer "
                           f"on the path the input takes")
    out = captured[0]
    arr = np.asarray(out.numpy() if hasattr(out, "numpy") else out, dtype=np.float64)
    if arr.ndim != 4:
        raise ValueError(f"the layer {layer!r} outputs shape {arr.shape}, not feature maps (N, C, H, W); "
                         f"pick a conv, activation or pooling layer before any Flatten")
    return arr[index]


def layer_trace(model, x):
    """Run ``model`` on ``x`` once and list ``(name, module, output shape)`` in call order.

    Every named sub-module gets a forward hook; a module called twice is listed once (its
    first call). The order is the order the layers ran, which for models with a custom
    ``forward`` (a ResNet's stem: conv, batch norm, ReLU) can differ from definition order.
    The model runs without recording gradients; its train/eval mode is left as it is.

        >>> import nerve as nv
        >>> net = nv.nn.Sequential(nv.nn.Conv2d(1, 2, 3), nv.nn.ReLU(), nv.nn.Flatten())
        >>> [(name, shape) for name, _, shape in layer_trace(net, nv.zeros(1, 1, 5, 5))]
        [('0', (1, 2, 3, 3)), ('1', (1, 2, 3, 3)), ('2', (1, 18))]
    """
    from .. import no_grad  # noqa: PLC0415

    calls, handles = {}, []
    for name, module in model.named_modules():
        if not name:
            continue

        def hook(m, inputs, out, name=name):
            if name not in calls:
                calls[name] = (len(calls), m, tuple(getattr(out, "shape", ())))

        handles.append(module.register_forward_hook(hook))
    try:
        with no_grad():
            model(_as_input(model, x))
    finally:
        for h in handles:
            h.remove()
    return [(name, m, shape) for name, (_, m, shape) in sorted(calls.items(), key=lambda kv: kv[1][0])]


def _is_activation(module) -> bool:
    return type(module).__module__.endswith("nn.activation")


def default_feature_layer(trace, conv_name: str) -> str:
    """The first activation layer that runs after the conv ``conv_name`` and before the next
    conv, in a :func:`layer_trace` (the conv's own output when there is none): the maps worth
    looking at first.

        >>> import nerve as nv
        >>> net = nv.nn.Sequential(nv.nn.Conv2d(1, 2, 3), nv.nn.BatchNorm2d(2), nv.nn.ReLU())
        >>> default_feature_layer(layer_trace(net.eval(), nv.zeros(1, 1, 5, 5)), "0")
        '2'
    """
    _, Conv2d = _module_types()
    names = [n for n, _, _ in trace]
    if conv_name not in names:
        return conv_name
    for name, module, shape in trace[names.index(conv_name) + 1:]:
        if isinstance(module, Conv2d):
            break
        if _is_activation(module) and len(shape) == 4:
            return name
    return conv_name


def _check_count(value, name, fn):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{fn}: {name} must be a positive integer, got {value!r}")


def _grid(n, max_cols):
    cols = min(n, max_cols) if max_cols else max(1, math.ceil(math.sqrt(n)))
    return math.ceil(n / cols), cols


def _figure_grid(n, max_cols, panel=1.1, title_space=0.6):
    rows, cols = _grid(n, max_cols)
    fig = new_figure(max(3.0, panel * cols), panel * rows + title_space)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def save_filters(layer_or_model, path, max_filters=64, channel=None, max_cols=8):
    """Draw the first conv layer's kernels as a grid PNG and return the path.

    Args:
        layer_or_model: a ``Conv2d`` or a model (its first Conv2d is used).
        path: the PNG to write.
        max_filters: draw at most this many filters (the first ones).
        channel: for kernels with several input channels (other than 3), draw this input
            channel; ``None`` draws the mean over input channels. Ignored for 1 or 3 channels.
        max_cols: panels per row (None: about as many rows as columns).

    Example:
        >>> import os, tempfile
        >>> import nerve as nv
        >>> out = save_filters(nv.nn.Conv2d(3, 8, 5), os.path.join(tempfile.mkdtemp(), "f.png"))
        >>> out.suffix
        '.png'
    """
    _check_count(max_filters, "max_filters", "save_filters")
    conv = first_conv(layer_or_model)
    w = filters(conv)[:max_filters]                      # (O, C, kH, kW)
    O, C = w.shape[:2]
    rgb = C == 3
    if rgb:
        panels = w.transpose(0, 2, 3, 1)                 # (O, kH, kW, 3)
        lo = panels.min(axis=(1, 2, 3), keepdims=True)
        hi = panels.max(axis=(1, 2, 3), keepdims=True)
        panels = (panels - lo) / np.where(hi > lo, hi - lo, 1.0)
        how = "RGB, each min-max scaled"
    else:
        if C == 1:
            panels, how = w[:, 0], "red > 0 > blue"
        elif channel is None:
            panels, how = w.mean(axis=1), f"mean over {C} input channels; red > 0 > blue"
        else:
            if not 0 <= channel < C:
                raise ValueError(f"save_filters: channel must be in 0..{C - 1}, got {channel}")
            panels, how = w[:, channel], f"input channel {channel} of {C}; red > 0 > blue"
    fig, axes = _figure_grid(O, max_cols)
    for i, (ax, k) in enumerate(zip(axes, panels)):
        if rgb:
            ax.imshow(k, interpolation="nearest")
        else:
            m = float(np.abs(k).max()) or 1.0
            ax.imshow(k, cmap="RdBu_r", vmin=-m, vmax=m, interpolation="nearest")
        ax.set_title(str(i), fontsize=7, pad=2)
    kh, kw = w.shape[2:]
    count = f"{O} filters" if O == conv.out_channels else f"the first {O} of {conv.out_channels} filters"
    fig.suptitle(f"{count}, {kh}×{kw}×{C} each ({how})", fontsize=9)
    return save_png(fig, Path(path))


def save_feature_maps(model, x, layer, path, max_maps=32, index=0, max_cols=8):
    """Draw the feature maps that ``layer`` produces for one input as a grid PNG; return the path.

    Args:
        model, x, layer, index: as in :func:`feature_maps`.
        path: the PNG to write.
        max_maps: draw at most this many channels (the first ones).
        max_cols: panels per row (None: about as many rows as columns).

    Example:
        >>> import os, tempfile
        >>> import nerve as nv
        >>> net = nv.nn.Sequential(nv.nn.Conv2d(1, 6, 3, padding=1), nv.nn.ReLU())
        >>> out = save_feature_maps(net, nv.randn(1, 28, 28), "1", os.path.join(tempfile.mkdtemp(), "m.png"))
        >>> out.name
        'm.png'
    """
    _check_count(max_maps, "max_maps", "save_feature_maps")
    maps = feature_maps(model, x, layer, index=index)[:max_maps]    # (C, H, W)
    lo, hi = float(maps.min()), float(maps.max())
    if hi <= lo:
        hi = lo + 1.0
    fig, axes = _figure_grid(len(maps), max_cols)
    for i, (ax, m) in enumerate(zip(axes, maps)):
        ax.imshow(m, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(str(i), fontsize=7, pad=2)
    name = layer if isinstance(layer, str) else type(layer).__name__
    fig.suptitle(f"feature maps at {name!s}: {maps.shape[0]} × {maps.shape[1]}×{maps.shape[2]} "
                 f"(shared scale {lo:.2g} to {hi:.2g})", fontsize=9)
    return save_png(fig, Path(path))
