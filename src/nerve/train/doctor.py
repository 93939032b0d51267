"""``TrainingDoctor``: a callback that watches a run and explains what is going wrong.

It reads what the loop already produces (the batch and epoch losses, the gradients left
on the parameters after each backward pass) and adds forward hooks: one on each activation
layer (dead units, saturation) and one on the model itself (a NaN/Inf watch on its output). Each problem it sees becomes a *finding*: a dict with

``kind``
    ``"vanishing_gradients"``, ``"exploding_gradients"``, ``"dead_relu"``, ``"saturation"``,
    ``"nonfinite"``, ``"diverging"``, ``"overfitting"`` or ``"underfitting"``;
``severity``
    ``"error"`` (the run is broken) or ``"warning"`` (it trains, but badly);
``epoch``, ``step``
    where it was first seen (``None`` for a :meth:`TrainingDoctor.checkup` outside training);
``message``, ``fix``
    what happened in plain words, and what usually cures it;
``data``
    the numbers behind the verdict.

Each kind is reported once (dead units once per layer), when first seen. A healthy run
produces no findings: every rule needs a clear signal (a ratio several orders of magnitude
off, a trend over several epochs, a loss at chance level), not one noisy batch.

    >>> import numpy as np, nerve as nv
    >>> from nerve import nn, optim, data
    >>> from nerve.train import Trainer
    >>> X = np.random.default_rng(0).normal(size=(128, 4)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    >>> doctor = TrainingDoctor()
    >>> loader = data.DataLoader(data.TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)
    >>> _ = Trainer(model, optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(),
    ...             callbacks=[doctor]).fit(loader, epochs=3)
    >>> doctor.findings
    []
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import enable_grad
from ..diagnostics.activations import RECTIFIERS, ActivationRecorder, as_model_input
from ..diagnostics.gradients import gradient_norms
from ..diagnostics.nonfinite import NonFiniteWatcher, find_nonfinite, inspect_output
from ..random import get_rng_state, set_rng_state
from .callbacks import Callback

__all__ = ["TrainingDoctor", "Diagnostics", "GradientMonitor", "DeadUnitMonitor"]

# Rectifiers whose gradient is exactly 0 where the output is 0: a unit that never fires
# there never learns again. (LeakyReLU, ELU ... keep a gradient on the negative side.)
_ZERO_GRAD_RECTIFIERS = ("ReLU", "ReLU6")
_CE_LOSSES = ("CrossEntropyLoss", "NLLLoss", "cross_entropy", "nll_loss")

FIXES = {
    "vanishing_gradients": "use ReLU-family activations with He (kaiming) initialization instead of "
                           "sigmoid/tanh with Xavier, add normalization layers (BatchNorm/LayerNorm), "
                           "add residual connections, or make the network shallower",
    "exploding_gradients": "clip the gradient norm (Trainer(grad_clip_norm=1.0)), lower the learning "
                           "rate, and check the initialization scale (He/Xavier rather than large "
                           "constant std)",
    "dead_relu": "lower the learning rate, use LeakyReLU/PReLU/ELU, initialize biases at 0 or a "
                 "small positive value (0.01) rather than negative, and standardize the inputs",
    "saturation": "standardize the inputs, use Xavier initialization for sigmoid/tanh (or switch to "
                  "ReLU with He init), and add normalization layers",
    "nonfinite": "lower the learning rate, clip gradients, and look at the reported module: a log or "
                 "division of values near 0, an exp of large values, or NaN in the data are the "
                 "usual sources",
    "diverging": "lower the learning rate (try 10x smaller), clip gradients "
                 "(Trainer(grad_clip_norm=1.0)), or add a warm-up schedule",
    "overfitting": "get more data or augment it, add weight decay or dropout, use a smaller model, "
                   "or stop early (EarlyStopping(monitor='val_loss', restore_best_weights=True))",
    "underfitting": "use a larger model (wider or deeper), raise the learning rate, train for more "
                    "epochs, and check that the labels match the inputs",
}
_SEVERITY = {"nonfinite": "error", "diverging": "error", "exploding_gradients": "error"}


class TrainingDoctor(Callback):
    """Watch a training run and record problems, each with a plain-language fix.

    Rules (the thresholds are arguments):

    * **vanishing gradients**: ‖∇W_first‖ / ‖∇W_last‖ < ``vanishing_ratio`` (1e-4);
    * **exploding gradients**: that ratio > ``exploding_ratio`` (1e4), a gradient with
      NaN/Inf, or a total gradient norm ``grad_growth`` (1e3) times its value at step 0;
    * **dead ReLUs**: in a ReLU/ReLU6 layer, the share of units that output 0 for every
      sample of an epoch is at least ``dead_fraction`` (0.5);
    * **saturation**: in a sigmoid/tanh layer, at least ``saturation_fraction`` (0.5) of
      the outputs lie within 0.01 of a bound, at a checkup or in the first epoch. Only
      then: it points at the initialization or unscaled inputs. Later, trained networks
      often saturate many units and still learn well, so it would be a false alarm;
    * **non-finite values**: the first module whose output held NaN/Inf, with its input range;
    * **diverging loss**: a NaN/Inf loss, an epoch loss above ``diverge_factor`` (3) times
      the first batch's loss, or a loss that rose ``rising_epochs`` (3) epochs in a row;
    * **overfitting** (needs ``val_loader``): ``val_loss`` has not improved for
      ``overfit_epochs`` (3) epochs and is now more than ``overfit_margin`` (5 %) above its
      best, while over those epochs the training loss fell and the gap ``val_loss − loss``
      widened;
    * **underfitting** (classification with cross-entropy): over ``underfit_epochs`` (3)
      epochs the training loss improved by less than ``flat_tolerance`` (5 %) and is still
      at least ``underfit_level`` (0.9) × ln(C), the loss of guessing uniformly among C
      classes.

    Args:
        every: measure gradients and activations on batches 0, ``every``, 2·``every`` ... of
            each epoch (default 10). Batch 0 of the first epoch shows the gradients at
            initialization; a tenth of the data is plenty to tell a dead unit. Use 1 to see
            every batch.
        watch_activations: keep forward hooks on activation layers (dead units, saturation).
        watch_nonfinite: check the model's output for NaN/Inf on every batch; the first time
            it is not finite, the same batch is run again with a hook on every module to find
            the one that made it (:func:`~nerve.diagnostics.find_nonfinite`).
        num_classes: C for the underfitting rule; by default the width of the model's
            output when the loss is a cross-entropy.
        stop_on_error: end training (``trainer.stop_training``) at the first error finding.
        verbose: print each finding as it is recorded.

    Notes:
        With ``Trainer(grad_clip_norm=...)`` the doctor sees the gradients after clipping,
        so a growing norm is capped; a ratio between layers is still meaningful. Each
        ``fit`` starts a fresh record (findings of an earlier run or a checkup are cleared).

    Attributes:
        findings: the list of finding dicts (see the module docstring).
        grad_history: ``(global_step, first/last ratio, total norm)`` per check.
        initial_gradients: the :class:`~nerve.diagnostics.GradientNorms` of the first step.
        activation_history: per epoch, ``{layer: ActivationStats}``.
    """

    order = 50  # after History, before ModelCheckpoint

    def __init__(self, *, vanishing_ratio=1e-4, exploding_ratio=1e4, grad_growth=1e3,
                 dead_fraction=0.5, saturation_fraction=0.5, diverge_factor=3.0, rising_epochs=3,
                 overfit_epochs=3, overfit_margin=0.05, underfit_epochs=3, underfit_level=0.9,
                 flat_tolerance=0.05,
                 every=10, watch_activations=True, watch_nonfinite=True, num_classes=None,
                 stop_on_error=False, verbose=False):
        if not 0 < vanishing_ratio < 1 < exploding_ratio:
            raise ValueError(f"need 0 < vanishing_ratio < 1 < exploding_ratio, got {vanishing_ratio} "
                             f"and {exploding_ratio}")
        for name, v in (("dead_fraction", dead_fraction), ("saturation_fraction", saturation_fraction),
                        ("flat_tolerance", flat_tolerance)):
            if not 0 < v <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {v}")
        for name, v in (("rising_epochs", rising_epochs), ("overfit_epochs", overfit_epochs),
                        ("underfit_epochs", underfit_epochs), ("every", every)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if diverge_factor <= 1:
            raise ValueError(f"diverge_factor must be > 1 (a multiple of the first loss), "
                             f"got {diverge_factor}")
        self.vanishing_ratio, self.exploding_ratio = float(vanishing_ratio), float(exploding_ratio)
        self.grad_growth = float(grad_growth)
        self.dead_fraction, self.saturation_fraction = float(dead_fraction), float(saturation_fraction)
        self.diverge_factor, self.rising_epochs = float(diverge_factor), rising_epochs
        self.overfit_epochs, self.underfit_epochs = overfit_epochs, underfit_epochs
        if overfit_margin < 0:
            raise ValueError(f"overfit_margin must be >= 0, got {overfit_margin}")
        self.overfit_margin = float(overfit_margin)
        self.underfit_level, self.flat_tolerance = float(underfit_level), float(flat_tolerance)
        self.every = every
        self.watch_activations, self.watch_nonfinite = watch_activations, watch_nonfinite
        self.num_classes = num_classes
        self.stop_on_error, self.verbose = stop_on_error, verbose
        self._recorder = ActivationRecorder(training_only=True)
        self._out_handle = None
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self):
        """Forget all findings and measurements."""
        self.findings: list[dict] = []
        self._seen: set = set()
        self.grad_history: list[tuple] = []
        self.initial_gradients = None
        self.activation_history: list[dict] = []
        self.initial_loss = None
        self.train_losses: list[float] = []
        self.val_losses: list[float] = []
        self._output_width = None
        self._nonfinite = None
        self._locating = False
        self._epoch = None
        self._step = None

    def _record(self, kind, message, data=None, key=None, fix=None):
        """Add a finding unless one of this kind (and key) exists; returns it or None."""
        tag = (kind, key)
        if tag in self._seen:
            return None
        self._seen.add(tag)
        finding = {"kind": kind, "severity": _SEVERITY.get(kind, "warning"), "epoch": self._epoch,
                   "step": self._step, "message": message, "fix": fix or FIXES[kind], "data": data or {}}
        self.findings.append(finding)
        if self.verbose:
            print(_format(finding), flush=True)
        if self.stop_on_error and finding["severity"] == "error" and self.trainer is not None:
            self.trainer.stop_training = True
        return finding

    def has(self, kind: str) -> bool:
        """Whether a finding of this kind was recorded."""
        return any(f["kind"] == kind for f in self.findings)

    @property
    def kinds(self) -> list[str]:
        """The kinds of the findings, in the order they were recorded."""
        return [f["kind"] for f in self.findings]

    # ------------------------------------------------------------- checks
    def check_gradients(self, model):
        """Gradient rules on the gradients currently stored in ``model``; returns the norms."""
        try:
            g = gradient_norms(model)
        except ValueError:
            return None  # nothing has a gradient (a frozen model): nothing to judge
        step = self.trainer.global_step if self.trainer is not None else 0
        self.grad_history.append((step, g.ratio, g.total))
        first = self.initial_gradients is None
        if first:
            self.initial_gradients = g
        data = {"ratio": g.ratio, "first": g.first, "last": g.last, "first_norm": g.norms[g.first],
                "last_norm": g.norms[g.last], "total": g.total}
        if g.nonfinite:
            self._record("exploding_gradients",
                         f"the gradients of {g.nonfinite} hold NaN or Inf",
                         {**data, "nonfinite": g.nonfinite})
        elif g.ratio > self.exploding_ratio:
            self._record("exploding_gradients",
                         f"the first layer's gradient ({g.first}, norm {data['first_norm']:.3g}) is "
                         f"{g.ratio:.3g} times the last layer's ({g.last}, norm {data['last_norm']:.3g}): "
                         "gradients grow as they flow back through the layers", data)
        elif (not first and self.initial_gradients.total > 0
              and g.total > self.grad_growth * self.initial_gradients.total):
            self._record("exploding_gradients",
                         f"the total gradient norm reached {g.total:.3g}, "
                         f"{g.total / self.initial_gradients.total:.3g} times its value at the first step "
                         f"({self.initial_gradients.total:.3g})", data)
        if g.ratio == 0:
            self._record("vanishing_gradients",
                         f"the first layer's weights ({g.first}) get no gradient at all while the last "
                         f"layer's norm is {data['last_norm']:.3g}; usually every unit after the first "
                         "layer is dead or the first layer is cut off from the loss", data,
                         fix="look for dead ReLU layers after the first one (a dead_relu finding) and "
                             "treat their cause (too high a learning rate, negative biases); check "
                             "that no detach() or no_grad() cuts the first layer off the loss")
        elif g.ratio < self.vanishing_ratio:
            self._record("vanishing_gradients",
                         f"the first layer's gradient ({g.first}, norm {data['first_norm']:.3g}) is only "
                         f"{g.ratio:.3g} times the last layer's ({g.last}, norm {data['last_norm']:.3g}): "
                         "the early layers barely learn", data)
        return g

    def check_activations(self, stats: dict, saturation: bool = True):
        """Dead-unit (and, if ``saturation``, saturation) rules on ``{layer: ActivationStats}``."""
        for name, s in stats.items():
            if s.kind in _ZERO_GRAD_RECTIFIERS and s.dead_fraction >= self.dead_fraction:
                self._record("dead_relu",
                             f"{s.dead_fraction:.0%} of the {s.units} units of {s.kind} layer {name!r} "
                             f"output 0 for every one of {s.samples} samples; they get no gradient and "
                             "cannot recover",
                             {"layer": name, "dead_fraction": s.dead_fraction,
                              "dead_units": s.dead_units.tolist(), "units": s.units}, key=name)
            if saturation and s.saturation is not None and s.saturation >= self.saturation_fraction:
                self._record("saturation",
                             f"{s.saturation:.0%} of the outputs of {s.kind} layer {name!r} sit at its "
                             "bounds, where its derivative is nearly 0",
                             {"layer": name, "saturation": s.saturation}, key=name)

    def _check_nonfinite(self):
        r = self._nonfinite
        if r is None:
            return
        self._record("nonfinite", f"the first NaN/Inf appeared in the forward pass: {r.describe()}",
                     {"module": r.module, "kind": r.kind, "op": r.op, "nan": r.nan, "inf": r.inf,
                      "input_min": r.input_min, "input_max": r.input_max,
                      "input_finite": r.input_finite, "bad_parameters": r.bad_parameters})

    def _chance_loss(self):
        c = self.num_classes
        if c is None:
            fn = getattr(self.trainer, "loss_fn", None) if self.trainer is not None else None
            names = (type(fn).__name__, getattr(fn, "__name__", ""))
            if any(n in _CE_LOSSES for n in names):
                c = self._output_width
        return math.log(c) if c is not None and c >= 2 else None

    def check_losses(self):
        """Divergence, overfitting and underfitting rules on the epoch losses so far."""
        tr, va = self.train_losses, self.val_losses
        last = tr[-1]
        if not math.isfinite(last):
            self._record("diverging", f"the training loss became {last}", {"loss": last})
            return
        first = self.initial_loss
        if first is not None and first > 0 and last > self.diverge_factor * first:
            self._record("diverging",
                         f"the epoch's training loss {last:.4g} is {last / self.initial_loss:.3g} times the "
                         f"first batch's loss ({self.initial_loss:.4g})",
                         {"loss": last, "initial_loss": self.initial_loss})
        k = self.rising_epochs
        if len(tr) > k and all(tr[-i] > tr[-i - 1] for i in range(1, k + 1)):
            self._record("diverging",
                         f"the training loss rose {k} epochs in a row: "
                         + " → ".join(f"{v:.4g}" for v in tr[-k - 1:]), {"losses": tr[-k - 1:]})
        k = self.overfit_epochs
        if len(va) == len(tr) and len(tr) > k and all(math.isfinite(v) for v in va):
            best = int(np.argmin(va))
            gaps = [v - t for v, t in zip(va, tr)]
            # validation stalled for k epochs, now clearly above its best, while training improves
            if (best <= len(va) - 1 - k and va[-1] > (1 + self.overfit_margin) * va[best]
                    and tr[-1] < tr[-k - 1] and gaps[-1] > gaps[-k - 1]):
                self._record("overfitting",
                             f"the training loss kept falling ({tr[-k - 1]:.4g} → {tr[-1]:.4g} over {k} "
                             f"epochs) while the validation loss rose from its best {va[best]:.4g} "
                             f"(epoch {best + 1}) to {va[-1]:.4g}; the gap between them grew from "
                             f"{gaps[-k - 1]:.4g} to {gaps[-1]:.4g}",
                             {"train_loss": tr[-1], "val_loss": va[-1], "best_val_loss": va[best],
                              "best_epoch": best, "gaps": gaps[-k - 1:]})
        chance = self._chance_loss()
        k = self.underfit_epochs
        if chance is not None and len(tr) >= k:
            window = tr[-k:]
            gain = (window[0] - window[-1]) / window[0] if window[0] > 0 else 0.0
            if gain < self.flat_tolerance and window[-1] >= self.underfit_level * chance:
                self._record("underfitting",
                             f"the training loss is flat ({window[0]:.4g} → {window[-1]:.4g} over {k} "
                             f"epochs) at {window[-1] / chance:.0%} of ln(C) = {chance:.4g}, the loss of "
                             "guessing: the model has learned next to nothing",
                             {"losses": window, "chance_loss": chance})

    # ------------------------------------------------------------ callback hooks
    def on_train_begin(self, logs=None):
        self.reset()
        model = self.model
        if self.watch_activations:
            self._recorder.attach(model)
        self._out_handle = model.register_forward_hook(self._watch_output)

    def _watch_output(self, module, args, out):
        """Root-module hook: remember the output width once, and catch the first NaN/Inf."""
        if self._locating:
            return
        if isinstance(out, (tuple, list)):  # e.g. (output, state) from a recurrent model
            out = out[0] if out else None
        arr = np.asarray(getattr(out, "data", out))
        if self._output_width is None and arr.ndim >= 2:
            self._output_width = int(arr.shape[-1])
        if not self.watch_nonfinite:
            self._out_handle.remove()
            self._out_handle = None
            return
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            # Same weights, same batch: run it again with a hook on every module.
            self._locating, enabled = True, self._recorder.enabled
            self._recorder.enabled = False
            try:
                self._nonfinite = (find_nonfinite(module, args[0]) if args else None) \
                    or inspect_output("", module, args, out)
            finally:
                self._locating, self._recorder.enabled = False, enabled
            self._out_handle.remove()  # found: stop paying for the check
            self._out_handle = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._recorder.reset()

    def on_batch_begin(self, step, logs=None):
        self._recorder.enabled = step % self.every == 0

    def on_batch_end(self, step, logs=None):
        self._step = step
        loss = float(logs["loss"])
        if self.initial_loss is None:
            self.initial_loss = loss
        if step % self.every == 0:
            self.check_gradients(self.model)
        self._check_nonfinite()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self._step = None
        if self._recorder.attached:
            stats = self._recorder.stats()
            self.activation_history.append(stats)
            self.check_activations(stats, saturation=len(self.activation_history) == 1)
        if "loss" in logs:
            self.train_losses.append(float(logs["loss"]))
            if "val_loss" in logs:
                self.val_losses.append(float(logs["val_loss"]))
            self.check_losses()

    def on_train_end(self, logs=None):
        # Trainer.fit raises on a NaN/Inf loss before on_batch_end, so look here as well.
        self._check_nonfinite()
        stop = (logs or {}).get("nonfinite_loss")
        if stop is not None:  # the run ended on it, before its step: the weights are still finite
            self._record("diverging", f"the training loss became {stop['loss']} at epoch {stop['epoch'] + 1}, "
                         f"step {stop['step'] + 1}, and training stopped there", dict(stop))
        bad = [n for n, p in self.model.named_parameters() if not np.isfinite(p._data).all()]
        if bad:
            self._record("diverging", f"training ended with NaN/Inf in the parameters {bad[:5]}"
                         + (f" and {len(bad) - 5} more" if len(bad) > 5 else ""), {"parameters": bad})
        grads = [n for n, p in self.model.named_parameters()
                 if p.grad is not None and not np.isfinite(p.grad._data).all()]
        if grads:
            self._record("exploding_gradients", f"the last gradients of {grads[:5]} hold NaN or Inf",
                         {"nonfinite": grads})
        self._recorder.detach()
        self._recorder.enabled = True
        if self._out_handle is not None:
            self._out_handle.remove()
            self._out_handle = None

    # ------------------------------------------------------ outside a training loop
    def checkup(self, model, inputs, targets, loss_fn):
        """Examine a model on one batch without training it; returns the new findings.

        Runs a forward pass with the activation and NaN/Inf hooks, computes
        ``loss_fn(model(inputs), targets)``, backpropagates, and applies the gradient and
        activation rules, with gradients recorded even when called under ``no_grad``. The
        parameters' ``.grad`` and the global generator (dropout draws from it) are put back
        as they were afterwards (a gradient being accumulated over several batches
        survives), so a checkup does not disturb a training loop.

        Example:
            >>> import numpy as np
            >>> from nerve import nn
            >>> net = nn.Sequential(*[m for _ in range(12) for m in (nn.Linear(32, 32), nn.Sigmoid())])
            >>> x = np.random.default_rng(0).normal(size=(64, 32)).astype(np.float32)
            >>> [f["kind"] for f in TrainingDoctor().checkup(net, x, np.zeros_like(x), nn.MSELoss())]
            ['vanishing_gradients']
        """
        before = len(self.findings)
        self._epoch = self._step = None
        params = list(model.parameters())
        saved_grads = [p.grad for p in params]
        saved_rng = get_rng_state()  # a model in train mode draws dropout masks from it
        for p in params:
            p.grad = None
        rec = ActivationRecorder().attach(model)
        watcher = NonFiniteWatcher().attach(model)
        try:
            with np.errstate(all="ignore"), enable_grad():
                loss = loss_fn(model(as_model_input(model, inputs)), as_model_input(model, targets)
                               if np.asarray(getattr(targets, "data", targets)).dtype.kind == "f"
                               else targets)
        finally:
            rec.detach()
            watcher.detach()
        if watcher.first is not None:
            self._nonfinite = watcher.first
            self._check_nonfinite()
        self.check_activations(rec.stats())
        try:
            if watcher.first is None:
                loss.backward()
                self.check_gradients(model)
        finally:
            for p, g in zip(params, saved_grads):
                p.grad = g
            set_rng_state(saved_rng)
        return self.findings[before:]

    # ------------------------------------------------------------------ report
    def report(self) -> str:
        """The findings as readable text, most severe first (a one-line all-clear if none)."""
        lines = []
        if self.initial_gradients is not None:
            g = self.initial_gradients
            lines.append(f"gradients at the first step: ‖∇{g.first}‖ / ‖∇{g.last}‖ = {g.ratio:.3g}, "
                         f"total norm {g.total:.3g}")
        if self.train_losses:
            n = len(self.train_losses)
            line = f"training loss: {self.train_losses[0]:.4g} → {self.train_losses[-1]:.4g} " \
                   f"over {n} epoch{'s' if n != 1 else ''}"
            if self.val_losses:
                line += f"; validation loss {self.val_losses[0]:.4g} → {self.val_losses[-1]:.4g}"
            lines.append(line)
        if not self.findings:
            return "\n".join(["Training doctor: no problems found."] + lines)
        order = {"error": 0, "warning": 1}
        head = f"Training doctor: {len(self.findings)} finding{'s' if len(self.findings) != 1 else ''}."
        body = [_format(f) for f in sorted(self.findings, key=lambda f: order[f["severity"]])]
        return "\n".join([head, *lines, "", *body])

    def __repr__(self):
        return f"TrainingDoctor(findings={self.kinds})"


def _format(f: dict) -> str:
    where = "before training" if f["epoch"] is None else f"epoch {f['epoch'] + 1}" + (
        f", step {f['step'] + 1}" if f["step"] is not None else "")
    title = f["kind"].replace("_", " ")
    return f"[{f['severity'].upper()}] {title} ({where}): {f['message']}.\n    fix: {f['fix']}."


Diagnostics = TrainingDoctor


# ---------------------------------------------------------------------------- monitors
class GradientMonitor(Callback):
    """Record every parameter's gradient norm during training (no verdicts, just numbers).

    After batch 0, ``every``, 2·``every`` ... of each epoch it stores the
    :func:`~nerve.diagnostics.gradient_norms` of the model: ``history`` is a list of dicts
    ``{"step", "epoch", "norms", "ratio", "total"}``, and ``series(name)`` gives one
    parameter's norms over time as an array (for a plot of gradient flow per layer).

    Example:
        >>> import numpy as np
        >>> from nerve import nn, optim, data
        >>> from nerve.train import Trainer
        >>> X = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
        >>> y = (X[:, 0] > 0).astype(np.int64)
        >>> net = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> mon = GradientMonitor()
        >>> loader = data.DataLoader(data.TensorDataset(X, y), batch_size=16)
        >>> _ = Trainer(net, optim.SGD(net.parameters(), lr=0.1), nn.CrossEntropyLoss(),
        ...             callbacks=[mon]).fit(loader, epochs=2)
        >>> len(mon.history), mon.series("0.weight").shape
        (8, (8,))
    """

    def __init__(self, every: int = 1):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.every = every
        self.history: list[dict] = []

    def on_train_begin(self, logs=None):
        self.history = []

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, step, logs=None):
        if step % self.every:
            return
        try:
            g = gradient_norms(self.model)
        except ValueError:
            return
        self.history.append({"step": self.trainer.global_step, "epoch": self._epoch,
                             "norms": g.norms, "ratio": g.ratio, "total": g.total})

    def series(self, name: str) -> np.ndarray:
        """The gradient norm of parameter ``name`` at each recorded step."""
        if self.history and name not in self.history[0]["norms"]:
            raise KeyError(f"no gradient norms for {name!r}; recorded parameters are "
                           f"{list(self.history[0]['norms'])}")
        return np.array([h["norms"].get(name, np.nan) for h in self.history])


class DeadUnitMonitor(Callback):
    """Per epoch, the share of each activation layer's units that never fired.

    A unit counts as dead in an epoch when its output was <= 0 (exactly 0 for ReLU) on
    every training sample of that epoch (evaluation passes are not counted).
    ``history[epoch]`` is ``{layer: dead fraction}`` and ``dead_units[layer]`` holds the
    indices of the units dead in the last epoch. Only rectifier layers are listed.

    Example:
        >>> import numpy as np
        >>> from nerve import nn, optim, data
        >>> from nerve.train import Trainer
        >>> X = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
        >>> y = (X[:, 0] > 0).astype(np.int64)
        >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        >>> net[0].bias.data[1] = -10.0          # this unit never fires on standardized inputs
        >>> mon = DeadUnitMonitor()
        >>> loader = data.DataLoader(data.TensorDataset(X, y), batch_size=16)
        >>> _ = Trainer(net, optim.SGD(net.parameters(), lr=0.1), nn.CrossEntropyLoss(),
        ...             callbacks=[mon]).fit(loader, epochs=1)
        >>> mon.dead_units["1"].tolist(), mon.history[0]["1"]
        ([1], 0.25)
    """

    def __init__(self):
        self._recorder = ActivationRecorder(training_only=True)
        self.history: list[dict] = []
        self.dead_units: dict = {}

    def on_train_begin(self, logs=None):
        self.history, self.dead_units = [], {}
        self._recorder.attach(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self._recorder.reset()

    def on_epoch_end(self, epoch, logs=None):
        stats = {k: s for k, s in self._recorder.stats().items() if s.kind in RECTIFIERS}
        self.history.append({k: s.dead_fraction for k, s in stats.items()})
        self.dead_units = {k: s.dead_units for k, s in stats.items()}

    def on_train_end(self, logs=None):
        self._recorder.detach()
