"""Edge cases of the training loop's semantics, with expected values worked out by hand.

Tiny deterministic problems (a one-weight linear model, a few samples, SGD, often lr=0 so the
weights stay put and every logged number has a closed form) check what a loop can get silently
wrong: how epoch losses are averaged, which samples an epoch sees, when schedulers and early
stopping act, which weights a callback restores or saves, and the model's mode around
evaluation and prediction. The Keras facade is checked against Keras's documented behaviour.
"""
import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim
from nerve.data import DataLoader, TensorDataset
from nerve.train import (Callback, EarlyStopping, ModelCheckpoint, NonFiniteGuard, Trainer,
                         load_checkpoint)

X5 = np.arange(1, 6, dtype=np.float32).reshape(5, 1)       # 1..5
Y5 = np.zeros((5, 1), np.float32)


def _line(w=1.0, b=0.0, bias=True):
    """y = w x (+ b): a Linear(1, 1) with chosen weights."""
    m = nn.Linear(1, 1, bias=bias)
    m.weight._data[...] = w
    if bias:
        m.bias._data[...] = b
    return m


def _loader(X, y, batch_size=2, shuffle=False, **kw):
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle, **kw)


def _weights(model):
    return {k: v._data.copy() for k, v in model.state_dict().items()}


class Script(Callback):
    """Writes scripted values into the epoch logs (before the other callbacks read them) and
    snapshots the weights at every epoch end."""

    order = -50

    def __init__(self, **values):
        self.values = values
        self.snapshots = []

    def on_epoch_end(self, epoch, logs=None):
        for k, v in self.values.items():
            logs[k] = v[epoch]
        self.snapshots.append(_weights(self.model))


def _fit_scripted(callbacks, epochs, lr=0.05, val=False, **kw):
    """A run whose weights change every epoch (so snapshots differ) with scripted logs."""
    model = _line(0.5, 0.1)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=lr), nn.MSELoss(), metrics=(),
                      callbacks=callbacks, **kw)
    trainer.fit(_loader(X5, X5 * 2.0), epochs=epochs, val_loader=_loader(X5, X5 * 2.0) if val else None)
    return trainer


# ------------------------------------------------------------------ epoch averages
def test_epoch_loss_is_the_sample_weighted_mean_with_a_partial_last_batch():
    # w=1, b=0, targets 0: per-sample squared errors 1, 4, 9, 16, 25 (mean 11). Batches of 2
    # give batch means 2.5, 12.5, 25: their plain mean (13.33) would count the last sample twice.
    model = _line()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.0), nn.MSELoss(), metrics=())
    hist = trainer.fit(_loader(X5, Y5), epochs=2, val_loader=_loader(X5, Y5, batch_size=3))
    assert hist["loss"] == [pytest.approx(11.0)] * 2
    assert hist["val_loss"] == [pytest.approx(11.0)] * 2
    assert trainer.evaluate(_loader(X5, Y5, batch_size=4))["loss"] == pytest.approx(11.0)
    # drop_last: only the two full batches are trained on, (1 + 4 + 9 + 16) / 4.
    hist = trainer.fit(_loader(X5, Y5, drop_last=True), epochs=1)
    assert hist["loss"] == [pytest.approx(7.5)]


def test_accuracy_and_callable_metrics_count_samples_not_batches():
    # Scores x - 3 on x = 1..5 -> predictions (score > 0.5) F F F T T; targets 1 0 0 1 1:
    # correct 0 1 1 1 1 -> 4/5. Batch-of-2 accuracies 0.5, 1, 1 would average to 0.833.
    X = X5
    y = np.array([[1], [0], [0], [1], [1]], np.float32)
    model = _line(1.0, -3.0)

    def abs_err(out, t):
        return float(np.abs(out - t).mean())

    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.0), nn.MSELoss(),
                      metrics=("accuracy", abs_err))
    logs = trainer.fit(_loader(X, y), epochs=1, val_loader=_loader(X, y, batch_size=3)).history
    scores = X[:, 0] - 3.0
    assert logs["accuracy"] == [pytest.approx(0.8)] and logs["val_accuracy"] == [pytest.approx(0.8)]
    mae = np.abs(scores - y[:, 0]).mean()
    assert logs["abs_err"] == [pytest.approx(mae)] and logs["val_abs_err"] == [pytest.approx(mae)]


def test_accuracy_reads_class_index_targets_given_as_a_column():
    # Argmax predictions 0 1 2 1; labels 0 1 2 2 as an (N, 1) column: 3 of 4 right. Taken for
    # one-hot targets, the column's argmax is 0 everywhere and the accuracy came out as 1/4.
    out = nv.Tensor(np.array([[2, 0, 0], [0, 2, 0], [0, 0, 2], [0, 2, 0]], np.float32))
    labels = np.array([0, 1, 2, 2])
    trainer = Trainer(nn.Identity(), None, lambda o, t: o.mean(), metrics=("accuracy",))
    loader = [(out, labels.reshape(4, 1))]
    assert trainer.evaluate(loader)["accuracy"] == pytest.approx(0.75)
    assert trainer.evaluate([(out, np.eye(3)[labels])])["accuracy"] == pytest.approx(0.75)
    assert trainer.evaluate([(out, labels)])["accuracy"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="one-hot targets of shape"):
        trainer.evaluate([(out, np.zeros((4, 2)))])


class Recorder(nn.Module):
    """y = w x + b that records the inputs (and the mode) of every training-time call."""

    def __init__(self):
        super().__init__()
        self.lin = _line()
        self.seen, self.modes = [], []

    def forward(self, x):
        self.modes.append(self.training)
        if self.training:
            self.seen.append(x._data[:, 0].copy())
        return self.lin(x)


@pytest.mark.parametrize("drop_last", [False, True])
def test_each_epoch_sees_every_sample_once_with_shuffling(drop_last):
    X = np.arange(10, dtype=np.float32).reshape(10, 1)
    y = np.zeros((10, 1), np.float32)
    nv.manual_seed(3)
    model = Recorder()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.0), nn.MSELoss(), metrics=())
    hist = trainer.fit(_loader(X, y, batch_size=3, shuffle=True, drop_last=drop_last), epochs=3)
    per_epoch = 3 if drop_last else 4
    assert len(model.seen) == 3 * per_epoch
    orders = []
    for e in range(3):
        batches = model.seen[e * per_epoch:(e + 1) * per_epoch]
        ids = np.concatenate(batches)
        assert len(set(ids.tolist())) == len(ids)                    # no sample twice
        assert len(ids) == (9 if drop_last else 10)
        if not drop_last:
            assert sorted(ids.tolist()) == list(range(10))
        # The logged loss is over exactly the samples trained on ((x - 0)^2 at w=1, b=0).
        assert hist["loss"][e] == pytest.approx(float(np.mean(ids ** 2)))
        orders.append(ids.tolist())
    assert orders[0] != orders[1] or orders[1] != orders[2]          # a new shuffle per epoch


def test_a_second_fit_does_not_wipe_the_history_the_first_returned():
    model = _line()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.0), nn.MSELoss(), metrics=())
    first = trainer.fit(_loader(X5, Y5), epochs=2)
    second = trainer.fit(_loader(X5, Y5, drop_last=True), epochs=1)
    assert first.epoch == [0, 1] and first["loss"] == [pytest.approx(11.0)] * 2
    assert second.epoch == [0] and second["loss"] == [pytest.approx(7.5)]
    assert trainer.history is second


# ------------------------------------------------------------------ clipping
def test_gradient_norm_clipping_happens_after_the_hook_and_before_the_step():
    # One sample x = (3, 4), target 1, w = 0: the MSE gradient is 2 (0 - 1) x = (-6, -8), norm 10.
    seen = []

    class Grads(Callback):
        def on_after_backward(self, step, logs=None):
            seen.append(self.model.weight.grad._data.copy())

    model = nn.Linear(2, 1, bias=False)
    model.weight._data[...] = 0.0
    X = np.array([[3.0, 4.0]], np.float32)
    y = np.ones((1, 1), np.float32)
    Trainer(model, optim.SGD(model.parameters(), lr=1.0), nn.MSELoss(), metrics=(), callbacks=[Grads()],
            grad_clip_norm=1.0).fit(_loader(X, y), epochs=1)
    np.testing.assert_allclose(seen[0], [[-6.0, -8.0]], rtol=1e-6)      # the hook sees raw gradients
    np.testing.assert_allclose(model.weight._data, [[0.6, 0.8]], rtol=1e-6)  # the step used clipped ones


# ------------------------------------------------------------------ EarlyStopping
@pytest.mark.parametrize("monitor", ["val_accuracy", "val_acc", "accuracy"])
def test_early_stopping_auto_mode_maximizes_accuracy_like_names(monitor):
    es = EarlyStopping(monitor=monitor, patience=1)
    trainer = _fit_scripted([Script(**{monitor: [0.5, 0.7, 0.6, 0.65, 0.9, 0.95]}), es], epochs=6)
    assert es.best == 0.7 and es.best_epoch == 1
    assert trainer.history.epoch == [0, 1, 2]                         # epoch 2 is the first worse one


def test_early_stopping_auto_mode_minimizes_losses_and_min_delta_is_strict():
    es = EarlyStopping(monitor="val_loss", patience=1, min_delta=0.05)
    # 0.95 is exactly min_delta below 1.0: not an improvement (Keras: a change of less than
    # min_delta does not count, and the comparison is strict).
    trainer = _fit_scripted([Script(val_loss=[1.0, 0.95, 0.5, 0.1]), es], epochs=4)
    assert trainer.history.epoch == [0, 1] and es.best == 1.0 and es.stopped_epoch == 1
    es = EarlyStopping(monitor="val_loss", patience=2, min_delta=0.05)
    trainer = _fit_scripted([Script(val_loss=[1.0, 0.94, 0.9, 0.85, 0.85]), es], epochs=5)
    # 0.94 improves; 0.90 is 0.04 better (no); 0.85 is 0.09 better than 0.94 (yes); 0.85 again (no).
    assert es.best_epoch == 3 and trainer.history.epoch == [0, 1, 2, 3, 4]
    es = EarlyStopping(monitor="val_loss", patience=2, mode="max")
    trainer = _fit_scripted([Script(val_loss=[1.0, 0.9, 0.8, 0.7]), es], epochs=4)
    assert trainer.history.epoch == [0, 1, 2] and es.best_epoch == 0


def test_early_stopping_nan_is_never_an_improvement():
    es = EarlyStopping(monitor="score", patience=1)
    trainer = _fit_scripted([Script(score=[2.0, float("nan"), 1.0]), es], epochs=3)
    assert trainer.history.epoch == [0, 1] and es.best == 2.0


def test_restore_best_weights_also_when_the_run_ends_without_stopping():
    script = Script(val_loss=[3.0, 1.0, 2.0, 2.5])
    es = EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)
    trainer = _fit_scripted([script, es], epochs=4)
    assert es.stopped_epoch is None and trainer.history.epoch == [0, 1, 2, 3]
    assert len(trainer.history["loss"]) == 4
    for k, v in _weights(trainer.model).items():
        assert v.tobytes() == script.snapshots[1][k].tobytes()
        assert v.tobytes() != script.snapshots[3][k].tobytes()


def test_early_stopping_baseline_as_keras():
    # Never beating the baseline 1.0: every epoch counts against the patience (2), so the run
    # stops after two epochs and restores the better of the two (Keras's documented rule).
    script = Script(val_loss=[3.0, 2.0, 1.5, 0.5, 0.6])
    es = EarlyStopping(patience=2, baseline=1.0, restore_best_weights=True)
    trainer = _fit_scripted([script, es], epochs=5)
    assert trainer.history.epoch == [0, 1] and es.best_epoch == 1 and es.best == 2.0
    assert all(v.tobytes() == script.snapshots[1][k].tobytes() for k, v in _weights(trainer.model).items())
    # Beating it at epoch 1 resets the count: stop two epochs later.
    es = EarlyStopping(patience=2, baseline=1.0)
    trainer = _fit_scripted([Script(val_loss=[3.0, 0.9, 0.95, 0.97, 0.5]), es], epochs=5)
    assert trainer.history.epoch == [0, 1, 2, 3] and es.best_epoch == 1
    # patience 0: never at the first epoch, then at the first epoch that misses the baseline.
    es = EarlyStopping(patience=0, baseline=1.0, mode="min")
    trainer = _fit_scripted([Script(val_loss=[3.0, 2.0, 0.5]), es], epochs=3)
    assert trainer.history.epoch == [0, 1]
    # max mode: the baseline is a floor to rise above.
    es = EarlyStopping(monitor="val_accuracy", patience=1, baseline=0.8)
    trainer = _fit_scripted([Script(val_accuracy=[0.5, 0.85, 0.84, 0.9]), es], epochs=4)
    assert trainer.history.epoch == [0, 1, 2] and es.best == 0.85


def test_early_stopping_start_from_epoch_ignores_the_warm_up():
    values = [1.0, 5.0, 4.0, 4.5, 3.0]
    es = EarlyStopping(monitor="score", patience=0, start_from_epoch=2)
    trainer = _fit_scripted([Script(score=values), es], epochs=5)
    assert trainer.history.epoch == [0, 1, 2, 3] and es.best_epoch == 2 and es.best == 4.0
    es = EarlyStopping(monitor="score", patience=0)
    assert _fit_scripted([Script(score=values), es], epochs=5).history.epoch == [0, 1]
    with pytest.raises(ValueError, match="start_from_epoch"):
        EarlyStopping(start_from_epoch=-1)


# ------------------------------------------------------------------ ModelCheckpoint
def test_model_checkpoint_best_and_last_hold_that_epochs_weights(tmp_path):
    script = Script(val_loss=[3.0, 1.0, 2.0, 0.5, 0.7])
    ck = ModelCheckpoint(tmp_path, monitor="val_loss")
    trainer = _fit_scripted([script, ck], epochs=5)
    assert ck.best_epoch == 3
    for sub, epoch in (("best", 3), ("last", 4)):
        fresh = _line(0.0, 0.0)
        info = load_checkpoint(tmp_path / sub, fresh)
        assert info["epoch"] == epoch + 1
        for k, v in _weights(fresh).items():
            assert v.tobytes() == script.snapshots[epoch][k].tobytes()
    assert trainer.epoch == 5


# ------------------------------------------------------------------ schedulers
def test_epoch_scheduler_steps_after_the_epoch_and_lr_logs_the_rate_used():
    # loss = mean(w x) with x = 1 in one batch: dL/dw = 1, so each epoch moves w by its lr.
    model = _line(0.0, bias=False)
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    trainer = Trainer(model, opt, lambda out, y: out.mean(), metrics=(), scheduler=sched)
    hist = trainer.fit(_loader(np.ones((2, 1), np.float32), np.zeros(2, np.float32)), epochs=3)
    assert hist["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert float(model.weight._data[0, 0]) == pytest.approx(-(0.1 + 0.05 + 0.025))


def test_plateau_scheduler_reacts_to_the_same_epochs_validation_loss():
    model = _line(0.5, 0.1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    # Scripted val_loss: the first epoch that does not improve is epoch 2, so the lr halves
    # for epoch 3 (and not for epoch 2, nor only for epoch 4).
    trainer = Trainer(model, opt, nn.MSELoss(), metrics=(), scheduler=sched,
                      callbacks=[Script(val_loss=[3.0, 2.0, 2.5, 1.0, 0.5])])
    hist = trainer.fit(_loader(X5, Y5), epochs=5, val_loader=_loader(X5, Y5))
    assert hist["lr"] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05])


# ------------------------------------------------------------------ non-finite losses
def test_a_non_finite_loss_stops_before_the_step_so_the_weights_stay_finite():
    X = np.array([[1.0], [np.nan], [2.0]], np.float32)
    y = np.zeros((3, 1), np.float32)
    ends = []

    class End(Callback):
        def on_train_end(self, logs=None):
            ends.append(_weights(self.model))

    model = _line(1.0, 0.0)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(), metrics=(),
                      callbacks=[End(), NonFiniteGuard()])
    with pytest.raises(FloatingPointError, match="epoch 1, step 2"):
        trainer.fit(_loader(X, y, batch_size=1), epochs=2)
    # Only the first batch was applied: w = 1 - 0.1 * 2 * 1 * 1, b = 0 - 0.1 * 2 * 1.
    np.testing.assert_allclose(model.weight._data, [[0.8]], rtol=1e-6)
    np.testing.assert_allclose(model.bias._data, [-0.2], rtol=1e-6)
    assert len(ends) == 1 and np.isfinite(ends[0]["weight"]).all()   # on_train_end still ran
    assert trainer.global_step == 1


def test_callbacks_run_in_order_and_on_train_end_follows_an_exception():
    calls = []

    class Tag(Callback):
        def __init__(self, name, order):
            self.name, self.order = name, order

        def on_epoch_end(self, epoch, logs=None):
            calls.append((self.name, epoch))
            if self.name == "boom" and epoch == 1:
                raise RuntimeError("boom")

        def on_train_end(self, logs=None):
            calls.append((self.name, "end"))

    cbs = [Tag("late", 10), Tag("boom", 0), Tag("early", -10)]
    with pytest.raises(RuntimeError, match="boom"):
        _fit_scripted(cbs, epochs=4)
    assert calls == [("early", 0), ("boom", 0), ("late", 0), ("early", 1), ("boom", 1),
                     ("early", "end"), ("boom", "end"), ("late", "end")]


# ------------------------------------------------------------------ modes
def _bn_drop_model():
    nv.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(4, 2))


def test_evaluate_and_predict_run_in_eval_mode_and_restore_the_mode():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 3)).astype(np.float32)
    y = rng.integers(0, 2, 7)
    model = _bn_drop_model()
    bn = model[1]
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss())
    stats = (bn.running_mean._data.copy(), bn.running_var._data.copy())
    for mode in (True, False):
        model.train(mode)
        a = trainer.evaluate(_loader(X, y, batch_size=3))
        b = trainer.evaluate(_loader(X, y, batch_size=3))
        assert a == b                                            # dropout off: deterministic
        p = trainer.predict(X, batch_size=3)
        assert model.training is mode and bn.training is mode and model[2].training is mode
        np.testing.assert_array_equal(bn.running_mean._data, stats[0])   # stats untouched
        np.testing.assert_array_equal(bn.running_var._data, stats[1])
    model.eval()
    with nv.no_grad():
        ref = model(nv.Tensor(X))._data
    np.testing.assert_allclose(p, ref, rtol=1e-6)
    np.testing.assert_allclose(trainer.predict(X, batch_size=256), ref, rtol=1e-6)


def test_training_after_validation_is_back_in_train_mode():
    X = X5
    model = Recorder()
    Trainer(model, optim.SGD(model.parameters(), lr=0.0), nn.MSELoss(), metrics=()).fit(
        _loader(X, Y5, batch_size=5), epochs=3, val_loader=_loader(X, Y5, batch_size=5))
    assert model.modes == [True, False] * 3 and model.training


@pytest.mark.parametrize("n,batch", [(7, 3), (1, 4), (8, 8)])
def test_predict_returns_exactly_n_rows_in_order(n, batch):
    X = np.arange(n, dtype=np.float32).reshape(n, 1)
    model = _line(2.0, 1.0)
    trainer = Trainer(model, None, nn.MSELoss(), metrics=())
    want = 2.0 * X + 1.0
    np.testing.assert_allclose(trainer.predict(X, batch_size=batch), want)
    np.testing.assert_allclose(trainer.predict(nv.Tensor(X), batch_size=batch), want)
    np.testing.assert_allclose(trainer.predict(_loader(X, X, batch_size=batch)), want)
    np.testing.assert_allclose(trainer.predict(DataLoader(TensorDataset(X), batch_size=batch)), want)


# ------------------------------------------------------------------ Keras facade
def test_keras_validation_split_holds_out_the_last_fraction_before_shuffling():
    from nerve import keras
    from nerve.keras import layers

    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    y = np.zeros(10, np.float32)
    model = keras.Sequential([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    w = float(model.get_weights()[0][0, 0])
    b = float(model.get_weights()[1][0])
    for split, cut in ((0.3, 7), (0.25, 7), (0.5, 5)):      # Keras: floor(n * (1 - split)) train rows
        hist = model.fit(x, y, epochs=2, batch_size=3, validation_split=split, verbose=0)
        assert sorted(hist.history) == ["loss", "val_loss"]
        assert hist.epoch == [0, 1]
        pred = w * x[:, 0] + b
        assert hist.history["loss"] == [pytest.approx(float(np.mean(pred[:cut] ** 2)), rel=1e-5)] * 2
        assert hist.history["val_loss"] == [pytest.approx(float(np.mean(pred[cut:] ** 2)), rel=1e-5)] * 2
    hist = model.fit(x[:6], y[:6], epochs=1, batch_size=4, validation_data=(x[6:], y[6:]), verbose=0)
    assert hist.history["val_loss"] == [pytest.approx(float(np.mean((w * x[6:, 0] + b) ** 2)), rel=1e-5)]
    # validation_data overrides validation_split (Keras): training keeps all ten samples.
    hist = model.fit(x, y, epochs=1, batch_size=4, validation_split=0.5, validation_data=(x[6:], y[6:]),
                     verbose=0)
    assert hist.history["loss"] == [pytest.approx(float(np.mean((w * x[:, 0] + b) ** 2)), rel=1e-5)]
    assert hist.history["val_loss"] == [pytest.approx(float(np.mean((w * x[6:, 0] + b) ** 2)), rel=1e-5)]


@pytest.mark.parametrize("activation,loss", [("sigmoid", "binary_crossentropy"), ("sigmoid", "mse"),
                                             (None, "binary_crossentropy")])
def test_keras_binary_accuracy_cuts_probabilities_at_one_half(activation, loss):
    from nerve import keras
    from nerve.keras import layers

    x = np.linspace(-2, 2, 9, dtype=np.float32).reshape(9, 1)
    y = np.array([0, 0, 1, 0, 1, 1, 0, 1, 1], np.float32)
    model = keras.Sequential([layers.Dense(1, activation=activation, input_shape=(1,))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss=loss, metrics=["accuracy"])
    if activation is None:   # probabilities straight from a linear layer: keep them inside (0, 1)
        model.module.body[0].weight._data[...] = 0.2
        model.module.body[0].bias._data[...] = 0.5
    p = model.predict(x, batch_size=4, verbose=0)[:, 0]
    want = float(np.mean((p > 0.5) == (y > 0.5)))
    hist = model.fit(x, y, epochs=1, batch_size=4, validation_data=(x, y), verbose=0)
    assert sorted(hist.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert hist.history["accuracy"] == [pytest.approx(want)]
    assert hist.history["val_accuracy"] == [pytest.approx(want)]
    assert model.evaluate(x, y, batch_size=4, verbose=0)[1] == pytest.approx(want)


def test_keras_categorical_accuracy_takes_the_argmax_with_one_hot_or_sparse_targets():
    from nerve import keras
    from nerve.keras import layers

    rng = np.random.default_rng(0)
    x = rng.normal(size=(11, 3)).astype(np.float32)
    y = rng.integers(0, 3, 11)
    nv.manual_seed(0)
    model = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(3,))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    p = model.predict(x, verbose=0)
    want = float(np.mean(p.argmax(1) == y))
    assert model.evaluate(x, y, batch_size=4, verbose=0)[1] == pytest.approx(want)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, np.eye(3, dtype=np.float32)[y], epochs=1, batch_size=4, verbose=0)
    assert hist.history["accuracy"] == [pytest.approx(want)]


def test_keras_initial_epoch_batch_size_none_and_weighted_validation_data():
    from nerve import keras
    from nerve.keras import layers

    x = np.arange(40, dtype=np.float32).reshape(40, 1) / 40
    y = np.zeros(40, np.float32)
    seen = []

    class Epochs(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(epoch)

        def on_batch_end(self, step, logs=None):
            seen.append(("batch", logs["size"]))

    model = keras.Sequential([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    hist = model.fit(x, y, epochs=5, initial_epoch=3, batch_size=None, callbacks=[Epochs()], verbose=0)
    # Keras: epochs 3 and 4 run; batch_size None is 32, so 32 + 8 samples per epoch.
    assert hist.epoch == [3, 4] and len(hist.history["loss"]) == 2
    assert seen == [3, ("batch", 32), ("batch", 8), 4, ("batch", 32), ("batch", 8)]
    assert model.predict(x, batch_size=None, verbose=0).shape == (40, 1)
    assert np.isfinite(model.evaluate(x, y, batch_size=None, verbose=0))
    with pytest.raises(ValueError, match="sample weights are not supported"):
        model.fit(x, y, validation_data=(x, y, np.ones(40)), verbose=0)
    with pytest.raises(ValueError, match="initial_epoch"):
        model.fit(x, y, epochs=2, initial_epoch=2, verbose=0)
