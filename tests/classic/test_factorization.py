"""Row 81: matrix factorisation on a synthetic rank-3 ratings matrix."""
import numpy as np
import pytest

from nerve import classic


def _split(seed=0):
    X, y, R = classic.make_ratings(200, 150, rank=3, density=0.2, noise=0.1, random_state=seed)
    perm = np.random.default_rng(1).permutation(len(y))
    te, tr = perm[: len(y) // 5], perm[len(y) // 5:]
    return X[tr], y[tr], X[te], y[te]


def _rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


@pytest.mark.parametrize("solver,kw", [("als", {"tol": 1e-4}),
                                       ("adam", {"max_iter": 600, "learning_rate": 0.05})])
def test_held_out_rmse_on_rank_3_ratings(solver, kw):
    Xtr, ytr, Xte, yte = _split()
    mf = classic.MatrixFactorization(3, alpha=0.3, solver=solver, random_state=0, **kw).fit(Xtr, ytr)
    rmse = _rmse(mf.predict(Xte), yte)
    baseline = _rmse(np.full(len(yte), ytr.mean()), yte)
    print(f"{solver}: held-out RMSE {rmse:.4f}, global-mean baseline {baseline:.4f}")
    assert rmse <= 0.15
    assert rmse < baseline / 5


def test_als_and_adam_minimise_the_same_objective():
    Xtr, ytr, Xte, _ = _split(2)
    a = classic.MatrixFactorization(3, alpha=0.3, tol=1e-9, max_iter=300, random_state=0).fit(Xtr, ytr)
    b = classic.MatrixFactorization(3, alpha=0.3, solver="adam", max_iter=1500, random_state=0).fit(Xtr, ytr)
    assert _rmse(a.predict(Xte), b.predict(Xte)) < 0.01


def test_unseen_users_and_items_fall_back_to_biases():
    Xtr, ytr, _, _ = _split()
    mf = classic.MatrixFactorization(3, tol=1e-3, random_state=0).fit(Xtr, ytr)
    n_users = len(mf.user_bias_)
    p = mf.predict(np.array([[n_users + 5, 0], [0, 10_000], [n_users + 1, 10_000]]))
    assert p[0] == pytest.approx(mf.global_mean_ + mf.item_bias_[0])
    assert p[1] == pytest.approx(mf.global_mean_ + mf.user_bias_[0])
    assert p[2] == pytest.approx(mf.global_mean_)
    with pytest.raises(ValueError, match="2 columns"):
        mf.fit(np.ones((5, 3)), np.ones(5))
    with pytest.raises(ValueError, match="non-negative integers"):
        mf.fit(np.array([[0.5, 1.0], [1.0, 2.0]]), np.ones(2))


def test_module_has_embeddings_and_biases():
    mod = classic.factorization.MatrixFactorizationModule(10, 7, 3, mean=2.0)
    n = sum(p.numel() for p in mod.parameters())
    assert n == 3 * (10 + 7) + 10 + 7
    out = mod(np.array([0, 9]), np.array([6, 0]))
    assert out.shape == (2,)
