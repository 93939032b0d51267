"""Row 46: Rosenblatt's perceptron: Novikoff's bound on separable data, never converging on XOR,
100 % training accuracy like scikit-learn's Perceptron."""
import numpy as np
import pytest

from nerve import classic


def _separable(n=300, p=5, gamma=0.3, seed=0):
    """Points x with |u·x̃| ≥ gamma for a unit u over x̃ = (x, 1): a known margin."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=p + 1)
    u /= np.linalg.norm(u)
    X = rng.uniform(-1, 1, size=(4 * n, p))
    m = np.hstack([X, np.ones((len(X), 1))]) @ u
    keep = np.abs(m) >= gamma
    X, m = X[keep][:n], m[keep][:n]
    return X, (m > 0).astype(int), u


@pytest.mark.parametrize("seed", range(5))
def test_novikoff_bound_on_separable_data(seed):
    X, y, u = _separable(seed=seed)
    Xa = np.hstack([X, np.ones((len(X), 1))])
    s = 2 * y - 1
    gamma = np.min(s * (Xa @ u))                  # the margin of the known unit separator
    R = np.max(np.linalg.norm(Xa, axis=1))
    bound = (R / gamma) ** 2
    p = classic.Perceptron(max_iter=10000, random_state=seed).fit(X, y)
    assert p.converged_ and p.errors_[-1] == 0
    assert p.score(X, y) == 1.0
    assert 0 < p.n_updates_ <= bound
    print(f"seed {seed}: {p.n_updates_} updates <= (R/gamma)^2 = {bound:.0f}")


def test_weights_follow_rosenblatts_rule_exactly():
    """Replay the rule by hand (in order, eta0 = 0.5): w ← w + eta0·s·x on every mistake."""
    X, y, _ = _separable(n=60, p=3, seed=8)
    p = classic.Perceptron(eta0=0.5, shuffle=False).fit(X, y)
    s = 2 * y - 1
    w, b, updates = np.zeros(3), 0.0, 0
    for _ in range(1000):
        mistakes = 0
        for xi, si in zip(X, s):
            if si * (xi @ w + b) <= 0:
                w, b, mistakes = w + 0.5 * si * xi, b + 0.5 * si, mistakes + 1
        updates += mistakes
        if mistakes == 0:
            break
    np.testing.assert_array_equal(p.coef_[0], w)
    assert p.intercept_[0] == b and p.n_updates_ == updates == sum(p.errors_)


def test_xor_never_reaches_zero_errors():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    with pytest.warns(classic.ConvergenceWarning, match="not be linearly separable"):
        p = classic.Perceptron(max_iter=500, random_state=0).fit(X, y)
    assert not p.converged_
    assert min(p.errors_) >= 1 and len(p.errors_) == 500
    assert p.score(X, y) < 1.0


def test_matches_sklearn_perceptron_on_a_separable_set():
    lm = pytest.importorskip("sklearn.linear_model")
    X, y, _ = _separable(n=200, p=4, seed=11)
    ours = classic.Perceptron(max_iter=1000, random_state=0).fit(X, y)
    ref = lm.Perceptron(max_iter=1000, tol=None, random_state=0).fit(X, y)
    assert ours.score(X, y) == ref.score(X, y) == 1.0
    # multi-class one-vs-rest on well-separated blobs: both perfect
    rng = np.random.default_rng(0)
    yk = np.repeat(np.arange(3), 40)
    Xk = rng.normal(size=(120, 2)) * 0.3 + np.array([[0, 0], [4, 0], [0, 4]])[yk]
    assert classic.Perceptron(random_state=0).fit(Xk, yk).score(Xk, yk) == 1.0
    assert lm.Perceptron(random_state=0).fit(Xk, yk).score(Xk, yk) == 1.0
