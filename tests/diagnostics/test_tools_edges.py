"""Edge cases of the tuning tools, the plots, the training doctor and the Keras facade:
silent wrong answers, crashes on ordinary input, state a probe must not leave behind, and
errors that must name the bad value."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim, tune
from nerve import random as nrandom


class _Quadratic(nn.Module):
    """½(x² + 100y²) from (1, 1): gradient descent is stable for lr < 2/L = 0.02."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(nv.tensor([1.0, 1.0], dtype=nv.float64))

    def loss(self):
        return 0.5 * (self.w[0] ** 2 + 100 * self.w[1] ** 2)


# ------------------------------------------------------------------------------ lr_range_test
def test_lr_range_test_handles_a_loss_below_zero():
    # a negative loss (an NLL with a density above 1, say) made "s > 4 × best" true at step 0
    model = _Quadratic()
    opt = optim.SGD(model.parameters(), lr=1e-3)
    r = tune.lr_range_test(model, opt, lambda m: m.loss() - 1000.0, None, start_lr=1e-4, end_lr=1.0,
                           num_steps=200)
    assert len(r.lrs) > 50
    assert r.diverged_lr is not None and r.diverged_lr > 0.02     # not before the stability bound
    assert 1e-4 < r.suggested_lr < 0.02


def test_lr_range_test_puts_the_global_generator_back():
    net = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    opt = optim.SGD(net.parameters(), lr=0.1)
    x = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    nv.manual_seed(5)
    before = nrandom.get_rng_state()
    tune.lr_range_test(net, opt, nn.MSELoss(), [(x, 2 * x[:, :1])], num_steps=5)
    assert nrandom.get_rng_state() == before      # the dropout draws of the probe are undone


# ------------------------------------------------------------------------------ probes
def test_linear_probe_does_not_reseed_the_global_generator():
    x = np.random.default_rng(1).normal(size=(20, 3))
    y = (x[:, 0] > 0).astype(np.int64)
    nv.manual_seed(9)
    nv.randn(3)
    before = nrandom.get_rng_state()
    tune.linear_probe(x, y, x, y, epochs=3, seed=0)
    assert nrandom.get_rng_state() == before
    # and the probe itself still depends only on its own seed
    assert tune.linear_probe(x, y, x, y, epochs=3, seed=0) == tune.linear_probe(x, y, x, y, epochs=3, seed=0)


# ------------------------------------------------------------------------------ searches
def test_a_search_where_every_trial_diverged_still_prints_its_table(capsys):
    r = tune.grid_search(lambda c: {"val_loss": float("nan")}, {"lr": [0.1, 1.0]}, verbose=True)
    out = capsys.readouterr().out
    assert "no trial reported a finite 'val_loss'" in out and "0.1" in out
    assert "none finite" in repr(r) and len(r.to_csv().splitlines()) == 3
    with pytest.raises(ValueError, match="no trial reported a finite"):
        r.best


def test_run_trials_with_no_configurations_says_so():
    with pytest.raises(ValueError, match="no configurations"):
        tune.run_trials(lambda c: {"val_loss": 1.0}, [])


def test_nas_search_space_with_a_repeated_value_mutates():
    space = tune.SearchSpace(depth=(1,), width=(8, 8), activation=("relu",), dropout=(0.0,))
    assert len(space) == 1
    r = tune.evolution(space, lambda a: float(a["width"]), 6, population_size=2, sample_size=1)
    assert [h["arch"]["width"] for h in r.history] == [8] * 6


def test_nas_result_repr_when_every_score_is_nan():
    r = tune.random_architecture_search(tune.SearchSpace(), lambda a: float("nan"), 2)
    assert "no finite score" in repr(r)


def test_fit_regression_feeds_a_float32_model_float32_data():
    nv.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1))   # float32, the default
    x, y = tune.make_sine_data(16)                                      # float64 arrays
    h = tune.fit_regression(model, x, y, x, y, epochs=3)
    assert len(h["train_loss"]) == 3 and np.isfinite(h["val_loss"]).all()
    # without validation data there is no best epoch to report
    assert tune.fit_regression(model, x, y, epochs=2)["best_epoch"] is None


# ------------------------------------------------------------------------------ the doctor
def test_activation_stats_reads_a_nested_list_as_one_batch():
    # each row used to be taken for an (inputs, targets) pair, and only its first number kept
    from nerve.diagnostics import activation_stats

    s = activation_stats(nn.ReLU(), [[1.0, -1.0], [2.0, -3.0]])[""]
    assert (s.units, s.samples) == (2, 2)
    assert s.mean == pytest.approx(0.75) and s.sparsity == 0.5 and s.dead_units.tolist() == [1]
    # a list of (inputs, targets) batches is still a list of batches
    pairs = [(np.ones((2, 3)), np.zeros(2)), (-np.ones((2, 3)), np.ones(2))]
    assert activation_stats(nn.ReLU(), pairs)[""].samples == 4


@pytest.mark.parametrize("layers, why", [
    (lambda: [nn.Linear(2, 3), nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2)], "mix activations"),
    (lambda: [nn.Linear(2, 3), nn.Linear(3, 3), nn.ReLU()], "after its output layer"),
])
def test_mlp_layers_refuses_a_network_one_activation_name_cannot_describe(layers, why):
    # the playground's in-browser forward applies the one name after every hidden Linear
    from nerve.diagnostics import mlp_layers

    with pytest.raises(ValueError, match=why):
        mlp_layers(nn.Sequential(*layers()))
    linears, act = mlp_layers(nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 3), nn.Linear(3, 2)))
    assert (len(linears), act) == (3, "identity")


def test_backprop_steps_from_model_refuses_what_it_cannot_write_out():
    from nerve.diagnostics import backprop_steps_from_model

    x = [0.5, -1.0]
    with pytest.raises(ValueError, match="two activations"):
        backprop_steps_from_model(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Sigmoid(), nn.Linear(2, 2)),
                                  x, [0.0, 1.0])
    with pytest.raises(ValueError, match="at least one Linear"):
        backprop_steps_from_model(nn.Sequential(), x, [0.0])

    class Swapped(nn.Module):   # registered fc1, fc2, act; runs fc2(act(fc1(x)))
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.act = nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU()

        def forward(self, v):
            return self.fc2(self.act(self.fc1(v)))

    with pytest.raises(ValueError, match="reads an nn.Sequential, got Swapped"):
        backprop_steps_from_model(Swapped(), x, [0.0, 1.0])
    with pytest.raises(ValueError, match="raw logits"):
        backprop_steps_from_model(nn.Sequential(nn.Linear(2, 2), nn.Sigmoid()), x, 1, loss="cross_entropy")
    # the step-through agrees with the model where it accepts it
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).double()
    s = backprop_steps_from_model(net, x, 1, loss="cross_entropy")
    logits = net(nv.tensor([x], dtype=nv.float64)).numpy()[0]
    assert s["forward"][-1]["z"] == pytest.approx(logits.tolist())


# ------------------------------------------------------------------------------ plots
def test_feature_maps_and_layer_trace_run_a_float64_model_on_an_array():
    from nerve import viz

    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()).double()
    x = np.random.default_rng(0).normal(size=(1, 1, 5, 5))
    fm = viz.feature_maps(net, x, "1")
    expected = net(nv.tensor(x, dtype=nv.float64)).numpy()[0]
    np.testing.assert_allclose(fm, expected)          # the maps are the model's own, in float64
    assert [shape for _, _, shape in viz.layer_trace(net, x)] == [(1, 2, 3, 3)] * 2


def test_save_predictions_wants_one_label_per_image(tmp_path):
    from nerve import viz

    prob = np.full((4, 2), 0.5)
    with pytest.raises(ValueError, match="2 labels for 4 images"):
        viz.save_predictions(np.zeros((4, 5, 5)), [0, 1], prob, ["a", "b"], tmp_path / "p.png")
    with pytest.raises(ValueError, match="3 class names for 2 columns"):
        viz.save_predictions(np.zeros((4, 5, 5)), None, prob, ["a", "b", "c"], tmp_path / "p.png")
    assert not (tmp_path / "p.png").exists()


def test_plot_attention_refuses_negative_scores(tmp_path):
    from nerve import viz

    with pytest.raises(ValueError, match="minimum of -2.*softmax"):
        viz.plot_attention(np.array([[0.5, -2.0], [1.0, 0.0]]), tmp_path / "a.png")


def test_plot_probes_names_an_empty_dict_and_percentages(tmp_path):
    from nerve import viz

    with pytest.raises(ValueError, match="no accuracies"):
        viz.plot_probes({}, tmp_path / "p.png")
    with pytest.raises(ValueError, match=r"fractions in \[0, 1\].*'fc': 95.0"):
        viz.plot_probes({"input": 0.5, "fc": 95.0}, tmp_path / "p.png")


def test_plot_search_groups_list_valued_hyperparameters(tmp_path):
    pytest.importorskip("matplotlib")
    from nerve import viz

    r = tune.grid_search(lambda c: {"val_loss": c["lr"] * len(c["hidden"])},
                         {"lr": [0.1, 0.01], "hidden": [[4], [8, 8]]})
    assert viz.plot_search(r, tmp_path / "s.png", x="lr").stat().st_size > 0


def test_activation_and_derivative_under_no_grad():
    from nerve import functional as F
    from nerve.viz import activation_and_derivative

    with nv.no_grad():
        y, dy = activation_and_derivative(F.relu, np.array([-1.0, 2.0]))
    assert y.tolist() == [0.0, 2.0] and dy.tolist() == [0.0, 1.0]
    assert nv.is_grad_enabled()


def test_latent_scatter_names_missing_class_names(tmp_path):
    from nerve import viz

    with pytest.raises(ValueError, match="labels from 0 to 5 but 2 class_names"):
        viz.latent_scatter(np.zeros((3, 2)), np.array([0, 1, 5]), tmp_path / "l.png", class_names=["a", "b"])


def test_learning_curves_mark_the_lowest_mae_as_the_best_epoch(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from nerve.viz import plots

    figures = []
    monkeypatch.setattr(plots, "save_png", lambda fig, path: figures.append(fig) or path)
    plots.plot_learning_curves({"mae": [0.9, 0.5, 0.3], "val_mae": [0.8, 0.2, 0.6],
                                "accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.4, 0.9, 0.6]},
                               tmp_path / "c.png")
    notes = {ax.get_title(): [t.get_text() for t in ax.texts] for ax in figures[0].axes}
    assert notes["mae"] == ["best 0.2"] and notes["accuracy"] == ["best 0.9"]


def test_layer_probes_cast_the_data_and_keep_each_sub_module_mode():
    # float64 arrays into a float32 network crashed; and a BatchNorm frozen in eval() inside a
    # training network came back in training mode (only the root's flag was restored)
    nv.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
    net.train()
    net[1].eval()
    x = np.random.default_rng(0).normal(size=(20, 3))
    y = (x[:, 0] > 0).astype(np.int64)
    acc = tune.layer_probes(net, ["2"], x, y, x, y, epochs=3)
    assert set(acc) == {"input", "2"} and 0.0 <= acc["2"] <= 1.0
    assert net.training and net[0].training and not net[1].training


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_steps=2), "at least 3, got 2"),
    (dict(end_lr=float("inf")), "end_lr < inf"),
])
def test_lr_range_test_argument_errors_name_the_value(kwargs, match):
    m = nn.Linear(1, 1)
    with pytest.raises(ValueError, match=match):
        tune.lr_range_test(m, optim.SGD(m.parameters(), lr=0.1), nn.MSELoss(),
                           [(np.ones((2, 1), np.float32), np.ones((2, 1), np.float32))], **kwargs)


def test_lr_range_test_takes_a_numpy_integer_step_count():
    m = nn.Linear(1, 1)
    r = tune.lr_range_test(m, optim.SGD(m.parameters(), lr=0.1), nn.MSELoss(),
                           [(np.ones((2, 1), np.float32), np.ones((2, 1), np.float32))], num_steps=np.int64(4))
    assert len(r.lrs) <= 4


def test_random_search_draws_from_a_range():
    r = tune.random_search(lambda c: {"val_loss": float(c["h"])}, {"h": range(16, 65, 16)}, 6, seed=0)
    assert set(r.column("h")) <= {16, 32, 48, 64}


def test_fit_regression_names_zero_epochs():
    x, y = tune.make_sine_data(8)
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 0"):
        tune.capacity_sweep([2], x, y, x, y, epochs=0)


def test_doctor_checkup_keeps_the_gradients_being_accumulated_and_works_under_no_grad():
    from nerve.train import TrainingDoctor

    nv.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.2), nn.Linear(4, 2))
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    net(nv.tensor(x)).sum().backward()               # a gradient mid-accumulation
    kept = [p.grad.numpy().copy() for p in net.parameters()]
    rng = nrandom.get_rng_state()
    doctor = TrainingDoctor()
    with nv.no_grad():
        assert doctor.checkup(net, x, np.zeros((8, 2), np.float32), nn.MSELoss()) == []
        assert not nv.is_grad_enabled()
    for p, g in zip(net.parameters(), kept):
        np.testing.assert_array_equal(p.grad.numpy(), g)
    assert nrandom.get_rng_state() == rng             # the dropout masks it drew are undone


# ------------------------------------------------------------------------------ keras facade
def test_keras_crossentropy_targets_of_the_other_kind_are_named():
    from nerve import keras
    from nerve.keras import layers

    x = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    labels = np.arange(10)
    model = keras.Sequential([layers.Dense(10, activation="softmax", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    # with N == C the labels broadcast against the outputs and trained on nonsense
    with pytest.raises(ValueError, match=r"one-hot targets of shape \(N,\) \+ \(10,\), got y of shape \(10,\)"):
        model.fit(x, labels, epochs=1, batch_size=10, verbose=0)
    model.fit(x, np.eye(10)[labels], epochs=1, batch_size=10, verbose=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"one class index per sample, got y of shape \(10, 10\)"):
        model.fit(x, np.eye(10)[labels], epochs=1, verbose=0)


def test_a_metric_named_like_a_hyperparameter_is_refused():
    # the returned value overwrote the configured one in the row, so best_params was not a config
    with pytest.raises(ValueError, match=r"metrics named \['lr'\].*final_lr"):
        tune.grid_search(lambda c: {"val_loss": c["lr"], "lr": c["lr"] / 100}, {"lr": [0.1, 0.01]})
    with pytest.raises(ValueError, match="'trial' names the trial-number column"):
        tune.grid_search(lambda c: {"val_loss": 1.0}, {"trial": [1, 2]})


def test_plot_search_draws_a_sweep_where_every_trial_diverged(tmp_path):
    pytest.importorskip("matplotlib")
    from nerve import viz

    r = tune.grid_search(lambda c: {"val_loss": float("nan")}, {"lr": [0.1, 1.0]})
    assert viz.plot_search(r, tmp_path / "a.png").exists()
    assert viz.plot_search(r, tmp_path / "b.png", x="lr").exists()


def test_dead_units_of_a_linear_on_sequences_are_its_features_not_its_time_steps():
    from nerve.diagnostics import activation_stats

    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    net[0].weight.data[1] = 0.0
    net[0].bias.data[1] = -5.0                       # feature 1 is dead at every position
    x = np.random.default_rng(0).normal(size=(8, 6, 4)).astype(np.float32)   # (N, T, F)
    s = activation_stats(net, x)["1"]
    assert s.units == 3 and s.dead_units.tolist() == [1]
    # after a conv the units stay the channels (dimension 1)
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
    assert activation_stats(conv, np.ones((2, 1, 6, 6), np.float32))["1"].units == 2


class _TinyAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc, self.dec = nn.Linear(4, 2), nn.Linear(2, 4)

    def decode(self, z):
        return self.dec(z).sigmoid()

    def reconstruct(self, x):
        return self.decode(self.enc(x.reshape(x.shape[0], -1))).reshape(*x.shape)


def test_latent_tools_feed_the_model_its_own_float_dtype(tmp_path):
    pytest.importorskip("PIL")
    from nerve import viz

    nv.manual_seed(0)
    ae = _TinyAE()                                              # float32
    out = viz.interpolate(ae, np.zeros(2), np.ones(2), 3)       # float64 codes
    assert out.shape == (3, 4) and out.dtype == nv.float32
    assert viz.save_reconstructions(ae.double(), np.random.default_rng(0).random((3, 1, 2, 2)),
                                    tmp_path / "r.png").exists()


def test_keras_input_with_a_variable_size_is_named():
    from nerve import keras

    with pytest.raises(ValueError, match=r"\(None, 3\) has a None"):
        keras.Input((None, 3))


def test_lr_range_test_takes_one_batch_as_a_pair_of_arrays():
    # (x, y) itself used to be cycled: with two samples, x's rows became the inputs and targets
    x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    y = np.array([[1.0], [0.0]], np.float32)
    results = []
    for data in ((x, y), [(x, y)]):
        nv.manual_seed(0)
        m = nn.Linear(2, 1)
        results.append(tune.lr_range_test(m, optim.SGD(m.parameters(), lr=0.1), nn.MSELoss(), data,
                                          num_steps=5).losses)
    assert results[0] == results[1]


def test_fit_regression_takes_a_flat_target_for_a_one_output_model():
    # y of shape (N,) against predictions (N, 1) broadcast to an (N, N) loss
    x, y = tune.make_sine_data(16)
    losses = []
    for target in (y, y[:, 0]):
        nv.manual_seed(0)
        losses.append(tune.fit_regression(nn.Linear(1, 1).double(), x, target, x, target, epochs=3))
    assert losses[0] == losses[1]
    with pytest.raises(ValueError, match=r"y has shape \(16, 2\) but the model outputs \(N,\) \+ \(1,\)"):
        tune.fit_regression(nn.Linear(1, 1).double(), x, np.hstack([y, y]), epochs=1)


def test_picture_grids_name_a_zero_count(tmp_path):
    from nerve import viz

    conv = nn.Sequential(nn.Conv2d(1, 2, 3))
    with pytest.raises(ValueError, match="max_filters must be a positive integer, got 0"):
        viz.save_filters(conv, tmp_path / "f.png", max_filters=0)
    with pytest.raises(ValueError, match="max_maps must be a positive integer, got 0"):
        viz.save_feature_maps(conv, np.zeros((1, 5, 5)), "0", tmp_path / "m.png", max_maps=0)
    with pytest.raises(ValueError, match="max_cols must be a positive integer, got 0"):
        viz.plot_attention(np.full((2, 2), 0.5), tmp_path / "a.png", max_cols=0)


def test_units_after_a_linear_reshaped_to_images_are_the_channels():
    # a generator's Linear -> Unflatten -> ReLU: the units are the 3 channels, not the width
    from nerve.diagnostics import activation_stats

    net = nn.Sequential(nn.Linear(2, 3 * 4 * 5), nn.Unflatten(1, (3, 4, 5)), nn.ReLU())
    s = activation_stats(net, np.random.default_rng(0).normal(size=(6, 2)).astype(np.float32))["2"]
    assert s.units == 3
    with pytest.raises(ValueError, match="no activation layers"):
        activation_stats(nn.Sequential(nn.Linear(2, 2)), np.ones((1, 2), np.float32))
    # an activation that runs first is not judged by the previous pass's last Linear
    first = nn.Sequential(nn.ReLU(), nn.Linear(4, 4))
    x = np.ones((2, 3, 4), np.float32)
    assert activation_stats(first, [x, x])["0"].units == 3
