"""Streaming metrics: accumulate counts batch by batch, compute the whole-set value at the end.

Averaging per-batch scores is wrong whenever batches differ in size (the last batch of an
epoch usually does) and for any ratio metric such as precision: the mean of ratios is not
the ratio of sums. These accumulators keep the sufficient statistics instead (sums, counts,
a confusion matrix), so ``compute()`` after a validation pass equals the array metric on
the concatenated predictions exactly.

    >>> acc = Accuracy()
    >>> acc.update([0, 1, 1], [0, 1, 0])   # 2 of 3 right
    >>> acc.update([1], [1])               # 1 of 1 right
    >>> acc.compute()                      # 3 of 4, not the batch mean (2/3 + 1) / 2
    0.75
"""
from __future__ import annotations

import numpy as np

from ._checks import check_labels, encode, label_pair, to_numpy
from .classification import counts_to_matrix, normalize_confusion, scores_from_counts


def _empty_batch(y_true, y_pred, fn: str) -> bool:
    """True for a batch of 0 samples, which adds nothing (a loader's last batch can be empty,
    and a filtered batch often is); a batch of two different lengths is still an error."""
    yt = to_numpy(y_true, "y_true", fn)
    yp = to_numpy(y_pred, "y_pred", fn)
    if yt.ndim == 0 or yp.ndim == 0 or (len(yt) and len(yp)):
        return False
    if len(yt) != len(yp):
        raise ValueError(f"{fn}: y_true has {len(yt)} samples but y_pred has {len(yp)}; they "
                         "must describe the same samples, one entry each")
    return True


class Metric:
    """Base of the streaming metrics: ``update`` per batch, ``compute`` at the end, ``reset``."""

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, *args, **kwargs) -> None:
        raise NotImplementedError

    def compute(self):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class Mean(Metric):
    """Running (optionally weighted) mean of values, e.g. the loss over a validation set.

    ``mean = sum_i w_i v_i / sum_i w_i``. Give ``weight=batch_size`` with a per-batch mean
    loss so that a short last batch counts for what it holds.

    Example:
        >>> m = Mean()
        >>> m.update(1.0, weight=3); m.update(3.0, weight=1)
        >>> m.compute()
        1.5
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.total = 0.0
        self.weight = 0.0

    def update(self, values, weight=None) -> None:
        """Add a number or an array of values (each with ``weight``, default 1)."""
        v = to_numpy(values, "values", "Mean.update").astype(np.float64)
        if weight is None:
            w = np.ones_like(v)
        else:
            w = to_numpy(weight, "weight", "Mean.update").astype(np.float64)
            try:
                w = np.broadcast_to(w, v.shape)
            except ValueError:
                raise ValueError(f"Mean.update: weight of shape {w.shape} does not match values "
                                 f"of shape {v.shape}; give one weight, or one per value") from None
            if np.any(w < 0) or not np.all(np.isfinite(w)):
                bad = w[(w < 0) | ~np.isfinite(w)][0]
                raise ValueError(f"Mean.update: weights must be finite and >= 0, got {bad.item()!r}")
        self.total += float((v * w).sum())
        self.weight += float(w.sum())

    def compute(self) -> float:
        if self.weight == 0:
            raise ValueError("Mean.compute: no values were added since the last reset(); call "
                             "update() first")
        return self.total / self.weight


class Accuracy(Metric):
    """Fraction of correct predictions over every batch seen since ``reset``.

    ``update(y_true, y_pred)`` takes labels, or ``(N, C)`` scores whose row-wise argmax is
    the prediction.

    Example:
        >>> a = Accuracy()
        >>> a.update([1, 0], [[0.1, 0.9], [0.3, 0.7]])
        >>> a.compute()
        0.5
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.correct = 0
        self.count = 0

    def update(self, y_true, y_pred) -> None:
        if _empty_batch(y_true, y_pred, "Accuracy.update"):
            return
        yt, yp = label_pair(y_true, y_pred, "Accuracy.update")
        self.correct += int(np.count_nonzero(yt == yp))
        self.count += len(yt)

    def compute(self) -> float:
        if self.count == 0:
            raise ValueError("Accuracy.compute: no samples were added since the last reset(); "
                             "call update() first")
        return self.correct / self.count


class ConfusionMatrix(Metric):
    """A confusion matrix accumulated over batches, with the scores derived from it.

    The classes must be known up front (``num_classes`` for labels ``0..K-1``, or
    ``labels``), so every batch adds into the same ``(K, K)`` table; labels outside them
    raise an error rather than silently vanishing.

    Example:
        >>> cm = ConfusionMatrix(num_classes=3)
        >>> cm.update([0, 1, 2], [0, 2, 2]); cm.update([1], [1])
        >>> cm.compute().tolist()
        [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
        >>> round(cm.precision(average='macro'), 4)
        0.8333
    """

    def __init__(self, num_classes: int | None = None, labels=None):
        if (num_classes is None) == (labels is None):
            raise ValueError("ConfusionMatrix: pass exactly one of num_classes (labels 0..K-1) "
                             "or labels (the class values, in row order)")
        if labels is None:
            if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
                raise ValueError(f"ConfusionMatrix: num_classes must be a positive integer, got "
                                 f"{num_classes!r}")
            labels = np.arange(num_classes)
        self.labels = check_labels(labels, "ConfusionMatrix")
        self.reset()

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def reset(self) -> None:
        K = len(self.labels)
        self.matrix = np.zeros((K, K), dtype=np.int64)

    def update(self, y_true, y_pred) -> None:
        if _empty_batch(y_true, y_pred, "ConfusionMatrix.update"):
            return
        yt, yp = label_pair(y_true, y_pred, "ConfusionMatrix.update")
        ti, pi = encode(yt, self.labels), encode(yp, self.labels)
        for name, arr, idx in (("y_true", yt, ti), ("y_pred", yp, pi)):
            if np.any(idx < 0):
                bad = arr[idx < 0][0].item()
                raise ValueError(f"ConfusionMatrix.update: {name} holds {bad!r}, "
                                 f"not one of the {self.num_classes} classes "
                                 f"{self.labels[:10].tolist()}")
        self.matrix += counts_to_matrix(ti, pi, self.num_classes)

    def compute(self, normalize: str | None = None) -> np.ndarray:
        """The ``(K, K)`` matrix (rows true, columns predicted); ``normalize`` as in
        :func:`~nerve.metrics.confusion_matrix`."""
        return normalize_confusion(self.matrix.copy(), normalize, "ConfusionMatrix.compute")

    # Scores from the accumulated counts -----------------------------------------------

    def _scores(self, average, pos_label, zero_division, beta=1.0):
        n = int(self.matrix.sum())
        if n == 0:
            raise ValueError("ConfusionMatrix: no samples were added since the last reset(); "
                             "call update() first")
        tp = np.diag(self.matrix)
        pred = self.matrix.sum(axis=0)
        true = self.matrix.sum(axis=1)
        if average == "binary":
            idx = encode(np.asarray([pos_label]), self.labels)[0]
            if idx < 0:
                raise ValueError(f"ConfusionMatrix: pos_label={pos_label!r} is not one of the "
                                 f"classes {self.labels.tolist()}")
            tp, pred, true = tp[idx:idx + 1], pred[idx:idx + 1], true[idx:idx + 1]
        tn = n - pred - true + tp
        return scores_from_counts(tp, pred, true, beta=beta, average=average,
                                  zero_division=zero_division, tn=tn,
                                  fn="ConfusionMatrix")

    def accuracy(self) -> float:
        """Correct predictions (the diagonal) over all samples."""
        n = self.matrix.sum()
        if n == 0:
            raise ValueError("ConfusionMatrix.accuracy: no samples were added; call update()")
        return float(np.trace(self.matrix) / n)

    def precision(self, average="macro", pos_label=1, zero_division=0.0):
        """Precision per class (``average=None``) or averaged, as in
        :func:`~nerve.metrics.precision` with ``labels=self.labels``."""
        return self._scores(average, pos_label, zero_division)["precision"]

    def recall(self, average="macro", pos_label=1, zero_division=0.0):
        """Recall (true positive rate) per class or averaged."""
        return self._scores(average, pos_label, zero_division)["recall"]

    def f1(self, average="macro", pos_label=1, zero_division=0.0):
        """F1 per class or averaged."""
        return self._scores(average, pos_label, zero_division)["f-score"]

    def fbeta(self, beta, average="macro", pos_label=1, zero_division=0.0):
        """F-beta per class or averaged."""
        return self._scores(average, pos_label, zero_division, beta=beta)["f-score"]

    def specificity(self, average="macro", pos_label=1, zero_division=0.0):
        """Specificity (true negative rate) per class or averaged."""
        return self._scores(average, pos_label, zero_division)["specificity"]

    def __repr__(self):
        return f"ConfusionMatrix(num_classes={self.num_classes}, samples={int(self.matrix.sum())})"
