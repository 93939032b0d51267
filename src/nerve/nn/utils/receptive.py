"""Receptive fields: which input pixels one output pixel of a layer can see.

``receptive_field(model)`` walks the model's layers in order and applies the usual
recurrence per convolution or pooling layer with kernel k, stride s and dilation d::

    rf  ← rf + (k − 1)·d·jump        (the window grows by the kernel's reach, in input pixels)
    jump ← jump·s                    (the distance in input pixels between neighbouring outputs)

Layers that work pixel by pixel (activations, normalisation, dropout) leave both unchanged.
``receptive_field_probe`` measures the same thing with autograd: it back-propagates from one
output pixel and reports the extent of the input pixels that get a non-zero gradient.
"""
from __future__ import annotations

import numpy as np

__all__ = ["receptive_field", "receptive_field_probe"]


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _spatial_layers():
    from ..conv import Conv1d, Conv2d  # noqa: PLC0415
    from ..pooling import AvgPool2d, MaxPool2d  # noqa: PLC0415

    return (Conv1d, Conv2d, MaxPool2d, AvgPool2d)


def receptive_field(model):
    """The receptive field after each convolution or pooling layer of a feed-forward model.

    Returns a list of dicts, one per such layer in ``named_modules`` order, with ``layer``
    (dotted name), ``type``, ``receptive_field`` (height, width) in input pixels and
    ``jump`` (height, width): the input-pixel distance between neighbouring outputs. The
    walk assumes the layers run one after another (a ``Sequential`` or a plain chain);
    residual branches are not followed.

    Example:
        >>> import nerve as nv
        >>> net = nv.nn.Sequential(nv.nn.Conv2d(1, 4, 3), nv.nn.ReLU(), nv.nn.Conv2d(4, 4, 3))
        >>> [r["receptive_field"] for r in receptive_field(net)]
        [(3, 3), (5, 5)]
    """
    kinds = _spatial_layers()
    rf, jump, rows = np.array([1, 1]), np.array([1, 1]), []
    for name, m in model.named_modules():
        if not isinstance(m, kinds):
            continue
        k = np.array(_pair(m.kernel_size))
        s = np.array(_pair(m.stride))
        d = np.array(_pair(getattr(m, "dilation", 1)))
        if k.size == 1:  # Conv1d: one spatial axis, reported as height 1
            k, s, d = np.array([1, k[0]]), np.array([1, s[0]]), np.array([1, d[0]])
        rf = rf + (k - 1) * d * jump
        jump = jump * s
        rows.append({"layer": name, "type": type(m).__name__,
                     "receptive_field": (int(rf[0]), int(rf[1])), "jump": (int(jump[0]), int(jump[1]))})
    if not rows:
        raise ValueError(f"{type(model).__name__} has no convolution or pooling layer, so every output "
                         "sees the whole input")
    return rows


def receptive_field_probe(model, input_shape, layer=None, seed=0):
    """The receptive field measured by autograd: (height, width) of the input region whose
    pixels get a non-zero gradient from the centre pixel of ``layer``'s output.

    Args:
        model: the network; ``layer`` names a sub-module (default: the whole model).
        input_shape: (C, H, W) of one input; large enough that the window is not clipped.
        seed: the random input is drawn from a generator with this seed.

    The input is random and float64, and the probe sums the gradients' absolute values over
    all output channels, so a window is missed only where every path is exactly zero.
    """
    from ...autograd import Tensor, grad  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((1, *input_shape)), requires_grad=True)
    target = model if layer is None else model.get_submodule(layer)
    seen = {}
    handle = target.register_forward_hook(lambda m, args, out: seen.__setitem__("out", out))
    try:
        model(x)
    finally:
        handle.remove()
    out = seen["out"]
    if out.ndim != 4:
        raise ValueError(f"the probed layer's output has shape {out.shape}; pick a layer with (N, C, H, W) output")
    h, w = out.shape[2] // 2, out.shape[3] // 2
    (g,) = grad(out[:, :, h, w].sum(), x)
    total = np.abs(g.numpy()[0]).sum(axis=0)  # (H, W)
    rows = np.flatnonzero(total.any(axis=1))
    cols = np.flatnonzero(total.any(axis=0))
    if rows.size == 0:
        raise ValueError("no input pixel reaches the probed output (every gradient is zero); "
                         "try another seed or a layer before a dead activation")
    return (int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1))
