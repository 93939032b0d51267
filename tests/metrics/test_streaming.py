"""Streaming accumulators give the whole-set value; a mean of batch values does not."""
import doctest
import importlib

import numpy as np
import pytest

import nerve as nv
from nerve import metrics as M


def batches(n, sizes):
    edges = np.cumsum([0] + list(sizes))
    assert edges[-1] == n
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n, C = 103, 4
    y = rng.integers(0, C, n)
    scores = rng.normal(size=(n, C)) + 0.8 * np.eye(C)[y]
    return y, scores


SIZES = [64, 32, 7]  # unequal: the last batch is short


def test_accuracy_streaming_equals_whole_set_and_differs_from_batch_mean(data):
    y, scores = data
    acc = M.Accuracy()
    per_batch = []
    for sl in batches(len(y), SIZES):
        acc.update(nv.tensor(y[sl]), nv.tensor(scores[sl]))  # Tensors work too
        per_batch.append(M.accuracy(y[sl], scores[sl]))
    whole = M.accuracy(y, scores)
    assert acc.compute() == whole
    assert abs(np.mean(per_batch) - whole) > 1e-3  # the naive average is wrong
    acc.reset()
    with pytest.raises(ValueError, match="Accuracy.compute: no samples"):
        acc.compute()


def test_mean_weighted_by_batch_size_equals_whole_set_mean(data):
    rng = np.random.default_rng(1)
    losses = rng.random(len(data[0]))
    m, m_values = M.Mean(), M.Mean()
    for sl in batches(len(losses), SIZES):
        m.update(losses[sl].mean(), weight=sl.stop - sl.start)
        m_values.update(losses[sl])
    assert m.compute() == pytest.approx(losses.mean(), rel=1e-12)
    assert m_values.compute() == pytest.approx(losses.mean(), rel=1e-12)
    with pytest.raises(ValueError, match="Mean.compute: no values"):
        M.Mean().compute()


@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
def test_confusion_matrix_streaming_equals_whole_array_metrics(data, average):
    y, scores = data
    pred = scores.argmax(1)
    labels = list(range(5))  # class 4 never occurs
    cm = M.ConfusionMatrix(num_classes=5)
    batch_macro = []
    for sl in batches(len(y), SIZES):
        cm.update(y[sl], scores[sl])
        batch_macro.append(M.precision(y[sl], pred[sl], labels=labels, average="macro",
                                       zero_division=0))
    np.testing.assert_array_equal(cm.compute(), M.confusion_matrix(y, pred, num_classes=5))
    kw = dict(labels=labels, average=average, zero_division=0)
    np.testing.assert_allclose(cm.precision(average), M.precision(y, pred, **kw), atol=1e-15)
    np.testing.assert_allclose(cm.recall(average), M.recall(y, pred, **kw), atol=1e-15)
    np.testing.assert_allclose(cm.f1(average), M.f1_score(y, pred, **kw), atol=1e-15)
    np.testing.assert_allclose(cm.fbeta(2.0, average), M.fbeta_score(y, pred, beta=2.0, **kw),
                               atol=1e-15)
    np.testing.assert_allclose(cm.specificity(average), M.specificity(y, pred, **kw), atol=1e-15)
    assert cm.accuracy() == M.accuracy(y, pred)
    assert abs(np.mean(batch_macro) - cm.precision("macro")) > 1e-3
    np.testing.assert_allclose(cm.compute("true"), M.confusion_matrix(y, pred, num_classes=5,
                                                                       normalize="true"))


def test_confusion_matrix_binary_and_string_labels():
    y = np.array(["neg", "pos", "pos", "neg", "pos", "pos"])
    p = np.array(["neg", "pos", "neg", "pos", "pos", "pos"])
    cm = M.ConfusionMatrix(labels=["neg", "pos"])
    cm.update(y[:4], p[:4])
    cm.update(y[4:], p[4:])
    assert cm.precision("binary", pos_label="pos") == M.precision(y, p, pos_label="pos")
    assert cm.recall("binary", pos_label="neg") == M.recall(y, p, pos_label="neg")
    with pytest.raises(ValueError, match=r"holds 'maybe', not one of the 2 classes"):
        cm.update(["maybe"], ["pos"])
    with pytest.raises(ValueError, match="exactly one of num_classes"):
        M.ConfusionMatrix()


MODULES = ["nerve.metrics", "nerve.metrics.classification", "nerve.metrics.ranking",
           "nerve.metrics.information", "nerve.metrics.regression", "nerve.metrics.bleu_score",
           "nerve.metrics.streaming"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
