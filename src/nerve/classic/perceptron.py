"""Rosenblatt's perceptron: a step-activation linear unit trained by its mistake-driven rule.

The unit outputs step(w·x + b). Its derivative is 0 almost everywhere, so backpropagation has
nothing to follow; instead Rosenblatt's rule (1958) corrects each misclassified example:

    if s_i·(w·x_i + b) ≤ 0:   w ← w + eta0·s_i·x_i,   b ← b + eta0·s_i       (s_i ∈ {−1, +1})

Novikoff (1962): if some unit vector u and γ > 0 have s_i·(u·x̃_i) ≥ γ for every example
(x̃ = (x, 1) with an intercept, x without) and R = max‖x̃_i‖, the rule makes at most (R/γ)²
updates before it classifies every example correctly. On data that no hyperplane separates (XOR)
it never stops making mistakes. More than two classes are handled one-vs-rest.
"""
from __future__ import annotations

import numpy as np

from .base import (BaseEstimator, ClassifierMixin, ConvergenceWarning, LinearClassifierMixin,
                   _check_flags, _is_real, _warn, check_random_state)

__all__ = ["Perceptron"]


class Perceptron(LinearClassifierMixin, ClassifierMixin, BaseEstimator):
    """The perceptron learning rule, no gradients involved.

    Args:
        eta0: the step size (any positive value gives the same predictions from w = 0).
        max_iter: epochs (passes over the data).
        fit_intercept: learn b (equivalently, a constant feature 1).
        shuffle: visit the examples in a fresh random order each epoch.
        random_state: seeds the shuffling.

    Attributes:
        coef_ (1, p) or (K, p); intercept_ (1,) or (K,); n_iter_: epochs run;
        n_updates_: total corrections made (per binary unit summed); converged_: whether an
        epoch passed with no mistake (for every one-vs-rest unit); errors_: mistakes per epoch
        (of the first unit for K ≥ 3).

    Example:
        >>> import numpy as np
        >>> X = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]])
        >>> Perceptron(random_state=0).fit(X, [0, 0, 0, 1]).converged_   # AND is separable
        True
    """

    def __init__(self, *, eta0=1.0, max_iter=1000, fit_intercept=True, shuffle=True,
                 random_state=None):
        self.eta0 = eta0
        self.max_iter = max_iter
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.random_state = random_state

    def fit(self, X, y):
        X, y = self._validate_fit(X, y)
        if not (_is_real(self.eta0) and self.eta0 > 0):
            raise ValueError(f"Perceptron: eta0 must be > 0, got {self.eta0!r}")
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise ValueError(f"Perceptron: max_iter must be a positive integer, got {self.max_iter!r}")
        _check_flags(self, "fit_intercept", "shuffle")
        idx = self._encode_classes(y)
        K = len(self.classes_)
        rng = check_random_state(self.random_state)
        units = [1] if K == 2 else range(K)
        W, b, self.n_updates_, self.n_iter_, self.converged_ = [], [], 0, 0, True
        for k in units:
            s = np.where(idx == k, 1.0, -1.0)
            w, bk, updates, epochs, ok, errors = self._train_unit(X, s, rng)
            W.append(w)
            b.append(bk)
            self.n_updates_ += updates
            self.n_iter_ = max(self.n_iter_, epochs)
            self.converged_ &= ok
            if len(W) == 1:
                self.errors_ = errors
        self.coef_, self.intercept_ = np.array(W), np.array(b)
        if not self.converged_:
            _warn(f"Perceptron: still misclassifying training examples after {self.max_iter} "
                          "epochs; the classes may not be linearly separable (the rule never "
                          "stops on such data, e.g. XOR).", ConvergenceWarning, stacklevel=2)
        return self

    def _train_unit(self, X, s, rng):
        n, p = X.shape
        w, b, eta = np.zeros(p), 0.0, float(self.eta0)
        use_b = 1.0 if self.fit_intercept else 0.0
        updates, errors = 0, []
        for epoch in range(1, int(self.max_iter) + 1):
            order = rng.permutation(n) if self.shuffle else range(n)
            mistakes = 0
            for i in order:
                # NOTE: a per-example loop is the algorithm: each correction changes the next
                # example's score, so the epoch cannot be one array operation.
                if s[i] * (X[i] @ w + b) <= 0:
                    w += eta * s[i] * X[i]
                    b += eta * s[i] * use_b
                    mistakes += 1
            updates += mistakes
            errors.append(mistakes)
            if mistakes == 0:
                return w, b, updates, epoch, True, errors
        return w, b, updates, int(self.max_iter), False, errors
