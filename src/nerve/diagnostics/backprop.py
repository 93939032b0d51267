"""Backpropagation written out: every number of one training step of a small MLP.

:func:`backprop_steps` takes the weights of a stack of fully connected layers, one input and
its target, and returns the forward pass (each layer's pre-activation ``z`` and activation
``a``), the loss, the local gradients layer by layer from the output back to the input, and
the plain gradient-descent update of every weight and bias. It is computed by hand in NumPy
(float64) with the chain rule, so it can be shown next to what ``loss.backward()`` finds: the
two agree to rounding (the tests check it).

Notation, for layer l = 1 … L with ``a₀ = x``::

    z_l = W_l a_{l-1} + b_l          a_l = f_l(z_l)
    δ_L = ∂loss/∂z_L                 δ_l = (W_{l+1}ᵀ δ_{l+1}) ⊙ f_l'(z_l)
    ∂loss/∂W_l = δ_l a_{l-1}ᵀ        ∂loss/∂b_l = δ_l
    W_l ← W_l − lr · ∂loss/∂W_l      b_l ← b_l − lr · ∂loss/∂b_l

Losses: ``"mse"`` is the mean over the outputs of (a_L − t)², as ``nn.MSELoss``;
``"cross_entropy"`` takes the last layer's ``z_L`` as logits (no output activation) and an
integer class, as ``nn.CrossEntropyLoss``.

    >>> import numpy as np
    >>> W = [np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([[0.40, 0.45], [0.50, 0.55]])]
    >>> b = [np.array([0.35, 0.35]), np.array([0.60, 0.60])]
    >>> s = backprop_steps(W, b, [0.05, 0.10], [0.01, 0.99], activation="sigmoid", lr=0.5)
    >>> [round(v, 6) for v in s["forward"][-1]["a"]]
    [0.751365, 0.772928]
    >>> round(s["loss"], 6)
    0.298371
"""
from __future__ import annotations

import numpy as np

__all__ = ["backprop_steps", "backprop_steps_from_model", "STEP_ACTIVATIONS"]

STEP_ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")
_LOSSES = ("mse", "cross_entropy")


def _act(name, z):
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    return z.copy()


def _act_grad(name, z, a):
    """f'(z), written with the output where that is the usual form (σ' = a(1 − a))."""
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return (z > 0).astype(np.float64)
    return np.ones_like(z)


def _vector(v, what):
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim != 1 or not np.isfinite(arr).all():
        raise ValueError(f"{what} must be a 1-D list of finite numbers, got {v!r}")
    return arr


def backprop_steps(weights, biases, x, target, activation="sigmoid", output_activation=None,
                   loss="mse", lr=0.5):
    """One forward pass, backward pass and SGD update of an MLP, with every number kept.

    Args:
        weights: per layer, an (out, in) array as in ``nn.Linear.weight``.
        biases: per layer, an (out,) array.
        x: the input, (in,) of the first layer.
        target: for ``"mse"``, the (out,) target of the last layer; for ``"cross_entropy"``,
            the class index.
        activation: the hidden layers' activation, one of :data:`STEP_ACTIVATIONS`.
        output_activation: the last layer's activation for ``"mse"`` (default: ``activation``);
            ignored for ``"cross_entropy"`` (raw logits).
        loss: ``"mse"`` or ``"cross_entropy"``.
        lr: the learning rate of the update.

    Returns:
        a dict with ``forward`` (per layer ``{"layer", "z", "a", "activation"}``), ``loss``,
        ``output`` (a_L, or the softmax probabilities for cross-entropy), ``dloss_dout``
        (∂loss/∂a_L, or ∂loss/∂z_L for cross-entropy), ``backward`` (per layer, last first:
        ``{"layer", "dloss_da", "dact_dz", "delta", "dW", "db"}``) and ``updates`` (per layer:
        ``{"layer", "W", "b", "W_new", "b_new"}``), all as nested lists of floats.
    """
    if activation not in STEP_ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(STEP_ACTIVATIONS)}, got {activation!r}")
    out_act = activation if output_activation is None else output_activation
    if out_act not in STEP_ACTIVATIONS:
        raise ValueError(f"output_activation must be one of {', '.join(STEP_ACTIVATIONS)}, got {out_act!r}")
    if loss not in _LOSSES:
        raise ValueError(f"loss must be 'mse' or 'cross_entropy', got {loss!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not np.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number ≥ 0, got {lr!r}")
    Ws = [np.asarray(w, dtype=np.float64) for w in weights]
    bs = [np.asarray(b, dtype=np.float64) for b in biases]
    if not Ws or len(Ws) != len(bs):
        raise ValueError(f"need one bias per weight matrix and at least one layer, got {len(Ws)} "
                         f"weights and {len(bs)} biases")
    a = _vector(x, "x")
    for i, (W, b) in enumerate(zip(Ws, bs), start=1):
        if W.ndim != 2 or b.shape != (W.shape[0],) or W.shape[1] != (len(a) if i == 1 else Ws[i - 2].shape[0]):
            raise ValueError(f"layer {i}: weight {W.shape} and bias {b.shape} do not fit its input of "
                             f"{len(a) if i == 1 else Ws[i - 2].shape[0]} values")
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise ValueError(f"layer {i}: weights and biases must be finite")
    L = len(Ws)
    acts = [activation] * (L - 1) + ["identity" if loss == "cross_entropy" else out_act]

    # forward
    inputs, zs, outs = [], [], []
    for W, b, f in zip(Ws, bs, acts):
        inputs.append(a)
        z = W @ a + b
        a = _act(f, z)
        zs.append(z)
        outs.append(a)

    # loss and its gradient with respect to the last z
    if loss == "mse":
        t = _vector(target, "target")
        if t.shape != a.shape:
            raise ValueError(f"target must have {a.shape[0]} values (one per output), got {t.shape[0]}")
        value = float(np.mean((a - t) ** 2))
        dloss_dout = 2.0 * (a - t) / a.size
        output = a
        delta = dloss_dout * _act_grad(acts[-1], zs[-1], a)
    else:
        if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= target < a.size:
            raise ValueError(f"target must be a class index from 0 to {a.size - 1}, got {target!r}")
        shifted = a - a.max()
        p = np.exp(shifted) / np.exp(shifted).sum()
        value = float(-np.log(p[int(target)]))
        onehot = np.zeros_like(p)
        onehot[int(target)] = 1.0
        dloss_dout = p - onehot          # ∂loss/∂logits: softmax minus the one-hot target
        output = p
        delta = dloss_dout

    # backward, last layer first
    backward = []
    dloss_da = dloss_dout
    for i in range(L - 1, -1, -1):
        if i < L - 1:
            dloss_da = Ws[i + 1].T @ delta
            delta = dloss_da * _act_grad(acts[i], zs[i], outs[i])
        dact = (_act_grad(acts[i], zs[i], outs[i]) if not (i == L - 1 and loss == "cross_entropy")
                else np.ones_like(zs[i]))
        backward.append({"layer": i + 1, "dloss_da": dloss_da.tolist(), "dact_dz": dact.tolist(),
                         "delta": delta.tolist(), "dW": np.outer(delta, inputs[i]).tolist(),
                         "db": delta.tolist()})

    updates = []
    for i, (W, b) in enumerate(zip(Ws, bs)):
        g = backward[L - 1 - i]
        updates.append({"layer": i + 1, "W": W.tolist(), "b": b.tolist(),
                        "W_new": (W - lr * np.asarray(g["dW"])).tolist(),
                        "b_new": (b - lr * np.asarray(g["db"])).tolist()})
    return {"x": inputs[0].tolist(), "target": target if loss == "cross_entropy" else np.asarray(target, float).tolist(),
            "loss_name": loss, "lr": float(lr),
            "forward": [{"layer": i + 1, "z": z.tolist(), "a": o.tolist(), "activation": f}
                        for i, (z, o, f) in enumerate(zip(zs, outs, acts))],
            "loss": value, "output": output.tolist(), "dloss_dout": dloss_dout.tolist(),
            "backward": backward, "updates": updates}


def backprop_steps_from_model(model, x, target, loss="mse", lr=0.5):
    """:func:`backprop_steps` for an ``nn.Sequential`` of Linear layers and activations.

    The activations are read from the model (Sigmoid, Tanh, ReLU, or none between two Linear
    layers); the hidden ones must all be the same kind, at most one may follow each Linear,
    and for ``loss="cross_entropy"`` the model must end with its last Linear (raw logits).
    """
    from ..nn import Linear, ReLU, Sequential, Sigmoid, Tanh  # noqa: PLC0415

    if not isinstance(model, Sequential):
        # a custom Module's children are listed in registration order, which need not be the
        # order its forward() calls them: the step-through would follow the wrong network
        raise ValueError(f"the step-through reads an nn.Sequential, got {type(model).__name__}; put the "
                         "layers in an nn.Sequential in the order they run")
    names = {Sigmoid: "sigmoid", Tanh: "tanh", ReLU: "relu"}
    weights, biases, after = [], [], []
    for m in model.children():
        if isinstance(m, Linear):
            if m.bias is None:
                raise ValueError("every Linear layer needs a bias for the step-through")
            weights.append(m.weight.numpy().astype(np.float64))
            biases.append(m.bias.numpy().astype(np.float64))
            after.append("identity")
        elif type(m) in names and weights:
            if after[-1] != "identity":  # Linear, ReLU, Sigmoid: keeping only one would be wrong
                raise ValueError(f"two activations ({after[-1]}, {names[type(m)]}) follow Linear layer "
                                 f"{len(weights)}; the step-through takes at most one per layer")
            after[-1] = names[type(m)]
        else:
            raise ValueError(f"the step-through handles Linear, Sigmoid, Tanh and ReLU layers, not {type(m).__name__}")
    if not weights:
        raise ValueError(f"the step-through needs at least one Linear layer; {type(model).__name__} has none")
    if loss == "cross_entropy" and after[-1] != "identity":
        raise ValueError(f"loss='cross_entropy' takes the last Linear's raw logits, but the model ends with "
                         f"{after[-1]}; remove that activation (cross-entropy applies the softmax)")
    hidden = set(after[:-1]) or {after[-1]}
    if len(hidden) != 1:
        raise ValueError(f"all hidden layers must use one activation, got {sorted(hidden)}")
    return backprop_steps(weights, biases, x, target, activation=hidden.pop(), output_activation=after[-1],
                          loss=loss, lr=lr)
