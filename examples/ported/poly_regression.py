"""Regression on a polynomial feature basis, twice:

1. recover a random degree-4 polynomial with one nn.Linear on [x, x^2, x^3, x^4], smooth L1
   loss, updating ``param.data`` by hand;
2. fit sin(x) with nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1)) on [x, x^2, x^3], summed
   MSE loss, stepping the parameters in place under no_grad, then with optim.RMSprop.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from numpy_init import init_from_numpy

POLY_DEGREE = 4


def make_features(x):
    """Columns x, x^2, x^3, x^4 of a (batch,) tensor."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def poly_desc(W, b):
    terms = " ".join(f"{w:+.2f} x^{i + 1}" for i, w in enumerate(W))
    return f"y = {terms} {b:+.2f}"


def recover_polynomial(rng, steps=150, batch_size=32, lr=0.1):
    w_target = torch.tensor(rng.standard_normal((POLY_DEGREE, 1)) * 2)
    b_target = torch.tensor(rng.standard_normal(1) * 2)
    fc = init_from_numpy(nn.Linear(w_target.shape[0], 1).double(), seed=3)
    losses = []
    for step in range(steps):
        batch_x = make_features(torch.from_numpy(rng.standard_normal(batch_size)))
        batch_y = batch_x.mm(w_target) + b_target.item()
        fc.zero_grad()
        output = F.smooth_l1_loss(fc(batch_x), batch_y)
        loss = output.item()
        output.backward()
        for param in fc.parameters():
            param.data.add_(-lr * param.grad)
        with torch.no_grad():
            losses += [loss, F.mse_loss(fc(batch_x), batch_y).item()]
    print("learned:", poly_desc(fc.weight.view(-1).tolist(), fc.bias.item()))
    print("target: ", poly_desc(w_target.view(-1).tolist(), b_target.item()))
    return losses


def fit_sine(steps=200, lr=1e-6):
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=torch.float64)
    y = torch.sin(x)
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = init_from_numpy(nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1)).to(torch.float64), seed=4)
    loss_fn = nn.MSELoss(reduction="sum")
    losses = []
    for t in range(steps):
        loss = loss_fn(model(xx), y)
        losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= lr * param.grad
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    for t in range(steps // 2):
        loss = loss_fn(model(xx), y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    linear_layer = model[0]
    print(f"sin(x) ~ {linear_layer.bias.item():.4f} + {linear_layer.weight[:, 0].item():.4f} x"
          f" + {linear_layer.weight[:, 1].item():.4f} x^2 + {linear_layer.weight[:, 2].item():.4f} x^3")
    return losses


def main():
    return recover_polynomial(np.random.default_rng(2)) + fit_sine()


if __name__ == "__main__":
    losses = main()
    print(f"{len(losses)} losses, last {losses[-1]:.4f}")
