"""The estimator contract shared by every model in ``nerve.classic``.

scikit-learn's rules, written out here so the package needs NumPy only:

* ``__init__`` stores its arguments unchanged under the same names and does nothing else;
  ``get_params`` reads them back from the signature, ``set_params`` writes them (nested
  ``name__param`` keys go to sub-estimators), so ``sklearn.base.clone`` builds an untrained copy.
* ``fit(X, y)`` validates its inputs, learns attributes whose names end in ``_`` (``coef_``,
  ``classes_``, ``n_features_in_`` ...) and returns ``self``.
* ``predict``, ``decision_function``, ``predict_proba``, ``transform`` raise
  :class:`NotFittedError` before ``fit`` and check that ``X`` has the fitted number of columns.
* ``score`` is accuracy for classifiers and R² for regressors.

``__sklearn_tags__`` is the one place that imports scikit-learn, lazily: only scikit-learn
calls it (from ``clone``, ``GridSearchCV``, ``check_estimator``), so importing and using
``nerve.classic`` never imports scikit-learn.
"""
from __future__ import annotations

import inspect
import numbers
import sys
import warnings

import numpy as np

__all__ = ["BaseEstimator", "ClassifierMixin", "LinearClassifierMixin", "RegressorMixin", "TransformerMixin",
           "NotFittedError", "ConvergenceWarning", "DataConversionWarning", "check_array",
           "check_X_y", "check_is_fitted", "check_random_state", "check_classification_targets",
           "check_sample_weight"]


class NotFittedError(ValueError, AttributeError):
    """The estimator was used before ``fit`` (a ValueError and an AttributeError, as in
    scikit-learn; when scikit-learn is loaded, also an instance of its NotFittedError)."""


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at ``max_iter`` before meeting its tolerance."""


class DataConversionWarning(UserWarning):
    """The input was converted (for example a column-vector y was flattened)."""


_INTEROP = {}


def _interop(cls, module, name):
    """``cls``, or, when scikit-learn is already loaded by the caller, a subclass of both ``cls``
    and scikit-learn's class of that name, so ``except sklearn.exceptions.NotFittedError`` and
    scikit-learn's warning filters see nerve's errors and warnings too. Never imports
    scikit-learn itself."""
    mod = sys.modules.get(module)
    other = getattr(mod, name, None) if mod is not None else None
    if other is None or issubclass(cls, other):
        return cls
    key = (cls, other)
    if key not in _INTEROP:
        _INTEROP[key] = type(cls.__name__, (cls, other), {"__module__": cls.__module__,
                                                         "__doc__": cls.__doc__})
    return _INTEROP[key]


def _not_fitted(msg):
    return _interop(NotFittedError, "sklearn.exceptions", "NotFittedError")(msg)


def _warn(msg, cls, stacklevel=3):
    warnings.warn(msg, _interop(cls, "sklearn.exceptions", cls.__name__), stacklevel=stacklevel + 1)


# ------------------------------------------------------------------------ validation
def _is_sparse(X):
    return hasattr(X, "toarray") and hasattr(X, "format") and hasattr(X, "nnz")


def _name(estimator):
    return type(estimator).__name__ if estimator is not None else "this estimator"


def check_array(X, *, estimator=None, name="X", ensure_2d=True, allow_nd=False,
                dtype=np.float64, allow_nan=False, min_samples=1, min_features=1):
    """``X`` as a finite float NumPy array, or a ValueError/TypeError that says what to change.

    Accepts lists, NumPy arrays (any memory order, read-only too), pandas frames and nerve
    Tensors. Rejects sparse matrices, complex numbers, strings that are not numbers, NaN and
    infinity, 1-D input where 2-D is needed, and empty arrays.
    """
    who = _name(estimator)
    if _is_sparse(X):
        raise TypeError(f"{who} does not support sparse input: a sparse matrix was passed, but "
                        "dense data is required. Use X.toarray() to convert to a dense array.")
    if hasattr(X, "numpy") and hasattr(X, "requires_grad"):  # a nerve Tensor
        X = X.numpy()
    if X is None:
        raise ValueError(f"{who} expected array-like (array or non-string sequence), got None "
                         f"for {name}")
    arr = np.asarray(X)
    if np.iscomplexobj(arr):
        raise ValueError(f"{who}: Complex data not supported in {name} (dtype {arr.dtype}); "
                         "pass the real part, the modulus or both as separate features")
    if dtype is not None and arr.dtype != dtype:
        try:
            arr = arr.astype(dtype)
        except (TypeError, ValueError) as e:
            kind = TypeError if isinstance(e, TypeError) else ValueError
            raise kind(f"{who}: could not convert {name} of dtype {arr.dtype} to {np.dtype(dtype)} "
                       f"({e}); encode categorical columns as numbers first") from None
    if ensure_2d:
        if arr.ndim == 0:
            raise ValueError(f"{who}: Expected 2D array, got scalar array instead: {name}={arr!r}. "
                             "Reshape your data with array.reshape(1, -1).")
        if arr.ndim == 1:
            raise ValueError(f"{who}: Expected 2D array, got 1D array instead: {name} of shape "
                             f"{arr.shape}. Reshape your data either using array.reshape(-1, 1) if "
                             "your data has a single feature or array.reshape(1, -1) if it "
                             "contains a single sample.")
        if arr.ndim > 2 and not allow_nd:
            raise ValueError(f"{who}: Found array with dim {arr.ndim} for {name} (shape "
                             f"{arr.shape}); expected <= 2. Flatten each sample, e.g. "
                             "X.reshape(len(X), -1).")
    n = arr.shape[0] if arr.ndim else 1
    if n < min_samples:
        raise ValueError(f"{who}: Found array with {n} sample(s) (shape={arr.shape}) while a "
                         f"minimum of {min_samples} is required.")
    if ensure_2d and arr.ndim == 2 and arr.shape[1] < min_features:
        raise ValueError(f"{who}: Found array with {arr.shape[1]} feature(s) (shape={arr.shape}) "
                         f"while a minimum of {min_features} is required.")
    if arr.dtype.kind == "f" and not allow_nan and not np.isfinite(arr).all():
        what = "NaN" if np.isnan(arr).any() else "infinity or a value too large for dtype('float64')"
        raise ValueError(f"Input {name} contains {what}. {who} does not accept missing or "
                         "infinite values; impute them (e.g. with the column mean) or drop those "
                         "rows first.")
    return arr


def _check_y(y, estimator, y_numeric, multi_output):
    who = _name(estimator)
    if y is None:
        raise ValueError(f"{who} requires y to be passed, but the target y is None; call "
                         "fit(X, y) with one target per row of X")
    if _is_sparse(y):
        raise TypeError(f"{who} does not support sparse input for y; use y.toarray().ravel()")
    if hasattr(y, "numpy") and hasattr(y, "requires_grad"):
        y = y.numpy()
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1 and not multi_output:
        _warn("A column-vector y was passed when a 1d array was expected. Please change "
              "the shape of y to (n_samples, ), for example using ravel().",
              DataConversionWarning, stacklevel=4)
        y = y[:, 0]
    if y.ndim != 1 and not (multi_output and y.ndim == 2):
        raise ValueError(f"{who}: y should be a 1d array, got an array of shape {y.shape} instead.")
    if y_numeric:
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{who}: y must be numeric for regression, got dtype "
                                 f"{y.dtype}") from None
        y = y.astype(np.float64)
        if not np.isfinite(y).all():
            what = "NaN" if np.isnan(y).any() else "infinity or a value too large for dtype('float64')"
            raise ValueError(f"Input y contains {what}. {who} needs finite targets; drop or "
                             "impute those rows.")
    elif y.dtype.kind == "f" and not np.isfinite(y).all():
        what = "NaN" if np.isnan(y).any() else "infinity"
        raise ValueError(f"Input y contains {what}. {who} needs a finite class label per row.")
    return y


def check_X_y(X, y, *, estimator=None, y_numeric=False, multi_output=False, dtype=np.float64):
    """Validated ``(X, y)``: X as :func:`check_array`, y 1-D (or 2-D with ``multi_output``) with
    one entry per row of X."""
    if y is None:
        _check_y(y, estimator, y_numeric, multi_output)
    X = check_array(X, estimator=estimator, dtype=dtype)
    y = _check_y(y, estimator, y_numeric, multi_output)
    if len(y) != len(X):
        raise ValueError(f"{_name(estimator)}: Found input variables with inconsistent numbers of "
                         f"samples: X has {len(X)} rows but y has {len(y)} entries; give one "
                         "target per row.")
    return X, y


def check_sample_weight(sample_weight, n, estimator=None):
    """``sample_weight`` as a float64 array of shape (n,) (None: all ones), or a ValueError:
    the weights must be finite, non-negative and not all zero."""
    who = _name(estimator)
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.shape != (n,):
        raise ValueError(f"{who}: sample_weight must have shape ({n},), one weight per sample, "
                         f"got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{who}: sample_weight must be finite and >= 0, got min "
                         f"{np.nanmin(w) if w.size else None!r}; drop those rows instead")
    if n and not w.sum() > 0:
        raise ValueError(f"{who}: sample_weight is all zero, so no sample counts; give at "
                         "least one sample a positive weight")
    return w


def check_classification_targets(y, estimator=None):
    """Refuse continuous targets for a classifier, as scikit-learn does."""
    if y.dtype.kind == "f" and y.size and np.any(y != np.round(y)):
        raise ValueError(f"{_name(estimator)}: Unknown label type: continuous. Maybe you are "
                         "trying to fit a classifier, which expects discrete classes on a "
                         "regression target with continuous values.")
    if y.dtype.kind == "O":
        kinds = {type(v) for v in y.ravel()[:100]}
        if len({k for k in kinds if k is not str}) and str in kinds:
            raise ValueError(f"{_name(estimator)}: Unknown label type: mixed strings and numbers "
                             f"({sorted(k.__name__ for k in kinds)}); use one type for labels.")


def check_is_fitted(estimator, attributes=None):
    """Raise :class:`NotFittedError` unless ``fit`` has set ``attributes`` (default: any
    attribute ending in ``_``)."""
    if attributes is None:
        fitted = [k for k in vars(estimator) if k.endswith("_") and not k.startswith("__")]
    else:
        attributes = [attributes] if isinstance(attributes, str) else attributes
        fitted = [a for a in attributes if hasattr(estimator, a)]
        fitted = fitted if len(fitted) == len(attributes) else []
    if not fitted:
        raise _not_fitted(f"This {type(estimator).__name__} instance is not fitted yet. Call "
                          "'fit' with appropriate arguments before using this estimator.")


def _is_real(value):
    """Whether ``value`` is a real number (not a bool, a string or None), so that comparing it
    gives a clear ValueError instead of a TypeError from ``'1' > 0``."""
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(value, bool)


def _check_flags(estimator, *names):
    """Raise a ValueError unless each ``estimator.<name>`` is a bool: a string such as 'False'
    is truthy and would silently switch the option on."""
    for name in names:
        v = getattr(estimator, name)
        if not isinstance(v, (bool, np.bool_)):
            raise ValueError(f"{type(estimator).__name__}: {name} must be True or False, got {v!r}")


def _check_tol(estimator):
    """Raise a ValueError unless ``estimator.tol`` is a real number >= 0."""
    if not (_is_real(estimator.tol) and estimator.tol >= 0):
        raise ValueError(f"{type(estimator).__name__}: tol must be >= 0, got {estimator.tol!r}")


def _check_positive_int(estimator, name):
    """Raise a ValueError unless ``estimator.<name>`` is an integer >= 1 (bools refused)."""
    v = getattr(estimator, name)
    if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)) or v < 1:
        raise ValueError(f"{type(estimator).__name__}: {name} must be a positive integer, got "
                         f"{v!r}")


def check_random_state(seed):
    """A ``np.random.Generator`` from None, an int, a Generator or a legacy RandomState."""
    if seed is None or isinstance(seed, (numbers.Integral, np.integer)):
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(0, 2**31 - 1))
    raise ValueError(f"random_state must be None, an int, a numpy Generator or RandomState, got "
                     f"{seed!r}")


# -------------------------------------------------------------------------- the base
class BaseEstimator:
    """Parameter handling, ``repr`` and the fitted-input checks of every estimator."""

    _estimator_type = None

    @classmethod
    def _param_names(cls):
        init = cls.__init__
        if init is object.__init__:
            return []
        sig = inspect.signature(init)
        names = []
        for p in sig.parameters.values():
            if p.name == "self" or p.kind == p.VAR_KEYWORD:
                continue
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(f"{cls.__name__}.__init__ must not take *args: scikit-learn "
                                   "estimators list every parameter by name")
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep=True):
        """The constructor arguments as a dict; with ``deep``, sub-estimators' as ``name__p``."""
        out = {}
        for name in self._param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                for k, v in value.get_params().items():
                    out[f"{name}__{k}"] = v
            out[name] = value
        return out

    def set_params(self, **params):
        """Set constructor arguments (``name__p`` reaches into a sub-estimator); returns self."""
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested = {}
        for key, value in params.items():
            head, sep, sub = key.partition("__")
            if head not in valid:
                raise ValueError(f"Invalid parameter {head!r} for estimator {type(self).__name__}. "
                                 f"Valid parameters are: {sorted(self._param_names())!r}.")
            if sep:
                nested.setdefault(head, {})[sub] = value
            else:
                setattr(self, head, value)
                valid[head] = value
        for head, sub_params in nested.items():
            valid[head].set_params(**sub_params)
        return self

    def __repr__(self):
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
                    if p.default is not p.empty}
        shown = []
        for k in self._param_names():
            v = getattr(self, k, None)
            d = defaults.get(k, inspect.Parameter.empty)
            same = False
            try:
                same = v is d or (not isinstance(v, np.ndarray) and bool(v == d))
            except Exception:  # noqa: BLE001 - arrays and odd objects compare oddly
                same = False
            if not same:
                shown.append(f"{k}={v!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __getstate__(self):
        return dict(self.__dict__)

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __sklearn_tags__(self):
        # NOTE: the one scikit-learn import, reached only when scikit-learn asks for the tags.
        from sklearn.utils import InputTags, Tags, TargetTags  # noqa: PLC0415

        kind = self._estimator_type if self._estimator_type in ("classifier", "regressor") else None
        tags = Tags(estimator_type=kind, target_tags=TargetTags(required=False),
                    transformer_tags=None, regressor_tags=None, classifier_tags=None,
                    input_tags=InputTags())
        return tags

    # ------------------------------------------------------------------ fitted checks
    def _validate_fit(self, X, y=None, *, y_numeric=False, multi_output=False):
        if y is None and self._needs_y():
            _check_y(None, self, y_numeric, multi_output)
        if y is None:
            X = check_array(X, estimator=self)
        else:
            X, y = check_X_y(X, y, estimator=self, y_numeric=y_numeric, multi_output=multi_output)
        self.n_features_in_ = X.shape[1]
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return X, y

    def _needs_y(self):
        return self._estimator_type in ("classifier", "regressor")

    def _validate_X(self, X):
        check_is_fitted(self)
        X = check_array(X, estimator=self)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input; pass the same columns "
                             "that fit() saw.")
        return X


class ClassifierMixin:
    """``score`` = accuracy; ``classes_`` from the sorted unique labels of y."""

    _estimator_type = "classifier"

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags  # noqa: PLC0415

        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = True
        return tags

    def _encode_classes(self, y, min_classes=2):
        check_classification_targets(y, self)
        try:
            classes, idx = np.unique(y, return_inverse=True)
        except TypeError:
            raise ValueError(f"{type(self).__name__}: Unknown label type: labels mix types that "
                             "cannot be sorted together; use one type for all labels") from None
        if len(classes) < min_classes:
            raise ValueError(f"{type(self).__name__} needs samples of at least {min_classes} "
                             f"classes in the data, but the data contains only 1 class: "
                             f"{classes.tolist()[0]!r}; check that y is not constant.")
        self.classes_ = classes
        return idx.reshape(-1)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``)."""
        from ..metrics import accuracy  # noqa: PLC0415

        return accuracy(np.asarray(y), self.predict(X), sample_weight=sample_weight)


class RegressorMixin:
    """``score`` = R² of ``predict(X)``."""

    _estimator_type = "regressor"

    def __sklearn_tags__(self):
        from sklearn.utils import RegressorTags  # noqa: PLC0415

        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags()
        tags.target_tags.required = True
        return tags

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²."""
        y = np.asarray(y, dtype=np.float64)
        pred = np.asarray(self.predict(X), dtype=np.float64)
        # Compare as (n, k) columns, as scikit-learn's r2_score: a (n, 1) target against (n,)
        # predictions (or the reverse) would otherwise broadcast to an (n, n) table and give a
        # silently wrong score.
        y = y.reshape(len(y), -1)
        pred = pred.reshape(len(pred), -1)
        if y.shape != pred.shape:
            raise ValueError(f"{type(self).__name__}.score: y has shape {y.shape} but the "
                             f"predictions have {pred.shape}; pass one target column per output")
        if len(y) < 2:
            # one sample has no variance to explain: NaN with a warning, as r2_score
            from ..metrics import UndefinedMetricWarning  # noqa: PLC0415

            _warn(f"{type(self).__name__}.score: R² is undefined for fewer than two samples "
                  f"(got {len(y)}); returning NaN", UndefinedMetricWarning, stacklevel=2)
            return float("nan")
        w = check_sample_weight(sample_weight, len(y), self).reshape(-1, 1)
        num = (w * (y - pred) ** 2).sum(axis=0)
        den = (w * (y - np.average(y, axis=0, weights=w.ravel())) ** 2).sum(axis=0)
        r2 = np.where(den > 0, 1 - num / np.where(den > 0, den, 1), np.where(num == 0, 1.0, 0.0))
        return float(np.mean(r2))


class TransformerMixin:
    """``fit_transform`` = ``fit`` then ``transform``."""

    _estimator_type = "transformer"

    def __sklearn_tags__(self):
        from sklearn.utils import TransformerTags  # noqa: PLC0415

        tags = super().__sklearn_tags__()
        tags.transformer_tags = TransformerTags()
        return tags

    def fit_transform(self, X, y=None, **fit_params):
        return self.fit(X, y, **fit_params).transform(X)


class LinearClassifierMixin:
    """``decision_function`` and ``predict`` for a fitted linear classifier with ``coef_``
    (K or 1, d), ``intercept_`` and ``classes_``: scores X·coef_ᵀ + intercept_, (n,) for
    two classes (positive means ``classes_[1]``), (n, K) otherwise."""

    def decision_function(self, X):
        X = self._validate_X(X)
        S = X @ self.coef_.T + self.intercept_
        return S[:, 0] if S.shape[1] == 1 else S

    def predict(self, X):
        S = self.decision_function(X)
        idx = (S > 0).astype(int) if S.ndim == 1 else S.argmax(axis=1)
        return self.classes_[idx]
