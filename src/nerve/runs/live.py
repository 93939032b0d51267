"""Training one batch at a time, for a live view: :class:`LiveSession`.

``nerve train`` runs a whole fit; an interactive page needs to pause after any batch, take a
single step, change the learning rate between two batches, read the curves so far and, for
2-D data, the model's decision over the plane. :class:`LiveSession` is that loop. It uses the
library's pieces (``models.playground_mlp``, ``nerve.optim``, the training doctor, run folders)
and has no notion of a network or a browser.

Data sets: ``"mnist"`` and ``"fashion-mnist"`` (a subset of the training split, standardized
with its own mean and std, and the first ``test_size`` test images), or one of the 2-D sets of
:func:`nerve.data.make_playground` (``"circle"``, ``"xor"``, ``"gaussians"``, ``"spiral"``)
split into train and test by ``train_fraction``.

A session on an image set can be saved as an ordinary run folder (:meth:`LiveSession.save`)
that ``nerve evaluate`` and :func:`~nerve.runs.load_run` open. A session on a 2-D set cannot:
a run folder names a registered dataset whose test split ``evaluate`` loads from files, and
the 2-D sets are generated on the spot (from a seed, a size and a noise level) with inputs
that are points, not 28×28 images; :meth:`save` refuses them with that reason.

    >>> s = LiveSession({"dataset": "xor", "hidden": [8], "activation": "tanh", "lr": 0.03,
    ...                  "optimizer": "adam", "batch_size": 16, "seed": 0})
    >>> _ = s.step(300)
    >>> s.metrics()["test_accuracy"] > 0.9
    True
"""
from __future__ import annotations

import math

import numpy as np

from . import RunError

__all__ = ["LiveSession", "LIVE_DATASETS", "IMAGE_DATASETS", "LIVE_DEFAULTS", "live_config",
           "train_default_run"]

IMAGE_DATASETS = ("mnist", "fashion-mnist")
LIVE_DATASETS = IMAGE_DATASETS + ("circle", "xor", "gaussians", "spiral")
LIVE_DEFAULTS = {"dataset": "xor", "hidden": [8, 8], "activation": "tanh", "optimizer": "adam", "lr": 0.03,
                 "batch_size": 16, "regularization": "none", "reg_rate": 0.0, "noise": 0.0,
                 "train_fraction": 0.5, "points": 400, "train_size": 10000, "test_size": 2000, "seed": 0}
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "leaky_relu", "identity")
_OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "rmsprop", "adagrad")
_LIMITS = {"lr": (1e-6, 10.0), "batch_size": (1, 1024), "reg_rate": (0.0, 1.0), "noise": (0.0, 0.5),
           "train_fraction": (0.1, 0.9), "points": (20, 5000), "train_size": (100, 60000),
           "test_size": (100, 10000), "seed": (0, 2 ** 31 - 1)}
MAX_LAYERS, MAX_WIDTH = 6, 256


def _num(cfg, key, integer=False):
    v = cfg[key]
    lo, hi = _LIMITS[key]
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if integer:
        ok = ok and float(v).is_integer()
    if not ok or not lo <= v <= hi:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{key} must be {kind} from {lo:g} to {hi:g}, got {v!r}")
    return int(v) if integer else float(v)


def live_config(config: dict) -> dict:
    """``config`` over :data:`LIVE_DEFAULTS`, every field checked (ValueError names the bad one)."""
    if not isinstance(config, dict):
        raise ValueError(f"a training config must be an object, got {type(config).__name__}")
    unknown = sorted(set(config) - set(LIVE_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown training options {unknown}; known: {', '.join(LIVE_DEFAULTS)}")
    cfg = {**LIVE_DEFAULTS, **config}
    if cfg["dataset"] not in LIVE_DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(LIVE_DATASETS)}, got {cfg['dataset']!r}")
    hidden = cfg["hidden"]
    if (not isinstance(hidden, list) or len(hidden) > MAX_LAYERS
            or not all(isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= MAX_WIDTH for h in hidden)):
        raise ValueError(f"hidden must be a list of at most {MAX_LAYERS} widths from 1 to {MAX_WIDTH}, got {hidden!r}")
    if cfg["activation"] not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {cfg['activation']!r}")
    if cfg["optimizer"] not in _OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(_OPTIMIZERS)}, got {cfg['optimizer']!r}")
    if cfg["regularization"] not in ("none", "l1", "l2"):
        raise ValueError(f"regularization must be 'none', 'l1' or 'l2', got {cfg['regularization']!r}")
    for key in ("lr", "reg_rate", "noise", "train_fraction"):
        cfg[key] = _num(cfg, key)
    for key in ("batch_size", "points", "train_size", "test_size", "seed"):
        cfg[key] = _num(cfg, key, integer=True)
    return cfg


class _Loop:
    """What the training doctor reads from a trainer: the model, the loss, the step count."""

    def __init__(self, model, loss_fn):
        self.model, self.loss_fn = model, loss_fn
        self.global_step, self.stop_training = 0, False


class LiveSession:
    """An MLP, its data and optimizer, trained batch by batch on request.

    Args:
        config: training options over :data:`LIVE_DEFAULTS` (checked by :func:`live_config`):
            ``dataset``, ``hidden`` (list of widths), ``activation``, ``optimizer``, ``lr``,
            ``batch_size``, ``regularization`` ('none', 'l1', 'l2') with ``reg_rate``, for 2-D
            sets ``noise``, ``train_fraction`` and ``points``, for image sets ``train_size`` and
            ``test_size``, and ``seed``.

    Attributes:
        step_count: batches trained so far; ``epoch``: finished passes over the training data.
        history: one dict per :meth:`metrics` call (step, epoch, losses, accuracies, lr).
        findings: the training doctor's findings so far (dicts, see ``nerve.train.doctor``).
    """

    def __init__(self, config: dict | None = None):
        from .. import models, nn  # noqa: PLC0415
        from ..random import manual_seed  # noqa: PLC0415
        from ..train.doctor import TrainingDoctor  # noqa: PLC0415
        from .training import make_optimizer  # noqa: PLC0415

        self.config = cfg = live_config(config or {})
        self.is_image = cfg["dataset"] in IMAGE_DATASETS
        self._load_data()
        manual_seed(cfg["seed"])
        self.model_kwargs = {"hidden": ",".join(map(str, cfg["hidden"])), "activation": cfg["activation"],
                             "in_features": int(np.prod(self.x_train.shape[1:])),
                             "num_classes": len(self.classes)}
        self.model = models.get_model("playground-mlp", **self.model_kwargs)
        self.loss_fn = nn.CrossEntropyLoss()
        try:
            self.optimizer = make_optimizer(cfg["optimizer"], self.model.parameters(), cfg["lr"])
        except RunError as e:
            raise ValueError(str(e)) from None
        self._rng = np.random.default_rng(cfg["seed"])
        self._order, self._pos = self._rng.permutation(len(self.y_train)), 0
        self.step_count, self.epoch = 0, 0
        self._epoch_losses: list[float] = []
        self.history: list[dict] = []
        self._loop = _Loop(self.model, self.loss_fn)
        self.doctor = TrainingDoctor(every=5, num_classes=len(self.classes))
        self.doctor.set_trainer(self._loop)
        self._doctor_started = False
        self.diverged = False

    # ------------------------------------------------------------------ data
    def _load_data(self):
        cfg = self.config
        if self.is_image:
            from ..data.datasets import load_split  # noqa: PLC0415

            x, y, classes, _ = load_split(cfg["dataset"], True)
            xt, yt, _, _ = load_split(cfg["dataset"], False)
            x, y = x[:cfg["train_size"]], y[:cfg["train_size"]]
            xt, yt = xt[:cfg["test_size"]], yt[:cfg["test_size"]]
            self.mean, self.std = float(x.mean()), float(x.std()) or 1.0
            norm = lambda a: ((a - np.float32(self.mean)) / np.float32(self.std)).astype(np.float32)  # noqa: E731
            self.x_train, self.y_train, self.x_test, self.y_test = norm(x), y, norm(xt), yt
            self.classes = list(classes)
        else:
            from ..data.toy2d import make_playground  # noqa: PLC0415

            x, y = make_playground(cfg["dataset"], cfg["points"], cfg["noise"], cfg["seed"])
            n_train = max(1, min(len(y) - 1, int(round(cfg["train_fraction"] * len(y)))))
            self.x_train, self.y_train = x[:n_train], y[:n_train]
            self.x_test, self.y_test = x[n_train:], y[n_train:]
            self.mean, self.std = 0.0, 1.0
            self.classes = ["0", "1"]

    # -------------------------------------------------------------- training
    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def set_lr(self, lr) -> None:
        """Change the learning rate from the next batch on."""
        lo, hi = _LIMITS["lr"]
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or not lo <= lr <= hi:
            raise ValueError(f"lr must be a number from {lo:g} to {hi:g}, got {lr!r}")
        for g in self.optimizer.param_groups:
            g["lr"] = float(lr)
        self.config["lr"] = float(lr)

    def _penalty(self):
        kind, rate = self.config["regularization"], self.config["reg_rate"]
        if kind == "none" or rate == 0:
            return None
        total = None
        for name, p in self.model.named_parameters():
            if name.endswith("weight"):
                term = (p * p).sum() * (rate / 2) if kind == "l2" else p.abs().sum() * rate
                total = term if total is None else total + term
        return total

    def step(self, n: int = 1) -> int:
        """Train ``n`` batches (fewer if the run diverged); returns how many were trained."""
        from ..autograd import Tensor  # noqa: PLC0415

        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        if not self._doctor_started:
            self.doctor.on_train_begin()
            self.doctor.on_epoch_begin(0)
            self._doctor_started = True
        done = 0
        self.model.train()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for _ in range(n):
                if self.diverged:
                    break
                bs = self.config["batch_size"]
                idx = self._order[self._pos:self._pos + bs]
                batch_in_epoch = self._pos // bs
                self.doctor.on_batch_begin(batch_in_epoch)
                self.optimizer.zero_grad()
                out = self.model(Tensor(self.x_train[idx]))
                loss = self.loss_fn(out, Tensor(self.y_train[idx]))
                penalty = self._penalty()
                total = loss + penalty if penalty is not None else loss
                value = float(loss.item())
                if not math.isfinite(value):
                    self.diverged = True
                    self.doctor._record("diverging", f"the training loss became {value}", {"loss": value})
                    break
                total.backward()
                self.doctor.on_batch_end(batch_in_epoch, {"loss": value})
                self.optimizer.step()
                self._loop.global_step += 1
                self.step_count += 1
                done += 1
                self._epoch_losses.append(value)
                self._pos += bs
                if self._pos >= len(self._order):
                    self._end_epoch()
        return done

    def _end_epoch(self):
        test_loss, _ = self._evaluate(self.x_test, self.y_test)
        self.doctor.on_epoch_end(self.epoch, {"loss": float(np.mean(self._epoch_losses)), "val_loss": test_loss})
        self.epoch += 1
        self._epoch_losses = []
        self._order, self._pos = self._rng.permutation(len(self.y_train)), 0
        self.doctor.on_epoch_begin(self.epoch)

    # ------------------------------------------------------------ reading
    def _logits(self, x) -> np.ndarray:
        from ..autograd import Tensor, no_grad  # noqa: PLC0415

        self.model.eval()
        try:
            with no_grad(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return np.concatenate([self.model(Tensor(x[i:i + 2000])).numpy()
                                       for i in range(0, len(x), 2000)]).astype(np.float64)
        finally:
            self.model.train()

    def _evaluate(self, x, y):
        logits = self._logits(x)
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = float(-logp[np.arange(len(y)), y].mean())
        return loss, float((logits.argmax(axis=1) == y).mean())

    def metrics(self) -> dict:
        """Loss and accuracy on the training and test data now; appended to :attr:`history`."""
        train_loss, train_acc = self._evaluate(self.x_train, self.y_train)
        test_loss, test_acc = self._evaluate(self.x_test, self.y_test)
        row = {"step": self.step_count, "epoch": self.epoch, "lr": self.lr,
               "train_loss": train_loss if math.isfinite(train_loss) else None, "train_accuracy": train_acc,
               "test_loss": test_loss if math.isfinite(test_loss) else None, "test_accuracy": test_acc}
        self.history.append(row)
        return row

    @property
    def findings(self) -> list:
        return self.doctor.findings

    def boundary(self, resolution: int = 40, extent: float = 1.6):
        """P(class 1) on a ``resolution``² grid over [−extent, extent]² (2-D sets only).

        Row 0 is the top of the plane (y = +extent), column 0 its left (x = −extent).
        """
        if self.is_image:
            raise ValueError("a decision boundary exists for the 2-D data sets only")
        if isinstance(resolution, bool) or not isinstance(resolution, int) or not 4 <= resolution <= 200:
            raise ValueError(f"resolution must be an integer from 4 to 200, got {resolution!r}")
        xs = np.linspace(-extent, extent, resolution)
        gx, gy = np.meshgrid(xs, xs[::-1])
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
        logits = self._logits(grid)
        p1 = 1.0 / (1.0 + np.exp(np.clip(logits[:, 0] - logits[:, 1], -50, 50)))
        return p1.reshape(resolution, resolution)

    def points(self) -> dict:
        """The 2-D training and test points with their labels (for drawing)."""
        if self.is_image:
            raise ValueError("points exist for the 2-D data sets only")
        return {"train": self.x_train.tolist(), "train_labels": self.y_train.tolist(),
                "test": self.x_test.tolist(), "test_labels": self.y_test.tolist()}

    # ------------------------------------------------------------- saving
    def save(self, folder):
        """Write the model as a run folder that ``nerve evaluate`` accepts; returns the Run.

        Image data sets only (see the module docstring for why the 2-D sets are refused).
        """
        from . import Run  # noqa: PLC0415

        if not self.is_image:
            raise ValueError(f"{self.config['dataset']!r} is a generated 2-D set: a run folder names a dataset "
                             "whose test split 'nerve evaluate' loads from files, so only MNIST and "
                             "Fashion-MNIST sessions can be saved")
        test_loss, test_acc = self._evaluate(self.x_test, self.y_test)
        config = {"model": "playground-mlp", "model_kwargs": self.model_kwargs, "dataset": self.config["dataset"],
                  "input_shape": [1, 28, 28], "classes": self.classes,
                  "normalize": {"mean": self.mean, "std": self.std},
                  "optimizer": self.config["optimizer"], "lr": self.lr, "batch_size": self.config["batch_size"],
                  "seed": self.config["seed"], "source": "nerve serve (live training)",
                  "steps": self.step_count, "epochs_done": self.epoch,
                  "results": {"test_loss": test_loss, "test_accuracy": test_acc,
                              "test_samples": int(len(self.y_test))}}
        run = Run.create(folder, config)
        run.save_weights(self.model)
        run.finish("complete")
        return run


def train_default_run(folder, epochs: int = 3, seed: int = 0, quiet: bool = True):
    """Train the chapter-1 network (784-16-16-10, sigmoid) on MNIST into ``folder``.

    The digit page's default when no run exists yet: Adam, lr 0.01, batches of 64, no
    shifts; a few seconds of training. Returns the :class:`~nerve.runs.Run`.
    """
    from . import Run, load_run  # noqa: PLC0415
    from .training import prepare, fit, run_config  # noqa: PLC0415

    settings = {"model": "chapter1-mlp", "model_kwargs": {}, "dataset": "mnist", "epochs": epochs,
                "batch_size": 64, "optimizer": "adam", "lr": 0.01, "seed": seed, "val_fraction": 0.0,
                "shift": 0, "limit": None}
    prep = prepare(settings)
    config = run_config(settings, prep)
    run = Run.create(folder, config)
    fit(run, settings, prep, config, quiet=quiet)
    return load_run(folder)
