"""Sparse coding (ISTA/FISTA) and dictionary learning (Olshausen & Field 1996).

A dictionary D holds k atoms as rows, shape (k, p). The sparse code c (k,) of a signal x (p,)
minimises

    ½‖x − c·D‖² + alpha·‖c‖₁,

the lasso with the atoms as features. ISTA takes a gradient step on the smooth part and
soft-thresholds: c ← S(c − (c·D − x)·Dᵀ/L, alpha/L), L = ‖D‖₂² (the largest eigenvalue of DDᵀ);
FISTA (Beck & Teboulle 2009) adds Nesterov's extrapolation, improving the rate from O(1/t) to
O(1/t²). All signals are coded at once: C (n, k) for X (n, p).

Matching scikit-learn: ``SparseCoder(D, transform_algorithm='lasso_cd', transform_alpha=a)``
and ``Lasso(alpha=a / p, fit_intercept=False).fit(D.T, x)`` minimise (1/p)·(the objective above)
and so give the same codes.

``DictionaryLearning`` alternates the two halves of ½‖X − C·D‖²_F + alpha·Σ|C|, the atoms kept in
the unit ball: codes by FISTA (warm-started), then each atom in turn by block coordinate descent
(d_j ← R_jᵀc_j / ‖c_j‖², projected onto ‖d_j‖ ≤ 1, R_j the residual without atom j).
"""
from __future__ import annotations

import numpy as np

from .base import (BaseEstimator, ConvergenceWarning, TransformerMixin, _check_positive_int,
                   _is_real, check_array, check_random_state, _warn)

__all__ = ["sparse_encode", "SparseCoder", "DictionaryLearning"]


def sparse_encode(X, dictionary, alpha=1.0, *, algorithm="fista", max_iter=1000, tol=1e-8,
                  init=None):
    """Codes C (n, k) minimising ½‖X − C·D‖²_F + alpha·Σ|C| row by row, by ISTA or FISTA.

    Args:
        X: (n, p) signals; dictionary: (k, p) atoms.
        alpha: the L1 weight (≥ 0).
        algorithm: ``'fista'`` (default) or ``'ista'``.
        max_iter: iterations; tol: stop when the largest change of a code entry is below tol.
        init: optional (n, k) starting codes (a warm start).

    Returns:
        (codes, n_iter).

    Example:
        >>> import numpy as np
        >>> D = np.eye(3)
        >>> sparse_encode(np.array([[2.0, 0.5, -3.0]]), D, alpha=1.0)[0].tolist()
        [[1.0, 0.0, -2.0]]
    """
    if algorithm not in ("fista", "ista"):
        raise ValueError(f"sparse_encode: algorithm must be 'fista' or 'ista', got {algorithm!r}")
    if not (_is_real(alpha) and alpha >= 0):
        raise ValueError(f"sparse_encode: alpha must be >= 0, got {alpha!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        # max_iter=0 returned all-zero codes silently
        raise ValueError(f"sparse_encode: max_iter must be a positive integer, got {max_iter!r}")
    X = check_array(X, name="X")                           # lists too (X.shape failed)
    D = np.asarray(dictionary, dtype=np.float64)
    if D.ndim != 2 or D.shape[1] != X.shape[1]:
        raise ValueError(f"sparse_encode: the dictionary must be (n_components, {X.shape[1]}) to code "
                         f"signals with {X.shape[1]} features, got shape {D.shape}")
    gram = D @ D.T                                         # (k, k)
    L = max(float(np.linalg.eigvalsh(gram)[-1]), 1e-12)
    XDt = X @ D.T                                          # (n, k)
    C = np.zeros((len(X), len(D))) if init is None else np.array(init, dtype=np.float64)
    Y, t = C.copy(), 1.0
    thresh = alpha / L
    it = 0
    for it in range(1, int(max_iter) + 1):
        step = Y - (Y @ gram - XDt) / L                    # gradient step on ½‖X − Y·D‖²
        new = np.sign(step) * np.maximum(np.abs(step) - thresh, 0.0)
        delta = float(np.max(np.abs(new - C))) if new.size else 0.0
        if algorithm == "fista":
            t_next = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
            Y = new + ((t - 1) / t_next) * (new - C)
            t = t_next
        else:
            Y = new
        C = new
        if delta < tol:
            break
    return C, it


class SparseCoder(TransformerMixin, BaseEstimator):
    """Sparse codes of signals over a fixed dictionary, by FISTA (or ISTA).

    ``transform(X)`` returns C (n, k) minimising ½‖x − c·D‖² + alpha·‖c‖₁ for every row x.

    Args:
        dictionary: (k, p) atoms as rows (unit norm is usual, not required).
        alpha: the L1 weight.
        algorithm: ``'fista'`` or ``'ista'``.
        max_iter, tol: of the iterations.

    Example:
        >>> import numpy as np
        >>> coder = SparseCoder(np.eye(2), alpha=0.5)
        >>> (coder.transform(np.array([[1.0, -0.2]])) + 0.0).tolist()   # + 0.0 turns -0.0 into 0.0
        [[0.5, 0.0]]
    """

    def __init__(self, dictionary, *, alpha=1.0, algorithm="fista", max_iter=1000, tol=1e-8):
        self.dictionary = dictionary
        self.alpha = alpha
        self.algorithm = algorithm
        self.max_iter = max_iter
        self.tol = tol

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags

    def fit(self, X, y=None):
        """Nothing to learn; checks X against the dictionary and returns self."""
        X = check_array(X, estimator=self)
        self._check_width(X)
        self.n_features_in_ = X.shape[1]
        return self

    def _check_width(self, X):
        D = np.asarray(self.dictionary)
        if D.ndim != 2 or D.shape[1] != X.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features, but SparseCoder's dictionary has shape "
                             f"{D.shape} (atoms of {D.shape[-1]} features); pass signals of the "
                             "atoms' length.")

    @property
    def components_(self):
        return np.asarray(self.dictionary, dtype=np.float64)

    def transform(self, X):
        """(n, k) sparse codes of the rows of X."""
        X = check_array(X, estimator=self)
        self._check_width(X)
        codes, self.n_iter_ = sparse_encode(X, self.dictionary, self.alpha, algorithm=self.algorithm,
                                            max_iter=self.max_iter, tol=self.tol)
        return codes


class DictionaryLearning(TransformerMixin, BaseEstimator):
    """Learn a dictionary in which the data have sparse codes.

    Minimises ½‖X − C·D‖²_F + alpha·Σ|C| over codes C (n, k) and atoms D (k, p) with ‖d_j‖ ≤ 1,
    alternating FISTA for C and block coordinate descent over the atoms for D (an unused atom is
    re-seeded with the worst-reconstructed signal). Stops when the objective's relative decrease
    is below ``tol``.

    The fitting objective is scikit-learn's ``DictionaryLearning`` one, but ``transform`` differs
    from its default on purpose: nerve codes by the same lasso (FISTA, ``transform_alpha``), where
    scikit-learn's default is orthogonal matching pursuit (``transform_algorithm='omp'``); compare
    with scikit-learn's ``transform_algorithm='lasso_cd'`` and ``transform_alpha=alpha``.

    Args:
        n_components: k, the number of atoms (k > p makes the dictionary overcomplete).
        alpha: the L1 weight during fitting; ``transform_alpha`` (default: alpha) in transform.
        max_iter: alternations; tol: relative objective decrease to stop.
        code_max_iter: FISTA iterations per coding step.
        random_state: seeds the initial atoms (k signals of X, normalised).

    Attributes: ``components_`` (k, p), ``error_`` (objective per iteration), ``n_iter_``.
    """

    def __init__(self, n_components=None, *, alpha=1.0, max_iter=100, tol=1e-6, code_max_iter=200,
                 transform_alpha=None, random_state=None):
        self.n_components = n_components
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.code_max_iter = code_max_iter
        self.transform_alpha = transform_alpha
        self.random_state = random_state

    def fit(self, X, y=None):
        X, _ = self._validate_fit(X)
        n, p = X.shape
        k = p if self.n_components is None else int(self.n_components)
        if k < 1:
            raise ValueError(f"DictionaryLearning: n_components must be >= 1, got {self.n_components!r}")
        if not (_is_real(self.alpha) and self.alpha >= 0):
            raise ValueError(f"DictionaryLearning: alpha must be >= 0, got {self.alpha!r}")
        _check_positive_int(self, "max_iter")             # 0 crashed with UnboundLocalError
        _check_positive_int(self, "code_max_iter")        # 0 left every code at zero
        rng = check_random_state(self.random_state)
        rows = rng.choice(n, size=k, replace=k > n)
        D = X[rows] + (1e-3 * rng.standard_normal((k, p)) if k > n else 0.0)
        D /= np.maximum(np.linalg.norm(D, axis=1, keepdims=True), 1e-12)
        C = None
        self.error_ = []
        for it in range(1, int(self.max_iter) + 1):
            C, _ = sparse_encode(X, D, self.alpha, max_iter=self.code_max_iter, tol=1e-10, init=C)
            D = self._update_atoms(X, C, D, rng)
            R = X - C @ D
            self.error_.append(0.5 * float((R * R).sum()) + self.alpha * float(np.abs(C).sum()))
            if it > 1 and self.error_[-2] - self.error_[-1] <= self.tol * self.error_[-1]:
                break
        else:
            _warn(f"DictionaryLearning: the objective was still falling after {self.max_iter} "
                          "iterations; raise max_iter.", ConvergenceWarning, stacklevel=2)
        self.components_ = D
        self.n_iter_ = it
        return self

    @staticmethod
    def _update_atoms(X, C, D, rng):
        R = X - C @ D                                       # (n, p) residual
        for j in range(len(D)):
            c = C[:, j]
            R += np.outer(c, D[j])                          # the residual without atom j
            norm2 = float(c @ c)
            if norm2 < 1e-12:
                # An unused atom: restart it at the signal explained worst.
                worst = int(np.argmax((R * R).sum(1)))
                d = R[worst] + 1e-6 * rng.standard_normal(R.shape[1])
            else:
                d = c @ R / norm2
            D[j] = d / max(float(np.linalg.norm(d)), 1.0)   # project onto the unit ball
            R -= np.outer(c, D[j])
        return D

    def transform(self, X):
        """(n, k) codes of X over ``components_`` with ``transform_alpha`` (default alpha)."""
        X = self._validate_X(X)
        a = self.alpha if self.transform_alpha is None else self.transform_alpha
        return sparse_encode(X, self.components_, a, max_iter=1000)[0]
