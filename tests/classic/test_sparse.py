"""Row 59: sparse coding (ISTA/FISTA) against scikit-learn's Lasso, support recovery, dictionary
learning."""
import numpy as np
import pytest

from nerve import classic


def _dictionary(k=64, p=32, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.normal(size=(k, p))
    return D / np.linalg.norm(D, axis=1, keepdims=True)


def _signals(D, n, s=3, seed=1, noise=0.0):
    rng = np.random.default_rng(seed)
    codes = np.zeros((n, len(D)))
    for i in range(n):
        idx = rng.choice(len(D), s, replace=False)
        codes[i, idx] = rng.uniform(1, 2, s) * rng.choice([-1, 1], s)
    return codes @ D + noise * rng.normal(size=(n, D.shape[1])), codes


@pytest.mark.parametrize("algorithm", ["fista", "ista"])
def test_codes_equal_sklearn_lasso_with_matched_alpha(algorithm):
    lm = pytest.importorskip("sklearn.linear_model")
    D = _dictionary()
    X, _ = _signals(D, 5, noise=0.05)
    alpha = 0.1
    coder = classic.SparseCoder(D, alpha=alpha, algorithm=algorithm, tol=1e-12, max_iter=20000)
    C = coder.transform(X)
    for x, c in zip(X, C):
        # sklearn's lasso objective is (1/p)·ours: alpha / n_features matches the scaling
        ref = lm.Lasso(alpha=alpha / D.shape[1], fit_intercept=False, tol=1e-12,
                       max_iter=100000).fit(D.T, x).coef_
        np.testing.assert_allclose(c, ref, atol=1e-4)


def test_sparse_coder_equals_sklearn_sparse_coder():
    dec = pytest.importorskip("sklearn.decomposition")
    D = _dictionary()
    X, _ = _signals(D, 4, noise=0.05, seed=5)
    ours = classic.SparseCoder(D, alpha=0.2, tol=1e-12, max_iter=20000).transform(X)
    ref = dec.SparseCoder(D, transform_algorithm="lasso_cd", transform_alpha=0.2,
                          transform_max_iter=100000).transform(X)
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_support_recovery_of_3_sparse_signals_over_64_atoms_in_32d():
    """Overcomplete dictionary, 64 unit-norm atoms in 32-D, signals of 3 atoms: the 3 largest
    code entries are the true atoms in >= 95 % of 300 trials."""
    D = _dictionary()
    X, codes = _signals(D, 300, seed=2)
    C = classic.SparseCoder(D, alpha=0.05).transform(X)
    top = np.argsort(-np.abs(C), axis=1)[:, :3]
    hits = [set(t) == set(np.flatnonzero(c)) for t, c in zip(top, codes)]
    exact = [set(np.flatnonzero(a)) == set(np.flatnonzero(c)) for a, c in zip(C, codes)]
    rate = float(np.mean(hits))
    print(f"top-3 support recovered in {rate:.1%} of trials; exact non-zero support {np.mean(exact):.1%}")
    assert rate >= 0.95


def test_fista_needs_fewer_iterations_than_ista():
    D = _dictionary()
    X, _ = _signals(D, 20, seed=3)
    f = classic.SparseCoder(D, alpha=0.05, tol=1e-8)
    i = classic.SparseCoder(D, alpha=0.05, algorithm="ista", tol=1e-8, max_iter=20000)
    np.testing.assert_allclose(f.transform(X), i.transform(X), atol=1e-5)
    assert f.n_iter_ < i.n_iter_


def test_dictionary_learning_recovers_the_generating_atoms():
    D = _dictionary(20, 16, seed=4)
    X, _ = _signals(D, 300, seed=6, noise=0.01)
    dl = classic.DictionaryLearning(20, alpha=0.1, max_iter=150, random_state=0).fit(X)
    cos = np.abs(dl.components_ @ D.T)
    assert (cos.max(axis=0) > 0.99).mean() >= 0.9
    assert np.all(np.diff(dl.error_) <= 1e-9 * dl.error_[0])         # the objective never rises
    assert np.all(np.linalg.norm(dl.components_, axis=1) <= 1 + 1e-12)
    codes = dl.transform(X)
    assert codes.shape == (300, 20) and (codes != 0).mean() < 0.3
    print(f"atoms recovered (|cos| > 0.99): {(cos.max(axis=0) > 0.99).mean():.0%}")


def test_sparse_coder_rejects_mismatched_widths():
    with pytest.raises(ValueError, match="X has 5 features, but SparseCoder's dictionary has shape"):
        classic.SparseCoder(np.eye(4)).transform(np.ones((2, 5)))
