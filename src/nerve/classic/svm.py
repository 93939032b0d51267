"""Support vector machines: a linear SVM trained by nerve's autograd, a kernel SVM by SMO.

Both solve the soft-margin problem of Cortes & Vapnik (1995), labels s_i ∈ {−1, +1}:

    minimise  ½‖w‖² + C·Σ_i max(0, 1 − s_i·f(x_i)),      f(x) = w·x + b.

**Margin.** The decision boundary is f = 0 and the two margin hyperplanes are f = ±1; the
distance from the boundary to either is 1/‖w‖, which ``LinearSVM.margin_`` reports. Some texts
call the full width of the street between f = −1 and f = +1, 2/‖w‖, "the margin"; nerve uses
the half-width 1/‖w‖ (the geometric margin of the closest points when the data are separable).

``LinearSVM`` minimises the primal above with nerve's own machinery: ``F.hinge_loss`` (or its
square), ``loss.backward()``, and ``optim.Adam`` on full batches with a learning rate that
decays geometrically, so the iterates settle onto the kinks of the hinge.

``KernelSVM`` solves the dual,

    minimise ½ αᵀQα − Σα   subject to 0 ≤ α_i ≤ C, Σ_i s_i α_i = 0,   Q_ij = s_i s_j k(x_i, x_j),

by sequential minimal optimisation (Platt 1998) with the second-order working-set choice of
Fan, Chen & Lin (2005), libsvm's, and libsvm's rule for the bias; f(x) = Σ_i α_i s_i k(x_i, x) + b.
The support vectors are the x_i with α_i > 0. More than two classes: one-vs-one, as SVC.
"""
from __future__ import annotations

import warnings

import numpy as np

from .base import BaseEstimator, ClassifierMixin, ConvergenceWarning, check_random_state

__all__ = ["LinearSVM", "KernelSVM", "kernel_matrix"]


# --------------------------------------------------------------------------- linear SVM
class LinearSVM(ClassifierMixin, BaseEstimator):
    """Linear soft-margin SVM, trained with nerve autograd and ``optim.Adam``.

    Minimises ½‖w‖² + C·Σ_i ℓ(s_i·(w·x_i + b)) with ℓ(m) = max(0, 1 − m) (``loss='hinge'``) or
    max(0, 1 − m)² (``'squared_hinge'``); for training, the objective is divided by C·n (same
    minimiser, better scaled for Adam). Matches scikit-learn's ``SVC(kernel='linear', C)`` for the
    hinge loss (not ``LinearSVC``, which also penalises b). K ≥ 3 classes: one-vs-rest.

    Args:
        C: weight of the data term (> 0); C → ∞ is the hard margin.
        loss: ``'hinge'`` or ``'squared_hinge'``.
        fit_intercept: learn b (unpenalised).
        max_iter: full-batch Adam steps.
        learning_rate: the initial step; it decays geometrically to ``learning_rate·final_lr_ratio``.
        final_lr_ratio: how far the step decays by the last iteration.
        random_state: seeds the initial weights (small random values).

    Attributes:
        coef_ (1, p) or (K, p); intercept_ (1,) or (K,); margin_ = 1/‖w‖ (a float for two
        classes, one per class otherwise); support_: indices with s_i·f(x_i) ≤ 1 + 1e-3 (binary);
        n_iter_.

    Example:
        >>> import numpy as np
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
        >>> svm = LinearSVM(C=1e3, random_state=0).fit(X, [0, 0, 1, 1])
        >>> round(svm.margin_, 2)   # the classes are 3 apart: half-width 1.5
        1.5
    """

    def __init__(self, C=1.0, *, loss="hinge", fit_intercept=True, max_iter=3000, learning_rate=0.1,
                 final_lr_ratio=1e-4, random_state=None):
        self.C = C
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.final_lr_ratio = final_lr_ratio
        self.random_state = random_state

    def fit(self, X, y):
        X, y = self._validate_fit(X, y)
        if not self.C > 0:
            raise ValueError(f"LinearSVM: C must be > 0, got {self.C!r}")
        if self.loss not in ("hinge", "squared_hinge"):
            raise ValueError(f"LinearSVM: loss must be 'hinge' or 'squared_hinge', got {self.loss!r}")
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise ValueError(f"LinearSVM: max_iter must be a positive integer, got {self.max_iter!r}")
        idx = self._encode_classes(y)
        K = len(self.classes_)
        rng = check_random_state(self.random_state)
        units = [1] if K == 2 else range(K)
        W, B = [], []
        for k in units:
            s = np.where(idx == k, 1.0, -1.0)
            w, b = self._train_unit(X, s, rng)
            W.append(w)
            B.append(b)
        self.coef_, self.intercept_ = np.array(W), np.array(B)
        norms = np.linalg.norm(self.coef_, axis=1)
        with np.errstate(divide="ignore"):
            m = 1.0 / norms
        self.margin_ = float(m[0]) if K == 2 else m
        if K == 2:
            s = np.where(idx == 1, 1.0, -1.0)
            self.support_ = np.flatnonzero(s * (X @ self.coef_[0] + self.intercept_[0]) <= 1 + 1e-3)
        self.n_iter_ = int(self.max_iter)
        return self

    def _train_unit(self, X, s, rng):
        from .. import functional as F  # noqa: PLC0415
        from .. import optim  # noqa: PLC0415
        from ..autograd import Tensor  # noqa: PLC0415
        from ..nn import Parameter  # noqa: PLC0415

        n, p = X.shape
        w = Parameter(rng.normal(scale=1e-3, size=p))
        b = Parameter(np.zeros(1), requires_grad=bool(self.fit_intercept))
        params = [w, b] if self.fit_intercept else [w]
        opt = optim.Adam(params, lr=float(self.learning_rate))
        xt, st = Tensor(X), Tensor(s)
        scale = 1.0 / (float(self.C) * n)                 # (½‖w‖² + C·Σℓ)/(C·n)
        loss_fn = F.hinge_loss if self.loss == "hinge" else F.squared_hinge_loss
        steps = int(self.max_iter)
        decay = float(self.final_lr_ratio) ** (1.0 / max(steps - 1, 1))
        for _ in range(steps):
            f = xt @ w + b
            obj = (w * w).sum() * (0.5 * scale) + loss_fn(f, st, reduction="sum") * (1.0 / n)
            opt.zero_grad()
            obj.backward()
            opt.step()
            for g in opt.param_groups:
                g["lr"] *= decay
        return w.numpy().copy(), float(b.numpy()[0])

    def decision_function(self, X):
        """w·x + b: (n,) for two classes (positive means classes_[1]), else (n, K)."""
        X = self._validate_X(X)
        S = X @ self.coef_.T + self.intercept_
        return S[:, 0] if S.shape[1] == 1 else S

    def predict(self, X):
        S = self.decision_function(X)
        idx = (S > 0).astype(int) if S.ndim == 1 else S.argmax(axis=1)
        return self.classes_[idx]


# --------------------------------------------------------------------------- kernels
def kernel_matrix(A, B, kernel="rbf", gamma=1.0, degree=3, coef0=0.0):
    """The Gram matrix k(a_i, b_j), shape (len(A), len(B)).

    ``'linear'``: a·b; ``'rbf'``: exp(−gamma·‖a − b‖²); ``'poly'``: (gamma·a·b + coef0)^degree.
    """
    if kernel == "linear":
        return A @ B.T
    if kernel == "rbf":
        d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * (A @ B.T)
        return np.exp(-gamma * np.maximum(d2, 0.0))
    if kernel == "poly":
        return (gamma * (A @ B.T) + coef0) ** degree
    raise ValueError(f"kernel must be 'linear', 'rbf' or 'poly', got {kernel!r}")


def _smo(Kmat, s, C, tol, max_iter):
    """libsvm's SMO on one binary problem. Returns (alpha, b, n_iter, converged)."""
    n = len(s)
    alpha = np.zeros(n)
    G = -np.ones(n)                                   # ∇ of ½αᵀQα − Σα at α = 0
    diag = np.diag(Kmat).copy()
    tau = 1e-12
    pos = s > 0
    for it in range(1, max_iter + 1):
        # I_up: α can move so that s·α grows; I_low: so that it shrinks.
        up = (pos & (alpha < C)) | (~pos & (alpha > 0))
        low = (pos & (alpha > 0)) | (~pos & (alpha < C))
        v = -s * G                                    # −s_t·G_t
        v_up = np.where(up, v, -np.inf)
        i = int(np.argmax(v_up))
        gmax = v_up[i]
        v_low = np.where(low, v, np.inf)
        gmin = v_low.min()
        if gmax - gmin < tol:
            return alpha, _bias(alpha, G, s, C), it - 1, True
        # Second-order choice of j among I_low with v_t < gmax: the largest decrease b²/a.
        bdiff = gmax - v                              # > 0 where eligible
        a = diag[i] + diag - 2 * Kmat[i]
        a = np.where(a > 0, a, tau)
        gain = np.where(low & (v < gmax), -(bdiff * bdiff) / a, np.inf)
        j = int(np.argmin(gain))
        t = bdiff[j] / a[j]
        # Box limits for α_i += s_i·t and α_j −= s_j·t.
        t = min(t, C - alpha[i] if s[i] > 0 else alpha[i])
        t = min(t, alpha[j] if s[j] > 0 else C - alpha[j])
        alpha[i] += s[i] * t
        alpha[j] -= s[j] * t
        G += s * t * (Kmat[:, i] - Kmat[:, j])
    return alpha, _bias(alpha, G, s, C), max_iter, False


def _bias(alpha, G, s, C):
    """b = −ρ with libsvm's ρ: the mean of s_i·G_i over free α_i, else the middle of the
    feasible interval."""
    yG = s * G
    free = (alpha > 0) & (alpha < C)
    if free.any():
        rho = yG[free].mean()
    else:
        at_upper = alpha >= C
        ub_mask = (at_upper & (s < 0)) | (~at_upper & (s > 0))
        lb_mask = (at_upper & (s > 0)) | (~at_upper & (s < 0))
        ub = yG[ub_mask].min() if ub_mask.any() else np.inf
        lb = yG[lb_mask].max() if lb_mask.any() else -np.inf
        rho = 0.5 * (ub + lb)
    return -float(rho)


class KernelSVM(ClassifierMixin, BaseEstimator):
    """Kernel SVM trained by SMO (libsvm's algorithm), the counterpart of scikit-learn's SVC.

    f(x) = Σ_i α_i s_i k(x_i, x) + b, the sum over the support vectors (α_i > 0).

    Args:
        C: box constraint (> 0).
        kernel: ``'rbf'`` (default), ``'linear'`` or ``'poly'`` (see :func:`kernel_matrix`).
        gamma: kernel coefficient; ``'scale'`` = 1/(p·Var(X)) (default), ``'auto'`` = 1/p, or a
            number.
        degree, coef0: of the polynomial kernel.
        tol: stop when the maximal KKT violation m(α) − M(α) is below tol (libsvm's eps).
        max_iter: SMO steps per binary problem; −1 means no limit.
        decision_function_shape: ``'ovr'`` (votes plus scaled confidences, shape (n, K)) or
            ``'ovo'`` (one column per class pair) for K ≥ 3 classes, as SVC.

    Attributes:
        support_ (indices, grouped by class), support_vectors_, n_support_ (per class);
        for two classes dual_coef_ (1, n_SV) and intercept_ (1,) with
        decision_function(X) = k(X, support_vectors_)·dual_coef_ᵀ + intercept_.

    Example:
        >>> import numpy as np
        >>> X = np.array([[0.0, 0], [1, 1], [0, 1], [1, 0]]); y = [0, 0, 1, 1]   # XOR
        >>> KernelSVM(C=10.0, gamma=2.0).fit(X, y).score(X, y)
        1.0
    """

    def __init__(self, C=1.0, *, kernel="rbf", gamma="scale", degree=3, coef0=0.0, tol=1e-3,
                 max_iter=-1, decision_function_shape="ovr"):
        self.C = C
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.tol = tol
        self.max_iter = max_iter
        self.decision_function_shape = decision_function_shape

    def _kernel(self, A, B):
        return kernel_matrix(A, B, self.kernel, self._gamma, self.degree, self.coef0)

    def fit(self, X, y):
        X, y = self._validate_fit(X, y)
        if not self.C > 0:
            raise ValueError(f"KernelSVM: C must be > 0, got {self.C!r}")
        if self.kernel not in ("linear", "rbf", "poly"):
            raise ValueError(f"KernelSVM: kernel must be 'linear', 'rbf' or 'poly', got {self.kernel!r}")
        if self.decision_function_shape not in ("ovr", "ovo"):
            raise ValueError("KernelSVM: decision_function_shape must be 'ovr' or 'ovo', got "
                             f"{self.decision_function_shape!r}")
        idx = self._encode_classes(y)
        p = X.shape[1]
        if isinstance(self.gamma, str):
            if self.gamma == "scale":
                var = X.var()
                self._gamma = 1.0 / (p * var) if var > 0 else 1.0
            elif self.gamma == "auto":
                self._gamma = 1.0 / p
            else:
                raise ValueError(f"KernelSVM: gamma must be 'scale', 'auto' or a positive number, got "
                                 f"{self.gamma!r}")
        else:
            if not self.gamma > 0:
                raise ValueError(f"KernelSVM: gamma must be > 0, got {self.gamma!r}")
            self._gamma = float(self.gamma)
        Kfull = self._kernel(X, X)
        K = len(self.classes_)
        max_iter = np.iinfo(np.int64).max if self.max_iter in (-1, None) else int(self.max_iter)
        self._pairs = []
        used = np.zeros(len(X), dtype=bool)
        converged = True
        for a in range(K):
            for c in range(a + 1, K):
                rows = np.flatnonzero((idx == a) | (idx == c))
                # binary convention of scikit-learn: the second class is positive
                s = np.where(idx[rows] == c, 1.0, -1.0)
                alpha, b, n_it, ok = _smo(Kfull[np.ix_(rows, rows)], s, float(self.C),
                                          float(self.tol), max_iter)
                converged &= ok
                sv = alpha > 0
                self._pairs.append((a, c, rows[sv], alpha[sv] * s[sv], b))
                used[rows[sv]] = True
        if not converged:
            warnings.warn(f"KernelSVM: SMO stopped at max_iter={self.max_iter} before the KKT "
                          f"conditions held to tol={self.tol}.", ConvergenceWarning, stacklevel=2)
        order = np.lexsort((np.arange(len(X)), idx))          # by class, then by index
        self.support_ = order[used[order]]
        self.support_vectors_ = X[self.support_]
        self.n_support_ = np.bincount(idx[self.support_], minlength=K).astype(np.int32)
        self.shape_fit_ = X.shape
        if K == 2:
            a, c, sv_rows, coef, b = self._pairs[0]
            pos = {r: k for k, r in enumerate(self.support_)}
            dual = np.zeros((1, len(self.support_)))
            dual[0, [pos[r] for r in sv_rows]] = coef
            self.dual_coef_, self.intercept_ = dual, np.array([b])
        self._X_fit = X
        return self

    def _pair_scores(self, X):
        """(n, K(K−1)/2) decision values of the class pairs; positive favours the later class."""
        X = self._validate_X(X)
        out = np.empty((len(X), len(self._pairs)))
        for k, (_, _, sv_rows, coef, b) in enumerate(self._pairs):
            out[:, k] = self._kernel(X, self._X_fit[sv_rows]) @ coef + b if len(sv_rows) else b
        return out

    def decision_function(self, X):
        """(n,) for two classes (positive means classes_[1]); for K ≥ 3, (n, K) votes plus
        confidences (``'ovr'``) or (n, K(K−1)/2) pair values (``'ovo'``, positive favouring the
        first class of each pair, as SVC)."""
        D = self._pair_scores(X)
        K = len(self.classes_)
        if K == 2:
            return D[:, 0]
        if self.decision_function_shape == "ovo":
            return -D
        votes, conf = self._votes(D)
        # Confidences squashed into (−1/3, 1/3) so they only break ties between vote counts.
        return votes + conf / (3 * (np.abs(conf) + 1))

    def _votes(self, D):
        K = len(self.classes_)
        votes = np.zeros((len(D), K))
        conf = np.zeros((len(D), K))
        for k, (a, c, *_) in enumerate(self._pairs):
            votes[:, c] += D[:, k] > 0
            votes[:, a] += D[:, k] <= 0
            conf[:, c] += D[:, k]
            conf[:, a] -= D[:, k]
        return votes, conf

    def predict(self, X):
        D = self._pair_scores(X)
        if len(self.classes_) == 2:
            return self.classes_[(D[:, 0] > 0).astype(int)]
        votes, _ = self._votes(D)
        return self.classes_[votes.argmax(axis=1)]            # ties: the smallest class index
