"""Edge sweep of nerve.classic against scikit-learn: awkward shapes, labels and refits, where a
silently different answer would otherwise go unnoticed. Small data; the whole file runs in a few
seconds."""
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
import sklearn.linear_model as sk_lin  # noqa: E402
import sklearn.svm as sk_svm  # noqa: E402
from sklearn.decomposition import SparseCoder as SkSparseCoder  # noqa: E402

from nerve import classic  # noqa: E402

# The perceptron on these non-separable labels stops at max_iter, as scikit-learn's does.
pytestmark = pytest.mark.filterwarnings("ignore::nerve.classic.ConvergenceWarning")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(24, 3))
Y_REG = X @ np.array([1.0, 2.0, -1.0]) + 0.3 + 0.1 * RNG.normal(size=24)
Y_BIN = (X[:, 0] + 0.5 * RNG.normal(size=24) > 0).astype(int)
Y_3 = np.digitize(X[:, 0], [-0.5, 0.5])

REG_DATA = {
    "one_feature": (X[:, :1], Y_REG),
    "wide": (RNG.normal(size=(5, 10)), RNG.normal(size=5)),
    "constant_feature": (np.c_[X, np.ones(24)], Y_REG),
    "float32": (X.astype(np.float32), Y_REG.astype(np.float32)),
    "two_samples": (X[:2], Y_REG[:2]),
}

LABELS = {
    "int": Y_BIN,
    "strings": np.where(Y_BIN, "yes", "no"),
    "non_contiguous": np.where(Y_BIN, 7, -3),
    "floats": Y_BIN.astype(float) + 2.0,
    "three": Y_3,
    "three_strings": np.array(["c", "a", "b"])[Y_3],
}


def _close(a, b, tol):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), atol=tol, rtol=tol)


@pytest.mark.parametrize("case", sorted(REG_DATA))
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_penalised_regression_matches_sklearn_at_the_edges(case, fit_intercept):
    Xc, yc = REG_DATA[case]
    for alpha in (1.0, 3.5):
        n = classic.Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(Xc, yc)
        s = sk_lin.Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(Xc, yc)
        _close(n.coef_, s.coef_, 1e-6)
        _close(n.intercept_, s.intercept_, 1e-6)
        _close(n.predict(Xc), s.predict(Xc), 1e-5)
        opts = dict(alpha=alpha / 10, fit_intercept=fit_intercept, tol=1e-12, max_iter=20000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for ours, theirs in ((classic.Lasso(**opts), sk_lin.Lasso(**opts)),
                                 (classic.ElasticNet(l1_ratio=0.3, **opts),
                                  sk_lin.ElasticNet(l1_ratio=0.3, **opts))):
                ours.fit(Xc, yc)
                theirs.fit(Xc, yc)
                _close(ours.coef_, theirs.coef_, 1e-5)
                _close(ours.intercept_, theirs.intercept_, 1e-5)


@pytest.mark.parametrize("labels", sorted(LABELS))
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_logistic_regression_labels_and_probabilities_match_sklearn(labels, fit_intercept):
    y = LABELS[labels]
    for C in (0.1, 10.0):
        n = classic.LogisticRegression(C=C, fit_intercept=fit_intercept).fit(X, y)
        s = sk_lin.LogisticRegression(C=C, fit_intercept=fit_intercept, tol=1e-10,
                                      max_iter=1000).fit(X, y)
        assert n.classes_.tolist() == s.classes_.tolist()
        _close(n.coef_, s.coef_, 1e-4)
        _close(n.intercept_, s.intercept_, 1e-4)
        _close(n.predict_proba(X), s.predict_proba(X), 1e-5)
        _close(n.decision_function(X), s.decision_function(X), 1e-4)
        pred = n.predict(X)
        assert pred.dtype == s.predict(X).dtype and (pred == s.predict(X)).all()
        assert n.score(X, y) == s.score(X, y)


@pytest.mark.parametrize("labels", sorted(LABELS))
def test_kernel_svm_and_perceptron_labels_match_sklearn(labels):
    y = LABELS[labels]
    for kernel in ("rbf", "linear", "poly"):
        n = classic.KernelSVM(C=1.0, kernel=kernel, tol=1e-6).fit(X, y)
        s = sk_svm.SVC(C=1.0, kernel=kernel, tol=1e-6).fit(X, y)
        assert n.classes_.tolist() == s.classes_.tolist()
        _close(n.decision_function(X), s.decision_function(X), 1e-3)
        assert (n.predict(X) == s.predict(X)).all()
    for fi in (True, False):
        n = classic.Perceptron(shuffle=False, fit_intercept=fi).fit(X, y)
        s = sk_lin.Perceptron(shuffle=False, fit_intercept=fi, tol=None, max_iter=1000).fit(X, y)
        _close(n.coef_, s.coef_, 1e-12)
        _close(n.intercept_, s.intercept_, 1e-12)
        assert (n.predict(X) == s.predict(X)).all()


def test_one_sample_per_class():
    Xs = np.array([[0.0, 1.0], [2.0, 3.0], [5.0, 1.0]])
    ys = np.array([2, 0, 1])
    for ours, theirs in ((classic.LogisticRegression(), sk_lin.LogisticRegression(tol=1e-10)),
                         (classic.KernelSVM(), sk_svm.SVC())):
        ours.fit(Xs, ys)
        theirs.fit(Xs, ys)
        assert (ours.predict(Xs) == theirs.predict(Xs)).all()
        _close(ours.decision_function(Xs), theirs.decision_function(Xs), 1e-6)


def test_softmax_regression_matches_sklearn_multinomial():
    n = classic.SoftmaxRegression(C=0.5).fit(X, Y_3)
    s = sk_lin.LogisticRegression(C=0.5, tol=1e-10, max_iter=1000).fit(X, Y_3)
    _close(n.coef_, s.coef_, 1e-6)
    _close(n.predict_proba(X), s.predict_proba(X), 1e-6)
    # two classes: the documented C ↔ 2C correspondence with the binary model
    n = classic.SoftmaxRegression(C=0.5).fit(X, Y_BIN)
    s = sk_lin.LogisticRegression(C=1.0, tol=1e-10, max_iter=1000).fit(X, Y_BIN)
    _close(n.coef_[1] - n.coef_[0], s.coef_[0], 1e-6)
    _close(n.decision_function(X), s.decision_function(X), 1e-6)


@pytest.mark.parametrize("gamma", ["scale", "auto", 0.3])
def test_kernel_svm_gamma_on_one_feature_and_constant_columns(gamma):
    for Xg in (X[:, :1], np.c_[X, np.ones(24)], X.astype(np.float32)):
        n = classic.KernelSVM(gamma=gamma, tol=1e-6).fit(Xg, Y_BIN)
        s = sk_svm.SVC(gamma=gamma, tol=1e-6).fit(Xg, Y_BIN)
        _close(n.decision_function(Xg), s.decision_function(Xg), 1e-3)
        assert sorted(n.support_.tolist()) == sorted(s.support_.tolist())


def test_score_with_sample_weight_matches_sklearn():
    from sklearn.metrics import accuracy_score, r2_score

    w = RNG.uniform(0, 2, size=24)
    w[:5] = 0.0
    clf = classic.LogisticRegression(C=0.05).fit(X, LABELS["strings"])
    assert clf.score(X, LABELS["strings"], sample_weight=w) == pytest.approx(
        accuracy_score(LABELS["strings"], clf.predict(X), sample_weight=w))
    Y2 = np.c_[Y_REG, Y_REG ** 2]
    reg = classic.Ridge(alpha=10.0).fit(X, Y2)
    assert reg.score(X, Y2, sample_weight=w) == pytest.approx(
        r2_score(Y2, reg.predict(X), sample_weight=w))


def test_sparse_coder_matches_sklearn_lasso_cd():
    D = RNG.normal(size=(4, 6))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    Xs = RNG.normal(size=(5, 6))
    for alpha in (0.1, 1.0):
        s = SkSparseCoder(D, transform_algorithm="lasso_cd", transform_alpha=alpha,
                          transform_max_iter=10000).transform(Xs)
        n = classic.SparseCoder(D, alpha=alpha, max_iter=100000, tol=1e-12).fit(Xs).transform(Xs)
        _close(n, s, 1e-6)


ALL_CLASSIFIERS = [classic.LogisticRegression, classic.SoftmaxRegression, classic.Perceptron,
                   classic.LinearSVM, classic.KernelSVM]


@pytest.mark.parametrize("cls", ALL_CLASSIFIERS + [classic.Ridge, classic.Lasso])
def test_bad_input_raises_clear_errors(cls):
    bad = {"nan": np.r_[X[:-1], [[np.nan, 0, 0]]], "inf": np.r_[X[:-1], [[np.inf, 0, 0]]]}
    for name, Xb in bad.items():
        with pytest.raises(ValueError, match="NaN|infinity"):
            cls().fit(Xb, Y_BIN)
    with pytest.raises(ValueError, match="sample"):
        cls().fit(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(classic.NotFittedError, match="not fitted"):
        cls().predict(X)
    fitted = cls().fit(X, Y_BIN)
    with pytest.raises(ValueError, match="features"):
        fitted.predict(X[:, :2])
    if cls in ALL_CLASSIFIERS:
        with pytest.raises(ValueError, match="1 class"):
            cls().fit(X, np.zeros(24))


@pytest.mark.parametrize("cls", ALL_CLASSIFIERS)
def test_refit_leaves_no_attribute_of_the_previous_fit(cls):
    """A refit on new data must look exactly like a fresh fit: same fitted attributes, none
    left over from the earlier problem (LinearSVM kept a binary fit's support_/dual_coef_ and
    KernelSVM its dual_coef_/intercept_ after a three-class refit)."""
    seed = {"random_state": 0} if "random_state" in cls().get_params() else {}
    est = cls(**seed).fit(X, Y_BIN)
    est.fit(X[:, :2], Y_3)
    fresh = cls(**seed).fit(X[:, :2], Y_3)
    fitted = {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}
    assert fitted == {k for k in vars(fresh) if k.endswith("_") and not k.startswith("_")}
    for k in fitted:
        np.testing.assert_array_equal(np.asarray(getattr(est, k)), np.asarray(getattr(fresh, k)))


def test_ridge_takes_one_alpha_per_target_as_sklearn():
    """sklearn's Ridge accepts alpha of shape (n_targets,); nerve raised a bare TypeError."""
    Y2 = np.c_[Y_REG, RNG.normal(size=24)]
    for alpha in ([1.0, 50.0], [3.0], np.array(2.0)):
        n = classic.Ridge(alpha=alpha).fit(X, Y2)
        s = sk_lin.Ridge(alpha=alpha).fit(X, Y2)
        _close(n.coef_, s.coef_, 1e-10)
        _close(n.intercept_, s.intercept_, 1e-10)
    wide, Yw = RNG.normal(size=(4, 7)), RNG.normal(size=(4, 2))
    _close(classic.Ridge(alpha=[0.5, 5.0]).fit(wide, Yw).coef_,
           sk_lin.Ridge(alpha=[0.5, 5.0]).fit(wide, Yw).coef_, 1e-10)
    with pytest.raises(ValueError, match="one value per target"):
        classic.Ridge(alpha=[1.0, 2.0, 3.0]).fit(X, Y2)
    with pytest.raises(ValueError, match="solver='closed'"):
        classic.Ridge(alpha=[1.0, 2.0], solver="sgd").fit(X, Y2)


@pytest.mark.parametrize("C", [1e-12, 1e-9, 1e-6])
def test_logistic_regression_small_C_still_fits_the_intercept(C):
    """With C → 0 the weights vanish but the unpenalised intercept must still reach the log class
    ratio; an absolute gradient tolerance stopped Newton early (at C = 1e-12 the intercept stayed
    0, so every probability was 1/K)."""
    for y in (Y_BIN, Y_3):
        counts = np.bincount(y)
        logs = np.log(counts)
        want = [logs[1] - logs[0]] if len(counts) == 2 else logs - logs.mean()
        for cls in (classic.LogisticRegression, classic.SoftmaxRegression):
            est = cls(C=C).fit(X, y)
            b = est.intercept_
            got = [b[1] - b[0]] if cls is classic.SoftmaxRegression and len(counts) == 2 else b
            _close(got, want, 1e-6)
            _close(est.predict_proba(X).mean(axis=0), counts / counts.sum(), 1e-6)
    n = classic.LogisticRegression(C=1e-6).fit(X, Y_3)
    s = sk_lin.LogisticRegression(C=1e-6, tol=1e-12, max_iter=10000).fit(X, Y_3)
    _close(n.intercept_, s.intercept_, 1e-6)


WEIGHTS = {
    "ones": np.ones(24),
    "zeros_and_fractions": np.r_[np.zeros(5), np.linspace(0.1, 3.0, 19)],
    "all_equal": np.full(24, 2.5),
}


@pytest.mark.parametrize("weights", sorted(WEIGHTS))
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sample_weight_matches_sklearn(weights, fit_intercept):
    """sample_weight in fit (scikit-learn's Ridge, Lasso, ElasticNet and LogisticRegression take
    it; nerve raised TypeError), zero, fractional and all-equal weights included."""
    w = WEIGHTS[weights]
    Y2 = np.c_[Y_REG, RNG.normal(size=24)]
    for y in (Y_REG, Y2):
        n = classic.Ridge(alpha=2.0, fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
        s = sk_lin.Ridge(alpha=2.0, fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
        _close(n.coef_, s.coef_, 1e-10)
        _close(n.intercept_, s.intercept_, 1e-10)
    opts = dict(alpha=0.05, fit_intercept=fit_intercept, tol=1e-12, max_iter=10000)
    for ours, theirs in ((classic.Lasso(**opts), sk_lin.Lasso(**opts)),
                         (classic.ElasticNet(l1_ratio=0.3, **opts),
                          sk_lin.ElasticNet(l1_ratio=0.3, **opts))):
        ours.fit(X, Y_REG, sample_weight=w)
        theirs.fit(X, Y_REG, sample_weight=w)
        _close(ours.coef_, theirs.coef_, 1e-9)
        _close(ours.intercept_, theirs.intercept_, 1e-9)
    for y in (Y_BIN, LABELS["three_strings"]):
        n = classic.LogisticRegression(C=3.0, fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
        s = sk_lin.LogisticRegression(C=3.0, fit_intercept=fit_intercept, tol=1e-12,
                                      max_iter=10000).fit(X, y, sample_weight=w)
        _close(n.coef_, s.coef_, 1e-6)
        _close(n.intercept_, s.intercept_, 1e-6)
    n = classic.SoftmaxRegression(C=3.0, fit_intercept=fit_intercept).fit(X, Y_3, sample_weight=w)
    s = sk_lin.LogisticRegression(C=3.0, fit_intercept=fit_intercept, tol=1e-12,
                                  max_iter=10000).fit(X, Y_3, sample_weight=w)
    _close(n.coef_, s.coef_, 1e-6)


def test_sample_weight_errors():
    for bad, match in (([1.0] * 5, "shape"), (-np.ones(24), ">= 0"), (np.zeros(24), "all zero"),
                       (np.r_[np.nan, np.ones(23)], ">= 0")):
        for est in (classic.Ridge(), classic.LogisticRegression()):
            with pytest.raises(ValueError, match=match):
                est.fit(X, Y_BIN, sample_weight=bad)
    w = WEIGHTS["zeros_and_fractions"]
    _close(classic.Ridge(alpha=2.0, solver="sgd").fit(X, Y_REG, sample_weight=w).coef_,
           sk_lin.Ridge(alpha=2.0).fit(X, Y_REG, sample_weight=w).coef_, 1e-6)


def test_ridge_alpha_zero_gives_the_minimum_norm_solution():
    """Duplicate columns make least squares non-unique; solve() on the singular XᵀX mostly did
    not raise and returned an arbitrary solution (up to 0.19 off LinearRegression's
    minimum-norm one for one seed in five)."""
    for seed in range(16):
        rng = np.random.default_rng(seed)
        Xs = rng.normal(size=(20, 3)) if seed % 4 else rng.normal(size=(4, 9))
        Xd = np.c_[Xs, Xs[:, :1]]
        yd = rng.normal(size=len(Xd))
        for fi in (True, False):
            n = classic.Ridge(alpha=0.0, fit_intercept=fi).fit(Xd, yd)
            s = sk_lin.LinearRegression(fit_intercept=fi).fit(Xd, yd)
            _close(n.coef_, s.coef_, 1e-8)
            _close(n.intercept_, s.intercept_, 1e-8)


def test_dictionary_learning_transform_is_the_documented_lasso():
    """The documented convention: transform is the lasso code (scikit-learn's
    transform_algorithm='lasso_cd' with the same alpha), not scikit-learn's default OMP."""
    from sklearn.decomposition import DictionaryLearning as SkDictionaryLearning

    Xs = RNG.normal(size=(30, 6))
    ours = classic.DictionaryLearning(n_components=4, alpha=0.5, max_iter=20,
                                      random_state=0).fit(Xs)
    theirs = SkDictionaryLearning(n_components=4, max_iter=2, transform_algorithm="lasso_cd",
                                  transform_alpha=0.5, transform_max_iter=10000).fit(Xs)
    theirs.components_ = ours.components_
    _close(ours.transform(Xs), theirs.transform(Xs), 1e-6)
    assert "omp" in classic.DictionaryLearning.__doc__


@pytest.mark.parametrize("labels", ["int", "three_strings"])
def test_linear_svm_without_intercept_matches_linear_svc(labels):
    """With fit_intercept=False, LinearSVM's problem (½‖w‖² + C·Σ hinge, one-vs-rest for K ≥ 3)
    is exactly LinearSVC(loss='hinge', fit_intercept=False)'s."""
    y = LABELS[labels]
    for C in (0.1, 10.0):
        n = classic.LinearSVM(C=C, fit_intercept=False, tol=1e-7, max_iter=200000).fit(X, y)
        s = sk_svm.LinearSVC(C=C, loss="hinge", fit_intercept=False, tol=1e-10,
                             max_iter=1000000).fit(X, y)
        _close(n.coef_, s.coef_, 1e-5)
        assert (n.predict(X) == s.predict(X)).all()


def test_perceptron_eta0_scales_weights_as_sklearn():
    for eta0 in (0.1, 2.5):
        n = classic.Perceptron(eta0=eta0, shuffle=False).fit(X, LABELS["three"])
        s = sk_lin.Perceptron(eta0=eta0, shuffle=False, tol=None, max_iter=1000).fit(
            X, LABELS["three"])
        _close(n.coef_, s.coef_, 1e-10)
        _close(n.intercept_, s.intercept_, 1e-10)


@pytest.mark.parametrize("make", [
    lambda rs: classic.Perceptron(random_state=rs),
    lambda rs: classic.LinearSVM(solver="primal", max_iter=200, random_state=rs),
    lambda rs: classic.ElasticNet(alpha=0.05, selection="random", random_state=rs),
    lambda rs: classic.DictionaryLearning(n_components=3, max_iter=5, random_state=rs),
], ids=["Perceptron", "LinearSVM-primal", "ElasticNet-random", "DictionaryLearning"])
def test_random_state_reproducible(make):
    y = Y_REG if "ElasticNet" in repr(make(0)) else Y_3
    attr = "components_" if "Dictionary" in repr(make(0)) else "coef_"
    first = getattr(make(7).fit(X, y), attr)
    np.testing.assert_array_equal(first, getattr(make(7).fit(X, y), attr))
    legacy = [getattr(make(np.random.RandomState(3)).fit(X, y), attr) for _ in range(2)]
    np.testing.assert_array_equal(legacy[0], legacy[1])


@pytest.mark.parametrize("labels,weights", [
    ("int", "balanced"), ("int", {0: 3.0}), ("int", {1: 0.5, 0: 2}),
    ("three_strings", "balanced"), ("three_strings", {"a": 2.5}),
    ("three_strings", {"b": 0.2, "c": 4})])
def test_logistic_regression_class_weight_matches_sklearn(labels, weights):
    y = LABELS[labels]
    for sw in (None, WEIGHTS["zeros_and_fractions"]):
        n = classic.LogisticRegression(class_weight=weights).fit(X, y, sample_weight=sw)
        s = sk_lin.LogisticRegression(class_weight=weights, tol=1e-12, max_iter=10000).fit(
            X, y, sample_weight=sw)
        _close(n.coef_, s.coef_, 1e-6)
        _close(n.intercept_, s.intercept_, 1e-6)


def test_logistic_regression_class_weight_errors():
    with pytest.raises(ValueError, match="'zz'"):
        classic.LogisticRegression(class_weight={"zz": 1.0}).fit(X, LABELS["strings"])
    with pytest.raises(ValueError, match="balanced"):
        classic.LogisticRegression(class_weight="even").fit(X, Y_BIN)


def test_regressor_score_with_column_targets_matches_sklearn():
    """R² of a (n, 1) target against (n,) predictions (or the reverse) broadcast to an (n, n)
    table: 0.92 came out as -0.85, silently."""
    from sklearn.metrics import r2_score

    col = Y_REG.reshape(-1, 1)
    flat_fit = classic.Ridge().fit(X, Y_REG)
    col_fit = classic.Ridge().fit(X, col)
    want = r2_score(Y_REG, flat_fit.predict(X))
    for est, target in ((flat_fit, col), (col_fit, Y_REG), (col_fit, list(Y_REG)),
                        (flat_fit, Y_REG)):
        assert est.score(X, target) == pytest.approx(want, abs=1e-12)
        assert est.score(X, target) == pytest.approx(
            sk_lin.Ridge().fit(X, Y_REG).score(X, target), abs=1e-12)
    with pytest.raises(ValueError, match="shape"):
        col_fit.score(X, np.c_[Y_REG, Y_REG])
    for est in (classic.Lasso(alpha=0.01), classic.ElasticNet(alpha=0.01)):
        est.fit(X, Y_REG)
        assert est.score(X, col) == pytest.approx(r2_score(Y_REG, est.predict(X)), abs=1e-12)
