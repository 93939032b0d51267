"""ROC and precision-recall curves, AUC and AP against scikit-learn, ties included."""
import numpy as np
import pytest

from nerve import metrics as M

sk = pytest.importorskip("sklearn.metrics")


def same(a, b, atol=1e-12):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=0, atol=atol)


def binary_data(seed, n=200, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]  # both classes present
    s = rng.normal(size=n) + y
    if ties:
        s = np.round(s, 1)  # many equal scores
    return y, s


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("drop", [True, False])
def test_roc_curve_and_auc_match_sklearn(seed, ties, drop):
    y, s = binary_data(seed, n=int(np.random.default_rng(seed).integers(5, 300)), ties=ties)
    for ours, ref in zip(M.roc_curve(y, s, drop_intermediate=drop),
                         sk.roc_curve(y, s, drop_intermediate=drop)):
        same(ours, ref)
    assert abs(M.roc_auc_score(y, s) - sk.roc_auc_score(y, s)) <= 1e-12


def test_roc_curve_first_threshold_is_inf_and_ends_at_one():
    y, s = binary_data(0)
    fpr, tpr, th = M.roc_curve(y, s)
    assert th[0] == np.inf and fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)


def test_perfect_and_constant_scores():
    y = np.array([0, 0, 1, 1, 0, 1])
    assert M.roc_auc_score(y, y * 2.0 - 0.3) == 1.0
    assert M.roc_auc_score(y, -y) == 0.0
    assert M.roc_auc_score(y, np.full(6, 0.7)) == 0.5
    assert M.average_precision_score(y, y.astype(float)) == 1.0


def test_roc_pos_label_and_string_labels():
    y = np.array(["no", "yes", "yes", "no", "yes"])
    s = np.array([0.1, 0.8, 0.4, 0.5, 0.9])
    for ours, ref in zip(M.roc_curve(y, s, pos_label="yes"), sk.roc_curve(y, s, pos_label="yes")):
        same(ours, ref)
    assert M.roc_auc_score(y, s) == sk.roc_auc_score(y, s)
    with pytest.raises(ValueError, match="pass pos_label="):
        M.roc_curve(y, s)


def test_tpr_from_confusion_matrix_equals_roc_tpr_at_threshold():
    y, s = binary_data(3)
    fpr, tpr, th = M.roc_curve(y, s, drop_intermediate=False)
    for i in (1, len(th) // 2, len(th) - 1):
        pred = (s >= th[i]).astype(int)
        tn, fp, fn, tp = M.confusion_matrix(y, pred, labels=[0, 1]).ravel()
        assert tp / (tp + fn) == pytest.approx(tpr[i], abs=1e-15)
        assert fp / (fp + tn) == pytest.approx(fpr[i], abs=1e-15)
        assert M.tpr(y, pred) == pytest.approx(tpr[i], abs=1e-15)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("drop", [True, False])
def test_precision_recall_curve_and_ap_match_sklearn(seed, ties, drop):
    y, s = binary_data(seed, ties=ties)
    for ours, ref in zip(M.precision_recall_curve(y, s, drop_intermediate=drop),
                         sk.precision_recall_curve(y, s, drop_intermediate=drop)):
        same(ours, ref)
    assert abs(M.average_precision_score(y, s) - sk.average_precision_score(y, s)) <= 1e-12


def multiclass_probs(seed, n=300, C=4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, n)
    logits = rng.normal(size=(n, C)) + 1.5 * np.eye(C)[y]
    p = np.exp(logits)
    return y, p / p.sum(1, keepdims=True)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("average", ["macro", "weighted", "micro", None])
def test_multiclass_ovr_auc_and_ap_match_sklearn(seed, average):
    y, p = multiclass_probs(seed)
    ours = M.roc_auc_score(y, p, average=average)
    if average == "micro" or average is None:
        # sklearn computes micro and per-class OvR AUC from the binarized targets
        yb = np.eye(4)[y]
        ref = sk.roc_auc_score(yb, p, average=average)
    else:
        ref = sk.roc_auc_score(y, p, multi_class="ovr", average=average)
    same(ours, ref)
    same(M.average_precision_score(y, p, average=average),
         sk.average_precision_score(np.eye(4)[y], p, average=average))


@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_multiclass_ovo_auc_matches_sklearn(average):
    y, p = multiclass_probs(7, C=5)
    y[y == 4] = 3  # imbalance: class 3 twice as common
    p = np.concatenate([p[:, :3], p[:, 3:].sum(1, keepdims=True)], axis=1)
    same(M.roc_auc_score(y, p, multi_class="ovo", average=average),
         sk.roc_auc_score(y, p, multi_class="ovo", average=average))
    with pytest.raises(ValueError, match="'ovo' supports average='macro' or 'weighted'"):
        M.roc_auc_score(y, p, multi_class="ovo", average=None)


def test_multiclass_auc_rejects_logits_and_wrong_column_count():
    y, p = multiclass_probs(0)
    with pytest.raises(ValueError, match="apply softmax"):
        M.roc_auc_score(y, np.log(p))
    with pytest.raises(ValueError, match="4 columns but there are 3 classes"):
        M.roc_auc_score(y % 3, p)


def test_single_class_raises_instead_of_nan():
    with pytest.raises(ValueError, match="roc_curve: y_true has no negative sample"):
        M.roc_curve([1, 1, 1], [0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="roc_auc_score: .*undefined for a single class"):
        M.roc_auc_score([1, 1, 1], [0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="precision_recall_curve: y_true has no positive"):
        M.precision_recall_curve([0, 0], [0.2, 0.3])


def test_auc_trapezoid():
    x = np.linspace(0, 1, 11)
    same(M.auc(x, x ** 2), sk.auc(x, x ** 2))
    same(M.auc(x[::-1], (x ** 2)[::-1]), sk.auc(x[::-1], (x ** 2)[::-1]))
    with pytest.raises(ValueError, match="neither increasing nor decreasing"):
        M.auc([0, 1, 0.5], [0, 1, 1])
    with pytest.raises(ValueError, match="at least 2 points"):
        M.auc([0.0], [1.0])


@pytest.mark.parametrize("fn", [M.roc_curve, M.roc_auc_score, M.precision_recall_curve,
                                M.average_precision_score])
def test_empty_and_mismatched_inputs_raise(fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: y_true is empty"):
        fn([], [])
    with pytest.raises(ValueError, match=rf"{fn.__name__}: y_true has 3 samples but y_score has 2"):
        fn([0, 1, 1], [0.1, 0.2])
