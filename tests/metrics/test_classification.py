"""Label metrics against scikit-learn: every averaging mode, absent classes, single classes."""
import warnings

import numpy as np
import pytest

import nerve as nv
from nerve import metrics as M

sk = pytest.importorskip("sklearn.metrics")

AVERAGES = ["micro", "macro", "weighted", None]
ZERO_DIVISIONS = [0.0, 1.0, np.nan]


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=0, atol=1e-12, equal_nan=True)


def random_labels(rng, n, k):
    return rng.integers(0, k, n), rng.integers(0, k, n)


# --------------------------------------------------------------------------------------------
# precision / recall / F / support in every mode


@pytest.mark.parametrize("seed", range(100))
def test_precision_recall_f_match_sklearn_on_random_label_sets(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    k = int(rng.integers(2, 6))
    yt, yp = random_labels(rng, n, k)
    for avg in AVERAGES:
        for zd in ZERO_DIVISIONS:
            kw = dict(average=avg, zero_division=zd)
            p, r, f1, _ = sk.precision_recall_fscore_support(yt, yp, **kw)
            f_half = sk.precision_recall_fscore_support(yt, yp, beta=0.5, **kw)[2]
            close(M.precision(yt, yp, **kw), p)
            close(M.recall(yt, yp, **kw), r)
            close(M.f1_score(yt, yp, **kw), f1)
            close(M.fbeta_score(yt, yp, beta=0.5, **kw), f_half)
    # binary mode on a binarized version of the same data
    yb, pb = (yt == 0).astype(int), (yp == 0).astype(int)
    for zd in ZERO_DIVISIONS:
        close(M.precision(yb, pb, zero_division=zd), sk.precision_score(yb, pb, zero_division=zd))
        close(M.recall(yb, pb, zero_division=zd), sk.recall_score(yb, pb, zero_division=zd))
        close(M.f1_score(yb, pb, zero_division=zd), sk.f1_score(yb, pb, zero_division=zd))


def test_precision_with_no_positive_predictions():
    yt = np.array([1, 0, 1, 1, 0])
    yp = np.zeros(5, dtype=int)
    for zd in ZERO_DIVISIONS:
        close(M.precision(yt, yp, zero_division=zd), sk.precision_score(yt, yp, zero_division=zd))
        close(M.f1_score(yt, yp, zero_division=zd), sk.f1_score(yt, yp, zero_division=zd))
    assert M.precision(yt, yp, zero_division=0) == 0.0
    assert M.precision(yt, yp, zero_division=1) == 1.0
    assert np.isnan(M.precision(yt, yp, zero_division=np.nan))


def test_class_absent_from_both_y_true_and_y_pred_with_labels():
    rng = np.random.default_rng(1)
    yt, yp = random_labels(rng, 50, 3)
    labels = [0, 1, 2, 3]  # class 3 never occurs
    for avg in AVERAGES:
        for zd in ZERO_DIVISIONS:
            kw = dict(labels=labels, average=avg, zero_division=zd)
            ours = M.precision_recall_fscore_support(yt, yp, **kw)
            ref = sk.precision_recall_fscore_support(yt, yp, **kw)
            for a, b in zip(ours[:3], ref[:3]):
                close(a, b)
            if avg is None:
                np.testing.assert_array_equal(ours[3], ref[3])
            else:
                assert ours[3] is None


def test_labels_subset_and_order():
    rng = np.random.default_rng(2)
    yt, yp = random_labels(rng, 60, 5)
    for avg in AVERAGES:
        kw = dict(labels=[3, 0, 1], average=avg, zero_division=0)
        close(M.recall(yt, yp, **kw), sk.recall_score(yt, yp, **kw))
        close(M.precision(yt, yp, **kw), sk.precision_score(yt, yp, **kw))


def test_string_labels_and_pos_label():
    yt = np.array(["cat", "dog", "dog", "cat", "dog"])
    yp = np.array(["cat", "cat", "dog", "cat", "dog"])
    for pos in ("cat", "dog"):
        close(M.precision(yt, yp, pos_label=pos), sk.precision_score(yt, yp, pos_label=pos))
        close(M.recall(yt, yp, pos_label=pos), sk.recall_score(yt, yp, pos_label=pos))
    with pytest.raises(ValueError, match="pos_label=1 is not one of"):
        M.precision(yt, yp)


@pytest.mark.parametrize("avg", ["binary", "micro", "macro", "weighted", None])
def test_single_class_inputs(avg):
    for yt, yp in (([1, 1, 1], [1, 1, 1]), ([0, 0, 0], [0, 0, 0]), ([0, 0], [1, 1])):
        for zd in ZERO_DIVISIONS:
            kw = dict(average=avg, zero_division=zd)
            close(M.precision(yt, yp, **kw), sk.precision_score(yt, yp, **kw))
            close(M.recall(yt, yp, **kw), sk.recall_score(yt, yp, **kw))
            close(M.f1_score(yt, yp, **kw), sk.f1_score(yt, yp, **kw))


def test_binary_average_on_multiclass_names_the_fix():
    with pytest.raises(ValueError, match="average='binary' needs at most 2 distinct labels"):
        M.precision([0, 1, 2], [0, 1, 2])


def test_zero_division_warn_warns_once_and_gives_zero():
    yt, yp = [0, 1, 2, 3], [0, 0, 0, 0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = M.precision(yt, yp, average="macro")
    assert out == pytest.approx(0.25 * 0.25)
    assert len([w for w in caught if issubclass(w.category, M.UndefinedMetricWarning)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit zero_division is silent
        M.precision(yt, yp, average="macro", zero_division=0)
    with pytest.raises(ValueError, match="zero_division=0.5"):
        M.precision(yt, yp, average="macro", zero_division=0.5)


def test_aliases_and_specificity():
    rng = np.random.default_rng(3)
    yt, yp = random_labels(rng, 80, 2)
    assert M.sensitivity is M.recall and M.true_positive_rate is M.recall and M.tpr is M.recall
    assert M.precision_score is M.precision and M.recall_score is M.recall
    # binary specificity = recall of the negative class
    close(M.specificity(yt, yp), sk.recall_score(yt, yp, pos_label=0))
    # multiclass: TN / (TN + FP) from sklearn's one-vs-rest confusion matrices
    yt, yp = random_labels(rng, 80, 4)
    mcm = sk.multilabel_confusion_matrix(yt, yp)
    tn, fp = mcm[:, 0, 0], mcm[:, 0, 1]
    per = tn / (tn + fp)
    close(M.specificity(yt, yp, average=None), per)
    close(M.specificity(yt, yp, average="macro"), per.mean())
    close(M.specificity(yt, yp, average="weighted"), np.average(per, weights=np.bincount(yt)))
    close(M.specificity(yt, yp, average="micro"), tn.sum() / (tn.sum() + fp.sum()))


def test_tpr_from_confusion_matrix_equals_recall():
    rng = np.random.default_rng(4)
    yt, yp = random_labels(rng, 100, 2)
    cm = M.confusion_matrix(yt, yp)
    tn, fp, fn, tp = cm.ravel()
    assert tp / (tp + fn) == M.tpr(yt, yp) == sk.recall_score(yt, yp)


# --------------------------------------------------------------------------------------------
# confusion matrix, accuracy, top-k


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_confusion_matrix_matches_sklearn(normalize):
    rng = np.random.default_rng(5)
    yt, yp = random_labels(rng, 70, 4)
    yp[yp == 3] = 2  # class 3 is never predicted: its column is empty
    close(M.confusion_matrix(yt, yp, normalize=normalize),
          sk.confusion_matrix(yt, yp, normalize=normalize))
    labels = [3, 1, 0, 5]  # reordered, with a label that never occurs
    close(M.confusion_matrix(yt, yp, labels=labels, normalize=normalize),
          sk.confusion_matrix(yt, yp, labels=labels, normalize=normalize))


def test_confusion_matrix_num_classes():
    cm = M.confusion_matrix([0, 2], [0, 0], num_classes=4)
    assert cm.shape == (4, 4) and cm.dtype == np.int64
    assert cm[0, 0] == 1 and cm[2, 0] == 1 and cm.sum() == 2
    with pytest.raises(ValueError, match=r"y_pred holds 4, outside 0..3"):
        M.confusion_matrix([0, 1], [0, 4], num_classes=4)


def test_accuracy_and_scores_argmax():
    rng = np.random.default_rng(6)
    yt, yp = random_labels(rng, 50, 3)
    assert M.accuracy(yt, yp) == sk.accuracy_score(yt, yp)
    assert M.accuracy(yt, yp, normalize=False) == sk.accuracy_score(yt, yp, normalize=False)
    scores = rng.normal(size=(50, 3))
    assert M.accuracy(yt, scores) == sk.accuracy_score(yt, scores.argmax(1))
    assert M.accuracy(nv.tensor(yt), nv.tensor(scores)) == M.accuracy(yt, scores)
    assert M.accuracy(list(yt), list(yp)) == M.accuracy(yt, yp)


@pytest.mark.filterwarnings("ignore:.*greater than or equal to 'n_classes'")
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k_accuracy_matches_sklearn_with_ties(k):
    rng = np.random.default_rng(7)
    yt = rng.integers(0, 5, 200)
    scores = rng.integers(0, 3, (200, 5)).astype(float)  # many ties
    assert M.top_k_accuracy(yt, scores, k=k) == sk.top_k_accuracy_score(yt, scores, k=k,
                                                                        labels=range(5))
    yb = rng.integers(0, 2, 100)
    sb = rng.random(100)
    assert M.top_k_accuracy(yb, sb, k=1) == sk.top_k_accuracy_score(yb, sb, k=1)


def test_classification_report_values_and_layout():
    rng = np.random.default_rng(8)
    yt, yp = random_labels(rng, 90, 3)
    ours = M.classification_report(yt, yp, output_dict=True, zero_division=0)
    ref = sk.classification_report(yt, yp, output_dict=True, zero_division=0)
    for c in ("0", "1", "2"):
        for key_o, key_r in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score"),
                             ("support", "support")):
            close(ours[c][key_o], ref[c][key_r])
    close(ours["accuracy"], ref["accuracy"])
    for ours_key, ref_key in (("macro mean", "macro avg"), ("weighted mean", "weighted avg")):
        for k in ("precision", "recall"):
            close(ours[ours_key][k], ref[ref_key][k])
        close(ours[ours_key]["f1"], ref[ref_key]["f1-score"])
    text = M.classification_report(yt, yp, target_names=["ant", "bee", "cow"], digits=2)
    lines = text.splitlines()
    assert lines[0].split() == ["class", "precision", "recall", "f1", "support"]
    assert lines[1].startswith("ant") and lines[3].startswith("cow")
    assert len({len(line) for line in lines if line}) == 1  # every row has the same width
    with pytest.raises(ValueError, match="2 target_names for 3 labels"):
        M.classification_report(yt, yp, target_names=["a", "b"])


# --------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("fn", [M.accuracy, M.precision, M.recall, M.f1_score, M.confusion_matrix,
                                M.specificity, M.classification_report])
def test_empty_and_mismatched_inputs_raise(fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: y_true is empty"):
        fn([], [])
    with pytest.raises(ValueError, match=rf"{fn.__name__}: y_true has 3 samples but y_pred has 2"):
        fn([0, 1, 1], [0, 1])


def test_probabilities_as_labels_are_rejected():
    with pytest.raises(ValueError, match="looks like a score"):
        M.precision([0, 1, 1], [0.2, 0.9, 0.7])
