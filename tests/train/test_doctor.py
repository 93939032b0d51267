"""TrainingDoctor: the demonstrations in examples/doctor_demos.py and each rule on its own."""
import importlib.util
import math
import pathlib

import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim
from nerve.data import DataLoader, TensorDataset
from nerve.train import Trainer
from nerve.train.doctor import FIXES, Diagnostics, TrainingDoctor

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "doctor_demos.py"


@pytest.fixture(scope="module")
def demos():
    spec = importlib.util.spec_from_file_location("doctor_demos", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _check_finding(f):
    assert set(f) == {"kind", "severity", "epoch", "step", "message", "fix", "data"}
    assert f["severity"] in ("error", "warning") and f["fix"] == FIXES[f["kind"]] and f["message"]


# ----------------------------------------------------------------- demonstrations
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigmoid_xavier_gradients_vanish_through_20_layers(demos, seed):
    ratio, doctor = demos.gradient_flow("sigmoid", seed=seed)
    assert 1e-14 < ratio < 1e-11          # glossary map: ≈ 4e-13
    assert doctor.kinds == ["vanishing_gradients"]
    f = doctor.findings[0]
    _check_finding(f)
    assert f["data"]["ratio"] == pytest.approx(ratio, rel=1e-4)
    assert f["epoch"] is None and "ReLU" in f["fix"] and "residual" in f["fix"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_he_gradients_keep_their_size_and_the_doctor_is_silent(demos, seed):
    ratio, doctor = demos.gradient_flow("relu", seed=seed)
    assert 0.1 <= ratio <= 10              # glossary map: 0.38-0.74
    assert doctor.findings == []


@pytest.mark.parametrize("shift, expected", [(0.0, 0.5), (1.0, 0.1587)])
def test_relu_zero_fraction_is_not_always_one_half(demos, shift, expected):
    assert demos.relu_zero_fraction(shift) == pytest.approx(expected, abs=0.01)


def test_healthy_run_has_no_findings(demos):
    doctor = demos.healthy()
    assert doctor.findings == [], doctor.report()
    assert doctor.report().startswith("Training doctor: no problems found.")
    assert len(doctor.train_losses) == 3 and doctor.train_losses[-1] < 0.5
    assert 0.1 < doctor.initial_gradients.ratio < 100
    assert all(not m._forward_hooks for m in doctor.trainer.model.modules())   # hooks removed


def test_small_data_and_a_large_network_overfit(demos):
    doctor = demos.overfitting()
    assert doctor.kinds == ["overfitting"], doctor.report()
    f = doctor.findings[0]
    _check_finding(f)
    assert f["data"]["val_loss"] > 1.05 * f["data"]["best_val_loss"]
    assert f["data"]["train_loss"] < 0.5 * doctor.train_losses[0]
    assert "overfitting" in doctor.report() and "EarlyStopping" in doctor.report()


def test_learning_rate_10_diverges(demos):
    doctor = demos.diverging(lr=10.0)
    assert doctor.has("diverging"), doctor.report()
    assert demos.diverging(lr=10.0, every=1).has("exploding_gradients")   # the spike at step 3
    f = next(f for f in doctor.findings if f["kind"] == "diverging")
    assert f["severity"] == "error" and f["epoch"] == 0 and "learning rate" in f["fix"]
    assert f["data"]["loss"] > 3 * f["data"]["initial_loss"]
    assert doctor.report().index("[ERROR]") < doctor.report().index("[WARNING]")


def test_a_tiny_learning_rate_underfits_at_chance_level(demos):
    doctor = demos.underfitting()
    assert doctor.kinds == ["underfitting"], doctor.report()
    f = doctor.findings[0]
    assert f["data"]["chance_loss"] == pytest.approx(math.log(10))
    assert min(f["data"]["losses"]) > 0.9 * math.log(10)


def test_biases_at_minus_ten_kill_the_relu_layer(demos):
    doctor = demos.dead_relu()
    dead = [f for f in doctor.findings if f["kind"] == "dead_relu"]
    assert dead and dead[0]["data"]["layer"] == "2" and dead[0]["data"]["dead_fraction"] == 1.0
    assert dead[0]["data"]["dead_units"] == list(range(16))
    # and the first layer's weights get no gradient at all
    assert doctor.initial_gradients.norms["1.weight"] == 0.0


def test_nonfinite_demo_finds_the_log_layer(demos):
    r = demos.nonfinite()
    assert r.module == "1" and r.op == "Log" and r.input_min < 0 < r.input_max


# --------------------------------------------------------------- rules one by one
def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)


def _fit(model, doctor, lr=0.05, epochs=2, **fit_kw):
    x, y = _data()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=0)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=lr), nn.CrossEntropyLoss(), callbacks=[doctor])
    return trainer, trainer.fit(loader, epochs=epochs, **fit_kw)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_nan_in_training_is_traced_to_the_module_that_made_it():
    class Log(nn.Module):
        def forward(self, x):
            return x.log()

    nv.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), Log(), nn.Linear(8, 2))
    doctor = TrainingDoctor()
    with pytest.raises(FloatingPointError):
        _fit(model, doctor)
    assert doctor.kinds[0] == "nonfinite"
    f = doctor.findings[0]
    assert f["severity"] == "error" and f["data"]["module"] == "1" and f["data"]["op"] == "Log"
    assert f["data"]["input_min"] < 0 and f["data"]["input_finite"]
    # The Trainer refuses a NaN loss before its step: the run is reported as diverging at that
    # step, and the weights it leaves are the last finite ones (no NaN parameters to report).
    assert doctor.kinds == ["nonfinite", "diverging"]
    assert "training loss became nan at epoch 1" in doctor.findings[1]["message"]
    assert all(np.isfinite(p._data).all() for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())


def test_leaky_relu_with_a_negative_bias_is_not_reported_dead():
    for act, expect in ((nn.ReLU, True), (nn.LeakyReLU, False)):
        nv.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 8), act(), nn.Linear(8, 2))
        nn.init.constant_(model[0].bias, -10.0)
        doctor = TrainingDoctor()
        _fit(model, doctor, epochs=1)
        assert doctor.has("dead_relu") is expect, doctor.report()


def test_gradient_rules_on_hand_made_gradients():
    net = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3))
    for p in net.parameters():
        p.grad = nv.tensor(np.ones(p.shape, np.float32))
    doctor = TrainingDoctor()
    assert doctor.check_gradients(net).ratio == 1.0 and doctor.findings == []
    net[0].weight.grad = nv.tensor(np.full((3, 3), 2e4, np.float32))   # ratio 2e4 > 1e4
    doctor.check_gradients(net)
    assert doctor.kinds == ["exploding_gradients"] and "2e+04" in doctor.findings[0]["message"]

    doctor = TrainingDoctor()
    for p in net.parameters():
        p.grad = nv.tensor(np.ones(p.shape, np.float32))
    doctor.check_gradients(net)
    for p in net.parameters():
        p.grad = nv.tensor(np.full(p.shape, 2e3, np.float32))        # 2000 × the first total norm
    doctor.check_gradients(net)
    assert doctor.kinds == ["exploding_gradients"] and "times its value" in doctor.findings[0]["message"]

    doctor = TrainingDoctor()
    net[0].weight.grad = nv.tensor(np.full((3, 3), 1e-5, np.float32))
    doctor.check_gradients(net)
    assert doctor.kinds == ["vanishing_gradients"]


def _losses(doctor, train, val=None):
    for i, t in enumerate(train):
        doctor.train_losses.append(t)
        if val is not None:
            doctor.val_losses.append(val[i])
        doctor._epoch = i
        doctor.check_losses()
    return doctor


def test_loss_rules_on_hand_made_curves():
    d = _losses(TrainingDoctor(), [1.0, 1.1, 1.2, 1.3])             # rose 3 epochs in a row
    assert d.kinds == ["diverging"] and d.findings[0]["epoch"] == 3
    assert _losses(TrainingDoctor(), [1.0, 1.1, 1.2, 1.15, 1.3]).findings == []   # broken streak
    d = TrainingDoctor()
    d.initial_loss = 2.0
    assert _losses(d, [7.0]).kinds == ["diverging"]                # 3.5 × the first batch
    assert _losses(TrainingDoctor(), [float("nan")]).kinds == ["diverging"]

    # overfitting: best validation at epoch 2, three epochs without improvement, then 20 % above
    train = [1.0, 0.8, 0.6, 0.4, 0.3, 0.2]
    d = _losses(TrainingDoctor(), train, [1.0, 0.9, 0.85, 0.9, 0.95, 1.02])
    assert d.kinds == ["overfitting"] and d.findings[0]["epoch"] == 5
    assert d.findings[0]["data"]["best_epoch"] == 2
    # validation still improving, or only noise around its best: no finding
    assert _losses(TrainingDoctor(), train, [1.0, 0.9, 0.85, 0.8, 0.79, 0.78]).findings == []
    assert _losses(TrainingDoctor(), train, [1.0, 0.9, 0.85, 0.87, 0.86, 0.88]).findings == []

    # underfitting needs the chance level, ln(C)
    d = TrainingDoctor(num_classes=10)
    assert _losses(d, [2.31, 2.30, 2.30]).kinds == ["underfitting"]
    assert _losses(TrainingDoctor(num_classes=10), [2.31, 1.9, 1.5]).findings == []
    assert _losses(TrainingDoctor(), [2.31, 2.30, 2.30]).findings == []   # no C known: no verdict


def test_saturated_sigmoids_at_a_checkup():
    nv.manual_seed(0)
    net = nn.Sequential(nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 2))
    x = 50 * np.random.default_rng(0).normal(size=(64, 16)).astype(np.float32)   # unscaled inputs
    found = TrainingDoctor().checkup(net, x, np.zeros(64, np.int64), nn.CrossEntropyLoss())
    assert [f["kind"] for f in found] == ["saturation"]
    assert found[0]["data"]["saturation"] > 0.5 and "standardize" in found[0]["fix"]
    assert all(p.grad is None for p in net.parameters())


def test_stop_on_error_ends_the_run_and_findings_are_not_repeated():
    nv.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    doctor = Diagnostics(stop_on_error=True, diverge_factor=1.0001, every=2)
    trainer, history = _fit(model, doctor, lr=1e3, epochs=5)
    assert doctor.has("diverging") and len(history.epoch) < 5
    assert len(doctor.kinds) == len(set(doctor.kinds))
    assert "TrainingDoctor(findings=" in repr(doctor)


def test_every_picks_the_batches_that_are_measured():
    nv.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    doctor = TrainingDoctor(every=2)
    _fit(model, doctor, epochs=2)           # 96 samples in batches of 32: steps 0, 1, 2 per epoch
    assert [s for s, _, _ in doctor.grad_history] == [1, 3, 4, 6]      # global steps after batches 0 and 2
    assert [h["1"].samples for h in doctor.activation_history] == [64, 64]
    assert doctor.findings == []


@pytest.mark.parametrize("kw", [{"vanishing_ratio": 2.0}, {"dead_fraction": 0.0}, {"rising_epochs": 0},
                                {"diverge_factor": 0.5}, {"every": 1.5}, {"overfit_margin": -1}])
def test_bad_thresholds_are_rejected(kw):
    with pytest.raises(ValueError, match=next(iter(kw)).split("_")[0]):
        TrainingDoctor(**kw)


# ------------------------------------------------------------------------ monitors
def test_gradient_monitor_records_the_norms_left_by_each_batch():
    from nerve.diagnostics import gradient_norms
    from nerve.train.doctor import GradientMonitor

    nv.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))
    mon = GradientMonitor()
    _fit(model, mon, epochs=2)
    assert [h["step"] for h in mon.history] == list(range(1, 7))
    assert [h["epoch"] for h in mon.history] == [0, 0, 0, 1, 1, 1]
    last = gradient_norms(model)           # the final batch's gradients are still on the model
    assert mon.history[-1]["norms"] == last.norms and mon.history[-1]["ratio"] == last.ratio
    assert mon.series("2.bias")[-1] == last.norms["2.bias"]
    with pytest.raises(KeyError, match="recorded parameters"):
        mon.series("nope")


def test_dead_unit_monitor_and_the_gradient_a_dead_relu_gets():
    """Glossary A25: a unit with bias -10 outputs 0, gets no gradient under ReLU but some
    under LeakyReLU, and the monitor reports it as dead."""
    from nerve.train.doctor import DeadUnitMonitor

    x, y = _data()
    for act in (nn.ReLU, nn.LeakyReLU):
        nv.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 4), act(), nn.Linear(4, 2))
        model[0].bias.data[3] = -10.0
        nn.CrossEntropyLoss()(model(nv.tensor(x)), nv.tensor(y)).backward()
        g = model[0].weight.grad.numpy()
        if act is nn.ReLU:
            assert np.all(g[3] == 0) and np.all(np.abs(g[:3]).sum(1) > 0)
        else:
            assert np.all(np.abs(g[3]) > 0)
    nv.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 2))
    model[0].bias.data[3] = -10.0
    mon = DeadUnitMonitor()
    _fit(model, mon, epochs=2)
    assert mon.dead_units["1"].tolist() == [3] and [h["1"] for h in mon.history] == [0.25, 0.25]
    assert all(not m._forward_hooks for m in model.modules())
