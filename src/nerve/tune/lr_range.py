"""The learning-rate range test (Smith 2017): raise the lr geometrically, one step at a time,
and watch where the loss stops falling and where it blows up."""
from __future__ import annotations

import copy
import math

import numpy as np

__all__ = ["lr_range_test", "LRRangeResult"]


class LRRangeResult:
    """What an LR range test saw.

    Attributes:
        lrs, losses: the lr used at each step and the raw loss of that step.
        smoothed: the losses after exponential smoothing (bias-corrected).
        suggested_lr: the lr where the smoothed loss fell fastest in relative terms (the
            steepest negative slope of log smoothed loss against log lr, which does not depend
            on the loss's scale; fastai uses the slope of the loss itself, and so does this
            test when a smoothed loss is 0 or negative, where a log has no meaning), always
            before ``diverged_lr``.
        diverged_lr: the first lr at which the smoothed loss rose above the best seen so far
            by more than ``(diverge_factor - 1)`` × |best| (for a positive loss: exceeded
            ``diverge_factor`` × the best), or was not finite (None when the sweep ended
            first).
    """

    def __init__(self, lrs, losses, smoothed, suggested_lr, diverged_lr):
        self.lrs, self.losses, self.smoothed = list(lrs), list(losses), list(smoothed)
        self.suggested_lr, self.diverged_lr = suggested_lr, diverged_lr

    def __repr__(self):
        return (f"LRRangeResult({len(self.lrs)} steps, suggested_lr={self.suggested_lr:.3g}, "
                f"diverged_lr={self.diverged_lr if self.diverged_lr is None else float(f'{self.diverged_lr:.3g}')})")


def _cycle(loader):
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError("the loader produced no batches; check the dataset and batch_size")


def lr_range_test(model, optimizer, loss_fn, data, *, start_lr=1e-6, end_lr=1.0, num_steps=100,
                  smoothing=0.05, diverge_factor=4.0, restore=True):
    """Train with an lr that grows from ``start_lr`` to ``end_lr`` geometrically; see where it breaks.

    Args:
        model: the Module to train (its weights, buffers, train/eval modes and ``.grad``
            fields, the optimizer's state and the global random generator's state (dropout
            draws from it) are restored after the test when ``restore``, as the test is a
            probe, not training).
        optimizer: any nerve optimizer over the model's parameters; its ``lr`` is overwritten
            in every group at every step.
        loss_fn: ``loss_fn(outputs, targets)`` for batches of ``data``; with ``data=None`` a
            callable ``loss_fn(model) -> scalar Tensor`` that computes the whole objective.
        data: a loader (or list) of ``(inputs, targets)`` batches, cycled as needed; one
            ``(inputs, targets)`` pair of arrays, used at every step; or None.
        start_lr, end_lr, num_steps: the sweep: lr_k = start·(end/start)^(k/(num_steps−1)).
        smoothing: the weight of the newest loss in the exponential moving average.
        diverge_factor: stop when the smoothed loss exceeds this multiple of the best one
            (measured as a rise of ``(diverge_factor - 1)`` × |best|, so that a loss that can be
            negative, such as a negative log-likelihood with a density above 1, works too).

    Returns:
        an ``LRRangeResult``; ``viz.plot_lr_range(result, path)`` draws it.
    """
    from ..autograd import Tensor  # noqa: PLC0415
    from ..random import get_rng_state, set_rng_state  # noqa: PLC0415

    if not (0 < start_lr < end_lr and math.isfinite(end_lr)):
        raise ValueError(f"lr_range_test needs 0 < start_lr < end_lr < inf, got {start_lr!r} and {end_lr!r}")
    # three steps at least: the suggestion is a slope, taken between neighbouring steps
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 3:
        raise ValueError(f"num_steps must be an integer of at least 3, got {num_steps!r}")
    num_steps = int(num_steps)
    if not 0 < smoothing <= 1:
        raise ValueError(f"smoothing must be in (0, 1], got {smoothing!r}")
    if not diverge_factor > 1:
        raise ValueError(f"diverge_factor must be above 1, got {diverge_factor!r}")
    saved_model = copy.deepcopy(model.state_dict()) if restore else None
    saved_opt = copy.deepcopy(optimizer.state_dict()) if restore else None
    # state_dict holds neither the train/eval flags nor the .grad fields; a probe must put
    # those back too (a model left in train mode, or with the last probe step's gradient in
    # .grad, would silently change what the caller does next)
    saved_modes = [(m, m.training) for m in model.modules()] if restore else None
    params = list(model.parameters())
    saved_grads = [None if p.grad is None else p.grad._data.copy() for p in params] if restore else None
    # dropout draws from the global generator: a probe that moved it would make the training
    # run that follows differ from the same run without the probe
    saved_rng = get_rng_state() if restore else None
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], (np.ndarray, Tensor)):
        # one (inputs, targets) batch: cycling it would unpack the rows of the inputs instead
        data = [tuple(data)]
    batches = _cycle(data) if data is not None else None
    ratio = (end_lr / start_lr) ** (1.0 / (num_steps - 1))
    lrs, losses, smoothed = [], [], []
    avg, best, diverged = 0.0, math.inf, None
    model.train()
    try:
        for k in range(num_steps):
            lr = start_lr * ratio ** k
            for g in optimizer.param_groups:
                g["lr"] = lr
            if batches is None:
                loss = loss_fn(model)
            else:
                x, y = next(batches)
                x = x if isinstance(x, Tensor) else Tensor(x)
                y = y if isinstance(y, Tensor) else Tensor(y)
                loss = loss_fn(model(x), y)
            value = float(loss._data)
            lrs.append(lr)
            losses.append(value)
            if not math.isfinite(value):
                smoothed.append(value)
                diverged = lr
                break
            avg = smoothing * value + (1 - smoothing) * avg
            s = avg / (1 - (1 - smoothing) ** (k + 1))  # bias correction, as in Adam
            smoothed.append(s)
            best = min(best, s)
            # a rise of (factor - 1)·|best| above the best: factor × best for a positive loss,
            # and still a rise (not an instant "divergence" at step 0) for a negative one
            if s - best > (diverge_factor - 1) * abs(best):
                diverged = lr
                break
            optimizer.zero_grad()
            with np.errstate(over="ignore", invalid="ignore"):
                loss.backward()
                optimizer.step()
    finally:
        if restore:
            model.load_state_dict(saved_model)
            optimizer.load_state_dict(saved_opt)
            for m, mode in saved_modes:
                m.training = mode
            for p, g in zip(params, saved_grads):
                p.grad = None if g is None else Tensor(g)
            set_rng_state(saved_rng)
    suggested = _suggest(lrs, smoothed, diverged)
    return LRRangeResult(lrs, losses, smoothed, suggested, diverged)


def _suggest(lrs, smoothed, diverged):
    """The lr of the steepest fall of the smoothed loss, among the steps before divergence."""
    n = len(smoothed) - (1 if diverged is not None else 0)
    if n < 3:
        raise ValueError(f"the loss diverged after {n} steps, too early to suggest an lr; lower start_lr")
    s = np.asarray(smoothed[:n], dtype=np.float64)
    logs = np.log(np.asarray(lrs[:n]))
    if (s > 0).all():
        # the slope of log loss against log lr: scale free
        slope = np.gradient(np.log(s), logs)
    else:
        # a loss that reaches 0 or goes negative has no log: the slope of the loss itself
        slope = np.gradient(s, logs)
    return float(lrs[int(np.argmin(slope))])
