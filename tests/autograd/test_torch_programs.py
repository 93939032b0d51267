"""PyTorch tutorial patterns run on nerve after renaming the import, with PyTorch's numbers.

Each program below is written once, for ``torch``. The test runs it as written, then with
``torch`` renamed to ``nerve`` (the only change), and compares what both print. Weights
are set from ``linspace`` so no random number generator needs to agree.
"""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

MANUAL_SGD = '''
import math
import torch

dtype = torch.float64
x = torch.linspace(-math.pi, math.pi, 500, dtype=dtype)
y = torch.sin(x)
a = torch.full((), 0.1, dtype=dtype, requires_grad=True)
b = torch.full((), -0.2, dtype=dtype, requires_grad=True)
c = torch.full((), 0.05, dtype=dtype, requires_grad=True)
d = torch.full((), 0.01, dtype=dtype, requires_grad=True)
learning_rate = 1e-5
for t in range(300):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        log.append(f"{t} {loss.item():.6f}")
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
log.append(f"{a.item():.8f} {b.item():.8f} {c.item():.8f} {d.item():.8f}")
'''

CUSTOM_FUNCTION = '''
import math
import torch


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


dtype = torch.float64
x = torch.linspace(-math.pi, math.pi, 400, dtype=dtype)
y = torch.sin(x)
a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
for t in range(200):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum() + MyReLU.apply(x * d).sum() * 1e-3
    if t % 50 == 49:
        log.append(f"{t} {loss.item():.6f}")
    loss.backward()
    with torch.no_grad():
        for p in (a, b, c, d):
            p -= 2e-5 * p.grad
            p.grad = None
log.append(loss.grad_fn.name())
log.append(" ".join(f.name() if f is not None else "None"
                    for f, _ in loss.grad_fn.next_functions))
'''

MODULE_BACKWARD = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


net = Net().double()
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.linspace(-0.5, 0.5, p.numel(), dtype=torch.float64).reshape(p.shape))
inp = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(1, 6)
out = net(inp)
net.zero_grad()
out.backward(torch.linspace(0, 1, 10, dtype=torch.float64).reshape(1, 10))
log.append(f"{net.fc1.weight.grad.sum().item():.10f} {net.fc2.bias.grad.sum().item():.10f}")
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
target = torch.linspace(0, 1, 10, dtype=torch.float64).reshape(1, 10)
for step in range(20):
    opt.zero_grad()
    loss = F.mse_loss(net(inp), target)
    loss.backward()
    opt.step()
log.append(f"{loss.item():.10f}")
with torch.no_grad():
    net.fc1.weight.data.mul_(0.5)
    net.fc2.bias.data -= 0.1 * net.fc2.bias.grad
    w0 = float(net.fc1.weight.data[0, 0])
log.append(f"{w0:.10f} {net(inp).sum().item():.10f}")
'''


def _run(source, lib):
    code = source if lib == "torch" else source.replace("torch", "nerve")
    log = []
    exec(compile(code, f"<{lib} program>", "exec"), {"log": log, "__name__": "__main__"})
    return log


def _same(a, b, tol=1e-8):
    assert len(a) == len(b)
    for la, lb in zip(a, b):
        wa, wb = la.split(), lb.split()
        assert len(wa) == len(wb), (la, lb)
        for x, y in zip(wa, wb):
            try:
                fx, fy = float(x), float(y)
            except ValueError:
                assert x.replace("Backward0", "Backward") == y.replace("Backward0", "Backward"), (la, lb)
                continue
            assert math.isclose(fx, fy, rel_tol=tol, abs_tol=tol), (la, lb)


@pytest.mark.parametrize("program", [MANUAL_SGD, CUSTOM_FUNCTION, MODULE_BACKWARD],
                         ids=["manual-sgd", "custom-function", "module-backward"])
def test_program_runs_unchanged_after_renaming_the_import(program):
    want = _run(program, "torch")
    got = _run(program, "nerve")
    _same(got, want)


def test_the_renamed_program_really_trains():
    log = _run(MANUAL_SGD, "nerve")
    losses = [float(line.split()[1]) for line in log[:3]]
    assert losses[2] < losses[0]
    assert np.isfinite(losses).all()
