"""Keras optimizer objects (``Adam(learning_rate=...)`` ...), built into nerve optimizers at compile.

Keras creates an optimizer before the model has weights; these objects keep the settings,
with Keras's defaults (Adam and RMSprop use ``epsilon=1e-7``, RMSprop ``rho=0.9``), and
:func:`get` turns one (or a name, a nerve optimizer class or a built nerve optimizer) into a
``nerve.optim`` optimizer over the model's parameters.

The update rules are nerve's (PyTorch's), which place ``epsilon`` differently from Keras:
nerve adds it to the square root (``g / (√v + ε)``), Keras adds it under the root for
RMSprop and Adagrad (``g / √(v + ε)``) and to the root of the uncorrected second moment for
Adam. With ``ε = 1e-7`` the results agree once the squared gradients are well above 1e-7;
for tiny gradients Keras's RMSprop and Adagrad take smaller steps (the floor is √ε ≈ 3e-4,
not ε).

    >>> from nerve import nn
    >>> get("adam", nn.Linear(2, 1).parameters()).defaults["eps"]
    1e-07
"""
from __future__ import annotations

from .. import optim

__all__ = ["Optimizer", "Adam", "SGD", "RMSprop", "Adagrad", "get"]


class Optimizer:
    """Base: ``build(params)`` returns the nerve optimizer."""

    def build(self, params):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class Adam(Optimizer):
    """Adam with Keras's defaults: ``learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.learning_rate, self.beta_1, self.beta_2, self.epsilon = learning_rate, beta_1, beta_2, epsilon

    def build(self, params):
        return optim.Adam(params, lr=self.learning_rate, betas=(self.beta_1, self.beta_2), eps=self.epsilon)


class SGD(Optimizer):
    """Stochastic gradient descent: ``learning_rate=0.01``, optional ``momentum`` and ``nesterov``."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        self.learning_rate, self.momentum, self.nesterov = learning_rate, momentum, nesterov

    def build(self, params):
        return optim.SGD(params, lr=self.learning_rate, momentum=self.momentum, nesterov=self.nesterov)


class RMSprop(Optimizer):
    """RMSprop with Keras's defaults: ``learning_rate=0.001, rho=0.9, momentum=0, epsilon=1e-7``."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7):
        self.learning_rate, self.rho, self.momentum, self.epsilon = learning_rate, rho, momentum, epsilon

    def build(self, params):
        return optim.RMSprop(params, lr=self.learning_rate, alpha=self.rho, eps=self.epsilon, momentum=self.momentum)


class Adagrad(Optimizer):
    """Adagrad with Keras's defaults: ``learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7``."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
        self.learning_rate, self.initial_accumulator_value, self.epsilon = (
            learning_rate, initial_accumulator_value, epsilon)

    def build(self, params):
        return optim.Adagrad(params, lr=self.learning_rate, eps=self.epsilon,
                             initial_accumulator_value=self.initial_accumulator_value)


_NAMES = {"adam": Adam, "sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(spec, params):
    """A nerve optimizer over ``params`` from a name, a Keras optimizer object, a nerve optimizer
    class, or an already built nerve optimizer (returned as it is)."""
    if isinstance(spec, str):
        cls = _NAMES.get(spec.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {spec!r}; use one of {sorted(_NAMES)} or an optimizer object")
        return cls().build(params)
    if isinstance(spec, Optimizer):
        return spec.build(params)
    if isinstance(spec, optim.Optimizer):
        return spec
    if isinstance(spec, type) and issubclass(spec, optim.Optimizer):
        return spec(params)
    raise TypeError(f"optimizer must be a name, a nerve.keras.optimizers object or a nerve optimizer, "
                    f"got {type(spec).__name__}")
