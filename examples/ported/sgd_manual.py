"""Fit sin(x) on [-pi, pi] with a cubic a + b x + c x^2 + d x^3, using autograd for the
gradients and updating the four tensors by hand (no nn, no optim).

Runs on PyTorch as written; on nerve after renaming ``torch`` to ``nerve``.
"""
import math

import numpy as np
import torch


def main(steps=400, lr=1e-6):
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=torch.float64)
    y = torch.sin(x)
    start = np.random.default_rng(0).standard_normal(4)  # (torch.randn would differ per framework)
    a, b, c, d = (torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in start)
    losses = []
    for t in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for w in (a, b, c, d):
                w -= lr * w.grad
                w.grad = None
    print(f"y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3")
    return losses


if __name__ == "__main__":
    for i, v in enumerate(main()):
        if i % 50 == 0:
            print(f"step {i}: loss {v:.6f}")
