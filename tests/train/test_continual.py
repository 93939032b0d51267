"""Continual learning: task sequences, catastrophic forgetting, EWC and replay (spec row 77)."""
import numpy as np
import pytest

import nerve as nv
from nerve import data, nn, optim
from nerve.train import EWC, ReplayBuffer, ReplayLoader, TaskSequence, Trainer


def _digits():
    pytest.importorskip("sklearn")
    train, test = data.Digits(train=True, seed=0), data.Digits(train=False, seed=0)
    flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
    return flat(train.data), train.targets, flat(test.data), test.targets


def test_task_sequences():
    x, y, xt, yt = _digits()
    seq = TaskSequence.permuted(x, y, xt, yt, n_tasks=3, seed=0)
    assert len(seq) == 3 and np.array_equal(seq[0].x_train, x)
    perm = seq[1].permutation
    assert sorted(perm) == list(range(64)) and not np.array_equal(perm, np.arange(64))
    assert np.array_equal(seq[1].x_test, xt[:, perm]) and np.array_equal(seq[1].y_train, y)
    split = TaskSequence.split(x, y, xt, yt)
    assert [t.name for t in split] == ["split-01234", "split-56789"]
    assert set(split[1].y_train) == {5, 6, 7, 8, 9} and len(split[0].y_test) + len(split[1].y_test) == len(yt)
    with pytest.raises(ValueError, match="no samples"):
        TaskSequence.split(x, y, xt, yt, groups=[(11,)])


def test_replay_buffer_is_a_uniform_reservoir():
    buf = ReplayBuffer(100, seed=0)
    counts = np.zeros(1000)
    for rep in range(200):
        buf = ReplayBuffer(100, seed=rep)
        buf.add(np.arange(1000)[:, None], np.arange(1000))
        counts[buf.y[:len(buf)]] += 1
    assert len(buf) == 100 and buf.seen == 1000
    # each item is kept with probability 100/1000 = 0.1: 20 of 200 runs on average
    assert abs(counts[:500].mean() - 20) < 2 and abs(counts[500:].mean() - 20) < 2
    xr, yr = buf.sample(16)
    assert xr.shape == (16, 1) and np.array_equal(xr[:, 0], yr)
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(4).sample(2)
    loader = ReplayLoader(data.DataLoader(data.TensorDataset(np.zeros((8, 1)), np.zeros(8)), batch_size=4), buf, 3)
    shapes = [tuple(xb.shape) for xb, yb in loader]
    assert shapes == [(7, 1), (7, 1)] and len(loader) == 2


def test_ewc_penalty_is_zero_at_the_anchor_and_quadratic_away_from_it():
    nv.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3))
    x = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    y = np.arange(20) % 3
    ewc = EWC(lam=10.0)
    fisher = ewc.consolidate(net, x, y)
    assert ewc.penalty(net).item() == 0.0
    # the Fisher diagonal is the mean of squared per-sample gradients
    g2 = np.zeros((3, 4))
    for i in range(20):
        net.zero_grad()
        nv.functional.cross_entropy(net(nv.tensor(x[i:i + 1])), nv.tensor(y[i:i + 1])).backward()
        g2 += net[0].weight.grad.numpy() ** 2
    np.testing.assert_allclose(fisher["0.weight"], g2 / 20, rtol=1e-5)
    with nv.no_grad():
        net[0].weight.add_(1.0)
    expected = 5.0 * fisher["0.weight"].sum()
    assert ewc.penalty(net).item() == pytest.approx(expected, rel=1e-5)


def _train(model, task, loss_fn, loader=None, epochs=20):
    loader = loader or data.DataLoader(data.TensorDataset(task.x_train, task.y_train), batch_size=32,
                                       shuffle=True, seed=0)
    Trainer(model, optim.SGD(model.parameters(), lr=0.1), loss_fn, metrics=()).fit(loader, epochs)


def _accuracy(model, task):
    with nv.no_grad():
        return float((model(nv.tensor(task.x_test)).numpy().argmax(1) == task.y_test).mean())


@pytest.mark.slow
def test_plain_training_forgets_and_ewc_or_replay_halve_the_loss():
    x, y, xt, yt = _digits()
    task_a, task_b = TaskSequence.permuted(x, y, xt, yt, n_tasks=2, seed=0)
    drops = {}
    for method in ("plain", "ewc", "replay"):
        nv.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
        _train(model, task_a, nn.CrossEntropyLoss())
        acc_a = _accuracy(model, task_a)
        if method == "plain":
            _train(model, task_b, nn.CrossEntropyLoss())
        elif method == "ewc":
            ewc = EWC(lam=100.0)
            ewc.consolidate(model, task_a.x_train, task_a.y_train)
            _train(model, task_b, ewc.loss(nv.functional.cross_entropy, model))
        else:
            buf = ReplayBuffer(200, seed=0)
            buf.add(task_a.x_train, task_a.y_train)
            loader = data.DataLoader(data.TensorDataset(task_b.x_train, task_b.y_train), batch_size=32,
                                     shuffle=True, seed=0)
            _train(model, task_b, nn.CrossEntropyLoss(), ReplayLoader(loader, buf, 32))
        drops[method] = acc_a - _accuracy(model, task_a)
        assert _accuracy(model, task_b) > 0.85, method  # task B is learnt in every case
    print({k: round(100 * v, 1) for k, v in drops.items()})
    assert drops["plain"] >= 0.30
    assert drops["ewc"] <= drops["plain"] / 2 and drops["replay"] <= drops["plain"] / 2
