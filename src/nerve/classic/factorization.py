"""Collaborative filtering by matrix factorisation (Koren, Bell & Volinsky 2009).

A rating of item i by user u is modelled as

    r̂_ui = μ + b_u + b_i + p_u·q_i,

μ the global mean, b_u and b_i biases, p_u and q_i learned k-dimensional embeddings. Fitting
minimises, over the observed (u, i, r) only,

    Σ (r − r̂_ui)² + alpha·(Σ_u ‖p_u‖² + b_u² + Σ_i ‖q_i‖² + b_i²),

either by alternating least squares (``solver='als'``: with the items fixed, each user's
(p_u, b_u) is a ridge regression, and vice versa; every step is exact, so the objective never
rises) or by ``optim.Adam`` on the embedding module through nerve's autograd (``solver='adam'``).
"""
from __future__ import annotations

import numpy as np

from .base import BaseEstimator, RegressorMixin, _check_positive_int, _is_real, check_random_state

__all__ = ["MatrixFactorization", "MatrixFactorizationModule", "make_ratings"]


def make_ratings(n_users=200, n_items=150, rank=3, density=0.2, noise=0.1, random_state=None):
    """A synthetic ratings set: a rank-``rank`` matrix plus biases, observed at random.

    R = 3 + b_u + b_i + U·Vᵀ with U (n_users, rank) and V (n_items, rank) of N(0, 1/rank)
    entries (so U·Vᵀ has unit variance) and biases of standard deviation 0.5; each entry is
    observed with probability ``density`` and carries N(0, noise²) noise.

    Returns:
        (X, y, R): X (m, 2) int64 (user, item) pairs, y (m,) noisy ratings, R the noise-free
        (n_users, n_items) matrix.

    Example:
        >>> X, y, R = make_ratings(50, 40, random_state=0)
        >>> X.shape[1], round(len(y) / R.size, 1)
        (2, 0.2)
    """
    rng = check_random_state(random_state)
    U = rng.normal(scale=1 / np.sqrt(rank), size=(n_users, rank))
    V = rng.normal(scale=1 / np.sqrt(rank), size=(n_items, rank))
    R = 3.0 + rng.normal(scale=0.5, size=(n_users, 1)) + rng.normal(scale=0.5, size=(1, n_items)) + U @ V.T
    mask = rng.random((n_users, n_items)) < density
    users, items = np.nonzero(mask)
    y = R[users, items] + rng.normal(scale=noise, size=len(users))
    return np.column_stack([users, items]).astype(np.int64), y, R


def _module_class():
    from ..nn import Module, Parameter  # noqa: PLC0415

    class MatrixFactorizationModule(Module):
        """User and item embeddings with biases: forward(users, items) = μ + b_u + b_i + p_u·q_i.

        Args: n_users, n_items, k (embedding size), mean (μ, a constant), random_state.
        Parameters: user_factors (n_users, k), item_factors (n_items, k), user_bias (n_users,),
        item_bias (n_items,). k·(n_users + n_items) + n_users + n_items parameters.
        """

        def __init__(self, n_users, n_items, k, mean=0.0, random_state=None):
            super().__init__()
            rng = check_random_state(random_state)
            self.mean = float(mean)
            self.user_factors = Parameter(rng.normal(scale=0.1, size=(n_users, k)))
            self.item_factors = Parameter(rng.normal(scale=0.1, size=(n_items, k)))
            self.user_bias = Parameter(np.zeros(n_users))
            self.item_bias = Parameter(np.zeros(n_items))

        def forward(self, users, items):
            p, q = self.user_factors[users], self.item_factors[items]          # (m, k)
            return (p * q).sum(1) + self.user_bias[users] + self.item_bias[items] + self.mean

    return MatrixFactorizationModule


def __getattr__(name):
    if name == "MatrixFactorizationModule":
        return _module_class()
    raise AttributeError(name)


class MatrixFactorization(RegressorMixin, BaseEstimator):
    """Ratings predictor r̂_ui = μ + b_u + b_i + p_u·q_i from (user, item) pairs.

    ``fit(X, y)`` takes X of shape (m, 2) holding integer (user, item) ids and y the m ratings;
    ``predict`` returns r̂ for (user, item) rows. A user or item never seen in fit gets no
    embedding term and no bias of its own (the cold-start fallback μ + the known bias).

    Args:
        n_factors: k, the embedding size (the rank of the learned interaction matrix).
        alpha: L2 penalty on embeddings and biases (summed over ratings; see the module text).
        solver: ``'als'`` (alternating least squares) or ``'adam'`` (nerve autograd).
        max_iter: ALS sweeps or Adam steps (full batch); tol: ALS stops when the objective
            falls by less than tol (relative).
        learning_rate: Adam's step.
        random_state: seeds the initial embeddings.

    Attributes: ``user_factors_`` (n_users, k), ``item_factors_`` (n_items, k), ``user_bias_``,
    ``item_bias_``, ``global_mean_``, ``n_iter_``.

    Example:
        >>> X, y, R = make_ratings(60, 50, random_state=0)
        >>> mf = MatrixFactorization(n_factors=3, alpha=1.0).fit(X, y)
        >>> float(np.sqrt(np.mean((mf.predict(X) - y) ** 2))) < 0.2
        True
    """

    def __init__(self, n_factors=3, *, alpha=0.3, solver="als", max_iter=100, tol=1e-6,
                 learning_rate=0.05, random_state=None):
        self.n_factors = n_factors
        self.alpha = alpha
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.random_state = random_state

    def _ids(self, X):
        if X.shape[1] != 2:
            raise ValueError(f"MatrixFactorization: X must have 2 columns (user id, item id), got "
                             f"shape {X.shape}")
        ids = X.astype(np.int64)
        if np.any(ids != X) or np.any(ids < 0):
            raise ValueError("MatrixFactorization: user and item ids must be non-negative integers; "
                             "encode them with np.unique(..., return_inverse=True)")
        return ids[:, 0], ids[:, 1]

    def fit(self, X, y):
        X, y = self._validate_fit(X, y, y_numeric=True)
        u, i = self._ids(X)
        if self.solver not in ("als", "adam"):
            raise ValueError(f"MatrixFactorization: solver must be 'als' or 'adam', got {self.solver!r}")
        if not (isinstance(self.n_factors, (int, np.integer)) and self.n_factors >= 1):
            raise ValueError(f"MatrixFactorization: n_factors must be a positive integer, got "
                             f"{self.n_factors!r}")
        _check_positive_int(self, "max_iter")             # 0 crashed with UnboundLocalError
        if not (_is_real(self.alpha) and self.alpha >= 0):
            # a negative penalty rewards large factors: ALS's ridge systems turn indefinite
            raise ValueError(f"MatrixFactorization: alpha must be >= 0, got {self.alpha!r}")
        # a refit with solver='als' must not keep a previous 'adam' fit's trained module
        self.__dict__.pop("module_", None)
        nu, ni = int(u.max()) + 1, int(i.max()) + 1
        self.global_mean_ = float(y.mean())
        rng = check_random_state(self.random_state)
        k = int(self.n_factors)
        P = rng.normal(scale=0.1, size=(nu, k))
        Q = rng.normal(scale=0.1, size=(ni, k))
        bu, bi = np.zeros(nu), np.zeros(ni)
        if self.solver == "als":
            P, Q, bu, bi = self._als(u, i, y, P, Q, bu, bi)
        else:
            P, Q, bu, bi = self._adam(u, i, y, nu, ni, k)
        self.user_factors_, self.item_factors_ = P, Q
        self.user_bias_, self.item_bias_ = bu, bi
        return self

    def _als(self, u, i, y, P, Q, bu, bi):
        a = float(self.alpha)
        r = y - self.global_mean_
        prev = np.inf
        by_user = np.argsort(u, kind="stable")
        by_item = np.argsort(i, kind="stable")
        user_groups = np.split(by_user, np.cumsum(np.bincount(u, minlength=len(P)))[:-1])
        item_groups = np.split(by_item, np.cumsum(np.bincount(i, minlength=len(Q)))[:-1])
        for it in range(1, int(self.max_iter) + 1):
            self._ridge_rows(P, bu, user_groups, i, r - bi[i], Q, a)
            self._ridge_rows(Q, bi, item_groups, u, r - bu[u], P, a)
            err = r - bu[u] - bi[i] - (P[u] * Q[i]).sum(1)
            obj = float(err @ err + a * ((P * P).sum() + (Q * Q).sum() + bu @ bu + bi @ bi))
            if prev - obj < self.tol * obj:       # every ALS step is exact: obj never rises
                break
            prev = obj
        self.n_iter_ = it
        return P, Q, bu, bi

    @staticmethod
    def _ridge_rows(F, b, groups, other, target, G, a):
        """For each row owner: [f, b] = argmin Σ (t − g·f − b)² + a(‖f‖² + b²) over its ratings."""
        k = F.shape[1]
        reg = a * np.eye(k + 1)
        for owner, rows in enumerate(groups):
            if len(rows) == 0:
                continue
            Z = np.hstack([G[other[rows]], np.ones((len(rows), 1))])     # (m_u, k + 1)
            sol = np.linalg.solve(Z.T @ Z + reg, Z.T @ target[rows])
            F[owner], b[owner] = sol[:k], sol[k]

    def _adam(self, u, i, y, nu, ni, k):
        from .. import optim  # noqa: PLC0415
        from ..autograd import Tensor  # noqa: PLC0415

        module = _module_class()(nu, ni, k, mean=self.global_mean_,
                                 random_state=check_random_state(self.random_state))
        opt = optim.Adam(module.parameters(), lr=float(self.learning_rate))
        target = Tensor(y)
        a = float(self.alpha)
        for _ in range(int(self.max_iter)):
            pred = module(u, i)
            err = pred - target
            pen = sum((p * p).sum() for p in module.parameters())
            loss = ((err * err).sum() + pen * a) * (1.0 / len(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.n_iter_ = int(self.max_iter)
        self.module_ = module
        return (module.user_factors.numpy().copy(), module.item_factors.numpy().copy(),
                module.user_bias.numpy().copy(), module.item_bias.numpy().copy())

    def predict(self, X):
        """r̂ for each (user, item) row of X; unseen ids fall back to the biases that exist."""
        X = self._validate_X(X)
        u, i = self._ids(X)
        ku, ki = u < len(self.user_bias_), i < len(self.item_bias_)
        uu, ii = np.where(ku, u, 0), np.where(ki, i, 0)
        inter = (self.user_factors_[uu] * self.item_factors_[ii]).sum(1) * (ku & ki)
        return self.global_mean_ + self.user_bias_[uu] * ku + self.item_bias_[ii] * ki + inter
