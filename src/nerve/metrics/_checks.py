"""Input handling shared by every metric: arrays in, clear errors out.

Every public metric accepts NumPy arrays, Python lists and nerve Tensors. The helpers here
turn them into NumPy arrays, check lengths, and map arbitrary labels (ints, strings) to
column indices so that the counting itself is one ``np.bincount``.
"""
from __future__ import annotations

import warnings

import numpy as np


class UndefinedMetricWarning(UserWarning):
    """A ratio had a zero denominator and ``zero_division='warn'`` replaced it by 0."""


def to_numpy(x, name: str = "input", fn: str = "metric") -> np.ndarray:
    """``x`` as a NumPy array; Tensors go through ``.numpy()`` (which also leaves the GPU)."""
    if isinstance(x, np.ndarray):
        return x
    numpy_method = getattr(x, "numpy", None)
    if callable(numpy_method) and hasattr(x, "requires_grad"):  # a nerve Tensor
        return np.asarray(numpy_method())
    try:
        return np.asarray(x)
    except ValueError as e:  # ragged nested lists
        raise ValueError(f"{fn}: could not read {name} as an array ({e}); pass a flat list, "
                         "a NumPy array or a Tensor") from None


def check_nonempty(n: int, fn: str, name: str = "y_true") -> None:
    if n == 0:
        raise ValueError(f"{fn}: {name} is empty (0 samples); a metric of no samples is "
                         "undefined, so pass at least one sample")


def check_same_length(a: np.ndarray, b: np.ndarray, fn: str, names=("y_true", "y_pred")) -> None:
    if len(a) != len(b):
        raise ValueError(f"{fn}: {names[0]} has {len(a)} samples but {names[1]} has {len(b)}; "
                         "they must describe the same samples, one entry each")


def as_1d(x, name: str, fn: str) -> np.ndarray:
    """A 1-D array; a column vector ``(N, 1)`` is flattened, anything wider is an error."""
    arr = to_numpy(x, name, fn)
    if arr.ndim == 0:
        raise ValueError(f"{fn}: {name} is a scalar; pass one value per sample (a 1-D array)")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{fn}: {name} should be 1-D (one value per sample), got shape "
                         f"{arr.shape}")
    return arr


def label_predictions(y_pred, fn: str) -> np.ndarray:
    """Predicted labels; a 2-D ``(N, C)`` array of scores becomes its row-wise argmax."""
    arr = to_numpy(y_pred, "y_pred", fn)
    if arr.ndim == 2 and arr.shape[1] > 1:
        return arr.argmax(axis=1)
    return as_1d(arr, "y_pred", fn)


def _check_discrete(arr: np.ndarray, name: str, fn: str) -> None:
    if arr.dtype.kind == "f" and arr.size and not np.all(np.mod(arr, 1) == 0):
        bad = arr[np.mod(arr, 1) != 0][0]
        raise ValueError(f"{fn}: {name} holds non-integer value {bad.item()!r}, which looks like "
                         "a score or probability, not a class label; threshold it (p > 0.5) or "
                         "take argmax over classes first")


def label_pair(y_true, y_pred, fn: str):
    """Validated 1-D ``(y_true, y_pred)`` label arrays of equal, non-zero length."""
    yt = as_1d(y_true, "y_true", fn)
    yp = label_predictions(y_pred, fn)
    check_same_length(yt, yp, fn)
    check_nonempty(len(yt), fn)
    _check_discrete(yt, "y_true", fn)
    _check_discrete(yp, "y_pred", fn)
    scores = to_numpy(y_pred, "y_pred", fn)
    if scores.ndim == 2 and scores.shape[1] > 1:
        # The argmax of (N, C) scores is a column index, so y_true must hold column indices
        # too: a label outside 0..C-1 (say 1..C, or strings) could never match and would be
        # counted as a silent miss.
        c = scores.shape[1]
        bad = ~np.isin(yt, np.arange(c)) if yt.dtype.kind in "iufb" else np.ones(len(yt), bool)
        if np.any(bad):
            raise ValueError(f"{fn}: y_pred is ({len(yp)}, {c}) scores, whose argmax is a column "
                             f"index 0..{c - 1}, but y_true holds {yt[bad][0].item()!r}; map the "
                             "labels to column indices or pass predicted labels")
    return yt, yp


def unique_labels(*arrays) -> np.ndarray:
    """Sorted union of the values in ``arrays``."""
    try:
        return np.unique(np.concatenate([np.asarray(a).ravel() for a in arrays]))
    except TypeError as e:
        raise ValueError(f"labels mix types that cannot be sorted together ({e}); use one "
                         "type for all labels, e.g. all ints or all strings") from None


def encode(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Index of each value in ``labels`` (any order), or -1 where it is not one of them."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    pos = np.searchsorted(sorted_labels, values)
    pos = np.clip(pos, 0, len(labels) - 1)
    found = sorted_labels[pos] == values
    return np.where(found, order[pos], -1)


def check_labels(labels, fn: str) -> np.ndarray:
    labels = as_1d(labels, "labels", fn)
    if len(labels) == 0:
        raise ValueError(f"{fn}: labels is empty; pass at least one label or labels=None")
    if len(np.unique(labels)) != len(labels):
        raise ValueError(f"{fn}: labels contains duplicates ({list(labels)}); list each once")
    return labels


ZERO_DIVISION_CHOICES = ("warn", 0, 1, np.nan)


def zero_division_value(zero_division, fn: str) -> float:
    """The number that replaces 0/0: ``'warn'`` means 0 (plus one warning per call)."""
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return 0.0
    elif isinstance(zero_division, (int, float, np.floating, np.integer)) and (
            zero_division in (0, 1) or np.isnan(zero_division)):
        return float(zero_division)
    raise ValueError(f"{fn}: zero_division={zero_division!r} is not supported; use 'warn', 0, 1 "
                     "or np.nan")


def safe_divide(num, den, zero_division, fn: str, what: str = "ratio") -> np.ndarray:
    """``num / den`` elementwise, with ``zero_division`` wherever ``den == 0``."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    fill = zero_division_value(zero_division, fn)
    mask = den == 0
    out = num / np.where(mask, 1.0, den)
    if np.any(mask):
        out = np.where(mask, fill, out)
        if isinstance(zero_division, str):  # 'warn'
            warnings.warn(f"{fn}: {what} is undefined (0/0) for {int(mask.sum())} of {mask.size} "
                          "entries and was set to 0; pass zero_division=0, 1 or np.nan to choose "
                          "the value and silence this warning", UndefinedMetricWarning,
                          stacklevel=4)
    return out
