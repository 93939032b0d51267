"""Checks on a model's health that need no training loop.

Each function takes a model (and, where it must run one, a batch) and returns plain
numbers, so it can be called from a notebook, a test or a callback alike:

* :func:`gradient_norms`: the L2 norm of every parameter's gradient after a backward
  pass, and the ratio between the first and the last layer (tiny means vanishing, huge
  means exploding gradients).
* :func:`activation_stats`: for every activation layer, the share of dead units, of
  exact zeros, and of outputs pinned at a sigmoid/tanh bound (:func:`activation_sparsity`
  for just the zeros of one layer).
* :func:`find_nonfinite`: the first module (and op) whose output holds NaN or Inf, with
  the range of the input it was given.

* :func:`backprop_steps`: one training step of a small MLP with every number written out
  (forward pass, loss, local gradients, updates), and :func:`mlp_trace`: every layer's
  activations for one input.

``nerve.train.TrainingDoctor`` runs these during ``Trainer.fit`` and turns them into
findings with suggested fixes.

    >>> import numpy as np, nerve as nv
    >>> from nerve import nn
    >>> stats = activation_stats(nn.ReLU(), np.random.default_rng(0).normal(size=(100_000, 1)))
    >>> round(stats[""].sparsity, 2)          # half of N(0, 1) is negative
    0.5
"""
from .activations import ActivationStats, activation_sparsity, activation_stats, is_activation
from .gradients import GradientNorms, gradient_norms
from .nonfinite import NonFinite, find_nonfinite
from .backprop import backprop_steps, backprop_steps_from_model
from .trace import mlp_layers, mlp_trace

__all__ = ["gradient_norms", "GradientNorms", "activation_stats", "ActivationStats",
           "activation_sparsity", "is_activation", "find_nonfinite", "NonFinite",
           "backprop_steps", "backprop_steps_from_model", "mlp_trace", "mlp_layers"]
