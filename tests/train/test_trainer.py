"""Trainer.fit / evaluate / predict: one loop, exact sums, hooks in order, errors that teach."""
import io
import math

import numpy as np
import pytest
from trainhelpers import blobs, get_loss, loader, mlp

import nerve as nv
from nerve import nn, optim
from nerve.train import Callback, Trainer


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")

    def on_train_end(self, logs=None):
        self.events.append("train_end")

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, dict(logs)))

    def on_batch_begin(self, step, logs=None):
        self.events.append(("batch_begin", step))

    def on_batch_end(self, step, logs=None):
        self.events.append(("batch_end", step, logs["size"]))


def test_fit_learns_and_counts_epochs_and_steps(data):
    Xtr, ytr, Xva, yva = data
    model = mlp()
    rec = Recorder()
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=0.02), get_loss(), callbacks=[rec])
    train = loader(Xtr, ytr, batch_size=16)  # 180 samples -> ceil(180/16) = 12 steps
    history = trainer.fit(train, epochs=5, val_loader=loader(Xva, yva, shuffle=False))
    assert history.epoch == [0, 1, 2, 3, 4]
    assert history.steps == [12, 24, 36, 48, 60] and trainer.global_step == 60
    assert sum(1 for e in rec.events if e[0] == "epoch_end") == 5
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] >= 0.95
    # hook order: train_begin, then per epoch: begin, 12 x (batch_begin, batch_end), end
    assert rec.events[0] == "train_begin" and rec.events[-1] == "train_end"
    first_epoch = rec.events[1:1 + 2 + 24]
    assert first_epoch[0] == ("epoch_begin", 0) and first_epoch[-1][:2] == ("epoch_end", 0)
    assert [e[:2] for e in first_epoch[1:-1:2]] == [("batch_begin", s) for s in range(12)]
    assert [e[2] for e in first_epoch[2:-1:2]] == [16] * 11 + [4]


def test_evaluate_sums_over_the_whole_set_not_batch_averages(data):
    Xtr, ytr, _, _ = data
    model = mlp()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), get_loss())
    whole = trainer.evaluate(loader(Xtr, ytr, batch_size=len(Xtr), shuffle=False))
    batched = trainer.evaluate(loader(Xtr, ytr, batch_size=50, shuffle=False))  # 50,50,50,30
    assert batched["loss"] == pytest.approx(whole["loss"], rel=1e-6)
    assert batched["accuracy"] == whole["accuracy"]
    # The naive mean of per-batch means differs (the last batch is smaller).
    per_batch = [trainer.evaluate(loader(Xtr[i:i + 50], ytr[i:i + 50], batch_size=50, shuffle=False))["loss"]
                 for i in range(0, 180, 50)]
    assert abs(np.mean(per_batch) - whole["loss"]) > 1e-4
    # accuracy equals a direct computation
    pred = trainer.predict(Xtr).argmax(1)
    assert whole["accuracy"] == np.mean(pred == ytr)


def test_test_metrics_come_only_from_the_held_out_part(data):
    # Corrupting the test labels changes test accuracy and nothing else (glossary row A35).
    Xtr, ytr, Xte, yte = data

    def run(test_labels):
        nv.manual_seed(1)
        model = mlp()
        trainer = Trainer(model, optim.Adam(model.parameters(), lr=0.02), get_loss())
        trainer.fit(loader(Xtr, ytr, seed=3), epochs=3)
        return trainer, trainer.evaluate(loader(Xte, test_labels, shuffle=False))

    t1, clean = run(yte)
    t2, corrupt = run((yte + 1) % 3)
    assert t1.history.history == t2.history.history
    for a, b in zip(t1.model.parameters(), t2.model.parameters()):
        assert a._data.tobytes() == b._data.tobytes()
    assert clean["accuracy"] > 0.9 and corrupt["accuracy"] < 0.1


def test_predict_accepts_arrays_tensors_and_loaders_and_restores_mode(data):
    Xtr, ytr, _, _ = data
    model = mlp()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), get_loss())
    model.train()
    a = trainer.predict(Xtr, batch_size=7)
    b = trainer.predict(nv.tensor(Xtr))
    c = trainer.predict(loader(Xtr, ytr, batch_size=32, shuffle=False))
    assert a.shape == (180, 3) and isinstance(a, np.ndarray)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(a, c, rtol=1e-6)
    assert model.training
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        trainer.predict(Xtr, batch_size=0)


class ModeProbe(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 3)
        self.modes = []

    def forward(self, x):
        self.modes.append((self.training, nv.is_grad_enabled()))
        return self.fc(x)


def test_fit_uses_train_mode_and_evaluate_uses_eval_mode_without_graph(data):
    Xtr, ytr, Xva, yva = data
    model = ModeProbe()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), get_loss())
    trainer.fit(loader(Xtr, ytr, batch_size=90), epochs=1, val_loader=loader(Xva, yva, batch_size=60))
    assert model.modes == [(True, True), (True, True), (False, False)]
    assert model.training


def test_any_scalar_objective_with_a_penalty_is_minimized(data):
    # Glossary row 100: loss + lambda * ||w||^2 as loss_fn.
    Xtr, ytr, _, _ = data
    ce = get_loss()

    def norm_after(lam):
        nv.manual_seed(0)
        model = mlp()

        def objective(out, y):
            penalty = sum((p * p).sum() for p in model.parameters())
            return ce(out, y) + lam * penalty

        trainer = Trainer(model, optim.Adam(model.parameters(), lr=0.02), objective)
        h = trainer.fit(loader(Xtr, ytr, seed=0), epochs=8)
        return sum(float((p._data ** 2).sum()) for p in model.parameters()), h

    plain, _ = norm_after(0.0)
    penalized, h = norm_after(0.05)
    assert penalized < 0.5 * plain
    assert h["loss"][-1] < h["loss"][0]


def test_metric_callables_and_streaming_objects():
    X, y = blobs(96)
    model = mlp()

    def top1_error(out, target):
        return float(np.mean(out.argmax(1) != target))

    class CountPositive:
        name = "positives"

        def reset(self):
            self.n = 0

        def update(self, out, target):
            self.n += int((target > 0).sum())

        def compute(self):
            return self.n

    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), get_loss(),
                      metrics=["accuracy", top1_error, CountPositive()])
    logs = trainer.evaluate(loader(X, y, batch_size=40, shuffle=False))
    assert logs["top1_error"] == pytest.approx(1 - logs["accuracy"])
    assert logs["positives"] == int((y > 0).sum())
    with pytest.raises(ValueError, match="unknown metric 'f2'"):
        Trainer(model, optim.SGD(model.parameters(), lr=0.1), get_loss(), metrics=["f2"])


def test_stop_training_from_a_batch_hook_stops_after_that_batch(data):
    Xtr, ytr, _, _ = data

    class StopAt(Callback):
        def on_batch_end(self, step, logs=None):
            if self.trainer.global_step == 5:
                self.trainer.stop_training = True

    model = mlp()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), get_loss(), callbacks=[StopAt()])
    h = trainer.fit(loader(Xtr, ytr, batch_size=16), epochs=3)
    assert trainer.global_step == 5 and h.epoch == [0]


def test_epoch_only_callbacks_stay_out_of_the_batch_loop():
    from nerve.train import CallbackList, EarlyStopping, History, ModelCheckpoint, ProgressBar

    cbs = CallbackList([History(), EarlyStopping(monitor="loss"), ModelCheckpoint("x", monitor="loss"),
                        ProgressBar(rich=False)], trainer=None)
    cbs.on_train_begin({})
    assert cbs.batch_begin == [] and cbs.batch_end == []
    bar = ProgressBar(rich=True, stream=io.StringIO())
    cbs = CallbackList([History(), bar], trainer=None)
    cbs.on_train_begin({})
    assert cbs.batch_end == [bar]  # the live bar advances per batch
    bar.on_train_end()


def test_gradient_clipping_bounds_each_update():
    X, y = blobs(32)
    nv.manual_seed(0)
    model = mlp()
    before = [p._data.copy() for p in model.parameters()]
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=1.0), get_loss(), grad_clip_norm=1e-3)
    trainer.fit(loader(X * 100, y, batch_size=32), epochs=1)  # one step with a huge gradient
    step = math.sqrt(sum(float(((p._data - b) ** 2).sum()) for p, b in zip(model.parameters(), before)))
    assert step == pytest.approx(1e-3, rel=1e-3)


def test_scheduler_steps_per_epoch_and_plateau_gets_the_monitored_value(data):
    Xtr, ytr, Xva, yva = data
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    step_lr = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    trainer = Trainer(model, opt, get_loss(), scheduler=step_lr)
    h = trainer.fit(loader(Xtr, ytr), epochs=3)
    assert h["lr"] == [0.1, 0.05, 0.025]

    model = mlp()
    opt = optim.SGD(model.parameters(), lr=1e-6)  # too small for the loss to improve by 1e-4
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    trainer = Trainer(model, opt, get_loss(), scheduler=plateau)
    h = trainer.fit(loader(Xtr, ytr, shuffle=False), epochs=3, val_loader=loader(Xva, yva, shuffle=False))
    assert h["lr"] == [1e-6, 1e-6, 5e-7]


def test_bad_arguments_raise_clear_errors(data):
    Xtr, ytr, _, _ = data
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    trainer = Trainer(model, opt, get_loss())
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match=f"epochs must be a positive integer, got {bad!r}"):
            trainer.fit(loader(Xtr, ytr), epochs=bad)
    with pytest.raises(TypeError, match=r"batches of \(inputs, targets\)"):
        trainer.fit([nv.tensor(Xtr)], epochs=1)
    with pytest.raises(TypeError, match="scalar Tensor, got Tensor of shape"):
        Trainer(model, opt, lambda out, y: (out * out).sum(1)).fit(loader(Xtr, ytr), epochs=1)
    with pytest.raises(FloatingPointError, match="loss became nan at epoch 1, step 1"):
        Trainer(model, opt, lambda out, y: out.sum() * float("nan")).fit(loader(Xtr, ytr), epochs=1)
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        Trainer(model, opt, "cross_entropy")
    with pytest.raises(ValueError, match="grad_clip_norm must be a positive number"):
        Trainer(model, opt, get_loss(), grad_clip_norm=0)
    with pytest.raises(ValueError, match="produced no batches"):
        trainer.evaluate([])
