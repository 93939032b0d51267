"""Second edge sweep of nerve.metrics against scikit-learn, sacrebleu and nltk.

The first sweep (test_metric_edges.py) covers random label problems, tied scores and the
report; this one covers what it left: non-finite inputs, all-zero sample weights, string and
{-1, 1} labels with pos_label, label lists in odd orders, multilabel averages, 1-D scores for
a multiclass target, and streaming accumulators fed empty and single-sample batches.
"""
import warnings

import numpy as np
import pytest

import nerve.metrics as M

sk = pytest.importorskip("sklearn.metrics")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _same(got, want):
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert got.shape == want.shape and np.allclose(got, want, equal_nan=True, rtol=1e-12,
                                                    atol=1e-12), (got, want)


# ---------------------------------------------------------------------------------------------
# non-finite inputs are errors, not scores


@pytest.mark.parametrize("name", ["mean_squared_error", "root_mean_squared_error",
                                  "mean_absolute_error", "r2_score"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_regression_rejects_nan_and_inf(name, bad):
    ours = getattr(M, name)
    ok = [1.0, 2.0, 3.0]
    broken = [1.0, bad, 3.0]
    with pytest.raises(ValueError):  # scikit-learn refuses them too
        getattr(sk, name)(broken, ok)
    for yt, yp, who in ((broken, ok, "y_true"), (ok, broken, "y_pred")):
        with pytest.raises(ValueError, match=f"{who} holds .*sample 1.*finite"):
            ours(yt, yp)
    # 2-D targets go through the same check
    with pytest.raises(ValueError, match="finite"):
        ours(np.ones((3, 2)), np.array([[1.0, 1.0], [1.0, bad], [1.0, 1.0]]))


def test_top_k_accuracy_rejects_nan_scores():
    scores = np.array([[0.5, 0.3, 0.2], [0.1, np.nan, 0.7], [0.3, 0.3, 0.4]])
    with pytest.raises(ValueError):
        sk.top_k_accuracy_score([0, 1, 2], scores, k=2)
    # NaN never outranks anything, so class 1 used to land in the top 2 and count as a hit
    with pytest.raises(ValueError, match="nan.*finite"):
        M.top_k_accuracy([0, 1, 2], scores, k=2)
    with pytest.raises(ValueError, match="finite"):
        M.top_k_accuracy([0, 1], [0.2, np.inf], k=1)


def test_ranking_and_label_metrics_reject_non_finite():
    for fn in (lambda: M.roc_auc_score([0, 1, 1], [0.1, np.nan, 0.9]),
               lambda: M.average_precision_score([0, 1, 1], [0.1, np.inf, 0.9]),
               lambda: M.accuracy([0, 1, np.nan], [0, 1, 1]),
               lambda: M.f1_score([0, 1, 1], [0, 1, np.inf]),
               lambda: M.accuracy([0, 1], [0, 1], sample_weight=[1.0, np.nan]),
               lambda: M.log_loss([0, 1], [np.nan, 0.7])):
        with pytest.raises(ValueError):
            fn()


# ---------------------------------------------------------------------------------------------
# sample weights


ZERO_WEIGHT_CALLS = [
    ("precision_score", lambda f: f([0, 1, 1], [0, 1, 0], average="macro", zero_division=1,
                                    sample_weight=[0, 0, 0])),
    ("recall_score", lambda f: f([0, 1, 1], [0, 1, 0], average="micro", zero_division=np.nan,
                                 sample_weight=[0, 0, 0])),
    ("f1_score", lambda f: f([0, 1, 1], [0, 1, 0], zero_division=1, sample_weight=[0, 0, 0])),
    ("f1_score", lambda f: f(np.eye(3, dtype=int), np.eye(3, dtype=int), average="samples",
                             zero_division=1, sample_weight=[0, 0, 0])),
    ("balanced_accuracy_score", lambda f: f([0, 1], [0, 1], sample_weight=[0, 0])),
    ("confusion_matrix", lambda f: f([0, 1], [0, 1], sample_weight=[0, 0])),
    ("accuracy_score", lambda f: f([0, 1], [0, 1], normalize=False, sample_weight=[0, 0])),
]


@pytest.mark.parametrize("name,call", ZERO_WEIGHT_CALLS)
def test_all_zero_sample_weight_is_an_error_like_sklearn(name, call):
    with pytest.raises(ValueError):
        call(getattr(sk, name))
    # no sample counts, so every score used to be zero_division (here 1: a perfect score)
    with pytest.raises(ValueError, match="sample_weight is 0 for all"):
        call(getattr(M, name))


def test_some_zero_weights_match_sklearn_everywhere():
    rng = np.random.default_rng(10)
    for _ in range(30):
        n = int(rng.integers(2, 9))
        yt, yp = rng.integers(0, 3, n), rng.integers(0, 3, n)
        w = rng.random(n) * (rng.random(n) < 0.5)
        w[rng.integers(0, n)] = 2.5  # at least one sample counts
        _same(M.accuracy(yt, yp, sample_weight=w), sk.accuracy_score(yt, yp, sample_weight=w))
        _same(M.accuracy(yt, yp, normalize=False, sample_weight=w),
              sk.accuracy_score(yt, yp, normalize=False, sample_weight=w))
        _same(M.balanced_accuracy_score(yt, yp, sample_weight=w),
              sk.balanced_accuracy_score(yt, yp, sample_weight=w))
        for norm in (None, "true", "pred", "all"):
            _same(M.confusion_matrix(yt, yp, labels=[0, 1, 2], normalize=norm, sample_weight=w),
                  sk.confusion_matrix(yt, yp, labels=[0, 1, 2], normalize=norm, sample_weight=w))
        for avg in ("micro", "macro", "weighted", None):
            for zd in (0, 1, np.nan):
                kw = dict(average=avg, zero_division=zd, sample_weight=w, labels=[2, 0, 1, 5])
                _same(M.fbeta_score(yt, yp, beta=2.0, **kw), sk.fbeta_score(yt, yp, beta=2.0, **kw))
                p, r, f, s = M.precision_recall_fscore_support(yt, yp, **kw)
                want = sk.precision_recall_fscore_support(yt, yp, **kw)
                for a, b in zip((p, r, f), want[:3]):
                    _same(a, b)


# ---------------------------------------------------------------------------------------------
# pos_label on string and {-1, 1} labels, label lists in any order


@pytest.mark.parametrize("yt,yp,pos", [
    (["a", "b", "b", "a", "b"], ["b", "b", "a", "a", "a"], "a"),
    (["a", "b", "b", "a", "b"], ["b", "b", "a", "a", "a"], "b"),
    ([-1, 1, 1, -1, 1], [1, 1, -1, -1, -1], -1),
    ([-1, 1, 1, -1, 1], [1, 1, -1, -1, -1], 1),
    ([0, 0, 0], [0, 1, 0], 0),
])
def test_pos_label_on_string_and_signed_labels(yt, yp, pos):
    w = np.arange(1.0, len(yt) + 1)
    for ours, ref in ((M.precision, sk.precision_score), (M.recall, sk.recall_score),
                      (M.f1_score, sk.f1_score)):
        for sw in (None, w):
            _same(ours(yt, yp, pos_label=pos, sample_weight=sw, zero_division=0),
                  ref(yt, yp, pos_label=pos, sample_weight=sw, zero_division=0))
    cm = M.ConfusionMatrix(labels=sorted(set(yt) | set(yp)))
    cm.update(yt, yp)
    _same(cm.f1(average="binary", pos_label=pos), sk.f1_score(yt, yp, pos_label=pos, zero_division=0))


def test_binary_ranking_metrics_on_signed_and_string_labels():
    yt = np.array([-1, 1, 1, -1, 1, -1])
    s = np.array([0.1, 0.5, 0.5, 0.5, 0.9, 0.2])  # a tie across the classes
    _same(M.roc_auc_score(yt, s), sk.roc_auc_score(yt, s))
    _same(M.average_precision_score(yt, s), sk.average_precision_score(yt, s))
    ys = np.where(yt == 1, "pos", "neg")
    _same(M.average_precision_score(ys, s, pos_label="pos"),
          sk.average_precision_score(ys, s, pos_label="pos"))
    _same(M.roc_auc_score(ys, s), sk.roc_auc_score(ys, s))
    for a, b in zip(M.roc_curve(ys, s, pos_label="neg"), sk.roc_curve(ys, s, pos_label="neg")):
        _same(a, b)


def test_average_precision_refuses_1d_scores_for_a_multiclass_target():
    yt, s = np.array([0, 1, 2, 1]), np.array([0.1, 0.5, 0.9, 0.3])
    with pytest.raises(ValueError):
        sk.average_precision_score(yt, s)
    # this used to score (y_true == 1) silently, folding class 2 into the negatives
    with pytest.raises(ValueError, match="3 classes.*1-D"):
        M.average_precision_score(yt, s)


@pytest.mark.parametrize("labels", [[2, 0], [5, 0, 1], [2, 1, 0], [1, 5], [4, 2, 3]])
def test_label_lists_with_absent_labels_and_any_order(labels):
    yt, yp = [0, 1, 2, 2, 1, 3], [0, 2, 2, 1, 1, 0]
    for avg in ("micro", "macro", "weighted", None):
        for zd in (0, 1, np.nan):
            kw = dict(labels=labels, average=avg, zero_division=zd)
            for ours, ref in ((M.precision, sk.precision_score), (M.recall, sk.recall_score),
                              (M.f1_score, sk.f1_score)):
                _same(ours(yt, yp, **kw), ref(yt, yp, **kw))
    for norm in (None, "true", "pred", "all"):
        _same(M.confusion_matrix(yt, yp, labels=labels, normalize=norm),
              sk.confusion_matrix(yt, yp, labels=labels, normalize=norm))


# ---------------------------------------------------------------------------------------------
# multilabel indicator matrices


def test_multilabel_every_average_and_label_order_matches_sklearn():
    rng = np.random.default_rng(11)
    for trial in range(40):
        n, L = int(rng.integers(1, 6)), int(rng.integers(2, 5))
        A, B = rng.integers(0, 2, (n, L)), rng.integers(0, 2, (n, L))
        w = rng.random(n) + 0.1 if trial % 2 else None
        labels = list(rng.permutation(L)[: int(rng.integers(1, L + 1))]) if trial % 3 == 0 else None
        for avg in ("micro", "macro", "weighted", "samples", None):
            for zd in (0, 1, "warn"):
                kw = dict(average=avg, zero_division=zd, sample_weight=w, labels=labels)
                for ours, ref in ((M.precision, sk.precision_score), (M.recall, sk.recall_score),
                                  (M.f1_score, sk.f1_score)):
                    _same(ours(A, B, **kw), ref(A, B, **kw))
        _same(M.accuracy(A, B, sample_weight=w), sk.accuracy_score(A, B, sample_weight=w))


# ---------------------------------------------------------------------------------------------
# regression edges


def test_regression_multioutput_and_constant_columns_match_sklearn():
    rng = np.random.default_rng(12)
    A, B = rng.random((6, 3)), rng.random((6, 3))
    A[:, 1] = 2.0                     # a constant target column, imperfectly predicted
    B[:, 2] = A[:, 2]                 # a perfectly predicted column
    for mo in ("raw_values", "uniform_average"):
        for name in ("mean_squared_error", "root_mean_squared_error", "mean_absolute_error",
                     "r2_score"):
            _same(getattr(M, name)(A, B, multioutput=mo), getattr(sk, name)(A, B, multioutput=mo))
    _same(M.r2_score(A, B, multioutput="variance_weighted"),
          sk.r2_score(A, B, multioutput="variance_weighted"))
    C = np.ones((4, 2))
    for pred in (C, C + 0.1):         # every column constant: exact gives 1, otherwise 0
        _same(M.r2_score(C, pred, multioutput="variance_weighted"),
              sk.r2_score(C, pred, multioutput="variance_weighted"))
        _same(M.r2_score(C, pred, multioutput="raw_values"),
              sk.r2_score(C, pred, multioutput="raw_values"))


# ---------------------------------------------------------------------------------------------
# streaming == one shot


def test_streaming_accepts_empty_and_single_sample_batches():
    rng = np.random.default_rng(13)
    yt, yp = rng.integers(0, 3, 20), rng.integers(0, 3, 20)
    scores = rng.random((20, 3))
    cuts = [0, 0, 1, 1, 2, 9, 9, 10, 20, 20]   # batches of 0, 1, 0, 1, 7, 0, 1, 10, 0 samples
    acc, cm, cm_s, acc_s = M.Accuracy(), M.ConfusionMatrix(num_classes=3), \
        M.ConfusionMatrix(num_classes=3), M.Accuracy()
    for a, b in zip(cuts[:-1], cuts[1:]):
        # an empty batch used to raise "y_true is empty"; it simply adds nothing
        acc.update(yt[a:b], yp[a:b])
        cm.update(yt[a:b], yp[a:b])
        cm_s.update(yt[a:b], scores[a:b])     # (0, C) scores too
        acc_s.update(list(yt[a:b]), scores[a:b])
    assert acc.compute() == sk.accuracy_score(yt, yp)
    assert acc_s.compute() == sk.accuracy_score(yt, scores.argmax(1))
    np.testing.assert_array_equal(cm.compute(), sk.confusion_matrix(yt, yp, labels=[0, 1, 2]))
    np.testing.assert_array_equal(cm_s.compute(),
                                  sk.confusion_matrix(yt, scores.argmax(1), labels=[0, 1, 2]))
    for norm in ("true", "pred", "all"):
        _same(cm.compute(normalize=norm), sk.confusion_matrix(yt, yp, labels=[0, 1, 2],
                                                              normalize=norm))
    for avg in ("micro", "macro", "weighted", None):
        _same(cm.fbeta(0.5, average=avg), sk.fbeta_score(yt, yp, beta=0.5, average=avg,
                                                         zero_division=0))


def test_streaming_empty_batches_still_check_lengths_and_nothing_seen():
    acc, cm = M.Accuracy(), M.ConfusionMatrix(num_classes=2)
    acc.update([], [])
    cm.update([], [])
    with pytest.raises(ValueError, match="no samples"):
        acc.compute()
    with pytest.raises(ValueError, match="no samples"):
        cm.f1()
    for m in (acc, cm):
        with pytest.raises(ValueError, match="0 samples but y_pred has 1"):
            m.update([], [1])


def test_streaming_mean_over_uneven_batches_incl_empty():
    rng = np.random.default_rng(14)
    v = rng.random(15)
    m = M.Mean()
    for a, b in ((0, 0), (0, 1), (1, 1), (1, 8), (8, 15)):
        m.update(v[a:b])
    assert m.compute() == pytest.approx(v.mean(), rel=1e-12)


# ---------------------------------------------------------------------------------------------
# BLEU: short hypotheses and smoothing against sacrebleu and nltk


def test_sentence_bleu_short_hypotheses_match_sacrebleu():
    sacrebleu = pytest.importorskip("sacrebleu")
    pairs = [("the", "the cat"), ("a a a", "a"), ("", "a b"), ("the cat", "the cat"),
             ("x y z w", "x y z w"), ("x y", "x y z w v"), ("b a", "a b"), ("a b c", "c b a")]
    for hyp, ref in pairs:
        for smooth in ("exp", "none", "floor", "add-k"):
            want = sacrebleu.sentence_bleu(hyp, [ref], smooth_method=smooth).score
            assert M.sentence_bleu(hyp, ref, smooth=smooth) == pytest.approx(want, abs=1e-9), \
                (hyp, ref, smooth)


def test_corpus_bleu_two_references_matches_sacrebleu():
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps = ["the cat sat", "a b", "x"]
    refs_a = ["the cat sat down", "a b c", "y"]
    refs_b = ["a cat sat", "a b", "x y z"]
    for smooth in ("none", "exp", "floor", "add-k"):
        want = sacrebleu.corpus_bleu(hyps, [refs_a, refs_b], smooth_method=smooth).score
        got = M.corpus_bleu(hyps, [[a, b] for a, b in zip(refs_a, refs_b)], smooth=smooth)
        assert got == pytest.approx(want, abs=1e-9), smooth


def test_streaming_mean_weight_errors_name_the_problem():
    m = M.Mean()
    with pytest.raises(ValueError, match=r"weight of shape \(2,\) does not match values of shape \(\)"):
        m.update(2.0, weight=[1, 2])
    # a NaN weight used to pass the ">= 0" check and turn the running mean into NaN
    with pytest.raises(ValueError, match="finite and >= 0, got nan"):
        m.update(1.0, weight=float("nan"))
    m.update([1.0, 3.0], weight=[1, 3])
    assert m.compute() == 2.5


# ---------------------------------------------------------------------------------------------
# calibration and the evaluation report


def test_calibration_reads_whole_number_float_labels_and_refuses_fractional_bins():
    prob = np.array([0.2, 0.3, 0.9, 0.6])
    want = M.expected_calibration_error([0, 1, 1, 0], prob, n_bins=5)
    # 0.0 / 1.0 labels (what a float target tensor gives) used to be refused with a message
    # saying the values 0.0..1.0 were out of 0..1
    assert M.expected_calibration_error([0.0, 1.0, 1.0, 0.0], prob, n_bins=5) == want
    with pytest.raises(ValueError, match="integer class indices .* got 0.5"):
        M.expected_calibration_error([0.5, 1.0, 1.0, 0.0], prob)
    # int() used to turn 2.5 bins into 2 and '10' into 10 without a word
    for nb in (2.5, "10", True):
        with pytest.raises(ValueError, match="n_bins must be a positive integer"):
            M.reliability_bins([0, 1, 1, 0], prob, n_bins=nb)
    assert len(M.reliability_bins([0, 1, 1, 0], prob, n_bins=np.int64(4)).count) == 4


def test_calibration_bins_empty_and_edges():
    # confidences exactly on bin edges go to the bin on their left; empty bins are NaN
    b = M.reliability_bins([0, 1, 1, 1], [[0.5, 0.5], [0.4, 0.6], [0.2, 0.8], [0.0, 1.0]],
                           n_bins=5)
    assert b.count.tolist() == [0, 0, 2, 1, 1]
    assert np.isnan(b.confidence[:2]).all() and np.isnan(b.accuracy[:2]).all()
    _same(b.confidence[2:], [0.55, 0.8, 1.0])
    _same(b.accuracy[2:], [1.0, 1.0, 1.0])


def test_evaluation_report_checks_its_inputs():
    prob = np.array([[0.5, 0.5], [0.2, 0.8]])
    # a label outside 0..C-1 (say 1-based labels) used to end in KeyError: 'accuracy'
    with pytest.raises(ValueError, match="y holds 2, which is not a class index 0..1"):
        M.evaluation_report([1, 2], prob, ["a", "b"])
    # a column count that disagrees with the class names used to fail inside roc_auc_score
    # with a message about sample counts
    with pytest.raises(ValueError, match=r"prob should be \(N, 2\).*got shape \(2, 3\)"):
        M.evaluation_report([0, 1], np.c_[prob, np.zeros(2)], ["a", "b"])
    with pytest.raises(ValueError, match=r"y should be \(N,\) = \(2,\)"):
        M.evaluation_report([0, 1, 1], prob, ["a", "b"])
    r = M.evaluation_report([0, 1], prob, ["a", "b"])
    assert r["accuracy"] == sk.accuracy_score([0, 1], prob.argmax(1))
    assert r["roc_auc"]["micro"] == sk.roc_auc_score(np.eye(2).ravel(), prob.ravel())


# ---------------------------------------------------------------------------------------------
# auc and the information metrics


def test_auc_refuses_non_finite_points():
    assert M.auc([0.0, 0.5, 1.0], [0.0, 1.0, 1.0]) == sk.auc([0.0, 0.5, 1.0], [0.0, 1.0, 1.0])
    # a NaN y used to give a NaN area; a NaN x was blamed on the sort order
    with pytest.raises(ValueError, match="y holds nan at point 1"):
        M.auc([0.0, 0.5, 1.0], [0.0, np.nan, 1.0])
    with pytest.raises(ValueError, match="x holds nan at point 1"):
        M.auc([0.0, np.nan, 1.0], [0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="x holds inf"):
        M.auc([0.0, np.inf], [0.0, 1.0])


def test_kl_and_cross_entropy_broadcast_either_way_like_scipy():
    st = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(15)
    P, Q = rng.random((3, 4)), rng.random((3, 4))
    # one distribution against a batch: scipy broadcasts both ways; p (4,) was refused here
    _same(M.kl_divergence(P[0], Q), st.entropy(P[0], Q, axis=-1))
    _same(M.kl_divergence(P, Q[0]), st.entropy(P, Q[0], axis=-1))
    _same(M.cross_entropy(P[0], Q), st.entropy(P[0], axis=-1) + st.entropy(P[0], Q, axis=-1))
    for fn in (M.kl_divergence, M.cross_entropy):   # cross_entropy gave numpy's own message
        with pytest.raises(ValueError, match=r"p has shape \(3, 4\) but q has \(3, 3\)"):
            fn(P, Q[:, :3])


def test_perplexity_of_nan_names_nan():
    # the message used to blame a token of probability 0
    for kw in (dict(nll=np.nan), dict(nll=[1.0, np.nan]), dict(log_probs=[-1.0, np.nan])):
        with pytest.raises(ValueError, match="hold NaN"):
            M.perplexity(**kw)
    with pytest.raises(ValueError, match="probability 0"):
        M.perplexity(log_probs=[-1.0, -np.inf])


def test_regression_sample_weight_and_output_weights_match_sklearn():
    rng = np.random.default_rng(16)
    names = ("mean_squared_error", "root_mean_squared_error", "mean_absolute_error", "r2_score")
    for trial in range(60):
        # n >= 2: for one sample R² is NaN (scikit-learn gives a scalar NaN even for
        # 'raw_values', this package one NaN per output)
        n, d = int(rng.integers(2, 7)), int(rng.integers(2, 4))
        A = rng.integers(0, 3, (n, d)).astype(float)
        B = A + rng.integers(-1, 2, (n, d)) * rng.random((n, d)) * (trial % 3 > 0)
        if trial % 4 == 0:
            A[:, 0] = 1.0                                  # a constant target column
        w = rng.random(n) * (rng.random(n) < 0.7)          # some zero weights
        w[int(rng.integers(0, n))] = 1.5
        for mo in ("raw_values", "uniform_average", rng.random(d) + 0.01):
            for name in names:
                _same(getattr(M, name)(A, B, sample_weight=w, multioutput=mo),
                      getattr(sk, name)(A, B, sample_weight=w, multioutput=mo))
                _same(getattr(M, name)(A[:, 0], B[:, 0], sample_weight=w),
                      getattr(sk, name)(A[:, 0], B[:, 0], sample_weight=w))
        _same(M.r2_score(A, B, sample_weight=w, multioutput="variance_weighted"),
              sk.r2_score(A, B, sample_weight=w, multioutput="variance_weighted"))
    with pytest.raises(ValueError, match="one per output"):
        M.mean_squared_error(np.ones((3, 2)), np.zeros((3, 2)), multioutput=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="sample_weight is 0 for all"):
        M.r2_score([1.0, 2.0], [1.0, 3.0], sample_weight=[0, 0])


def test_top_k_accuracy_and_log_loss_take_sample_weight_like_sklearn():
    rng = np.random.default_rng(17)
    for _ in range(40):
        n, c = int(rng.integers(2, 8)), int(rng.integers(3, 5))
        y = rng.integers(0, c, n)
        P = rng.random((n, c))
        P /= P.sum(1, keepdims=True)
        w = rng.random(n) * (rng.random(n) < 0.7)
        w[0] = 1.0
        for norm in (True, False):
            for k in range(1, c + 1):
                _same(M.top_k_accuracy(y, P, k=k, sample_weight=w, normalize=norm, labels=np.arange(c)),
                      sk.top_k_accuracy_score(y, P, k=k, sample_weight=w, normalize=norm,
                                              labels=np.arange(c)))
            _same(M.log_loss(y, P, sample_weight=w, normalize=norm, labels=np.arange(c)),
                  sk.log_loss(y, P, sample_weight=w, normalize=norm, labels=np.arange(c)))
        yb, s = rng.integers(0, 2, n), rng.random(n)
        _same(M.log_loss(yb, s, sample_weight=w, labels=[0, 1]),
              sk.log_loss(yb, s, sample_weight=w, labels=[0, 1]))
    with pytest.raises(ValueError, match="sample_weight is 0 for all"):
        M.log_loss([0, 1], [0.2, 0.7], sample_weight=[0, 0])
    with pytest.raises(ValueError, match="sample_weight has 3 entries"):
        M.top_k_accuracy([0, 1], [[0.2, 0.8], [0.6, 0.4]], k=1, sample_weight=[1, 1, 1])


def test_ranking_metrics_take_sample_weight_like_sklearn_incl_ties_and_zero_weights():
    rng = np.random.default_rng(18)
    checked = 0
    for trial in range(200):
        n = int(rng.integers(3, 10))
        y = rng.integers(0, 2, n)
        s = rng.integers(0, 4, n) / 4 if trial % 2 else rng.random(n)   # ties half the time
        w = rng.random(n) * (rng.random(n) < 0.7) if trial % 3 else rng.integers(0, 3, n) * 1.0
        if (w[y == 1] == 0).all() or (w[y == 0] == 0).all():
            continue   # one class carries no weight: an error here, NaN in scikit-learn
        checked += 1
        for drop in (True, False):
            for a, b in zip(M.roc_curve(y, s, sample_weight=w, drop_intermediate=drop),
                            sk.roc_curve(y, s, sample_weight=w, drop_intermediate=drop)):
                _same(a, b)
            for a, b in zip(M.precision_recall_curve(y, s, sample_weight=w, drop_intermediate=drop),
                            sk.precision_recall_curve(y, s, sample_weight=w, drop_intermediate=drop)):
                _same(a, b)
        _same(M.roc_auc_score(y, s, sample_weight=w), sk.roc_auc_score(y, s, sample_weight=w))
        _same(M.average_precision_score(y, s, sample_weight=w),
              sk.average_precision_score(y, s, sample_weight=w))
        c = 3
        ym = rng.integers(0, c, n)
        if len(np.unique(ym[w > 0])) < c:
            continue
        P = rng.integers(1, 4, (n, c)).astype(float)
        P /= P.sum(1, keepdims=True)
        for avg in ("macro", "weighted", "micro", None):
            _same(M.average_precision_score(ym, P, average=avg, sample_weight=w),
                  sk.average_precision_score(ym, P, average=avg, sample_weight=w))
        for avg in ("macro", "weighted"):
            _same(M.roc_auc_score(ym, P, average=avg, sample_weight=w),
                  sk.roc_auc_score(ym, P, average=avg, multi_class="ovr", sample_weight=w))
    assert checked > 50
    with pytest.raises(ValueError, match="multi_class='ovo'"):
        M.roc_auc_score([0, 1, 2], np.eye(3), multi_class="ovo", sample_weight=[1, 1, 1])


def test_classification_report_takes_sample_weight_like_sklearn():
    names = {"macro avg": "macro mean", "weighted avg": "weighted mean", "micro avg": "micro mean"}
    rng = np.random.default_rng(19)
    for trial in range(60):
        n, k = int(rng.integers(1, 9)), int(rng.integers(2, 5))
        yt, yp = rng.integers(0, k, n), rng.integers(0, k, n)
        w = rng.random(n) * (rng.random(n) < 0.7)
        w[0] = 0.75
        labels = sorted(rng.permutation(k + 1)[: int(rng.integers(1, k + 2))].tolist()) \
            if trial % 3 == 0 else None
        ours = M.classification_report(yt, yp, labels=labels, output_dict=True, zero_division=0,
                                        sample_weight=w)
        ref = sk.classification_report(yt, yp, labels=labels, output_dict=True, zero_division=0,
                                       sample_weight=w)
        assert ("accuracy" in ours) == ("accuracy" in ref)
        for key, row in ref.items():
            mine = ours[names.get(key, key)]
            if isinstance(row, dict):
                for m, v in row.items():
                    _same(mine["f1" if m == "f1-score" else m], v)
            else:
                _same(mine, row)
    text = M.classification_report([0, 1, 1, 2], [0, 1, 0, 2], sample_weight=[1, 2.5, 1, 0.5])
    assert "accuracy                             0.800    5.000" in text
    assert "1                  1.000    0.714    0.833    3.500" in text


def test_bleu_token_hypotheses_with_several_string_references():
    sacrebleu = pytest.importorskip("sacrebleu")
    hyp = "the cat sat on a mat".split()
    refs = ["the cat sat on the mat", "a cat sat on a mat"]
    want = sacrebleu.corpus_bleu([" ".join(hyp)], [[refs[0]], [refs[1]]]).score
    # the strings used to be read as one reference of two sentence-sized "tokens": BLEU 0 without
    # a word; the form is ambiguous, so it is refused with both unambiguous spellings named
    with pytest.raises(ValueError, match=r"token lists .*r\.split\(\).*' '\.join"):
        M.corpus_bleu([hyp], [refs])
    with pytest.raises(ValueError, match="strings with spaces"):
        M.sentence_bleu(hyp, refs)
    assert M.corpus_bleu([hyp], [[r.split() for r in refs]]) == pytest.approx(want, abs=1e-9)
    assert M.corpus_bleu([" ".join(hyp)], [refs]) == pytest.approx(want, abs=1e-9)
    assert M.sentence_bleu(" ".join(hyp), refs) == pytest.approx(
        sacrebleu.sentence_bleu(" ".join(hyp), refs).score, abs=1e-9)
    # tokens that hold spaces on both sides stay tokens of one reference
    h2 = ["New York", "is", "a", "big", "city"]
    assert M.corpus_bleu([h2], [list(h2)]) == 100.0
