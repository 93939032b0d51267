"""Second pass over the training loop's edge cases: values checked against hand computations.

Each test builds a tiny problem (a one-weight model, a few samples, lr=0 where the weights
must stay put) so that the expected numbers can be worked out on paper.
"""
import numpy as np

from nerve import nn, optim
from nerve.train import Trainer


class _TimeFirst(nn.Module):
    """A per-step ``y = w x`` on time-first ``(T, N, 1)`` sequences, returning ``(y, state)``."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(1, 1, bias=False)
        self.lin.weight._data[...] = 1.0

    def forward(self, x, h=None):
        return self.lin(x), h


def _mse(out, y):
    return ((out - y) ** 2).mean()


def _mae(out, y):
    return float(np.abs(out - y).mean())


def test_time_first_tbptt_weights_the_epoch_loss_by_sequences_not_by_steps():
    # Two time-first batches of T=4 steps: 3 sequences of ones, then 1 sequence of threes,
    # all with target 0. Per-sequence MSE is 1 (x3) and 9 (x1): the sample mean is 3 and the
    # MAE mean 1.5. Weighting each batch by len(y) = T gave the batch means 5 and 2.
    T = 4
    xa = np.ones((T, 3, 1), np.float32)
    xb = np.full((T, 1, 1), 3.0, np.float32)
    batches = [(xa, np.zeros_like(xa)), (xb, np.zeros_like(xb))]
    model = _TimeFirst()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.0), _mse, metrics=(_mae,),
                      tbptt=2, tbptt_dim=0)
    history = trainer.fit(batches, epochs=1)
    assert history["loss"][0] == 3.0
    assert history["_mae"][0] == 1.5
    logs = trainer.evaluate(batches)
    assert logs["loss"] == 3.0 and logs["_mae"] == 1.5
