"""``Trainer``: the one training loop that the CLI, the examples and the playground share.

Models hold no training code. ``Trainer.fit`` runs epochs of forward, loss, backward,
(optional) gradient clipping and optimizer step, validates, and hands the epoch logs to
the callbacks; ``evaluate`` and ``predict`` run the model without recording a graph.
"""
from __future__ import annotations

import copy
import json
import math
import warnings
from pathlib import Path

import numpy as np

from ..autograd import Tensor, no_grad
from ..backend import get_array_module, to_device
from ._dist import active as _distributed, is_main_process, sum_over_ranks
from .callbacks import CallbackList, History, LRSchedulerCallback
from .checkpoint import load_checkpoint, save_checkpoint


# ----------------------------------------------------------------------------- metrics
class _Accuracy:
    """Correct predictions and sample count, summed over batches.

    Multi-class outputs ``(N, C)`` are compared by argmax with integer targets ``(N,)`` or
    ``(N, 1)`` (or one-hot targets ``(N, C)``); single-column outputs are probabilities cut at
    0.5.
    """

    name = "accuracy"

    def reset(self):
        self.correct = 0
        self.count = 0

    def update(self, out, y):
        if out.ndim >= 2 and out.shape[-1] > 1:
            pred = out.argmax(-1)
            if y.ndim == out.ndim:
                if y.shape[-1] == out.shape[-1]:  # one-hot or probability targets
                    y = y.argmax(-1)
                elif y.shape[-1] == 1:  # class indices in a column: an argmax over it would be all 0
                    y = y[..., 0]
                else:
                    raise ValueError(f"accuracy: outputs of shape {tuple(out.shape)} need class-index "
                                     f"targets of shape {tuple(out.shape[:-1])} or one-hot targets of "
                                     f"shape {tuple(out.shape)}, got {tuple(y.shape)}")
            if tuple(y.shape) != tuple(pred.shape):
                # Broadcasting (N, T) predictions against (N,) or (N, 1, 1) targets would compare
                # the wrong pairs and can even count more hits than samples.
                raise ValueError(f"accuracy: outputs of shape {tuple(out.shape)} give predictions of "
                                 f"shape {tuple(pred.shape)}, but the targets have shape "
                                 f"{tuple(y.shape)}; give one class index per prediction")
        else:
            pred = out.reshape(y.shape) > 0.5
        # On a GPU the count stays a device scalar until compute(): no host round trip per batch.
        self.correct += (pred == y).sum()
        self.count += pred.size

    def compute(self):
        return int(self.correct) / self.count if self.count else float("nan")


class _BatchMean:
    """A ``fn(outputs, targets) -> float`` batch mean, weighted by batch size (the length of
    ``batch_axis``, which the Trainer sets to 1 for time-first truncated BPTT)."""

    batch_axis = 0

    def __init__(self, fn, name):
        self.fn, self.name = fn, name

    def reset(self):
        self.total = 0.0
        self.count = 0

    def update(self, out, y):
        n = out.shape[self.batch_axis] if out.ndim > self.batch_axis else len(out)
        # User metrics are NumPy functions (nerve.metrics): device arrays come to the host first.
        self.total += float(self.fn(_host(out), _host(y))) * n
        self.count += n

    def compute(self):
        return self.total / self.count if self.count else float("nan")


class _Streaming:
    """An object with ``update(outputs, targets)``, ``compute()`` and ``reset()``."""

    def __init__(self, metric, name):
        self.metric, self.name = metric, name

    def reset(self):
        self.metric.reset()

    def update(self, out, y):
        self.metric.update(out, y)

    def compute(self):
        v = self.metric.compute()
        return float(v.item() if hasattr(v, "item") else v)


_BUILTIN = {"accuracy": _Accuracy, "acc": _Accuracy}


def _make_metric(spec):
    if isinstance(spec, str):
        if spec not in _BUILTIN:
            raise ValueError(f"unknown metric {spec!r}; built-in names are {sorted(_BUILTIN)}, or pass "
                             "a callable fn(outputs, targets) or an object with update/compute/reset")
        return _BUILTIN[spec]()
    if all(hasattr(spec, a) for a in ("update", "compute", "reset")):
        return _Streaming(spec, getattr(spec, "name", type(spec).__name__.lower()))
    if callable(spec):
        return _BatchMean(spec, getattr(spec, "__name__", type(spec).__name__.lower()))
    raise TypeError(f"a metric must be a name, a callable or an update/compute/reset object, got {spec!r}")


def _as_input(v, device=None):
    t = v if isinstance(v, Tensor) else Tensor(v)
    if device is not None and t.device != device:  # the batch goes where the model is
        t = Tensor(to_device(t._data, device))
    return t


def _host(a):
    return a if type(a) is np.ndarray else np.asarray(to_device(a, "cpu"))


def _model_device(model):
    """'cuda' when the model's first parameter lives on a GPU, else None (no moves)."""
    params = getattr(model, "parameters", None)
    if params is None:
        return None
    for p in params():
        return "cuda" if get_array_module(p._data) is not np else None
    return None


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _unwrap(model):
    """The model inside a data-parallel wrapper, so checkpoints load with or without one (and on
    any number of ranks)."""
    return model.module if getattr(model, "wraps_module", False) else model


def _reduce_metrics(metrics, loss_sum, seen):
    """Sum the loss, the sample count and every metric's counters over ranks (no-op on one rank).

    Built-in accuracy and batch-mean metrics are sums and counts, so the global value is exact.
    A streaming metric object can take part by having ``reduce_state(sum_fn)``; one without it
    would report this rank's shard as if it were the whole data set, so it is refused.
    """
    if _distributed() is None:
        return loss_sum, seen
    values = [loss_sum, seen]
    for m in metrics:
        if isinstance(m, _Accuracy):
            values += [int(m.correct), m.count]
        elif isinstance(m, _BatchMean):
            values += [m.total, m.count]
    total = sum_over_ranks(values)
    loss_sum, seen = total[0], int(round(total[1]))
    i = 2
    for m in metrics:
        if isinstance(m, _Accuracy):
            m.correct, m.count = int(round(total[i])), int(round(total[i + 1]))
            i += 2
        elif isinstance(m, _BatchMean):
            m.total, m.count = total[i], int(round(total[i + 1]))
            i += 2
        elif hasattr(m.metric, "reduce_state"):
            m.metric.reduce_state(sum_over_ranks)
        else:
            raise TypeError(f"metric {m.name!r} cannot be combined over ranks: give it a "
                            f"reduce_state(sum_fn) method, or compute it on rank 0 after training")
    return loss_sum, seen


# ----------------------------------------------------------------------------- Trainer
class Trainer:
    """Fit, evaluate and run a model with one loop and a set of callbacks.

    Args:
        model: a ``Module`` (any callable with ``parameters()``, ``train()``, ``eval()`` and
            ``state_dict()``).
        optimizer: built over the model's parameters (``zero_grad()``, ``step()``).
        loss_fn: any callable ``loss_fn(outputs, targets)`` returning a scalar Tensor that
            averages over the batch, e.g. ``nn.CrossEntropyLoss()`` or a custom objective with
            penalty terms.
        metrics: names (``"accuracy"``), callables ``fn(outputs, targets) -> float`` on NumPy
            arrays, or streaming objects with ``update/compute/reset``. Each is reported for
            training and, with ``val_`` in front, for validation.
        callbacks: ``Callback`` instances (progress, early stopping, checkpoints ...).
        scheduler: a learning-rate scheduler stepped after every epoch
            (``ReduceLROnPlateau`` receives ``val_loss``, or ``loss`` without validation).
        grad_clip_norm: clip the global gradient norm to this value before each step.
        tbptt: truncated back-propagation through time every ``tbptt`` steps (None: off).
            Each batch's inputs and targets are cut along ``tbptt_dim`` into chunks of that
            many steps; the model is called as ``output, state = model(chunk, state)`` (state
            None for the first chunk, the previous chunk's state *detached* after that), the
            chunk's loss is back-propagated and the optimizer steps once per chunk. So no
            gradient crosses a cut (inputs before the last cut get exactly 0 from a later
            loss), memory stays bounded by ``tbptt`` steps, and ``global_step`` counts chunks.
            The logged loss is the chunk losses' mean weighted by chunk length; evaluation and
            prediction run each sequence whole (``model(x, None)[0]``), which gives the same
            values. Every batch starts from a zero state.
        tbptt_dim: the time axis of inputs and targets (default 1, batch-first).

    Example:
        >>> import numpy as np, nerve as nv
        >>> from nerve import nn, optim, data
        >>> X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
        >>> y = (X[:, 0] > 0).astype(np.int64)
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> loader = data.DataLoader(data.TensorDataset(X, y), batch_size=16, shuffle=True)
        >>> trainer = Trainer(model, optim.Adam(model.parameters(), lr=0.05), nn.CrossEntropyLoss())
        >>> history = trainer.fit(loader, epochs=20)
        >>> len(history.epoch), trainer.evaluate(loader)["accuracy"] > 0.9
        (20, True)
    """

    _ranks_decide = False  # set by fit (see there)

    def __init__(self, model, optimizer, loss_fn, metrics=("accuracy",), callbacks=(), scheduler=None,
                 grad_clip_norm=None, tbptt=None, tbptt_dim=1):
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable (loss_fn(outputs, targets) -> scalar Tensor), "
                            f"got {type(loss_fn).__name__}")
        if grad_clip_norm is not None and not (grad_clip_norm > 0):
            raise ValueError(f"grad_clip_norm must be a positive number or None, got {grad_clip_norm!r}")
        if tbptt is not None:
            tbptt = _check_positive_int(tbptt, "tbptt (steps per truncated-BPTT chunk)")
        if isinstance(tbptt_dim, bool) or not isinstance(tbptt_dim, (int, np.integer)):
            raise ValueError(f"tbptt_dim must be an integer axis, got {tbptt_dim!r}")
        if isinstance(metrics, str):
            metrics = (metrics,)
        self.model = model
        self.tbptt = tbptt
        self.tbptt_dim = int(tbptt_dim)
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.metrics = [_make_metric(m) for m in metrics]
        # Batches are batch-first, except under tbptt along axis 0: those are (T, N, ...), and
        # weighting the epoch's loss and batch-mean metrics by T would turn a sample mean
        # into a mean over batches whenever the last batch is smaller.
        self._batch_axis = 1 if tbptt is not None and self.tbptt_dim == 0 else 0
        for m in self.metrics:
            if isinstance(m, _BatchMean):
                m.batch_axis = self._batch_axis
        # evaluate() keeps its own accumulators, so it can run in the middle of an epoch.
        self._eval_metrics = copy.deepcopy(self.metrics)
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"metric names must be unique and not 'loss', got {names}")
        self.callbacks = list(callbacks)
        self.scheduler = scheduler
        self.grad_clip_norm = grad_clip_norm
        self.history = History()
        self._after_backward, self._batch_logs = [], {}
        self.stop_training = False
        self.resumed = False
        self.epoch = 0          # completed epochs
        self.epochs = None      # the target of the current fit
        self.global_step = 0    # optimizer updates so far
        self.steps_per_epoch = None
        self._steps_into_epoch = None  # batches done in the running epoch; None between epochs
        self.train_loader = self.val_loader = None
        self._sched_cb = None
        if scheduler is not None:
            self._sched_cb = LRSchedulerCallback(scheduler, "epoch", monitor="val_loss")
            self._sched_cb.owned = True

    # ------------------------------------------------------------------------ fit
    def fit(self, train_loader, epochs: int, val_loader=None, resume_from=None,
            initial_epoch: int = 0) -> History:
        """Train for ``epochs`` epochs in total and return the ``History``.

        Args:
            train_loader: an iterable of ``(inputs, targets)`` batches (a ``DataLoader``); one
                pass over it is one epoch.
            epochs: the total number of epochs. When resuming, training continues from the
                checkpoint's epoch up to this number.
            val_loader: batches to evaluate after every epoch (logged as ``val_loss`` ...).
            resume_from: a checkpoint folder (from ``ModelCheckpoint`` or
                ``Trainer.save_checkpoint``); weights, optimizer, scheduler, loader and RNG
                states, history and callback states are restored so training continues
                exactly as if it had never stopped.
            initial_epoch: the index of the first epoch (Keras's argument): epochs
                ``initial_epoch .. epochs - 1`` run, and callbacks and the history see those
                indices. Nothing is restored; use ``resume_from`` to continue a saved run.
        """
        epochs = _check_positive_int(epochs, "epochs")
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) \
                or not 0 <= initial_epoch < epochs:
            raise ValueError(f"initial_epoch must be an integer in [0, epochs={epochs}), got {initial_epoch!r}")
        if initial_epoch and resume_from is not None:
            raise ValueError("pass initial_epoch or resume_from, not both: a resumed run starts at the "
                             "checkpoint's epoch")
        if self.optimizer is None:
            raise ValueError("Trainer.fit needs an optimizer; build the Trainer with one, e.g. "
                             "optim.Adam(model.parameters(), lr=1e-3)")
        self.train_loader, self.val_loader, self.epochs = train_loader, val_loader, epochs
        try:
            self.steps_per_epoch = len(train_loader)
        except TypeError:
            self.steps_per_epoch = None
        # A new History per fit (as Keras): the one an earlier fit returned keeps its epochs.
        self.history = History()
        cbs = CallbackList([self.history, *self.callbacks, *([self._sched_cb] if self._sched_cb else [])],
                           self)
        if resume_from is not None:
            self.load_checkpoint(resume_from)
            if epochs <= self.epoch:
                raise ValueError(f"the checkpoint in {resume_from} has already completed {self.epoch} "
                                 f"epochs; epochs={epochs} is the total to reach, so pass a larger value")
        else:
            self.resumed = False
            self.epoch = int(initial_epoch)
            self.global_step = 0
        self.stop_training = False
        clip = None
        if self.grad_clip_norm is not None:
            from ..optim.clip import clip_grad_norm_ as clip  # noqa: PLC0415
        if self._sched_cb is not None:  # ReduceLROnPlateau follows val_loss, or loss without validation
            self._sched_cb.monitor = "val_loss" if val_loader is not None else "loss"

        self._nonfinite_loss = None
        # decided once: do the ranks of a data-parallel model vote on a non-finite loss each step?
        self._ranks_decide = getattr(self.model, "wraps_module", False) and _distributed() is not None
        cbs.on_train_begin({})
        try:
            for epoch in range(self.epoch, epochs):
                if self.stop_training:  # a callback ended the run in on_train_begin (a resumed early stop)
                    break
                sampler = getattr(train_loader, "sampler", None)
                if hasattr(sampler, "set_epoch"):  # DistributedSampler: a new shuffle, equal on all ranks
                    sampler.set_epoch(epoch)
                cbs.on_epoch_begin(epoch, {})
                self._steps_into_epoch = 0
                try:
                    logs = self._train_epoch(train_loader, cbs, epoch, clip)
                finally:
                    self._steps_into_epoch = None
                if val_loader is not None:
                    for k, v in self.evaluate(val_loader).items():
                        logs["val_" + k] = v
                groups = getattr(self.optimizer, "param_groups", None)
                if groups:
                    logs["lr"] = float(groups[0]["lr"])
                self.epoch = epoch + 1
                cbs.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        finally:
            end = {"epoch": self.epoch}
            if self._nonfinite_loss is not None:  # the run stopped on it: say so to the callbacks
                end["nonfinite_loss"] = self._nonfinite_loss
            cbs.on_train_end(end)
        return self.history

    def _train_epoch(self, loader, cbs, epoch, clip):
        model, loss_fn, metrics = self.model, self.loss_fn, self.metrics
        batch_begin, batch_end = cbs.batch_begin, cbs.batch_end
        batch_logs = {"loss": 0.0, "size": 0}
        for m in metrics:
            m.reset()
        loss_sum = 0.0
        seen = 0
        model.train()
        self._after_backward, self._batch_logs = cbs.after_backward, batch_logs
        device = _model_device(model)  # where batches go; the model does not move mid-epoch
        for step, batch in enumerate(loader):
            x, y = self._split(batch, device)
            for cb in batch_begin:
                cb.on_batch_begin(step, batch_logs)
            if self.tbptt is None:
                out = model(x)
                value = self._update(loss_fn(out, y), step, epoch, clip)
                out_data = out._data
            else:
                value, out_data = self._tbptt_batch(x, y, step, epoch, clip)
            self._steps_into_epoch = step + 1
            n = self._batch_size(y)
            loss_sum += value * n
            seen += n
            y_data = y._data
            for m in metrics:
                m.update(out_data, y_data)
            if batch_end:
                batch_logs["loss"] = value
                batch_logs["size"] = n
                for cb in batch_end:
                    cb.on_batch_end(step, batch_logs)
            if self.stop_training:
                break
        if seen == 0:
            raise ValueError("the training loader produced no batches; check the dataset size, "
                             "batch_size and drop_last")
        loss_sum, seen = _reduce_metrics(metrics, loss_sum, seen)
        logs = {"loss": loss_sum / seen}
        for m in metrics:
            logs[m.name] = m.compute()
        return logs

    def _update(self, loss, step, epoch, clip):
        """Backward, clip and one optimizer step for ``loss``; returns its value."""
        if step == 0 and not (isinstance(loss, Tensor) and loss._data.size == 1):
            raise TypeError(self._loss_error(loss))
        value = float(loss._data)
        finite = math.isfinite(value)
        others = 0
        if self._ranks_decide:
            # Data-parallel: the ranks decide together. A rank stopping alone left the others
            # waiting in the gradient all-reduce until the timeout (and without the error).
            others = sum_over_ranks([0.0 if finite else 1.0])[0] - (0.0 if finite else 1.0)
        if not finite or others:
            # Checked before the step: a NaN loss has NaN gradients, and stepping on them would
            # leave the model (and anything restored from it in memory) with NaN weights.
            self._nonfinite_loss = {"loss": value, "epoch": epoch, "step": step}
            became = value if not finite else f"non-finite on {int(others)} other rank(s)"
            raise FloatingPointError(
                f"the loss became {became} at epoch {epoch + 1}, step {step + 1}; lower the learning "
                "rate, clip gradients (grad_clip_norm=1.0) or check the inputs for NaN/inf")
        self.optimizer.zero_grad()
        loss.backward()
        for cb in self._after_backward:
            cb.on_after_backward(step, self._batch_logs)
        if clip is not None:
            # The trainable set is read at every step: a callback that unfreezes layers during
            # the run (gradual fine-tuning) would otherwise leave their gradients unclipped.
            clip([p for p in self.model.parameters() if p.requires_grad], self.grad_clip_norm)
        self.optimizer.step()
        self.global_step += 1
        return value

    def _tbptt_batch(self, x, y, step, epoch, clip):
        """One batch in chunks of ``tbptt`` steps, the state carried across cuts detached.
        Returns the length-weighted mean chunk loss and the outputs joined along time."""
        from ..nn.utils.rnn import detach_state  # noqa: PLC0415

        k, dim = self.tbptt, self.tbptt_dim
        if not (-x.ndim <= dim < x.ndim and -y.ndim <= dim < y.ndim) or x.shape[dim] != y.shape[dim]:
            raise ValueError(f"tbptt: inputs {tuple(x.shape)} and targets {tuple(y.shape)} must have the "
                             f"same number of steps along tbptt_dim={dim}; per-step targets are needed "
                             "to cut a batch into chunks")
        T = x.shape[dim]
        state, total, outs = None, 0.0, []
        for start in range(0, T, k):
            cut = (slice(None),) * (dim % x.ndim) + (slice(start, start + k),)
            cut_y = (slice(None),) * (dim % y.ndim) + (slice(start, start + k),)
            result = self.model(x[cut], detach_state(state))
            if not (isinstance(result, tuple) and len(result) == 2):
                raise TypeError(f"with tbptt the model must return (output, state) when called as "
                                f"model(chunk, state), got {type(result).__name__}")
            out, state = result
            steps = min(k, T - start)
            total += self._update(self.loss_fn(out, y[cut_y]), step, epoch, clip) * steps
            outs.append(out._data)
        return total / T, np.concatenate(outs, axis=dim)

    def _batch_size(self, y):
        """Samples in a batch: the length of its batch axis (axis 1 for time-first tbptt)."""
        return y.shape[self._batch_axis] if y.ndim > self._batch_axis else len(y)

    def _forward(self, x):
        """The model's output for a whole batch (under tbptt: ``model(x, None)[0]``)."""
        return self.model(x) if self.tbptt is None else self.model(x, None)[0]

    @staticmethod
    def _loss_error(loss):
        shape = getattr(getattr(loss, "data", None), "shape", None)
        return (f"loss_fn must return a scalar Tensor, got {type(loss).__name__}"
                + (f" of shape {shape}" if shape is not None else "")
                + "; average over the batch (reduction='mean') or call .mean()")

    @staticmethod
    def _split(batch, device=None):
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError("Trainer expects batches of (inputs, targets), got "
                            f"{type(batch).__name__}" + (f" of length {len(batch)}"
                                                           if isinstance(batch, (tuple, list)) else ""))
        x, y = batch
        return _as_input(x, device), _as_input(y, device)

    # ------------------------------------------------------------------- evaluate
    def evaluate(self, loader) -> dict:
        """Loss and metrics over every sample of ``loader`` (sums and counts, not batch averages).

        Runs in ``eval()`` mode without recording a graph, and puts the model back into the
        mode it was in.
        """
        model = self.model
        was_training = getattr(model, "training", True)
        metrics = self._eval_metrics
        for m in metrics:
            m.reset()
        loss_sum = 0.0
        seen = 0
        model.eval()
        device = _model_device(model)
        # A DistributedSampler pads the shards to equal length with repeats, placed last; they
        # are left out here, or the metrics summed over ranks would count those samples twice.
        sampler = getattr(loader, "sampler", None)
        limit = getattr(sampler, "num_real_samples", None)
        if limit is not None and limit >= len(sampler):
            limit = None
        try:
            with no_grad():
                for batch in loader:
                    x, y = self._split(batch, device)
                    out = self._forward(x)
                    n = self._batch_size(y)
                    if limit is not None and seen + n > limit:
                        n = limit - seen
                        if n <= 0:
                            continue
                        cut = (slice(None),) * self._batch_axis + (slice(0, n),)   # along the batch axis
                        out, y = out[cut], y[cut]
                    loss_sum += float(self.loss_fn(out, y)._data) * n
                    seen += n
                    for m in metrics:
                        m.update(out._data, y._data)
        finally:
            model.train(was_training)
        loss_sum, seen = _reduce_metrics(metrics, loss_sum, seen)   # a rank may hold only padding
        if seen == 0:
            raise ValueError("the evaluation loader produced no batches; check that the dataset is not "
                             "empty and, with drop_last=True, that it holds at least batch_size samples")
        logs = {"loss": loss_sum / seen}
        for m in metrics:
            logs[m.name] = m.compute()
        return logs

    # -------------------------------------------------------------------- predict
    def predict(self, data, batch_size: int = 256) -> np.ndarray:
        """Model outputs for an array/Tensor of inputs or for a loader, as one NumPy array.

        A loader may yield inputs alone or ``(inputs, targets)`` pairs (targets are ignored).
        """
        batch_size = _check_positive_int(batch_size, "batch_size")
        model = self.model
        was_training = getattr(model, "training", True)
        outs = []
        model.eval()
        try:
            with no_grad():
                if isinstance(data, (np.ndarray, Tensor)):
                    arr = data._data if isinstance(data, Tensor) else data
                    batches = (arr[i:i + batch_size] for i in range(0, len(arr), batch_size))
                else:
                    batches = (b[0] if isinstance(b, (tuple, list)) else b for b in data)
                device = _model_device(model)
                for x in batches:
                    outs.append(_host(self._forward(_as_input(x, device))._data))
        finally:
            model.train(was_training)
        if not outs:
            raise ValueError("predict got no inputs")
        return np.concatenate(outs)

    # ---------------------------------------------------------------- checkpoints
    def _callback_states(self):
        return {f"{i}:{type(cb).__name__}": cb.state_dict()
                for i, cb in enumerate(self.callbacks) if hasattr(cb, "state_dict")}

    def save_checkpoint(self, directory, extra: dict | None = None) -> Path:
        """Save the full training state (see ``nerve.train.save_checkpoint``) into ``directory``.

        In data-parallel training only rank 0 writes (every rank holds the same state).
        """
        if not is_main_process():
            return Path(directory)
        return save_checkpoint(
            directory, _unwrap(self.model), self.optimizer, self.scheduler, epoch=self.epoch,
            loaders={"train": self.train_loader, "val": self.val_loader}, history=self.history,
            extra={"global_step": self.global_step, "callbacks": self._callback_states(),
                   "user": extra, "steps_into_epoch": self._steps_into_epoch})

    def load_checkpoint(self, directory) -> dict:
        """Restore a checkpoint saved by ``save_checkpoint``; returns the user ``extra`` values.

        Refuses (before changing anything) a checkpoint saved in the middle of an epoch.
        """
        inside = _saved_mid_epoch(directory)
        if inside is not None:
            # The loader has already drawn that epoch's order and its metrics are half summed,
            # so continuing "from the epoch's start" would silently train differently.
            raise ValueError(f"the checkpoint in {directory} was saved after {inside[1]} batches of "
                             f"epoch {inside[0] + 1}, inside the epoch; the Trainer resumes only from the "
                             "end of an epoch (where ModelCheckpoint saves). Resume from such a "
                             "checkpoint, or load just the weights with nerve.train.load_checkpoint("
                             "directory, model)")
        info = load_checkpoint(directory, _unwrap(self.model), self.optimizer, self.scheduler,
                               loaders={"train": self.train_loader, "val": self.val_loader},
                               history=self.history)
        extra = info["extra"] or {}
        self.epoch = info["epoch"]
        self.global_step = extra.get("global_step", 0)
        matched, left = _match_callback_states(extra.get("callbacks", {}), self.callbacks)
        # States of callbacks that only keep files (checkpoints, logs) do not change training;
        # leaving those callbacks out of a resumed fit is common and needs no warning.
        unused = {k for k in left if k.split(":", 1)[-1] not in _FILE_ONLY_CALLBACKS}
        for cb, state in matched.items():
            cb.load_state_dict(state)
        if unused:
            warnings.warn(f"checkpoint {directory} holds the state of callback(s) "
                          f"{', '.join(sorted(unused))} that this Trainer does not have; they were not "
                          "restored. Pass the same callbacks as the run that saved it to resume exactly",
                          stacklevel=2)
        self.resumed = True
        return extra.get("user")


_FILE_ONLY_CALLBACKS = {"ModelCheckpoint", "CSVLogger", "JSONLogger"}


def _match_callback_states(saved: dict, callbacks):
    """Pair saved callback states (keys ``"<index>:<class name>"``) with ``callbacks``.

    A state goes to the callback of the same class and the same rank among the callbacks of
    that class (the first ``EarlyStopping`` gets the first saved ``EarlyStopping`` state), so
    adding, removing or reordering callbacks of other classes on resume cannot hand a state
    to the wrong callback or drop it. Returns ``({callback: state}, keys no callback took)``.
    """
    def index(key):
        head = key.split(":", 1)[0]
        return int(head) if head.isdigit() else -1

    by_class: dict = {}
    for key in sorted(saved, key=index):
        by_class.setdefault(key.split(":", 1)[-1], []).append(key)
    matched = {}
    for cb in callbacks:
        keys = by_class.get(type(cb).__name__)
        if keys and hasattr(cb, "load_state_dict"):
            matched[cb] = saved[keys.pop(0)]
    return matched, [k for keys in by_class.values() for k in keys]


def _saved_extra(directory) -> dict:
    """The Trainer's own values in a checkpoint's JSON (read before anything is restored), plus
    its ``epoch``; empty if the file is missing or damaged (load_checkpoint then says so)."""
    try:
        meta = json.loads((Path(directory) / "checkpoint.json").read_text(encoding="utf-8"))
        return dict(meta["state"]["extra"], epoch=int(meta["epoch"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _saved_mid_epoch(directory):
    """``(completed epochs, batches done)`` for a checkpoint saved inside an epoch, else None."""
    extra = _saved_extra(directory)
    inside = extra.get("steps_into_epoch")
    return None if inside is None else (extra["epoch"], int(inside))
