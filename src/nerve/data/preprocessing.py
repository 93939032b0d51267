"""Fit-on-train preprocessing for tabular data: scalers, a one-hot encoder, column routing and a
pipeline that can be saved to JSON and loaded back (no pickle).

Each step learns its parameters in ``fit(X)`` from the training split only and applies them
with ``transform(X)``; calling ``transform`` before ``fit`` is an error, so test data can
never leak into the statistics. The formulas follow scikit-learn's, so results match it.

Example:
    >>> import numpy as np
    >>> X = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> StandardScaler().fit(X).transform(X).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from ..io.atomic import write_text
from ..io.jsonfile import load_json


def _as_2d(X, who):
    X = np.asarray(X.data if hasattr(X, "requires_grad") else X)
    if X.ndim != 2:
        raise ValueError(f"{who} expects a 2-D array (samples, features), got shape {X.shape}; "
                         "reshape a single feature with x.reshape(-1, 1)")
    if who.endswith(".fit") and len(X) == 0:  # statistics of nothing would be NaN or empty
        raise ValueError(f"{who} needs at least one sample, got an array of shape {X.shape}")
    return X


def _check_width(X, n_features, who):
    # Without this, an (N, 1) input would broadcast against (F,) statistics into (N, F).
    if X.shape[1] != n_features:
        raise ValueError(f"{who} was fitted on {n_features} features, got an array with {X.shape[1]}; "
                         "pass the same columns as in fit")


class Preprocessor:
    """Base class: ``fit`` / ``transform`` / ``fit_transform`` plus a JSON-friendly state."""

    _state_keys: tuple = ()

    def fit(self, X, y=None):
        raise NotImplementedError

    def transform(self, X):
        raise NotImplementedError

    def fit_transform(self, X, y=None):
        return self.fit(X, y).transform(X)

    def _check_fitted(self):
        if getattr(self, self._state_keys[0], None) is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit() on the training split "
                               "first (fitting on test data would leak it into the statistics)")

    def get_params(self) -> dict:
        return {}

    def state_dict(self) -> dict:
        self._check_fitted()
        return {k: np.asarray(getattr(self, k)).tolist() for k in self._state_keys}

    def load_state_dict(self, state: dict) -> None:
        for k in self._state_keys:
            setattr(self, k, np.asarray(state[k], dtype=np.float64))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class StandardScaler(Preprocessor):
    """Standardize each feature: ``(x - mean) / std`` with the training split's mean and std.

    The std is the population one (``ddof=0``); a constant feature gets scale 1, as in
    scikit-learn. Transformed training data has mean 0 and std 1 per feature.

    Args:
        with_mean: subtract the mean. with_std: divide by the std.

    Shapes:
        ``(N, F) -> (N, F)``; ``mean_`` and ``scale_`` are ``(F,)``.

    Example:
        >>> import numpy as np
        >>> s = StandardScaler().fit(np.array([[0.0], [2.0]]))
        >>> s.mean_.tolist(), s.scale_.tolist(), s.transform(np.array([[4.0]])).tolist()
        ([1.0], [1.0], [[3.0]])
    """

    _state_keys = ("mean_", "scale_")

    def __init__(self, with_mean=True, with_std=True):
        self.with_mean, self.with_std = bool(with_mean), bool(with_std)
        self.mean_ = self.scale_ = None

    def get_params(self):
        return {"with_mean": self.with_mean, "with_std": self.with_std}

    def fit(self, X, y=None):
        X = _as_2d(X, "StandardScaler.fit").astype(np.float64)
        # NaN marks a missing value (scikit-learn's rule): it is left out of the statistics
        # and stays NaN in transform, instead of turning its whole column into NaN.
        n, eps = (~np.isnan(X)).sum(axis=0), np.finfo(np.float64).eps
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: mean NaN
            self.mean_ = np.nanmean(X, axis=0)
            var = np.nanvar(X, axis=0)
        # NOTE: scikit-learn's test for a constant feature: a variance within rounding error
        # of zero (it grows with n and |mean|); such features keep scale 1 instead of ~0.
        constant = var <= n * eps * var + (n * self.mean_ * eps) ** 2
        std = np.sqrt(var)
        self.scale_ = np.where(constant | (std < 10 * eps), 1.0, std)
        return self

    def transform(self, X):
        self._check_fitted()
        X = _as_2d(X, "StandardScaler.transform").astype(np.float64)
        if X.shape[1] != self.mean_.size:
            raise ValueError(f"StandardScaler was fitted on {self.mean_.size} features, got {X.shape[1]}")
        if self.with_mean:
            X = X - self.mean_
        if self.with_std:
            X = X / self.scale_
        return X

    def inverse_transform(self, X):
        self._check_fitted()
        X = _as_2d(X, "StandardScaler.inverse_transform").astype(np.float64)
        _check_width(X, self.mean_.size, "StandardScaler")
        return (X * self.scale_ if self.with_std else X) + (self.mean_ if self.with_mean else 0.0)


class MinMaxScaler(Preprocessor):
    """Rescale each feature linearly so the training split spans ``feature_range`` (default [0, 1]).

    ``x * scale_ + min_`` with ``scale_ = (hi - lo) / (max - min)`` (a constant feature gets
    range 1) and ``min_ = lo - min * scale_``, scikit-learn's formula.

    Example:
        >>> import numpy as np
        >>> MinMaxScaler().fit_transform(np.array([[1.0], [3.0], [5.0]])).ravel().tolist()
        [0.0, 0.5, 1.0]
    """

    _state_keys = ("scale_", "min_", "data_min_", "data_max_")

    def __init__(self, feature_range=(0.0, 1.0)):
        lo, hi = feature_range
        if not lo < hi:
            raise ValueError(f"MinMaxScaler: feature_range must be (low, high) with low < high, got "
                             f"{feature_range}")
        self.feature_range = (float(lo), float(hi))
        self.scale_ = self.min_ = self.data_min_ = self.data_max_ = None

    def get_params(self):
        return {"feature_range": list(self.feature_range)}

    def fit(self, X, y=None):
        X = _as_2d(X, "MinMaxScaler.fit").astype(np.float64)
        lo, hi = self.feature_range
        with warnings.catch_warnings():  # NaN is a missing value, left out (scikit-learn's rule)
            warnings.simplefilter("ignore", RuntimeWarning)
            self.data_min_, self.data_max_ = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
        data_range = self.data_max_ - self.data_min_
        data_range = np.where(data_range < 10 * np.finfo(np.float64).eps, 1.0, data_range)
        self.scale_ = (hi - lo) / data_range
        self.min_ = lo - self.data_min_ * self.scale_
        return self

    def transform(self, X):
        self._check_fitted()
        X = _as_2d(X, "MinMaxScaler.transform").astype(np.float64)
        if X.shape[1] != self.scale_.size:
            raise ValueError(f"MinMaxScaler was fitted on {self.scale_.size} features, got {X.shape[1]}")
        return X * self.scale_ + self.min_

    def inverse_transform(self, X):
        self._check_fitted()
        X = _as_2d(X, "MinMaxScaler.inverse_transform")
        _check_width(X, self.scale_.size, "MinMaxScaler")
        return (X - self.min_) / self.scale_


class OneHotEncoder(Preprocessor):
    """One-hot encode categorical columns (numbers or strings) into dense indicator columns.

    ``fit`` records each column's sorted categories; ``transform`` gives, per column, one
    indicator column per category, concatenated left to right (scikit-learn's layout with
    ``sparse_output=False``).

    Args:
        handle_unknown: ``'error'`` (default) or ``'ignore'`` (an unseen category encodes as
            all zeros).
        dtype: output dtype (float64).

    Example:
        >>> import numpy as np
        >>> enc = OneHotEncoder().fit(np.array([["b"], ["a"], ["b"]]))
        >>> enc.categories_, enc.transform(np.array([["a"], ["b"]])).tolist()
        ([['a', 'b']], [[1.0, 0.0], [0.0, 1.0]])
    """

    _state_keys = ("categories_",)

    def __init__(self, handle_unknown="error", dtype=np.float64):
        if handle_unknown not in ("error", "ignore"):
            raise ValueError(f"handle_unknown must be 'error' or 'ignore', got {handle_unknown!r}")
        self.handle_unknown, self.dtype = handle_unknown, np.dtype(dtype)
        self.categories_ = None

    def get_params(self):
        return {"handle_unknown": self.handle_unknown, "dtype": self.dtype.name}

    def fit(self, X, y=None):
        X = _as_2d(X, "OneHotEncoder.fit")
        self.categories_ = [np.unique(X[:, j]).tolist() for j in range(X.shape[1])]
        return self

    def transform(self, X):
        self._check_fitted()
        X = _as_2d(X, "OneHotEncoder.transform")
        if X.shape[1] != len(self.categories_):
            raise ValueError(f"OneHotEncoder was fitted on {len(self.categories_)} columns, got {X.shape[1]}")
        blocks = []
        for j, cats in enumerate(self.categories_):
            cats_arr, col, valid = _comparable(np.asarray(cats), X[:, j])
            pos = np.searchsorted(cats_arr, col)
            pos = np.clip(pos, 0, len(cats) - 1)
            known = (cats_arr[pos] == col) & valid
            if cats_arr.dtype.kind == "f":  # NaN seen in fit is a category of its own
                known |= np.isnan(cats_arr[pos]) & np.isnan(col)
            if not known.all() and self.handle_unknown == "error":
                bad = X[np.flatnonzero(~known)[0], j]
                bad = bad.item() if isinstance(bad, np.generic) else bad
                raise ValueError(f"OneHotEncoder: column {j} has category {bad!r} not seen in fit "
                                 f"(known: {cats}); use handle_unknown='ignore' to encode it as zeros")
            block = np.zeros((len(X), len(cats)), dtype=self.dtype)
            rows = np.flatnonzero(known)
            block[rows, pos[rows]] = 1
            blocks.append(block)
        return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(X), 0), self.dtype)

    def state_dict(self):
        self._check_fitted()
        return {"categories_": [list(c) for c in self.categories_]}

    def load_state_dict(self, state):
        self.categories_ = [list(c) for c in state["categories_"]]


def _comparable(cats, col):
    """``(cats, col, valid)``: categories and column in one dtype that matches values exactly.

    Casting the column to the categories' dtype would turn 2.5 into the known category 2,
    and casting integers to float would make 2**60 equal 2**60 + 1. Values that cannot be
    one of the categories (a fraction or text against integers) are marked not ``valid``."""
    valid = np.ones(len(col), dtype=bool)
    if cats.dtype.kind not in "biuf":
        return cats, col, valid
    if col.dtype.kind not in "biuf":
        try:
            col = col.astype(np.float64)
        except (TypeError, ValueError):
            return cats, np.full(len(col), cats[0]), np.zeros(len(col), dtype=bool)
    if cats.dtype.kind in "biu" and col.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(col) & (col == np.round(col)) & (np.abs(col) < 2.0 ** 63)
        col = np.where(valid, col, 0).astype(np.int64)
        return cats.astype(np.int64), col, valid
    common = np.result_type(cats.dtype, col.dtype)
    return cats.astype(common), col.astype(common), valid


class ColumnTransformer(Preprocessor):
    """Send column groups to different preprocessors and concatenate their outputs.

    Args:
        transformers: ``[(name, preprocessor, columns), ...]``, ``columns`` a list of integer
            column positions.
        remainder: ``'drop'`` (default) or ``'passthrough'`` for the columns not listed.

    Example:
        >>> import numpy as np
        >>> X = np.array([[1.0, 0.0], [3.0, 1.0]])
        >>> ct = ColumnTransformer([("num", StandardScaler(), [0]), ("cat", OneHotEncoder(), [1])])
        >>> ct.fit_transform(X).tolist()
        [[-1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]
    """

    def __init__(self, transformers, remainder="drop"):
        if remainder not in ("drop", "passthrough"):
            raise ValueError(f"remainder must be 'drop' or 'passthrough', got {remainder!r}")
        self.transformers = [(str(n), t, [int(c) for c in cols]) for n, t, cols in transformers]
        self.remainder = remainder
        self.n_features_in_ = None

    def get_params(self):
        return {"remainder": self.remainder}

    def _check_fitted(self):
        if self.n_features_in_ is None:
            raise RuntimeError("ColumnTransformer is not fitted yet: call fit() on the training split first")

    def _rest(self):
        used = {c for _, _, cols in self.transformers for c in cols}
        return [c for c in range(self.n_features_in_) if c not in used]

    def fit(self, X, y=None):
        X = _as_2d(X, "ColumnTransformer.fit")
        n = X.shape[1]
        steps = []
        for name, t, cols in self.transformers:
            bad = [c for c in cols if not -n <= c < n]
            if bad:
                raise ValueError(f"ColumnTransformer step {name!r} uses column {bad[0]}, but X has "
                                 f"{n} columns")
            # -1 is the last column: stored as its position so that remainder='passthrough'
            # does not pass that column through a second time
            steps.append((name, t, [c % n for c in cols]))
        self.transformers, self.n_features_in_ = steps, n
        for _, t, cols in self.transformers:
            t.fit(X[:, cols])
        return self

    def transform(self, X):
        self._check_fitted()
        X = _as_2d(X, "ColumnTransformer.transform")
        _check_width(X, self.n_features_in_, "ColumnTransformer")
        out = [np.asarray(t.transform(X[:, cols]), dtype=np.float64) for _, t, cols in self.transformers]
        if self.remainder == "passthrough":
            out.append(X[:, self._rest()].astype(np.float64))
        return np.concatenate(out, axis=1)

    def state_dict(self):
        self._check_fitted()
        return {"n_features_in_": self.n_features_in_,
                "transformers": [_describe(t, name, cols) for name, t, cols in self.transformers]}

    def load_state_dict(self, state):
        self.n_features_in_ = int(state["n_features_in_"])
        self.transformers = [(d["name"], _build(d), d["columns"]) for d in state["transformers"]]


class Pipeline(Preprocessor):
    """Steps applied in order; ``fit`` fits each step on the previous step's output.

    ``save(path)`` writes the parameters and fitted state as JSON (atomically: a temporary
    file renamed into place); ``Pipeline.load(path)`` rebuilds an identical pipeline.

    Example:
        >>> import numpy as np
        >>> p = Pipeline([("minmax", MinMaxScaler()), ("std", StandardScaler())])
        >>> p.fit(np.array([[0.0], [4.0]])).transform(np.array([[2.0]])).tolist()
        [[0.0]]
    """

    def __init__(self, steps):
        self.steps = [(str(n), s) for n, s in steps]
        names = [n for n, _ in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"Pipeline step names must be unique, got {names}")
        self._fitted = False

    def _check_fitted(self):
        if not self._fitted:
            raise RuntimeError("Pipeline is not fitted yet: call fit() on the training split first")

    def fit(self, X, y=None):
        for _, step in self.steps:
            X = step.fit_transform(X) if hasattr(step, "fit_transform") else step.fit(X).transform(X)
        self._fitted = True
        return self

    def transform(self, X):
        self._check_fitted()
        for _, step in self.steps:
            X = step.transform(X)
        return X

    def __getitem__(self, name):
        for n, s in self.steps:
            if n == name:
                return s
        raise KeyError(f"Pipeline has no step {name!r}; steps are {[n for n, _ in self.steps]}")

    def state_dict(self):
        self._check_fitted()
        return {"steps": [_describe(s, n) for n, s in self.steps]}

    def load_state_dict(self, state):
        self.steps = [(d["name"], _build(d)) for d in state["steps"]]
        self._fitted = True

    def save(self, path) -> Path:
        """Write the fitted pipeline to ``path`` as JSON; returns the path."""
        path = Path(path)
        text = json.dumps({"format": "nerve.data.Pipeline", "version": 1, **self.state_dict()})
        write_text(path, text)  # a temporary file renamed into place: the old file survives a crash
        return path

    @classmethod
    def load(cls, path) -> "Pipeline":
        """Rebuild a pipeline written by :meth:`save`."""
        state = load_json(path)  # errors name the file (missing, not JSON, ...)
        kind = state.get("format") if isinstance(state, dict) else type(state).__name__
        if kind != "nerve.data.Pipeline":
            raise ValueError(f"{path} is not a saved nerve Pipeline (format {kind!r}); write one with "
                             "Pipeline.save")
        p = cls([])
        p.load_state_dict(state)
        return p


_REGISTRY = {c.__name__: c for c in (StandardScaler, MinMaxScaler, OneHotEncoder, ColumnTransformer, Pipeline)}


def _describe(step, name, columns=None) -> dict:
    kind = type(step).__name__
    if _REGISTRY.get(kind) is not type(step):
        raise TypeError(f"cannot save step {name!r} of type {kind}: only {sorted(_REGISTRY)} can be "
                        "written to JSON")
    d = {"name": name, "class": kind, "params": step.get_params(), "state": step.state_dict()}
    if columns is not None:
        d["columns"] = list(columns)
    return d


def _build(d: dict):
    cls = _REGISTRY.get(d["class"])
    if cls is None:
        raise ValueError(f"unknown preprocessing step class {d['class']!r} in saved state")
    params = dict(d["params"])
    if cls is ColumnTransformer:
        obj = cls([], **params)
    elif cls is Pipeline:
        obj = cls([])
    else:
        if "feature_range" in params:
            params["feature_range"] = tuple(params["feature_range"])
        obj = cls(**params)
    obj.load_state_dict(d["state"])
    return obj
