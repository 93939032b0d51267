"""Regression metrics: mean squared and absolute error, root mean squared error, R².

Targets may be ``(N,)`` or ``(N, D)`` (several outputs). With several outputs,
``multioutput='uniform_average'`` (the default) averages the per-output values and
``'raw_values'`` returns them, and an array of one weight per output gives their weighted
mean; ``r2_score`` also accepts ``'variance_weighted'``. Every function takes an optional
``sample_weight`` of one weight per sample, as in scikit-learn.
"""
from __future__ import annotations

import warnings

import numpy as np

from ._checks import UndefinedMetricWarning, check_nonempty, check_same_length, to_numpy


def _pair(y_true, y_pred, fn):
    yt = to_numpy(y_true, "y_true", fn).astype(np.float64)
    yp = to_numpy(y_pred, "y_pred", fn).astype(np.float64)
    if yt.ndim == 0 or yp.ndim == 0:
        raise ValueError(f"{fn}: pass one value per sample (1-D arrays), not a scalar")
    check_same_length(yt, yp, fn)
    check_nonempty(len(yt), fn)
    yt = yt.reshape(len(yt), -1)  # (N, D)
    yp = yp.reshape(len(yp), -1)
    if yt.shape != yp.shape:
        raise ValueError(f"{fn}: y_true has shape {yt.shape} but y_pred has {yp.shape}")
    for name, a in (("y_true", yt), ("y_pred", yp)):
        bad = ~np.isfinite(a)
        if np.any(bad):
            # NaN or inf would pass straight through the sums and come out as the score
            raise ValueError(f"{fn}: {name} holds {a[bad][0].item()!r} at sample "
                             f"{int(np.argwhere(bad)[0][0])}; every target and prediction must "
                             "be a finite number (drop or impute the missing ones first)")
    return yt, yp


def _sample_weight(sample_weight, n, fn):
    """``sample_weight`` as a float64 ``(n,)`` array, or None (checked as for the labels)."""
    if sample_weight is None:
        return None
    from .classification import _weights  # noqa: PLC0415  (one rule for every metric)

    return _weights(sample_weight, n, fn)


def _reduce(per_output, multioutput, fn, weights=None):
    if not isinstance(multioutput, str):
        # one weight per output, as scikit-learn accepts
        ow = to_numpy(multioutput, "multioutput", fn).astype(np.float64).reshape(-1)
        if ow.shape != per_output.shape or not np.all(np.isfinite(ow)) or ow.sum() == 0:
            raise ValueError(f"{fn}: multioutput weights {ow.tolist()} must be {len(per_output)} "
                             "finite numbers, one per output, with a non-zero sum")
        return float(np.average(per_output, weights=ow))
    if multioutput == "raw_values":
        return per_output
    if multioutput == "uniform_average":
        return float(per_output.mean())
    if multioutput == "variance_weighted" and weights is not None:
        return float(np.average(per_output, weights=weights)) if weights.sum() else \
            float(per_output.mean())
    raise ValueError(f"{fn}: multioutput={multioutput!r} is not one of 'uniform_average', "
                     f"'raw_values'{', variance_weighted' if weights is not None else ''} or an "
                     "array of one weight per output")


def mean_squared_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Mean of the squared differences.

    ``MSE = (1/N) * sum_n (y_true_n - y_pred_n)^2``

    Example:
        >>> mean_squared_error([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
        1.3333333333333333
    """
    fn = "mean_squared_error"
    yt, yp = _pair(y_true, y_pred, fn)
    w = _sample_weight(sample_weight, len(yt), fn)
    return _reduce(np.average((yt - yp) ** 2, axis=0, weights=w), multioutput, fn)


def root_mean_squared_error(y_true, y_pred, *, sample_weight=None,
                            multioutput="uniform_average"):
    """Square root of the mean squared error, in the units of the target.

    ``RMSE = sqrt((1/N) * sum_n (y_true_n - y_pred_n)^2)`` (per output, then averaged).

    Example:
        >>> root_mean_squared_error([0.0, 0.0], [3.0, 4.0])
        3.5355339059327378
    """
    fn = "root_mean_squared_error"
    yt, yp = _pair(y_true, y_pred, fn)
    w = _sample_weight(sample_weight, len(yt), fn)
    return _reduce(np.sqrt(np.average((yt - yp) ** 2, axis=0, weights=w)), multioutput, fn)


def mean_absolute_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Mean of the absolute differences.

    ``MAE = (1/N) * sum_n |y_true_n - y_pred_n|``

    Example:
        >>> mean_absolute_error([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
        0.6666666666666666
    """
    fn = "mean_absolute_error"
    yt, yp = _pair(y_true, y_pred, fn)
    w = _sample_weight(sample_weight, len(yt), fn)
    return _reduce(np.average(np.abs(yt - yp), axis=0, weights=w), multioutput, fn)


def r2_score(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Coefficient of determination: the share of the target's variance the model explains.

    ``R² = 1 - sum_n (y_n - ŷ_n)^2 / sum_n (y_n - mean(y))^2``. 1 is perfect, 0 is as good
    as predicting the mean, and it can be negative. For a constant target (zero variance)
    it is 1.0 when the predictions are exact and 0.0 otherwise (scikit-learn's rule); with a
    single sample it is NaN, with an ``UndefinedMetricWarning`` (scikit-learn's too).

    Example:
        >>> r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
        1.0
        >>> r2_score([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
        0.0
    """
    fn = "r2_score"
    yt, yp = _pair(y_true, y_pred, fn)
    w = _sample_weight(sample_weight, len(yt), fn)
    if len(yt) < 2:
        # One sample has no variance to explain; scikit-learn returns NaN with a warning
        # rather than the 1.0 / 0.0 of the constant-target rule.
        warnings.warn(f"{fn}: R² is undefined for fewer than two samples (got {len(yt)}); "
                      "returning NaN", UndefinedMetricWarning, stacklevel=2)
        nan = np.full(yt.shape[1], np.nan)
        raw = isinstance(multioutput, str) and multioutput == "raw_values"
        return nan if raw else float("nan")
    ww = 1.0 if w is None else w[:, None]
    ss_res = (ww * (yt - yp) ** 2).sum(axis=0)
    ss_tot = (ww * (yt - np.average(yt, axis=0, weights=w)) ** 2).sum(axis=0)
    ok = ss_tot != 0
    r2 = np.where(ok, 1.0 - ss_res / np.where(ok, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0))
    return _reduce(r2, multioutput, fn, weights=ss_tot)
