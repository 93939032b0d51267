"""Multilayer perceptrons, and the chapter-1 digit network 784-16-16-10.

``mlp([784, 16, 16, 10])`` is Linear(784→16), act, Linear(16→16), act, Linear(16→10):
``sizes`` lists the widths from the input to the output, so n sizes make n − 1 Linear
layers. The first size is the input width (the number of features, 784 for a 28×28
image); the input is data, not a layer, and holds no weights.

Parameter count: Σᵢ (sizes[i]·sizes[i+1] + sizes[i+1]). For 784-16-16-10:

    784×16 + 16 = 12,560
     16×16 + 16 =    272
     16×10 + 10 =    170
                  ------
                  13,002   (12,960 weights + 42 biases)

    >>> from nerve import models
    >>> models.mlp([3, 4, 1]).num_parameters()   # 3×4 + 4 + 4×1 + 1
    21
"""
from __future__ import annotations

from collections import namedtuple

from .. import nn
from . import register_model

__all__ = ["mlp", "MLP", "seed_mlp", "chapter1_mlp", "mlp_param_rows", "ParamRow"]


def _check_sizes(sizes):
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"an MLP needs at least two sizes (input and output width), got {sizes}; "
                         "e.g. [784, 16, 16, 10]")
    for s in sizes:
        if not isinstance(s, int) or isinstance(s, bool) or s < 1:
            raise ValueError(f"layer sizes must be positive integers, got {sizes}")
    return sizes


def _layers(sizes, activation, output_activation, bias):
    sizes = _check_sizes(sizes)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out, bias=bias))
        last = i == len(sizes) - 2
        if not last:
            if activation is not None:
                layers.append(nn.get_activation(activation))
        elif output_activation is not None:
            layers.append(nn.get_activation(output_activation))
    return layers


def mlp(sizes, activation="relu", output_activation=None, bias=True):
    """A multilayer perceptron as an ``nn.Sequential`` of Linear and activation layers.

    Args:
        sizes: widths from input to output, e.g. [784, 16, 16, 10].
        activation: the hidden layers' activation: a name for ``nn.get_activation``
            ('relu', 'sigmoid', 'tanh', 'identity' ...), a Module class or instance
            (each layer gets its own copy), or None for none.
        output_activation: an activation after the last Linear (default None: raw
            logits, which is what CrossEntropyLoss and BCEWithLogitsLoss expect).
        bias: give every Linear a bias.

    Shapes: (N, sizes[0]) → (N, sizes[-1]).

    Example:
        >>> import nerve as nv
        >>> from nerve import models
        >>> net = models.mlp([784, 16, 16, 10])
        >>> net
        Sequential(
          (0): Linear(in_features=784, out_features=16, bias=True)
          (1): ReLU()
          (2): Linear(in_features=16, out_features=16, bias=True)
          (3): ReLU()
          (4): Linear(in_features=16, out_features=10, bias=True)
        )
        >>> net(nv.zeros(5, 784)).shape
        (5, 10)
    """
    return nn.Sequential(*_layers(sizes, activation, output_activation, bias))


_HEADS = ("binary", "multiclass", "regression")


class MLP(nn.Sequential):
    """An MLP that knows its task: ``mlp(...)`` plus a ``head`` and its matching loss.

    Heads (the output layer always emits raw scores; the loss applies the squashing):

    * ``'binary'``: 1 logit, ``BCEWithLogitsLoss`` (σ(logit) is P(class 1));
    * ``'multiclass'``: K logits, ``CrossEntropyLoss`` (softmax over K classes);
    * ``'regression'``: linear outputs, ``MSELoss``.

    Args:
        sizes, activation, bias: as in ``mlp``.
        head: one of the above, or None (then ``loss_fn()`` is unavailable).
        flatten: put an ``nn.Flatten()`` first, so image batches are accepted.

    Example:
        >>> from nerve import models
        >>> clf = models.MLP([20, 32, 3], head="multiclass")
        >>> clf.loss_fn()
        CrossEntropyLoss()
    """

    def __init__(self, sizes, activation="relu", head=None, bias=True, flatten=False,
                 output_activation=None):
        sizes = _check_sizes(sizes)
        if head is not None and head not in _HEADS:
            raise ValueError(f"head must be one of {_HEADS} or None, got {head!r}")
        if head == "binary" and sizes[-1] != 1:
            raise ValueError(f"a binary head has 1 output logit, but sizes end in {sizes[-1]}; "
                             "use head='multiclass' for several classes")
        if head == "multiclass" and sizes[-1] < 2:
            raise ValueError(f"a multiclass head needs at least 2 outputs, got {sizes[-1]}; "
                             "use head='binary' for one logit")
        layers = ([nn.Flatten()] if flatten else []) + _layers(sizes, activation, output_activation, bias)
        super().__init__(*layers)
        self.sizes = sizes
        self.head = head

    def loss_fn(self, **kwargs):
        """The loss that matches the head (kwargs go to its constructor)."""
        if self.head is None:
            raise ValueError("this MLP was built without a head; pass head='binary', "
                             "'multiclass' or 'regression', or pick a loss yourself")
        return {"binary": nn.BCEWithLogitsLoss, "multiclass": nn.CrossEntropyLoss,
                "regression": nn.MSELoss}[self.head](**kwargs)


@register_model("seed-mlp", "mlp-784-16-16-10")
def seed_mlp(activation="relu", hidden=16):
    """The seed's digit network: Flatten, then 784-16-16-10 with ``activation`` between layers.

    Accepts (N, 1, 28, 28), (N, 28, 28) or (N, 784) and returns (N, 10) logits.
    13,002 parameters: 784×16 + 16 = 12,560; 16×16 + 16 = 272; 16×10 + 10 = 170
    (12,960 weights and 42 biases in 3 Linear layers). ``hidden`` changes the width of both
    hidden layers (``nerve sweep --hidden 16,32,64``): 784-h-h-10.
    """
    return nn.Sequential(nn.Flatten(), *_layers([784, hidden, hidden, 10], activation, None, True))


@register_model("chapter1-mlp")
def chapter1_mlp(activation="sigmoid"):
    """The 784-16-16-10 network as drawn in "But what is a neural network?" (sigmoid units).

    Same layout and 13,002 parameters as ``seed-mlp``; only the default activation differs.
    """
    return seed_mlp(activation=activation)


ParamRow = namedtuple("ParamRow", ["layer", "in_features", "out_features", "weights", "biases",
                                   "total", "arithmetic"])
ParamRow.__doc__ = """One Linear layer of an MLP: its sizes, its counts and the sum written out."""


def mlp_param_rows(sizes, bias=True):
    """The parameter arithmetic of ``mlp(sizes)``, one row per Linear layer.

    Example:
        >>> from nerve import models
        >>> for row in models.mlp_param_rows([784, 16, 16, 10]):
        ...     print(row.layer, row.arithmetic)
        1 784×16 + 16 = 12,560
        2 16×16 + 16 = 272
        3 16×10 + 10 = 170
        >>> sum(r.total for r in models.mlp_param_rows([784, 16, 16, 10]))
        13002
    """
    sizes = _check_sizes(sizes)
    rows = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        w, b = n_in * n_out, (n_out if bias else 0)
        arith = f"{n_in}×{n_out}" + (f" + {n_out}" if bias else "") + f" = {w + b:,}"
        rows.append(ParamRow(i, n_in, n_out, w, b, w + b, arith))
    return rows
