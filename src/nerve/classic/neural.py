"""Any nerve network as a scikit-learn estimator: ``NeuralNetClassifier``, ``NeuralNetRegressor``.

The wrapper holds the recipe (module, loss, optimizer, epochs, batch size, callbacks, validation
split, seed) as constructor parameters; ``fit`` builds a fresh copy of the module, trains it with
nerve's ``Trainer`` and keeps it as ``module_``. So ``sklearn.base.clone`` gives an untrained copy,
``GridSearchCV`` can search over ``lr``, ``epochs`` or the module's own arguments
(``module__hidden=...``), and the network drops into a ``Pipeline`` after a scaler.

``module`` may be

* an ``nn.Module`` instance: deep-copied and re-initialised (``reset_parameters`` on every
  sub-module) at each ``fit``, never trained in place;
* a class or factory: called with the ``module__*`` arguments, plus ``in_features`` and
  ``out_features`` inferred from the data when its signature takes them and they are not given;
* ``None``: a one-hidden-layer ReLU MLP, ``module__hidden`` units wide (default 32).
"""
from __future__ import annotations

import copy
import inspect

import numpy as np

from .base import BaseEstimator, ClassifierMixin, RegressorMixin, check_is_fitted, check_random_state

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor", "MLP"]

_ROUTED = ("module__", "optimizer__", "criterion__")


def MLP(in_features, out_features, hidden=32):  # noqa: N802 - a module factory, named like one
    """Linear(in, hidden) → ReLU → Linear(hidden, out): the default module of the wrappers."""
    from .. import nn  # noqa: PLC0415

    widths = [hidden] if isinstance(hidden, (int, np.integer)) else list(hidden)
    layers, prev = [], in_features
    for w in widths:
        layers += [nn.Linear(prev, int(w)), nn.ReLU()]
        prev = int(w)
    layers.append(nn.Linear(prev, out_features))
    return nn.Sequential(*layers)


class _NeuralNet(BaseEstimator):
    def __init__(self, module=None, *, criterion=None, optimizer="adam", lr=0.01, epochs=20,
                 batch_size=32, callbacks=None, validation_split=0.0, weight_decay=0.0,
                 random_state=None, dtype="float32", **kwargs):
        self.module = module
        self.criterion = criterion
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.callbacks = callbacks
        self.validation_split = validation_split
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.dtype = dtype
        for k, v in kwargs.items():          # checked in fit, as scikit-learn asks of __init__
            setattr(self, k, v)

    # -------------------------------------------------------------- parameters
    def _routed(self, prefix=None):
        keys = [k for k in vars(self) if k.startswith(_ROUTED) and not k.endswith("_")]
        if prefix is None:
            return {k: getattr(self, k) for k in keys}
        return {k[len(prefix):]: getattr(self, k) for k in keys if k.startswith(prefix)}

    def get_params(self, deep=True):
        out = super().get_params(deep=False)
        out.update(self._routed())
        return out

    def set_params(self, **params):
        for k, v in params.items():
            if k.startswith(_ROUTED):
                setattr(self, k, v)
            elif k in self._param_names():
                setattr(self, k, v)
            else:
                raise ValueError(f"Invalid parameter {k!r} for estimator {type(self).__name__}. "
                                 f"Valid parameters are: {self._param_names()!r} and "
                                 "module__*, optimizer__*, criterion__* arguments.")
        return self

    # ------------------------------------------------------------------- build
    def _build_module(self, n_in, n_out):
        from ..nn import Module  # noqa: PLC0415

        kwargs = self._routed("module__")
        if self.module is None:
            kwargs.setdefault("hidden", 32)
            return MLP(n_in, n_out, **kwargs)
        if isinstance(self.module, Module):
            if kwargs:
                raise ValueError(f"{type(self).__name__}: module__ arguments {sorted(kwargs)} need a "
                                 "module class or factory, not an already built instance")
            net = copy.deepcopy(self.module)
            for m in net.modules():
                reset = getattr(m, "reset_parameters", None)
                if callable(reset):
                    reset()
            return net
        if callable(self.module):
            try:
                sig = inspect.signature(self.module).parameters
            except (TypeError, ValueError):
                sig = {}
            if "in_features" in sig and "in_features" not in kwargs:
                kwargs["in_features"] = n_in
            if "out_features" in sig and "out_features" not in kwargs:
                kwargs["out_features"] = n_out
            net = self.module(**kwargs)
            if not isinstance(net, Module):
                raise TypeError(f"{type(self).__name__}: module() returned {type(net).__name__}, not "
                                "an nn.Module")
            return net
        raise TypeError(f"{type(self).__name__}: module must be an nn.Module, a class or factory "
                        f"returning one, or None; got {type(self.module).__name__}")

    def _build_optimizer(self, params):
        from .. import optim  # noqa: PLC0415

        names = {"adam": optim.Adam, "adamw": optim.AdamW, "sgd": optim.SGD,
                 "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad}
        opt = self.optimizer
        if isinstance(opt, str):
            if opt.lower() not in names:
                raise ValueError(f"{type(self).__name__}: optimizer {opt!r} is not one of "
                                 f"{sorted(names)}; or pass an optimizer class")
            opt = names[opt.lower()]
        kw = dict(lr=float(self.lr), **self._routed("optimizer__"))
        if self.weight_decay:
            kw["weight_decay"] = float(self.weight_decay)
        return opt(params, **kw)

    def _build_criterion(self, default):
        kwargs = self._routed("criterion__")
        if self.criterion is None:
            return default(**kwargs)
        if isinstance(self.criterion, type):
            return self.criterion(**kwargs)
        return self.criterion

    def _check_hyper(self):
        name = type(self).__name__
        known = set(self._param_names()) | set(self._routed())
        stray = [k for k in vars(self) if not k.endswith("_") and not k.startswith("_")
                 and k not in known]
        if stray:
            raise TypeError(f"{name} got unexpected argument(s) {stray}; arguments for the module, "
                            "optimizer or loss start with 'module__', 'optimizer__' or 'criterion__'")
        for k in ("epochs", "batch_size"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name}: {k} must be a positive integer, got {v!r}")
        if not 0.0 <= float(self.validation_split) < 1.0:
            raise ValueError(f"{name}: validation_split must be in [0, 1), got {self.validation_split!r}")
        if not float(self.lr) > 0:
            raise ValueError(f"{name}: lr must be > 0, got {self.lr!r}")

    # --------------------------------------------------------------------- fit
    def _train(self, X, targets, n_out, default_loss, metrics):
        from .. import random as nv_random  # noqa: PLC0415
        from ..data import DataLoader, TensorDataset  # noqa: PLC0415
        from ..train import Trainer  # noqa: PLC0415

        self._check_hyper()
        rng = check_random_state(self.random_state)
        nv_random.manual_seed(int(rng.integers(0, 2**31 - 1)))     # module initialisation
        X = X.astype(self.dtype)
        n = len(X)
        n_val = int(round(float(self.validation_split) * n))
        order = rng.permutation(n)
        val_idx, tr_idx = order[:n_val], order[n_val:]
        if len(tr_idx) == 0:
            raise ValueError(f"{type(self).__name__}: validation_split={self.validation_split} leaves "
                             "no training samples")
        self.module_ = self._build_module(X.shape[1], n_out).to(np.dtype(self.dtype))
        self.criterion_ = self._build_criterion(default_loss)
        opt = self._build_optimizer(self.module_.parameters())
        seed = int(rng.integers(0, 2**31 - 1))
        train_loader = DataLoader(TensorDataset(X[tr_idx], targets[tr_idx]),
                                  batch_size=int(self.batch_size), shuffle=True, seed=seed)
        val_loader = None
        if n_val:
            val_loader = DataLoader(TensorDataset(X[val_idx], targets[val_idx]),
                                    batch_size=max(int(self.batch_size), 256))
        trainer = Trainer(self.module_, opt, self.criterion_, metrics=metrics,
                          callbacks=list(self.callbacks or ()))
        history = trainer.fit(train_loader, epochs=int(self.epochs), val_loader=val_loader)
        self.history_ = history.to_dict()
        self.module_.eval()
        return self

    def _forward(self, X):
        from ..autograd import Tensor, no_grad  # noqa: PLC0415

        check_is_fitted(self, "module_")
        X = self._validate_X(X).astype(self.dtype)
        with no_grad():
            out = self.module_(Tensor(X))
        return np.asarray(out.numpy(), dtype=np.float64)


class NeuralNetClassifier(ClassifierMixin, _NeuralNet):
    """A nerve network as a scikit-learn classifier (softmax cross-entropy by default).

    The module maps (N, p) inputs to (N, K) logits, K = the number of classes in y.

    Args:
        module: an ``nn.Module``, a module class/factory, or None (``MLP``); see the module text.
        criterion: the loss (class or instance), default ``nn.CrossEntropyLoss``.
        optimizer: ``'adam'``, ``'sgd'``, ``'adamw'``, ``'rmsprop'``, ``'adagrad'`` or a class.
        lr, weight_decay: the optimizer's; ``optimizer__momentum=0.9`` etc. pass through.
        epochs, batch_size: of training (shuffled mini-batches).
        callbacks: nerve ``train`` callbacks (``EarlyStopping(monitor='val_loss')`` ...).
        validation_split: the fraction of the training data held out and evaluated each epoch
            (``history_['val_loss']``).
        random_state: seeds the initial weights, the split and the shuffling.
        dtype: the float type the network runs in.
        **kwargs: ``module__*``, ``optimizer__*``, ``criterion__*`` arguments.

    Attributes: ``module_`` (the trained network), ``classes_``, ``history_`` (per-epoch logs),
    ``n_features_in_``.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(200, 2)); y = (X[:, 0] > 0).astype(int)
        >>> clf = NeuralNetClassifier(epochs=30, random_state=0).fit(X, y)
        >>> clf.score(X, y) > 0.95
        True
    """

    def fit(self, X, y):
        from .. import nn  # noqa: PLC0415

        X, y = self._validate_fit(X, y)
        idx = self._encode_classes(y)
        return self._train(X, idx.astype(np.int64), len(self.classes_), nn.CrossEntropyLoss,
                           ("accuracy",))

    def predict_proba(self, X):
        """(n, K) softmax of the network's logits, columns in the order of ``classes_``."""
        S = self._logits(X)
        S = S - S.max(axis=1, keepdims=True)
        P = np.exp(S)
        return P / P.sum(axis=1, keepdims=True)

    def _logits(self, X):
        S = self._forward(X)
        if S.ndim != 2 or S.shape[1] != len(self.classes_):
            raise ValueError(f"NeuralNetClassifier: the module returned shape {S.shape} but there are "
                             f"{len(self.classes_)} classes; its last layer needs "
                             f"{len(self.classes_)} outputs")
        return S

    def decision_function(self, X):
        """Logits: (n, K), or for two classes the difference s₁ − s₀, shape (n,)."""
        S = self._logits(X)
        return S[:, 1] - S[:, 0] if S.shape[1] == 2 else S

    def predict(self, X):
        idx = self._logits(X).argmax(axis=1)
        return self.classes_[idx]


class NeuralNetRegressor(RegressorMixin, _NeuralNet):
    """A nerve network as a scikit-learn regressor (mean squared error by default).

    The module maps (N, p) to (N, k) outputs; y is (N,) (then k = 1 and ``predict`` returns
    (N,)) or (N, k). Arguments as :class:`NeuralNetClassifier`.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).uniform(-1, 1, size=(200, 1)); y = 2 * X[:, 0] + 1
        >>> reg = NeuralNetRegressor(epochs=60, lr=0.02, random_state=0).fit(X, y)
        >>> reg.score(X, y) > 0.95
        True
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y):
        from .. import nn  # noqa: PLC0415

        X, y = self._validate_fit(X, y, y_numeric=True, multi_output=True)
        self._y_1d = y.ndim == 1
        Y = y.reshape(len(y), -1).astype(self.dtype)
        return self._train(X, Y, Y.shape[1], nn.MSELoss, ())

    def predict(self, X):
        out = self._forward(X)
        out = out.reshape(len(out), -1)
        return out[:, 0] if self._y_1d else out

