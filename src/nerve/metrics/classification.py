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

AVERAGES = ("binary", "micro", "macro", "weighted", "samples", None)


def _weights(sample_weight, n, fn):
    """``sample_weight`` as a float64 (n,) array, or None."""
    if sample_weight is None:
        return None
    w = as_1d(sample_weight, "sample_weight", fn).astype(np.float64)
    if len(w) != n:
        raise ValueError(f"{fn}: sample_weight has {len(w)} entries but there are {n} samples; "
                         "give one weight per sample")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{fn}: sample_weight contains NaN or infinity")
    if n and not np.any(w != 0):
        # Every count would be 0, so each score would silently become zero_division (or the
        # confusion matrix all zeros); scikit-learn refuses this too.
        raise ValueError(f"{fn}: sample_weight is 0 for all {n} samples, so no sample counts; "
                         "give at least one sample a non-zero weight")
    return w


def _is_multilabel(y_true) -> bool:
    """A 2-D (N, L) array with L >= 2 columns is a multilabel indicator matrix."""
    arr = y_true if isinstance(y_true, np.ndarray) else to_numpy(y_true)
    return arr.ndim == 2 and arr.shape[1] >= 2


def _multilabel_pair(y_true, y_pred, fn):
    """Validated (N, L) 0/1 indicator matrices of one shape."""
    yt = to_numpy(y_true, "y_true", fn)
    yp = to_numpy(y_pred, "y_pred", fn)
    if yt.shape != yp.shape:
        raise ValueError(f"{fn}: y_true is a multilabel indicator matrix of shape {yt.shape} but "
                         f"y_pred has shape {yp.shape}; give one 0/1 entry per (sample, label)")
    check_nonempty(len(yt), fn)
    for name, a in (("y_true", yt), ("y_pred", yp)):
        if a.size and not np.isin(a, (0, 1)).all():
            raise ValueError(f"{fn}: {name} of shape {a.shape} is read as a multilabel indicator "
                             "matrix and must hold only 0 and 1; for (N, C) scores pass "
                             "y_pred.argmax(1), or threshold probabilities first")
    return yt.astype(bool), yp.astype(bool)


# --------------------------------------------------------------------------------------------
# accuracy


def accuracy(y_true, y_pred, normalize: bool = True, sample_weight=None):
    """Fraction of samples whose predicted label equals the true label.

    ``accuracy = sum_i w_i [y_pred_i == y_true_i] / sum_i w_i`` (w = 1 without weights). For
    multilabel indicator matrices (N, L) a sample counts only if its whole row matches
    (subset accuracy, as scikit-learn).

    Args:
        y_true: ``(N,)`` true labels, or an ``(N, L)`` 0/1 multilabel indicator matrix.
        y_pred: ``(N,)`` predicted labels, or ``(N, C)`` scores (the argmax of each row is the
            prediction, so ``y_true`` must then hold class indices ``0..C-1``).
        normalize: if False, return the number (weighted sum) of correct samples.
        sample_weight: optional ``(N,)`` weights.

    Example:
        >>> accuracy([0, 1, 2, 2], [0, 2, 2, 2])
        0.75
        >>> accuracy([1, 0], [[0.2, 0.8], [0.9, 0.1]])
        1.0
    """
    if _is_multilabel(y_true):
        yt, yp = _multilabel_pair(y_true, y_pred, "accuracy")
        hit = (yt == yp).all(axis=1)
    else:
        yt, yp = label_pair(y_true, y_pred, "accuracy")
        hit = yt == yp
    w = _weights(sample_weight, len(yt), "accuracy")
    if w is None:
        correct = int(np.count_nonzero(hit))
        return correct / len(yt) if normalize else correct
    correct = float(w[hit].sum())
    if normalize and not w.sum() != 0:
        # weights that cancel out (say 1 and -1): the mean has no denominator
        raise ValueError("accuracy: sample_weight sums to 0, so the weighted mean is undefined; "
                         "give weights with a non-zero sum")
    return correct / float(w.sum()) if normalize else correct


def balanced_accuracy_score(y_true, y_pred, *, sample_weight=None, adjusted: bool = False):
    """The mean of the per-class recalls: accuracy that every class weighs equally.

    ``balanced = (1/K) * sum_k TP_k / (TP_k + FN_k)`` over the K classes present in ``y_true``
    (a class that is only predicted has no recall and is left out, with a warning). Always
    predicting one class gives exactly 1/K, however imbalanced the data; with ``adjusted`` the
    score is rescaled so that chance is 0: ``(balanced − 1/K) / (1 − 1/K)``.

    Example:
        >>> balanced_accuracy_score([0] * 99 + [1], [0] * 100)
        0.5
    """
    fn = "balanced_accuracy_score"
    yt, yp = label_pair(y_true, y_pred, fn)
    w = _weights(sample_weight, len(yt), fn)
    labels = unique_labels(yt, yp)
    ti, pi = encode(yt, labels), encode(yp, labels)
    K = len(labels)
    cm = np.bincount(ti * K + pi, weights=w, minlength=K * K).reshape(K, K)
    support = cm.sum(axis=1)
    present = support > 0
    if not present.all():
        import warnings  # noqa: PLC0415

        warnings.warn(f"{fn}: y_pred contains classes not in y_true "
                      f"({labels[~present].tolist()}); they have no recall and are left out",
                      UserWarning, stacklevel=2)
    recalls = np.diag(cm)[present] / support[present]
    score = float(recalls.mean())
    if adjusted:
        chance = 1.0 / len(recalls)
        score = (score - chance) / (1 - chance) if len(recalls) > 1 else 0.0
    return score


accuracy_score = accuracy


def top_k_accuracy(y_true, scores, k: int = 5, labels=None, normalize: bool = True,
                   sample_weight=None):
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
        sample_weight: optional ``(N,)`` weights: the weighted share (or sum) of hits.

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
    if not np.all(np.isfinite(s)):
        # a NaN compares false with everything, so it would neither outrank nor be outranked
        raise ValueError(f"{fn}: scores hold {s[~np.isfinite(s)][0].item()!r}; scores must be "
                         "finite numbers")
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
    w = _weights(sample_weight, len(yt), fn)
    if w is not None:
        hit_weight = float(w[hits].sum())
        return hit_weight / float(w.sum()) if normalize else hit_weight
    n = int(hits.sum())
    return n / len(yt) if normalize else n


# --------------------------------------------------------------------------------------------
# confusion matrix


def confusion_matrix(y_true, y_pred, num_classes: int | None = None, labels=None,
                     normalize: str | None = None, sample_weight=None):
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
        sample_weight: optional ``(N,)`` weights; each sample adds its weight to its cell.

    Returns:
        ``(K, K)`` int64 counts (float64 with non-integer weights), or float64 fractions when
        normalized.

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
    w = _weights(sample_weight, len(yt), fn)
    cm = counts_to_matrix(ti, pi, len(labels), w)
    if w is not None and np.asarray(sample_weight).dtype.kind in "iub":
        cm = cm.astype(np.int64)      # integer weights keep integer counts, as scikit-learn
    return normalize_confusion(cm, normalize, fn)


def counts_to_matrix(ti: np.ndarray, pi: np.ndarray, K: int, weights=None) -> np.ndarray:
    """``(K, K)`` counts (or weight sums) from index arrays (entries < 0 are skipped): one
    bincount."""
    keep = (ti >= 0) & (pi >= 0)
    flat = ti[keep].astype(np.int64) * K + pi[keep]
    w = None if weights is None else weights[keep]
    return np.bincount(flat, weights=w, minlength=K * K).reshape(K, K)


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


def _class_counts(yt, yp, labels, w=None):
    """Per-label true positives, predicted totals, true totals (weight sums with ``w``): three
    bincounts."""
    K = len(labels)
    ti, pi = encode(yt, labels), encode(yp, labels)

    def count(idx, mask):
        return np.bincount(idx[mask], weights=None if w is None else w[mask], minlength=K)

    tp = count(ti, (ti == pi) & (ti >= 0))
    pred = count(pi, pi >= 0)
    true = count(ti, ti >= 0)
    return tp, pred, true


def _multilabel_counts(yt, yp, labels, w, samplewise):
    """tp, pred, true per label (columns) or, with ``samplewise``, per sample (rows)."""
    L = yt.shape[1]
    cols = np.arange(L) if labels is None else np.asarray(labels)
    if cols.size and (cols.dtype.kind not in "iu" or cols.min() < 0 or cols.max() >= L):
        raise ValueError(f"labels must be column indices in 0..{L - 1} for multilabel input, got "
                         f"{cols.tolist()}")
    yt, yp = yt[:, cols], yp[:, cols]
    tp_m = yt & yp
    if samplewise:
        return tp_m.sum(1).astype(float), yp.sum(1).astype(float), yt.sum(1).astype(float)
    ww = np.ones(len(yt)) if w is None else w
    return ww @ tp_m, ww @ yp, ww @ yt


def _average(scores, average, weights):
    """Mean of per-class scores ignoring NaN (scikit-learn's rule); weights = support, or the
    sample weights for ``'samples'``."""
    if average is None:
        return scores
    if average in ("binary", "micro"):
        return float(scores[0])
    keep = ~np.isnan(scores)
    if not keep.any():
        return float("nan")
    if average in ("weighted", "samples") and weights is not None and weights[keep].sum() > 0:
        return float(np.average(scores[keep], weights=weights[keep]))
    return float(scores[keep].mean())


def scores_from_counts(tp, pred, true, *, beta=1.0, average=None, zero_division="warn",
                       tn=None, warn_for=("precision", "recall", "f-score"),
                       fn="precision_recall_fscore_support", sample_weight=None):
    """Precision, recall, F-beta (and specificity when ``tn`` is given) from per-class counts.

    ``precision = tp / pred``, ``recall = tp / true``,
    ``F_beta = (1 + beta^2) tp / ((1 + beta^2) tp + beta^2 fn + fp)
             = (1 + beta^2) tp / (beta^2 true + pred)``, ``specificity = tn / (tn + fp)``.

    This is the shared core of the array functions and of the streaming
    :class:`~nerve.metrics.ConfusionMatrix`. Returns a dict of floats (averaged) or arrays.
    """
    tp, pred, true = (np.asarray(a, dtype=np.float64) for a in (tp, pred, true))
    support = sample_weight if average == "samples" else true
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
         want_tn=False, sample_weight=None):
    _check_beta(beta, fn)
    zero_division_value(zero_division, fn)
    if _is_multilabel(y_true):
        yt, yp = _multilabel_pair(y_true, y_pred, fn)
        w = _weights(sample_weight, len(yt), fn)
        if average not in AVERAGES:
            raise ValueError(f"{fn}: average={average!r} is not one of {AVERAGES}")
        if average == "binary":
            raise ValueError(f"{fn}: Target is multilabel-indicator but average='binary'; choose "
                             "average='micro', 'macro', 'weighted', 'samples' or None")
        samplewise = average == "samples"
        tp, pred, true = _multilabel_counts(yt, yp, labels, w, samplewise)
        total = len(yt) if w is None else w.sum()
        tn = (len(labels) if labels is not None else yt.shape[1]) - pred - true + tp \
            if samplewise else total - pred - true + tp
        sw = (np.ones(len(yt)) if w is None else w) if samplewise else None
        out = scores_from_counts(tp, pred, true, beta=beta, average=average,
                                 zero_division=zero_division, tn=tn if want_tn else None,
                                 warn_for=warn_for, fn=fn, sample_weight=sw)
        return out, true
    if average == "samples":
        raise ValueError(f"{fn}: average='samples' needs multilabel indicator matrices (N, L); "
                         "for class labels choose 'micro', 'macro' or 'weighted'")
    yt, yp = label_pair(y_true, y_pred, fn)
    w = _weights(sample_weight, len(yt), fn)
    chosen = _select_labels(yt, yp, labels, average, pos_label, fn)
    tp, pred, true = _class_counts(yt, yp, chosen, w)
    total = len(yt) if w is None else w.sum()
    tn = total - pred - true + tp if want_tn else None
    out = scores_from_counts(tp, pred, true, beta=beta, average=average,
                             zero_division=zero_division, tn=tn, warn_for=warn_for, fn=fn)
    return out, true


def precision_recall_fscore_support(y_true, y_pred, *, beta: float = 1.0, labels=None,
                                    pos_label=1, average=None, zero_division="warn",
                                    sample_weight=None):
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
            ``'macro'``, ``'weighted'`` or (multilabel only) ``'samples'``; see the module
            docstring.
        zero_division: value for 0/0 ratios: 0, 1, ``np.nan`` or ``'warn'`` (0 + a warning).
        sample_weight: optional ``(N,)`` weights: every count becomes a sum of weights.

    Multilabel input: ``y_true`` and ``y_pred`` as ``(N, L)`` 0/1 indicator matrices; each
    column is a binary problem, ``labels`` selects columns by index, and ``'samples'`` averages
    the scores computed per row (weighted by ``sample_weight``).

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
                     warn_for=("precision", "recall", "f-score"), sample_weight=sample_weight)
    support = (true.astype(np.int64) if sample_weight is None else true) if average is None else None
    return out["precision"], out["recall"], out["f-score"], support


def precision(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
              zero_division="warn", sample_weight=None):
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
                  warn_for=("precision",), sample_weight=sample_weight)
    return out["precision"]


def recall(y_true, y_pred, *, labels=None, pos_label=1, average="binary", zero_division="warn",
           sample_weight=None):
    """Recall (sensitivity, true positive rate): of a class's samples, the fraction found.

    ``recall = TP / (TP + FN)``

    Args: as :func:`precision_recall_fscore_support`; ``average`` defaults to ``'binary'``.

    Example:
        >>> recall([0, 1, 1, 0], [1, 1, 0, 0])
        0.5
    """
    out, _ = _prf(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                  zero_division=zero_division, beta=1.0, fn="recall", warn_for=("recall",),
                  sample_weight=sample_weight)
    return out["recall"]


def fbeta_score(y_true, y_pred, *, beta: float, labels=None, pos_label=1, average="binary",
                zero_division="warn", sample_weight=None):
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
                  warn_for=("f-score",), sample_weight=sample_weight)
    return out["f-score"]


def f1_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
             zero_division="warn", sample_weight=None):
    """F1: the harmonic mean of precision and recall.

    ``F1 = 2 TP / (2 TP + FP + FN)``

    Args: as :func:`precision_recall_fscore_support`; ``average`` defaults to ``'binary'``.

    Example:
        >>> f1_score([0, 1, 1, 0], [1, 1, 0, 0])
        0.5
    """
    out, _ = _prf(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                  zero_division=zero_division, beta=1.0, fn="f1_score", warn_for=("f-score",),
                  sample_weight=sample_weight)
    return out["f-score"]


def specificity(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
                zero_division="warn", sample_weight=None):
    """Specificity (true negative rate): of the samples not in a class, the fraction kept out.

    ``specificity = TN / (TN + FP)``; for a binary problem it is the recall of the negative
    class. Averaging as for :func:`recall`; ``'weighted'`` weights by each class's support.

    Example:
        >>> specificity([0, 1, 1, 0], [1, 1, 0, 0])
        0.5
    """
    out, _ = _prf(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                  zero_division=zero_division, beta=1.0, fn="specificity",
                  warn_for=("specificity",), want_tn=True, sample_weight=sample_weight)
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
                          zero_division="warn", output_dict: bool = False, sample_weight=None):
    """A plain-text table of precision, recall, F1 and support for each class.

    Below the classes come three summary rows: overall accuracy, the unweighted mean over
    classes ("macro mean") and the support-weighted mean ("weighted mean"). When ``labels``
    leaves out a class that occurs, the accuracy row (about every sample) gives way to a
    "micro mean" over the listed classes, as in scikit-learn.

    Args:
        y_true, y_pred: labels (or ``(N, C)`` scores for ``y_pred``).
        labels: the classes to list (default: every label seen, sorted).
        target_names: display names, one per label.
        digits: decimals shown.
        zero_division: as in :func:`precision_recall_fscore_support`.
        output_dict: return ``{row: {column: value}}`` instead of text.
        sample_weight: optional ``(N,)`` weights: every count, the support and the accuracy
            become sums of weights (shown with ``digits`` decimals when not whole numbers).

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
    w = _weights(sample_weight, len(yt), fn)
    tp, pred, true = _class_counts(yt, yp, chosen, w)
    per = scores_from_counts(tp, pred, true, average=None, zero_division=zero_division, fn=fn)
    as_count = int if w is None else float
    rows = {n: {"precision": float(per["precision"][i]), "recall": float(per["recall"][i]),
                "f1": float(per["f-score"][i]), "support": as_count(true[i])}
            for i, n in enumerate(names)}
    total = as_count(true.sum())
    # Accuracy describes every sample; when ``labels`` leaves some classes out, the rows cover
    # only part of the samples, so (as scikit-learn does) a micro mean over the listed classes
    # replaces the accuracy row.
    micro_is_accuracy = labels is None or set(unique_labels(yt, yp).tolist()) <= set(chosen.tolist())
    summary = {}
    averages = (("macro", "macro mean"), ("weighted", "weighted mean"))
    if not micro_is_accuracy:
        averages = (("micro", "micro mean"),) + averages
    for avg, title in averages:
        s = scores_from_counts(tp, pred, true, average=avg, zero_division=zero_division, fn=fn)
        summary[title] = {"precision": s["precision"], "recall": s["recall"],
                          "f1": s["f-score"], "support": total}
    acc = accuracy(yt, yp, sample_weight=w)
    if output_dict:
        return {**rows, **({"accuracy": acc} if micro_is_accuracy else {}), **summary}

    width = max(len("weighted mean"), *(len(n) for n in names)) + 2
    col = max(digits + 6, 9)
    header = "class".ljust(width) + "".join(h.rjust(col) for h in ("precision", "recall", "f1"))
    header += "support".rjust(col)

    def count(v):
        return f"{v:{col}d}" if isinstance(v, int) else f"{v:{col}.{digits}f}"

    def line(name, r):
        return (name.ljust(width) + "".join(f"{r[k]:{col}.{digits}f}"
                                            for k in ("precision", "recall", "f1"))
                + count(r["support"]))

    out = [header] + [line(n, r) for n, r in rows.items()] + [""]
    if micro_is_accuracy:
        out.append("accuracy".ljust(width) + " " * (2 * col) + f"{acc:{col}.{digits}f}"
                   + count(total))
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
