"""nerve.classic against scikit-learn on the same data, one row per estimator.

For each pair: the score (accuracy for classifiers, R² for regressors, held-out RMSE for the
ratings, reconstruction R² for the sparse codes), the largest coefficient difference where both
expose comparable coefficients, the agreement of predictions, and the fit time (best of 3).

    python examples/classic_vs_sklearn.py            # prints a Markdown table

Needs scikit-learn (the comparison side only; nerve.classic does not import it).
"""
from __future__ import annotations

import time

import numpy as np
from sklearn import decomposition, linear_model, svm
from sklearn.datasets import load_digits, make_blobs, make_moons, make_regression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from nerve import classic


def timed(make, X, y=None, repeat=3):
    best, est = np.inf, None
    for _ in range(repeat):
        est = make()
        t = time.perf_counter()
        est.fit(X) if y is None else est.fit(X, y)
        best = min(best, time.perf_counter() - t)
    return est, best


def coef_dist(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def main():
    rows = []
    # --- data sets
    Xr, yr = make_regression(400, 20, n_informative=8, noise=5.0, random_state=0)
    Xr = StandardScaler().fit_transform(Xr)
    Xr_tr, Xr_te, yr_tr, yr_te = train_test_split(Xr, yr, random_state=0)
    digits = load_digits()
    Xd = StandardScaler().fit_transform(digits.data)
    Xd_tr, Xd_te, yd_tr, yd_te = train_test_split(Xd, digits.target, random_state=0)
    Xm, ym = make_moons(400, noise=0.25, random_state=0)
    Xm_tr, Xm_te, ym_tr, ym_te = train_test_split(Xm, ym, random_state=0)
    Xb, yb = make_blobs(200, centers=2, cluster_std=0.8, random_state=3)
    Xb_tr, Xb_te, yb_tr, yb_te = train_test_split(Xb, yb, random_state=0)

    def reg_row(name, data, ours, ref, coefs=True):
        Xtr, Xte, ytr, yte = data
        a, ta = timed(ours, Xtr, ytr)
        b, tb = timed(ref, Xtr, ytr)
        rows.append((name, "R² (test)", a.score(Xte, yte), b.score(Xte, yte),
                     coef_dist(a.coef_, b.coef_) if coefs else None,
                     f"max abs Δŷ {coef_dist(a.predict(Xte), b.predict(Xte)):.1e}", ta, tb))

    def clf_row(name, data, ours, ref, coefs=True, note=None):
        Xtr, Xte, ytr, yte = data
        a, ta = timed(ours, Xtr, ytr)
        b, tb = timed(ref, Xtr, ytr)
        agree = float(np.mean(a.predict(Xte) == b.predict(Xte)))
        rows.append((name, "accuracy (test)", a.score(Xte, yte), b.score(Xte, yte),
                     coef_dist(a.coef_, b.coef_) if coefs else None,
                     note or f"same prediction {agree:.1%}", ta, tb))

    R = (Xr_tr, Xr_te, yr_tr, yr_te)
    reg_row("Ridge(alpha=1) closed form", R, lambda: classic.Ridge(1.0),
            lambda: linear_model.Ridge(alpha=1.0))
    reg_row("Ridge(alpha=1) by SGD", R, lambda: classic.Ridge(1.0, solver="sgd", tol=1e-9),
            lambda: linear_model.Ridge(alpha=1.0))
    reg_row("Lasso(alpha=0.5)", R, lambda: classic.Lasso(0.5, tol=1e-8),
            lambda: linear_model.Lasso(alpha=0.5, tol=1e-8))
    reg_row("ElasticNet(alpha=0.5, l1_ratio=0.5)", R,
            lambda: classic.ElasticNet(0.5, l1_ratio=0.5, tol=1e-8),
            lambda: linear_model.ElasticNet(alpha=0.5, l1_ratio=0.5, tol=1e-8))

    D = (Xd_tr, Xd_te, yd_tr, yd_te)
    clf_row("LogisticRegression(C=0.1), digits", D, lambda: classic.LogisticRegression(C=0.1),
            lambda: linear_model.LogisticRegression(C=0.1, tol=1e-8, max_iter=5000))
    clf_row("SoftmaxRegression(C=0.1), digits", D, lambda: classic.SoftmaxRegression(C=0.1),
            lambda: linear_model.LogisticRegression(C=0.1, tol=1e-8, max_iter=5000))
    clf_row("Perceptron, digits", D, lambda: classic.Perceptron(max_iter=50, random_state=0),
            lambda: linear_model.Perceptron(max_iter=50, tol=None, random_state=0), coefs=False)
    B = (Xb_tr, Xb_te, yb_tr, yb_te)
    a, _ = timed(lambda: classic.LinearSVM(C=1e6), Xb_tr, yb_tr, 1)
    b, _ = timed(lambda: svm.SVC(kernel="linear", C=1e6), Xb_tr, yb_tr, 1)
    clf_row("LinearSVM(C=1e6), separable blobs", B, lambda: classic.LinearSVM(C=1e6),
            lambda: svm.SVC(kernel="linear", C=1e6),
            note=f"margin_ {a.margin_:.4f} vs {1 / np.linalg.norm(b.coef_):.4f}")
    clf_row("LinearSVM(C=1) primal (Adam + hinge)", B,
            lambda: classic.LinearSVM(C=1.0, solver="primal", max_iter=6000, random_state=0),
            lambda: svm.SVC(kernel="linear", C=1.0))
    M = (Xm_tr, Xm_te, ym_tr, ym_te)
    for kernel in ("rbf", "poly"):
        a, _ = timed(lambda: classic.KernelSVM(C=1.0, kernel=kernel), Xm_tr, ym_tr, 1)
        b, _ = timed(lambda: svm.SVC(C=1.0, kernel=kernel), Xm_tr, ym_tr, 1)
        dd = coef_dist(a.decision_function(Xm_te), b.decision_function(Xm_te))
        clf_row(f"KernelSVM({kernel}), moons", M, lambda: classic.KernelSVM(C=1.0, kernel=kernel),
                lambda: svm.SVC(C=1.0, kernel=kernel), coefs=False,
                note=f"same SVs {np.array_equal(a.support_, b.support_)}, max abs Δf {dd:.1e}")
    clf_row("KernelSVM(rbf), digits (10 classes, OvO)", D, lambda: classic.KernelSVM(),
            lambda: svm.SVC(), coefs=False)
    clf_row("NeuralNetClassifier(MLP 64) vs MLPClassifier", D,
            lambda: classic.NeuralNetClassifier(module__hidden=64, epochs=30, lr=0.01, random_state=0),
            lambda: MLPClassifier((64,), max_iter=30, learning_rate_init=0.01, random_state=0),
            coefs=False)

    # sparse codes: reconstruction R² of 3-sparse signals over a 64-atom dictionary
    rng = np.random.default_rng(0)
    Dict = rng.normal(size=(64, 32))
    Dict /= np.linalg.norm(Dict, axis=1, keepdims=True)
    codes = np.zeros((300, 64))
    for i in range(300):
        idx = rng.choice(64, 3, replace=False)
        codes[i, idx] = rng.uniform(1, 2, 3) * rng.choice([-1, 1], 3)
    S = codes @ Dict + 0.01 * rng.normal(size=(300, 32))
    t = time.perf_counter()
    ca = classic.SparseCoder(Dict, alpha=0.05).transform(S)
    ta = time.perf_counter() - t
    t = time.perf_counter()
    cb = decomposition.SparseCoder(Dict, transform_algorithm="lasso_cd", transform_alpha=0.05).transform(S)
    tb = time.perf_counter() - t

    def r2(C):
        return 1 - ((S - C @ Dict) ** 2).sum() / ((S - S.mean(0)) ** 2).sum()

    top = lambda C: [set(r) for r in np.argsort(-np.abs(C), 1)[:, :3]]  # noqa: E731
    truth = [set(np.flatnonzero(c)) for c in codes]
    rec = np.mean([a == b for a, b in zip(top(ca), truth)])
    rows.append(("SparseCoder(alpha=0.05), FISTA vs lasso_cd", "reconstruction R²", r2(ca), r2(cb),
                 coef_dist(ca, cb), f"support recovered {rec:.1%}", ta, tb))

    # ratings: held-out RMSE (no scikit-learn counterpart: the global-mean baseline instead)
    X, y, _ = classic.make_ratings(200, 150, random_state=0)
    perm = np.random.default_rng(1).permutation(len(y))
    te, tr = perm[: len(y) // 5], perm[len(y) // 5:]
    mf, tm = timed(lambda: classic.MatrixFactorization(3, tol=1e-4, random_state=0), X[tr], y[tr], 1)
    rmse = float(np.sqrt(np.mean((mf.predict(X[te]) - y[te]) ** 2)))
    base = float(np.sqrt(np.mean((y[te] - y[tr].mean()) ** 2)))
    rows.append(("MatrixFactorization(k=3), ALS, rank-3 ratings", "RMSE (held out)", rmse, base,
                 None, "right column: global-mean baseline", tm, None))

    print("| estimator | metric | nerve | scikit-learn | max coef diff | agreement | nerve fit (s) | sklearn fit (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, metric, a, b, d, note, ta, tb in rows:
        dd = "—" if d is None else f"{d:.1e}"
        tbs = "—" if tb is None else f"{tb:.4f}"
        print(f"| {name} | {metric} | {a:.4f} | {b:.4f} | {dd} | {note} | {ta:.4f} | {tbs} |")


if __name__ == "__main__":
    main()
