"""The reliability diagram: accuracy against confidence, per confidence bin."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..metrics.calibration import expected_calibration_error, reliability_bins
from ._figure import new_figure, save_png, style

__all__ = ["plot_reliability_diagram"]


def plot_reliability_diagram(y_true, prob, path, n_bins=15, title=None) -> Path:
    """Draw a reliability diagram and save it as a PNG.

    Top panel: one bar per equal-width confidence bin at the bin's accuracy, the diagonal of
    perfect calibration, and the gap to each bin's mean confidence shaded (bars below the
    diagonal mean over-confidence). Bottom panel: how many predictions fall in each bin.
    The title gives the expected calibration error.

    Args:
        y_true, prob, n_bins: as for :func:`nerve.metrics.expected_calibration_error`.
        path: where to write the PNG.
        title: the figure title (default: the ECE).

    Returns:
        The path written.
    """
    b = reliability_bins(y_true, prob, n_bins)
    ece = expected_calibration_error(y_true, prob, n_bins)
    centers = (b.edges[:-1] + b.edges[1:]) / 2
    width = b.edges[1] - b.edges[0]
    used = b.count > 0
    fig = new_figure(5.2, 6.0)
    ax = fig.add_subplot(2, 1, 1)
    ax2 = fig.add_subplot(2, 1, 2, sharex=ax)
    ax.plot([0, 1], [0, 1], "--", color="#777777", linewidth=1, label="perfect calibration")
    ax.bar(centers[used], b.accuracy[used], width=width * 0.95, color="#4C72B0", edgecolor="white",
           label="accuracy")
    gap_lo = np.minimum(b.accuracy[used], b.confidence[used])
    ax.bar(centers[used], np.abs(b.confidence[used] - b.accuracy[used]), bottom=gap_lo,
           width=width * 0.95, color="#C44E52", alpha=0.35, label="gap to confidence")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    style(ax, title or f"Reliability diagram (ECE = {ece:.4f}, {n_bins} bins)", None, "accuracy")
    ax2.bar(centers, b.count, width=width * 0.95, color="#8C8C8C")
    style(ax2, None, "confidence", "predictions")
    return save_png(fig, path)
