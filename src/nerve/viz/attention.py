"""Attention weights as heatmaps: which input positions each output position looked at.

``plot_attention(weights, path)`` draws a ``(T_out, T_in)`` matrix, or one panel per head for
``(heads, T_out, T_in)``, with rows for the queries (the positions being produced) and columns for
the keys (the positions attended to). Tokens can label the axes. The same picture serves
sequence-to-sequence models with additive attention and transformer heads.
"""
from __future__ import annotations

import numpy as np

from ._figure import grid_shape, new_figure, save_png

__all__ = ["plot_attention"]


def _matrix(weights):
    from ..autograd import Tensor  # noqa: PLC0415
    from ..backend import to_device  # noqa: PLC0415

    if isinstance(weights, Tensor):
        weights = to_device(weights.detach()._data, "cpu")
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3:
        raise ValueError(f"plot_attention needs weights of shape (T_out, T_in) or (heads, T_out, "
                         f"T_in), got {tuple(w.shape)}; pick one example from a batch first")
    if not np.isfinite(w).all():
        raise ValueError("plot_attention got non-finite weights (NaN or inf); check the model's "
                         "masks: a row that masks every key has no valid softmax")
    if w.min() < 0:  # the colour scale starts at 0: negative scores would all draw as 0
        raise ValueError(f"plot_attention draws weights >= 0 (a softmax's output), got a minimum of "
                         f"{w.min():.4g}; apply softmax to raw scores first")
    return w


def _labels(labels, n, what):
    if labels is None:
        return None
    labels = [str(t) for t in labels]
    if len(labels) != n:
        raise ValueError(f"plot_attention got {len(labels)} {what} labels for {n} {what} positions")
    return labels


def plot_attention(weights, path, x_labels=None, y_labels=None, title: str | None = None,
                   head_titles=None, max_cols: int = 4, cmap: str = "viridis"):
    """Draw attention weights as a heatmap (one panel per head) and write a PNG.

    Args:
        weights: ``(T_out, T_in)`` or ``(heads, T_out, T_in)``; a Tensor or an array of
            non-negative weights (after the softmax).
        path: the PNG to write (atomically).
        x_labels: ``T_in`` tokens for the columns (the attended positions).
        y_labels: ``T_out`` tokens for the rows (the positions being produced).
        title: the figure's title; ``head_titles`` one title per panel.

    Returns the path written. Colours run from 0 to the largest weight in the figure, so panels
    compare on one scale.
    """
    if isinstance(max_cols, bool) or not isinstance(max_cols, (int, np.integer)) or max_cols < 1:
        raise ValueError(f"plot_attention: max_cols must be a positive integer, got {max_cols!r}")
    w = _matrix(weights)
    heads, t_out, t_in = w.shape
    xl = _labels(x_labels, t_in, "column")
    yl = _labels(y_labels, t_out, "row")
    if head_titles is not None and len(head_titles) != heads:
        raise ValueError(f"plot_attention got {len(head_titles)} head titles for {heads} heads")
    rows, cols = grid_shape(heads, max_cols)
    cell = 0.28 if max(t_in, t_out) > 12 else 0.4
    panel_w = max(2.5, t_in * cell + 1.2)
    panel_h = max(2.2, t_out * cell + 1.0)
    fig = new_figure(cols * panel_w + 0.8, rows * panel_h + (0.4 if title else 0))
    fig.set_layout_engine("constrained")  # makes room for the shared colour bar
    vmax = float(w.max()) if w.max() > 0 else 1.0
    image = None
    for h in range(heads):
        ax = fig.add_subplot(rows, cols, h + 1)
        image = ax.imshow(w[h], cmap=cmap, vmin=0.0, vmax=vmax, aspect="auto",
                          interpolation="nearest")
        ax.set_xticks(range(t_in))
        ax.set_yticks(range(t_out))
        ax.set_xticklabels(xl if xl else range(t_in), rotation=90, fontsize=7)
        ax.set_yticklabels(yl if yl else range(t_out), fontsize=7)
        ax.set_xlabel("attended position (key)", fontsize=8)
        ax.set_ylabel("output position (query)", fontsize=8)
        if head_titles is not None:
            ax.set_title(str(head_titles[h]), fontsize=9)
        elif heads > 1:
            ax.set_title(f"head {h}", fontsize=9)
    fig.colorbar(image, ax=fig.axes, shrink=0.8, label="weight")
    if title:
        fig.suptitle(title, fontsize=11)
    return save_png(fig, path)
