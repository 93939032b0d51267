"""Penalised least squares: ridge (closed form or SGD), lasso and elastic net (coordinate descent).

Objectives, with X of shape (n, p), y of shape (n,) (or (n, k) for ridge), and the intercept b
never penalised (it is removed by centring X and y when ``fit_intercept`` is on):

* ``Ridge(alpha)``:       ‖y − Xw − b‖² + alpha·‖w‖²                              (scikit-learn's Ridge)
* ``ElasticNet(alpha, l1_ratio=ρ)``:
  1/(2n)·‖y − Xw − b‖² + alpha·ρ·‖w‖₁ + alpha·(1 − ρ)/2·‖w‖²                    (scikit-learn's scaling)
* ``Lasso(alpha)`` = ``ElasticNet(alpha, l1_ratio=1)``.

The L1 term makes the solution sparse: a coefficient whose correlation with the partial
residual stays below alpha·ρ·n is set to exactly 0 by the soft-threshold step.
"""
from __future__ import annotations

import numpy as np

from .base import (BaseEstimator, ConvergenceWarning, RegressorMixin, _check_flags, _check_positive_int, _is_real,
                   check_random_state, check_sample_weight, _warn)

__all__ = ["Ridge", "ElasticNet", "Lasso", "soft_threshold"]


def soft_threshold(z, t):
    """The proximal map of t·|·|: sign(z)·max(|z| − t, 0) (exact zeros inside [−t, t])."""
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


def _center(X, y, fit_intercept, sample_weight=None):
    if not fit_intercept:
        return X, y, np.zeros(X.shape[1]), np.zeros(y.shape[1:]) if y.ndim > 1 else 0.0
    x_mean = np.average(X, axis=0, weights=sample_weight)
    y_mean = np.average(y, axis=0, weights=sample_weight)
    return X - x_mean, y - y_mean, x_mean, y_mean


def _check_alpha(est, alpha, name="alpha"):
    if not np.all(np.asarray(alpha, dtype=float) >= 0):
        raise ValueError(f"{type(est).__name__}: {name} must be >= 0, got {alpha!r}")


class _LinearRegressor(RegressorMixin, BaseEstimator):
    def predict(self, X):
        """ŷ = X·coef_ᵀ + intercept_, shape (n,) (or (n, k) for a 2-D target)."""
        X = self._validate_X(X)
        return X @ self.coef_.T + self.intercept_


class Ridge(_LinearRegressor):
    """Least squares with an L2 penalty: minimise ‖y − Xw − b‖² + alpha·‖w‖².

    Closed form (``solver='closed'``): with centred X and y,
    w = (XᵀX + alpha·I)⁻¹ Xᵀy (or Xᵀ(XXᵀ + alpha·I)⁻¹y when p > n), b = ȳ − x̄·w.
    ``solver='sgd'`` minimises the same objective divided by n with nerve's autograd and
    ``optim.SGD`` (momentum, step 1/L from the Lipschitz constant L = 2(λ_max(XᵀX) + alpha)/n),
    in mini-batches of ``batch_size`` (None: the full batch), for ``max_iter`` epochs or until the
    gradient norm falls below ``tol``. Mini-batches take the smaller step
    (1 − 0.9)/(2(max_i ‖x_i‖² + alpha/n)), stable for every batch under momentum 0.9, and land
    near the closed form (within the step's noise); weights that turn non-finite (a too large
    ``learning_rate``) raise a ValueError.

    Args:
        alpha: penalty strength ≥ 0; larger alpha shrinks ‖w‖ monotonically. With a 2-D
            target, also one value per target column (shape (k,)), as scikit-learn's Ridge.
            alpha = 0 is ordinary least squares with the minimum-norm coefficients when they
            are not unique (collinear columns, p > n), as scikit-learn's LinearRegression.
        fit_intercept: learn b (unpenalised).
        solver: ``'closed'`` or ``'sgd'``.
        max_iter, tol, batch_size, learning_rate, random_state: for ``'sgd'``.

    ``fit(X, y, sample_weight)`` weighs row i's squared error by sample_weight[i] (scikit-learn's
    weighted objective: means weighted too, so a weight of 2 equals a duplicated row; both
    solvers fit rows scaled by √sample_weight[i]).

    Attributes: ``coef_`` (p,) or (k, p), ``intercept_`` float or (k,), ``n_iter_`` (epochs of SGD;
    1 for the closed form).

    Example:
        >>> import numpy as np
        >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([1.0, 3.0, 5.0])
        >>> Ridge(alpha=0.0).fit(X, y).coef_.round(6).tolist()
        [2.0]
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, solver="closed", max_iter=5000, tol=1e-10,
                 batch_size=None, learning_rate=None, random_state=None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, sample_weight=None):
        X, y = self._validate_fit(X, y, y_numeric=True, multi_output=True)
        _check_alpha(self, self.alpha)
        _check_flags(self, "fit_intercept")
        if self.solver not in ("closed", "sgd"):
            raise ValueError(f"Ridge: solver must be 'closed' or 'sgd', got {self.solver!r}")
        sw = None if sample_weight is None else check_sample_weight(sample_weight, len(X), self)
        alphas = np.asarray(self.alpha, dtype=np.float64)
        if alphas.ndim > 1 or (alphas.ndim == 1 and len(alphas) not in (1, *y.shape[1:2])):
            raise ValueError(f"Ridge: alpha must be a number or hold one value per target "
                             f"({y.shape[1] if y.ndim == 2 else 1}), got shape {alphas.shape}")
        Xc, yc, x_mean, y_mean = _center(X, y, self.fit_intercept, sw)
        if sw is not None:
            # Σ w_i r_i² = ‖√w ⊙ r‖²: rows scaled by √w_i turn it into the plain problem
            root = np.sqrt(sw)
            Xc, yc = Xc * root[:, None], yc * root.reshape((-1,) + (1,) * (yc.ndim - 1))
        if alphas.ndim == 1 and len(alphas) > 1:
            if self.solver != "closed":
                raise ValueError("Ridge: one alpha per target needs solver='closed'; pass a "
                                 "single alpha for solver='sgd'")
            # one penalty per target column: an independent ridge problem for each
            W = np.column_stack([self._closed(Xc, yc[:, j], a) for j, a in enumerate(alphas)])
            self.n_iter_ = 1
        elif self.solver == "closed":
            W = self._closed(Xc, yc, float(alphas.ravel()[0]))
            self.n_iter_ = 1                                  # one linear solve
        else:
            _check_positive_int(self, "max_iter")         # 0 epochs returned w = 0 silently
            W = self._sgd(Xc, yc)
        self.coef_ = W.T if y.ndim == 2 else W
        self.intercept_ = y_mean - x_mean @ W if self.fit_intercept else (
            np.zeros(y.shape[1]) if y.ndim == 2 else 0.0)
        if y.ndim == 1:
            self.intercept_ = float(self.intercept_)
        return self

    def _closed(self, X, y, a):
        n, p = X.shape
        a = float(a)
        if a == 0.0:
            # No penalty: with collinear columns (or p > n) the solution is not unique, and
            # solve() on the numerically singular XᵀX rarely raises: it returns one arbitrary
            # solution, often with huge opposite coefficients. Take the minimum-norm one,
            # scikit-learn's LinearRegression's.
            return np.linalg.lstsq(X, y, rcond=None)[0]
        try:
            if p <= n:
                return np.linalg.solve(X.T @ X + a * np.eye(p), X.T @ y)      # (p,) or (p, k)
            return X.T @ np.linalg.solve(X @ X.T + a * np.eye(n), y)          # the dual form
        except np.linalg.LinAlgError:
            return np.linalg.lstsq(X, y, rcond=None)[0]

    def _sgd(self, X, y):
        from .. import optim  # noqa: PLC0415
        from ..autograd import Tensor  # noqa: PLC0415
        from ..nn import Parameter  # noqa: PLC0415

        n, p = X.shape
        Y = y.reshape(n, -1)
        a = float(np.asarray(self.alpha, dtype=np.float64).ravel()[0])
        if self.batch_size is not None:
            _check_positive_int(self, "batch_size")
        bs = n if self.batch_size is None else int(self.batch_size)
        if bs >= n:
            L = 2 * (np.linalg.norm(X, 2) ** 2 + a) / n
        else:
            # NOTE: a mini-batch loss (1/|B|)‖X_B w − y_B‖² curves up to 2·max_i ‖x_i‖², far more
            # than the full batch's 2·λ_max(XᵀX)/n; the full-batch step made batch_size=2..10
            # diverge to 1e150 or NaN without a word. This bound holds for every batch.
            # Momentum 0.9 multiplies the effective step by 1/(1 − 0.9) = 10, so the step is
            # scaled back by that factor.
            L = 2 * (float((X * X).sum(axis=1).max()) + a / n) / (1 - 0.9)
        lr = self.learning_rate if self.learning_rate is not None else 1.0 / max(L, 1e-12)
        w = Parameter(np.zeros((p, Y.shape[1])))
        opt = optim.SGD([w], lr=lr, momentum=0.9)
        rng = check_random_state(self.random_state)
        it = 0
        for it in range(1, int(self.max_iter) + 1):
            order = rng.permutation(n) if bs < n else np.arange(n)
            for s in range(0, n, bs):
                idx = order[s:s + bs]
                xb, yb = Tensor(X[idx]), Tensor(Y[idx])
                r = xb @ w - yb
                # (1/|B|)·‖r‖² + (alpha/n)·‖w‖²: an unbiased estimate of the objective over n
                loss = (r * r).sum() / len(idx) + (w * w).sum() * (a / n)
                opt.zero_grad()
                loss.backward()
                opt.step()
            if not np.isfinite(w.numpy()).all():
                raise ValueError(f"Ridge(solver='sgd') diverged at epoch {it} (learning_rate="
                                 f"{lr:.3g} is too large for these features); lower "
                                 "learning_rate, standardise X, or use solver='closed'")
            if bs >= n and np.linalg.norm(w.grad.numpy()) < self.tol:
                break
        else:
            if bs >= n:
                _warn(f"Ridge(solver='sgd') did not reach tol={self.tol} in {self.max_iter} "
                              "epochs; raise max_iter or standardise the features.", ConvergenceWarning, stacklevel=3)
        self.n_iter_ = it
        W = w.numpy()
        return W if y.ndim == 2 else W[:, 0]


class ElasticNet(_LinearRegressor):
    """Linear regression with combined L1 and L2 penalties, by cyclic coordinate descent.

    Minimises, exactly as scikit-learn's ElasticNet:
        1/(2n)·‖y − Xw − b‖² + alpha·l1_ratio·‖w‖₁ + ½·alpha·(1 − l1_ratio)·‖w‖².

    One coordinate step (r the residual with feature j's contribution added back):
        w_j ← S(x_jᵀr, n·alpha·l1_ratio) / (‖x_j‖² + n·alpha·(1 − l1_ratio)),
    S the soft threshold, which gives exact zeros. Sweeps stop when the duality gap falls below
    ``tol·‖y‖²`` (scikit-learn's criterion), or after ``max_iter`` sweeps with a
    ``ConvergenceWarning``.

    Args:
        alpha: overall penalty strength ≥ 0.
        l1_ratio: ρ in [0, 1]; 1 is the lasso, 0 is ridge (with the 1/(2n) scaling).
        fit_intercept, max_iter, tol: as in scikit-learn.
        selection: ``'cyclic'`` or ``'random'`` coordinate order (``random_state`` seeds it).

    Attributes: ``coef_`` (p,), ``intercept_``, ``n_iter_``, ``dual_gap_`` (the final duality
    gap of the objective above, as scikit-learn's).
    """

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, max_iter=1000, tol=1e-4,
                 selection="cyclic", random_state=None):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.selection = selection
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        """Fit by coordinate descent. ``sample_weight`` (n,) weighs each squared error; as in
        scikit-learn the weights are rescaled to sum to n, so the data term is
        1/(2·Σw)·Σ w_i·r_i² and alpha keeps its meaning."""
        X, y = self._validate_fit(X, y, y_numeric=True)
        _check_alpha(self, self.alpha)
        sw = None if sample_weight is None else check_sample_weight(sample_weight, len(X), self)
        if not (_is_real(self.l1_ratio) and 0 <= self.l1_ratio <= 1):
            raise ValueError(f"{type(self).__name__}: l1_ratio must be in [0, 1], got "
                             f"{self.l1_ratio!r}")
        if self.selection not in ("cyclic", "random"):
            raise ValueError(f"{type(self).__name__}: selection must be 'cyclic' or 'random', got "
                             f"{self.selection!r}")
        # max_iter=0 returned all-zero coefficients (with only a warning) and a negative tol
        # ran every sweep: refuse both, as scikit-learn does
        _check_positive_int(self, "max_iter")
        _check_flags(self, "fit_intercept")
        if not (_is_real(self.tol) and self.tol >= 0):
            raise ValueError(f"{type(self).__name__}: tol must be >= 0, got {self.tol!r}")
        Xc, yc, x_mean, y_mean = _center(X, y, self.fit_intercept, sw)
        if sw is not None:
            root = np.sqrt(sw * (len(X) / sw.sum()))          # weights rescaled to sum to n
            Xc, yc = Xc * root[:, None], yc * root
        w, gap, n_iter = self._coordinate_descent(np.asfortranarray(Xc), yc)
        # the solver works on n times the objective; dual_gap_ is reported on the objective
        # itself, as scikit-learn's
        self.coef_, self.dual_gap_, self.n_iter_ = w, gap / len(X), n_iter
        self.intercept_ = float(y_mean - x_mean @ w) if self.fit_intercept else 0.0
        return self

    def _coordinate_descent(self, X, y):
        n, p = X.shape
        l1 = self.alpha * self.l1_ratio * n
        l2 = self.alpha * (1.0 - self.l1_ratio) * n
        col_sq = (X * X).sum(axis=0)                       # ‖x_j‖², (p,)
        w = np.zeros(p)
        r = y.copy()                                       # residual y − Xw
        tol = self.tol * float(y @ y)
        rng = check_random_state(self.random_state)
        gap = np.inf
        for sweep in range(1, int(self.max_iter) + 1):
            order = rng.permutation(p) if self.selection == "random" else range(p)
            w_max = d_w_max = 0.0
            for j in order:
                if col_sq[j] == 0.0:
                    continue
                wj = w[j]
                rho = X[:, j] @ r + col_sq[j] * wj         # x_jᵀ(r + x_j·w_j)
                new = np.sign(rho) * max(abs(rho) - l1, 0.0) / (col_sq[j] + l2)
                if new != wj:
                    r -= X[:, j] * (new - wj)
                    w[j] = new
                d_w_max = max(d_w_max, abs(new - wj))
                w_max = max(w_max, abs(new))
            # NOTE: as scikit-learn, the gap is only consulted once the largest coordinate
            # change of the sweep is small (relative to max|w|, below tol); the gap alone let
            # the default tol stop some sweeps early (Lasso(alpha=0) 3% off scikit-learn's).
            if w_max == 0.0 or d_w_max / w_max <= self.tol or sweep == int(self.max_iter):
                gap = self._duality_gap(X, y, w, r, l1, l2)
                if gap <= tol:
                    return w, gap, sweep
        _warn(f"{type(self).__name__}: coordinate descent did not converge in "
                      f"{self.max_iter} sweeps (duality gap {gap:.3g} > tol·‖y‖² = {tol:.3g}); "
                      "raise max_iter, raise tol, or standardise the features.", ConvergenceWarning, stacklevel=3)
        return w, gap, int(self.max_iter)

    @staticmethod
    def _duality_gap(X, y, w, r, l1, l2):
        """Primal minus dual objective (times n), scikit-learn's stopping quantity.

        Without an L1 term the usual dual point (r scaled to make ‖Xᵀv‖∞ ≤ l1) does not exist,
        so that gap never closes: with l2 > 0 the ridge dual gap (r as the dual point) is used
        instead, and for plain least squares the squared norm of the gradient, ‖Xᵀr‖²."""
        if l1 == 0:
            xtr = X.T @ r
            g2 = float(xtr @ xtr)
            if l2 == 0:
                return g2
            return float(r @ r + 0.5 * l2 * (w @ w) - r @ y + g2 / (2 * l2))
        xta = X.T @ r - l2 * w
        dual_norm = np.max(np.abs(xta)) if len(xta) else 0.0
        r2 = float(r @ r)
        if dual_norm > l1:
            const = l1 / dual_norm
            gap = 0.5 * (r2 + r2 * const * const)
        else:
            const = 1.0
            gap = r2
        w2 = float(w @ w)
        gap += l1 * np.abs(w).sum() - const * float(r @ y) + 0.5 * l2 * (1 + const * const) * w2
        return float(gap)


class Lasso(ElasticNet):
    """L1-penalised least squares: 1/(2n)·‖y − Xw − b‖² + alpha·‖w‖₁ (ElasticNet with
    l1_ratio = 1), by coordinate descent. Irrelevant features get coefficients of exactly 0.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(100, 5)); y = 3 * X[:, 0] + 0.01 * rng.normal(size=100)
        >>> bool((Lasso(alpha=0.1).fit(X, y).coef_[1:] == 0).all())
        True
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, max_iter=1000, tol=1e-4,
                 selection="cyclic", random_state=None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.selection = selection
        self.random_state = random_state

    l1_ratio = 1.0  # a class constant, not a parameter: the lasso is the pure-L1 elastic net
