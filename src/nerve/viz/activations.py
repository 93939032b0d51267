"""Plot activation functions next to their derivatives, both computed by nerve itself.

The derivative is not written out by hand: each curve comes from nerve's autograd
(``x.requires_grad``, ``F.<name>(x).sum().backward()``, ``x.grad``), so the picture shows
what training actually uses, kinks included.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ._figure import grid_shape, new_figure, save_png, style

DEFAULT_ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softplus", "elu",
                       "silu", "selu", "relu6", "softsign", "hardtanh")


def activation_and_derivative(fn, x: np.ndarray):
    """``(f(x), f'(x))`` as float64 arrays, the derivative by backpropagation.

    Because the activations act elementwise, the gradient of ``sum(f(x))`` with respect to
    ``x`` is exactly ``f'(x)`` at every point.
    """
    from .. import tensor
    from ..autograd import enable_grad  # noqa: PLC0415

    with enable_grad():  # called under no_grad (in an eval loop, say), there would be no graph
        xt = tensor(np.asarray(x, dtype=np.float64), dtype=np.float64, requires_grad=True)
        y = fn(xt)
        y.sum().backward()
    if xt.grad is None:
        raise RuntimeError("plot_activations: no gradient reached x; the activation must be built "
                           "from differentiable nerve ops")
    return np.asarray(y.numpy(), dtype=np.float64), np.asarray(xt.grad.numpy(), dtype=np.float64)


def _resolve(entry):
    """``(label, callable)`` for a name such as ``'gelu'`` or a ``(label, fn)`` pair."""
    if isinstance(entry, str):
        from .. import functional as F  # looked up now: activations may be added at any time

        fn = getattr(F, entry, None)
        if not callable(fn):
            known = [n for n in DEFAULT_ACTIVATIONS if callable(getattr(F, n, None))]
            raise ValueError(f"plot_activations: nerve.functional has no activation {entry!r}; "
                             f"available: {known}, or pass a (label, function) pair")
        return entry, fn
    if isinstance(entry, tuple) and len(entry) == 2 and callable(entry[1]):
        return str(entry[0]), entry[1]
    raise TypeError(f"plot_activations: names entries are activation names or (label, function) "
                    f"pairs, got {entry!r}")


def plot_activations(path, names=DEFAULT_ACTIVATIONS, x_range=(-4.0, 4.0),
                     points: int = 801) -> Path:
    """One panel per activation: the function (solid) and its derivative (dashed).

    Args:
        path: where to write the PNG.
        names: activation names in ``nerve.nn.functional`` (``'relu'``, ``'gelu'``...) or
            ``(label, function)`` pairs for anything else built from nerve ops.
        x_range: the interval of inputs shown.
        points: grid size; odd, so that 0 itself is sampled when the range is symmetric.

    Example:
        >>> import tempfile, os
        >>> import nerve as nv
        >>> out = plot_activations(os.path.join(tempfile.mkdtemp(), "act.png"),
        ...                        names=[("x^2", lambda x: x * x), ("exp", nv.exp)])
        >>> out.name
        'act.png'
    """
    entries = [_resolve(e) for e in names]
    if not entries:
        raise ValueError("plot_activations: names is empty; pass at least one activation")
    lo, hi = map(float, x_range)
    if not hi > lo:
        raise ValueError(f"plot_activations: x_range must be (low, high) with low < high, got "
                         f"{x_range}")
    x = np.linspace(lo, hi, int(points))
    rows, cols = grid_shape(len(entries), max_cols=4)
    fig = new_figure(3.2 * cols, 2.7 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (label, fn) in zip(axes, entries):
        y, dy = activation_and_derivative(fn, x)
        ax.axhline(0, color="0.75", linewidth=0.8)
        ax.axvline(0, color="0.75", linewidth=0.8)
        ax.plot(x, y, color="#1f77b4", linewidth=2, label="f(x)")
        ax.plot(x, dy, color="#ff7f0e", linewidth=1.6, linestyle="--", label="f'(x)")
        style(ax, title=label)
        ax.set_xlim(lo, hi)
    axes[0].legend(fontsize=8, frameon=False, loc="upper left")
    for ax in axes[len(entries):]:
        ax.set_visible(False)
    fig.suptitle("Activations and their derivatives (by autograd)", fontsize=12)
    return save_png(fig, path)
