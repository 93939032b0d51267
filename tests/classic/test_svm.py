"""Rows 37, 62 and 94: LinearSVM's margin against SVC's, KernelSVM (SMO) against SVC."""
import numpy as np
import pytest

from nerve import classic

svm = pytest.importorskip("sklearn.svm")


def _blobs(n=100, std=0.8, seed=3, centers=2):
    from sklearn.datasets import make_blobs

    return make_blobs(n, centers=centers, random_state=seed, cluster_std=std)


def _sign(y, positive):
    return np.where(y == positive, 1.0, -1.0)


def test_hard_margin_margin_and_support_vectors():
    """Row 37: separable blobs, C = 1e6: margin_ within 1 % of SVC's 1/‖w‖, support vectors on
    y·f(x) = 1 ± 1e-3, 100 % accuracy."""
    X, y = _blobs()
    ours = classic.LinearSVM(C=1e6).fit(X, y)
    ref = svm.SVC(kernel="linear", C=1e6, tol=1e-8).fit(X, y)
    ref_margin = 1 / np.linalg.norm(ref.coef_)
    assert abs(ours.margin_ / ref_margin - 1) < 0.01
    assert ours.margin_ == pytest.approx(1 / np.linalg.norm(ours.coef_))
    for sv in (ours.support_, ref.support_):
        f = ours.decision_function(X[sv]) * _sign(y[sv], 1)
        np.testing.assert_allclose(f, 1.0, atol=1e-3)
    assert set(ours.support_) == set(ref.support_)
    assert ours.score(X, y) == 1.0
    s = _sign(y, 1)
    assert np.all(s * ours.decision_function(X) >= 1 - 1e-3)      # nothing inside the street
    print(f"margin_ {ours.margin_:.6f} vs SVC {ref_margin:.6f}; full width 2/|w| = {2 * ours.margin_:.6f}")


@pytest.mark.parametrize("C", [0.01, 0.1, 1.0])
def test_soft_margin_agrees_with_svc_at_matched_C(C):
    """Row 62: 100 % accuracy, margin within 2 % of SVC(kernel='linear') at the same C, and the
    sign of the decision function agrees with SVC's on a test set 100 % of the time."""
    X, y = _blobs(200, std=1.0, seed=8)
    Xtr, ytr, Xte = X[:120], y[:120], X[120:]
    ours = classic.LinearSVM(C=C).fit(Xtr, ytr)
    ref = svm.SVC(kernel="linear", C=C, tol=1e-8).fit(Xtr, ytr)
    assert ours.score(Xtr, ytr) == 1.0
    assert abs(ours.margin_ / (1 / np.linalg.norm(ref.coef_)) - 1) < 0.02
    np.testing.assert_array_equal(np.sign(ours.decision_function(Xte)),
                                  np.sign(ref.decision_function(Xte)))
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-3 * max(1, np.abs(ref.coef_).max()))


def test_primal_solver_hinge_and_autograd_agree_with_svc():
    """solver='primal': F.hinge_loss + L2 through backward() and Adam, same answer at moderate C."""
    X, y = _blobs()
    ours = classic.LinearSVM(C=1.0, solver="primal", max_iter=6000, random_state=0).fit(X, y)
    ref = svm.SVC(kernel="linear", C=1.0, tol=1e-8).fit(X, y)
    assert abs(ours.margin_ / (1 / np.linalg.norm(ref.coef_)) - 1) < 0.02
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    sq = classic.LinearSVM(C=1.0, solver="primal", loss="squared_hinge", random_state=0).fit(X, y)
    assert sq.score(X, y) == 1.0


def test_multiclass_one_vs_rest_and_no_intercept():
    X, y = _blobs(150, std=0.7, seed=1, centers=3)
    m = classic.LinearSVM(C=1.0).fit(X, y)
    assert m.coef_.shape == (3, 2) and m.margin_.shape == (3,)
    assert m.score(X, y) > 0.95
    Xc = X - X.mean(0)
    yb = (y == 0).astype(int)
    a = classic.LinearSVM(C=0.5, fit_intercept=False).fit(Xc, yb)
    ref = svm.LinearSVC(C=0.5, fit_intercept=False, loss="hinge", dual=True, tol=1e-10,
                        max_iter=100000).fit(Xc, yb)
    np.testing.assert_allclose(a.coef_, ref.coef_, atol=1e-3)
    assert a.intercept_[0] == 0.0


def test_hinge_loss_equals_sklearns_and_its_subgradient():
    """Row 94: F.hinge_loss equals metrics.hinge_loss; the subgradient is 0 where y·s > 1 and
    −y (over N) elsewhere, the kink included."""
    import nerve as nv
    from sklearn.metrics import hinge_loss

    rng = np.random.default_rng(0)
    s = rng.normal(size=50) * 2
    y = rng.choice([-1.0, 1.0], size=50)
    s[:3] = y[:3]                                   # exactly on the kink y·s = 1
    st = nv.tensor(s, requires_grad=True)
    loss = nv.functional.hinge_loss(st, nv.tensor(y))
    assert abs(loss.item() - hinge_loss(y, s)) < 1e-12
    loss.backward()
    expected = np.where(y * s > 1, 0.0, -y) / 50
    np.testing.assert_array_equal(st.grad.numpy(), expected)
    with pytest.raises(ValueError, match="targets must be -1 or \\+1, got 0"):
        nv.functional.hinge_loss(st, nv.tensor(np.zeros(50)))


@pytest.mark.parametrize("kernel,kw", [("rbf", {}), ("rbf", {"gamma": 0.5}), ("linear", {}),
                                       ("poly", {"degree": 3, "coef0": 1.0}), ("poly", {"degree": 2})])
def test_kernel_svm_decisions_and_support_vectors_equal_svc(kernel, kw):
    from sklearn.datasets import make_moons

    X, y = make_moons(160, noise=0.25, random_state=0)
    Xte = np.random.default_rng(1).uniform(-1.5, 2.5, size=(300, 2))
    ours = classic.KernelSVM(C=1.0, kernel=kernel, tol=1e-6, **kw).fit(X, y)
    ref = svm.SVC(C=1.0, kernel=kernel, tol=1e-6, **kw).fit(X, y)
    np.testing.assert_allclose(ours.decision_function(Xte), ref.decision_function(Xte), atol=2e-4)
    np.testing.assert_array_equal(np.sign(ours.decision_function(Xte)),
                                  np.sign(ref.decision_function(Xte)))
    np.testing.assert_array_equal(ours.support_, ref.support_)
    np.testing.assert_array_equal(ours.n_support_, ref.n_support_)
    np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, atol=2e-4)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=2e-4)


def test_kernel_svm_multiclass_one_vs_one_like_svc():
    X, y = _blobs(150, std=2.0, seed=1, centers=4)
    ours = classic.KernelSVM(C=1.0, tol=1e-6).fit(X, y)
    ref = svm.SVC(C=1.0, tol=1e-6).fit(X, y)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-3)
    ovo = classic.KernelSVM(C=1.0, tol=1e-6, decision_function_shape="ovo").fit(X, y)
    ref_ovo = svm.SVC(C=1.0, tol=1e-6, decision_function_shape="ovo").fit(X, y)
    np.testing.assert_allclose(ovo.decision_function(X), ref_ovo.decision_function(X), atol=1e-3)
    np.testing.assert_array_equal(ours.support_, ref.support_)


def test_kernel_svm_separates_xor_and_kernel_matrix_formulas():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    m = classic.KernelSVM(C=10.0, gamma=2.0).fit(X, [0, 0, 1, 1])
    assert m.score(X, [0, 0, 1, 1]) == 1.0
    from sklearn.metrics.pairwise import polynomial_kernel, rbf_kernel

    A, B = np.random.default_rng(0).normal(size=(2, 5, 3))
    np.testing.assert_allclose(classic.kernel_matrix(A, B, "rbf", 0.3), rbf_kernel(A, B, gamma=0.3))
    np.testing.assert_allclose(classic.kernel_matrix(A, B, "poly", 0.3, 3, 1.0),
                               polynomial_kernel(A, B, degree=3, gamma=0.3, coef0=1.0))
