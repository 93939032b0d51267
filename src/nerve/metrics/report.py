"""The evaluation report of a classifier: every number ``nerve evaluate`` prints and saves.

``evaluation_report(y, prob, classes)`` gathers, from this package's own metrics, the
accuracy, macro and weighted precision/recall/F1, per-class scores with one-vs-rest ROC AUC
and average precision, their macro and micro means, and the confusion matrix, as a dict of
plain numbers (JSON-ready). ``softmax(logits)`` turns a model's scores into the probabilities
it takes.

    >>> import numpy as np
    >>> prob = softmax(np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0]]))
    >>> r = evaluation_report([0, 1, 1], prob, ["cat", "dog"])
    >>> r["accuracy"], r["confusion_matrix"]
    (0.6666666666666666, [[1, 0], [1, 1]])
"""
from __future__ import annotations

import numpy as np

from ._checks import to_numpy
from .classification import classification_report, confusion_matrix
from .ranking import average_precision_score, roc_auc_score

__all__ = ["evaluation_report", "softmax"]


def softmax(logits):
    """Row-wise softmax in float64 (rows sum to 1 to rounding, as ROC AUC checks)."""
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def evaluation_report(y, prob, classes, test_loss=None) -> dict:
    """The numbers ``nerve evaluate`` writes to report.json, all from ``nerve.metrics``.

    Args:
        y: ``(N,)`` true class indices.
        prob: ``(N, C)`` softmax probabilities; the prediction is their argmax.
        classes: the C class names.
        test_loss: the mean cross-entropy, recorded when given.

    ROC AUC and average precision are one-vs-rest per class; a class absent from ``y`` has
    no curve, so its entries are ``None`` and the macro means run over the classes present.
    """
    fn = "evaluation_report"
    y = to_numpy(y, "y", fn)
    prob = to_numpy(prob, "prob", fn).astype(np.float64)
    C = len(classes)
    if prob.ndim != 2 or prob.shape[1] != C:
        raise ValueError(f"{fn}: prob should be (N, {C}), one column per class of {list(classes)[:10]}, "
                         f"got shape {prob.shape}; pass classes= naming every column")
    if y.ndim != 1 or len(y) != len(prob):
        raise ValueError(f"{fn}: y should be (N,) = ({len(prob)},), one class index per row of "
                         f"prob, got shape {y.shape}")
    bad = ~np.isin(y, np.arange(C)) if y.dtype.kind in "iufb" else np.ones(len(y), bool)
    if np.any(bad):
        # a label outside 0..C-1 has no row in the report (it used to end in KeyError 'accuracy')
        raise ValueError(f"{fn}: y holds {y[bad][0].item()!r}, which is not a class index "
                         f"0..{C - 1}; map the labels to column indices of prob first")
    labels = list(range(C))
    pred = prob.argmax(axis=1)
    rep = classification_report(y, pred, labels=labels, target_names=classes, zero_division=0,
                                output_dict=True)
    present = [c for c in labels if np.any(y == c)]
    onehot = (y[:, None] == np.arange(len(classes))).astype(np.int64)  # (N, C)
    auc = {c: float(roc_auc_score(onehot[:, c], prob[:, c])) for c in present
           if len(present) > 1}
    ap = {c: float(average_precision_score(onehot[:, c], prob[:, c])) for c in present}
    per_class = {}
    for c, name in enumerate(classes):
        row = dict(rep[name])
        row["roc_auc"] = auc.get(c)
        row["average_precision"] = ap.get(c)
        per_class[name] = row
    report = {
        "samples": int(len(y)),
        "accuracy": float(rep["accuracy"]),
        "macro": {k: float(rep["macro mean"][k]) for k in ("precision", "recall", "f1")},
        "weighted": {k: float(rep["weighted mean"][k]) for k in ("precision", "recall", "f1")},
        "roc_auc": {"macro": float(np.mean(list(auc.values()))) if auc else None,
                    "micro": (float(roc_auc_score(onehot.ravel(), prob.ravel()))
                              if len(present) > 1 else None)},
        "average_precision": {"macro": float(np.mean(list(ap.values()))) if ap else None,
                              "micro": float(average_precision_score(onehot.ravel(), prob.ravel()))},
        "per_class": per_class,
        "classes": list(classes),
        "confusion_matrix": confusion_matrix(y, pred, labels=labels).tolist(),
    }
    if test_loss is not None:
        report = {"test_loss": float(test_loss), **report}
    return report
