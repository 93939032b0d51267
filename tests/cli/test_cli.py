"""The real `nerve` command, run as `python -m nerve ...` in a subprocess."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def nerve(*args, cwd, env=None, timeout=300):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "nerve", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def assert_user_error(result, *fragments):
    """One line on stderr starting 'nerve: error:', no traceback, exit status 2."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nerve: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One tiny training run shared by the evaluate / predict / summary tests."""
    cwd = tmp_path_factory.mktemp("cli")
    r = nerve("train", "--dataset", "digits", "--epochs", "3", "--out", "run", cwd=cwd)
    assert r.returncode == 0, r.stderr
    return cwd / "run"


def test_train_writes_the_run_folder_and_reports_progress(run_dir):
    assert {p.name for p in run_dir.iterdir()} == {"model.safetensors", "config.json", "history.json",
                                                   "history.csv", "curves.png"}
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "seed-mlp" and config["dataset"] == "digits" and config["epochs"] == 3
    assert 0 <= config["results"]["test_accuracy"] <= 1
    history = json.loads((run_dir / "history.json").read_text())
    assert history["epoch"] == [0, 1, 2] and len(history["val_accuracy"]) == 3
    assert (run_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from nerve.io import load_state_dict
    assert sum(a.size for a in load_state_dict(run_dir / "model.safetensors").values()) == 13002


def test_train_output_lines(tmp_path):
    r = nerve("train", "--dataset", "digits", "--epochs", "2", "--batch-size", "128",
              "--optimizer", "momentum", "--lr", "0.05", "--seed", "3", "--val-fraction", "0.1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    epoch_lines = [l for l in r.stderr.splitlines() if l.startswith("epoch ")]
    assert len(epoch_lines) == 2
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert f" {key} " in epoch_lines[-1]
    assert "test accuracy" in r.stdout
    runs = list((tmp_path / "runs").iterdir())  # default folder: runs/<model>-<dataset>-<time>
    assert len(runs) == 1 and runs[0].name.startswith("seed-mlp-digits-")
    config = json.loads((runs[0] / "config.json").read_text())
    chosen = (config["optimizer"], config["lr"], config["batch_size"], config["seed"])
    assert chosen == ("momentum", 0.05, 128, 3)
    assert config["model_kwargs"] == {"activation": "elu"} and config["shift"] == 1  # the tuned defaults
    quiet = nerve("train", "--dataset", "digits", "--epochs", "1", "--quiet", "--out", "q",
                  "--activation", "relu", "--shift", "0", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""
    config = json.loads((tmp_path / "q" / "config.json").read_text())
    assert config["model_kwargs"] == {"activation": "relu"} and config["shift"] == 0
    summary = nerve("summary", tmp_path / "q", cwd=tmp_path)  # rebuilt with the recorded activation
    assert summary.returncode == 0 and "ReLU" in summary.stdout and "ELU" not in summary.stdout


def test_same_seed_reproduces_every_number(tmp_path):
    for name in ("a", "b"):
        r = nerve("train", "--dataset", "digits", "--epochs", "2", "--seed", "5", "--quiet", "--out", name,
                  cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    ha = json.loads((tmp_path / "a" / "history.json").read_text())
    hb = json.loads((tmp_path / "b" / "history.json").read_text())
    assert ha == hb
    from nerve.io import load_state_dict
    wa = load_state_dict(tmp_path / "a" / "model.safetensors")
    wb = load_state_dict(tmp_path / "b" / "model.safetensors")
    assert all(wa[k].tobytes() == wb[k].tobytes() for k in wa) and list(wa) == list(wb)


def test_default_falls_back_to_digits_when_mnist_is_unavailable(tmp_path):
    env = {"NERVE_DATA_DIR": str(tmp_path / "empty"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "NERVE_MNIST_MIRRORS": "http://127.0.0.1:9/"}
    (tmp_path / "empty").mkdir()
    r = nerve("train", "--out", "fb", cwd=tmp_path, env=env)  # all defaults: 10 epochs
    assert r.returncode == 0, r.stderr
    assert "note: MNIST is not available" in r.stderr and "Digits28" in r.stderr
    config = json.loads((tmp_path / "fb" / "config.json").read_text())
    assert config["dataset"] == "digits"
    assert config["results"]["test_accuracy"] >= 0.90  # glossary row 15 (measured: 94.7 %)
    explicit = nerve("train", "--dataset", "mnist", "--epochs", "1", cwd=tmp_path, env=env)
    assert_user_error(explicit, "cannot find or download mnist", "--dataset digits")


def test_evaluate_prints_loss_accuracy_report_and_confusion_matrix(run_dir):
    r = nerve("evaluate", run_dir, cwd=run_dir.parent)
    assert r.returncode == 0, r.stderr
    config = json.loads((run_dir / "config.json").read_text())
    assert f"test accuracy {100 * config['results']['test_accuracy']:.2f} %" in r.stdout
    assert "precision" in r.stdout and "recall" in r.stdout and "macro mean" in r.stdout
    matrix = r.stdout.split("confusion matrix")[1].strip().splitlines()[2:]  # after the title and header
    counts = np.array([[int(v) for v in line.split()[1:]] for line in matrix])
    assert counts.shape == (10, 10) and counts.sum() == 359  # the Digits28 test split
    assert np.trace(counts) / counts.sum() == pytest.approx(config["results"]["test_accuracy"])


def _digit_png(path, invert=False, size=28):
    from PIL import Image

    from nerve.data.datasets import Digits28

    ds = Digits28(train=False)
    x = ds.data[0, 0]
    img = Image.fromarray((255 * ((1 - x) if invert else x)).astype(np.uint8))
    if size != 28:
        img = img.resize((size, size))
    img.save(path)
    return int(ds.targets[0])


def test_predict_prints_top_classes_with_probabilities(run_dir, tmp_path):
    _digit_png(tmp_path / "digit.png")
    r = nerve("predict", run_dir, tmp_path / "digit.png", "--top", "4", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("digit.png: ") and len(lines) == 5
    probs = [float(l.split()[-2]) for l in lines[1:]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 100.01
    assert r.stderr == ""  # already 28x28, light on dark: nothing to note
    # A large dark-on-light JPEG gives the same answer, with notes about what was changed.
    from PIL import Image
    _digit_png(tmp_path / "big.png", invert=True, size=112)
    Image.open(tmp_path / "big.png").convert("RGB").save(tmp_path / "big.jpg", quality=95)
    r2 = nerve("predict", run_dir, tmp_path / "big.jpg", cwd=tmp_path)
    assert r2.returncode == 0, r2.stderr
    assert "resized 112x112 to 28x28" in r2.stderr and "inverted" in r2.stderr
    assert r2.stdout.splitlines()[0].split(": ")[1] == lines[0].split(": ")[1]
    assert len(r2.stdout.strip().splitlines()) == 4  # --top defaults to 3


def test_summary_shows_the_layer_table(run_dir):
    r = nerve("summary", run_dir, cwd=run_dir.parent)
    assert r.returncode == 0, r.stderr
    assert "Linear" in r.stdout and "13,002" in r.stdout


def test_params_arithmetic_without_a_model(tmp_path):
    r = nerve("params", "784", "16", "16", "10", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "784×16 + 16 = 12,560" in r.stdout and "16×10 + 10 = 170" in r.stdout
    assert r.stdout.strip().splitlines()[-1] == "total: 12,960 weights + 42 biases = 13,002 parameters"
    small = nerve("params", "3", "4", "1", cwd=tmp_path)  # the 3-4-1 network: 21 parameters
    assert small.stdout.strip().endswith("= 21 parameters")


@pytest.mark.parametrize("args, fragments", [
    (["train", "--model", "resnet-9000"], ["unknown model 'resnet-9000'", "seed-mlp"]),
    (["train", "--dataset", "cifar"], ["invalid choice: 'cifar'", "'mnist', 'fashion-mnist', 'digits'"]),
    (["train", "--optimizer", "lbfgs"], ["invalid choice: 'lbfgs'", "'sgd', 'momentum', 'adam'"]),
    (["train", "--epochs", "0"], ["--epochs: must be a positive integer, got '0'"]),
    (["train", "--epochs", "-1"], ["--epochs: must be a positive integer, got '-1'"]),
    (["train", "--batch-size", "0"], ["--batch-size: must be a positive integer, got '0'"]),
    (["train", "--batch-size", "-8"], ["--batch-size: must be a positive integer, got '-8'"]),
    (["train", "--lr", "-0.1"], ["--lr: must be a positive number"]),
    (["train", "--val-fraction", "1.5"], ["--val-fraction: must be a number in [0, 1)"]),
    (["train", "--activation", "swishy"], ["unknown activation 'swishy'", "relu", "elu"]),
    (["train", "--shift", "-1"], ["--shift: must be a non-negative integer, got '-1'"]),
    (["fly"], ["invalid choice: 'fly'", "train"]),
    ([], ["required", "train,evaluate,predict,summary,params"]),
    (["params", "784"], ["at least two sizes"]),
    (["params", "784", "0", "10"], ["must be a positive integer, got '0'"]),
])
def test_bad_arguments_give_one_line_errors(tmp_path, args, fragments):
    assert_user_error(nerve(*args, cwd=tmp_path), *fragments)


def test_bad_files_give_one_line_errors(run_dir, tmp_path):
    (tmp_path / "notes.png").write_text("this is text")
    (tmp_path / "not_a_run").mkdir()
    _digit_png(tmp_path / "digit.png")
    cases = [
        (["predict", run_dir, tmp_path / "missing.png"], ["no such file", "missing.png"]),
        (["predict", run_dir, tmp_path / "notes.png"], ["notes.png is not an image"]),
        (["predict", run_dir, tmp_path], ["is a directory, not an image"]),
        (["predict", run_dir, tmp_path / "digit.png", "--top", "0"], ["--top: must be a positive integer"]),
        (["predict", tmp_path / "not_a_run", tmp_path / "digit.png"], ["not_a_run is not a run folder"]),
        (["evaluate", tmp_path / "not_a_run"], ["is not a run folder", "config.json"]),
        (["evaluate", tmp_path / "nowhere"], ["no such run folder"]),
        (["evaluate", tmp_path / "notes.png"], ["is not a run folder (it is a file)"]),
        (["train", "--dataset", "digits", "--out", tmp_path / "notes.png"], ["notes.png is a file"]),
        (["summary", tmp_path / "not_a_run"], ["is not a run folder"]),
    ]
    for args, fragments in cases:
        assert_user_error(nerve(*args, cwd=tmp_path), *fragments)
    # A run folder whose weights are damaged or from another architecture.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((run_dir / "config.json").read_text())
    (broken / "model.safetensors").write_bytes(b"\x00" * 64)
    assert_user_error(nerve("evaluate", broken, cwd=tmp_path), "not a safetensors file")
    from nerve.io import save_safetensors
    save_safetensors({"1.weight": np.zeros((8, 784), np.float32)}, broken / "model.safetensors")
    assert_user_error(nerve("summary", broken, cwd=tmp_path), "missing 5 tensor(s)", "wrong shape")
    (broken / "config.json").write_text("{not json")
    assert_user_error(nerve("summary", broken, cwd=tmp_path), "config.json is not valid JSON")


def test_default_train_reaches_the_mnist_target(tmp_path):
    # The acceptance run: `nerve train` with no options, about 10 s on 2 cores.
    data_dir = Path(os.environ.get("NERVE_DATA_DIR", ""))
    if not (data_dir / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("the MNIST IDX files are not in NERVE_DATA_DIR")
    r = nerve("train", "--out", "mnist-run", cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr
    config = json.loads((tmp_path / "mnist-run" / "config.json").read_text())
    assert config["dataset"] == "mnist" and config["model"] == "seed-mlp"
    assert config["results"]["test_accuracy"] >= 0.963
    assert config["epochs"] == 10 and config["model_kwargs"] == {"activation": "elu"}


def test_train_diagnose_reports_a_too_high_learning_rate(tmp_path):
    r = nerve("train", "--dataset", "digits", "--epochs", "3", "--optimizer", "sgd", "--lr", "10",
              "--diagnose", "--quiet", "--out", "run", cwd=tmp_path)
    report = (tmp_path / "run" / "diagnosis.txt").read_text()
    assert "diverg" in report.lower(), report
    assert "diverg" in r.stderr.lower()
    # the run blew up: one clear error line after the report, no traceback
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("nerve: error: the loss became nan")


def test_train_diagnose_is_quiet_on_a_healthy_run(tmp_path):
    r = nerve("train", "--dataset", "digits", "--epochs", "3", "--diagnose", "--quiet", "--out", "run",
              cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    report = (tmp_path / "run" / "diagnosis.txt").read_text().lower()
    assert "diverg" not in report and "vanishing" not in report and "overfit" not in report, report
