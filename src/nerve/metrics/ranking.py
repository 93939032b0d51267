"""Threshold-free metrics of scores: ROC and precision-recall curves, AUC, average precision.

Both curves come from one pass: sort the scores in decreasing order, and a cumulative sum of
the sorted labels gives the true-positive count at every distinct threshold (the false
positives are the rest). Tied scores form a single point, so a tie never depends on the
order of the samples. The results match scikit-learn's ``roc_curve``,
``precision_recall_curve``, ``roc_auc_score`` and ``average_precision_score``.
"""
from __future__ import annotations

import numpy as np

from ._checks import as_1d, check_labels, check_nonempty, check_same_length, encode, to_numpy


def _binary_target(y_true, pos_label, fn):
    """Boolean "is positive" for each sample, with scikit-learn's default positive label."""
    classes = np.unique(y_true)
    if pos_label is None:
        if classes.dtype.kind in "US" or not (
                np.isin(classes, [0, 1]).all() or np.isin(classes, [-1, 1]).all()):
            raise ValueError(f"{fn}: y_true takes the values {classes[:10].tolist()}, so the "
                             "positive class is ambiguous; pass pos_label= (or use labels "
                             "{0, 1} or {-1, 1}, where 1 is positive)")
        pos_label = 1
    elif len(classes) == 2 and pos_label not in classes:
        raise ValueError(f"{fn}: pos_label={pos_label!r} is not one of the labels "
                         f"{classes.tolist()}")
    if len(classes) > 2:
        raise ValueError(f"{fn}: y_true has {len(classes)} classes; this curve is for binary "
                         "labels, so binarize (y_true == c) or use the one-vs-rest functions")
    return y_true == pos_label


def _scores_pair(y_true, y_score, fn):
    yt = as_1d(y_true, "y_true", fn)
    s = as_1d(y_score, "y_score", fn).astype(np.float64, copy=False)
    check_same_length(yt, s, fn, ("y_true", "y_score"))
    check_nonempty(len(yt), fn)
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{fn}: y_score holds {s[~np.isfinite(s)][0].item()!r}; scores must be "
                         "finite numbers")
    return yt, s


def _curve_weights(sample_weight, n, fn):
    if sample_weight is None:
        return None
    from .classification import _weights  # noqa: PLC0415  (one rule for every metric)

    return _weights(sample_weight, n, fn)


def binary_clf_curve(y_true, y_score, pos_label=None, fn="binary_clf_curve",
                     sample_weight=None):
    """False and true positive counts at every distinct score threshold, highest first.

    A sample is predicted positive at threshold ``t`` when ``score >= t``. With
    ``sample_weight`` the counts are sums of weights, and samples of weight 0 are left out
    (so their scores give no threshold), as in scikit-learn.

    Returns:
        ``(fps, tps, thresholds)``, float64 arrays of equal length, thresholds decreasing.
    """
    yt, s = _scores_pair(y_true, y_score, fn)
    pos = _binary_target(yt, pos_label, fn)
    w = _curve_weights(sample_weight, len(yt), fn)
    if w is not None:
        keep = w != 0
        s, pos, w = s[keep], pos[keep], w[keep]
    order = np.argsort(s, kind="stable")[::-1]  # (N,) decreasing score
    s, pos = s[order], pos[order]
    # The last index of each run of equal scores: one point per distinct threshold.
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    if w is None:
        tps = np.cumsum(pos, dtype=np.float64)[last]
        fps = 1.0 + last - tps
    else:
        w = w[order]
        tps = np.cumsum(pos * w)[last]
        fps = np.cumsum(~pos * w)[last]
    return fps, tps, s[last]


def roc_curve(y_true, y_score, *, pos_label=None, sample_weight=None,
              drop_intermediate: bool = True):
    """Receiver operating characteristic: the true positive rate against the false one.

    For each threshold ``t`` (a sample is positive when ``score >= t``):
    ``fpr(t) = FP(t) / #negatives`` and ``tpr(t) = TP(t) / #positives``.

    Args:
        y_true: ``(N,)`` binary labels ({0, 1}, {-1, 1}, or any two with ``pos_label``).
        y_score: ``(N,)`` scores, higher meaning "more positive" (probabilities or logits).
        pos_label: the positive class (default 1).
        sample_weight: optional ``(N,)`` weights; the rates become shares of weight.
        drop_intermediate: drop thresholds that lie on a straight segment of the curve (they
            change neither its shape nor its area), as scikit-learn does.

    Returns:
        ``(fpr, tpr, thresholds)``; the first threshold is ``+inf`` (nothing predicted
        positive), so the curve starts at (0, 0) and ends at (1, 1).

    Raises:
        ValueError: when ``y_true`` holds a single class (one of the rates would be 0/0).

    Example:
        >>> fpr, tpr, th = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        >>> fpr.tolist(), tpr.tolist(), th.tolist()
        ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0], [inf, 0.8, 0.4, 0.35, 0.1])
    """
    fn = "roc_curve"
    fps, tps, thresholds = binary_clf_curve(y_true, y_score, pos_label, fn, sample_weight)
    if tps[-1] == 0 or fps[-1] == 0:
        kind = "positive" if tps[-1] == 0 else "negative"
        raise ValueError(f"{fn}: y_true has no {kind} sample, so the "
                         f"{'true' if kind == 'positive' else 'false'} positive rate is 0/0; "
                         "an ROC curve needs both classes")
    if drop_intermediate and len(fps) > 2:
        # A point is kept when the slope changes there (second difference non-zero).
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    thresholds = np.r_[np.inf, thresholds]
    return fps / fps[-1], tps / tps[-1], thresholds


def auc(x, y):
    """Area under a curve given by points, with the trapezoidal rule.

    ``area = sum_i (x_{i+1} - x_i) (y_i + y_{i+1}) / 2``; ``x`` must be monotonic (either
    direction; a decreasing ``x`` gives the same positive area).

    Example:
        >>> auc([0.0, 0.5, 1.0], [0.0, 1.0, 1.0])
        0.75
    """
    fn = "auc"
    x = as_1d(x, "x", fn).astype(np.float64, copy=False)
    y = as_1d(y, "y", fn).astype(np.float64, copy=False)
    check_same_length(x, y, fn, ("x", "y"))
    if len(x) < 2:
        raise ValueError(f"{fn}: needs at least 2 points to define an area, got {len(x)}")
    for name, a in (("x", x), ("y", y)):
        if not np.all(np.isfinite(a)):
            # a NaN y made the area NaN; a NaN x was reported as unsorted
            raise ValueError(f"{fn}: {name} holds {a[~np.isfinite(a)][0].item()!r} at point "
                             f"{int(np.flatnonzero(~np.isfinite(a))[0])}; every point must be "
                             "finite")
    dx = np.diff(x)
    if np.all(dx <= 0):
        direction = -1.0
    elif np.all(dx >= 0):
        direction = 1.0
    else:
        raise ValueError(f"{fn}: x is neither increasing nor decreasing (e.g. {x[:5].tolist()}"
                         "...); sort the points by x first")
    return float(direction * np.sum(dx * (y[1:] + y[:-1]) / 2.0))


def precision_recall_curve(y_true, y_score, *, pos_label=None, sample_weight=None,
                           drop_intermediate: bool = False):
    """Precision and recall at every score threshold.

    ``precision(t) = TP(t) / (TP(t) + FP(t))``, ``recall(t) = TP(t) / #positives``.

    Args:
        y_true: ``(N,)`` binary labels.
        y_score: ``(N,)`` scores.
        pos_label: the positive class (default 1).
        sample_weight: optional ``(N,)`` weights; counts become sums of weights.
        drop_intermediate: keep only the first and last threshold of each run with the same
            recall (the vertical segments), as scikit-learn does.

    Returns:
        ``(precision, recall, thresholds)`` with recall decreasing; the last point is
        ``(precision=1, recall=0)`` and has no threshold, so ``thresholds`` is one shorter.

    Example:
        >>> p, r, th = precision_recall_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        >>> p.round(3).tolist(), r.tolist(), th.tolist()
        ([0.5, 0.667, 0.5, 1.0, 1.0], [1.0, 1.0, 0.5, 0.5, 0.0], [0.1, 0.35, 0.4, 0.8])
    """
    fn = "precision_recall_curve"
    fps, tps, thresholds = binary_clf_curve(y_true, y_score, pos_label, fn, sample_weight)
    if tps[-1] == 0:
        raise ValueError(f"{fn}: y_true has no positive sample, so recall is 0/0; a "
                         "precision-recall curve needs at least one positive")
    if drop_intermediate and len(fps) > 2:
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])),
                                    True])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    predicted = tps + fps
    prec = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted != 0)
    rec = tps / tps[-1]
    return np.r_[prec[::-1], 1.0], np.r_[rec[::-1], 0.0], thresholds[::-1]


def _binary_roc_auc(yt, s, w=None):
    fpr, tpr, _ = roc_curve(yt, s, sample_weight=w)
    return auc(fpr, tpr)


def _binary_ap(yt, s, w=None):
    p, r, _ = precision_recall_curve(yt, s, sample_weight=w)
    # Step-function integral: sum over thresholds of (recall gain) * precision.
    return float(max(0.0, -np.sum(np.diff(r) * p[:-1])))


def _one_vs_one(idx, s, average, binary_metric, fn):
    """Mean over class pairs (a, b) of the AUC of a against b, restricted to their samples.

    Each pair scores ``(AUC(a vs b, column a) + AUC(b vs a, column b)) / 2``; ``'weighted'``
    weights a pair by the fraction of samples in it (Hand & Till, 2001).
    """
    if average not in ("macro", "weighted"):
        raise ValueError(f"{fn}: multi_class='ovo' supports average='macro' or 'weighted', got "
                         f"{average!r}")
    C = s.shape[1]
    pair_scores, prevalence = [], []
    for a in range(C):  # C * (C - 1) / 2 whole-array metrics, not a loop over samples
        for b in range(a + 1, C):
            in_a, in_b = idx == a, idx == b
            both = in_a | in_b
            pair_scores.append((binary_metric(in_a[both].astype(np.int64), s[both, a])
                                + binary_metric(in_b[both].astype(np.int64), s[both, b])) / 2)
            prevalence.append(both.mean())
    weights = prevalence if average == "weighted" else None
    return float(np.average(pair_scores, weights=weights))


def _one_vs_rest(y_true, y_score, labels, average, binary_metric, fn, check_simplex,
                 multi_class="ovr", sample_weight=None):
    yt = as_1d(y_true, "y_true", fn)
    s = to_numpy(y_score, "y_score", fn).astype(np.float64, copy=False)
    check_same_length(yt, s, fn, ("y_true", "y_score"))
    check_nonempty(len(yt), fn)
    C = s.shape[1]
    classes = np.unique(yt) if labels is None else check_labels(labels, fn)
    if len(classes) != C:
        raise ValueError(f"{fn}: y_score has {C} columns but there are {len(classes)} classes "
                         f"({classes[:10].tolist()}); pass labels= naming each column")
    idx = encode(yt, classes)
    if np.any(idx < 0):
        raise ValueError(f"{fn}: y_true holds {yt[idx < 0][0].item()!r}, which is not in "
                         "labels")
    tol = np.sqrt(np.finfo(np.float64).eps)
    if check_simplex and not np.allclose(s.sum(axis=1), 1.0, rtol=0, atol=tol):
        raise ValueError(f"{fn}: multiclass scores must be probabilities whose rows sum to 1 "
                         f"(row 0 sums to {s[0].sum():.6g}); apply softmax to logits first")
    w = _curve_weights(sample_weight, len(yt), fn)
    if multi_class == "ovo":
        if w is not None:
            raise ValueError(f"{fn}: sample_weight is not supported with multi_class='ovo' "
                             "(nor in scikit-learn); use multi_class='ovr'")
        return _one_vs_one(idx, s, average, binary_metric, fn)
    onehot = idx[:, None] == np.arange(C)  # (N, C)
    if average == "micro":
        return binary_metric(onehot.ravel().astype(np.int64), s.ravel(),
                             None if w is None else np.repeat(w, C))
    if average not in ("macro", "weighted", None):
        raise ValueError(f"{fn}: average={average!r} is not one of 'macro', 'weighted', "
                         "'micro', None")
    # One whole-array binary metric per class (C iterations, not N).
    per_class = np.array([binary_metric(onehot[:, c].astype(np.int64), s[:, c], w)
                          for c in range(C)])
    if average is None:
        return per_class
    support = onehot.sum(axis=0) if w is None else w @ onehot
    if average == "weighted":
        return float(np.average(per_class, weights=support)) if support.sum() else 0.0
    return float(per_class.mean())


def roc_auc_score(y_true, y_score, *, average: str | None = "macro", multi_class: str = "ovr",
                  labels=None, sample_weight=None):
    """Area under the ROC curve: the probability that a random positive outscores a negative.

    ``AUC = P(s_pos > s_neg) + P(s_pos = s_neg) / 2``, computed as the trapezoidal area under
    :func:`roc_curve`. 1.0 is a perfect ranking, 0.5 is chance (or constant scores).

    Args:
        y_true: ``(N,)`` labels. Binary: the larger of the two labels is the positive class.
        y_score: ``(N,)`` scores for a binary problem (an ``(N, 2)`` array uses column 1);
            ``(N, C)`` class probabilities (rows summing to 1) for a multiclass one.
        average: multiclass only: ``'macro'`` (mean of the one-vs-rest AUCs), ``'weighted'``
            (weighted by class support), ``'micro'`` (AUC of all one-vs-rest pairs pooled) or
            ``None`` (per-class array).
        multi_class: ``'ovr'`` (one-vs-rest, each class against all others) or ``'ovo'``
            (one-vs-one: the mean over class pairs, insensitive to class imbalance; average
            ``'macro'`` or ``'weighted'`` by pair prevalence).
        labels: multiclass: the class of each column (default: sorted unique ``y_true``).
        sample_weight: optional ``(N,)`` weights (not with ``multi_class='ovo'``).

    Example:
        >>> roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        0.75
    """
    fn = "roc_auc_score"
    s = to_numpy(y_score, "y_score", fn)
    yt = as_1d(y_true, "y_true", fn)
    check_same_length(yt, s, fn, ("y_true", "y_score"))
    check_nonempty(len(yt), fn)
    if s.ndim == 2 and s.shape[1] > 2:
        if multi_class not in ("ovr", "ovo"):
            raise ValueError(f"{fn}: multi_class={multi_class!r} is not one of 'ovr', 'ovo'")
        return _one_vs_rest(yt, s, labels, average, _binary_roc_auc, fn, check_simplex=True,
                            multi_class=multi_class, sample_weight=sample_weight)
    if s.ndim == 2:
        s = s[:, -1]
    classes = np.unique(yt)
    if len(classes) != 2:
        raise ValueError(f"{fn}: y_true holds {len(classes)} class(es) "
                         f"({classes[:10].tolist()}) but 1-D scores need exactly 2; ROC AUC is "
                         "undefined for a single class" if len(classes) < 2 else
                         f"{fn}: y_true has {len(classes)} classes; pass (N, C) probabilities")
    return _binary_roc_auc(yt == classes[1], s, sample_weight)


def average_precision_score(y_true, y_score, *, average: str | None = "macro", pos_label=1,
                            labels=None, sample_weight=None):
    """Average precision: the area under the precision-recall step curve.

    ``AP = sum_k (R_k - R_{k-1}) P_k`` over thresholds in decreasing order (no
    interpolation), so it rewards ranking positives first.

    Args:
        y_true: ``(N,)`` labels.
        y_score: ``(N,)`` scores of ``pos_label`` (binary), or ``(N, C)`` class scores.
        average: for ``(N, C)`` scores: ``'macro'``, ``'weighted'``, ``'micro'`` or ``None``.
        pos_label: the positive class of a binary problem.
        labels: the class of each column for ``(N, C)`` scores (default: sorted unique y_true).
        sample_weight: optional ``(N,)`` weights.

    Example:
        >>> round(average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
        0.8333
    """
    fn = "average_precision_score"
    s = to_numpy(y_score, "y_score", fn)
    if s.ndim == 2 and s.shape[1] > 1:
        return _one_vs_rest(y_true, s, labels, average, _binary_ap, fn, check_simplex=False,
                            sample_weight=sample_weight)
    yt, s = _scores_pair(y_true, s, fn)
    classes = np.unique(yt)
    if len(classes) > 2:
        # (y_true == pos_label) would silently fold every other class into the negatives
        raise ValueError(f"{fn}: y_true has {len(classes)} classes ({classes[:10].tolist()}) "
                         "but y_score is 1-D; pass (N, C) scores, one column per class, or "
                         "binarize y_true (y_true == c) yourself")
    if len(classes) == 2 and pos_label not in classes:
        raise ValueError(f"{fn}: pos_label={pos_label!r} is not one of the labels "
                         f"{classes.tolist()}")
    return _binary_ap(yt == pos_label, s, sample_weight)
