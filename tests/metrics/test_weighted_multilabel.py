"""sample_weight on the label metrics, multilabel precision/recall/F, balanced accuracy:
all against scikit-learn."""
import warnings

import numpy as np
import pytest

from nerve import metrics as M

sk = pytest.importorskip("sklearn.metrics")


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("seed", range(25))
def test_sample_weight_matches_sklearn_every_average(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(2, 40)), int(rng.integers(2, 5))
    yt, yp = rng.integers(0, k, n), rng.integers(0, k, n)
    w = rng.uniform(0, 3, n)
    close(M.accuracy(yt, yp, sample_weight=w), sk.accuracy_score(yt, yp, sample_weight=w))
    close(M.accuracy(yt, yp, normalize=False, sample_weight=w),
          sk.accuracy_score(yt, yp, normalize=False, sample_weight=w))
    close(M.confusion_matrix(yt, yp, sample_weight=w), sk.confusion_matrix(yt, yp, sample_weight=w))
    if set(yp) <= set(yt):          # (otherwise both warn; tested below)
        close(M.balanced_accuracy_score(yt, yp, sample_weight=w),
              sk.balanced_accuracy_score(yt, yp, sample_weight=w))
    for avg in ("micro", "macro", "weighted", None):
        for zd in (0.0, 1.0):
            kw = dict(average=avg, zero_division=zd, sample_weight=w)
            p, r, f, s = sk.precision_recall_fscore_support(yt, yp, **kw)
            mp, mr, mf, ms = M.precision_recall_fscore_support(yt, yp, **kw)
            close(mp, p), close(mr, r), close(mf, f)
            if avg is None:
                close(ms, s)
            close(M.precision(yt, yp, **kw), sk.precision_score(yt, yp, **kw))
            close(M.recall(yt, yp, **kw), sk.recall_score(yt, yp, **kw))
            close(M.f1_score(yt, yp, **kw), sk.f1_score(yt, yp, **kw))
            close(M.fbeta_score(yt, yp, beta=2.0, **kw), sk.fbeta_score(yt, yp, beta=2.0, **kw))
    yb, pb = (yt == 0).astype(int), (yp == 0).astype(int)
    close(M.f1_score(yb, pb, sample_weight=w, zero_division=0),
          sk.f1_score(yb, pb, sample_weight=w, zero_division=0))


def test_integer_weights_keep_integer_confusion_counts():
    cm = M.confusion_matrix([0, 1, 1], [0, 1, 0], sample_weight=[2, 1, 3])
    assert cm.dtype == np.int64 and cm.tolist() == [[2, 0], [3, 1]]
    assert M.confusion_matrix([0, 1], [0, 1], sample_weight=[0.5, 1.0]).dtype == np.float64


def test_unit_weights_equal_no_weights_and_bad_weights_raise():
    rng = np.random.default_rng(0)
    yt, yp = rng.integers(0, 3, 30), rng.integers(0, 3, 30)
    assert M.f1_score(yt, yp, average="macro", sample_weight=np.ones(30)) == \
        M.f1_score(yt, yp, average="macro")
    with pytest.raises(ValueError, match="sample_weight has 2 entries but there are 30"):
        M.accuracy(yt, yp, sample_weight=[1, 2])


@pytest.mark.parametrize("seed", range(25))
def test_multilabel_precision_recall_f_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, L = int(rng.integers(1, 30)), int(rng.integers(2, 6))
    yt = (rng.random((n, L)) < 0.4).astype(int)
    yp = (rng.random((n, L)) < 0.4).astype(int)
    w = rng.uniform(0, 2, n) if seed % 2 else None
    close(M.accuracy(yt, yp, sample_weight=w), sk.accuracy_score(yt, yp, sample_weight=w))
    for avg in ("micro", "macro", "weighted", "samples", None):
        for zd in (0.0, 1.0, np.nan):
            kw = dict(average=avg, zero_division=zd, sample_weight=w)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = sk.precision_recall_fscore_support(yt, yp, **kw)
            got = M.precision_recall_fscore_support(yt, yp, **kw)
            for a, b in zip(got[:3], ref[:3]):
                close(a, b)
            close(M.f1_score(yt, yp, **kw), sk.f1_score(yt, yp, **kw))
    cols = [2, 0] if L > 2 else [1]
    close(M.recall(yt, yp, average=None, labels=cols, zero_division=0),
          sk.recall_score(yt, yp, average=None, labels=cols, zero_division=0))


def test_multilabel_errors_name_the_fix():
    yt = np.array([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="multilabel-indicator but average='binary'"):
        M.f1_score(yt, yt)
    with pytest.raises(ValueError, match="must hold only 0 and 1"):
        M.precision(yt, np.array([[0.2, 0.8], [0.6, 0.4]]), average="micro")
    with pytest.raises(ValueError, match="'samples' needs multilabel"):
        M.precision([0, 1], [0, 1], average="samples")


def test_balanced_accuracy_on_99_to_1_majority_predictor():
    """Row 78: always predicting the majority of 99:1 data gives accuracy 0.99, minority
    recall 0 and balanced accuracy exactly 0.5."""
    yt = np.array([0] * 990 + [1] * 10)
    yp = np.zeros(1000, dtype=int)
    assert M.accuracy(yt, yp) == 0.99
    assert M.recall(yt, yp, pos_label=1, zero_division=0) == 0.0
    assert M.balanced_accuracy_score(yt, yp) == 0.5
    assert M.balanced_accuracy_score(yt, yp, adjusted=True) == 0.0


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("adjusted", [False, True])
def test_balanced_accuracy_matches_sklearn(seed, adjusted):
    rng = np.random.default_rng(seed)
    yt = rng.integers(0, 4, 50)
    yp = np.where(rng.random(50) < 0.6, yt, rng.integers(0, 4, 50))
    w = rng.uniform(0.1, 2, 50)
    close(M.balanced_accuracy_score(yt, yp, adjusted=adjusted),
          sk.balanced_accuracy_score(yt, yp, adjusted=adjusted))
    close(M.balanced_accuracy_score(yt, yp, sample_weight=w, adjusted=adjusted),
          sk.balanced_accuracy_score(yt, yp, sample_weight=w, adjusted=adjusted))


def test_balanced_accuracy_class_only_predicted_warns_like_sklearn():
    yt, yp = [0, 0, 1, 1], [0, 2, 1, 1]
    with pytest.warns(UserWarning, match="not in y_true"):
        got = M.balanced_accuracy_score(yt, yp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close(got, sk.balanced_accuracy_score(yt, yp))
