"""LogisticRegression and SoftmaxRegression against scikit-learn's LogisticRegression."""
import numpy as np
import pytest

from nerve import classic

lm = pytest.importorskip("sklearn.linear_model")


def _data(k=2, n=150, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    X = rng.normal(size=(n, 4)) + np.eye(4)[y % 4] * 1.2
    return X, y


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("C", [0.05, 1.0, 20.0])
def test_logistic_regression_equals_sklearn(k, C):
    X, y = _data(k)
    ours = classic.LogisticRegression(C=C).fit(X, y)
    ref = lm.LogisticRegression(C=C, tol=1e-12, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    ref_b = ref.intercept_ - (ref.intercept_.mean() if k > 2 else 0)   # same centring
    np.testing.assert_allclose(ours.intercept_, ref_b, atol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-7)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    assert ours.score(X, y) == ref.score(X, y)


def test_string_labels_and_decision_sign():
    X, y = _data(2)
    labels = np.array(["cat", "dog"])[y]
    m = classic.LogisticRegression().fit(X, labels)
    assert list(m.classes_) == ["cat", "dog"]
    d = m.decision_function(X)
    assert d.shape == (len(X),)
    np.testing.assert_array_equal(m.predict(X), np.where(d > 0, "dog", "cat"))


def test_softmax_regression_matches_multinomial_sklearn_and_binary_identity():
    X, y = _data(3, seed=1)
    s = classic.SoftmaxRegression(C=2.0).fit(X, y)
    ref = lm.LogisticRegression(C=2.0, tol=1e-12, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(s.predict_proba(X), ref.predict_proba(X), atol=1e-7)
    # Two classes: W1 = -W0 and W1 - W0 is binary logistic regression at C' = 2C.
    Xb, yb = _data(2, seed=2)
    s2 = classic.SoftmaxRegression(C=0.7).fit(Xb, yb)
    lr = classic.LogisticRegression(C=1.4).fit(Xb, yb)
    assert s2.coef_.shape == (2, 4)
    np.testing.assert_allclose(s2.coef_[1] - s2.coef_[0], lr.coef_[0], atol=1e-7)
    np.testing.assert_allclose(s2.coef_[1], -s2.coef_[0], atol=1e-9)
    np.testing.assert_allclose(s2.predict_proba(Xb), lr.predict_proba(Xb), atol=1e-8)
    np.testing.assert_allclose(s2.decision_function(Xb), lr.decision_function(Xb), atol=1e-7)


def test_separable_data_still_converges_with_large_C():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    m = classic.LogisticRegression(C=1e4).fit(X, [0, 0, 1, 1])
    ref = lm.LogisticRegression(C=1e4, tol=1e-12, max_iter=100000).fit(X, [0, 0, 1, 1])
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-4)
