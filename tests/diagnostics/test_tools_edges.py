"""Edge cases of the tuning tools, the plots, the training doctor and the Keras facade:
silent wrong answers, crashes on ordinary input, state a probe must not leave behind, and
errors that must name the bad value."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim, tune
from nerve import random as nrandom


class _Quadratic(nn.Module):
    """½(x² + 100y²) from (1, 1): gradient descent is stable for lr < 2/L = 0.02."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(nv.tensor([1.0, 1.0], dtype=nv.float64))

    def loss(self):
        return 0.5 * (self.w[0] ** 2 + 100 * self.w[1] ** 2)


# ------------------------------------------------------------------------------ lr_range_test
def test_lr_range_test_handles_a_loss_below_zero():
    # a negative loss (an NLL with a density above 1, say) made "s > 4 × best" true at step 0
    model = _Quadratic()
    opt = optim.SGD(model.parameters(), lr=1e-3)
    r = tune.lr_range_test(model, opt, lambda m: m.loss() - 1000.0, None, start_lr=1e-4, end_lr=1.0,
                           num_steps=200)
    assert len(r.lrs) > 50
    assert r.diverged_lr is not None and r.diverged_lr > 0.02     # not before the stability bound
    assert 1e-4 < r.suggested_lr < 0.02


def test_lr_range_test_puts_the_global_generator_back():
    net = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    opt = optim.SGD(net.parameters(), lr=0.1)
    x = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    nv.manual_seed(5)
    before = nrandom.get_rng_state()
    tune.lr_range_test(net, opt, nn.MSELoss(), [(x, 2 * x[:, :1])], num_steps=5)
    assert nrandom.get_rng_state() == before      # the dropout draws of the probe are undone
