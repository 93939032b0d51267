"""Logistic and softmax regression: linear classifiers fitted by Newton's method.

Objective (scikit-learn's, with C the inverse penalty and the intercepts unpenalised):

* binary ``LogisticRegression``: C·Σ_i log(1 + exp(−s_i·(x_i·w + b))) + ½‖w‖², s_i ∈ {−1, +1};
* multinomial (``LogisticRegression`` with ≥ 3 classes, ``SoftmaxRegression`` always):
  C·Σ_i −log softmax(x_i·Wᵀ + b)_{y_i} + ½‖W‖²_F, W of shape (K, p).

Newton's method on this smooth, strictly convex objective converges quadratically, so
``coef_`` matches scikit-learn's to the solvers' tolerance; each step solves H·d = −g with the
exact Hessian (K(p+1) unknowns) and a backtracking line search keeps it monotone.
"""
from __future__ import annotations

import numpy as np

from .base import (BaseEstimator, ClassifierMixin, ConvergenceWarning, LinearClassifierMixin,
                   _check_flags, _check_tol, _warn, check_sample_weight)

__all__ = ["LogisticRegression", "SoftmaxRegression"]


def _log_softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


def _newton(fun_grad_hess, theta, max_iter, tol):
    """Damped Newton; stops when the gradient's max-norm is below tol. Returns (theta, n_iter)."""
    f, g, H = fun_grad_hess(theta)
    for it in range(1, max_iter + 1):
        if np.max(np.abs(g)) <= tol:
            return theta, it - 1, True
        try:
            d = -np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            d = -np.linalg.lstsq(H, g, rcond=None)[0]
        step, slope = 1.0, float(g @ d)
        while True:
            new = theta + step * d
            f_new, g_new, H_new = fun_grad_hess(new)
            if f_new <= f + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        theta, f, g, H = new, f_new, g_new, H_new
    return theta, max_iter, np.max(np.abs(g)) <= tol


class _LinearClassifier(LinearClassifierMixin, ClassifierMixin, BaseEstimator):

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))


class _NewtonFit:
    """Shared multinomial / binary Newton fit on encoded labels."""

    def _check_common(self):
        if not (isinstance(self.C, (int, float, np.number)) and self.C > 0):
            raise ValueError(f"{type(self).__name__}: C must be a positive number (the inverse "
                             f"regularisation strength), got {self.C!r}")
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise ValueError(f"{type(self).__name__}: max_iter must be a positive integer, got "
                             f"{self.max_iter!r}")
        _check_tol(self)
        _check_flags(self, "fit_intercept")

    def _fit_binary(self, X, t, sw):
        """t ∈ {0, 1}, sw (n,) sample weights. Returns w (p,), b."""
        n, p = X.shape
        C, fi = float(self.C), self.fit_intercept
        Xa = np.hstack([X, np.ones((n, 1))]) if fi else X
        pen = np.ones(Xa.shape[1])
        if fi:
            pen[-1] = 0.0
        s = 2.0 * t - 1.0

        def fgh(th):
            z = Xa @ th
            m = s * z
            loss = (sw * np.logaddexp(0, -m)).sum()
            f = C * loss + 0.5 * (pen * th * th).sum()
            q = 0.5 * (1 + np.tanh(0.5 * z))                 # σ(z), stable
            g = C * Xa.T @ (sw * (q - t)) + pen * th
            H = C * (Xa.T * (sw * q * (1 - q))) @ Xa + np.diag(pen)
            if fi:
                H[-1, -1] += 1e-12 * C                          # keep H invertible on separable data
            return f, g, H

        th, self.n_iter_, ok = _newton(fgh, np.zeros(Xa.shape[1]), int(self.max_iter), self._gtol())
        self._report(ok)
        return (th[:-1], th[-1]) if fi else (th, 0.0)

    def _fit_multinomial(self, X, idx, K, sw):
        n, p = X.shape
        C, fi = float(self.C), self.fit_intercept
        Xa = np.hstack([X, np.ones((n, 1))]) if fi else X
        q = Xa.shape[1]
        Y = np.zeros((n, K))
        Y[np.arange(n), idx] = 1.0
        pen = np.ones((K, q))
        if fi:
            pen[:, -1] = 0.0
        pen = pen.ravel()

        def fgh(th):
            W = th.reshape(K, q)
            logP = _log_softmax(Xa @ W.T)                      # (n, K)
            P = np.exp(logP)
            f = -C * (sw[:, None] * logP * Y).sum() + 0.5 * (pen * th * th).sum()
            g = (C * ((P - Y) * sw[:, None]).T @ Xa).ravel() + pen * th
            # H[(k,a),(l,b)] = C·Σ_i (δ_kl p_ik − p_ik p_il) x_ia x_ib + penalty: with
            # A[i, k, a] = p_ik x_ia the off-diagonal part is one matrix product, −C·AᵀA.
            # (sample weights: row i of A counts w_i times, so A is scaled by √w_i.)
            A = (P[:, :, None] * Xa[:, None, :]).reshape(n, K * q)
            Aw = A * np.sqrt(sw)[:, None]
            H = -C * (Aw.T @ Aw)
            for k in range(K):
                blk = slice(k * q, (k + 1) * q)
                H[blk, blk] += C * ((A[:, blk] * sw[:, None]).T @ Xa)
            H += np.diag(pen)
            # NOTE: softmax is unchanged by adding one constant to every intercept, so H is
            # singular along that direction; a tiny ridge there picks the centred solution.
            H += 1e-10 * C * np.eye(K * q)
            return f, g, H

        th, self.n_iter_, ok = _newton(fgh, np.zeros(K * q), int(self.max_iter), self._gtol())
        self._report(ok)
        W = th.reshape(K, q)
        if fi:
            b = W[:, -1] - W[:, -1].mean()
            return W[:, :-1].copy(), b
        return W, np.zeros(K)

    def _gtol(self):
        # NOTE: the data term is C·Σ loss, so with C < 1 the whole gradient shrinks with C and an
        # absolute tol would stop Newton at once (at C = 1e-12 the unpenalised intercept stayed 0
        # instead of the log class ratio). Below C = 1 the test is on the gradient divided by C,
        # the gradient of Σ loss + ‖w‖²/(2C).
        return float(self.tol) * min(float(self.C), 1.0)

    def _report(self, ok):
        if not ok:
            _warn(f"{type(self).__name__}: Newton's method did not reach tol={self.tol} in "
                          f"{self.max_iter} iterations; raise max_iter or scale the features.", ConvergenceWarning, stacklevel=4)


class LogisticRegression(_NewtonFit, _LinearClassifier):
    """Logistic regression with an L2 penalty, scikit-learn's objective and defaults.

    Two classes: p(classes_[1] | x) = σ(x·w + b), ``coef_`` of shape (1, p). K ≥ 3 classes: the
    multinomial (softmax) model, ``coef_`` (K, p), intercepts centred to sum 0.

    Args:
        C: inverse penalty strength (> 0); the loss is summed, so larger data weighs more.
        fit_intercept: learn the (unpenalised) intercept.
        max_iter: Newton iterations.
        tol: stop when max|∇| ≤ tol·min(C, 1) (for C < 1, the gradient of the objective
            divided by C, so a small C still fits the unpenalised intercept fully).
        class_weight: None, a dict {label: weight} (labels not named weigh 1) or
            ``'balanced'`` (Σw / (K·the class's Σw), w the sample weights, 1 by default);
            multiplies each sample's loss, on top of ``sample_weight``, as scikit-learn's.

    Example:
        >>> import numpy as np
        >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([0, 0, 1, 1])
        >>> LogisticRegression().fit(X, y).predict([[-3.0], [3.0]]).tolist()
        [0, 1]
    """

    def __init__(self, C=1.0, *, fit_intercept=True, max_iter=100, tol=1e-8, class_weight=None):
        self.C = C
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None):
        """Fit; ``sample_weight`` (n,) multiplies each sample's loss (C·Σ w_i·loss_i)."""
        X, y = self._validate_fit(X, y)
        self._check_common()
        sw = check_sample_weight(sample_weight, len(X), self)
        idx = self._encode_classes(y)
        K = len(self.classes_)
        sw = sw * self._class_weights(idx, sw)[idx]
        if K == 2:
            w, b = self._fit_binary(X, idx.astype(np.float64), sw)
            self.coef_, self.intercept_ = w[None, :], np.array([b])
        else:
            self.coef_, self.intercept_ = self._fit_multinomial(X, idx, K, sw)
        return self

    def _class_weights(self, idx, sw):
        """(K,) weight per class from ``class_weight`` ('balanced' counts with sample weights)."""
        K = len(self.classes_)
        cw = self.class_weight
        if cw is None:
            return np.ones(K)
        if isinstance(cw, str) and cw == "balanced":
            counts = np.bincount(idx, weights=sw, minlength=K)
            if not (counts > 0).all():
                empty = self.classes_[counts <= 0].tolist()
                raise ValueError(f"LogisticRegression: class_weight='balanced' cannot weigh the "
                                 f"class(es) {empty}: their samples all have sample_weight 0 "
                                 "(the balanced weight would be infinite); drop those rows or "
                                 "give the classes explicit weights")
            return counts.sum() / (K * counts)
        if not isinstance(cw, dict):
            raise ValueError(f"LogisticRegression: class_weight must be None, 'balanced' or a dict "
                             f"{{label: weight}}, got {cw!r}")
        out = np.ones(K)
        labels = self.classes_.tolist()
        for label, weight in cw.items():
            if label not in labels:
                raise ValueError(f"LogisticRegression: class_weight names the label {label!r}, "
                                 f"which is not in the training labels {labels!r}")
            out[labels.index(label)] = float(weight)
        return out

    def predict_proba(self, X):
        """(n, K) class probabilities, columns in the order of ``classes_``."""
        S = self.decision_function(X)
        if S.ndim == 1:
            p1 = 0.5 * (1 + np.tanh(0.5 * S))
            return np.column_stack([1 - p1, p1])
        return np.exp(_log_softmax(S))


class SoftmaxRegression(_NewtonFit, _LinearClassifier):
    """Multinomial logistic regression with one weight row per class, even for two classes.

    p(k | x) = softmax(x·Wᵀ + b)_k, W of shape (K, p), minimising
    C·Σ_i −log p(y_i | x_i) + ½‖W‖²_F. For two classes the penalty splits the logit difference
    evenly (W₁ = −W₀), so ``coef_[1] − coef_[0]`` equals ``LogisticRegression(C=2C).coef_``.
    This is the linear baseline (a "linear probe") for features or raw pixels.

    Example:
        >>> import numpy as np
        >>> X = np.array([[0.0, 0], [0, 1], [1, 0], [4, 4], [4, 5], [5, 4], [0, 8], [1, 8], [0, 9]])
        >>> y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
        >>> SoftmaxRegression(C=10.0).fit(X, y).score(X, y)
        1.0
    """

    def __init__(self, C=1.0, *, fit_intercept=True, max_iter=100, tol=1e-8):
        self.C = C
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X, y, sample_weight=None):
        """Fit; ``sample_weight`` (n,) multiplies each sample's loss (C·Σ w_i·loss_i)."""
        X, y = self._validate_fit(X, y)
        self._check_common()
        sw = check_sample_weight(sample_weight, len(X), self)
        idx = self._encode_classes(y)
        self.coef_, self.intercept_ = self._fit_multinomial(X, idx, len(self.classes_), sw)
        return self

    def _logits(self, X):
        X = self._validate_X(X)
        return X @ self.coef_.T + self.intercept_                 # (n, K)

    def decision_function(self, X):
        """(n, K) logits; for two classes the logit difference s₁ − s₀, shape (n,), as
        scikit-learn expects of a binary classifier."""
        S = self._logits(X)
        return S[:, 1] - S[:, 0] if S.shape[1] == 2 else S

    def predict_proba(self, X):
        """(n, K) softmax probabilities, columns in the order of ``classes_``."""
        return np.exp(_log_softmax(self._logits(X)))
