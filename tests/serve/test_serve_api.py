"""The playground API through FastAPI's TestClient: every endpoint, bad input and the limits."""
import json
import os

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from nerve import models  # noqa: E402
from nerve.diagnostics import backprop_steps_from_model, mlp_trace  # noqa: E402
from nerve.runs import Run, load_run  # noqa: E402
from nerve.serve import ServeSettings, create_app  # noqa: E402


@pytest.fixture()
def client(cli_runs):
    with TestClient(create_app(ServeSettings(runs_dir=cli_runs, max_jobs=1, max_body=20_000))) as c:
        yield c


def _error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"] and len(body["error"]) < 300
    return body["error"]


def test_index_and_static_pages(client):
    r = client.get("/")
    assert r.status_code == 200 and "the digit network" in r.text and "https://" not in r.text
    for path in ("/static/style.css", "/static/js/main.js", "/static/js/forward.js", "/static/js/digits.js",
                 "/static/js/train.js", "/static/js/backprop.js", "/static/js/api.js"):
        r = client.get(path)
        assert r.status_code == 200 and "http://" not in r.text and "https://" not in r.text, path
    assert client.get("/static/../app.py").status_code == 404


def test_status(client):
    assert client.get("/api/status").json() == {"jobs": 0, "max_jobs": 1, "max_body": 20_000,
                                                "runs_dir": str(client.app.state.settings.runs_dir),
                                                "initial_run": None}


def test_runs_list_and_network(client, cli_runs):
    runs = client.get("/api/runs").json()["runs"]
    (run,) = [r for r in runs if r["name"] == "digits-ch1"]
    assert run["ok"] and run["model"] == "chapter1-mlp" and run["dataset"] == "mnist"
    assert run["test_accuracy"] > 0.8
    net = client.get("/api/runs/digits-ch1").json()
    assert net["sizes"] == [784, 16, 16, 10] and net["activation"] == "sigmoid"
    model = load_run(cli_runs / "digits-ch1").build_model()
    np.testing.assert_array_equal(np.asarray(net["layers"][0]["weight"], np.float32), model[1].weight.numpy())
    np.testing.assert_array_equal(np.asarray(net["layers"][2]["bias"], np.float32), model[5].bias.numpy())


def test_forward_is_nerves_forward(client, cli_runs):
    run = load_run(cli_runs / "digits-ch1")
    x = np.random.default_rng(0).random(784)
    out = client.post("/api/runs/digits-ch1/forward", json={"pixels": x.tolist()}).json()
    norm = run.config["normalize"]
    want = mlp_trace(run.build_model(), (x - norm["mean"]) / norm["std"])   # in float64
    np.testing.assert_allclose(out["probabilities"], want["probabilities"], rtol=1e-12)
    assert [len(a) for a in out["activations"]] == [784, 16, 16, 10]
    # and the float32 prediction of the run agrees
    np.testing.assert_allclose(out["probabilities"], run.predict(x.reshape(28, 28))[0], atol=1e-5)
    assert out["prediction"] == int(np.argmax(want["probabilities"]))


@pytest.mark.parametrize("body, status, match", [
    ({"pixels": [0.5] * 783}, 422, "at least 784"),
    ({"pixels": [0.5] * 785}, 422, "at most 784"),
    ({"pixels": [1.5] + [0.0] * 783}, 422, "from 0 to 1"),
    ({"pixels": ["a"] * 784}, 422, "pixels"),
    ({"pixels": [0.0] * 784, "extra": 1}, 422, "extra"),
    ({}, 422, "pixels"),
])
def test_forward_bad_input(client, body, status, match):
    assert match in _error(client.post("/api/runs/digits-ch1/forward", json=body), status)


def test_forward_rejects_non_json(client):
    r = client.post("/api/runs/digits-ch1/forward", content=b"not json", headers={"content-type": "application/json"})
    _error(r, 422)


def test_body_cap(client):
    big = json.dumps({"pixels": [0.123456789] * 784 * 2}).encode()
    assert len(big) > 20_000
    assert "larger than the limit" in _error(client.post("/api/runs/digits-ch1/forward", content=big,
                                                         headers={"content-type": "application/json"}), 413)

    def chunks():  # no Content-Length: the streamed bytes are counted
        for i in range(0, len(big), 4096):
            yield big[i:i + 4096]
    _error(client.post("/api/runs/digits-ch1/forward", content=chunks(), headers={"content-type": "application/json"}), 413)


def test_run_names_are_confined_to_the_runs_folder(client, cli_runs, tmp_path):
    assert "no run named 'nope'" in _error(client.get("/api/runs/nope"), 404)
    for name in ("bad%20name!", "%2e%2e", ".hidden", "digits-ch1%00", "x" * 65):
        assert "run name" in _error(client.get(f"/api/runs/{name}"), 422)
    for path in ("/api/runs/..%2F..%2Fetc", "/api/runs/a%2Fb", "/api/runs/.."):   # never reach a handler
        assert "no such page" in _error(client.get(path), 404)
    assert "not allowed" in _error(client.delete("/api/runs/digits-ch1"), 405)
    # a symlink to a real run, inside the runs folder, is refused and not listed
    os.symlink(cli_runs / "digits-ch1", cli_runs / "linked")
    outside = tmp_path / "outside"
    outside.mkdir()
    try:
        assert "symbolic link" in _error(client.get("/api/runs/linked"), 403)
        assert "linked" not in [r["name"] for r in client.get("/api/runs").json()["runs"]]
    finally:
        os.unlink(cli_runs / "linked")


def test_runs_that_cannot_be_drawn_are_listed_with_the_reason(client, cli_runs):
    run = Run.create(cli_runs / "a-cnn", {"model": "seed-cnn", "model_kwargs": {"in_channels": 1, "image_size": 28},
                                          "dataset": "mnist", "classes": [str(i) for i in range(10)]})
    run.save_weights(models.get_model("seed-cnn", in_channels=1, image_size=28))
    run.finish("complete")
    (cli_runs / "broken").mkdir()
    (cli_runs / "broken" / "config.json").write_text("{")
    (cli_runs / "broken" / "model.safetensors").write_bytes(b"x")
    try:
        runs = {r["name"]: r for r in client.get("/api/runs").json()["runs"]}
        assert not runs["a-cnn"]["ok"] and "not a plain MLP" in runs["a-cnn"]["reason"]
        assert not runs["broken"]["ok"] and runs["broken"]["reason"]
        assert "cannot be drawn" in _error(client.get("/api/runs/a-cnn"), 422)
        _error(client.get("/api/runs/broken"), 422)
    finally:
        import shutil
        shutil.rmtree(cli_runs / "a-cnn"), shutil.rmtree(cli_runs / "broken")


def test_samples(client):
    from nerve.data.datasets import load_split

    x, y, _, _ = load_split("mnist", False)
    s = client.get("/api/samples/mnist/7").json()
    assert s["label"] == int(y[7]) and np.allclose(s["pixels"], x[7].reshape(-1))
    assert "from 0 to 9999" in _error(client.get("/api/samples/mnist/10000"), 422)
    _error(client.get("/api/samples/mnist/-1"), 422)
    _error(client.get("/api/samples/mnist/abc"), 422)
    assert "unknown sample set" in _error(client.get("/api/samples/cifar10/0"), 404)


def test_backprop_equals_the_library(client):
    from nerve import nn
    from nerve.random import manual_seed

    out = client.post("/api/backprop", json={"x": [0.3, 0.6], "target": [1.0, 0.0], "activation": "tanh",
                                              "lr": 0.2, "seed": 5}).json()
    manual_seed(5)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2), nn.Tanh())
    assert out == json.loads(json.dumps(backprop_steps_from_model(model, [0.3, 0.6], [1.0, 0.0], lr=0.2)))
    assert [len(f["a"]) for f in out["forward"]] == [3, 2] and len(out["updates"]) == 2


@pytest.mark.parametrize("body, match", [
    ({"activation": "gelu"}, "activation"), ({"lr": -1}, "lr"), ({"lr": 100}, "lr"),
    ({"x": [1, 2, 3]}, "x"), ({"x": [1e9, 0]}, "from -1000 to 1000"), ({"seed": -2}, "seed"),
    ({"target": "high"}, "target"), ({"hidden": 4}, "hidden"),
])
def test_backprop_bad_input(client, body, match):
    assert match in _error(client.post("/api/backprop", json=body), 422)


def test_default_run_is_trained_once_when_none_exists(tmp_path, monkeypatch):
    import nerve.runs.live as live

    calls = []

    def quick(folder, epochs=3, seed=0, quiet=True):  # the real one is tested in tests/runs
        calls.append(folder)
        run = Run.create(folder, {"model": "chapter1-mlp", "dataset": "mnist", "classes": [str(i) for i in range(10)]})
        run.save_weights(models.chapter1_mlp())
        run.finish("complete")
        return run

    monkeypatch.setattr(live, "train_default_run", quick)
    with TestClient(create_app(ServeSettings(runs_dir=tmp_path / "runs"))) as c:
        assert c.get("/api/runs").json() == {"runs": []}
        assert c.post("/api/runs/default").json() == {"trained": True, "name": "chapter1-default"}
        assert c.post("/api/runs/default").json() == {"trained": False, "name": "chapter1-default"}
        assert c.get("/api/runs/chapter1-default").json()["sizes"] == [784, 16, 16, 10]
    assert len(calls) == 1
    with TestClient(create_app(ServeSettings(runs_dir=tmp_path / "empty", default_run=False))) as c:
        assert "nerve train" in _error(c.post("/api/runs/default"), 404)


# ------------------------------------------------------------------ live training socket
def _until(ws, kind, limit=200):
    for _ in range(limit):
        m = ws.receive_json()
        if m["type"] == kind:
            return m
        if m["type"] == "error" and kind != "error":
            raise AssertionError(m["message"])
    raise AssertionError(f"no {kind!r} message")


XOR = {"dataset": "xor", "hidden": [8], "activation": "tanh", "lr": 0.03, "batch_size": 16}


def test_live_training_controls(client):
    with client.websocket_connect("/api/train") as ws:
        ws.send_json({"type": "start", "config": XOR})
        started = _until(ws, "started")
        assert started["config"]["hidden"] == [8] and len(started["points"]["train"]) == 200
        assert client.get("/api/status").json()["jobs"] == 1
        ws.send_json({"type": "pause"})
        m = _until(ws, "metrics")
        while m["running"]:
            m = _until(ws, "metrics")
        paused_at = m["step"]
        ws.send_json({"type": "step", "n": 3})
        m = _until(ws, "metrics")
        assert m["step"] == paused_at + 3 and not m["running"]
        assert len(m["boundary"]) == 40 and len(m["boundary"][0]) == 40
        ws.send_json({"type": "lr", "value": 0.05})
        assert _until(ws, "metrics")["lr"] == 0.05
        ws.send_json({"type": "resume"})
        for _ in range(400):
            m = _until(ws, "metrics")
            if m["test_accuracy"] >= 0.95:
                break
        assert m["test_accuracy"] >= 0.95 and m["running"]
        ws.send_json({"type": "reset"})
        started = _until(ws, "started")
        m = _until(ws, "metrics")
        assert not started["running"] and m["step"] == 0
        ws.send_json({"type": "save", "name": "xor-run"})
        assert "only MNIST and Fashion-MNIST" in _until(ws, "error")["message"]


@pytest.mark.parametrize("message, match", [
    ({"type": "start", "config": {"dataset": "cifar"}}, "dataset must be"),
    ({"type": "start", "config": {"hidden": [10000]}}, "hidden must be"),
    ({"type": "start", "config": {"lr": "fast"}}, "lr must be"),
    ({"type": "pause"}, "needs a session"),
    ({"type": "dance"}, "needs a session"),
    ("[1, 2]", "JSON object"),
    ("not json", "JSON object"),
    ("x" * 30_000, "larger than the limit"),
])
def test_live_training_bad_messages(client, message, match):
    with client.websocket_connect("/api/train") as ws:
        if isinstance(message, str):
            ws.send_text(message)
        else:
            ws.send_json(message)
        assert match in _until(ws, "error")["message"]
        ws.send_json({"type": "start", "config": XOR})   # the socket still works afterwards
        _until(ws, "started")
        ws.send_json({"type": "step", "n": 5000})
        assert "from 1 to 1000" in _until(ws, "error")["message"]
        ws.send_json({"type": "lr", "value": -1})
        assert "lr must be" in _until(ws, "error")["message"]
        ws.send_json({"type": "dance"})
        assert "unknown message type" in _until(ws, "error")["message"]


def test_job_limit_and_disconnect_end_the_job(client):
    import time

    with client.websocket_connect("/api/train") as ws:
        ws.send_json({"type": "start", "config": XOR})
        _until(ws, "started")
        with client.websocket_connect("/api/train") as second:
            m = second.receive_json()
            assert m["type"] == "error" and "limit" in m["message"]
        assert client.get("/api/status").json()["jobs"] == 1
    for _ in range(100):  # the first client went away: its job ends
        if client.get("/api/status").json()["jobs"] == 0:
            break
        time.sleep(0.05)
    assert client.get("/api/status").json()["jobs"] == 0
    with client.websocket_connect("/api/train") as ws:   # and the slot is free again
        ws.send_json({"type": "start", "config": XOR})
        _until(ws, "started")


@pytest.mark.slow
def test_saved_run_survives_shutdown_and_opens(cli_runs, capsys):
    from nerve.cli import main

    app = create_app(ServeSettings(runs_dir=cli_runs))
    with TestClient(app) as c, c.websocket_connect("/api/train") as ws:
        ws.send_json({"type": "start", "config": {"dataset": "mnist", "hidden": [16], "activation": "relu",
                                                  "lr": 0.01, "batch_size": 64, "train_size": 2000,
                                                  "test_size": 300}})
        _until(ws, "started")
        ws.send_json({"type": "step", "n": 60})
        _until(ws, "metrics")
        ws.send_json({"type": "save", "name": "live-mnist"})
        saved = _until(ws, "saved")
        ws.send_json({"type": "save", "name": "live-mnist"})
        assert "already exists" in _until(ws, "error")["message"]
        ws.send_json({"type": "save", "name": "../escape"})
        assert "run name" in _until(ws, "error")["message"]
        ws.send_json({"type": "resume"})   # still training when the server shuts down
    assert app.state.stopping and app.state.jobs == 0
    run = load_run(cli_runs / "live-mnist")
    assert run.status == "complete" and saved["test_accuracy"] > 0.6
    assert not [p for p in (cli_runs / "live-mnist").iterdir() if p.name.endswith(".tmp")]
    assert main(["evaluate", str(cli_runs / "live-mnist")]) == 0
    capsys.readouterr()
    import shutil
    shutil.rmtree(cli_runs / "live-mnist")
