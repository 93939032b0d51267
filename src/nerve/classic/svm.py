"""Support vector machines: a linear SVM trained by nerve's autograd, a kernel SVM by SMO.

Both solve the soft-margin problem of Cortes & Vapnik (1995), labels s_i ∈ {−1, +1}:

    minimise  ½‖w‖² + C·Σ_i max(0, 1 − s_i·f(x_i)),      f(x) = w·x + b.

**Margin.** The decision boundary is f = 0 and the two margin hyperplanes are f = ±1; the
distance from the boundary to either is 1/‖w‖, which ``LinearSVM.margin_`` reports. Some texts
call the full width of the street between f = −1 and f = +1, 2/‖w‖, "the margin"; nerve uses
the half-width 1/‖w‖ (the geometric margin of the closest points when the data are separable).

``LinearSVM`` is trained with nerve's own machinery: ``backward()`` and ``optim`` on the Lagrange
dual of that objective (projected FISTA, exact at any C), or ``F.hinge_loss`` + ``optim.Adam`` on
the primal itself.

``KernelSVM`` solves the dual,

    minimise ½ αᵀQα − Σα   subject to 0 ≤ α_i ≤ C, Σ_i s_i α_i = 0,   Q_ij = s_i s_j k(x_i, x_j),

by sequential minimal optimisation (Platt 1998) with the second-order working-set choice of
Fan, Chen & Lin (2005), libsvm's, and libsvm's rule for the bias; f(x) = Σ_i α_i s_i k(x_i, x) + b.
The support vectors are the x_i with α_i > 0. More than two classes: one-vs-one, as SVC.
"""
from __future__ import annotations

import numpy as np

from .base import (BaseEstimator, ClassifierMixin, ConvergenceWarning, LinearClassifierMixin,
                   _check_flags, _check_tol, _is_real, _warn, check_random_state)

__all__ = ["LinearSVM", "KernelSVM", "kernel_matrix"]


# --------------------------------------------------------------------------- linear SVM
def _project_box_hyperplane(z, s, C):
    """The Euclidean projection of z onto {a : 0 ≤ a ≤ C, sᵀa = 0}, s ∈ {−1, +1}ⁿ.

    The projection is clip(z − ν·s, 0, C) for the ν that makes g(ν) = sᵀclip(z − ν·s, 0, C)
    vanish. g is piecewise linear and non-increasing, each term sloping by −1 between its two
    breakpoints, so sorting the 2n breakpoints and one cumulative sum locate the root exactly.
    """
    n = len(z)
    lower = np.where(s > 0, z - C, -z)              # where term i starts to fall
    bp = np.concatenate([lower, lower + C])
    change = np.concatenate([-np.ones(n), np.ones(n)])
    order = np.argsort(bp, kind="stable")
    bp, change = bp[order], change[order]
    slope = np.cumsum(change)                       # slope of g just right of each breakpoint
    g = C * np.count_nonzero(s > 0) + np.concatenate([[0.0], np.cumsum(slope[:-1] * np.diff(bp))])
    k = int(np.searchsorted(-g, 0.0))               # first breakpoint with g ≤ 0
    if k == 0:
        nu = bp[0]
    elif k >= len(bp):
        nu = bp[-1]
    else:
        nu = bp[k - 1] + g[k - 1] / (g[k - 1] - g[k]) * (bp[k] - bp[k - 1])
    return np.clip(z - nu * s, 0.0, C)


class LinearSVM(LinearClassifierMixin, ClassifierMixin, BaseEstimator):
    """Linear soft-margin SVM trained through nerve's autograd and optimizers.

    The problem is scikit-learn's ``SVC(kernel='linear', C)`` (not ``LinearSVC``, which also
    penalises b): minimise ½‖w‖² + C·Σ_i max(0, 1 − s_i·(w·x_i + b)). Two solvers:

    * ``solver='dual'`` (default, accurate at any C, the hard margin C = 1e6 included): maximise
      the Lagrange dual D(α) = Σα − ½‖Σ_i α_i s_i x_i‖² over 0 ≤ α ≤ C, Σ α_i s_i = 0. The
      gradient of D comes from ``backward()``, ``optim.SGD`` with step 1/L (L = ‖X‖₂²) takes the
      step at a Nesterov-extrapolated point (FISTA), and an exact projection puts α back in the
      feasible set. Then w = Σ α_i s_i x_i and b follows libsvm's rule. Stops when the largest
      KKT violation is below ``tol`` (libsvm's criterion).
    * ``solver='primal'``: minimise (½‖w‖² + C·Σ ℓ)/(C·n) with ``F.hinge_loss`` (or
      ``F.squared_hinge_loss`` with ``loss='squared_hinge'``) and ``optim.Adam`` on full batches,
      the step decaying geometrically to ``learning_rate·final_lr_ratio``. Good at moderate C;
      at very large C the penalty's pull is 1/C of the hinge's and Adam barely moves ‖w‖.

    K ≥ 3 classes: one-vs-rest.

    Args:
        C: weight of the data term (> 0); C → ∞ is the hard margin.
        loss: ``'hinge'`` or (primal only) ``'squared_hinge'``.
        solver: ``'dual'`` or ``'primal'``.
        fit_intercept: learn b (unpenalised; the dual's equality constraint).
        max_iter: optimizer steps per binary problem.
        tol: KKT tolerance of the dual solver.
        learning_rate, final_lr_ratio: Adam's schedule for the primal solver.
        random_state: seeds the primal's initial weights.

    Attributes:
        coef_ (1, p) or (K, p); intercept_ (1,) or (K,); margin_ = 1/‖w‖ (a float for two
        classes, one per class otherwise); for two classes support_ (indices with α_i > 0 for
        the dual, s_i·f(x_i) ≤ 1 + 1e-3 for the primal) and, for the dual, dual_coef_ (α_i·s_i
        of the support vectors); n_iter_.

    Example:
        >>> import numpy as np
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
        >>> svm = LinearSVM(C=1e6).fit(X, [0, 0, 1, 1])
        >>> round(svm.margin_, 4)   # the classes are 3 apart: half-width 1.5 (full width 2/‖w‖ = 3)
        1.5
    """

    def __init__(self, C=1.0, *, loss="hinge", solver="dual", fit_intercept=True, max_iter=20000,
                 tol=1e-4, learning_rate=0.1, final_lr_ratio=1e-4, random_state=None):
        self.C = C
        self.loss = loss
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.final_lr_ratio = final_lr_ratio
        self.random_state = random_state

    def fit(self, X, y):
        X, y = self._validate_fit(X, y)
        if not (_is_real(self.C) and self.C > 0):
            raise ValueError(f"LinearSVM: C must be > 0, got {self.C!r}")
        if self.solver not in ("dual", "primal"):
            raise ValueError(f"LinearSVM: solver must be 'dual' or 'primal', got {self.solver!r}")
        if self.loss not in ("hinge", "squared_hinge") or (self.loss == "squared_hinge"
                                                           and self.solver == "dual"):
            raise ValueError(f"LinearSVM: loss must be 'hinge' (either solver) or 'squared_hinge' "
                             f"(solver='primal'), got loss={self.loss!r} with solver={self.solver!r}")
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise ValueError(f"LinearSVM: max_iter must be a positive integer, got {self.max_iter!r}")
        _check_tol(self)
        _check_flags(self, "fit_intercept")
        idx = self._encode_classes(y)
        K = len(self.classes_)
        # A refit must not keep a previous two-class fit's support vectors (they are only set
        # for two classes, so a later K ≥ 3 fit would silently report the old ones).
        for stale in ("support_", "dual_coef_"):
            self.__dict__.pop(stale, None)
        rng = check_random_state(self.random_state)
        units = [1] if K == 2 else range(K)
        W, B, self.n_iter_, converged = [], [], 0, True
        for k in units:
            s = np.where(idx == k, 1.0, -1.0)
            if self.solver == "dual":
                w, b, alpha, it, ok = self._train_dual(X, s)
                if K == 2:
                    self.support_ = np.flatnonzero(alpha > 0)
                    self.dual_coef_ = (alpha * s)[self.support_][None, :]
            else:
                w, b, it, ok = self._train_primal(X, s, rng)
                if K == 2:
                    self.support_ = np.flatnonzero(s * (X @ w + b) <= 1 + 1e-3)
            converged &= ok
            self.n_iter_ = max(self.n_iter_, it)
            W.append(w)
            B.append(b)
        if not converged:
            _warn(f"LinearSVM: the dual solver stopped at max_iter={self.max_iter} before the "
                          f"KKT conditions held to tol={self.tol}; raise max_iter or scale the "
                          "features.", ConvergenceWarning, stacklevel=2)
        self.coef_, self.intercept_ = np.array(W), np.array(B)
        with np.errstate(divide="ignore"):
            m = 1.0 / np.linalg.norm(self.coef_, axis=1)
        self.margin_ = float(m[0]) if K == 2 else m
        return self

    def _train_dual(self, X, s):
        from .. import optim  # noqa: PLC0415
        from ..autograd import Tensor, no_grad  # noqa: PLC0415
        from ..nn import Parameter  # noqa: PLC0415

        n = len(s)
        C = float(self.C)
        Z = X * s[:, None]                                  # rows s_i·x_i, (n, p)
        L = max(np.linalg.norm(Z, 2) ** 2, 1e-12)
        zt = Tensor(Z)
        point = Parameter(np.zeros(n))                      # where the gradient is taken
        opt = optim.SGD([point], lr=1.0 / L, maximize=True)
        alpha = np.zeros(n)
        prev = alpha.copy()
        t = 1.0
        ok = False
        it = 0
        for it in range(1, int(self.max_iter) + 1):
            t_next = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
            with no_grad():                                 # FISTA's extrapolation
                point.data[...] = alpha + ((t - 1) / t_next) * (alpha - prev)
            t = t_next
            u = zt.T @ point                                # Σ α_i s_i x_i, (p,)
            dual = point.sum() - (u * u).sum() * 0.5
            opt.zero_grad()
            dual.backward()                                 # ∇D = 1 − Z Zᵀ α
            opt.step()                                      # ascent step of 1/L
            prev = alpha
            if self.fit_intercept:
                alpha = _project_box_hyperplane(point.numpy(), s, C)
            else:
                alpha = np.clip(point.numpy(), 0.0, C)
            if it % 10 == 0 and self._kkt_gap(Z, s, alpha, C) < self.tol:
                ok = True
                break
        w = Z.T @ alpha
        G = Z @ w - 1.0                                     # ∇ of the minimised −D
        b = _bias(alpha, G, s, C) if self.fit_intercept else 0.0
        return w, b, alpha, it, ok

    def _kkt_gap(self, Z, s, alpha, C):
        G = Z @ (Z.T @ alpha) - 1.0
        v = -s * G
        if not self.fit_intercept:                          # box only: projected-gradient norm
            pg = np.where(alpha <= 0, np.minimum(G, 0), np.where(alpha >= C, np.maximum(G, 0), G))
            return float(np.abs(pg).max())
        pos = s > 0
        up = (pos & (alpha < C)) | (~pos & (alpha > 0))
        low = (pos & (alpha > 0)) | (~pos & (alpha < C))
        if not up.any() or not low.any():
            return 0.0
        return float(v[up].max() - v[low].min())

    def _train_primal(self, X, s, rng):
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
        return w.numpy().copy(), float(b.numpy()[0]), steps, True


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
        room_i = C - alpha[i] if s[i] > 0 else alpha[i]
        room_j = alpha[j] if s[j] > 0 else C - alpha[j]
        t = min(t, room_i, room_j)
        old_i, old_j = alpha[i], alpha[j]
        # NOTE: a variable that reaches its bound is set to the bound exactly; float rounding
        # (0.1 + 0.9 = 0.9999999999999999) would otherwise leave it a hair inside, eligible
        # again for steps too small to make progress.
        alpha[i] = (C if s[i] > 0 else 0.0) if t == room_i else old_i + s[i] * t
        alpha[j] = (0.0 if s[j] > 0 else C) if t == room_j else old_j - s[j] * t
        G += (alpha[i] - old_i) * s[i] * s * Kmat[:, i] + (alpha[j] - old_j) * s[j] * s * Kmat[:, j]
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
        decision_function(X) = k(X, support_vectors_)·dual_coef_ᵀ + intercept_; n_iter_ (SMO
        steps per class pair).

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
        if not (_is_real(self.C) and self.C > 0):
            raise ValueError(f"KernelSVM: C must be > 0, got {self.C!r}")
        if self.kernel not in ("linear", "rbf", "poly"):
            raise ValueError(f"KernelSVM: kernel must be 'linear', 'rbf' or 'poly', got {self.kernel!r}")
        # a fractional degree gave NaN kernels on negative products (decision values all NaN)
        # and max_iter=-3 zero SMO steps (all-zero decision values), silently
        if (isinstance(self.degree, bool) or not isinstance(self.degree, (int, np.integer))
                or self.degree < 0):
            raise ValueError(f"KernelSVM: degree must be an integer >= 0, got {self.degree!r}")
        _check_tol(self)
        if not _is_real(self.coef0):
            raise ValueError(f"KernelSVM: coef0 must be a number, got {self.coef0!r}")
        if not (self.max_iter is None or self.max_iter == -1 or (
                isinstance(self.max_iter, (int, np.integer)) and not isinstance(self.max_iter, bool)
                and self.max_iter >= 1)):
            raise ValueError(f"KernelSVM: max_iter must be -1 (no limit) or a positive integer, "
                             f"got {self.max_iter!r}")
        if self.decision_function_shape not in ("ovr", "ovo"):
            raise ValueError("KernelSVM: decision_function_shape must be 'ovr' or 'ovo', got "
                             f"{self.decision_function_shape!r}")
        idx = self._encode_classes(y)
        # dual_coef_ and intercept_ describe a two-class fit only: drop a previous fit's so a
        # K ≥ 3 refit does not silently report the old problem's values.
        for stale in ("dual_coef_", "intercept_"):
            self.__dict__.pop(stale, None)
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
            if not (_is_real(self.gamma) and self.gamma > 0):
                raise ValueError(f"KernelSVM: gamma must be > 0, got {self.gamma!r}")
            self._gamma = float(self.gamma)
        Kfull = self._kernel(X, X)
        K = len(self.classes_)
        # −1: no limit in principle; 10⁷ steps (libsvm's own cap) stops a pathological run.
        max_iter = 10_000_000 if self.max_iter in (-1, None) else int(self.max_iter)
        self._pairs = []
        iters = []
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
                iters.append(n_it)
                sv = alpha > 0
                self._pairs.append((a, c, rows[sv], alpha[sv] * s[sv], b))
                used[rows[sv]] = True
        if not converged:
            _warn(f"KernelSVM: SMO stopped at max_iter={self.max_iter} before the KKT "
                          f"conditions held to tol={self.tol}.", ConvergenceWarning, stacklevel=2)
        self.n_iter_ = np.array(iters, dtype=np.int64)          # SMO steps per class pair
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

    def _votes(self, D, tie_to_later=False):
        # NOTE: a pair value of exactly 0 is a tie. scikit-learn's decision_function ('ovr')
        # gives it to the pair's first class, but SVC.predict (libsvm's vote) to the second,
        # so predict passes tie_to_later=True.
        K = len(self.classes_)
        votes = np.zeros((len(D), K))
        conf = np.zeros((len(D), K))
        for k, (a, c, *_) in enumerate(self._pairs):
            later = D[:, k] >= 0 if tie_to_later else D[:, k] > 0
            votes[:, c] += later
            votes[:, a] += ~later
            conf[:, c] += D[:, k]
            conf[:, a] -= D[:, k]
        return votes, conf

    def predict(self, X):
        D = self._pair_scores(X)
        if len(self.classes_) == 2:                            # f = 0 goes to classes_[1], as SVC
            return self.classes_[(D[:, 0] >= 0).astype(int)]
        votes, _ = self._votes(D, tie_to_later=True)
        return self.classes_[votes.argmax(axis=1)]            # ties: the smallest class index
