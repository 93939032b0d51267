"""scikit-learn's estimator checks on every nerve.classic estimator, plus the contract details
the checks do not pin down (clone, Pipeline, GridSearchCV, cross_val_score, error messages,
and that the package never imports scikit-learn itself)."""
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from nerve import classic  # noqa: E402

# Estimators as the checks see them: iteration counts cut so the suite stays fast (the checks'
# data sets are small and need no more).
ESTIMATORS = [
    classic.Ridge(), classic.Ridge(solver="sgd", max_iter=2000, tol=1e-12),
    classic.Lasso(alpha=0.1), classic.ElasticNet(alpha=0.1, l1_ratio=0.3),
    classic.LogisticRegression(), classic.SoftmaxRegression(),
    classic.Perceptron(max_iter=30, random_state=0),
    classic.LinearSVM(max_iter=300), classic.LinearSVM(solver="primal", max_iter=200),
    classic.KernelSVM(),
    # degree 2 fails check_classifiers_train for SVC too; max_iter caps check_fit_idempotent's
    # X ~ N(100, 1), where the cubic kernel reaches 1e12 and SVC itself needs 1.5e6 SMO steps.
    classic.KernelSVM(kernel="poly", max_iter=20000),
    classic.DictionaryLearning(n_components=3, max_iter=10, random_state=0),
    classic.MatrixFactorization(max_iter=5),
    # float64: batch invariance (check_methods_subset_invariance) asks for bit-identical rows,
    # which float32 matrix products of different batch sizes do not give.
    classic.NeuralNetClassifier(epochs=10, random_state=0, dtype="float64"),
    classic.NeuralNetRegressor(epochs=10, random_state=0, dtype="float64"),
]

# MatrixFactorization's X is (user id, item id) pairs of non-negative integers; these checks
# feed it arbitrary float features (any width, negative values), which it rightly refuses.
# Its parameter, clone, repr, tag and error-handling checks still run and pass.
_MF_DATA_CHECKS = [
    "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_readonly_memmap_input",
    "check_n_features_in_after_fitting", "check_positive_only_tag_during_fit",
    "check_estimators_dtypes", "check_dtype_object", "check_pipeline_consistency",
    "check_estimators_nan_inf", "check_estimators_pickle", "check_f_contiguous_array_estimator",
    "check_regressors_train", "check_regressor_data_not_an_array",
    "check_regressors_no_decision_function", "check_supervised_y_2d", "check_regressors_int",
    "check_non_transformer_estimators_n_iter", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature",
    "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
    "check_n_features_in", "check_fit2d_predict1d",
]
# The network wrappers route skorch-style ``module__*`` arguments through **kwargs; the check
# builds the estimator with a parameter literally named 'kwargs', which set_params refuses as
# unknown (scikit-learn's own behaviour for unknown names).
_NN_KWARGS = {"check_do_not_raise_errors_in_init_or_set_params":
              "**kwargs routing of module__/optimizer__/criterion__ arguments: the check passes a "
              "parameter named 'kwargs'"}


def expected_failures(est):
    if isinstance(est, classic.MatrixFactorization):
        return {c: "X must be (user id, item id) integer pairs; the check feeds arbitrary float "
                   "features" for c in _MF_DATA_CHECKS}
    if isinstance(est, (classic.NeuralNetClassifier, classic.NeuralNetRegressor)):
        return _NN_KWARGS
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures, xfail_strict=True)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", classic.ConvergenceWarning)
        check(estimator)


def test_every_exported_estimator_is_checked():
    checked = {type(e) for e in ESTIMATORS}
    exported = {getattr(classic, n) for n in classic.__all__}
    estimators = {c for c in exported if isinstance(c, type) and issubclass(c, classic.BaseEstimator)
                  and c is not classic.BaseEstimator}
    # SparseCoder needs a dictionary whose width matches X, which the checks' data cannot know.
    assert estimators - checked == {classic.SparseCoder}


# ----------------------------------------------------------------------- composition
def _blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], n // 3)
    X = rng.normal(size=(n, 4)) + np.eye(4)[y] * 3.0
    return X, y


@pytest.mark.parametrize("est", [classic.LogisticRegression(C=0.5), classic.LinearSVM(C=0.1),
                                 classic.KernelSVM(C=2.0), classic.Perceptron(random_state=0),
                                 classic.SoftmaxRegression()], ids=lambda e: type(e).__name__)
def test_clone_pipeline_grid_search_cross_val(est):
    X, y = _blobs()
    fitted = clone(est).fit(X, y)
    fresh = clone(fitted)
    assert fresh.get_params() == est.get_params()
    assert not any(k.endswith("_") for k in vars(fresh))          # untrained copy
    pipe = make_pipeline(StandardScaler(), est)
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.9
    name = type(est).__name__.lower()
    grid = {"C": [0.1, 1.0]} if "C" in est.get_params() else {"eta0": [0.5, 1.0]}
    gs = GridSearchCV(pipe, {f"{name}__{k}": v for k, v in grid.items()}, cv=3).fit(X, y)
    assert gs.best_score_ > 0.9


def test_regressors_in_grid_search_and_pipeline():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 5))
    y = X @ np.array([1.0, -2.0, 0.0, 0.0, 0.5]) + 0.1 * rng.normal(size=90)
    for est, grid in [(classic.Ridge(), {"alpha": [0.1, 10.0]}),
                      (classic.ElasticNet(), {"alpha": [0.01, 0.1], "l1_ratio": [0.2, 0.8]}),
                      (classic.Lasso(0.1), {"alpha": [0.01, 1.0]})]:
        gs = GridSearchCV(est, grid, cv=3).fit(X, y)
        assert gs.best_score_ > 0.9
        assert cross_val_score(make_pipeline(StandardScaler(), clone(est)), X, y, cv=3).mean() > 0.5


# ------------------------------------------------------------------------- messages
def test_bad_input_messages():
    X, y = _blobs(30)
    est = classic.LogisticRegression()
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.fit(np.where(np.eye(30, 4) > 0, np.nan, X), y)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array.*reshape"):
        est.fit(X[:, 0], y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples: X has 30 rows but y has 29"):
        est.fit(X, y[:-1])
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        est.fit(X, y + 0.5)
    with pytest.raises(ValueError, match="only 1 class"):
        est.fit(X, np.zeros(30))
    with pytest.raises(classic.NotFittedError, match="not fitted yet. Call 'fit'"):
        classic.LogisticRegression().predict(X)
    est.fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but LogisticRegression is expecting 4"):
        est.predict(X[:, :3])
    with pytest.raises(TypeError, match="sparse input"):
        est.predict(type("Sparse", (), {"toarray": 0, "format": "csr", "nnz": 1})())
    # Labels never seen in fit cannot be predicted: they only lower the score.
    assert set(est.predict(X)) <= set(est.classes_)
    assert est.score(X, np.full(30, 7)) == 0.0
    with pytest.raises(ValueError, match=r"Invalid parameter 'c' for estimator LogisticRegression"):
        est.set_params(c=1.0)
    with pytest.raises(ValueError, match="C must be a positive number"):
        classic.LogisticRegression(C=-1).fit(X, y)


def test_not_fitted_error_is_sklearns_too_once_sklearn_is_loaded():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        classic.Ridge().predict(np.ones((2, 2)))


def test_the_package_never_imports_sklearn():
    code = (
        "import sys, numpy as np\n"
        "from nerve import classic\n"
        "rng = np.random.default_rng(0); X = rng.normal(size=(40, 3)); y = (X[:, 0] > 0).astype(int)\n"
        "for e in [classic.Ridge(), classic.Lasso(0.01), classic.LogisticRegression(), classic.KernelSVM(),\n"
        "          classic.LinearSVM(), classic.Perceptron(), classic.SoftmaxRegression(),\n"
        "          classic.NeuralNetClassifier(epochs=2)]:\n"
        "    e.fit(X, y).predict(X); e.get_params(); repr(e)\n"
        "classic.SparseCoder(np.eye(3)).transform(X)\n"
        "try:\n"
        "    classic.Ridge().predict(X)\n"
        "except classic.NotFittedError:\n"
        "    pass\n"
        "assert not any(m == 'sklearn' or m.startswith('sklearn.') for m in sys.modules), 'sklearn imported'\n"
        "print('ok')\n")
    import os

    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
