"""Figures without global state, and PNG files written atomically.

matplotlib is optional (``pip install 'nerve[plot]'``) and imported only when a plot is
drawn. Figures are built on the Agg canvas directly instead of through ``pyplot``, so
plotting never switches the user's backend, opens a window, or leaks figures between calls.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

PLOT_EXTRA = "pip install 'nerve[plot]'"
DPI = 110


def new_figure(width: float, height: float):
    """A matplotlib ``Figure`` attached to an Agg canvas."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"nerve.viz draws with matplotlib, which is not installed; install it "
                          f"with: {PLOT_EXTRA}") from None
    fig = Figure(figsize=(width, height), dpi=DPI, layout="tight")
    FigureCanvasAgg(fig)
    return fig


def style(ax, title=None, xlabel=None, ylabel=None):
    """The house look: light grid behind the data, no top or right frame."""
    ax.grid(True, alpha=0.3, linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=11)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)


def grid_shape(n: int, max_cols: int = 4):
    cols = min(max_cols, n)
    return int(np.ceil(n / cols)), cols


def atomic_write(path, write) -> Path:
    """Call ``write(tmp_path)``, then rename the file into ``path`` in one step.

    A crash or an exception mid-write leaves any previous file at ``path`` intact and no
    half-written file behind (``nerve.io.atomic_path`` does the work).
    """
    from ..io.atomic import atomic_path  # noqa: PLC0415

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        write(tmp)
    return path


def save_png(fig, path) -> Path:
    """Write ``fig`` to ``path`` as PNG (atomically) and return the path."""
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI))
