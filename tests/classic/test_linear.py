"""Ridge, Lasso and ElasticNet against scikit-learn (row 52 and row 88)."""
import numpy as np
import pytest

from nerve import classic

lm = pytest.importorskip("sklearn.linear_model")


def _data(n=80, p=6, seed=0, k=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 2, p) + rng.normal(size=p)
    w = np.zeros((p, k))
    w[:3] = rng.normal(size=(3, k)) * 2
    y = X @ w + 0.3 * rng.normal(size=(n, k)) + 1.5
    return X, (y[:, 0] if k == 1 else y)


@pytest.mark.parametrize("alpha", [0.0, 0.1, 1.0, 30.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_closed_form_equals_sklearn_to_1e8(alpha, fit_intercept):
    X, y = _data()
    ours = classic.Ridge(alpha, fit_intercept=fit_intercept).fit(X, y)
    ref = lm.Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=0, atol=1e-8)


def test_ridge_wide_data_and_multi_target_equal_sklearn():
    X, y = _data(n=15, p=40, k=3)                      # p > n: the dual (kernel) form
    ours = classic.Ridge(2.0).fit(X, y)
    ref = lm.Ridge(alpha=2.0).fit(X, y)
    assert ours.coef_.shape == ref.coef_.shape == (3, 40)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-8)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-8)


@pytest.mark.parametrize("alpha", [0.5, 5.0])
def test_ridge_by_sgd_reaches_the_closed_form_to_1e4(alpha):
    X, y = _data()
    ref = lm.Ridge(alpha=alpha).fit(X, y)
    sgd = classic.Ridge(alpha, solver="sgd", max_iter=3000, tol=1e-9).fit(X, y)
    np.testing.assert_allclose(sgd.coef_, ref.coef_, atol=1e-4)
    np.testing.assert_allclose(sgd.intercept_, ref.intercept_, atol=1e-4)
    # mini-batches (a true stochastic gradient) land near it too
    mb = classic.Ridge(alpha, solver="sgd", batch_size=16, max_iter=200, learning_rate=0.002,
                       random_state=0).fit(X, y)
    np.testing.assert_allclose(mb.coef_, ref.coef_, atol=0.05)


def test_ridge_norm_shrinks_monotonically_with_alpha():
    X, y = _data()
    norms = [np.linalg.norm(classic.Ridge(a).fit(X, y).coef_) for a in np.logspace(-3, 4, 30)]
    assert np.all(np.diff(norms) < 0)


@pytest.mark.parametrize("alpha,l1_ratio", [(0.01, 0.5), (0.1, 0.2), (0.3, 0.9), (1.0, 0.5),
                                            (0.05, 1.0), (0.2, 0.0)])
def test_elastic_net_coefficients_equal_sklearn(alpha, l1_ratio):
    X, y = _data(seed=1)
    ours = classic.ElasticNet(alpha, l1_ratio=l1_ratio, tol=1e-10, max_iter=10000).fit(X, y)
    ref = lm.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=0, atol=1e-4)
    # at both defaults (tol=1e-4 on the duality gap) neither is converged past ~1e-3
    d = classic.ElasticNet(alpha, l1_ratio=l1_ratio).fit(X, y).coef_
    np.testing.assert_allclose(d, lm.ElasticNet(alpha=alpha, l1_ratio=l1_ratio).fit(X, y).coef_,
                               atol=1e-3)


def test_l1_ratio_one_is_the_lasso_and_irrelevant_features_get_exact_zeros():
    X, y = _data(n=120, p=10, seed=2)
    enet = classic.ElasticNet(0.1, l1_ratio=1.0, tol=1e-10).fit(X, y)
    lasso = classic.Lasso(0.1, tol=1e-10).fit(X, y)
    np.testing.assert_array_equal(enet.coef_, lasso.coef_)
    ref = lm.Lasso(alpha=0.1, tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(lasso.coef_, ref.coef_, atol=1e-4)
    # features 3..9 carry no signal: exactly 0.0, not merely small
    assert np.all(lasso.coef_[3:] == 0.0)
    assert np.all(lasso.coef_[:3] != 0.0)
    assert np.array_equal(lasso.coef_ == 0, ref.coef_ == 0)


def test_elastic_net_random_selection_and_no_intercept_agree():
    X, y = _data(seed=3)
    a = classic.ElasticNet(0.1, selection="random", random_state=0, tol=1e-10,
                           fit_intercept=False).fit(X, y)
    ref = lm.ElasticNet(alpha=0.1, fit_intercept=False, tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(a.coef_, ref.coef_, atol=1e-4)
    assert a.intercept_ == 0.0


def test_convergence_warning_and_bad_parameters():
    X, y = _data()
    with pytest.warns(classic.ConvergenceWarning, match="did not converge in 1 sweeps"):
        classic.Lasso(1e-4, max_iter=1, tol=1e-12).fit(X, y)
    with pytest.raises(ValueError, match="l1_ratio must be in"):
        classic.ElasticNet(l1_ratio=1.5).fit(X, y)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        classic.Ridge(-1.0).fit(X, y)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        classic.Ridge().fit(X, np.where(np.arange(len(y)) == 3, np.nan, y))
