"""Initial weights from a seeded NumPy generator, the same under every framework.

PyTorch and nerve draw from different random streams, so ``torch.manual_seed(0)`` followed
by ``nn.Linear(4, 1)`` gives different numbers in each. The ported programs therefore build
their modules as usual and then overwrite every parameter with values drawn here; the draw
depends only on the seed and on the parameter names and shapes (visited in sorted order),
never on the framework. Buffers (BatchNorm running statistics) keep their defaults, which
both frameworks define the same way.
"""
import math

import numpy as np
import torch


def init_from_numpy(model, seed, std=None):
    """Overwrite ``model``'s parameters in place and return the model.

    Matrices and kernels (``ndim > 1``) get uniform(-b, b) with b = 1 / sqrt(fan_in), where
    fan_in = size(dim 1) * receptive field as in PyTorch's default, or normal(0, std) if
    ``std`` is given (DCGAN's init). One-dimensional ``weight``s (norm scales) get 1, or
    normal(1, std); biases get uniform(-b, b) with the same b as their layer's weight, or 0
    when ``std`` is given.
    """
    rng = np.random.default_rng(seed)
    params = dict(model.named_parameters())
    bounds = {}
    new = {}
    for name in sorted(params):
        shape = tuple(params[name].shape)
        dtype = params[name].detach().numpy().dtype
        prefix, _, kind = name.rpartition(".")
        if len(shape) > 1:
            fan_in = shape[1] * math.prod(shape[2:])
            bounds[prefix] = 1.0 / math.sqrt(fan_in)
            value = (rng.normal(0.0, std, shape) if std is not None
                     else rng.uniform(-bounds[prefix], bounds[prefix], shape))
        elif kind == "weight":
            value = np.ones(shape) if std is None else rng.normal(1.0, std, shape)
        else:
            new[name] = None  # a bias: drawn below, once its layer's weight has set the bound
            continue
        new[name] = value.astype(dtype)
    for name in sorted(params):
        if new[name] is None:
            prefix = name.rpartition(".")[0]
            dtype = params[name].detach().numpy().dtype
            b = bounds.get(prefix, 0.0) if std is None else 0.0
            new[name] = rng.uniform(-b, b, tuple(params[name].shape)).astype(dtype)
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(torch.from_numpy(new[name]))
    return model
