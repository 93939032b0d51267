"""Capacity: how the width of a network moves it between underfitting and overfitting.

``fit_regression`` trains any model on a small regression set with full-batch updates and
records the training and validation MSE after every epoch (the curves that show a gap);
``capacity_sweep`` does that for one-hidden-layer MLPs of several widths.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fit_regression", "capacity_sweep", "CapacityResult", "make_sine_data"]


def make_sine_data(n, noise=0.0, seed=0, low=-np.pi, high=np.pi):
    """``n`` points x ~ U(low, high) with y = sin(x) + N(0, noise²), as float64 columns (n, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=(n, 1))
    y = np.sin(x) + noise * rng.standard_normal((n, 1))
    return x, y


def _as_tensor(a, dtype):
    from ..autograd import Tensor  # noqa: PLC0415

    return a if isinstance(a, Tensor) else Tensor(np.asarray(a, dtype=dtype))


def _match_target(y, out_shape, name):
    """``y`` shaped (N,) + out_shape: a (N,) target for a one-output model becomes (N, 1)."""
    want = (y.shape[0],) + out_shape
    if tuple(y.shape) == want:
        return y
    if int(np.prod(y.shape)) == int(np.prod(want)):
        return y.reshape(*want)
    raise ValueError(f"{name} has shape {tuple(y.shape)} but the model outputs (N,) + {out_shape}; give "
                     f"targets of shape {want}")


def fit_regression(model, x, y, x_val=None, y_val=None, *, epochs=500, lr=1e-2, optimizer="adam",
                   weight_decay=0.0, patience=None, dtype=None):
    """Full-batch MSE training; returns ``{"train_loss": [...], "val_loss": [...], "best_epoch": i}``.

    Args:
        model: a Module mapping (N, d_in) to (N, d_out).
        x, y, x_val, y_val: NumPy arrays or Tensors; validation is optional. A (N,) target
            for a model with one output is taken as (N, 1).
        epochs, lr: full-batch steps and learning rate.
        optimizer: ``'adam'``, ``'sgd'`` or an optimizer already built over the model.
        weight_decay: the L2 coefficient passed to the optimizer.
        patience: early stopping: stop when the validation loss has not improved for this many
            epochs and put back the weights of the best epoch (both curves then end with one
            more point, measured at those weights).
        dtype: the floating type NumPy data is converted to; None (the default) takes the
            model's parameter dtype (float64 for a model without parameters).

    The training loss is measured in ``eval()`` mode after each step (dropout off), so it is
    comparable with the validation loss. ``best_epoch`` is the epoch of the lowest validation
    loss, None without validation data.
    """
    from .. import functional as F  # noqa: PLC0415
    from .. import optim  # noqa: PLC0415
    from ..autograd import no_grad  # noqa: PLC0415

    if isinstance(optimizer, str):
        makers = {"adam": optim.Adam, "sgd": optim.SGD}
        if optimizer not in makers:
            raise ValueError(f"optimizer must be 'adam', 'sgd' or an optimizer object, got {optimizer!r}")
        opt = makers[optimizer](model.parameters(), lr=lr, weight_decay=weight_decay)
    else:
        opt = optimizer
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if patience is not None and x_val is None:
        raise ValueError("early stopping (patience=...) needs validation data x_val, y_val")
    if dtype is None:  # float64 data into a float32 model would fail in its first layer
        dtype = next((p._data.dtype for p in model.parameters() if p._data.dtype.kind == "f"), np.float64)
    x, y = _as_tensor(x, dtype), _as_tensor(y, dtype)
    has_val = x_val is not None
    if has_val:
        x_val, y_val = _as_tensor(x_val, dtype), _as_tensor(y_val, dtype)
    # a (N,) target against an (N, 1) prediction would broadcast to an (N, N) loss: look at the
    # output's shape once (in eval mode, so no dropout draw and no BatchNorm update)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    with no_grad():
        out_shape = tuple(model(x[:1]).shape[1:])
    for m, mode in modes:
        m.training = mode
    y = _match_target(y, out_shape, "y")
    if has_val:
        y_val = _match_target(y_val, out_shape, "y_val")
    train_curve, val_curve = [], []
    best, best_epoch, best_state, waited = np.inf, 0, None, 0
    for epoch in range(int(epochs)):
        model.train()
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.eval()
        with no_grad():
            train_curve.append(float(F.mse_loss(model(x), y)._data))
            if has_val:
                val_curve.append(float(F.mse_loss(model(x_val), y_val)._data))
        if has_val:
            if val_curve[-1] < best:
                best, best_epoch, waited = val_curve[-1], epoch, 0
                if patience is not None:
                    best_state = {k: v._data.copy() for k, v in model.state_dict().items()}
            else:
                waited += 1
                # ``patience`` epochs without improvement end it, as in train.EarlyStopping
                # (and Keras); ``waited > patience`` ran one more epoch than documented
                if patience is not None and waited >= patience:
                    break
    model.train()
    if patience is not None and best_state is not None:
        model.load_state_dict(best_state)
        model.eval()
        with no_grad():  # the curves end at the weights the model keeps
            train_curve.append(float(F.mse_loss(model(x), y)._data))
            val_curve.append(float(F.mse_loss(model(x_val), y_val)._data))
        model.train()
    # without validation there is no best epoch (0 would read as "the first epoch was best")
    return {"train_loss": train_curve, "val_loss": val_curve, "best_epoch": best_epoch if has_val else None}


class CapacityResult:
    """A capacity sweep: per width, the final training and validation MSE and the curves."""

    def __init__(self, widths, train_loss, val_loss, curves):
        self.widths = list(widths)
        self.train_loss = list(train_loss)
        self.val_loss = list(val_loss)
        self.curves = curves  # width -> {"train_loss": [...], "val_loss": [...]}

    def table(self):
        """Aligned text: width, final training MSE, final validation MSE."""
        lines = [f"{'width':>6}  {'train_mse':>10}  {'val_mse':>10}"]
        lines += [f"{w:>6}  {t:>10.4g}  {v:>10.4g}" for w, t, v in zip(self.widths, self.train_loss,
                                                                     self.val_loss)]
        return "\n".join(lines)

    def __repr__(self):
        return f"CapacityResult(widths={self.widths})"


def capacity_sweep(widths, x, y, x_val, y_val, *, activation="tanh", epochs=1000, lr=1e-2, seed=0,
                   weight_decay=0.0):
    """Train one-hidden-layer MLPs ``d_in → width → d_out`` of each width on the same data.

    Every width starts from ``nerve.manual_seed(seed)``. Returns a ``CapacityResult``;
    ``viz.plot_capacity(result, path)`` draws the final losses against width beside the
    training and validation curves.
    """
    from .. import nn  # noqa: PLC0415
    from ..random import manual_seed  # noqa: PLC0415

    widths = [int(w) for w in widths]
    if not widths or min(widths) < 1:
        raise ValueError(f"widths must be positive integers, got {widths}")
    x, y = np.asarray(x), np.asarray(y)
    d_in, d_out = x.shape[1], y.shape[1]
    train, val, curves = [], [], {}
    for w in widths:
        manual_seed(seed)
        model = nn.Sequential(nn.Linear(d_in, w), nn.get_activation(activation), nn.Linear(w, d_out)).double()
        h = fit_regression(model, x, y, x_val, y_val, epochs=epochs, lr=lr, weight_decay=weight_decay)
        train.append(h["train_loss"][-1])
        val.append(h["val_loss"][-1])
        curves[w] = {"train_loss": h["train_loss"], "val_loss": h["val_loss"]}
    return CapacityResult(widths, train, val, curves)
