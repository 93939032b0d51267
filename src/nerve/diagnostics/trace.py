"""The trace of a forward pass: what every layer of a ``Sequential`` MLP outputs for one input.

:func:`mlp_trace` reads a stack of Flatten, Linear and activation layers, runs the input through
the model in float64 (a copy of the model, so the original keeps its dtype) and returns the
activation of every layer of neurons: the input, each hidden layer after its activation, and
the output logits with their softmax. This is what a picture of the network needs (each neuron's
brightness) and it is the reference that an in-browser forward pass is compared with.

    >>> import numpy as np
    >>> from nerve import models
    >>> t = mlp_trace(models.chapter1_mlp(), np.zeros((28, 28)))
    >>> [len(layer) for layer in t["activations"]], t["activation"]
    ([784, 16, 16, 10], 'sigmoid')
"""
from __future__ import annotations

import copy

import numpy as np

__all__ = ["mlp_trace", "mlp_layers"]


def mlp_layers(model):
    """``(linears, activation name)`` of a Sequential of Flatten / Linear / activation layers.

    The activation name is the lowercase class name of the hidden layers' activation
    (``"sigmoid"``, ``"relu"`` ...), ``"identity"`` when there is none. Raises ValueError for
    any other kind of layer, for an activation after the output layer, and when the hidden
    layers differ (mixed kinds, or some with an activation and some without).
    """
    from ..nn import Flatten, Linear, Sequential  # noqa: PLC0415
    from .activations import is_activation  # noqa: PLC0415

    if not isinstance(model, Sequential):
        raise ValueError(f"expected an nn.Sequential MLP, got {type(model).__name__}")
    linears, after = [], []  # after[i]: the activation that follows linears[i], or None
    for m in model.children():
        if isinstance(m, Flatten) and not linears:
            continue
        if isinstance(m, Linear):
            linears.append(m)
            after.append(None)
        elif linears and after[-1] is None and is_activation(m) and not list(m.parameters()):
            after[-1] = type(m).__name__.lower()
        else:
            raise ValueError(f"not a plain MLP: it holds a {type(m).__name__} layer where a Linear or an "
                             "activation was expected")
    if not linears:
        raise ValueError("the model has no Linear layer")
    if after[-1] is not None:
        raise ValueError("the MLP has an activation after its output layer; expected raw logits")
    # one name describes the network only if every hidden layer has that activation (or none
    # has one): Linear, Linear, ReLU, Linear would otherwise read as a ReLU after both
    hidden = set(after[:-1])
    if len(hidden) > 1:
        raise ValueError(f"the hidden layers mix activations {sorted(hidden, key=str)} (None: no activation); "
                         "give every hidden Linear the same one")
    name = hidden.pop() if hidden else None
    return linears, (name or "identity")


def mlp_trace(model, x):
    """Every layer's activations for one input ``x`` (any shape with the first layer's size).

    Returns ``{"activations": [input, hidden 1, ..., logits], "probabilities": softmax(logits),
    "activation": name}`` as lists of floats, computed by the model's own modules in float64.
    """
    from ..autograd import Tensor, no_grad  # noqa: PLC0415

    linears, act = mlp_layers(model)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size != linears[0].in_features or not np.isfinite(x).all():
        raise ValueError(f"the input must hold {linears[0].in_features} finite numbers, got {x.size}")
    double = copy.deepcopy(model).double()
    double.eval()
    from ..nn import Linear  # noqa: PLC0415

    layers = [x.tolist()]
    h = Tensor(x[None])
    pending = False          # a Linear's output not yet recorded (its activation may follow)
    with no_grad():
        for m in double.children():
            if pending and isinstance(m, Linear):
                layers.append(h.numpy()[0].tolist())   # no activation between two Linear layers
            h = m(h)
            if isinstance(m, Linear):
                pending = True
            elif pending:
                layers.append(h.numpy()[0].tolist())
                pending = False
    if pending:
        layers.append(h.numpy()[0].tolist())
    logits = np.asarray(layers[-1])
    e = np.exp(logits - logits.max())
    return {"activations": layers, "probabilities": (e / e.sum()).tolist(), "activation": act}
