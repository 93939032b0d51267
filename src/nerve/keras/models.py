"""``Sequential``: Keras's model API (compile, fit, evaluate, predict, summary) over nerve.

The layers become one ``nn.Sequential`` of nerve modules (channels-first inside; the model
takes Keras's channels-last arrays and converts them at the input), and ``fit`` /
``evaluate`` / ``predict`` hand that module to :class:`nerve.train.Trainer`: there is one
training loop in nerve, and this facade only translates Keras's arguments into it.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import Tensor
from ..data import DataLoader, TensorDataset
from ..train import Callback, ProgressBar, Trainer
from ..onnx import register_converter
from . import layers as L
from . import optimizers as _opt

__all__ = ["Sequential"]


class _ToChannelsFirst(nn.Module):
    """(N, H, W, C) -> (N, C, H, W) at the model's input."""

    def forward(self, x):
        return x.permute(0, 3, 1, 2)


def _onnx_to_channels_first(g, m, x, v, path):
    return g.node("Transpose", [x], path, perm=[0, 3, 1, 2])


def _onnx_flatten(g, m, x, v, path):
    if v.ndim == 4:
        x = g.node("Transpose", [x], path + ".to_channels_last", perm=[0, 2, 3, 1])
    return g.node("Flatten", [x], path, axis=1)


def _onnx_net(g, m, x, v, path):
    out, value = g.convert(m.body, x, v, "body")
    return out if m.head is None else g.convert(m.head, out, value, "head")[0]


class _ToChannelsLast(nn.Module):
    """(N, C, H, W) -> (N, H, W, C) at the output of a model that ends with images."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1)


def _onnx_to_channels_last(g, m, x, v, path):
    return g.node("Transpose", [x], path, perm=[0, 2, 3, 1])


class _Net(nn.Module):
    """The built model: the body (up to the logits) and the final softmax/sigmoid, kept apart so
    the cross-entropy losses can work from logits (what Keras does internally, for stability)."""

    def __init__(self, body, head):
        super().__init__()
        self.body, self.head = body, head

    def forward(self, x):
        out = self.body(x)
        return out if self.head is None else self.head(out)


register_converter(_ToChannelsFirst, _onnx_to_channels_first)
register_converter(_ToChannelsLast, _onnx_to_channels_last)
register_converter(L._ChannelsLastFlatten, _onnx_flatten)
register_converter(_Net, _onnx_net)


class _Logits(nn.Module):
    """A view of the net that stops before the final activation (shares its parameters)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.body(x)


def _sparse_ce_probs(p, y):
    p = F.clamp(p, 1e-7, 1.0 - 1e-7)
    return F.nll_loss(F.log(p), y)


def _soft_ce_logits(z, y):
    return -(y * F.log_softmax(z, dim=-1)).sum(dim=-1).mean()


def _soft_ce_probs(p, y):
    p = F.clamp(p / p.sum(dim=-1, keepdim=True), 1e-7, 1.0 - 1e-7)
    return -(y * F.log(p)).sum(dim=-1).mean()


def _bce_probs(p, y):
    p = F.clamp(p, 1e-7, 1.0 - 1e-7)
    y = y.reshape(p.shape)
    return -(y * F.log(p) + (1 - y) * F.log(1 - p)).mean()


def _binary_accuracy_logits(z, y):
    """Binary accuracy from logits: a logit above 0 is a probability above 0.5."""
    return float(np.mean((z.reshape(y.shape) > 0) == (y > 0.5)))


_binary_accuracy_logits.__name__ = "accuracy"     # the Trainer logs it as 'accuracy', as Keras does

_LOSS_ALIASES = {"mean_squared_error": "mse", "mean_absolute_error": "mae"}
_LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy", "mse", "mae",
           "huber")


class Sequential:
    """A linear stack of Keras layers.

    Args:
        layers: a list of layers; the first gives the input shape (``input_shape=`` or an
            ``Input(shape)`` entry), channels last for images.
        name: the model name shown by ``summary()``.

    Example:
        >>> import numpy as np
        >>> from nerve import keras
        >>> from nerve.keras import layers
        >>> model = keras.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)),
        ...                           layers.Dense(3, activation="softmax")])
        >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        >>> x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
        >>> y = (x[:, 0] > 0).astype(np.int64)
        >>> history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        >>> sorted(history.history), model.predict(x, verbose=0).shape
        (['accuracy', 'loss'], (32, 3))
    """

    def __init__(self, layers=None, name="sequential"):
        self.name = name
        self.layers = []
        self._input_shape = None
        self._net = None
        self._compiled = None
        self.history = None
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ structure
    def add(self, layer):
        """Append a layer (checked against the shapes so far, so a misfit fails here)."""
        if not isinstance(layer, L.Layer):
            raise TypeError(f"Sequential.add expects a nerve.keras layer, got {type(layer).__name__}")
        if self._net is not None:
            raise ValueError("the model is already built; add every layer before compile/fit/predict")
        if isinstance(layer, L.InputLayer):
            if self.layers or self._input_shape is not None:
                raise ValueError("Input(...) must come first in a Sequential model")
            self._input_shape = layer.input_shape
            return
        if not self.layers and self._input_shape is None and layer.input_shape is not None:
            self._input_shape = layer.input_shape
        elif self.layers and layer.input_shape is not None:
            raise ValueError(f"only the first layer takes input_shape; {layer.kind} got {layer.input_shape}")
        self.layers.append(layer)
        self._name_layers()
        if self._input_shape is not None:
            self._shapes()                    # raises at once if the new layer does not fit

    def _name_layers(self):
        seen = {}
        for layer in self.layers:
            base = L._snake(layer.kind)
            k = seen.get(base, 0)
            seen[base] = k + 1
            if layer.name is None or getattr(layer, "_auto_name", False):
                layer.name = base if k == 0 else f"{base}_{k}"
                layer._auto_name = True

    def _shapes(self):
        """[(layer, input shape, output shape)] for every layer."""
        if self._input_shape is None:
            raise ValueError("the model has no input shape yet: give the first layer input_shape=(...) or "
                             "start with keras.Input(shape)")
        out, shape = [], self._input_shape
        for layer in self.layers:
            new = tuple(int(s) for s in layer.output_shape(shape))
            out.append((layer, shape, new))
            shape = new
        return out

    @property
    def input_shape(self):
        return None if self._input_shape is None else (None,) + self._input_shape

    @property
    def output_shape(self):
        rows = self._shapes()
        return (None,) + (rows[-1][2] if rows else self._input_shape)

    def count_params(self):
        """Trainable plus non-trainable parameters, counted from the shapes (no weights needed)."""
        return sum(sum(layer.count_params(i)) for layer, i, _ in self._shapes())

    def build(self, input_shape=None):
        """Create the weights (done for you by compile, fit, evaluate and predict)."""
        if input_shape is not None:
            shape = tuple(int(s) for s in input_shape)
            self._input_shape = shape[1:] if len(shape) > 1 and input_shape[0] is None else shape
        if self._net is not None:
            return self._net
        rows = self._shapes()
        if not rows:
            raise ValueError("the model has no layers; add some before building it")
        mods = [_ToChannelsFirst()] if len(self._input_shape) == 3 else []
        for layer, shape, _ in rows:
            mods += layer.build(shape)
        head = None
        if len(rows[-1][2]) == 3:                  # the model ends with images: hand them back channels last
            mods.append(_ToChannelsLast())
        elif mods and isinstance(mods[-1], (nn.Softmax, nn.Sigmoid)):
            head = mods.pop()
        self._net = _Net(nn.Sequential(*mods), head)
        return self._net

    @property
    def module(self):
        """The nerve module the model runs (built on first use)."""
        return self.build()

    def __call__(self, x):
        return self.build()(x if isinstance(x, Tensor) else Tensor(np.asarray(x, np.float32)))

    # ------------------------------------------------------------------ summary
    def summary(self, line_length=65, print_fn=None):
        """Print the layer table in Keras's layout: Layer (type) / Output Shape / Param #, then totals."""
        rows = self._shapes()
        widths = [int(line_length * 0.45), int(line_length * 0.85) - int(line_length * 0.45)]
        widths.append(line_length - sum(widths))          # Keras's column stops: 45 %, 85 %, 100 %

        def line(cells):
            return "".join(str(c)[:w - 1].ljust(w) if i < 2 else str(c).ljust(w)
                           for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        out = [f'Model: "{self.name}"', "_" * line_length,
               line([" Layer (type)", "Output Shape", "Param #"]), "=" * line_length]
        trainable = frozen = 0
        for layer, shape, new in rows:
            t, f = layer.count_params(shape)
            trainable, frozen = trainable + t, frozen + f
            shape_text = "(None, " + ", ".join(str(s) for s in new) + ")"
            out.append(line([f" {layer.name} ({layer.kind})", shape_text, f"{t + f:,}"]))
            out.append("")
        if rows:
            out.pop()
        out += ["=" * line_length, f"Total params: {trainable + frozen:,}", f"Trainable params: {trainable:,}",
                f"Non-trainable params: {frozen:,}", "_" * line_length]
        text = "\n".join(out)
        (print_fn or print)(text)
        return text

    # ------------------------------------------------------------------ training
    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Choose the optimizer (a name such as ``'adam'``, a ``nerve.keras.optimizers`` object, a
        nerve optimizer class or a built nerve optimizer), the loss (a Keras name or a callable
        ``loss(outputs, targets)``) and the metrics (``['accuracy']``)."""
        net = self.build()
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='sparse_categorical_crossentropy'")
        if isinstance(loss, str):
            name = _LOSS_ALIASES.get(loss, loss)
            if name not in _LOSSES:
                raise ValueError(f"unknown loss {loss!r}; use one of {list(_LOSSES)} or a callable")
        elif not callable(loss):
            raise TypeError(f"loss must be a name or a callable, got {type(loss).__name__}")
        metrics = list(metrics or [])
        for m in metrics:
            if isinstance(m, str) and m not in ("accuracy", "acc"):
                raise ValueError(f"unknown metric {m!r}; the built-in one is 'accuracy' (or pass a callable)")
        self._compiled = {"optimizer": _opt.get(optimizer, net.parameters()), "loss": loss,
                          "metrics": ["accuracy" if m == "acc" else m for m in metrics]}

    def _loss_and_module(self):
        """(module to train, loss function): cross-entropy after a softmax/sigmoid works from the logits."""
        net, loss = self._net, self._compiled["loss"]
        if callable(loss):
            return net, loss
        name = _LOSS_ALIASES.get(loss, loss)
        head = net.head
        if name == "sparse_categorical_crossentropy":
            if isinstance(head, nn.Softmax):
                return _Logits(net), nn.CrossEntropyLoss()
            return net, _sparse_ce_probs
        if name == "categorical_crossentropy":
            return (_Logits(net), _soft_ce_logits) if isinstance(head, nn.Softmax) else (net, _soft_ce_probs)
        if name == "binary_crossentropy":
            if isinstance(head, nn.Sigmoid):
                bce = nn.BCEWithLogitsLoss()
                return _Logits(net), lambda z, y: bce(z, y.reshape(z.shape))
            return net, _bce_probs
        base = {"mse": nn.MSELoss(), "mae": nn.L1Loss(), "huber": nn.HuberLoss()}[name]
        return net, lambda out, y: base(out, y.reshape(out.shape))

    def _trainer(self, callbacks=(), verbose=0):
        if self._compiled is None:
            raise ValueError("compile the model before fit/evaluate: model.compile(optimizer='adam', loss=...)")
        module, loss = self._loss_and_module()
        cbs = list(callbacks or [])
        for cb in cbs:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be nerve.train callbacks, got {type(cb).__name__}")
        if verbose not in (0, False):
            cbs.append(ProgressBar())
        metrics = self._compiled["metrics"]
        if isinstance(module, _Logits) and isinstance(self._net.head, nn.Sigmoid):
            metrics = [_binary_accuracy_logits if m == "accuracy" else m for m in metrics]
        return Trainer(module, self._compiled["optimizer"], loss, metrics=metrics, callbacks=cbs)

    def _arrays(self, x, y=None):
        x = np.asarray(x.numpy() if isinstance(x, Tensor) else x)
        first = next(iter(self.build().parameters()), None)
        dtype = np.float32 if first is None else first.dtype
        x = x.astype(dtype, copy=False)        # the model's dtype (float32), as Keras casts inputs
        if self._input_shape is not None and tuple(x.shape[1:]) != self._input_shape:
            raise ValueError(f"the model expects inputs of shape (batch,) + {self._input_shape} (channels last), "
                             f"got {x.shape}")
        if y is None:
            return x, None
        y = np.asarray(y.numpy() if isinstance(y, Tensor) else y)
        if len(y) != len(x):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
        name = self._compiled["loss"] if self._compiled else None
        classes = self.output_shape[1:]
        if name == "sparse_categorical_crossentropy":
            if y.size != len(y):
                raise ValueError(f"sparse_categorical_crossentropy takes one class index per sample, got y of "
                                 f"shape {y.shape}; for one-hot targets use loss='categorical_crossentropy'")
            y = y.reshape(len(y)).astype(np.int64)
        elif name == "categorical_crossentropy" and y.shape[1:] != classes:
            # (N,) labels would broadcast against (N, C) outputs: an error, or nonsense when N == C
            raise ValueError(f"categorical_crossentropy takes one-hot targets of shape (N,) + {classes}, got y "
                             f"of shape {y.shape}; for class indices use loss='sparse_categorical_crossentropy'")
        else:
            y = y.astype(dtype, copy=False)
        return x, y

    def fit(self, x, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None, callbacks=None,
            verbose="auto", shuffle=True, initial_epoch=0):
        """Train for ``epochs`` passes and return the ``History`` (``history.history['loss']`` ...).

        ``validation_split`` holds out the *last* fraction of ``x`` / ``y`` (before shuffling), as
        Keras does; ``validation_data=(x_val, y_val)`` gives a separate set. As in Keras,
        ``epochs`` is the index to stop at, so ``initial_epoch=2, epochs=5`` runs epochs 2, 3
        and 4, and ``batch_size=None`` means 32. The batches come from a ``DataLoader`` and
        the loop is :meth:`nerve.train.Trainer.fit`.
        """
        self.build()
        batch_size = 32 if batch_size is None else batch_size
        x, y = self._arrays(x, y)
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must lie in [0, 1), got {validation_split}")
        val = None
        if validation_data is not None:
            if len(validation_data) == 3 and validation_data[2] is not None:
                # Dropping them silently would report unweighted validation numbers.
                raise ValueError("validation_data=(x, y, sample_weight): sample weights are not supported "
                                 "by this facade; pass validation_data=(x_val, y_val)")
            if len(validation_data) not in (2, 3):
                raise ValueError(f"validation_data must be (x_val, y_val), got a sequence of "
                                 f"{len(validation_data)} items")
            val = self._arrays(*validation_data[:2])
        elif validation_split > 0:
            cut = int(len(x) * (1.0 - validation_split))
            if cut in (0, len(x)):
                raise ValueError(f"validation_split={validation_split} leaves no training or no validation "
                                 f"samples out of {len(x)}")
            x, y, val = x[:cut], y[:cut], (x[cut:], y[cut:])
        trainer = self._trainer(callbacks, verbose if verbose != "auto" else 1)
        train_loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)
        val_loader = None if val is None else DataLoader(TensorDataset(*val), batch_size=batch_size)
        self.history = trainer.fit(train_loader, epochs=epochs, val_loader=val_loader, initial_epoch=initial_epoch)
        self.history.history.pop("lr", None)      # Keras's History holds the losses and metrics only
        return self.history

    def evaluate(self, x, y, batch_size=32, verbose="auto", return_dict=False):
        """Loss (and metrics) over ``x`` / ``y``: ``[loss, metric, ...]`` or a scalar without metrics."""
        self.build()
        batch_size = 32 if batch_size is None else batch_size
        x, y = self._arrays(x, y)
        logs = self._trainer().evaluate(DataLoader(TensorDataset(x, y), batch_size=batch_size))
        if return_dict:
            return logs
        values = [logs["loss"]] + [logs[k] for k in logs if k != "loss"]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=32, verbose="auto"):
        """The model's outputs for ``x`` as a NumPy array (probabilities after a softmax)."""
        net = self.build()
        batch_size = 32 if batch_size is None else batch_size
        x, _ = self._arrays(x)
        return Trainer(net, None, lambda o, t: o, metrics=()).predict(x, batch_size=batch_size)

    def export_onnx(self, path, batch_size=1, **kwargs):
        """Write the model as an ONNX file (channels-last input, as the model takes); the
        arguments after ``path`` are :func:`nerve.onnx.export`'s (``input_names``,
        ``output_names``, ``dynamic_axes``, ``opset_version``). Returns the ``onnx.ModelProto``."""
        from ..onnx import export  # noqa: PLC0415

        net = self.build()
        first = next(iter(net.parameters()), None)
        dtype = np.float32 if first is None else first.dtype
        return export(net, Tensor(np.zeros((batch_size,) + self._input_shape, dtype)), path, **kwargs)

    def get_weights(self):
        """The parameters as NumPy arrays, in the nerve module's order (channels-first kernels)."""
        return [p.numpy().copy() for p in self.build().parameters()]
