"""Checkpoints: exact resume, state encoding, consistency checks."""
import json

import numpy as np
import pytest
from trainhelpers import blobs, get_loss, loader

import nerve as nv
from nerve import nn, optim
from nerve.train import (EarlyStopping, ModelCheckpoint, Trainer, load_checkpoint, read_checkpoint,
                         save_checkpoint)
from nerve.train.checkpoint import decode_state, encode_state


class NoisyMLP(nn.Module):
    """An MLP that draws from nerve's global generator in training (like dropout)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        h = self.fc1(x).tanh()
        if self.training:
            noise = nv.rand(*h.shape) * 0.2 + 0.9  # global RNG: restored by the checkpoint
            h = h * noise
        return self.fc2(h)


def _build(X, y, tmp=None):
    nv.manual_seed(7)
    model = NoisyMLP()
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.8)
    callbacks = [EarlyStopping(monitor="val_loss", patience=10)]
    if tmp is not None:
        callbacks.append(ModelCheckpoint(tmp, monitor="val_loss"))
    trainer = Trainer(model, opt, get_loss(), scheduler=sched, callbacks=callbacks)
    train = loader(X[:150], y[:150], batch_size=16, shuffle=True)  # seeded from the global RNG
    val = loader(X[150:], y[150:], batch_size=32, shuffle=False)
    return trainer, train, val


def test_resume_gives_bit_identical_weights_to_an_uninterrupted_run(tmp_path):
    X, y = blobs(200)
    # One run of 4 epochs.
    t1, train, val = _build(X, y)
    t1.fit(train, epochs=4, val_loader=val)
    # 2 epochs with checkpoints, then fresh objects resumed from last/ for the remaining 2.
    t2, train, val = _build(X, y, tmp_path)
    t2.fit(train, epochs=2, val_loader=val)
    nv.manual_seed(12345)  # a different global state must not matter after restore
    t3, train, val = _build(X, y)
    nv.rand(10)
    h = t3.fit(train, epochs=4, val_loader=val, resume_from=tmp_path / "last")
    for (name, a), b in zip(t1.model.state_dict().items(), t3.model.state_dict().values()):
        assert a._data.tobytes() == b._data.tobytes(), name
    assert h.history == t1.history.history and h.epoch == [0, 1, 2, 3]
    assert t3.global_step == t1.global_step == 40
    assert t3.optimizer.param_groups[0]["lr"] == t1.optimizer.param_groups[0]["lr"]
    s1, s3 = t1.optimizer.state_dict(), t3.optimizer.state_dict()
    for i in s1["state"]:
        for k, v in s1["state"][i].items():
            np.testing.assert_array_equal(v, s3["state"][i][k])
    es1, es3 = t1.callbacks[0], t3.callbacks[0]
    assert (es1.best, es1.wait, es1.best_epoch) == (es3.best, es3.wait, es3.best_epoch)


def test_resume_refuses_a_target_already_reached(tmp_path):
    X, y = blobs(200)
    t, train, val = _build(X, y, tmp_path)
    t.fit(train, epochs=2, val_loader=val)
    t2, train, val = _build(X, y)
    with pytest.raises(ValueError, match="already completed 2 epochs; epochs=2 is the total"):
        t2.fit(train, epochs=2, val_loader=val, resume_from=tmp_path / "last")


def test_checkpoint_files_split_arrays_and_json(tmp_path):
    X, y = blobs(200)
    t, train, val = _build(X, y, tmp_path)
    t.fit(train, epochs=1, val_loader=val)
    last = tmp_path / "last"
    assert sorted(p.name for p in last.iterdir()) == ["checkpoint.json", "model.safetensors",
                                                      "state.safetensors"]
    meta = json.loads((last / "checkpoint.json").read_text())
    assert meta["epoch"] == 1 and meta["optimizer_class"] == "Adam" and meta["scheduler_class"] == "StepLR"
    state = meta["state"]
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.008)
    first_param = state["optimizer"]["state"]["__items__"][0]  # int keys are tagged: [[0, {...}], ...]
    assert first_param[0] == 0
    assert first_param[1]["exp_avg"] == {"__array__": "state.optimizer.state.0.exp_avg"}
    assert state["rng"]["nerve"]["bit_generator"] == "PCG64"
    assert set(state["loaders"]) == {"train", "val"}
    assert state["history"]["history"]["loss"] == t.history["loss"]
    model_arrays = nv.io.load_state_dict(last / "model.safetensors")
    assert set(model_arrays) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}


def test_state_encoding_roundtrips_exact_types():
    state = {
        "state": {0: {"step": 3, "exp_avg": np.arange(3.0), "scale": np.float32(0.5)}},
        "groups": [{"betas": (0.9, 0.999), "lr": 1e-3, "amsgrad": False, "name": None}],
        "best": float("inf"), "worst": float("-inf"), "nan": float("nan"),
        "big": 2 ** 100, "mixed": {"a": 1, 2: "b"},
    }
    arrays = {}
    encoded = encode_state(state, arrays)
    text = json.dumps(encoded, allow_nan=False)  # strict JSON
    out = decode_state(json.loads(text), arrays)
    assert list(out["state"]) == [0] and out["state"][0]["step"] == 3
    np.testing.assert_array_equal(out["state"][0]["exp_avg"], np.arange(3.0))
    assert type(out["state"][0]["scale"]) is np.float32 and out["state"][0]["scale"] == 0.5
    assert out["groups"][0]["betas"] == (0.9, 0.999) and isinstance(out["groups"][0]["betas"], tuple)
    assert out["best"] == float("inf") and out["worst"] == float("-inf") and np.isnan(out["nan"])
    assert out["big"] == 2 ** 100 and out["mixed"] == {"a": 1, 2: "b"}
    with pytest.raises(TypeError, match="cannot store state.f in a checkpoint: object"):
        encode_state({"f": object()}, {})


def test_standalone_save_and_load_restore_everything(tmp_path):
    nv.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = nv.randn(8, 4)
    (model(x) ** 2).mean().backward()
    opt.step()
    dl = loader(*blobs(20, features=4), batch_size=4, seed=1)
    save_checkpoint(tmp_path / "ck", model, opt, epoch=3, loaders={"train": dl},
                    extra={"note": "hi", "w": np.ones(2)})
    expected_rand = nv.rand(3)._data.copy()
    expected_order = [yb.tolist() for _, yb in dl]

    model2 = nn.Linear(4, 2)
    opt2 = optim.SGD(model2.parameters(), lr=0.5, momentum=0.9)
    dl2 = loader(*blobs(20, features=4), batch_size=4, seed=99)
    info = load_checkpoint(tmp_path / "ck", model2, opt2, loaders={"train": dl2})
    assert info["epoch"] == 3 and info["extra"]["note"] == "hi"
    np.testing.assert_array_equal(info["extra"]["w"], np.ones(2))
    assert opt2.param_groups[0]["lr"] == 0.1
    np.testing.assert_array_equal(model2.weight._data, model.weight._data)
    np.testing.assert_array_equal(nv.rand(3)._data, expected_rand)
    assert [yb.tolist() for _, yb in dl2] == expected_order


def test_resume_with_a_loader_the_checkpoint_did_not_have_warns_and_continues(tmp_path):
    X, y = blobs(200)
    t, train, val = _build(X, y, tmp_path)
    t.callbacks = [ModelCheckpoint(tmp_path, monitor="loss")]
    t.fit(train, epochs=1)  # no validation loader saved
    t2, train, val = _build(X, y)
    with pytest.warns(UserWarning, match="no state for the 'val' loader"):
        h = t2.fit(train, epochs=2, val_loader=val, resume_from=tmp_path / "last")
    assert h.epoch == [0, 1] and h["val_loss"][0] is None and h["val_loss"][1] > 0


def test_interrupted_or_foreign_folders_are_detected(tmp_path):
    model = nn.Linear(2, 2)
    save_checkpoint(tmp_path / "a", model, epoch=1)
    save_checkpoint(tmp_path / "b", model, epoch=2)
    read_checkpoint(tmp_path / "a")
    # A save interrupted after model.safetensors: it belongs to another save than the JSON.
    (tmp_path / "a" / "model.safetensors").write_bytes((tmp_path / "b" / "model.safetensors").read_bytes())
    with pytest.raises(ValueError, match="inconsistent: model.safetensors belongs to a different save"):
        read_checkpoint(tmp_path / "a")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="is not a nerve checkpoint"):
        read_checkpoint(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="no checkpoint folder"):
        read_checkpoint(tmp_path / "missing")
    with pytest.raises(ValueError, match="has no optimizer state"):
        load_checkpoint(tmp_path / "b", nn.Linear(2, 2), optim.SGD(model.parameters(), lr=0.1))
