"""Label metrics: accuracy, the confusion matrix, precision, recall, F-scores, the report.

Everything here reduces to per-class counts (true positives, predicted totals, true totals),
each one ``np.bincount`` over label indices. Averaging follows scikit-learn:

* ``'binary'``: the score of ``pos_label`` alone (needs at most two distinct labels);
* ``'micro'``: pool the counts of all classes, then divide once;
* ``'macro'``: the plain mean of the per-class scores (every class counts the same);
* ``'weighted'``: the mean weighted by each class's support (its count in ``y_true``);
* ``None``: the per-class array, in the order of ``labels``.

A ratio with a zero denominator (say precision for a class never predicted) is set to
``zero_division``: 0, 1 or ``np.nan`` (NaN entries are left out of macro and weighted means),
or ``'warn'``, which means 0 plus one ``UndefinedMetricWarning`` per call.
"""
from __future__ import annotations

import numpy as np

from ._checks import (as_1d, check_labels, check_nonempty, check_same_length, encode, label_pair,
                      safe_divide, to_numpy, unique_labels, zero_division_value)

AVERAGES = ("binary", "micro", "macro", "weighted", None)


# --------------------------------------------------------------------------------------------
# accuracy


def accuracy(y_true, y_pred, normalize: bool = True):
    """Fraction of samples whose predicted label equals the true label.

    ``accuracy = (1/N) * sum_i [y_pred_i == y_true_i]``

    Args:
        y_true: ``(N,)`` true labels.
        y_pred: ``(N,)`` predicted labels, or ``(N, C)`` scores (the argmax of each row is the
            prediction, so ``y_true`` must then hold class indices ``0..C-1``).
        normalize: if False, return the number of correct samples instead of the fraction.

    Example:
        >>> accuracy([0, 1, 2, 2], [0, 2, 2, 2])
        0.75
        >>> accuracy([1, 0], [[0.2, 0.8], [0.9, 0.1]])
        1.0
    """
    yt, yp = label_pair(y_true, y_pred, "accuracy")
    correct = int(np.count_nonzero(yt == yp))
    return correct / len(yt) if normalize else correct


accuracy_score = accuracy


def top_k_accuracy(y_true, scores, k: int = 5, labels=None, normalize: bool = True):
    """Fraction of samples whose true class is among the ``k`` highest-scored classes.

    ``top_k = (1/N) * sum_i [y_true_i in the k classes with the largest scores_i]``

    Ties are broken as scikit-learn's ``top_k_accuracy_score`` does: among equal scores the
    class with the larger index ranks higher.

    Args:
        y_true: ``(N,)`` true labels: indices ``0..C-1``, or values of ``labels``.
        scores: ``(N, C)`` class scores (probabilities or logits). A 1-D array is the score of
            the positive class of a binary problem; for ``k=1`` it is thresholded at 0.5 when
            it lies in [0, 1] and at 0 otherwise, and for ``k >= 2`` every sample is a hit.
        k: how many top classes count as a hit.
        labels: the class of each score column, in order (default ``0..C-1``).
        normalize: if False, return the number of hits.

    Example:
        >>> top_k_accuracy([2, 0], [[0.1, 0.3, 0.6], [0.2, 0.5, 0.3]], k=2)
        0.5
    """
    fn = "top_k_accuracy"
    yt = as_1d(y_true, "y_true", fn)
    s = to_numpy(scores, "scores", fn).astype(np.float64, copy=False)
    check_same_length(yt, s, fn, ("y_true", "scores"))
    check_nonempty(len(yt), fn)
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{fn}: k must be a positive integer, got {k!r}")
    if s.ndim == 1 or (s.ndim == 2 and s.shape[1] == 1):
        s = s.reshape(-1)
        classes = unique_labels(yt) if labels is None else check_labels(labels, fn)
        if len(classes) > 2:
            raise ValueError(f"{fn}: 1-D scores describe a binary problem but y_true has "
                             f"{len(classes)} classes; pass (N, C) scores")
        pos = classes[-1] if len(classes) == 2 else 1
        if k >= 2:
            hits = np.ones(len(yt), dtype=bool)
        else:
            threshold = 0.5 if s.min() >= 0 and s.max() <= 1 else 0.0
            hits = (s > threshold) == (yt == pos)
    elif s.ndim == 2:
        C = s.shape[1]
        if labels is None:
            idx = yt.astype(np.int64) if yt.dtype.kind in "iub" else encode(yt, np.arange(C))
            bad = (idx < 0) | (idx >= C)
        else:
            labels = check_labels(labels, fn)
            if len(labels) != C:
                raise ValueError(f"{fn}: {len(labels)} labels for {C} score columns; give one "
                                 "label per column")
            idx = encode(yt, labels)
            bad = idx < 0
        if np.any(bad):
            raise ValueError(f"{fn}: y_true holds {yt[bad][0].item()!r}, which is not a column of "
                             f"the {C}-column scores; pass labels= to name the columns")
        # NOTE: stable ascending sort then reversed, so equal scores favour the larger index
        # exactly as scikit-learn does.
        top = np.argsort(s, axis=1, kind="stable")[:, ::-1][:, :k]  # (N, k)
        hits = (top == idx[:, None]).any(axis=1)
    else:
        raise ValueError(f"{fn}: scores should be (N, C), got shape {s.shape}")
    n = int(hits.sum())
    return n / len(yt) if normalize else n


# --------------------------------------------------------------------------------------------
# confusion matrix


def confusion_matrix(y_true, y_pred, num_classes: int | None = None, labels=None,
                     normalize: str | None = None):
    """Count of samples for every (true class, predicted class) pair.

    ``cm[i, j] = #{n : y_true_n = labels[i] and y_pred_n = labels[j]}``: rows are true
    classes, columns predicted ones, so the diagonal holds the correct predictions.

    Args:
        y_true: ``(N,)`` true labels.
        y_pred: ``(N,)`` predicted labels, or ``(N, C)`` scores (argmax per row).
        num_classes: classes are the integers ``0..num_classes-1`` (classes that never occur
            still get a row and a column). Give this or ``labels``, not both.
        labels: the classes to count, in row order; samples whose true or predicted label is
            not among them are left out. Default: every label seen, sorted.
        normalize: ``None`` for counts; ``'true'`` divides each row by its sum (so row ``i``
            is the distribution of predictions for class ``i`` and the diagonal is recall);
            ``'pred'`` divides each column (the diagonal is precision); ``'all'`` divides by
            the total. Empty rows or columns become 0.

    Returns:
        ``(K, K)`` int64 counts, or float64 fractions when normalized.

    Example:
        >>> confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2]).tolist()
        [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    fn = "confusion_matrix"
    yt, yp = label_pair(y_true, y_pred, fn)
    if num_classes is not None and labels is not None:
        raise ValueError(f"{fn}: pass num_classes or labels, not both")
    if num_classes is not None:
        if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
            raise ValueError(f"{fn}: num_classes must be a positive integer, got {num_classes!r}")
        for name, arr in (("y_true", yt), ("y_pred", yp)):
            bad = (arr < 0) | (arr >= num_classes)
            if np.any(bad):
                raise ValueError(f"{fn}: {name} holds {arr[bad][0].item()!r}, outside "
                                 f"0..{num_classes - 1} for num_classes={num_classes}; raise "
                                 "num_classes or pass labels=")
        labels = np.arange(num_classes)
        ti, pi = yt.astype(np.int64), yp.astype(np.int64)
    else:
        labels = unique_labels(yt, yp) if labels is None else check_labels(labels, fn)
        ti, pi = encode(yt, labels), encode(yp, labels)
    cm = counts_to_matrix(ti, pi, len(labels))
    return normalize_confusion(cm, normalize, fn)


def counts_to_matrix(ti: np.ndarray, pi: np.ndarray, K: int) -> np.ndarray:
    """``(K, K)`` counts from index arrays (entries < 0 are skipped): one bincount."""
    keep = (ti >= 0) & (pi >= 0)
    flat = ti[keep].astype(np.int64) * K + pi[keep]
    return np.bincount(flat, minlength=K * K).reshape(K, K)


def normalize_confusion(cm: np.ndarray, normalize, fn: str = "confusion_matrix") -> np.ndarray:
    if normalize is None:
        return cm
    if normalize == "true":
        den = cm.sum(axis=1, keepdims=True)
    elif normalize == "pred":
        den = cm.sum(axis=0, keepdims=True)
    elif normalize == "all":
        den = cm.sum()
    else:
        raise ValueError(f"{fn}: normalize={normalize!r} is not one of None, 'true', 'pred', 'all'")
    return safe_divide(cm, np.broadcast_to(den, cm.shape), 0.0, fn)


# --------------------------------------------------------------------------------------------
# precision, recall, F-beta, specificity


def _select_labels(yt, yp, labels, average, pos_label, fn):
    """The label list the scores are reported for (scikit-learn's rules)."""
    if average not in AVERAGES:
        raise ValueError(f"{fn}: average={average!r} is not one of {AVERAGES}")
    present = unique_labels(yt, yp)
    if average == "binary":
        if len(present) > 2:
            raise ValueError(f"{fn}: average='binary' needs at most 2 distinct labels but got "
                             f"{len(present)} ({present[:10].tolist()}); choose average='macro', "
                             "'micro', 'weighted' or None")
        if pos_label not in present and len(present) == 2:
            raise ValueError(f"{fn}: pos_label={pos_label!r} is not one of the labels "
                             f"{present.tolist()}; pass pos_label= one of them")
        return np.asarray([pos_label])
    if labels is None:
        return present
    return check_labels(labels, fn)


def _class_counts(yt, yp, labels):
    """Per-label true positives, predicted totals, true totals: three bincounts."""
    K = len(labels)
    ti, pi = encode(yt, labels), encode(yp, labels)
    tp = np.bincount(ti[(ti == pi) & (ti >= 0)], minlength=K)
    pred = np.bincount(pi[pi >= 0], minlength=K)
    true = np.bincount(ti[ti >= 0], minlength=K)
    return tp, pred, true


def _average(scores, average, weights):
    """Mean of per-class scores ignoring NaN (scikit-learn's rule); weights = support."""
    if average is None:
        return scores
    if average in ("binary", "micro"):
        return float(scores[0])
    keep = ~np.isnan(scores)
    if not keep.any():
        return float("nan")
    if average == "weighted" and weights[keep].sum() > 0:
        return float(np.average(scores[keep], weights=weights[keep]))
    return float(scores[keep].mean())


def scores_from_counts(tp, pred, true, *, beta=1.0, average=None, zero_division="warn",
                       tn=None, warn_for=("precision", "recall", "f-score"),
                       fn="precision_recall_fscore_support"):
    """Precision, recall, F-beta (and specificity when ``tn`` is given) from per-class counts.

    ``precision = tp / pred``, ``recall = tp / true``,
    ``F_beta = (1 + beta^2) tp / ((1 + beta^2) tp + beta^2 fn + fp)
             = (1 + beta^2) tp / (beta^2 true + pred)``, ``specificity = tn / (tn + fp)``.

    This is the shared core of the array functions and of the streaming
    :class:`~nerve.metrics.ConfusionMatrix`. Returns a dict of floats (averaged) or arrays.
    """
    tp, pred, true = (np.asarray(a, dtype=np.float64) for a in (tp, pred, true))
    support = true
    if tn is not None:
        tn = np.asarray(tn, dtype=np.float64)
    if average == "micro":
        tp, pred, true = tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
        if tn is not None:
            tn = tn.sum(keepdims=True)

    def div(num, den, what):
        zd = zero_division if what in warn_for else (0.0 if zero_division == "warn"
                                                     else zero_division)
        return safe_divide(num, den, zd, fn, what)

    out = {"precision": div(tp, pred, "precision"), "recall": div(tp, true, "recall")}
    if np.isposinf(beta):
        out["f-score"] = out["recall"]
    elif beta == 0:
        out["f-score"] = out["precision"]
    else:
        b2 = beta * beta
        out["f-score"] = div((1 + b2) * tp, b2 * true + pred, "f-score")
    if tn is not None:
        fp = pred - tp
        out["specificity"] = div(tn, tn + fp, "specificity")
    return {k: _average(v, average, support) for k, v in out.items()}


def _check_beta(beta, fn):
    if not np.isscalar(beta) or np.isnan(beta) or beta < 0:
        raise ValueError(f"{fn}: beta must be a number >= 0 (1 gives F1), got {beta!r}")


def _prf(y_true, y_pred, *, labels, pos_label, average, zero_division, beta, warn_for, fn,
         want_tn=False):
    yt, yp = label_pair(y_true, y_pred, fn)
    _check_beta(beta, fn)
    zero_division_value(zero_division, fn)
    chosen = _select_labels(yt, yp, labels, average, pos_label, fn)
    tp, pred, true = _class_counts(yt, yp, chosen)
    tn = len(yt) - pred - true + tp if want_tn else None
    out = scores_from_counts(tp, pred, true, beta=beta, average=average,
                             zero_division=zero_division, tn=tn, warn_for=warn_for, fn=fn)
    return out, true


def precision_recall_fscore_support(y_true, y_pred, *, beta: float = 1.0, labels=None,
                                    pos_label=1, average=None, zero_division="warn"):
    """Precision, recall, F-beta and support for each class, or averaged.

    ``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)``,
    ``F_beta = (1 + beta^2) * precision * recall / (beta^2 * precision + recall)``;
    support is the number of samples of each class in ``y_true``.

    Args:
        y_true: ``(N,)`` true labels.
        y_pred: ``(N,)`` predicted labels or ``(N, C)`` scores (argmax per row).
        beta: weight of recall against precision (1: F1, 2: recall counts more).
        labels: classes to report, in order (default: every label seen, sorted). Classes
            that never occur get zero counts; labels outside this list are ignored.
        pos_label: the positive class when ``average='binary'``.
        average: ``None`` (per class, the default here), ``'binary'``, ``'micro'``,
            ``'macro'`` or ``'weighted'``; see the module docstring.
        zero_division: value for 0/0 ratios: 0, 1, ``np.nan`` or ``'warn'`` (0 + a warning).

    Returns:
        ``(precision, recall, fbeta, support)``: arrays per class when ``average=None``;
        floats and ``support=None`` otherwise.

    Example:
        >>> p, r, f, s = precision_recall_fscore_support([0, 1, 1, 2], [0, 1, 2, 2])
        >>> p.tolist(), r.tolist(), s.tolist()
        ([1.0, 1.0, 0.5], [1.0, 0.5, 1.0], [1, 2, 1])
    """
    out, true = _prf(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                     zero_division=zero_division, beta=beta, fn="precision_recall_fscore_support",
                     warn_for=("precision", "recall", "f-score"))
    support = true.astype(np.int64) if average is None else None
    return out["precision"], out["recall"], out["f-score"], support


def precision(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
              zero_division="warn"):
    """Precision: of the samples predicted as a class, the fraction that truly are.

    ``precision = TP / (TP + FP)``

    Args: as :func:`precision_recall_fscore_support`; ``average`` defaults to ``'binary'``.

    Example:
        >>> precision([0, 1, 1, 0], [1, 1, 1, 0])
        0.6666666666666666
        >>> precision([0, 1, 2, 2], [0, 2, 2, 2], average='macro', zero_division=0)
        0.5555555555555555
    """
    out, _ = _prf(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                  zero_division=zero_division, beta=1.0, fn="precision",
                  warn_for=("precision",))
    return out["precision"]


def recall(y_true, y_pred, *, labels=None, pos_label=1, average="binary", zero_division="warn"):
    """Recall (sensitivity, true positive rate): of a class's samples, the fraction found.

    ``recall = TP / (TP + FN)``

    Args: as :func:`precision_recall_fscore_support`; ``average`` defaults to ``'binary'``.

    Example:
        >>> recall([0, 1, 1, 0], [1, 1, 0, 0])
        0.5
    """
    out, _ = _prf(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                  zero_division=zero_division, beta=1.0, fn="recall", warn_for=("recall",))
    return out["recall"]


def fbeta_score(y_true, y_pred, *, beta: float, labels=None, pos_label=1, average="binary",
                zero_division="warn"):
    """F-beta: the weighted harmonic mean of precision and recall.

    ``F_beta = (1 + beta^2) TP / ((1 + beta^2) TP + beta^2 FN + FP)``; ``beta > 1`` favours
    recall, ``beta < 1`` precision, ``beta = 0`` is precision and ``beta = inf`` recall.

    Args: as :func:`precision_recall_fscore_support`; ``average`` defaults to ``'binary'``.

    Example:
        >>> round(fbeta_score([0, 1, 1, 0], [1, 1, 0, 0], beta=2), 4)
        0.5
    """
    out, _ = _prf(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                  zero_division=zero_division, beta=beta, fn="fbeta_score",
                  warn_for=("f-score",))
    return out["f-score"]


def f1_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
             zero_division="warn"):
    """F1: the harmonic mean of precision and recall.

    ``F1 = 2 TP / (2 TP + FP + FN)``

    Args: as :func:`precision_recall_fscore_support`; ``average`` defaults to ``'binary'``.

    Example:
        >>> f1_score([0, 1, 1, 0], [1, 1, 0, 0])
        0.5
    """
    out, _ = _prf(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                  zero_division=zero_division, beta=1.0, fn="f1_score", warn_for=("f-score",))
    return out["f-score"]


def specificity(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
                zero_division="warn"):
    """Specificity (true negative rate): of the samples not in a class, the fraction kept out.

    ``specificity = TN / (TN + FP)``; for a binary problem it is the recall of the negative
    class. Averaging as for :func:`recall`; ``'weighted'`` weights by each class's support.

    Example:
        >>> specificity([0, 1, 1, 0], [1, 1, 0, 0])
        0.5
    """
    out, _ = _prf(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                  zero_division=zero_division, beta=1.0, fn="specificity",
                  warn_for=("specificity",), want_tn=True)
    return out["specificity"]


# Aliases: the names other libraries and textbooks use.
precision_score = precision
recall_score = recall
sensitivity = recall
true_positive_rate = recall
tpr = recall
true_negative_rate = specificity


# --------------------------------------------------------------------------------------------
# report


def classification_report(y_true, y_pred, *, labels=None, target_names=None, digits: int = 3,
                          zero_division="warn", output_dict: bool = False):
    """A plain-text table of precision, recall, F1 and support for each class.

    Below the classes come three summary rows: overall accuracy, the unweighted mean over
    classes ("macro mean") and the support-weighted mean ("weighted mean").

    Args:
        y_true, y_pred: labels (or ``(N, C)`` scores for ``y_pred``).
        labels: the classes to list (default: every label seen, sorted).
        target_names: display names, one per label.
        digits: decimals shown.
        zero_division: as in :func:`precision_recall_fscore_support`.
        output_dict: return ``{row: {column: value}}`` instead of text.

    Example:
        >>> print(classification_report([0, 1, 1], [0, 1, 0], target_names=['cat', 'dog']))
        class          precision   recall       f1  support
        cat                0.500    1.000    0.667        1
        dog                1.000    0.500    0.667        2
        <BLANKLINE>
        accuracy                             0.667        3
        macro mean         0.750    0.750    0.667        3
        weighted mean      0.833    0.667    0.667        3
    """
    fn = "classification_report"
    yt, yp = label_pair(y_true, y_pred, fn)
    chosen = unique_labels(yt, yp) if labels is None else check_labels(labels, fn)
    if target_names is None:
        names = [str(c) for c in chosen]
    else:
        names = [str(t) for t in target_names]
        if len(names) != len(chosen):
            raise ValueError(f"{fn}: {len(names)} target_names for {len(chosen)} labels "
                             f"({chosen.tolist()}); give one name per label")
    tp, pred, true = _class_counts(yt, yp, chosen)
    per = scores_from_counts(tp, pred, true, average=None, zero_division=zero_division, fn=fn)
    rows = {n: {"precision": float(per["precision"][i]), "recall": float(per["recall"][i]),
                "f1": float(per["f-score"][i]), "support": int(true[i])}
            for i, n in enumerate(names)}
    total = int(true.sum())
    summary = {}
    for avg, title in (("macro", "macro mean"), ("weighted", "weighted mean")):
        s = scores_from_counts(tp, pred, true, average=avg, zero_division=zero_division, fn=fn)
        summary[title] = {"precision": s["precision"], "recall": s["recall"],
                          "f1": s["f-score"], "support": total}
    acc = float(np.count_nonzero(yt == yp) / len(yt))
    if output_dict:
        return {**rows, "accuracy": acc, **summary}

    width = max(len("weighted mean"), *(len(n) for n in names)) + 2
    col = max(digits + 6, 9)
    header = "class".ljust(width) + "".join(h.rjust(col) for h in ("precision", "recall", "f1"))
    header += "support".rjust(col)

    def line(name, r):
        return (name.ljust(width) + "".join(f"{r[k]:{col}.{digits}f}"
                                            for k in ("precision", "recall", "f1"))
                + f"{r['support']:{col}d}")

    out = [header] + [line(n, r) for n, r in rows.items()] + [""]
    out.append("accuracy".ljust(width) + " " * (2 * col) + f"{acc:{col}.{digits}f}"
               + f"{total:{col}d}")
    out += [line(n, r) for n, r in summary.items()]
    return "\n".join(out)


def iou_per_class(y_true, y_pred, num_classes):
    """Intersection over union of each class, from the confusion matrix.

    IoU_c = TP_c / (TP_c + FP_c + FN_c) = diag / (row sum + column sum - diag), computed over
    every element (pixels, for segmentation masks of any shape). A class absent from both
    ``y_true`` and ``y_pred`` gets NaN: there is no evidence either way.

    Example:
        >>> import numpy as np
        >>> iou_per_class(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 3).round(3).tolist()
        [0.5, 0.667, nan]
    """
    cm = confusion_matrix(np.ravel(y_true), np.ravel(y_pred), num_classes=num_classes).astype(np.float64)
    tp = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def mean_iou(y_true, y_pred, num_classes):
    """Mean of :func:`iou_per_class` over the classes that occur (NaNs skipped)."""
    return float(np.nanmean(iou_per_class(y_true, y_pred, num_classes)))
