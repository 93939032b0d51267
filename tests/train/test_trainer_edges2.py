"""Second pass over the training loop's edge cases: values checked against hand computations.

Each test builds a tiny problem (a one-weight model, a few samples, lr=0 where the weights
must stay put) so that the expected numbers can be worked out on paper.
"""
import numpy as np
import pytest

from nerve import nn, optim
from nerve.data import DataLoader, TensorDataset
from nerve.train import Callback, EarlyStopping, ModelCheckpoint, Trainer, load_checkpoint

from test_trainer_edges import Script


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


def test_gradient_clipping_covers_layers_a_callback_unfreezes_during_the_run():
    # Gradual fine-tuning: the first layer is frozen in epoch 0 and unfrozen at the start of
    # epoch 1. With SGD(lr=1) each update equals the clipped gradient, so its norm must stay
    # at grad_clip_norm in both epochs (the unfrozen layer's gradient used to go unclipped:
    # an update of norm ~70 instead of 0.01).
    model = nn.Sequential(nn.Linear(1, 1), nn.Linear(1, 1))
    for p in model.parameters():
        p._data[...] = 1.0
    model[0].requires_grad_(False)

    class Unfreeze(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                model[0].requires_grad_(True)

    class UpdateNorms(Callback):
        def __init__(self):
            self.norms = []

        def on_batch_begin(self, step, logs=None):
            self.before = [p._data.copy() for p in model.parameters()]

        def on_batch_end(self, step, logs=None):
            self.norms.append(float(np.sqrt(sum(((p._data - b) ** 2).sum()
                                                for p, b in zip(model.parameters(), self.before)))))

    X = np.full((4, 1), 5.0, np.float32)
    rec = UpdateNorms()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=1.0), nn.MSELoss(), metrics=(),
                      callbacks=[Unfreeze(), rec], grad_clip_norm=0.01)
    trainer.fit(DataLoader(TensorDataset(X, np.zeros_like(X)), batch_size=4), epochs=2)
    assert len(rec.norms) == 2
    np.testing.assert_allclose(rec.norms, [0.01, 0.01], rtol=1e-4)


def _changing_run(callbacks, epochs):
    X = np.arange(1, 6, dtype=np.float32).reshape(5, 1)
    model = nn.Linear(1, 1)
    model.weight._data[...] = 0.5
    model.bias._data[...] = 0.1
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.01), nn.MSELoss(), metrics=(),
                      callbacks=callbacks)
    trainer.fit(DataLoader(TensorDataset(X, 2 * X), batch_size=2), epochs=epochs)
    return model


@pytest.mark.parametrize("name", ["val_r2_score", "val_mean_iou", "val_bleu", "val_specificity",
                                  "val_true_positive_rate"])
def test_auto_mode_maximizes_nerve_metric_scores_and_restores_the_highest_epoch(name):
    # Scores of nerve.metrics (R², IoU, BLEU, ...) are better when higher. Auto mode took
    # them for losses: EarlyStopping kept the *lowest* epoch (here epoch 0, 0.1) and stopped
    # at once; it must keep epoch 1 (0.9) and stop two epochs after it.
    script = Script(**{name: [0.1, 0.9, 0.5, 0.4, 0.95]})
    es = EarlyStopping(name, patience=2, restore_best_weights=True)
    model = _changing_run([script, es], epochs=5)
    assert es._mon.mode == "max"
    assert es.best_epoch == 1 and es.stopped_epoch == 3
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v._data, script.snapshots[1][k])


@pytest.mark.parametrize("name", ["val_false_positive_rate", "val_log_loss",
                                  "val_expected_calibration_error", "val_perplexity"])
def test_auto_mode_still_minimizes_error_like_names(name):
    assert EarlyStopping(name)._mon.mode == "min"
    assert ModelCheckpoint("unused", monitor=name)._mon.mode == "min"


def test_model_checkpoint_auto_mode_keeps_the_highest_r2_epoch(tmp_path):
    script = Script(val_r2_score=[0.2, 0.8, 0.3])
    ckpt = ModelCheckpoint(tmp_path, monitor="val_r2_score")
    model = _changing_run([script, ckpt], epochs=3)
    assert ckpt.best_epoch == 1
    fresh = nn.Linear(1, 1)
    load_checkpoint(tmp_path / "best", fresh)
    for k, v in fresh.state_dict().items():
        np.testing.assert_array_equal(v._data, script.snapshots[1][k])
    assert model is not fresh


@pytest.mark.parametrize("target_shape", [(4,), (4, 1, 1)])
def test_accuracy_refuses_targets_that_only_broadcast_against_the_predictions(target_shape):
    # Per-step predictions (4, 4) against one label per sequence (4,) were compared pairwise
    # by broadcasting (prediction [i, j] with label j), and (4, 1, 1) targets against (4,)
    # predictions counted 16 "hits" for 4 samples: an accuracy of 4.0.
    model = nn.Linear(3, 3)
    X = np.zeros((4, 4, 3), np.float32) if target_shape == (4,) else np.zeros((4, 3), np.float32)
    y = np.zeros(target_shape, np.int64)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.0), lambda out, t: out.mean())
    with pytest.raises(ValueError, match=r"targets have shape \(4,"):
        trainer.evaluate([(X, y)])


def test_accuracy_on_sequences_counts_every_step():
    # (N, T, C) outputs with (N, T) targets: one prediction per step, all counted.
    model = nn.Linear(2, 2, bias=False)
    model.weight._data[...] = np.eye(2, dtype=np.float32)
    X = np.zeros((2, 3, 2), np.float32)
    X[..., 1] = 1.0                       # every step predicts class 1
    y = np.array([[1, 1, 0], [1, 0, 0]])  # 3 of 6 steps are class 1
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.0), lambda out, t: out.mean())
    assert trainer.evaluate([(X, y)])["accuracy"] == 0.5


def test_a_validation_loader_emptied_by_drop_last_names_the_cause():
    # 3 validation samples, batch_size 4, drop_last: no batch at all. The error used to ask
    # only whether the dataset was empty, which it is not.
    X = np.ones((8, 1), np.float32)
    model = nn.Linear(1, 1)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(), metrics=())
    val = DataLoader(TensorDataset(X[:3], X[:3]), batch_size=4, drop_last=True)
    with pytest.raises(ValueError, match="drop_last"):
        trainer.fit(DataLoader(TensorDataset(X, X), batch_size=4), epochs=1, val_loader=val)
    with pytest.raises(ValueError, match="drop_last"):
        trainer.fit(DataLoader(TensorDataset(X[:3], X[:3]), batch_size=4, drop_last=True), epochs=1)


def test_drop_last_epoch_loss_is_the_mean_over_the_samples_it_kept():
    # 5 samples, batch_size 2, drop_last: the epoch sees samples 1..4 only. y = x with target
    # 0 and lr=0: the loss is mean(x**2) over those four, (1 + 4 + 9 + 16) / 4 = 7.5.
    X = np.arange(1, 6, dtype=np.float32).reshape(5, 1)
    model = nn.Linear(1, 1, bias=False)
    model.weight._data[...] = 1.0
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.0), nn.MSELoss(), metrics=())
    history = trainer.fit(DataLoader(TensorDataset(X, np.zeros_like(X)), batch_size=2, drop_last=True),
                          epochs=1)
    assert history["loss"] == [7.5] and history.steps == [2]


def test_evaluate_drops_a_padded_shard_tail_along_the_batch_axis_of_time_first_batches():
    # A DistributedSampler's padding (num_real_samples < len) is cut off the last batch. For
    # time-first (T, N, 1) batches the cut must take sequences off axis 1, not steps off axis 0.
    class Loader(list):
        class sampler:  # noqa: N801  (what evaluate reads from a DistributedSampler)
            num_real_samples = 3

            def __len__(self):
                return 4

        sampler = sampler()

    T = 4
    x = np.concatenate([np.ones((T, 3, 1)), np.full((T, 1, 1), 3.0)], axis=1).astype(np.float32)
    model = _TimeFirst()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.0), _mse, tbptt=2, tbptt_dim=0)
    logs = trainer.evaluate(Loader([(x, np.zeros_like(x))]))
    assert logs["loss"] == 1.0      # the three real sequences of ones; the padded one left out
