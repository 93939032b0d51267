"""Callbacks: small objects the training loop calls at fixed points (Keras-style hooks).

Hooks, in the order ``Trainer.fit`` calls them::

    on_train_begin(logs)
      on_epoch_begin(epoch, logs)
        on_batch_begin(step, logs) / on_batch_end(step, logs)   # once per batch
      on_epoch_end(epoch, logs)     # logs: loss, metrics, val_*, lr
    on_train_end(logs)

``epoch`` counts from 0 and ``step`` is the batch index inside the epoch; the trainer's
``global_step`` counts every optimizer update. A callback reaches the trainer (and its
``model`` and ``optimizer``) through ``self.trainer``; setting ``trainer.stop_training``
ends ``fit`` after the current batch. Only callbacks that override a batch hook are called
per batch, so an epoch-level callback costs nothing inside the loop.
"""
from __future__ import annotations

import csv
import io as _stdio
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from ..io import atomic_write, save_json
from ._dist import is_main_process


class Callback:
    """Base class: override any hook; ``order`` sorts callbacks (lower runs first)."""

    order = 0
    trainer = None

    def set_trainer(self, trainer):
        self.trainer = trainer

    @property
    def model(self):
        return self.trainer.model if self.trainer is not None else None

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, step, logs=None):
        pass

    def on_batch_end(self, step, logs=None):
        pass

    def on_after_backward(self, step, logs=None):
        """After ``loss.backward()``, before clipping and the optimizer step (gradients are final)."""


def _overrides(cb, hook: str) -> bool:
    fn = getattr(cb, hook)
    return getattr(fn, "__func__", fn) is not getattr(Callback, hook)


class CallbackList:
    """Dispatches each hook to the callbacks that define it, in ``order``."""

    def __init__(self, callbacks, trainer):
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {type(cb).__name__}; "
                                "subclass nerve.train.Callback and override the hooks you need")
        self.callbacks = sorted(callbacks, key=lambda c: c.order)
        for cb in self.callbacks:
            cb.set_trainer(trainer)
        self._collect_batch_hooks()

    def _collect_batch_hooks(self):
        # Only these are called inside the batch loop.
        self.batch_begin = [cb for cb in self.callbacks if _overrides(cb, "on_batch_begin")]
        self.batch_end = [cb for cb in self.callbacks if _overrides(cb, "on_batch_end")]
        self.after_backward = [cb for cb in self.callbacks if _overrides(cb, "on_after_backward")]

    def on_train_begin(self, logs):
        for cb in self.callbacks:
            cb.on_train_begin(logs)
        self._collect_batch_hooks()  # a callback may attach batch hooks in on_train_begin

    def on_train_end(self, logs):
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs):
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs):
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)


# --------------------------------------------------------------------------- History
class History(Callback):
    """Per-epoch lists of every logged value, plus epoch and step counters.

    ``history.history["val_loss"][i]`` is the validation loss after epoch ``i``;
    ``history.epoch`` lists the epoch indices and ``history.steps`` the trainer's
    ``global_step`` at the end of each epoch; every list has one entry per epoch (``None``
    where a value was not logged). ``fit`` returns this object.
    """

    order = -100  # record the logs before any other callback reads or acts on them

    def __init__(self):
        self.reset()

    def reset(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.steps: list[int] = []

    @property
    def epochs_completed(self) -> int:
        return len(self.epoch)

    @property
    def global_step(self) -> int:
        return self.steps[-1] if self.steps else 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        done = len(self.epoch)
        self.epoch.append(int(epoch))
        self.steps.append(int(self.trainer.global_step) if self.trainer is not None else 0)
        # Every list stays one entry per epoch: a value missing in some epochs is None there.
        for k, v in logs.items():
            self.history.setdefault(k, [None] * done).append(v)
        for k, values in self.history.items():
            if k not in logs:
                values.append(None)

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def to_dict(self) -> dict:
        return {"epoch": list(self.epoch), "step": list(self.steps), **self.history}

    def state_dict(self) -> dict:
        return {"history": {k: list(v) for k, v in self.history.items()},
                "epoch": list(self.epoch), "steps": list(self.steps)}

    def load_state_dict(self, state):
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.epoch = list(state["epoch"])
        self.steps = list(state["steps"])

    def __repr__(self):
        return f"History(epochs={self.epochs_completed}, keys={list(self.history)})"


# ------------------------------------------------------------------------ ProgressBar
def format_logs(logs: dict, keys=None) -> str:
    parts = []
    for k in keys or logs:
        v = logs.get(k)
        if isinstance(v, float):
            parts.append(f"{k} {v:.4g}" if k == "lr" else f"{k} {v:.4f}")
        elif v is not None:
            parts.append(f"{k} {v}")
    return "  ".join(parts)


class ProgressBar(Callback):
    """Show training progress on stderr.

    On a terminal (and with ``rich`` installed) a live bar per epoch shows the running loss;
    otherwise one plain line per epoch is printed. ``quiet=True`` prints nothing.

    Args:
        quiet: print nothing.
        stream: where to write (default ``sys.stderr``).
        rich: ``None`` to decide by whether ``stream`` is a terminal, or ``True``/``False``.
    """

    def __init__(self, quiet: bool = False, stream=None, rich: bool | None = None):
        self.quiet = quiet
        self.stream = stream
        self.rich = rich
        self._progress = None

    def _out(self):
        return self.stream if self.stream is not None else sys.stderr

    def on_train_begin(self, logs=None):
        self._progress = None
        if not is_main_process():  # data-parallel: one progress display, from rank 0
            self.quiet = True
        if self.quiet:
            return
        use_rich = self.rich
        if use_rich is None:
            use_rich = bool(getattr(self._out(), "isatty", lambda: False)())
        if use_rich:
            try:
                from rich.console import Console  # noqa: PLC0415
                from rich.progress import (BarColumn, MofNCompleteColumn, Progress,  # noqa: PLC0415
                                           TextColumn, TimeElapsedColumn)
            except ImportError:
                use_rich = False
            else:
                self._progress = Progress(
                    TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[loss]}"), TimeElapsedColumn(),
                    console=Console(file=self._out()), transient=True)
                self._progress.start()
                self.on_batch_end = self._advance  # the plain mode stays out of the batch loop
        self._task = None

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()
        self._loss_sum = 0.0
        self._seen = 0
        if self._progress is not None:
            total = self.trainer.steps_per_epoch if self.trainer is not None else None
            self._task = self._progress.add_task(f"epoch {epoch + 1}/{self.trainer.epochs}",
                                                 total=total, loss="")

    def _advance(self, step, logs=None):
        self._loss_sum += logs["loss"] * logs["size"]
        self._seen += logs["size"]
        self._progress.update(self._task, advance=1, loss=f"loss {self._loss_sum / self._seen:.4f}")

    def on_epoch_end(self, epoch, logs=None):
        if self.quiet:
            return
        seconds = time.perf_counter() - self._t0
        total = self.trainer.epochs if self.trainer is not None else "?"
        line = f"epoch {epoch + 1}/{total}  {format_logs(logs or {})}  ({seconds:.1f}s)"
        if self._progress is not None:
            self._progress.remove_task(self._task)
            self._progress.console.print(line, highlight=False, markup=False)
        else:
            print(line, file=self._out(), flush=True)

    def on_train_end(self, logs=None):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            del self.on_batch_end


# --------------------------------------------------------------------- monitoring base
def _resolve_mode(mode: str, monitor: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if _higher_is_better(monitor) else "min"
    return mode


# Logged names of quantities to maximize (nerve.metrics' scores among them); losses, errors
# and the like are minimized. Like scikit-learn, a name ending in "_score" is a score.
_MAXIMIZED = ("acc", "auc", "f1", "precision", "recall", "iou", "dice", "bleu", "r2",
              "specificity", "sensitivity", "true_positive_rate", "true_negative_rate", "tpr", "tnr")
_MINIMIZED = ("loss", "error", "perplexity", "entropy", "divergence", "deviance", "brier",
              "false_positive", "false_negative", "fpr", "fnr")


def _higher_is_better(monitor: str) -> bool:
    name = monitor.lower()
    if any(s in name for s in _MINIMIZED):
        return False
    return name.endswith("_score") or any(s in name for s in _MAXIMIZED)


def _monitored(logs, monitor, who):
    if monitor not in logs:
        hint = " (pass val_loader to fit, or monitor a training value)" if monitor.startswith("val_") else ""
        raise KeyError(f"{who} monitors {monitor!r}, but the epoch logs only have "
                       f"{sorted(logs)}{hint}")
    return float(logs[monitor])


class _Monitor:
    """Tracks the best value of one logged quantity."""

    def __init__(self, monitor, mode, min_delta=0.0):
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta}")
        self.monitor = monitor
        self.mode = _resolve_mode(mode, monitor)
        self.min_delta = float(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf

    def improved(self, value: float) -> bool:
        return self.improved_on(value, self.best)

    def improved_on(self, value: float, reference: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < reference - self.min_delta
        return value > reference + self.min_delta


# ---------------------------------------------------------------------- EarlyStopping
class EarlyStopping(Callback):
    """Stop training when a monitored value has not improved for ``patience`` epochs.

    An epoch improves on the best so far when it is better by more than ``min_delta``.
    Training stops at the end of the epoch that is exactly ``patience`` epochs after the
    best one (with ``patience=0``: at the first epoch that does not improve). With
    ``restore_best_weights=True`` the model ends ``fit`` holding a bit-exact
    copy of the weights from the best epoch, whether this callback stopped the run or the
    run reached its last epoch.

    ``baseline`` and ``start_from_epoch`` follow Keras: with a baseline, an epoch resets the
    patience count only if it also beats the baseline (so a run that never reaches it stops
    ``patience`` epochs in, holding its best epoch for ``restore_best_weights``), and epochs
    before ``start_from_epoch`` are not watched at all (a warm-up). Training never stops at
    the first epoch of a run.

    Args:
        monitor: a key of the epoch logs (default ``"val_loss"``).
        patience: epochs without improvement to tolerate (>= 0).
        min_delta: smallest change that counts as an improvement.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracy and score names such as
            ``val_r2_score``, ``val_mean_iou``, ``val_bleu``; min for losses and errors).
        restore_best_weights: put the best epoch's weights back when training ends.
        baseline: a value the monitored quantity has to beat (None: no baseline).
        start_from_epoch: epochs to wait before watching the value (>= 0).
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto",
                 restore_best_weights=False, baseline=None, start_from_epoch=0):
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience!r}")
        if isinstance(start_from_epoch, bool) or not isinstance(start_from_epoch, int) or start_from_epoch < 0:
            raise ValueError(f"start_from_epoch must be a non-negative integer, got {start_from_epoch!r}")
        self.baseline = None if baseline is None else float(baseline)
        self.start_from_epoch = start_from_epoch
        self._mon = _Monitor(monitor, mode, min_delta)
        self.monitor = monitor
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self._reset()

    def _reset(self):
        self._mon.best = math.inf if self._mon.mode == "min" else -math.inf
        self.wait = 0
        self.best_epoch = None
        self.stopped_epoch = None
        self.best_weights = None

    @property
    def best(self):
        return self._mon.best

    def on_train_begin(self, logs=None):
        if self.trainer is None or not self.trainer.resumed:
            self._reset()
        elif self.stopped_epoch is not None:
            # Resuming the checkpoint of a run this callback ended: the run stays ended (no
            # epoch past its stop), and restore_best_weights still applies at the end.
            self.trainer.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if epoch < self.start_from_epoch:
            return
        value = _monitored(logs or {}, self.monitor, "EarlyStopping")
        if self._mon.improved(value):
            self._mon.best = value
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = {k: np.array(v._data, copy=True)
                                     for k, v in self.model.state_dict().items()}
            if self.baseline is None or self._mon.improved_on(value, self.baseline):
                self.wait = 0
                return
        self.wait += 1
        # Never at a run's first epoch (Keras's rule; it matters with a baseline or a NaN there).
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self):
        return {"best": self._mon.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state):
        self._mon.best = state["best"]
        self.wait = state["wait"]
        self.best_epoch = state["best_epoch"]
        self.stopped_epoch = state["stopped_epoch"]
        self.best_weights = state["best_weights"]


# -------------------------------------------------------------------- ModelCheckpoint
class ModelCheckpoint(Callback):
    """Write full checkpoints into ``directory``: ``last/`` every epoch, ``best/`` on improvement.

    Each is a folder readable by ``load_checkpoint`` and by ``Trainer.fit(resume_from=...)``;
    ``best/model.safetensors`` alone is enough to use the model. Runs after the other
    callbacks so the saved state includes this epoch's scheduler step and counters.
    """

    order = 100

    def __init__(self, directory, monitor="val_loss", mode="auto", save_best=True, save_last=True):
        if not (save_best or save_last):
            raise ValueError("ModelCheckpoint with save_best=False and save_last=False would save "
                             "nothing; enable at least one")
        self.directory = Path(directory)
        self.monitor = monitor
        self._mon = _Monitor(monitor, mode)
        self.save_best = save_best
        self.save_last = save_last
        self.best_epoch = None

    @property
    def best(self):
        return self._mon.best

    def on_epoch_end(self, epoch, logs=None):
        improved = False
        if self.save_best:
            value = _monitored(logs or {}, self.monitor, "ModelCheckpoint")
            improved = self._mon.improved(value)
            if improved:
                self._mon.best = value
                self.best_epoch = epoch
        # The callback's own state is part of what gets saved, so update it first.
        if improved:
            self.trainer.save_checkpoint(self.directory / "best")
        if self.save_last:
            self.trainer.save_checkpoint(self.directory / "last")

    def state_dict(self):
        return {"best": self._mon.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state):
        self._mon.best = state["best"]
        self.best_epoch = state["best_epoch"]


# ----------------------------------------------------------------- LRSchedulerCallback
def is_plateau_scheduler(scheduler) -> bool:
    try:
        from ..optim.lr_scheduler import ReduceLROnPlateau  # noqa: PLC0415
    except ImportError:
        ReduceLROnPlateau = None  # noqa: N806
    if ReduceLROnPlateau is not None and isinstance(scheduler, ReduceLROnPlateau):
        return True
    return type(scheduler).__name__ == "ReduceLROnPlateau"


class LRSchedulerCallback(Callback):
    """Step a learning-rate scheduler after every epoch (default) or every batch.

    A ``ReduceLROnPlateau`` scheduler is given the monitored value (``monitor``, default
    ``"val_loss"``) at the end of each epoch.
    """

    def __init__(self, scheduler, interval="epoch", monitor="val_loss"):
        if interval not in ("epoch", "batch"):
            raise ValueError(f"interval must be 'epoch' or 'batch', got {interval!r}")
        self.scheduler = scheduler
        self.interval = interval
        self.monitor = monitor
        self.plateau = is_plateau_scheduler(scheduler)
        if self.plateau and interval == "batch":
            raise ValueError("ReduceLROnPlateau reacts to an epoch metric; use interval='epoch'")
        self.owned = False  # True when the Trainer built it from its scheduler= argument
        if interval == "batch":
            self.on_batch_end = self._batch_step  # only batch-level schedules join the batch loop

    def _batch_step(self, step, logs=None):
        self.scheduler.step()

    def on_epoch_end(self, epoch, logs=None):
        if self.interval != "epoch":
            return
        if self.plateau:
            self.scheduler.step(_monitored(logs or {}, self.monitor, "ReduceLROnPlateau"))
        else:
            self.scheduler.step()

    def state_dict(self):
        return {} if self.owned else {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state):
        if "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])


# ------------------------------------------------------------------------- loggers
class CSVLogger(Callback):
    """Write the epoch logs to a CSV file (one row per epoch), rewritten atomically each epoch."""

    def __init__(self, path):
        self.path = Path(path)
        self.rows: list[dict] = []

    def on_train_begin(self, logs=None):
        if self.trainer is None or not self.trainer.resumed:
            self.rows = []

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch, **(logs or {})})
        if is_main_process():  # data-parallel: every rank has the same rows, rank 0 writes
            write_csv(self.path, self.rows)

    def state_dict(self):
        return {"rows": self.rows}

    def load_state_dict(self, state):
        self.rows = [dict(r) for r in state["rows"]]


class JSONLogger(Callback):
    """Write the history so far as JSON (``{"epoch": [...], "loss": [...], ...}``) each epoch."""

    def __init__(self, path):
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs=None):
        if is_main_process():
            save_json(self.trainer.history.to_dict(), self.path)


def write_csv(path, rows: list[dict]) -> None:
    """Write dict rows to CSV atomically; the header is the union of keys in first-seen order."""
    fields: list[str] = []
    for r in rows:
        fields.extend(k for k in r if k not in fields)
    buf = _stdio.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in r.items()})
    with atomic_write(path, "w") as f:
        f.write(buf.getvalue())
