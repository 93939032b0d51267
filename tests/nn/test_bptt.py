"""Back-propagation through time: truncation, and the exploding gradient of a linear recurrence
(glossary rows A48 and 19) with gradient clipping keeping training finite."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn
from nerve.nn.utils.rnn import detach_state, truncated_bptt


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_truncation_stops_the_gradient_exactly_at_the_last_cut(kind):
    nv.manual_seed(0)
    rnn = getattr(nn, kind)(3, 4, batch_first=True).double()
    x = nv.randn(2, 10, 3, dtype=nv.float64, requires_grad=True)
    full, _ = rnn(x)
    out, state = truncated_bptt(rnn, x, k=4)                 # cuts before steps 4 and 8
    np.testing.assert_allclose(out.numpy(), full.numpy(), rtol=1e-12, atol=1e-14)  # same values
    out[:, -1].sum().backward()                              # a loss at the last step (9)
    g = x.grad.numpy()
    assert np.all(g[:, :8] == 0)                             # before the last cut: exactly 0
    assert np.all(np.abs(g[:, 8:]).sum(axis=-1) > 0)         # after it: the gradient arrives
    # without truncation, the same loss reaches the first step
    x.grad = None
    rnn(x)[0][:, -1].sum().backward()
    assert np.abs(x.grad.numpy()[:, 0]).sum() > 0


def test_detach_state_handles_lstm_tuples():
    h = nv.ones(1, 2, requires_grad=True) * 2
    c = nv.ones(1, 2, requires_grad=True) * 3
    dh, dc = detach_state((h, c))
    assert not dh.requires_grad and not dc.requires_grad and dh.tolist() == [[2.0, 2.0]]
    assert detach_state(None) is None
    with pytest.raises(ValueError, match="positive"):
        truncated_bptt(nn.RNN(1, 1), nv.zeros(3, 1, 1), k=0)


def _orthogonal(n, seed):
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def test_linear_recurrence_amplifies_the_gradient_by_1_5_to_the_T():
    """h_t = W h_{t−1} with W = 1.5·Q (Q orthogonal): ‖∂h_T/∂h_0‖₂ = 1.5^T, 6.38e8 at T = 50."""
    n, T = 4, 50
    W = nv.tensor(1.5 * _orthogonal(n, 0))
    h0 = nv.tensor(np.random.default_rng(1).standard_normal(n), requires_grad=True)
    h = h0
    for _ in range(T):
        h = W @ h
    rows = [nv.autograd.grad(h[i], h0, retain_graph=True)[0].numpy() for i in range(n)]
    norm = np.linalg.norm(np.stack(rows), 2)                 # spectral norm of the Jacobian
    assert abs(norm / 1.5 ** T - 1) < 1e-6
    assert f"{norm:.3g}" == "6.38e+08"


def _train_linear_rnn(clip, steps=30, T=50, seed=2):
    """A linear RNN (identity activation, recurrent matrix 1.5·Q) fitting a target with SGD at
    lr 0.1; returns the losses."""
    rng = np.random.default_rng(seed)
    n = 4
    W = nv.tensor(1.5 * _orthogonal(n, seed), requires_grad=True)
    U = nv.tensor(0.1 * rng.standard_normal((n, 2)), requires_grad=True)
    x = nv.tensor(rng.standard_normal((T, 8, 2)))
    target = nv.tensor(rng.standard_normal((8, n)))
    opt = nv.optim.SGD([W, U], lr=0.1)
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            h = nv.zeros(8, n, dtype=nv.float64)
            for t in range(T):
                h = h @ W.T + x[t] @ U.T
            loss = ((h - target) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_([W, U], 1.0)
            opt.step()
            losses.append(loss.item())
    return losses


def test_exploding_gradients_diverge_and_clipping_keeps_training_finite():
    plain = _train_linear_rnn(clip=False)
    assert not np.isfinite(plain[-1])                        # inf or NaN
    clipped = _train_linear_rnn(clip=True)
    assert np.all(np.isfinite(clipped))
    assert clipped[-1] < clipped[0]
