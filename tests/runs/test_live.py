"""LiveSession: batch-by-batch training with the doctor, lr changes, boundary, saving as a run."""
import numpy as np
import pytest

from nerve.runs import load_run
from nerve.runs.live import LiveSession, live_config

XOR = {"dataset": "xor", "hidden": [8], "activation": "tanh", "optimizer": "adam", "lr": 0.03,
       "batch_size": 16, "seed": 0}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_reaches_95_percent(seed):
    s = LiveSession({**XOR, "seed": seed})
    first = s.metrics()
    assert s.step(300) == 300 and s.step_count == 300
    last = s.metrics()
    assert last["test_accuracy"] >= 0.95, last
    assert last["train_loss"] < first["train_loss"] / 3
    assert s.epoch == 300 // 13 and s.findings == []   # 200 training points: 13 batches an epoch


def test_same_seed_same_run_and_steps_add_up():
    a, b = LiveSession(XOR), LiveSession(XOR)
    a.step(40)
    for _ in range(40):
        b.step(1)
    assert a.metrics() == b.metrics()


def test_lr_change_takes_effect_between_batches():
    a, b = LiveSession(XOR), LiveSession(XOR)
    a.step(10), b.step(10)
    b.set_lr(0.0000011)
    before = b.metrics()["train_loss"]
    a.step(10), b.step(10)
    assert b.lr == pytest.approx(1.1e-6) and b.optimizer.param_groups[0]["lr"] == pytest.approx(1.1e-6)
    assert abs(b.metrics()["train_loss"] - before) < 1e-3 < abs(a.metrics()["train_loss"] - before)
    for bad in (0.0, -1, float("nan"), "0.1", True, 11):
        with pytest.raises(ValueError, match="lr must be"):
            b.set_lr(bad)


def test_boundary_follows_the_model():
    s = LiveSession(XOR)
    s.step(300)
    grid = s.boundary(20)
    assert grid.shape == (20, 20) and ((grid >= 0) & (grid <= 1)).all()
    # XOR: top-left (x<0, y>0) and bottom-right are class 1; the other corners class 0
    assert grid[2, 2] > 0.5 and grid[-3, -3] > 0.5 and grid[2, -3] < 0.5 and grid[-3, 2] < 0.5
    with pytest.raises(ValueError, match="resolution"):
        s.boundary(1000)


def test_doctor_findings_appear():
    s = LiveSession({"dataset": "circle", "hidden": [16, 16], "activation": "relu", "optimizer": "sgd",
                     "lr": 8.0, "batch_size": 16})
    s.step(200)
    kinds = {f["kind"] for f in s.findings}
    assert kinds & {"diverging", "dead_relu", "exploding_gradients"}, kinds
    assert all(f["message"] and f["fix"] for f in s.findings)


def test_regularization_shrinks_weights():
    plain = LiveSession({**XOR, "hidden": [16]})
    l2 = LiveSession({**XOR, "hidden": [16], "regularization": "l2", "reg_rate": 0.05})
    plain.step(200), l2.step(200)
    norm = lambda s: sum(float((p.numpy() ** 2).sum()) for n, p in s.model.named_parameters() if n.endswith("weight"))  # noqa: E731
    assert norm(l2) < 0.7 * norm(plain)


@pytest.mark.parametrize("config, match", [
    ({"dataset": "cifar"}, "dataset must be"), ({"hidden": [0]}, "hidden must be"),
    ({"hidden": [8] * 7}, "hidden must be"), ({"hidden": "8,8"}, "hidden must be"),
    ({"activation": "swish"}, "activation must be"), ({"optimizer": "lbfgs"}, "optimizer must be"),
    ({"lr": 0}, "lr must be"), ({"batch_size": 2.5}, "batch_size must be an integer"),
    ({"noise": 0.9}, "noise must be"), ({"train_fraction": 1.0}, "train_fraction must be"),
    ({"epochs": 3}, "unknown training options"), ({"regularization": "l3"}, "regularization must be"),
])
def test_config_is_checked(config, match):
    with pytest.raises(ValueError, match=match):
        live_config(config)


def test_two_d_sessions_cannot_be_saved(tmp_path):
    with pytest.raises(ValueError, match="only MNIST and Fashion-MNIST"):
        LiveSession(XOR).save(tmp_path / "run")


@pytest.mark.slow
def test_image_session_saves_a_run_that_evaluate_opens(tmp_path, capsys):
    from nerve.cli import main

    s = LiveSession({"dataset": "mnist", "hidden": [16], "activation": "relu", "lr": 0.01, "batch_size": 64,
                     "train_size": 3000, "test_size": 500})
    s.step(100)
    acc = s.metrics()["test_accuracy"]
    assert acc > 0.75
    s.save(tmp_path / "live")
    run = load_run(tmp_path / "live")
    assert run.status == "complete" and run.model_name == "playground-mlp"
    x = s.x_test[:50] * s.std + s.mean           # back to pixels in [0, 1]
    np.testing.assert_allclose(run.predict(x).argmax(1), s._logits(s.x_test[:50]).argmax(1))
    assert main(["evaluate", str(tmp_path / "live")]) == 0
    assert "accuracy" in capsys.readouterr().out
