"""Second edge sweep of nerve.classic against scikit-learn: stopping rules at the default
tolerance, degenerate weights, hyper-parameters at their limits and the scoring helpers, where
an answer could differ from scikit-learn's without any error. Small data; a few seconds."""
import warnings

import numpy as np
import pytest

from nerve import classic

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 5))
X[:, 1] += 0.8 * X[:, 0]                      # correlated columns: coordinate descent needs sweeps
Y_REG = X @ RNG.normal(size=5) + 0.1 * RNG.normal(size=40)
Y_3 = np.digitize(X[:, 2], [-0.5, 0.5])


@pytest.mark.parametrize("alpha,l1_ratio", [(0.0, 1.0), (1e-3, 1.0), (0.05, 0.5), (0.3, 0.0),
                                            (2.0, 0.0)])
@pytest.mark.parametrize("weighted", [False, True])
def test_elastic_net_default_tol_matches_sklearn(alpha, l1_ratio, weighted):
    """At the default tol the duality gap alone stopped coordinate descent sweeps before
    scikit-learn does (it also waits for the coordinate changes to be small), and without an L1
    term the gap never closed at all: Lasso(alpha=0) ran all 1000 sweeps and ended 1e-4 to 3e-2
    off scikit-learn's coefficients. dual_gap_ was n times scikit-learn's."""
    sk_lin = pytest.importorskip("sklearn.linear_model")
    sw = RNG.uniform(0, 2, size=40) if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # scikit-learn warns about alpha=0
        ours = classic.ElasticNet(alpha=alpha, l1_ratio=l1_ratio).fit(X, Y_REG, sample_weight=sw)
        theirs = sk_lin.ElasticNet(alpha=alpha, l1_ratio=l1_ratio).fit(X, Y_REG, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-10)
    assert ours.intercept_ == pytest.approx(theirs.intercept_, abs=1e-10)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.dual_gap_ == pytest.approx(theirs.dual_gap_, rel=1e-3, abs=1e-14)


def test_balanced_class_weight_with_a_zero_weight_class_is_an_error():
    """class_weight='balanced' when one class's sample weights are all 0 gave NaN coefficients
    (an infinite class weight times 0), silently."""
    sw = np.where(Y_3 == 2, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"balanced.*\[2\].*sample_weight 0"):
        classic.LogisticRegression(class_weight="balanced").fit(X, Y_3, sample_weight=sw)
    # an explicit weight for the class, or no class weights, still fits
    est = classic.LogisticRegression(class_weight={0: 2.0}).fit(X, Y_3, sample_weight=sw)
    assert np.isfinite(est.coef_).all()


def test_regressor_score_weights_and_single_sample_match_sklearn():
    """A sample_weight of the wrong length failed with a broadcasting error, all-zero weights
    with ZeroDivisionError, and R² on one sample was 0.0 where scikit-learn gives NaN."""
    sk_lin = pytest.importorskip("sklearn.linear_model")
    ours, theirs = classic.Ridge().fit(X, Y_REG), sk_lin.Ridge().fit(X, Y_REG)
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        ours.score(X, Y_REG, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="all zero"):
        ours.score(X, Y_REG, sample_weight=np.zeros(40))
    with pytest.warns(UserWarning, match="fewer than two samples"):
        got = ours.score(X[:1], Y_REG[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = theirs.score(X[:1], Y_REG[:1])
    assert np.isnan(got) and np.isnan(want)
    w = RNG.uniform(0, 2, size=40)
    assert ours.score(X, Y_REG, sample_weight=w) == pytest.approx(
        theirs.score(X, Y_REG, sample_weight=w), abs=1e-12)


@pytest.mark.parametrize("make", [
    lambda: classic.Lasso(max_iter=0), lambda: classic.ElasticNet(max_iter=0),
    lambda: classic.Lasso(max_iter=2.5), lambda: classic.Ridge(solver="sgd", max_iter=0),
    lambda: classic.MatrixFactorization(max_iter=0),
    lambda: classic.DictionaryLearning(n_components=2, max_iter=0)],
    ids=["Lasso", "ElasticNet", "Lasso-float", "Ridge-sgd", "MatrixFactorization",
         "DictionaryLearning"])
def test_max_iter_below_one_is_a_clear_error(make):
    """max_iter=0 gave all-zero coefficients with only a warning (Lasso, ElasticNet, SGD ridge)
    or an UnboundLocalError (MatrixFactorization, DictionaryLearning)."""
    est = make()
    Xf = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]) if isinstance(
        est, classic.MatrixFactorization) else X
    with pytest.raises(ValueError, match="max_iter must be a positive integer"):
        est.fit(Xf, np.arange(len(Xf), dtype=float))
    with pytest.raises(ValueError, match="tol must be >= 0"):
        classic.Lasso(tol=-1.0).fit(X, Y_REG)


def test_matrix_factorization_refit_drops_the_adam_module():
    X_r, y_r, _ = classic.make_ratings(12, 10, random_state=0)
    est = classic.MatrixFactorization(solver="adam", max_iter=3, random_state=0).fit(X_r, y_r)
    assert hasattr(est, "module_")
    est.set_params(solver="als").fit(X_r, y_r)
    assert not hasattr(est, "module_")


def test_sparse_encode_takes_lists():
    codes, _ = classic.sparse_encode([[2.0, 0.5, -3.0]], [[1.0, 0, 0], [0, 1, 0], [0, 0, 1]],
                                     alpha=1.0)
    np.testing.assert_allclose(codes, [[1.0, 0.0, -2.0]])


@pytest.mark.parametrize("make,match", [
    (lambda: classic.Perceptron(eta0="1"), "eta0 must be > 0, got '1'"),
    (lambda: classic.KernelSVM(C="1"), "C must be > 0, got '1'"),
    (lambda: classic.KernelSVM(gamma=None), "gamma must be > 0, got None"),
    (lambda: classic.LinearSVM(C=None), "C must be > 0, got None"),
    (lambda: classic.LinearSVM(C=True), "C must be > 0, got True"),
    (lambda: classic.ElasticNet(l1_ratio="a"), r"l1_ratio must be in \[0, 1\], got 'a'"),
    (lambda: classic.Lasso(tol=None), "tol must be >= 0, got None"),
    (lambda: classic.DictionaryLearning(alpha="x"), "alpha must be >= 0, got 'x'")],
    ids=["eta0", "KernelSVM-C", "gamma", "LinearSVM-C", "C-bool", "l1_ratio", "tol", "alpha"])
def test_non_numeric_hyper_parameters_give_the_parameter_error(make, match):
    """A string or None hyper-parameter failed with TypeError "'>' not supported between
    instances of 'str' and 'int'", which names neither the estimator nor the parameter."""
    est = make()
    y = (X[:, 0] > 0).astype(int) if est._estimator_type == "classifier" else Y_REG
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


def test_one_class_error_shows_the_label_plainly():
    for y, shown in ((np.zeros(40), "1 class: 0.0;"), (np.array(["q"] * 40), "1 class: 'q';")):
        with pytest.raises(ValueError, match=shown):
            classic.LogisticRegression().fit(X, y)


@pytest.mark.parametrize("batch_size", [1, 2, 5, 10])
def test_ridge_sgd_mini_batches_stay_near_the_closed_form(batch_size):
    """The full-batch step 1/L with momentum 0.9 made mini-batch SGD diverge (batch_size=2:
    coefficients of 1e150, batch_size=1: NaN) with no error or warning."""
    Xs, ys = X[:20], Y_REG[:20]
    ref = classic.Ridge(alpha=1.0).fit(Xs, ys)
    est = classic.Ridge(alpha=1.0, solver="sgd", batch_size=batch_size, max_iter=200,
                        random_state=0).fit(Xs, ys)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=0.1)
    assert est.intercept_ == pytest.approx(ref.intercept_, abs=0.1)


def test_ridge_sgd_bad_batch_size_or_divergence_is_a_clear_error():
    """batch_size=-5 returned zero coefficients (no batch ever ran), 0 failed inside range(),
    and a too large learning_rate returned huge or NaN weights silently."""
    for bs in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            classic.Ridge(solver="sgd", batch_size=bs).fit(X, Y_REG)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)       # the overflow on the way
        with pytest.raises(ValueError, match="diverged.*lower learning_rate"):
            classic.Ridge(solver="sgd", learning_rate=50.0, max_iter=500).fit(X, Y_REG)


def test_sparse_coding_and_factorization_limits_are_clear_errors():
    """SparseCoder(max_iter=0) returned all-zero codes, DictionaryLearning(code_max_iter=0)
    zero codes, sparse_encode(alpha='a') a bare TypeError and MatrixFactorization(alpha=-1)
    fitted with a penalty that rewards large factors; all without an error."""
    with pytest.raises(ValueError, match="max_iter must be a positive integer"):
        classic.SparseCoder(np.eye(5), max_iter=0).transform(X)
    with pytest.raises(ValueError, match="alpha must be >= 0, got 'a'"):
        classic.sparse_encode(X, np.eye(5), "a")
    with pytest.raises(ValueError, match="code_max_iter must be a positive integer"):
        classic.DictionaryLearning(n_components=2, code_max_iter=0).fit(X)
    with pytest.raises(ValueError, match="alpha must be >= 0, got -1.0"):
        classic.MatrixFactorization(alpha=-1.0).fit([[0, 0], [1, 1]], [1.0, 2.0])


@pytest.mark.parametrize("kwargs,match", [
    (dict(kernel="poly", degree=2.5), "degree must be an integer >= 0, got 2.5"),
    (dict(kernel="poly", degree=-1), "degree must be an integer >= 0, got -1"),
    (dict(kernel="poly", coef0="1"), "coef0 must be a number"),
    (dict(max_iter=-3), r"max_iter must be -1 \(no limit\) or a positive integer, got -3"),
    (dict(max_iter=2.5), "max_iter must be -1"),
])
def test_kernel_svm_degree_coef0_and_max_iter_are_checked(kwargs, match):
    """degree=2.5 gave all-NaN decision values and max_iter=-3 all-zero ones (no SMO step),
    without an error; scikit-learn's SVC refuses both."""
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match=match):
        classic.KernelSVM(**kwargs).fit(X, y)
    assert classic.KernelSVM(kernel="poly", degree=0).fit(X, y).predict(X).shape == (40,)


@pytest.mark.parametrize("make", [
    lambda v: classic.Ridge(fit_intercept=v), lambda v: classic.Lasso(fit_intercept=v),
    lambda v: classic.LogisticRegression(fit_intercept=v),
    lambda v: classic.SoftmaxRegression(fit_intercept=v),
    lambda v: classic.Perceptron(fit_intercept=v), lambda v: classic.Perceptron(shuffle=v),
    lambda v: classic.LinearSVM(fit_intercept=v)],
    ids=["Ridge", "Lasso", "LogisticRegression", "SoftmaxRegression", "Perceptron",
         "Perceptron-shuffle", "LinearSVM"])
def test_string_flags_are_refused(make):
    """fit_intercept='False' is a truthy string: it silently fitted an intercept."""
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match="must be True or False, got 'False'"):
        make("False").fit(X, y)
    make(np.bool_(False)).fit(X, y)


@pytest.mark.parametrize("make", [lambda t: classic.LogisticRegression(tol=t),
                                  lambda t: classic.LinearSVM(tol=t),
                                  lambda t: classic.KernelSVM(tol=t)],
                         ids=["LogisticRegression", "LinearSVM", "KernelSVM"])
def test_tol_must_be_a_non_negative_number(make):
    """tol='a' failed with "could not convert string to float" or a comparison TypeError, and
    KernelSVM took tol='1' as a string."""
    y = (X[:, 0] > 0).astype(int)
    for bad in ("a", "1", -1.0, None):
        with pytest.raises(ValueError, match="tol must be >= 0"):
            make(bad).fit(X, y)


def test_classifier_score_with_all_zero_weights_is_a_clear_error():
    """score(X, y, sample_weight=zeros) raised a bare ZeroDivisionError (scikit-learn: a
    ValueError); other weights still match accuracy_score."""
    sk_metrics = pytest.importorskip("sklearn.metrics")
    y = (X[:, 0] > 0).astype(int)
    clf = classic.LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="sample_weight is 0 for all 40 samples"):
        clf.score(X, y, sample_weight=np.zeros(40))
    w = np.r_[np.zeros(10), RNG.uniform(0, 2, size=30)]
    assert clf.score(X, y, sample_weight=w) == pytest.approx(
        sk_metrics.accuracy_score(y, clf.predict(X), sample_weight=w))


def test_kernel_svm_predict_breaks_exact_ties_as_svc():
    """A decision value of exactly 0 (a point midway, or far away where the RBF kernel
    underflows and f = b = 0) went to the first class; SVC.predict gives it to the second
    (libsvm's vote), so predict disagreed with SVC on [0] vs [1] and, for three classes,
    predicted [0, 0, 0] where SVC predicts [2, 1, 2]. decision_function is unchanged."""
    sk_svm = pytest.importorskip("sklearn.svm")
    X2, T2 = np.array([[-1.0], [1.0]]), np.array([[0.0], [50.0], [-50.0]])
    for kernel in ("linear", "rbf"):
        ours = classic.KernelSVM(kernel=kernel).fit(X2, [0, 1])
        theirs = sk_svm.SVC(kernel=kernel).fit(X2, [0, 1])
        assert ours.predict(T2).tolist() == theirs.predict(T2).tolist()
    X3, T3 = np.array([[0.0, 1], [0, -1], [1, 0]]), np.array([[0.0, 0], [-1, 0], [100, 100]])
    for shape in ("ovr", "ovo"):
        ours = classic.KernelSVM(kernel="linear", decision_function_shape=shape).fit(X3, [0, 1, 2])
        theirs = sk_svm.SVC(kernel="linear", decision_function_shape=shape).fit(X3, [0, 1, 2])
        assert ours.predict(T3).tolist() == theirs.predict(T3).tolist() == [2, 1, 2]
        np.testing.assert_allclose(ours.decision_function(T3), theirs.decision_function(T3),
                                   atol=1e-12)
