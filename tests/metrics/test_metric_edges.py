"""Edge-case sweep of nerve.metrics against scikit-learn (and sacrebleu for BLEU).

Small random problems with few samples and classes hit the corners on purpose: classes
absent from predictions or targets, every zero_division choice, tied scores, constant
targets, single samples, and streaming accumulation over uneven batches.
"""
import warnings

import numpy as np
import pytest

import nerve.metrics as M

sk = pytest.importorskip("sklearn.metrics")


def _close(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and np.allclose(a, b, equal_nan=True, rtol=1e-12, atol=1e-12)


def _both(ours, ref):
    """Both raise, or both return the same numbers."""
    try:
        r = ref()
    except ValueError:
        with pytest.raises(ValueError):
            ours()
        return
    if isinstance(r, (float, np.floating)) and np.isnan(r):
        # sklearn's undefined cases (ROC AUC of one class, R² of one sample): NaN there,
        # NaN or a clear ValueError here
        try:
            assert np.isnan(ours())
        except ValueError:
            pass
        return
    got = ours()
    if isinstance(r, tuple):
        assert len(got) == len(r) and all(_close(a, b) for a, b in zip(got, r)), (got, r)
    else:
        assert _close(got, r), (got, r)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def test_precision_recall_f1_match_sklearn_on_small_random_problems():
    rng = np.random.default_rng(0)
    for trial in range(40):
        n, k = int(rng.integers(1, 8)), int(rng.integers(2, 5))
        yt, yp = rng.integers(0, k, n), rng.integers(0, k, n)
        labels = list(rng.permutation(k + 1)[: int(rng.integers(1, k + 2))]) if trial % 3 == 0 else None
        w = rng.random(n) if trial % 4 == 0 else None
        for avg in ("micro", "macro", "weighted", None, "binary"):
            for zd in ("warn", 0, 1, np.nan):
                kw = dict(labels=labels, average=avg, zero_division=zd, sample_weight=w)
                for ours, ref in ((M.precision, sk.precision_score), (M.recall, sk.recall_score),
                                  (M.f1_score, sk.f1_score)):
                    _both(lambda: ours(yt, yp, **kw), lambda: ref(yt, yp, **kw))
        _both(lambda: M.accuracy(yt, yp, sample_weight=w), lambda: sk.accuracy_score(yt, yp, sample_weight=w))
        _both(lambda: M.balanced_accuracy_score(yt, yp, sample_weight=w),
              lambda: sk.balanced_accuracy_score(yt, yp, sample_weight=w))
        if labels is None or set(labels) & set(yt.tolist()):  # sklearn refuses labels absent from y_true
            _both(lambda: M.confusion_matrix(yt, yp, labels=labels, sample_weight=w),
                  lambda: sk.confusion_matrix(yt, yp, labels=labels, sample_weight=w))
        for norm in ("true", "pred", "all"):
            _both(lambda: M.confusion_matrix(yt, yp, normalize=norm),
                  lambda: sk.confusion_matrix(yt, yp, normalize=norm))


def test_absent_classes_follow_sklearn_zero_division():
    # class 2 is never predicted, class 3 never true: macro over the union of labels
    yt, yp = [0, 1, 2, 2], [0, 1, 1, 3]
    for zd in (0, 1, np.nan):
        for avg in ("macro", "weighted", "micro", None):
            _both(lambda: M.f1_score(yt, yp, average=avg, zero_division=zd),
                  lambda: sk.f1_score(yt, yp, average=avg, zero_division=zd))
            _both(lambda: M.precision(yt, yp, average=avg, zero_division=zd),
                  lambda: sk.precision_score(yt, yp, average=avg, zero_division=zd))


def test_ranking_metrics_with_ties_match_sklearn():
    rng = np.random.default_rng(1)
    for trial in range(150):
        n = int(rng.integers(1, 9))
        yt = rng.integers(0, 2, n)
        sc = rng.integers(0, 4, n) / 4.0 if trial % 2 else rng.random(n)
        _both(lambda: M.roc_auc_score(yt, sc), lambda: sk.roc_auc_score(yt, sc))
        if yt.any():
            _both(lambda: M.average_precision_score(yt, sc), lambda: sk.average_precision_score(yt, sc))
            _both(lambda: M.precision_recall_curve(yt, sc), lambda: sk.precision_recall_curve(yt, sc))
        if yt.any() and not yt.all():
            _both(lambda: M.roc_curve(yt, sc), lambda: sk.roc_curve(yt, sc))
            _both(lambda: M.roc_curve(yt, sc, drop_intermediate=False),
                  lambda: sk.roc_curve(yt, sc, drop_intermediate=False))
        c = int(rng.integers(3, 5))
        ym = rng.integers(0, c, n)
        scores = rng.integers(0, 3, (n, c)).astype(float)  # many ties
        for k in range(1, c + 1):
            _both(lambda: M.top_k_accuracy(ym, scores, k=k),
                  lambda: sk.top_k_accuracy_score(ym, scores, k=k, labels=np.arange(c)))


def test_single_class_ranking_errors_clearly():
    with pytest.raises(ValueError, match="single class|1 class"):
        M.roc_auc_score([1, 1, 1], [0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="no positive"):
        M.average_precision_score([0, 0, 0], [0.2, 0.3, 0.4])


def test_log_loss_clips_and_matches_sklearn():
    for yt, p in (([0, 1], [[1.0, 0.0], [1.0, 0.0]]),       # a certain mistake: clipped, finite
                  ([0, 1, 1], [0.0, 1.0, 0.3]),
                  (["a", "b", "a"], [0.1, 0.8, 0.3])):
        _both(lambda: M.log_loss(yt, p), lambda: sk.log_loss(yt, p))
    _both(lambda: M.log_loss([1, 1], [0.9, 0.8], labels=[0, 1]),
          lambda: sk.log_loss([1, 1], [0.9, 0.8], labels=[0, 1]))
    _both(lambda: M.log_loss([0, 2], [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], labels=[0, 1, 2]),
          lambda: sk.log_loss([0, 2], [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], labels=[0, 1, 2]))
    assert np.isfinite(M.log_loss([0, 1], [[1.0, 0.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="only the class"):
        M.log_loss([1, 1], [0.9, 0.8])


def test_regression_metrics_incl_constant_targets_and_one_sample():
    rng = np.random.default_rng(2)
    for trial in range(40):
        n = int(rng.integers(1, 7))
        a = rng.integers(0, 3, n).astype(float)
        if trial % 4 == 0:
            a[:] = 1.0
        b = rng.random(n) if trial % 5 else a.copy()
        for ours, ref in ((M.mean_squared_error, sk.mean_squared_error),
                          (M.mean_absolute_error, sk.mean_absolute_error), (M.r2_score, sk.r2_score)):
            _both(lambda: ours(a, b), lambda: ref(a, b))
        A, B = rng.random((n, 2)), rng.random((n, 2))
        _both(lambda: M.r2_score(A, B, multioutput="raw_values"),
              lambda: sk.r2_score(A, B, multioutput="raw_values"))
    assert np.isnan(M.r2_score([3.0], [3.0]))  # undefined for one sample, as sklearn


def test_streaming_metrics_equal_one_shot_over_uneven_batches():
    rng = np.random.default_rng(3)
    yt, yp = rng.integers(0, 4, 103), rng.integers(0, 4, 103)
    cm, acc, mean = M.ConfusionMatrix(num_classes=4), M.Accuracy(), M.Mean()
    losses = rng.random(103)
    for a, b in ((0, 1), (1, 33), (33, 34), (34, 100), (100, 103)):
        cm.update(yt[a:b], yp[a:b])
        acc.update(yt[a:b], yp[a:b])
        mean.update(losses[a:b].mean(), weight=b - a)
    np.testing.assert_array_equal(cm.compute(), sk.confusion_matrix(yt, yp, labels=range(4)))
    assert acc.compute() == sk.accuracy_score(yt, yp)
    assert mean.compute() == pytest.approx(losses.mean(), rel=1e-12)
    for avg in ("macro", "micro", "weighted", None):
        assert _close(cm.f1(average=avg), sk.f1_score(yt, yp, average=avg, zero_division=0))
        assert _close(cm.precision(average=avg), sk.precision_score(yt, yp, average=avg, zero_division=0))
        assert _close(cm.recall(average=avg), sk.recall_score(yt, yp, average=avg, zero_division=0))


def test_bleu_edges_match_sacrebleu():
    sacrebleu = pytest.importorskip("sacrebleu")
    cases = [(["a"], ["a"]), ([""], ["x y"]), (["cat"], ["the cat sat"]), (["a b c"], ["a b c d e f"]),
             (["x x x x"], ["x"]), (["", "the cat"], ["the cat sat", "the cat"]),
             (["the cat sat on the mat", "a b"], ["the cat sat on the mat", "a b c"])]
    for hyp, ref in cases:
        for smooth in ("none", "exp", "floor", "add-k"):
            want = sacrebleu.corpus_bleu(hyp, [ref], smooth_method=smooth).score
            got = M.corpus_bleu(hyp, ref, smooth=smooth)
            assert got == pytest.approx(want, abs=1e-9), (hyp, ref, smooth)


def test_scores_need_column_index_targets():
    # argmax of (N, C) scores is a column index; a label outside 0..C-1 used to count as a miss
    scores = [[0.1, 0.9], [0.8, 0.2]]
    assert M.accuracy([1, 0], scores) == 1.0
    for fn in (lambda: M.accuracy([1, 2], scores), lambda: M.confusion_matrix([1, 2], scores),
               lambda: M.f1_score(["b", "a"], scores, average="macro"),
               lambda: M.ConfusionMatrix(num_classes=3).update([1, 2], scores)):
        with pytest.raises(ValueError, match="column index"):
            fn()


def test_classification_report_matches_sklearn_incl_label_subsets():
    rng = np.random.default_rng(4)
    names = {"macro avg": "macro mean", "weighted avg": "weighted mean", "micro avg": "micro mean"}
    for trial in range(60):
        n, k = int(rng.integers(1, 9)), int(rng.integers(2, 5))
        yt, yp = rng.integers(0, k, n), rng.integers(0, k, n)
        labels = sorted(rng.permutation(k + 1)[: int(rng.integers(1, k + 2))].tolist()) if trial % 2 else None
        ours = M.classification_report(yt, yp, labels=labels, output_dict=True, zero_division=0)
        ref = sk.classification_report(yt, yp, labels=labels, output_dict=True, zero_division=0)
        # a label subset that leaves a class out reports a micro mean, never an accuracy over
        # samples the rows do not describe
        assert ("accuracy" in ours) == ("accuracy" in ref)
        for key, row in ref.items():
            mine = ours[names.get(key, key)]
            if isinstance(row, dict):
                for m, v in row.items():
                    assert _close(mine["f1" if m == "f1-score" else m], v), (key, m, yt, yp, labels)
            else:
                assert _close(mine, row)
