"""Time series as supervised learning: cut a series into (past window, future values) pairs."""
from __future__ import annotations

import numpy as np

__all__ = ["sliding_windows"]


def sliding_windows(series, window, horizon=1, stride=1):
    """Every ``window`` consecutive steps of ``series`` as an input, the ``horizon`` steps right
    after them as its target.

    Sample ``i`` starts at step ``s = i·stride``::

        X[i] = series[s : s + window]                      (window, F)
        y[i] = series[s + window : s + window + horizon]   (horizon, F)

    so ``n = (T − window − horizon) // stride + 1`` samples, the last target ending at or before
    the last step. ``X`` has the shape a ``batch_first=True`` recurrent layer reads, (n, window,
    F); a 1-D series counts as one feature (F = 1). With ``horizon=1`` the target drops its time
    axis: y is (n, F), the one-step-ahead value.

    Args:
        series: (T,) or (T, F) array (a Tensor is read as its array).
        window: the number of past steps per input (≥ 1).
        horizon: how many steps ahead to predict (≥ 1).
        stride: steps between consecutive windows (≥ 1).

    Returns ``(X, y)``: views into a copy of the series, as arrays of its dtype.

    Example:
        >>> import numpy as np
        >>> X, y = sliding_windows(np.arange(6.0), window=3)
        >>> X[:, :, 0].tolist(), y[:, 0].tolist()
        ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]], [3.0, 4.0, 5.0])
        >>> X.shape, y.shape
        ((3, 3, 1), (3, 1))
    """
    arr = np.asarray(getattr(series, "_data", series))
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"sliding_windows: series must be (T,) or (T, features), got shape {arr.shape}")
    for name, v in (("window", window), ("horizon", horizon), ("stride", stride)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"sliding_windows: {name} must be a positive integer, got {v!r}")
    T = arr.shape[0]
    if window + horizon > T:
        raise ValueError(f"sliding_windows: a series of {T} steps is too short for window {window} "
                         f"plus horizon {horizon}; use a shorter window or a longer series")
    arr = np.ascontiguousarray(arr)
    # (T − window − horizon + 1, F, window + horizon): every span of that length, as a view
    spans = np.lib.stride_tricks.sliding_window_view(arr, window + horizon, axis=0)[::stride]
    spans = spans.transpose(0, 2, 1)                                 # (n, window + horizon, F)
    X = spans[:, :window].copy()
    y = spans[:, window:].copy()
    return X, (y[:, 0] if horizon == 1 else y)
