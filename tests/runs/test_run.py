"""nerve.runs: a run folder as a library object (create, manifest, validate, open, evaluate, predict)."""
import json
import shutil

import numpy as np
import pytest

import nerve as nv
from nerve import models
from nerve.io import save_state_dict
from nerve.runs import ARTIFACTS, Run, RunError, load_run

CLASSES = [str(i) for i in range(10)]
BASE = {"model": "seed-mlp", "model_kwargs": {"activation": "elu"}, "dataset": "digits",
        "input_shape": [1, 28, 28], "classes": CLASSES, "normalize": {"mean": 0.1, "std": 0.3}}


@pytest.fixture
def run(tmp_path):
    r = Run.create(tmp_path / "run", dict(BASE))
    r.save_weights(models.get_model("seed-mlp", activation="elu"))
    r.finish("complete")
    return r


def _sha(path):
    import hashlib
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_create_writes_config_and_manifest_with_hashes_and_status(run):
    m = json.loads((run.path / "manifest.json").read_text())
    assert m["format"] == "nerve-run" and m["status"] == "complete" and m["nerve_version"] == nv.__version__
    assert (m["model"], m["dataset"], m["input_shape"], m["num_classes"]) == ("seed-mlp", "digits", [1, 28, 28], 10)
    assert m["parameters"]["1.weight"] == [16, 784] and len(m["parameters"]) == 6
    for name in ("config.json", "model.safetensors"):
        assert m["artifacts"][name] == {"sha256": _sha(run.path / name), "bytes": (run.path / name).stat().st_size}
    assert json.loads((run.path / "config.json").read_text()) == BASE
    assert models.canonical_name(nv.io.load_safetensors(run.path / "model.safetensors")[1]["nerve.model"]) == "seed-mlp"
    with pytest.raises(ValueError, match="status must be one of"):
        run.finish("done")


def test_create_refuses_a_folder_with_files_unless_overwrite(run, tmp_path):
    with pytest.raises(RunError, match="already holds files .* pass --overwrite .* --resume"):
        Run.create(run.path, dict(BASE))
    (run.path / "report.json").write_text("{}")  # an old run's artifact: removed by overwrite
    (run.path / "notes.txt").write_text("mine")  # not a run file: kept
    fresh = Run.create(run.path, dict(BASE), overwrite=True)
    assert sorted(p.name for p in fresh.path.iterdir()) == ["config.json", "manifest.json", "notes.txt"]
    assert fresh.status == "running" and "report.json" in ARTIFACTS
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunError, match="is a file; give a folder"):
        Run.create(tmp_path / "file", dict(BASE))
    with pytest.raises(RunError, match="is inside .*file, which is a file"):
        Run.create(tmp_path / "file" / "run", dict(BASE))
    Run.create(tmp_path / "empty", dict(BASE))  # an existing empty folder is fine
    assert Run.create(tmp_path / "a" / "b" / "c", dict(BASE)).path.is_dir()  # parents are made


@pytest.mark.parametrize("field, value, message", [
    ("dataset", "cifar10", "unknown dataset 'cifar10'; choose from mnist, fashion-mnist, digits"),
    ("dataset", 7, "a dataset name must be a string"),
    ("model", "resnet-9000", "unknown model 'resnet-9000'"),
    ("model", ["seed-mlp"], "a model name must be a string"),
    ("model_kwargs", "elu", "model_kwargs must be an object"),
    ("model_kwargs", {"activation": ["elu"]}, "model_kwargs must be an object"),
    ("input_shape", [1, 28], "input_shape must be [channels, height, width]"),
    ("input_shape", [1, 28, 100000], "input_shape must be"),
    ("input_shape", [1, 28.0, 28], "input_shape must be"),
    ("classes", ["one"], "classes must be a list of at least two names"),
    ("classes", "0123456789", "classes must be a list"),
    ("normalize", {"mean": 0.1, "std": 0}, "normalize.std must be a positive finite number, got 0"),
    ("normalize", {"mean": "0.1", "std": 0.3}, "normalize.mean must be a finite number"),
    ("normalize", {"mean": 0.1}, "normalize must be"),
    ("data_source", "here", "data_source must be"),
])
def test_open_checks_every_config_field(run, field, value, message):
    config = dict(BASE, **{field: value})
    (run.path / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunError) as info:
        load_run(run.path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_dataset_and_model_names_are_canonical_and_case_insensitive(run):
    (run.path / "config.json").write_text(json.dumps(dict(BASE, dataset="MNIST", model="MLP_784_16_16_10")))
    r = load_run(run.path)
    assert (r.dataset, r.model_name) == ("mnist", "seed-mlp")
    assert r.changed == ["config.json"]  # edited after the run wrote it (allowed, but known)


def test_weights_of_another_model_are_refused_even_with_the_same_shapes(run):
    (run.path / "config.json").write_text(json.dumps(dict(BASE, model="chapter1-mlp", model_kwargs={})))
    r = load_run(run.path)
    with pytest.raises(RunError, match="holds weights of model 'seed-mlp', but config.json names 'chapter1-mlp'"):
        r.build_model()


def test_changed_weights_and_nonfinite_weights_are_refused(run, tmp_path):
    good = (run.path / "model.safetensors").read_bytes()
    net = models.get_model("seed-mlp", activation="elu")
    save_state_dict(net, run.path / "model.safetensors", {"nerve.model": "seed-mlp"})  # not the recorded bytes
    with pytest.raises(RunError, match="does not match the SHA-256 in .*manifest.json"):
        load_run(run.path)
    (run.path / "model.safetensors").write_bytes(good)
    assert load_run(run.path).build_model() is not None
    bad = Run.create(tmp_path / "bad", dict(BASE))
    net.state_dict()["1.weight"].data[0, 0] = np.inf
    bad.save_weights(net)
    with pytest.raises(RunError, match=r"holds NaN or Inf in 1.weight: the run diverged"):
        load_run(bad.path).build_model()


def test_a_run_without_manifest_still_opens(run):
    (run.path / "manifest.json").unlink()
    r = load_run(run.path)
    assert r.status == "complete" and r.manifest is None
    r.save_json("report.json", {"a": 1})  # nothing recorded, nothing created
    assert not (run.path / "manifest.json").exists()
    (run.path / "manifest.json").write_text('{"status": "fine"}')
    with pytest.raises(RunError, match="not a nerve run manifest"):
        load_run(run.path)


def test_open_errors_are_one_line(tmp_path, run):
    (tmp_path / "f").write_text("x")
    (tmp_path / "empty").mkdir()
    for path, message in [(tmp_path / "nowhere", "no such run folder"), (tmp_path / "f", "it is a file"),
                          (tmp_path / "empty", r"is not a run folder \(no config.json or model.safetensors\)")]:
        with pytest.raises(RunError, match=message):
            load_run(path)
    (run.path / "config.json").write_text("{oops")
    with pytest.raises(RunError, match="config.json is not valid JSON"):
        load_run(run.path)
    (run.path / "config.json").write_text("[1, 2]")
    with pytest.raises(RunError, match="not a nerve run config"):
        load_run(run.path)


def test_predict_takes_pixels_in_0_1_and_normalizes_like_training(run):
    r = nv.load_run(run.path)
    x = np.random.default_rng(0).random((5, 28, 28)).astype(np.float32)
    prob = r.predict(x)
    assert prob.shape == (5, 10) and prob.dtype == np.float64 and np.allclose(prob.sum(1), 1)
    model = models.get_model("seed-mlp", activation="elu")
    nv.io.load_weights(model, run.path / "model.safetensors")
    model.eval()
    with nv.no_grad():
        logits = model(nv.tensor((x[:, None] - np.float32(0.1)) / np.float32(0.3))).numpy()
    np.testing.assert_allclose(prob, nv.metrics.softmax(logits), rtol=1e-6)
    assert np.allclose(r.predict(x[0]), prob[:1]) and np.allclose(r.predict(x[:2, None]), prob[:2])
    for bad, message in [(np.zeros((2, 27, 27)), "images must have shape"), (np.array(["a"]), "must be numbers"),
                         (np.full((1, 28, 28), np.nan), "NaN or Inf")]:
        with pytest.raises(RunError, match=message):
            r.predict(bad)


def test_evaluate_on_digits_matches_the_metrics(run):
    r = load_run(run.path)
    ev = r.evaluate()
    x, y = r.test_data()
    assert len(y) == 359 and ev.prob.shape == (359, 10)
    assert ev.accuracy == pytest.approx(np.mean(ev.prob.argmax(1) == y))
    assert ev.report["accuracy"] == pytest.approx(ev.accuracy) and ev.report["test_loss"] == ev.loss
    np.testing.assert_allclose(ev.prob, r.predict(r.test_data(normalize=False)[0]), rtol=1e-6)


def test_docstring_example_runs():
    import doctest

    import nerve.runs
    result = doctest.testmod(nerve.runs)
    assert result.failed == 0 and result.attempted > 0


def test_a_folder_that_refuses_writes_is_one_line(tmp_path, monkeypatch):
    # Tests run as root, where chmod cannot make a folder read-only; refuse the write instead.
    import pathlib

    def refuse(self, *a, **k):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(pathlib.Path, "mkdir", refuse)
    with pytest.raises(RunError, match=r"cannot create the run folder .*: Permission denied$"):
        Run.create(tmp_path / "ro" / "run", dict(BASE))


def test_the_cli_reports_a_refused_write_in_one_line(tmp_path, monkeypatch, capsys):
    import pathlib

    from nerve.cli.main import main

    real = pathlib.Path.mkdir

    def refuse(self, *a, **k):
        if "ro" in self.parts:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(pathlib.Path, "mkdir", refuse)
    code = main(["train", "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path / "ro" / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "Permission denied" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_model_too_big_for_memory_is_one_line(run, monkeypatch):
    def too_big(name, **kwargs):
        raise MemoryError
    monkeypatch.setattr(models, "get_model", too_big)
    cfg = json.loads((run.path / "config.json").read_text())
    cfg["model_kwargs"] = {"activation": "elu", "num_classes": 100000000}
    (run.path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(RunError, match="needs more memory than there is; check config.json"):
        Run.open(run.path).build_model()
