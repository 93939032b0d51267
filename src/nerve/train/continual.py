"""Continual learning: a sequence of tasks, and two ways to keep the first one in mind.

* ``TaskSequence``: tasks that share a model, made from one labelled data set by permuting
  the pixels (``permuted``: every task has all classes, with its own fixed pixel order) or
  by splitting the classes (``split``: each task has its own subset of the labels).
* ``EWC`` (Kirkpatrick et al. 2017): after a task, store its weights θ* and the diagonal of
  the Fisher information F (mean squared per-sample gradient of the log-likelihood); later
  tasks add the penalty  λ/2 · Σᵢ Fᵢ (θᵢ − θ*ᵢ)², which holds on to what mattered.
* ``ReplayBuffer``: a reservoir sample of earlier tasks' examples, mixed into later batches
  (``ReplayLoader``).
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..autograd import Tensor

__all__ = ["Task", "TaskSequence", "EWC", "ReplayBuffer", "ReplayLoader"]


class Task:
    """One task: a name and its train/test arrays."""

    def __init__(self, name, x_train, y_train, x_test, y_test):
        self.name = name
        self.x_train, self.y_train, self.x_test, self.y_test = x_train, y_train, x_test, y_test

    def __repr__(self):
        return f"Task({self.name!r}, {len(self.y_train)} train / {len(self.y_test)} test)"


class TaskSequence:
    """An ordered list of ``Task`` objects; index it, iterate it, or take ``len``."""

    def __init__(self, tasks):
        self.tasks = list(tasks)
        if not self.tasks:
            raise ValueError("a TaskSequence needs at least one task")

    @classmethod
    def permuted(cls, x_train, y_train, x_test, y_test, n_tasks=2, seed=0, keep_first=True):
        """``n_tasks`` tasks, each with its own fixed permutation of the features (pixels).

        Inputs are flattened to (N, features). With ``keep_first`` the first task uses the
        original order. The permutations come from a generator seeded with ``seed``.
        """
        x_train = np.asarray(x_train).reshape(len(x_train), -1)
        x_test = np.asarray(x_test).reshape(len(x_test), -1)
        rng = np.random.default_rng(seed)
        d = x_train.shape[1]
        tasks = []
        for i in range(int(n_tasks)):
            perm = np.arange(d) if (i == 0 and keep_first) else rng.permutation(d)
            tasks.append(Task(f"permuted-{i}", x_train[:, perm], y_train, x_test[:, perm], y_test))
            tasks[-1].permutation = perm
        return cls(tasks)

    @classmethod
    def split(cls, x_train, y_train, x_test, y_test, groups=((0, 1, 2, 3, 4), (5, 6, 7, 8, 9))):
        """One task per group of class labels (labels are kept as they are)."""
        y_train, y_test = np.asarray(y_train), np.asarray(y_test)
        tasks = []
        for g in groups:
            tr, te = np.isin(y_train, g), np.isin(y_test, g)
            if not tr.any() or not te.any():
                raise ValueError(f"classes {tuple(g)} have no samples in the train or test split")
            tasks.append(Task("split-" + "".join(map(str, g)), x_train[tr], y_train[tr], x_test[te], y_test[te]))
        return cls(tasks)

    def __len__(self):
        return len(self.tasks)

    def __getitem__(self, i):
        return self.tasks[i]

    def __iter__(self):
        return iter(self.tasks)


class EWC:
    """Elastic weight consolidation.

    Args:
        lam: λ, the penalty's strength.

    ``consolidate(model, x, y)`` after each task adds that task's Fisher diagonal and
    weights; ``penalty(model)`` is the Tensor to add to a later task's loss, and
    ``loss(loss_fn, model)`` wraps a loss function for the ``Trainer``.
    """

    def __init__(self, lam):
        if not lam >= 0:
            raise ValueError(f"lam must be a non-negative number, got {lam!r}")
        self.lam = float(lam)
        self.anchors = []  # one (names, fisher arrays, weights) per consolidated task

    def fisher_diagonal(self, model, x, y, loss_fn=F.cross_entropy, batch_size=1):
        """Mean over samples of the squared gradient of the per-sample loss (the empirical Fisher).

        ``batch_size`` > 1 squares gradients of mini-batch means instead (faster, smaller)."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if len(x) == 0 or len(x) != len(y):
            raise ValueError(f"the Fisher diagonal needs samples with one label each, got {len(x)} "
                             f"inputs and {len(y)} labels (no samples would give a 0/0 Fisher)")
        params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        fisher = {n: np.zeros_like(p._data) for n, p in params}
        # each sub-module's own mode, not just the top one: a backbone frozen in eval() under a
        # training head must not come back in train mode
        modes = [(m, m.training) for m in model.modules()]
        model.eval()
        count = 0
        try:
            for i in range(0, len(x), batch_size):
                xb, yb = Tensor(np.asarray(x[i:i + batch_size])), Tensor(np.asarray(y[i:i + batch_size]))
                model.zero_grad()
                loss_fn(model(xb), yb).backward()
                for n, p in params:
                    if p.grad is not None:
                        fisher[n] += p.grad._data ** 2
                count += 1
        finally:
            model.zero_grad()
            for m, mode in modes:
                m.training = mode
        return {n: f / count for n, f in fisher.items()}

    def consolidate(self, model, x, y, loss_fn=F.cross_entropy, batch_size=1):
        """Remember the model's current weights and their importance on (x, y)."""
        fisher = self.fisher_diagonal(model, x, y, loss_fn, batch_size)
        weights = {n: p._data.copy() for n, p in model.named_parameters() if n in fisher}
        self.anchors.append((fisher, weights))
        return fisher

    def penalty(self, model):
        """λ/2 · Σ over remembered tasks and parameters of F·(θ − θ*)², as a scalar Tensor."""
        total = None
        named = dict(model.named_parameters())
        for fisher, weights in self.anchors:
            for n, f in fisher.items():
                term = (Tensor(f) * (named[n] - Tensor(weights[n])) ** 2).sum()
                total = term if total is None else total + term
        if total is None:
            return Tensor(np.zeros((), dtype=next(iter(named.values()))._data.dtype))
        return total * (self.lam / 2)

    def loss(self, loss_fn, model):
        """``loss_fn`` plus this penalty, as a loss function for the ``Trainer``."""
        def ewc_loss(outputs, targets):
            return loss_fn(outputs, targets) + self.penalty(model)
        return ewc_loss


class ReplayBuffer:
    """A fixed-size reservoir of earlier examples: every example offered so far has the same
    chance ``capacity / seen`` of being in it (Vitter's algorithm R).

    Args:
        capacity: how many examples the buffer holds.
        seed: the seed of the buffer's own generator.
    """

    def __init__(self, capacity, seed=0):
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be a positive integer, got {capacity!r}")
        self.capacity = capacity
        self.rng = np.random.default_rng(seed)
        self.x = self.y = None
        self.size = 0
        self.seen = 0

    def add(self, x, y):
        """Offer a batch of examples (arrays with the batch first)."""
        x, y = np.asarray(x), np.asarray(y)
        if len(x) != len(y):
            raise ValueError(f"add() needs the same number of inputs and labels, got {len(x)} and {len(y)}")
        if self.x is not None and (x.shape[1:] != self.x.shape[1:] or y.shape[1:] != self.y.shape[1:]):
            # NumPy would broadcast a smaller example into the slot without a word
            raise ValueError(f"examples of shape {x.shape[1:]} / labels {y.shape[1:]} do not match the "
                             f"buffer's {self.x.shape[1:]} / {self.y.shape[1:]}; reshape them first")
        if self.x is None:
            self.x = np.empty((self.capacity, *x.shape[1:]), dtype=x.dtype)
            self.y = np.empty((self.capacity, *y.shape[1:]), dtype=y.dtype)
        # a later batch of a wider type (float pixels after uint8 ones) widens the store rather
        # than being cast down into it (0.5 would be kept as 0)
        if np.result_type(self.x.dtype, x.dtype) != self.x.dtype:
            self.x = self.x.astype(np.result_type(self.x.dtype, x.dtype))
        if np.result_type(self.y.dtype, y.dtype) != self.y.dtype:
            self.y = self.y.astype(np.result_type(self.y.dtype, y.dtype))
        for i in range(len(x)):  # reservoir sampling is sequential by nature
            if self.size < self.capacity:
                self.x[self.size], self.y[self.size] = x[i], y[i]
                self.size += 1
            else:
                j = int(self.rng.integers(self.seen + 1))
                if j < self.capacity:
                    self.x[j], self.y[j] = x[i], y[i]
            self.seen += 1

    def sample(self, n):
        """``n`` stored examples drawn with replacement, as ``(x, y)`` arrays."""
        if self.size == 0:
            raise ValueError("the replay buffer is empty; add() examples from an earlier task first")
        idx = self.rng.integers(self.size, size=int(n))
        return self.x[idx], self.y[idx]

    def __len__(self):
        return self.size


class ReplayLoader:
    """Wrap a loader so that each ``(x, y)`` batch gets ``replay_size`` buffer examples appended."""

    def __init__(self, loader, buffer, replay_size):
        self.loader, self.buffer, self.replay_size = loader, buffer, int(replay_size)

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for x, y in self.loader:
            xr, yr = self.buffer.sample(self.replay_size)
            xa = x._data if isinstance(x, Tensor) else np.asarray(x)
            ya = y._data if isinstance(y, Tensor) else np.asarray(y)
            yield (Tensor(np.concatenate([xa, xr.astype(xa.dtype)])),
                   Tensor(np.concatenate([ya, yr.astype(ya.dtype)])))
