"""Callbacks: early stopping, checkpoints, schedules, loggers, progress output."""
import csv
import io
import json

import numpy as np
import pytest
from trainhelpers import blobs, get_loss, loader, mlp

import nerve as nv
from nerve import optim
from nerve.train import (Callback, CSVLogger, EarlyStopping, JSONLogger, LRSchedulerCallback,
                         ModelCheckpoint, ProgressBar, Trainer, load_checkpoint)


class Script(Callback):
    """Puts a scripted 'score' into the logs and snapshots the weights after every epoch."""

    order = -50

    def __init__(self, values):
        self.values = values
        self.snapshots = []

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.values[epoch]
        self.snapshots.append({k: v._data.copy() for k, v in self.model.state_dict().items()})


def _fit(callbacks, epochs=10, **kw):
    X, y = blobs(64)
    nv.manual_seed(0)
    model = mlp()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.05), get_loss(), callbacks=callbacks)
    trainer.fit(loader(X, y, batch_size=16), epochs=epochs, **kw)
    return trainer


@pytest.mark.parametrize("patience", [1, 2, 4])
def test_early_stopping_stops_exactly_patience_epochs_after_best_and_restores_bitwise(patience):
    values = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 3.05, 3.3, 3.4, 3.6]  # best at epoch 2
    script = Script(values)
    es = EarlyStopping(monitor="score", patience=patience, restore_best_weights=True)
    trainer = _fit([script, es])
    stop = 2 + patience
    assert min(script.values[stop + 1:]) > 3.0  # continuing would not have found a new best
    assert trainer.history.epoch == list(range(stop + 1))
    assert es.best_epoch == 2 and es.stopped_epoch == stop and es.best == 3.0
    for k, v in trainer.model.state_dict().items():
        assert v._data.tobytes() == script.snapshots[2][k].tobytes()
        assert v._data.tobytes() != script.snapshots[-1][k].tobytes()


def test_early_stopping_with_zero_patience_stops_at_the_first_epoch_without_improvement():
    es = EarlyStopping(monitor="score", patience=0)
    trainer = _fit([Script([5.0, 4.0, 3.0, 3.5, 3.0, 2.0, 1, 1, 1, 1]), es])
    assert trainer.history.epoch == [0, 1, 2, 3] and es.best_epoch == 2


def test_early_stopping_min_delta_and_max_mode():
    es = EarlyStopping(monitor="score", patience=1, min_delta=0.5)
    _fit([Script([5.0, 4.8, 4.7, 1.0, 0.9, 0.8, 0, 0, 0, 0]), es])
    assert es.best_epoch == 0 and es.stopped_epoch == 1  # 4.8 is not better by 0.5
    es = EarlyStopping(monitor="score", mode="max", patience=2)
    _fit([Script([0.1, 0.5, 0.4, 0.6, 0.6, 0.55, 0.2, 0, 0, 0]), es])
    assert es.best_epoch == 3 and es.stopped_epoch == 5
    assert EarlyStopping(monitor="val_accuracy")._mon.mode == "max"


def test_early_stopping_on_a_run_built_to_overfit():
    # 24 noisy training points, a wide net and a big lr: val_loss turns up within a few epochs.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(24 + 200, 6)).astype(np.float32)
    y = (X[:, 0] + rng.normal(scale=1.5, size=len(X)) > 0).astype(np.int64)
    nv.manual_seed(0)
    from nerve import nn
    model = nn.Sequential(nn.Linear(6, 128), nn.Tanh(), nn.Linear(128, 2))
    es = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=0.05), get_loss(), callbacks=[es])
    h = trainer.fit(loader(X[:24], y[:24], batch_size=8), epochs=200,
                    val_loader=loader(X[24:], y[24:], shuffle=False))
    best = int(np.argmin(h["val_loss"]))
    assert es.best_epoch == best and len(h.epoch) == best + 3 + 1 < 200
    final = trainer.evaluate(loader(X[24:], y[24:], shuffle=False))
    assert final["loss"] == pytest.approx(h["val_loss"][best], rel=1e-6)


def test_monitoring_a_missing_key_explains_what_is_there():
    expected = r"monitors 'val_loss', but the epoch logs only have \['accuracy', 'loss', 'lr'\].*val_loader"
    with pytest.raises(KeyError, match=expected):
        _fit([EarlyStopping()], epochs=1)
    with pytest.raises(ValueError, match="patience must be a non-negative integer"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max'"):
        EarlyStopping(mode="up")


def test_model_checkpoint_keeps_best_and_last(tmp_path):
    script = Script([3.0, 1.0, 2.0, 4.0])
    trainer = _fit([script, ModelCheckpoint(tmp_path, monitor="score")], epochs=4)
    best = nv.io.load_state_dict(tmp_path / "best" / "model.safetensors")
    last = nv.io.load_state_dict(tmp_path / "last" / "model.safetensors")
    for k in best:
        assert best[k].tobytes() == script.snapshots[1][k].tobytes()
        assert last[k].tobytes() == script.snapshots[3][k].tobytes()
    assert load_checkpoint(tmp_path / "best")["epoch"] == 2
    assert load_checkpoint(tmp_path / "last")["epoch"] == 4
    assert trainer.history.epoch == [0, 1, 2, 3]


def test_per_batch_scheduler_steps_once_per_update():
    X, y = blobs(64)
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=1.0)
    sched = optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 / (1 + step))
    trainer = Trainer(model, opt, get_loss(), callbacks=[LRSchedulerCallback(sched, interval="batch")])
    trainer.fit(loader(X, y, batch_size=16), epochs=2)  # 4 steps per epoch
    assert sched.last_epoch == 8 and opt.param_groups[0]["lr"] == pytest.approx(1 / 9)
    with pytest.raises(ValueError, match="interval must be 'epoch' or 'batch'"):
        LRSchedulerCallback(sched, interval="step")


def test_csv_and_json_loggers_match_history(tmp_path):
    trainer = _fit([CSVLogger(tmp_path / "h.csv"), JSONLogger(tmp_path / "h.json")], epochs=3)
    h = trainer.history
    rows = list(csv.DictReader(open(tmp_path / "h.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert [float(r["loss"]) for r in rows] == h["loss"]
    data = json.loads((tmp_path / "h.json").read_text())
    assert data["loss"] == h["loss"] and data["epoch"] == [0, 1, 2] and data["step"] == [4, 8, 12]


def test_progress_bar_plain_lines_quiet_and_rich():
    out = io.StringIO()
    _fit([ProgressBar(stream=out)], epochs=3)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3  loss ") and "accuracy" in lines[2]
    quiet = io.StringIO()
    _fit([ProgressBar(quiet=True, stream=quiet)], epochs=2)
    assert quiet.getvalue() == ""
    fancy = io.StringIO()
    _fit([ProgressBar(stream=fancy, rich=True)], epochs=2)
    assert "epoch 2/2  loss" in fancy.getvalue()
