"""Linear probes: how linearly separable the classes are at each layer of a trained network.

A probe is a softmax regression trained on frozen features (the network is not changed).
Comparing probes layer by layer shows where the representation becomes useful for the task;
the raw input is the baseline.
"""
from __future__ import annotations

import numpy as np

__all__ = ["linear_probe", "layer_probes"]


def linear_probe(x_train, y_train, x_test, y_test, *, epochs=300, lr=0.05, weight_decay=1e-4, seed=0):
    """Test accuracy of a softmax regression trained on (x_train, y_train).

    Features are standardised with the training statistics; training is full-batch Adam for
    ``epochs`` steps from weights drawn with ``seed``. The global generator is seeded for the
    draw and put back afterwards, so probing does not change what the caller draws next.
    """
    from .. import functional as F  # noqa: PLC0415
    from .. import nn, optim  # noqa: PLC0415
    from ..autograd import Tensor, no_grad  # noqa: PLC0415
    from ..random import get_rng_state, manual_seed, set_rng_state  # noqa: PLC0415

    x_train = np.asarray(x_train, dtype=np.float64).reshape(len(x_train), -1)
    x_test = np.asarray(x_test, dtype=np.float64).reshape(len(x_test), -1)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    mean, std = x_train.mean(0), x_train.std(0)
    std[std == 0] = 1.0
    xt, xv = Tensor((x_train - mean) / std), Tensor((x_test - mean) / std)
    classes = np.unique(y_train)
    index = {c: i for i, c in enumerate(classes)}
    yt = Tensor(np.array([index[c] for c in y_train], dtype=np.int64))
    saved_rng = get_rng_state()
    manual_seed(seed)
    head = nn.Linear(x_train.shape[1], len(classes)).double()
    set_rng_state(saved_rng)  # the probe's seed must not reseed the caller's stream
    opt = optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(int(epochs)):
        loss = F.cross_entropy(head(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with no_grad():
        pred = classes[head(xv).numpy().argmax(1)]
    return float((pred == y_test).mean())


def layer_probes(model, layers, x_train, y_train, x_test, y_test, *, include_input=True, **probe_kwargs):
    """``{name: probe test accuracy}`` for the raw input (``"input"``, first) and each layer.

    ``layers`` are dotted sub-module names of ``model``; their outputs come from forward
    hooks (``nerve.models.extract_features``). Extra keyword arguments go to ``linear_probe``.
    """
    from ..models.features import extract_features  # noqa: PLC0415

    out = {}
    if include_input:
        out["input"] = linear_probe(x_train, y_train, x_test, y_test, **probe_kwargs)
    f_train = extract_features(model, layers, x_train)
    f_test = extract_features(model, layers, x_test)
    for name in layers:
        out[name] = linear_probe(f_train[name], y_train, f_test[name], y_test, **probe_kwargs)
    return out
