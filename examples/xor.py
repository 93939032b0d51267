"""Learn XOR with a 2-4-1 network, using only Tensor ops and plain gradient descent.

XOR is the smallest problem no straight line can solve: the hidden layer's nonlinearity
bends the input space so the output layer can separate the classes. Even this tiny loss
surface has bad valleys: from some random starts (seed 0 here) gradient descent settles
at 50 % and stays there, which is why real training runs use several seeds or better
initialisation. Run:

    python examples/xor.py
"""
from __future__ import annotations

import numpy as np

import nerve as nv


def train_xor(hidden=4, steps=2000, lr=0.5, seed=1, nonlinear=True, verbose=False):
    """Train on the four XOR points; return (accuracy, final loss, predictions)."""
    nv.manual_seed(seed)
    X = nv.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = nv.tensor([[0.0], [1.0], [1.0], [0.0]])
    # Small random weights break the symmetry between hidden units.
    W1 = (nv.randn(2, hidden) * 1.0).requires_grad_()
    b1 = nv.zeros(hidden, requires_grad=True)
    W2 = (nv.randn(hidden, 1) * 1.0).requires_grad_()
    b2 = nv.zeros(1, requires_grad=True)
    params = [W1, b1, W2, b2]
    for step in range(steps):
        h = X @ W1 + b1
        if nonlinear:
            h = h.tanh()
        logits = h @ W2 + b2
        p = 1 / (1 + (-logits).exp())                           # sigmoid
        loss = -(y * p.log() + (1 - y) * (1 - p).log()).mean()  # binary cross-entropy
        for t in params:
            t.grad = None
        loss.backward()
        with nv.no_grad():
            for t in params:
                t.data -= lr * t.grad.data                      # w <- w - lr * dL/dw
        if verbose and step % 500 == 0:
            print(f"step {step:5d}  loss {loss.item():.4f}")
    pred = (p.numpy() > 0.5).astype(np.float32)
    acc = float((pred == y.numpy()).mean())
    return acc, loss.item(), p.numpy().ravel()


def main():
    acc, loss, probs = train_xor(verbose=True)
    print(f"XOR with a tanh hidden layer: accuracy {acc:.0%}, loss {loss:.4f}")
    print("outputs for (0,0) (0,1) (1,0) (1,1):", np.round(probs, 3))
    acc_lin, _, _ = train_xor(nonlinear=False)
    print(f"the same net without the nonlinearity: accuracy {acc_lin:.0%} (a line cannot do better than 75%)")


if __name__ == "__main__":
    main()
