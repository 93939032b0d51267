"""Learning-rate schedules: plain functions of the step, and PyTorch-style scheduler classes.

Every closed-form schedule is first a function of the step number, e.g.
``cosine_annealing(step, base_lr, T_max)``, usable on its own (a plot, a custom loop).
The classes drive an optimizer's ``param_groups[i]["lr"]`` exactly as
``torch.optim.lr_scheduler`` does: ``scheduler.step()`` once per epoch (or per batch for
``OneCycleLR``), after ``optimizer.step()``. Like PyTorch, the classes update the lr
*recursively* from its current value (so they compose with other changes to the lr), and
use the closed form only when ``step(epoch)`` is given an explicit epoch.

Example:
    >>> import nerve as nv
    >>> w = nv.tensor([1.0], requires_grad=True)
    >>> opt = nv.optim.SGD([w], lr=1.0)
    >>> sched = nv.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(sched.get_last_lr()[0])
    ...     opt.step()
    ...     sched.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25]
"""
from __future__ import annotations

import math
import numbers
import types
import warnings
from bisect import bisect_right
from collections import Counter

from .optimizer import Optimizer

__all__ = [
    "LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR",
    "LinearLR", "SequentialLR", "ReduceLROnPlateau", "OneCycleLR", "ConstantLR", "PolynomialLR",
    "MultiplicativeLR", "ChainedScheduler", "CosineAnnealingWarmRestarts", "CyclicLR",
    "step_lr", "multistep_lr", "exponential_lr", "cosine_annealing", "linear_lr", "constant_lr",
    "polynomial_lr", "cosine_warm_restarts", "one_cycle_lr", "one_cycle_momentum", "cyclic_lr",
]


# ------------------------------------------------------------------------------------------
# Closed forms: the lr at a given step, as plain functions.
# ------------------------------------------------------------------------------------------
def step_lr(step, base_lr, step_size, gamma=0.1):
    """``base_lr · gamma^⌊step / step_size⌋``: decay by ``gamma`` every ``step_size`` steps.

    >>> step_lr(5, 1.0, step_size=2, gamma=0.5)
    0.25
    """
    return base_lr * gamma ** (step // step_size)


def multistep_lr(step, base_lr, milestones, gamma=0.1):
    """``base_lr · gamma^k`` where k counts the milestones ≤ ``step``.

    >>> multistep_lr(7, 1.0, milestones=[3, 6], gamma=0.1)
    0.010000000000000002
    """
    return base_lr * gamma ** bisect_right(sorted(milestones), step)


def exponential_lr(step, base_lr, gamma):
    """``base_lr · gamma^step``.

    >>> exponential_lr(2, 1.0, gamma=0.5)
    0.25
    """
    return base_lr * gamma ** step


def cosine_annealing(step, base_lr, T_max, eta_min=0.0):
    """``eta_min + (base_lr − eta_min)·(1 + cos(π·step / T_max)) / 2`` (SGDR without restarts).

    It falls from ``base_lr`` at step 0 to ``eta_min`` at ``T_max`` and, past it, rises
    again with period ``2·T_max``.

    >>> cosine_annealing(5, 1.0, T_max=10)
    0.5
    """
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * step / T_max)) / 2


def linear_lr(step, base_lr, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
    """A linear ramp of the factor from ``start_factor`` to ``end_factor`` over ``total_iters`` steps.

    ``base_lr · (start + (end − start)·min(step, total_iters) / total_iters)``; the usual
    warm-up is ``start_factor`` small and ``end_factor = 1``.

    >>> linear_lr(2, 1.0, start_factor=0.5, end_factor=1.0, total_iters=4)
    0.75
    """
    return base_lr * (start_factor + (end_factor - start_factor) * min(total_iters, step) / total_iters)


def constant_lr(step, base_lr, factor=1.0 / 3, total_iters=5):
    """``base_lr · factor`` for the first ``total_iters`` steps, ``base_lr`` afterwards.

    >>> constant_lr(1, 1.0, factor=0.5, total_iters=2), constant_lr(2, 1.0, factor=0.5, total_iters=2)
    (0.5, 1.0)
    """
    return base_lr * (factor + (step >= total_iters) * (1 - factor))


def polynomial_lr(step, base_lr, total_iters=5, power=1.0):
    """``base_lr · (1 − min(step, total_iters) / total_iters)^power``: decay to 0 in ``total_iters``.

    >>> polynomial_lr(1, 1.0, total_iters=4, power=2.0)
    0.5625
    """
    return base_lr * (1.0 - min(total_iters, step) / total_iters) ** power


def cosine_warm_restarts(step, base_lr, T_0, T_mult=1, eta_min=0.0):
    """SGDR (Loshchilov & Hutter, 2017): cosine annealing restarted after T_0, T_0·T_mult, ... steps.

    >>> cosine_warm_restarts(10, 1.0, T_0=10)   # the first step of the second cycle
    1.0
    """
    T_i, t = T_0, step
    while t >= T_i:
        t -= T_i
        T_i *= T_mult
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / T_i)) / 2


def _anneal(strategy, start, end, pct):
    """Go from ``start`` (pct = 0) to ``end`` (pct = 1), along a half cosine or a line."""
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def _one_cycle_phases(total_steps, pct_start, three_phase):
    """Phase ends and (start, end) labels: lr in 'initial' / 'max' / 'min', momentum in 'max' / 'base'."""
    up = float(pct_start * total_steps) - 1
    if three_phase:
        return [(up, "initial", "max", "max", "base"),
                (float(2 * pct_start * total_steps) - 2, "max", "initial", "base", "max"),
                (total_steps - 1, "initial", "min", "max", "max")]
    return [(up, "initial", "max", "max", "base"),
            (total_steps - 1, "max", "min", "base", "max")]


def _one_cycle_at(step, phases):
    """(phase, pct) for ``step``: the phase it falls in and how far through it is."""
    # PyTorch divides by zero when a phase has no length (pct_start·total_steps == 1, or
    # pct_start == 1 at the final step()). Such a phase only covers the point where the next
    # one starts from its end value, so it is skipped; a last phase of no length is complete.
    start = 0.0
    for i, phase in enumerate(phases):
        end = phase[0]
        last = i == len(phases) - 1
        if end == start and not last:
            continue
        if step <= end or last:
            return phase, (1.0 if end == start else (step - start) / (end - start))
        start = end
    raise AssertionError("unreachable")


def one_cycle_lr(step, max_lr, total_steps, pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
                 final_div_factor=1e4, three_phase=False):
    """The 1cycle learning rate (Smith & Topin, 2017) at ``step``.

    It rises from ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of
    the run, then falls to ``max_lr / div_factor / final_div_factor``; with
    ``three_phase`` it first comes back down symmetrically to the start value.

    >>> round(one_cycle_lr(0, 1.0, total_steps=100), 12)
    0.04
    >>> one_cycle_lr(29, 1.0, total_steps=100)
    1.0
    """
    initial = max_lr / div_factor
    values = {"initial": initial, "max": max_lr, "min": initial / final_div_factor}
    phase, pct = _one_cycle_at(step, _one_cycle_phases(total_steps, pct_start, three_phase))
    return _anneal(anneal_strategy, values[phase[1]], values[phase[2]], pct)


def one_cycle_momentum(step, total_steps, base_momentum=0.85, max_momentum=0.95, pct_start=0.3,
                       anneal_strategy="cos", three_phase=False):
    """The momentum that 1cycle pairs with ``one_cycle_lr``: high when the lr is low, and back.

    >>> one_cycle_momentum(29, total_steps=100)
    0.85
    """
    values = {"base": base_momentum, "max": max_momentum}
    phase, pct = _one_cycle_at(step, _one_cycle_phases(total_steps, pct_start, three_phase))
    return _anneal(anneal_strategy, values[phase[3]], values[phase[4]], pct)


def _cyclic_position(step, step_size_up, step_size_down):
    """(cycle number from 1, height in [0, 1]): 0 at the cycle's start and end, 1 at its top."""
    total = step_size_up + step_size_down
    up_share = step_size_up / total
    cycle = math.floor(1 + step / total)
    x = 1.0 + step / total - cycle  # how far through the cycle, in [0, 1)
    height = x / up_share if x <= up_share else (x - 1) / (up_share - 1)
    return cycle, height


_CYCLIC_SCALES = {  # mode -> (amplitude scale as a function of its argument, what the argument is)
    "triangular": (lambda gamma, x: 1.0, "cycle"),
    "triangular2": (lambda gamma, x: 1 / (2.0 ** (x - 1)), "cycle"),
    "exp_range": (lambda gamma, x: gamma ** x, "iterations"),
}


def cyclic_lr(step, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
              gamma=1.0, scale_fn=None, scale_mode="cycle"):
    """The cyclical learning rate (Smith, 2017) at ``step``: between ``base_lr`` and ``max_lr``.

    Each cycle climbs linearly for ``step_size_up`` steps and falls back for
    ``step_size_down`` (default: the same). The climb's height is scaled by ``scale_fn``
    of the cycle number (``scale_mode='cycle'``) or of the step (``'iterations'``); the
    modes ``'triangular'`` (no scaling), ``'triangular2'`` (halved every cycle) and
    ``'exp_range'`` (``gamma**step``) pick one.

    >>> [cyclic_lr(t, 0.1, 0.5, step_size_up=2) for t in range(5)]
    [0.1, 0.30000000000000004, 0.5, 0.30000000000000004, 0.1]
    """
    step_size_up = float(step_size_up)
    step_size_down = step_size_up if step_size_down is None else float(step_size_down)
    cycle, height = _cyclic_position(step, step_size_up, step_size_down)
    if scale_fn is None:
        fn, scale_mode = _CYCLIC_SCALES[mode]
        scale = fn(gamma, cycle if scale_mode == "cycle" else step)
    else:
        scale = scale_fn(cycle if scale_mode == "cycle" else step)
    return base_lr + (max_lr - base_lr) * height * scale


# ------------------------------------------------------------------------------------------
# Scheduler classes
# ------------------------------------------------------------------------------------------
def _check_optimizer(optimizer, who):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{who} needs a nerve.optim.Optimizer, got {type(optimizer).__name__}")


def _check_positive_int(who, name, value):
    """Raise ``ValueError`` unless ``value`` is a positive integer (NumPy integers included)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{who}: {name} must be a positive int, got {value!r}")
    return int(value)


def _check_gamma(who, gamma):
    """Raise ``ValueError`` for a negative decay factor.

    PyTorch accepts it and then drives the lr negative (every other decay flips its sign),
    which turns descent into ascent without any error; nerve refuses it up front.
    """
    if not isinstance(gamma, numbers.Real) or isinstance(gamma, bool) or not gamma >= 0:
        raise ValueError(f"{who}: gamma must be a number >= 0 (the factor the lr is multiplied by), "
                         f"got {gamma!r}")


def _per_group(name, value, optimizer):
    """``value`` repeated for each parameter group, or checked to have one entry per group."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} values but the optimizer has {n} parameter groups; "
                             "give one value per group, or a single number for all")
        return list(value)
    return [value] * n


class LRScheduler:
    """Base class: sets ``param_groups[i]["lr"]`` from ``get_lr()`` on every ``step()``.

    Attributes:
        optimizer: the optimizer whose learning rates are driven.
        base_lrs: each group's starting lr (stored in the group as ``"initial_lr"``).
        last_epoch: how many times ``step()`` has been called (0 right after construction).

    Args:
        optimizer: the optimizer to schedule.
        last_epoch: index of the last finished epoch when resuming (default -1: a new run).

    A subclass implements ``get_lr()``, the new lr of each group computed from the
    current ones, and optionally ``_get_closed_form_lr()``.
    """

    _is_initial = False

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer, type(self).__name__)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{type(self).__name__}(last_epoch={last_epoch}): param_groups[{i}] has no "
                        "'initial_lr'; resuming needs the optimizer state of the run being resumed "
                        "(load its state_dict first), or use last_epoch=-1 for a new run")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """Set the lr for epoch 0 (called once by the constructor)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The new lr for every group at ``self.last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def get_last_lr(self):
        """The lr of each group as last set by this scheduler."""
        return self._last_lr

    def step(self, epoch=None):
        """Advance one epoch and update every group's lr.

        Passing ``epoch`` jumps to that epoch using the closed form where there is one
        (deprecated in PyTorch; kept for compatibility).
        """
        self._step_count += 1
        if epoch is not None:
            warnings.warn("passing an epoch to scheduler.step() is deprecated; call step() once "
                          "per epoch instead", UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        self._set_lrs(values)

    def _set_lrs(self, values):
        """Write one lr per group; a count that does not match is an error, never a partial update."""
        values = list(values)
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            # e.g. optimizer.add_param_group() after the scheduler was built: a schedule kept
            # per group (base lrs, lambdas) has nothing for the new group. PyTorch raises a
            # bare zip() error here; a silent zip would leave that group unscheduled.
            raise ValueError(f"{type(self).__name__} computed {len(values)} learning rates but the "
                             f"optimizer has {len(groups)} parameter groups; a group added after the "
                             "scheduler was built needs a new scheduler (build it after add_param_group)")
        for group, lr in zip(groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in groups]

    def state_dict(self):
        """Everything but the optimizer, as a dict (``load_state_dict`` restores it)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore a state saved by ``state_dict()``."""
        self.__dict__.update(state_dict)

    def _current(self):
        return [group["lr"] for group in self.optimizer.param_groups]


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs (see ``step_lr``).

    Args:
        optimizer: the optimizer to schedule.
        step_size: epochs between decays (a positive int).
        gamma: the decay factor (default 0.1).
        last_epoch: for resuming (default -1).

    Example:
        >>> import nerve as nv
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> sched = nv.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.1)
        >>> for _ in range(3):
        ...     sched.step()
        >>> round(sched.get_last_lr()[0], 12)
        0.1
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = _check_positive_int("StepLR", "step_size", step_size)
        _check_gamma("StepLR", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _get_closed_form_lr(self):
        return [step_lr(self.last_epoch, b, self.step_size, self.gamma) for b in self.base_lrs]


def _milestone_list(who, milestones):
    """The milestones as ints; a fractional or non-numeric one is an error, not truncated.

    (PyTorch keeps ``2.5`` or ``"3"`` as given, and since the epoch never equals them the
    decay silently never happens.)
    """
    if isinstance(milestones, (str, bytes)):
        raise TypeError(f"{who}: milestones must be a list of ints, got the string {milestones!r}")
    out = []
    for m in milestones:
        if isinstance(m, bool) or not isinstance(m, numbers.Real):
            raise TypeError(f"{who}: milestones must be ints, got {m!r} ({type(m).__name__})")
        if not float(m).is_integer():
            raise ValueError(f"{who}: milestones must be whole epochs, got {m!r}; round it to an int")
        out.append(int(m))
    return out


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone epoch (see ``multistep_lr``).

    Args:
        optimizer: the optimizer to schedule.
        milestones: epochs at which to decay (a repeated milestone decays twice).
        gamma: the decay factor (default 0.1).
        last_epoch: for resuming (default -1).

    Example:
        >>> import nerve as nv
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> sched = nv.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 4], gamma=0.5)
        >>> lrs = []
        >>> for _ in range(5):
        ...     lrs.append(sched.get_last_lr()[0]); sched.step()
        >>> lrs
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = Counter(_milestone_list("MultiStepLR", milestones))
        _check_gamma("MultiStepLR", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def load_state_dict(self, state_dict):
        """Restore a state saved by ``state_dict()``.

        A state that went through a JSON checkpoint holds the milestones as a plain dict;
        they are turned back into a ``Counter`` (which ``step(epoch)`` needs).
        """
        super().load_state_dict(state_dict)
        self.milestones = Counter({int(m): int(n) for m, n in dict(self.milestones).items()})

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._current()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._current()]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [multistep_lr(self.last_epoch, b, milestones, self.gamma) for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch (see ``exponential_lr``).

    Args:
        optimizer: the optimizer to schedule.
        gamma: the decay factor per epoch.
        last_epoch: for resuming (default -1).

    Example:
        >>> import nerve as nv
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> sched = nv.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        >>> sched.step(); sched.step()
        >>> sched.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        _check_gamma("ExponentialLR", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _get_closed_form_lr(self):
        return [exponential_lr(self.last_epoch, b, self.gamma) for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Anneal the lr along a half cosine from its start value to ``eta_min`` over ``T_max`` epochs.

    The closed form is ``cosine_annealing``; like PyTorch, each step applies the ratio
    of consecutive closed-form values to the current lr::

        lr_t = eta_min + (lr_{t−1} − eta_min) · (1 + cos(π t/T)) / (1 + cos(π (t−1)/T))

    Args:
        optimizer: the optimizer to schedule.
        T_max: epochs from the start value to ``eta_min`` (a positive int).
        eta_min: the lowest lr (default 0).
        last_epoch: for resuming (default -1).

    Example:
        >>> import nerve as nv
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> sched = nv.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
        >>> for _ in range(2):
        ...     sched.step()
        >>> round(sched.get_last_lr()[0], 12)
        0.5
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be > 0, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current()
        if self._step_count == 1 and t > 0:  # resumed: jump straight to the closed form
            return [cosine_annealing(t, b, T, lo) for b in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            # NOTE: at the bottom of the cosine the ratio form would divide by ~0, so this
            # step adds the closed-form increment instead.
            return [lr + (b - lo) * (1 - math.cos(math.pi / T)) / 2
                    for b, lr in zip(self.base_lrs, self._current())]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (lr - lo) + lo for lr in self._current()]

    def _get_closed_form_lr(self):
        return [cosine_annealing(self.last_epoch, b, self.T_max, self.eta_min) for b in self.base_lrs]


class LambdaLR(LRScheduler):
    """Set the lr to ``base_lr · lr_lambda(epoch)``, for any function of the epoch.

    Args:
        optimizer: the optimizer to schedule.
        lr_lambda: a function of the epoch returning a factor, or one per parameter group.
        last_epoch: for resuming (default -1).

    Only callable *objects* keep their attributes in ``state_dict``; plain functions and
    lambdas are not saved (they are code, not state).

    Example:
        >>> import nerve as nv
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=0.1)
        >>> sched = nv.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1 / (1 + epoch))
        >>> sched.step(); sched.step(); sched.step()
        >>> round(sched.get_last_lr()[0], 12)
        0.025
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        who = type(self).__name__  # also MultiplicativeLR
        _check_optimizer(optimizer, who)
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"{who}: got {len(lr_lambda)} lr_lambdas for {n} parameter groups; "
                                 "give one per group, or a single function for all")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"{who}: lr_lambda must be callable, got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [b * fn(self.last_epoch) for fn, b in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [])
        self.__dict__.update(state)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                fn.__dict__.update(attrs)


class LinearLR(LRScheduler):
    """Scale the lr by a factor ramping linearly over ``total_iters`` epochs (warm-up).

    The factor goes from ``start_factor`` to ``end_factor`` and then stays; see
    ``linear_lr`` for the closed form.

    Args:
        optimizer: the optimizer to schedule.
        start_factor: factor at epoch 0, in (0, 1] (default 1/3).
        end_factor: factor from ``total_iters`` on, in [0, 1] (default 1.0).
        total_iters: length of the ramp in epochs (default 5).
        last_epoch: for resuming (default -1).

    Example:
        >>> import nerve as nv
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> sched = nv.optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
        >>> lrs = []
        >>> for _ in range(5):
        ...     lrs.append(round(sched.get_last_lr()[0], 12)); sched.step()
        >>> lrs
        [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}")
        if total_iters <= 0:
            raise ValueError(f"LinearLR: total_iters must be > 0, got {total_iters!r}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, a, b, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if t == 0:
            return [lr * a for lr in self._current()]
        if self._is_initial or t > n:
            return self._current()
        # ratio of consecutive factors: f(t) / f(t−1)
        factor = 1.0 + (b - a) / (n * a + (t - 1) * (b - a))
        return [lr * factor for lr in self._current()]

    def _get_closed_form_lr(self):
        return [linear_lr(self.last_epoch, b, self.start_factor, self.end_factor, self.total_iters)
                for b in self.base_lrs]


def _undo_initial_steps(schedulers):
    """Take back the epoch each scheduler's constructor counted, into nested Sequential/Chained ones.

    A SequentialLR or ChainedScheduler given as a member is not itself rewound: the
    schedulers inside it are (as in PyTorch), so a nested SequentialLR starts its own first
    scheduler at epoch 0 and a ChainedScheduler (which has no epoch of its own) works at all.
    """
    for s in schedulers:
        if hasattr(s, "_schedulers"):
            _undo_initial_steps(s._schedulers)
        elif hasattr(s, "last_epoch"):
            s.last_epoch -= 1


class SequentialLR(LRScheduler):
    """Run schedulers one after another, switching at the given milestone epochs.

    A typical use is a linear warm-up followed by a cosine decay.

    Args:
        optimizer: the optimizer all the schedulers drive.
        schedulers: the schedulers, in order (built on ``optimizer``).
        milestones: the epochs at which to move to the next one (one fewer than schedulers).
        last_epoch: for resuming (default -1).

    Example:
        >>> import nerve as nv
        >>> from nerve.optim import lr_scheduler as ls
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> warm = ls.LinearLR(opt, start_factor=0.5, total_iters=2)
        >>> decay = ls.ExponentialLR(opt, gamma=0.5)
        >>> sched = ls.SequentialLR(opt, [warm, decay], milestones=[2])
        >>> lrs = []
        >>> for _ in range(5):
        ...     lrs.append(sched.get_last_lr()[0]); opt.step(); sched.step()
        >>> lrs
        [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        _check_optimizer(optimizer, "SequentialLR")
        if len(schedulers) < 1:
            raise ValueError("SequentialLR needs at least one scheduler")
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"SequentialLR: scheduler {i} is a ReduceLROnPlateau, which needs a "
                                 "metric in step() and cannot be sequenced")
            if getattr(s, "optimizer", None) is not optimizer:
                raise ValueError(f"SequentialLR: scheduler {i} ({type(s).__name__}) drives a different "
                                 "optimizer; build every scheduler on the same one")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: {len(schedulers)} schedulers need {len(schedulers) - 1} "
                             f"milestones, got {len(milestones)}")
        milestones = _milestone_list("SequentialLR", milestones)
        if any(b < a for a, b in zip(milestones, milestones[1:])):
            # PyTorch does not check, and its bisection then picks schedulers at random epochs.
            raise ValueError(f"SequentialLR: milestones must be in increasing order, got {milestones}; "
                             "list the switch epochs in the order the schedulers run")
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:  # undo the constructors' initial steps
            group["lr"] = group["initial_lr"]
        _undo_initial_steps(self._schedulers)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self):
        self.last_epoch += 1
        i = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            scheduler._update_lr(0)  # a new scheduler starts from its own epoch 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        self.__dict__.update(state)
        for s, sd in zip(self._schedulers, saved):
            s.load_state_dict(sd)


class ReduceLROnPlateau(LRScheduler):
    """Cut the lr by ``factor`` when a monitored metric stops improving for ``patience`` epochs.

    ``step(metric)`` takes the metric (e.g. the validation loss). An epoch counts as an
    improvement when the metric beats the best so far by the threshold:
    ``metric < best·(1 − threshold)`` in ``'min'``/``'rel'`` mode,
    ``metric < best − threshold`` in ``'abs'`` mode (mirrored for ``'max'``). After more
    than ``patience`` epochs without one, ``lr ← max(lr·factor, min_lr)`` (changes
    smaller than ``eps`` are skipped) and ``cooldown`` epochs follow in which bad epochs
    are not counted.

    Args:
        optimizer: the optimizer to schedule.
        mode: ``'min'`` (default) for a loss, ``'max'`` for an accuracy.
        factor: the cut, < 1 (default 0.1).
        patience: epochs without improvement tolerated (default 10).
        threshold: the improvement needed (default 1e-4).
        threshold_mode: ``'rel'`` (default) or ``'abs'``.
        cooldown: epochs to wait after a cut (default 0).
        min_lr: floor of the lr, or one per group (default 0).
        eps: smallest change worth making (default 1e-8).

    Example:
        >>> import nerve as nv
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> sched = nv.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
        >>> for loss in [1.0, 0.9, 0.9, 0.9]:
        ...     sched.step(loss)
        >>> sched.get_last_lr()
        [0.5]
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        if not 0 <= factor < 1.0:
            # (PyTorch only checks < 1; a negative factor would set the lr to min_lr at once.)
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1), got {factor!r}")
        _check_optimizer(optimizer, "ReduceLROnPlateau")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', "
                             f"got {threshold_mode!r}")
        self.optimizer = optimizer
        self.factor = factor
        if isinstance(min_lr, (list, tuple)):
            self.default_min_lr = None
            self.min_lrs = _per_group("min_lr", min_lr, optimizer)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr = self._current()
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def is_better(self, a, best):
        """Whether metric ``a`` improves on ``best`` by the threshold."""
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                        else best - self.threshold)
        return a > (best * (self.threshold + 1.0) if self.threshold_mode == "rel"
                    else best + self.threshold)

    def step(self, metrics, epoch=None):
        """Record this epoch's metric and cut the lr if it has plateaued."""
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current()

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau was given {len(self.min_lrs)} min_lrs but the "
                                   f"optimizer now has {len(groups)} parameter groups; set .min_lrs "
                                   "to one value per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, floor in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, floor)
            if old - new > self.eps:
                group["lr"] = new


def _cycles_beta1(name, optimizer) -> bool:
    """For cycle_momentum=True: whether the optimizer's β₁ (Adam family) is what cycles, rather
    than its momentum; an optimizer with neither is refused."""
    defaults = optimizer.defaults
    if "momentum" not in defaults and "betas" not in defaults:
        raise ValueError(f"{name}: cycle_momentum=True needs an optimizer with momentum or betas, and "
                         f"{type(optimizer).__name__} has neither; pass cycle_momentum=False")
    return "betas" in defaults


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2017): lr up to ``max_lr`` and down, momentum opposite.

    Step it once per *batch*. The lr starts at ``max_lr / div_factor``, rises to
    ``max_lr`` over the first ``pct_start`` of ``total_steps`` and anneals to
    ``max_lr / (div_factor · final_div_factor)``; with ``cycle_momentum`` the momentum
    (SGD's ``momentum`` or Adam's β₁) goes from ``max_momentum`` down to
    ``base_momentum`` and back. See ``one_cycle_lr`` / ``one_cycle_momentum``.

    Args:
        optimizer: the optimizer to schedule.
        max_lr: peak lr, or one per group.
        total_steps: number of steps in the cycle; or give ``epochs`` and ``steps_per_epoch``.
        epochs, steps_per_epoch: alternative to ``total_steps`` (their product).
        pct_start: fraction of the cycle spent rising (default 0.3).
        anneal_strategy: ``'cos'`` (default) or ``'linear'``.
        cycle_momentum: also cycle the momentum (default True).
        base_momentum: lowest momentum, at the lr peak (default 0.85).
        max_momentum: highest momentum, at the ends (default 0.95).
        div_factor: ``max_lr / initial lr`` (default 25).
        final_div_factor: ``initial lr / final lr`` (default 1e4).
        three_phase: come back down to the initial lr before the final anneal (default False).
        last_epoch: for resuming (default -1).

    Example:
        >>> import nerve as nv
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=0.1, momentum=0.9)
        >>> sched = nv.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
        >>> round(sched.get_last_lr()[0], 12), opt.param_groups[0]["momentum"]
        (0.04, 0.95)
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        _check_optimizer(optimizer, "OneCycleLR")
        self.optimizer = optimizer
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"OneCycleLR: total_steps must be a positive int, got {total_steps!r}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"OneCycleLR: epochs must be a positive int, got {epochs!r}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(f"OneCycleLR: steps_per_epoch must be a positive int, "
                                 f"got {steps_per_epoch!r}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR needs total_steps, or both epochs and steps_per_epoch")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', "
                             f"got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        self._phases = _one_cycle_phases(self.total_steps, float(pct_start), three_phase)
        max_lrs = _per_group("max_lr", max_lr, optimizer)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _cycles_beta1("OneCycleLR", optimizer)
            tops = _per_group("max_momentum", max_momentum, optimizer)
            bases = _per_group("base_momentum", base_momentum, optimizer)
            if last_epoch == -1:
                for group, top, base in zip(optimizer.param_groups, tops, bases):
                    self._set_momentum(group, top)
                    group["max_momentum"] = top
                    group["base_momentum"] = base
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR was stepped {step} times but total_steps is "
                             f"{self.total_steps}; make total_steps (or epochs × steps_per_epoch) "
                             "cover the whole run")
        phase, pct = _one_cycle_at(step, self._phases)
        _, lr_from, lr_to, m_from, m_to = phase
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(_anneal(self.anneal_strategy, group[lr_from + "_lr"], group[lr_to + "_lr"], pct))
            if self.cycle_momentum:
                self._set_momentum(group, _anneal(self.anneal_strategy, group[m_from + "_momentum"],
                                                  group[m_to + "_momentum"], pct))
        return lrs


class ConstantLR(LRScheduler):
    """Scale the lr by a constant ``factor`` for the first ``total_iters`` epochs (see ``constant_lr``).

    Args:
        optimizer: the optimizer to schedule.
        factor: the scale during the first epochs, in [0, 1] (default 1/3).
        total_iters: how many epochs it lasts (default 5).
        last_epoch: for resuming (default -1).

    Example:
        >>> import nerve as nv
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> sched = nv.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2)
        >>> lrs = []
        >>> for _ in range(4):
        ...     lrs.append(sched.get_last_lr()[0]); sched.step()
        >>> lrs
        [0.5, 0.5, 1.0, 1.0]
    """

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in [0, 1], got {factor!r}")
        # PyTorch accepts total_iters=0 and then keeps the lr scaled for ever (the opposite of
        # its closed form); a constant phase needs at least one epoch.
        self.factor = factor
        self.total_iters = _check_positive_int("ConstantLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current()]
        if self.last_epoch != self.total_iters:
            return self._current()
        if self.factor == 0:
            # The lr is 0 and dividing by the factor cannot restore it (PyTorch raises
            # ZeroDivisionError here): go back to the closed form, the base lr.
            return list(self.base_lrs)
        return [lr * (1.0 / self.factor) for lr in self._current()]

    def _get_closed_form_lr(self):
        return [constant_lr(self.last_epoch, b, self.factor, self.total_iters) for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the lr to 0 over ``total_iters`` epochs along ``(1 − t/T)^power`` (see ``polynomial_lr``).

    Args:
        optimizer: the optimizer to schedule.
        total_iters: epochs until the lr reaches 0 (default 5).
        power: the polynomial's power (default 1.0: linear).
        last_epoch: for resuming (default -1).

    Example:
        >>> import nerve as nv
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> sched = nv.optim.lr_scheduler.PolynomialLR(opt, total_iters=4)
        >>> sched.step()
        >>> sched.get_last_lr()
        [0.75]
    """

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        if total_iters <= 0:
            raise ValueError(f"PolynomialLR: total_iters must be > 0, got {total_iters!r}")
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, n = self.last_epoch, self.total_iters
        if self._is_initial or t > n:
            return self._current()
        factor = ((1.0 - t / n) / (1.0 - (t - 1) / n)) ** self.power
        return [lr * factor for lr in self._current()]

    def _get_closed_form_lr(self):
        return [polynomial_lr(self.last_epoch, b, self.total_iters, self.power) for b in self.base_lrs]


class MultiplicativeLR(LambdaLR):
    """Multiply the lr by ``lr_lambda(epoch)`` at every epoch (a per-epoch factor, not a total one).

    Args:
        optimizer: the optimizer to schedule.
        lr_lambda: a function of the epoch returning the factor, or one per parameter group.
        last_epoch: for resuming (default -1).

    Example:
        >>> import nerve as nv
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> sched = nv.optim.lr_scheduler.MultiplicativeLR(opt, lambda epoch: 0.5)
        >>> sched.step(); sched.step()
        >>> sched.get_last_lr()
        [0.25]
    """

    def get_lr(self):
        if self._is_initial:
            return self._current()
        return [lr * fn(self.last_epoch) for fn, lr in zip(self.lr_lambdas, self._current())]


class ChainedScheduler(LRScheduler):
    """Step several schedulers together, so their effects on the lr multiply.

    Args:
        schedulers: the schedulers, all on the same optimizer.
        optimizer: that optimizer (default: the first scheduler's).

    Example:
        >>> import nerve as nv
        >>> from nerve.optim import lr_scheduler as ls
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> sched = ls.ChainedScheduler([ls.ConstantLR(opt, factor=0.5, total_iters=1),
        ...                              ls.ExponentialLR(opt, gamma=0.9)])
        >>> sched.step()
        >>> round(sched.get_last_lr()[0], 12)
        0.9
    """

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler needs at least one scheduler")
        optimizer = optimizer or schedulers[0].optimizer
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"ChainedScheduler: scheduler {i} is a ReduceLROnPlateau, which needs "
                                 "a metric in step() and cannot be chained")
            if getattr(s, "optimizer", None) is not optimizer:
                raise ValueError(f"ChainedScheduler: scheduler {i} ({type(s).__name__}) drives a "
                                 "different optimizer; build every scheduler on the same one")
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = self._current()

    def step(self):
        for s in self._schedulers:
            s.step()
        self._last_lr = self._current()

    state_dict = SequentialLR.state_dict
    load_state_dict = SequentialLR.load_state_dict


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing restarted every ``T_0``, ``T_0·T_mult``, ... epochs (SGDR).

    See ``cosine_warm_restarts`` for the closed form. ``step(epoch)`` also accepts a
    fractional epoch, to restart within an epoch.

    Args:
        optimizer: the optimizer to schedule.
        T_0: length of the first cycle (a positive int).
        T_mult: factor by which each cycle is longer than the last (an int >= 1, default 1).
        eta_min: the lowest lr (default 0).
        last_epoch: for resuming (default -1).

    Example:
        >>> import nerve as nv
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=1.0)
        >>> sched = nv.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2)
        >>> lrs = []
        >>> for _ in range(4):
        ...     lrs.append(round(sched.get_last_lr()[0], 12)); sched.step()
        >>> lrs
        [1.0, 0.5, 1.0, 0.5]
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: T_0 must be a positive int, got {T_0!r}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"CosineAnnealingWarmRestarts: T_mult must be an int >= 1, got {T_mult!r}")
        if isinstance(eta_min, bool) or not isinstance(eta_min, numbers.Real):
            raise ValueError(f"CosineAnnealingWarmRestarts: eta_min must be a number (the lowest lr), "
                             f"got {eta_min!r} of type {type(eta_min).__name__}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [self.eta_min + (b - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for b in self.base_lrs]

    def step(self, epoch=None):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i *= self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts: epoch must be >= 0, got {epoch!r}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    # The float log can fall just short of a whole number exactly at a restart
                    # (log(243, 3) = 4.999...), and PyTorch then puts epoch 121 of T_0=1,
                    # T_mult=3 at the bottom of the old cycle instead of the top of the new one.
                    # Cycle k starts at T_0·(1 + T_mult + ... + T_mult^(k-1)), an exact integer.
                    def cycle_start(k):
                        return self.T_0 * (self.T_mult ** k - 1) // (self.T_mult - 1)
                    while cycle_start(n + 1) <= epoch:
                        n += 1
                    while n > 0 and cycle_start(n) > epoch:
                        n -= 1
                    self.T_cur = epoch - cycle_start(n)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr())


class CyclicLR(LRScheduler):
    """Cycle the lr between ``base_lr`` and ``max_lr`` (Smith, 2017), the momentum opposite.

    Step it once per *batch*. Each cycle rises linearly for ``step_size_up`` steps and
    falls for ``step_size_down``; ``mode`` (or a custom ``scale_fn``) shrinks the
    amplitude over time (see ``cyclic_lr``). With ``cycle_momentum`` the momentum (SGD's
    ``momentum`` or Adam's β₁) goes from ``max_momentum`` down to ``base_momentum`` while
    the lr goes up, and back.

    Args:
        optimizer: the optimizer to schedule.
        base_lr: the lowest lr, or one per group (it replaces the groups' lrs).
        max_lr: the highest lr, or one per group.
        step_size_up: steps from the bottom of a cycle to its top (default 2000).
        step_size_down: steps from the top back down (default: ``step_size_up``).
        mode: ``'triangular'`` (default), ``'triangular2'`` or ``'exp_range'``; ignored
            when ``scale_fn`` is given.
        gamma: the per-step factor of ``'exp_range'`` (default 1.0).
        scale_fn: a custom amplitude scale, a function of one number.
        scale_mode: what ``scale_fn`` receives: ``'cycle'`` (the cycle number, from 1) or
            ``'iterations'`` (the step).
        cycle_momentum: also cycle the momentum (default True).
        base_momentum: the momentum at the lr's top (default 0.8), or one per group.
        max_momentum: the momentum at the lr's bottom (default 0.9), or one per group.
        last_epoch: for resuming, the number of the last batch (default -1).

    Only a callable *object* given as ``scale_fn`` keeps its attributes in ``state_dict``;
    a plain function is code, not state, and is not saved.

    Example:
        >>> import nerve as nv
        >>> opt = nv.optim.SGD([nv.tensor([0.0], requires_grad=True)], lr=1.0, momentum=0.9)
        >>> sched = nv.optim.lr_scheduler.CyclicLR(opt, base_lr=0.1, max_lr=0.5, step_size_up=2)
        >>> lrs = []
        >>> for _ in range(5):
        ...     lrs.append(round(sched.get_last_lr()[0], 12)); opt.step(); sched.step()
        >>> lrs
        [0.1, 0.3, 0.5, 0.3, 0.1]
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True,
                 base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        _check_optimizer(optimizer, "CyclicLR")
        self.optimizer = optimizer
        base_lrs = _per_group("base_lr", base_lr, optimizer)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr
        self.max_lrs = _per_group("max_lr", max_lr, optimizer)
        if (isinstance(step_size_up, bool) or not isinstance(step_size_up, numbers.Real)
                or not step_size_up > 0):
            # (PyTorch accepts 0 and then divides 0 by 0 on the first step.)
            raise ValueError(f"CyclicLR: step_size_up must be a number > 0, got {step_size_up!r}")
        if step_size_down is not None and (isinstance(step_size_down, bool)
                                           or not isinstance(step_size_down, numbers.Real)
                                           or not step_size_down >= 0):
            raise ValueError(f"CyclicLR: step_size_down must be a number >= 0 (or None for "
                             f"step_size_up), got {step_size_down!r}")
        self.step_size_up = float(step_size_up)
        self.step_size_down = self.step_size_up if step_size_down is None else float(step_size_down)
        if scale_fn is None and mode not in _CYCLIC_SCALES:
            raise ValueError(f"CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range' "
                             f"(or give scale_fn), got {mode!r}")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"CyclicLR: scale_fn must be callable, got {type(scale_fn).__name__}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        _check_gamma("CyclicLR", gamma)
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        # a built-in mode decides what its scale is a function of, as in PyTorch
        self.scale_mode = scale_mode if scale_fn is not None else _CYCLIC_SCALES[mode][1]
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _cycles_beta1("CyclicLR", optimizer)
            self.base_momentums = _per_group("base_momentum", base_momentum, optimizer)
            self.max_momentums = _per_group("max_momentum", max_momentum, optimizer)
            if last_epoch == -1:
                for group, top, base in zip(optimizer.param_groups, self.max_momentums,
                                            self.base_momentums):
                    self._set_momentum(group, top)
                    group["max_momentum"] = top
                    group["base_momentum"] = base
        super().__init__(optimizer, last_epoch)
        # Set after the initial step, as PyTorch does: that step used the groups' initial_lr
        # (their base_lr, unless an earlier scheduler had already recorded one).
        self.base_lrs = base_lrs

    _set_momentum = OneCycleLR._set_momentum

    def scale_fn(self, x):
        """The amplitude scale at ``x`` (a cycle number or a step, as ``scale_mode`` says)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        return _CYCLIC_SCALES[self.mode][0](self.gamma, x)

    def get_lr(self):
        cycle, height = _cyclic_position(self.last_epoch, self.step_size_up, self.step_size_down)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [b + (m - b) * height * scale for b, m in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, b, m in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                self._set_momentum(group, m - (m - b) * height * scale)
        return lrs

    def state_dict(self):
        """Everything but the optimizer; a custom scale_fn is kept as its attributes, if an object."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_scale_fn_custom")}
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = (None if fn is None or isinstance(fn, types.FunctionType)
                                     else dict(fn.__dict__))
        return state

    def load_state_dict(self, state_dict):
        """Restore a state saved by ``state_dict()`` (a custom scale_fn object gets its attributes back)."""
        state = dict(state_dict)
        saved = state.pop("_scale_fn_custom", None)
        self.__dict__.update(state)
        if saved is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(saved)
