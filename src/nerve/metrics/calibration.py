"""Calibration: does a predicted confidence of 0.8 come true 80 % of the time?

``reliability_bins`` groups predictions by confidence into equal-width bins and reports
each bin's mean confidence, accuracy and size; ``expected_calibration_error`` is the
size-weighted mean gap between the two (Naeini et al. 2015; Guo et al. 2017):

    ECE = Σ_b (|B_b| / N) · |accuracy(B_b) − confidence(B_b)|

The confidence of a prediction is the probability of its top class (top-label calibration),
and it is correct when that class is the true one. Bin b covers (b/n_bins, (b+1)/n_bins], the
first bin also taking confidence 0.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import as_1d, check_nonempty, to_numpy

__all__ = ["expected_calibration_error", "reliability_bins", "ReliabilityBins"]


class ReliabilityBins(NamedTuple):
    """Per-bin statistics (arrays of length n_bins; empty bins have count 0 and NaN means)."""

    edges: np.ndarray        # (n_bins + 1,) bin edges from 0 to 1
    confidence: np.ndarray   # mean confidence in each bin
    accuracy: np.ndarray     # fraction correct in each bin
    count: np.ndarray        # predictions in each bin


def _top_label(y_true, prob, fn):
    y = as_1d(y_true, "y_true", fn)
    p = to_numpy(prob, "prob", fn).astype(np.float64)
    check_nonempty(y.size, fn)
    if p.ndim == 1:                       # P(class 1) of a binary problem
        p = np.stack([1.0 - p, p], axis=1)
    if p.ndim != 2 or p.shape[0] != y.size:
        raise ValueError(f"{fn}: prob must be (N,) or (N, C) with N = {y.size} (the length of "
                         f"y_true), got shape {p.shape}")
    if np.any(p < 0) or np.any(p > 1) or not np.all(np.isfinite(p)):
        raise ValueError(f"{fn}: prob must hold probabilities in [0, 1]; apply softmax (or "
                         "sigmoid) to logits first")
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(np.mod(y, 1) == 0):
        y = y.astype(np.int64)            # whole-number floats such as 0.0 / 1.0 are labels
    if y.dtype.kind not in "biu":
        bad = y[~np.isfinite(y) | (np.mod(y, 1) != 0)][0] if y.dtype.kind == "f" else y[0]
        raise ValueError(f"{fn}: y_true must hold integer class indices 0..{p.shape[1] - 1} (one "
                         f"per column of prob), got {bad.item()!r} of dtype {y.dtype}")
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(f"{fn}: y_true must hold class indices 0..{p.shape[1] - 1} (one per column "
                         f"of prob), got values from {y.min()} to {y.max()}")
    pred = p.argmax(1)
    return p[np.arange(y.size), pred], (pred == y).astype(np.float64)


def reliability_bins(y_true, prob, n_bins=15) -> ReliabilityBins:
    """Mean confidence, accuracy and count per equal-width confidence bin.

    Args:
        y_true: (N,) integer classes.
        prob: (N, C) class probabilities, or (N,) probabilities of class 1 (binary).
        n_bins: the number of bins on [0, 1].

    Example:
        >>> b = reliability_bins([1, 1, 0, 0], [0.9, 0.7, 0.6, 0.2], n_bins=5)
        >>> b.count.tolist(), b.accuracy[2:].tolist()    # confidences 0.9, 0.7, 0.6, 0.8
        ([0, 0, 1, 2, 1], [0.0, 1.0, 1.0])
    """
    fn = "reliability_bins"
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        # int() would quietly turn 2.5 bins into 2 and "10" into 10
        raise ValueError(f"{fn}: n_bins must be a positive integer, got {n_bins!r}")
    conf, correct = _top_label(y_true, prob, fn)
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    # edges[b] < conf <= edges[b + 1]; confidence 0 joins the first bin
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, int(n_bins) - 1)
    count = np.bincount(idx, minlength=int(n_bins))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=int(n_bins)) / count
        acc = np.bincount(idx, weights=correct, minlength=int(n_bins)) / count
    return ReliabilityBins(edges, mean_conf, acc, count)


def expected_calibration_error(y_true, prob, n_bins=15):
    """Expected calibration error with ``n_bins`` equal-width confidence bins (see module doc).

    0 is perfect calibration; an always-confident (prob 1) classifier that is right 70 % of
    the time scores 0.3.

    Args:
        y_true: (N,) integer classes.
        prob: (N, C) class probabilities, or (N,) probabilities of class 1 (binary).
        n_bins: the number of bins (15 as in Guo et al. 2017).

    Example:
        >>> # bins: {0.6 wrong}, {0.7, 0.8 right}, {0.9 right}:  ¼·0.6 + ½·0.25 + ¼·0.1
        >>> round(expected_calibration_error([1, 1, 0, 0], [0.9, 0.7, 0.6, 0.2], n_bins=5), 6)
        0.3
    """
    b = reliability_bins(y_true, prob, n_bins)
    n = b.count.sum()
    used = b.count > 0
    return float(np.sum(b.count[used] / n * np.abs(b.accuracy[used] - b.confidence[used])))
