"""Trainer(tbptt=k): truncated back-propagation through time inside the one training loop
(glossary row A48): chunks of k steps, the state carried across cuts detached, one optimizer
step per chunk, and no gradient from a loss to inputs before the last cut."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim
from nerve.train import Trainer


class Tagger(nn.Module):
    """A GRU reading (N, T, 2) and a Linear label per step: ``(logits (N, T, 3), h)``."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(2, 5, batch_first=True)
        self.head = nn.Linear(5, 3)

    def forward(self, x, h=None):
        y, h = self.rnn(x, h)
        return self.head(y), h


def _loss(out, y):
    return nn.functional.cross_entropy(out.reshape(-1, 3), y.reshape(-1))


def _data(seed=0, N=4, T=12):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, T, 2)), rng.integers(0, 3, (N, T))


def test_a_loss_after_the_last_cut_sends_exactly_zero_gradient_before_it():
    nv.manual_seed(0)
    net = Tagger().double()
    x_np, y = _data()
    x = nv.tensor(x_np, requires_grad=True)
    grads = []

    def loss_fn(out, target):
        loss = _loss(out, target)
        grads.append(nv.autograd.grad(loss, x, retain_graph=True)[0].numpy())
        return loss

    trainer = Trainer(net, optim.SGD(net.parameters(), lr=0.1), loss_fn, metrics=(), tbptt=4)
    trainer.fit([(x, nv.tensor(y))], epochs=1)
    assert len(grads) == 3 and trainer.global_step == 3        # cuts at 4 and 8: 3 chunks, 3 steps
    for j, g in enumerate(grads):                              # chunk j covers steps 4j .. 4j+3
        assert np.all(g[:, :4 * j] == 0)                       # before its cut: exactly 0
        assert np.all(np.abs(g[:, 4 * j:4 * j + 4]).sum(-1) > 0)
        assert np.all(g[:, 4 * j + 4:] == 0)                   # (the future never matters)
    # without truncation the last step's loss reaches back to the first input
    x.grad = None
    out, _ = net(x)
    g0 = nv.autograd.grad(_loss(out[:, 8:], nv.tensor(y[:, 8:])), x)[0].numpy()
    assert np.abs(g0[:, 0]).sum() > 0


def test_state_is_carried_across_chunks_and_the_optimizer_steps_per_chunk():
    nv.manual_seed(1)
    net = Tagger().double()
    x, y = _data(1)
    ref = Tagger().double()
    ref.load_state_dict(net.state_dict())
    # with lr 0 the weights stay put, so the logged loss must equal one uninterrupted run's
    frozen = Trainer(net, optim.SGD(net.parameters(), lr=0.0), _loss, metrics=(), tbptt=5)
    hist = frozen.fit([(x, y)], epochs=1)
    with nv.no_grad():
        out, _ = ref(nv.tensor(x))
        full = _loss(out, nv.tensor(y)).item()
        # chunks of 5, 5 and 2 steps: the mean weighted by chunk length equals the whole mean
        assert hist.history["loss"][0] == pytest.approx(full, rel=1e-12)
        cold = [_loss(ref(nv.tensor(x[:, s:s + 5]))[0], nv.tensor(y[:, s:s + 5])).item() * n
                for s, n in ((0, 5), (5, 5), (10, 2))]
    assert abs(sum(cold) / 12 - full) > 1e-6                   # restarting each chunk from 0 differs
    # one SGD step per chunk, each from the gradient of its own chunk with the carried state
    trainer = Trainer(net, optim.SGD(net.parameters(), lr=0.5), _loss, metrics=(), tbptt=5)
    trainer.fit([(x, y)], epochs=1)
    opt = optim.SGD(ref.parameters(), lr=0.5)
    h = None
    for s in (0, 5, 10):
        out, h_new = ref(nv.tensor(x[:, s:s + 5]), None if h is None else h.detach())
        loss = _loss(out, nv.tensor(y[:, s:s + 5]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        h = h_new
    for (name, p), q in zip(net.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-12, atol=1e-14, err_msg=name)


def test_evaluate_predict_and_metrics_with_tbptt():
    nv.manual_seed(2)
    net = Tagger()
    x, y = _data(2)
    x = x.astype(np.float32)
    trainer = Trainer(net, optim.Adam(net.parameters(), lr=1e-2), _loss, tbptt=3)
    hist = trainer.fit([(x, y)], epochs=2)
    assert 0 <= hist.history["accuracy"][-1] <= 1 and trainer.global_step == 8
    ev = trainer.evaluate([(x, y)])
    with nv.no_grad():
        out, _ = net(nv.tensor(x))
    assert ev["loss"] == pytest.approx(_loss(out, nv.tensor(y)).item(), rel=1e-6)
    np.testing.assert_array_equal(trainer.predict(x, batch_size=2), out.numpy())


def test_tbptt_errors():
    net = Tagger()
    with pytest.raises(ValueError, match="tbptt"):
        Trainer(net, optim.SGD(net.parameters(), lr=0.1), _loss, tbptt=0)
    x, y = _data()
    trainer = Trainer(net, optim.SGD(net.parameters(), lr=0.1), _loss, metrics=(), tbptt=4)
    with pytest.raises(ValueError, match="same number of steps"):
        trainer.fit([(x.astype(np.float32), y[:, 0])], epochs=1)
    class NoState(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 3)

        def forward(self, x, h=None):
            return self.lin(x)                                 # forgets to return the state

    plain = NoState()
    trainer = Trainer(plain, optim.SGD(plain.parameters(), lr=0.1), _loss, metrics=(), tbptt=4)
    with pytest.raises(TypeError, match=r"\(output, state\)"):
        trainer.fit([(x.astype(np.float32), y)], epochs=1)
