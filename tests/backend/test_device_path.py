"""The GPU path without a GPU: a stand-in CuPy (tests/backend/fake_device.py) checks that device
arrays are recognised before CuPy was loaded, that a training step keeps batches, gradients,
optimizer state and dropout masks on the device, and that the host reads one value per step
(the loss). The real-GPU versions of these checks are in test_cupy.py (they skip here)."""
import math

import numpy as np
import pytest

import nerve as nv
from nerve import backend, nn, optim
from nerve.data import DataLoader, TensorDataset
from nerve.train import Trainer

from .fake_device import COUNTS, DeviceArray, fake_cupy


def _reset():
    for k in COUNTS:
        COUNTS[k] = 0


def test_a_device_array_is_recognised_before_cupy_was_loaded():
    with fake_cupy() as cp:
        assert backend._cupy is None and not backend._cupy_checked
        a = cp.asarray(np.ones(3))
        assert backend.get_array_module(a) is cp
        assert backend.get_array_module(np.ones(3)) is np


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 8)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def _model():
    nv.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))


def test_a_training_epoch_stays_on_the_device():
    X, y = _data()
    loader = DataLoader(TensorDataset(X, y), batch_size=16)
    steps = len(loader)
    with fake_cupy():
        m = _model().to("cuda")
        opt = optim.Adam(m.parameters(), lr=0.01)
        trainer = Trainer(m, opt, nn.CrossEntropyLoss())
        _reset()
        hist = trainer.fit(loader, epochs=1)
        counts = dict(COUNTS)
        assert counts["to_host"] == 0, counts                   # nothing copied back per step
        assert counts["to_device"] == 2 * steps, counts          # each batch's inputs and targets
        assert counts["device_draws"] == steps, counts           # dropout masks made on the device
        # one read per step (the loss) and one at the end of the epoch (the accuracy count)
        assert counts["syncs"] <= steps + 1, counts
        for p in m.parameters():
            assert type(p._data) is DeviceArray and type(p.grad._data) is DeviceArray
        for state in opt.state.values():
            for v in state.values():
                assert not isinstance(v, np.ndarray) or type(v) is DeviceArray
        ev = trainer.evaluate(loader)
        pred = trainer.predict(X)
    assert type(pred) is np.ndarray and pred.shape == (64, 3)
    assert 0 <= hist["accuracy"][0] <= 1 and math.isfinite(ev["loss"])


def test_the_device_results_equal_the_host_results():
    X, y = _data()
    ref_model = _model()
    ref_model[2].p = 0.0
    ref = Trainer(ref_model, optim.SGD(ref_model.parameters(), lr=0.1), nn.CrossEntropyLoss())
    h_ref = ref.fit(DataLoader(TensorDataset(X, y), batch_size=16), epochs=2)
    with fake_cupy():
        m = _model()
        m[2].p = 0.0
        m.to("cuda")
        h = Trainer(m, optim.SGD(m.parameters(), lr=0.1), nn.CrossEntropyLoss()).fit(
            DataLoader(TensorDataset(X, y), batch_size=16), epochs=2)
        w = m[0].weight._data.get()
    np.testing.assert_allclose(h["loss"], h_ref["loss"], rtol=1e-6)
    assert h["accuracy"] == h_ref["accuracy"]
    np.testing.assert_allclose(w, ref_model[0].weight.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_device_losses_check_targets_without_a_host_round_trip(fn):
    F = nv.functional
    logits = np.random.default_rng(1).normal(size=(5, 4))
    t = np.array([0, 3, -100, 2, 1])
    x_host = nv.tensor(logits, requires_grad=True)
    inp = F.log_softmax(x_host, 1) if fn == "nll_loss" else x_host
    want = getattr(F, fn)(inp, nv.tensor(t))
    want.backward()
    with fake_cupy() as cp:
        x = nv.tensor(cp.asarray(logits), requires_grad=True)
        inp = F.log_softmax(x, 1) if fn == "nll_loss" else x
        _reset()
        got = getattr(F, fn)(inp, nv.tensor(cp.asarray(t)))
        got.backward()
        assert COUNTS["syncs"] == 0, COUNTS                       # ignore_index handled on the device
        np.testing.assert_allclose(float(got._data), float(want._data), rtol=1e-12)
        np.testing.assert_allclose(x.grad._data.get(), x_host.grad.numpy(), rtol=1e-12)
        bad = getattr(F, fn)(inp, nv.tensor(cp.asarray(np.array([0, 9, 1, 2, 1]))))
        assert math.isnan(float(bad._data))                       # out of range: NaN, not a guess
