"""nerve.metrics.report: the numbers `nerve evaluate` prints and saves, checked against scikit-learn."""
import json

import numpy as np
import pytest

from nerve.metrics import evaluation_report, softmax


def test_softmax_is_stable_and_normalised():
    p = softmax(np.array([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0]], np.float32))
    assert p.dtype == np.float64 and np.allclose(p.sum(1), 1.0)
    assert p[0].tolist() == [1.0, 0.0, 0.0] and np.allclose(p[1], 1 / 3)


def test_evaluation_report_matches_scikit_learn():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 300)
    logits = rng.normal(size=(300, 4)) + 2.0 * np.eye(4)[y] * rng.random((300, 1))
    prob = softmax(logits)
    pred = prob.argmax(1)
    classes = ["a", "b", "c", "d"]
    r = evaluation_report(y, prob, classes, test_loss=0.5)
    json.dumps(r, allow_nan=False)  # plain, strict JSON
    assert r["test_loss"] == 0.5 and r["samples"] == 300 and r["classes"] == classes
    assert r["accuracy"] == pytest.approx(sk.accuracy_score(y, pred), abs=1e-12)
    assert r["confusion_matrix"] == sk.confusion_matrix(y, pred).tolist()
    for avg in ("macro", "weighted"):
        p, rec, f1, _ = sk.precision_recall_fscore_support(y, pred, average=avg, zero_division=0)
        assert r[avg] == pytest.approx({"precision": p, "recall": rec, "f1": f1}, abs=1e-12)
    onehot = np.eye(4)[y]
    for c, name in enumerate(classes):
        assert r["per_class"][name]["roc_auc"] == pytest.approx(sk.roc_auc_score(onehot[:, c], prob[:, c]))
        assert r["per_class"][name]["average_precision"] == pytest.approx(
            sk.average_precision_score(onehot[:, c], prob[:, c]))
    assert r["roc_auc"]["macro"] == pytest.approx(sk.roc_auc_score(y, prob, multi_class="ovr", average="macro"))
    assert r["roc_auc"]["micro"] == pytest.approx(sk.roc_auc_score(onehot.ravel(), prob.ravel()))
    assert r["average_precision"]["micro"] == pytest.approx(sk.average_precision_score(onehot, prob,
                                                                                        average="micro"))


def test_a_class_absent_from_the_labels_has_no_curve():
    y = np.array([0, 0, 1, 1])
    prob = softmax(np.array([[2.0, 0, 0], [1.0, 0, 0], [0, 2.0, 0], [0, 0, 1.0]]))
    r = evaluation_report(y, prob, ["x", "y", "z"])
    assert "test_loss" not in r
    assert r["per_class"]["z"]["roc_auc"] is None and r["per_class"]["z"]["average_precision"] is None
    assert r["per_class"]["x"]["roc_auc"] == 1.0
    assert r["roc_auc"]["macro"] == pytest.approx(np.mean([r["per_class"][c]["roc_auc"] for c in "xy"]))


def test_docstring_example_runs():
    import doctest

    from nerve.metrics import report
    result = doctest.testmod(report)
    assert result.failed == 0 and result.attempted > 0
