"""Meta-learning: learn an initialisation that adapts to a new task in a few gradient steps.

* ``SinusoidTasks``: the regression family of Finn et al. 2017, y = A·sin(x + φ) with
  A ~ U(0.1, 5), φ ~ U(0, π), x ~ U(−5, 5).
* ``MAML``: model-agnostic meta-learning (Finn, Abbeel & Levine 2017). The inner loop takes
  gradient steps on a task's support set; the outer loss is the query loss of the adapted
  weights, differentiated back to the initial ones. Second order by default: the inner
  gradients are built with ``create_graph=True`` so the meta-gradient includes the Hessian
  term; ``first_order=True`` drops it (FOMAML).
* ``Reptile`` (Nichol, Achiam & Schulman 2018): train on a task with plain SGD, then move the
  initial weights a fraction of the way towards the result. First order, no second graph.
"""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..autograd import Tensor, grad, no_grad
from ..nn.utils.stateless import functional_call

__all__ = ["SinusoidTask", "SinusoidTasks", "MAML", "Reptile", "finetune_loss"]


class SinusoidTask:
    """One task y = amplitude·sin(x + phase); ``sample(k, rng)`` draws k points (float64, (k, 1))."""

    def __init__(self, amplitude, phase, x_range=(-5.0, 5.0)):
        self.amplitude, self.phase, self.x_range = float(amplitude), float(phase), x_range

    def __call__(self, x):
        return self.amplitude * np.sin(x + self.phase)

    def sample(self, k, rng):
        x = rng.uniform(*self.x_range, size=(k, 1))
        return x, self(x)

    def __repr__(self):
        return f"SinusoidTask(amplitude={self.amplitude:.3g}, phase={self.phase:.3g})"


class SinusoidTasks:
    """A seeded source of sinusoid tasks and their K-shot data.

    Args:
        amplitude, phase, x_range: the uniform ranges of Finn et al. 2017.
        k_shot: support points per task (K).
        k_query: query points per task (the outer loss, or the evaluation).
        seed: the generator's seed; the same seed gives the same tasks and points.
    """

    def __init__(self, amplitude=(0.1, 5.0), phase=(0.0, math.pi), x_range=(-5.0, 5.0), k_shot=10,
                 k_query=10, seed=0):
        if not (0 <= amplitude[0] < amplitude[1]) or not (phase[0] < phase[1]) or not (x_range[0] < x_range[1]):
            raise ValueError(f"ranges must be (low, high) with low < high, got amplitude={amplitude}, "
                             f"phase={phase}, x_range={x_range}")
        self.amplitude, self.phase, self.x_range = amplitude, phase, x_range
        self.k_shot, self.k_query = int(k_shot), int(k_query)
        self.rng = np.random.default_rng(seed)

    def task(self):
        """A new random task."""
        return SinusoidTask(self.rng.uniform(*self.amplitude), self.rng.uniform(*self.phase), self.x_range)

    def batch(self, n):
        """``n`` tasks, each as ``(x_support, y_support, x_query, y_query)`` float64 arrays."""
        out = []
        for _ in range(n):
            t = self.task()
            xs, ys = t.sample(self.k_shot, self.rng)
            xq, yq = t.sample(self.k_query, self.rng)
            out.append((xs, ys, xq, yq))
        return out


def _t(a):
    return a if isinstance(a, Tensor) else Tensor(np.asarray(a))


def _named_trainable(model):
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def _buffer_copies(model):
    """A private copy of each buffer, for runs that must leave the model as it was: in train
    mode a BatchNorm inside the inner loop would otherwise move the model's own running
    statistics."""
    return {n: Tensor(b._data.copy()) for n, b in model.named_buffers() if b is not None}


def _inner_loop(model, params, x, y, inner_lr, steps, loss_fn, create_graph, buffers=None):
    """``steps`` SGD steps from ``params`` (a dict) on (x, y); returns the adapted dict.

    ``buffers`` ({name: Tensor}) stand in for the model's buffers during the steps."""
    names = list(params)
    extra = [buffers] if buffers else []
    for _ in range(steps):
        loss = loss_fn(functional_call(model, [params, *extra], x), y)
        grads = grad(loss, [params[n] for n in names], create_graph=create_graph)
        params = {n: params[n] - inner_lr * (g if create_graph else g.detach())
                  for n, g in zip(names, grads)}
    return params


class MAML:
    """Model-agnostic meta-learning over any Module.

    Args:
        model: the network whose parameters are the meta-learned initialisation.
        inner_lr: the inner (adaptation) SGD step size α.
        inner_steps: inner steps per task during meta-training.
        first_order: drop the second-order term (FOMAML): the adapted weights are treated as
            a shift of the initial ones that does not depend on them.
        loss_fn: ``loss_fn(outputs, targets)``; MSE by default.

    Use ``outer_loss(tasks)`` with any optimizer over ``model.parameters()``, or ``fit``.
    ``adapt(x, y, steps)`` returns adapted weights for ``functional_call``;
    ``evaluate(tasks, steps)`` measures the query loss after adaptation.
    """

    def __init__(self, model, inner_lr=0.01, inner_steps=1, first_order=False, loss_fn=F.mse_loss):
        if not inner_lr > 0:
            raise ValueError(f"inner_lr must be positive, got {inner_lr!r}")
        if isinstance(inner_steps, bool) or not isinstance(inner_steps, int) or inner_steps < 1:
            raise ValueError(f"inner_steps must be a positive integer, got {inner_steps!r}")
        self.model, self.inner_lr, self.inner_steps = model, float(inner_lr), inner_steps
        self.first_order, self.loss_fn = bool(first_order), loss_fn

    def task_loss(self, params, x_support, y_support, x_query, y_query, steps=None):
        """The query loss after adapting ``params`` ({name: Tensor}) on the support set.

        Differentiable with respect to ``params`` (to second order unless ``first_order``)."""
        steps = self.inner_steps if steps is None else steps
        fast = _inner_loop(self.model, params, _t(x_support), _t(y_support), self.inner_lr, steps,
                           self.loss_fn, create_graph=not self.first_order)
        if self.first_order:
            # FOMAML: evaluate at the adapted point, but let the gradient pass straight through
            # to the initial weights (θ' = θ + stop_gradient(θ' − θ)).
            fast = {n: params[n] + (fast[n] - params[n]).detach() for n in params}
        return self.loss_fn(functional_call(self.model, fast, _t(x_query)), _t(y_query))

    def outer_loss(self, tasks):
        """The mean query loss over ``tasks`` (tuples ``(x_s, y_s, x_q, y_q)``), ready for backward."""
        params = dict(_named_trainable(self.model))
        total = None
        for task in tasks:
            loss = self.task_loss(params, *task)
            total = loss if total is None else total + loss
        return total / len(tasks)

    def fit(self, tasks, optimizer, iterations, meta_batch=5):
        """``iterations`` outer updates, each on ``meta_batch`` tasks from ``tasks.batch``; returns
        the outer losses."""
        losses = []
        for _ in range(int(iterations)):
            loss = self.outer_loss(tasks.batch(meta_batch))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss._data))
        return losses

    def adapt(self, x, y, steps=None):
        """The weights after ``steps`` inner SGD steps on (x, y), detached ({name: Tensor})."""
        steps = self.inner_steps if steps is None else steps
        params = {n: p.detach().requires_grad_(True) for n, p in _named_trainable(self.model)}
        fast = _inner_loop(self.model, params, _t(x), _t(y), self.inner_lr, steps, self.loss_fn, False,
                           _buffer_copies(self.model))
        return {n: v.detach() for n, v in fast.items()}

    def evaluate(self, tasks, steps=None):
        """The mean query loss over ``tasks`` after ``steps`` inner steps on each support set
        (``inner_steps`` by default, as for ``adapt``; the default used to be 1 whatever
        ``inner_steps`` was, so a 5-step learner was silently scored after one step)."""
        steps = self.inner_steps if steps is None else steps
        return finetune_loss(self.model, tasks, self.inner_lr, steps, self.loss_fn)


def finetune_loss(model, tasks, lr, steps=1, loss_fn=F.mse_loss):
    """Mean query loss over ``tasks`` after ``steps`` SGD steps of size ``lr`` on each support set.

    The yardstick for any initialisation (MAML's, Reptile's or a jointly pretrained one);
    ``model`` itself is not changed (its buffers included: each task adapts on private copies)."""
    total = 0.0
    for xs, ys, xq, yq in tasks:
        params = {n: p.detach().requires_grad_(True) for n, p in _named_trainable(model)}
        buffers = _buffer_copies(model)
        fast = _inner_loop(model, params, _t(xs), _t(ys), lr, steps, loss_fn, False, buffers)
        with no_grad():
            total += float(loss_fn(functional_call(model, [fast, buffers], _t(xq)), _t(yq))._data)
    return total / len(tasks)


class Reptile:
    """Reptile: θ ← θ + ε·(θ̃ − θ), where θ̃ is θ after ``inner_steps`` SGD steps on one task.

    Args:
        model: the network to meta-train (updated in place).
        inner_lr, inner_steps: the task-level SGD.
        outer_lr: ε, the step towards the adapted weights.
        loss_fn: MSE by default.
    """

    def __init__(self, model, inner_lr=0.02, inner_steps=5, outer_lr=0.1, loss_fn=F.mse_loss):
        if not (inner_lr > 0 and 0 < outer_lr <= 1):
            raise ValueError(f"need inner_lr > 0 and 0 < outer_lr <= 1, got {inner_lr!r} and {outer_lr!r}")
        if isinstance(inner_steps, bool) or not isinstance(inner_steps, int) or inner_steps < 1:
            # 0 steps made every meta-update a silent no-op; 2.5 was silently truncated to 2
            raise ValueError(f"inner_steps must be a positive integer, got {inner_steps!r}")
        self.model, self.inner_lr, self.inner_steps = model, float(inner_lr), inner_steps
        self.outer_lr, self.loss_fn = float(outer_lr), loss_fn

    def step(self, task):
        """One meta-update from one task ``(x_s, y_s, x_q, y_q)`` (support and query both train)."""
        xs, ys, xq, yq = task
        x, y = _t(np.concatenate([xs, xq])), _t(np.concatenate([ys, yq]))
        named = _named_trainable(self.model)
        params = {n: p.detach().requires_grad_(True) for n, p in named}
        fast = _inner_loop(self.model, params, x, y, self.inner_lr, self.inner_steps, self.loss_fn, False)
        for n, p in named:
            p._data += self.outer_lr * (fast[n]._data - p._data)

    def fit(self, tasks, iterations):
        """``iterations`` meta-updates on tasks drawn from ``tasks`` (a ``SinusoidTasks``)."""
        for _ in range(int(iterations)):
            self.step(tasks.batch(1)[0])
