"""The real `nerve` command, run as `python -m nerve ...` in a subprocess."""
import json
import os
import shutil
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
                                                   "history.csv", "curves.png", "manifest.json", "checkpoint"}
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "seed-mlp" and config["dataset"] == "digits" and config["epochs"] == 3
    assert config["results"]["test_accuracy"] >= 0.84  # measured: 86.6 % after 3 epochs
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
    runs = [p for p in (tmp_path / "runs").iterdir() if p.name != "latest"]
    assert len(runs) == 1 and runs[0].name.startswith("seed-mlp-digits-")  # runs/<model>-<dataset>-<time>
    latest = tmp_path / "runs" / "latest"  # and a link to it, so the next commands need no time stamp
    assert latest.is_symlink() and os.readlink(latest) == runs[0].name
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
    assert config["results"]["test_accuracy"] >= 0.93  # glossary row 15 (measured: 94.4 %)
    explicit = nerve("train", "--dataset", "mnist", "--epochs", "1", cwd=tmp_path, env=env)
    assert_user_error(explicit, "cannot find or download mnist", "--dataset digits")


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _copy_run(run_dir, tmp_path):
    """A private copy of the shared run, so files one test writes do not reach the others."""
    return Path(shutil.copytree(run_dir, tmp_path / "run"))


def _run_predictions(run):
    """Test labels and softmax probabilities of a run, recomputed in-process with the nerve API."""
    import nerve as nv
    from nerve import models
    from nerve.data.datasets import Digits28
    from nerve.io import load_weights

    config = json.loads((run / "config.json").read_text())
    model = models.get_model(config["model"], **config["model_kwargs"])
    load_weights(model, run / "model.safetensors")
    model.eval()
    test = Digits28(train=False)
    norm = config["normalize"]
    x = ((test.data - np.float32(norm["mean"])) / np.float32(norm["std"])).astype(np.float32)
    with nv.no_grad():
        logits = model(nv.tensor(x)).numpy().astype(np.float64)
    prob = np.exp(logits - logits.max(1, keepdims=True))
    return test.targets, prob / prob.sum(1, keepdims=True)


def test_evaluate_prints_loss_accuracy_report_and_confusion_matrix(run_dir, tmp_path):
    run = _copy_run(run_dir, tmp_path)
    r = nerve("evaluate", run, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    config = json.loads((run / "config.json").read_text())
    assert f"test accuracy {100 * config['results']['test_accuracy']:.2f} %" in r.stdout
    assert "precision" in r.stdout and "recall" in r.stdout and "macro mean" in r.stdout
    assert "ROC AUC one vs rest: macro " in r.stdout
    block = r.stdout.split("confusion matrix")[1].strip().split("\n\n")[0]
    matrix = block.splitlines()[2:]  # after the title and header
    counts = np.array([[int(v) for v in line.split()[1:]] for line in matrix])
    assert counts.shape == (10, 10) and counts.sum() == 359  # the Digits28 test split
    assert np.trace(counts) / counts.sum() == pytest.approx(config["results"]["test_accuracy"])
    assert r.stdout.strip().splitlines()[-1].startswith("wrote ") and "report.json" in r.stdout


def test_evaluate_writes_plots_and_a_report_that_matches_nerve_metrics(run_dir, tmp_path):
    from nerve import metrics

    run = _copy_run(run_dir, tmp_path)
    r = nerve("evaluate", run, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ("confusion_matrix.png", "roc.png", "pr.png"):
        assert (run / name).read_bytes()[:8] == PNG_MAGIC, name
    report = json.loads((run / "report.json").read_text())
    y, prob = _run_predictions(run)
    pred = prob.argmax(1)
    classes = json.loads((run / "config.json").read_text())["classes"]
    labels = list(range(10))
    assert report["model"] == "seed-mlp" and report["dataset"] == "digits" and report["samples"] == 359
    assert report["classes"] == classes
    assert report["accuracy"] == pytest.approx(metrics.accuracy(y, pred), abs=1e-12)
    assert report["confusion_matrix"] == metrics.confusion_matrix(y, pred, labels=labels).tolist()
    for avg in ("macro", "weighted"):
        p, rec, f1, _ = metrics.precision_recall_fscore_support(y, pred, labels=labels, average=avg,
                                                                zero_division=0)
        assert report[avg] == pytest.approx({"precision": p, "recall": rec, "f1": f1}, abs=1e-9)
    p, rec, f1, support = metrics.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    auc = metrics.roc_auc_score(y, prob, average=None, labels=labels)
    ap = metrics.average_precision_score(y, prob, average=None, labels=labels)
    for c, name in enumerate(classes):
        row = report["per_class"][name]
        assert row["support"] == support[c]
        assert [row["precision"], row["recall"], row["f1"]] == pytest.approx([p[c], rec[c], f1[c]], abs=1e-9)
        assert row["roc_auc"] == pytest.approx(auc[c], abs=1e-6)
        assert row["average_precision"] == pytest.approx(ap[c], abs=1e-6)
    assert report["roc_auc"]["macro"] == pytest.approx(metrics.roc_auc_score(y, prob, average="macro"),
                                                       abs=1e-6)
    assert report["roc_auc"]["micro"] == pytest.approx(metrics.roc_auc_score(y, prob, average="micro"),
                                                       abs=1e-6)
    assert report["average_precision"]["micro"] == pytest.approx(
        metrics.average_precision_score(y, prob, average="micro"), abs=1e-6)
    assert 0.5 < report["roc_auc"]["macro"] <= 1.0


def _without(tmp_path, package):
    """Environment whose PYTHONPATH puts a stand-in for ``package`` first that fails to import."""
    fake = tmp_path / f"no-{package}" / package
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(f"raise ImportError('{package} is hidden for this test')\n")
    return {"PYTHONPATH": os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")])}


def test_evaluate_without_matplotlib_notes_it_once_and_skips_the_pngs(run_dir, tmp_path):
    run = _copy_run(run_dir, tmp_path)
    r = nerve("evaluate", run, cwd=tmp_path, env=_without(tmp_path, "matplotlib"))
    assert r.returncode == 0, r.stderr
    notes = [l for l in r.stderr.splitlines() if l.startswith("note:")]
    assert len(notes) == 1 and "matplotlib is not installed" in notes[0], r.stderr
    assert (run / "report.json").is_file()
    assert not any((run / n).exists() for n in ("confusion_matrix.png", "roc.png", "pr.png"))


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


def _digit_pngs(folder, n):
    """The first ``n`` test digits as PNG files in ``folder``; their labels."""
    from PIL import Image

    from nerve.data.datasets import Digits28

    ds = Digits28(train=False)
    folder.mkdir(exist_ok=True)
    for i in range(n):
        Image.fromarray((255 * ds.data[i, 0]).astype(np.uint8)).save(folder / f"d{i}.png")
    return [int(t) for t in ds.targets[:n]]


def test_predict_a_folder_or_several_files_prints_a_table(run_dir, tmp_path):
    _digit_pngs(tmp_path / "digits", 4)
    (tmp_path / "digits" / "readme.txt").write_text("not an image")
    r = nerve("predict", run_dir, tmp_path / "digits", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["file", "top"] and len(lines) == 2 + 4
    rows = {l.split()[0]: l.split()[1] for l in lines[2:]}
    assert sorted(rows) == ["d0.png", "d1.png", "d2.png", "d3.png"]  # the .txt is skipped
    for name, guess in rows.items():  # each row says what predicting that file alone says
        one = nerve("predict", run_dir, tmp_path / "digits" / name, cwd=tmp_path)
        assert one.returncode == 0 and one.stdout.splitlines()[0] == f"{name}: {guess}"
    two = nerve("predict", run_dir, tmp_path / "digits" / "d3.png", tmp_path / "digits" / "d1.png",
                cwd=tmp_path)
    assert [l.split()[0] for l in two.stdout.strip().splitlines()[2:]] == ["d3.png", "d1.png"]
    (tmp_path / "empty").mkdir()
    bad = nerve("predict", run_dir, tmp_path / "empty", cwd=tmp_path)
    assert bad.returncode == 2 and "holds no image files" in bad.stderr and "Traceback" not in bad.stderr
    missing = nerve("predict", run_dir, tmp_path / "digits" / "d0.png", tmp_path / "nope.png", cwd=tmp_path)
    assert missing.returncode == 2 and "no such file" in missing.stderr and "nope.png" in missing.stderr


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
    ([], ["required", "train,evaluate,predict,features,summary,params,data,bench"]),
    (["train", "--limit", "0"], ["--limit: must be a positive integer, got '0'"]),
    (["train", "--dataset", "digits", "--model", "unet"], ["model 'unet' cannot take the (1, 28, 28)"]),
    (["bench", "--reps", "0"], ["--reps: must be a positive integer"]),
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
        # a folder is read image by image (a table); one that cannot be read is named
        (["predict", run_dir, tmp_path], ["notes.png is not an image"]),
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


# ----------------------------------------------------------------- CNNs and `nerve features`
@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory):
    """LeNet-5 trained for one epoch on the bundled digits."""
    cwd = tmp_path_factory.mktemp("lenet")
    r = nerve("train", "--model", "lenet5", "--dataset", "digits", "--epochs", "1", "--quiet", "--out", "run",
              cwd=cwd)
    assert r.returncode == 0, r.stderr
    return cwd / "run"


def test_lenet5_trains_on_digits_with_shifts(lenet_run):
    config = json.loads((lenet_run / "config.json").read_text())
    assert config["model"] == "lenet5" and config["input_shape"] == [1, 28, 28] and config["shift"] == 1
    assert config["results"]["test_accuracy"] >= 0.60  # one epoch of 11 steps (measured: 66.0 %)
    from nerve.io import load_state_dict
    assert sum(a.size for a in load_state_dict(lenet_run / "model.safetensors").values()) == 61706


def test_lenet5_trains_on_an_mnist_subset_with_limit(tmp_path):
    data_dir = Path(os.environ.get("NERVE_DATA_DIR", ""))
    if not (data_dir / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("the MNIST IDX files are not in NERVE_DATA_DIR")
    r = nerve("train", "--model", "lenet5", "--dataset", "mnist", "--epochs", "1", "--limit", "1000",
              "--out", "run", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "950 train / 50 val / 10000 test samples" in r.stderr  # the first 1,000, 5 % held out
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["limit"] == 1000 and config["dataset"] == "mnist" and config["shift"] == 1
    assert config["results"]["test_accuracy"] >= 0.60  # measured: 65.5 %


def test_cnns_from_the_zoo_are_built_for_digit_images(tmp_path):
    # seed-cnn defaults to 3-channel 224x224 inputs; the CLI builds it for (1, 28, 28).
    r = nerve("train", "--model", "seed-cnn", "--dataset", "digits", "--epochs", "1", "--limit", "200",
              "--quiet", "--out", "run", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model_kwargs"] == {"in_channels": 1, "image_size": 28}


def test_features_draws_filters_and_feature_maps(lenet_run, tmp_path):
    r = nerve("features", lenet_run, "--out", tmp_path / "default", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ("filters.png", "feature_maps.png"):
        assert (tmp_path / "default" / name).read_bytes()[:8] == PNG_MAGIC
    lines = r.stdout.strip().splitlines()
    assert "the 6 filters of features.0 (5×5, 1 input channel)" in lines[0]
    # default layer: the ReLU after the first conv; input: the first test image
    assert "6 feature maps 28×28 at features.1 (ReLU)" in lines[1] and "first digits test image" in lines[1]
    # a chosen layer and a dark-on-light image file, prepared as `nerve predict` prepares it
    _digit_png(tmp_path / "digit.png", invert=True, size=56)
    r2 = nerve("features", lenet_run, "--image", tmp_path / "digit.png", "--layer", "features.4",
               "--out", tmp_path / "pool", cwd=tmp_path)
    assert r2.returncode == 0, r2.stderr
    assert "16 feature maps 10×10 at features.4 (ReLU) for digit.png" in r2.stdout
    assert "resized 56x56 to 28x28" in r2.stderr and "inverted" in r2.stderr
    assert (tmp_path / "pool" / "feature_maps.png").read_bytes()[:8] == PNG_MAGIC
    # without --out the pictures go into the run folder
    run = _copy_run(lenet_run, tmp_path)
    assert nerve("features", run, cwd=tmp_path).returncode == 0
    assert (run / "filters.png").is_file() and (run / "feature_maps.png").is_file()


def test_features_errors(lenet_run, run_dir, tmp_path):
    (tmp_path / "notes.png").write_text("this is text")
    layers = "features.0, features.1, features.2, features.3, features.4, features.5"
    cases = [
        (["features", run_dir], ["filters need a conv layer", "'seed-mlp'"]),
        (["features", tmp_path / "nowhere"], ["no such run folder"]),
        (["features", lenet_run, "--layer", "conv9"], ["--layer 'conv9' does not exist in lenet5", layers]),
        (["features", lenet_run, "--layer", "classifier.0"],
         ["outputs shape (1, 120), not feature maps", layers]),
        (["features", lenet_run, "--image", tmp_path / "notes.png"], ["notes.png is not an image"]),
        (["features", lenet_run, "--image", tmp_path / "missing.png"], ["no such file"]),
        (["features", lenet_run, "--out", tmp_path / "notes.png"], ["notes.png is a file"]),
        (["features", lenet_run, "--out", tmp_path / "notes.png" / "pics"], ["cannot write into"]),
    ]
    for args, fragments in cases:
        assert_user_error(nerve(*args, cwd=tmp_path), *fragments)
    assert not (tmp_path / "nowhere").exists()


# ---------------------------------------------------------------------------- nerve bench
def test_bench_runs_the_suite_and_prints_the_summary_table(tmp_path):
    pytest.importorskip("torch")
    r = nerve("bench", "--quick", "--no-memory", "c1", "--json", tmp_path / "bench.json", cwd=tmp_path,
              timeout=600)
    assert r.returncode == 0, r.stderr
    assert "summary (ratio = nerve speed / torch speed" in r.stdout
    assert "| id | nerve steps/s | torch steps/s | ratio |" in r.stdout
    rows = [l for l in r.stdout.splitlines() if l.startswith("| C1 |")]
    assert len(rows) == 1
    results = json.loads((tmp_path / "bench.json").read_text())["results"]
    assert [row["id"] for row in results] == ["C1"] and results[0]["ratio"] > 0


def test_bench_errors(tmp_path):
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    if have_torch:  # the ids are checked against the suite, which needs torch to load
        assert_user_error(nerve("bench", "--quick", "W99", cwd=tmp_path), "unknown quick benchmark 'W99'",
                          "C1")
        assert_user_error(nerve("bench", "--json", tmp_path / "no" / "b.json", "C1", cwd=tmp_path),
                          "does not exist")
    assert_user_error(nerve("bench", "--quick", "C1", cwd=tmp_path, env=_without(tmp_path, "torch")),
                      "pip install torch==2.13.0")


def test_bench_needs_no_source_checkout(tmp_path):
    """The suite is inside the package: it imports with only nerve's folder on the path (as
    from a wheel), without torch, and reaches for no repository benchmarks/ folder."""
    import nerve as nv

    hide_torch = _without(tmp_path, "torch")["PYTHONPATH"].split(os.pathsep)[0]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([hide_torch, str(Path(nv.__file__).parents[1])])}
    code = ("import sys, nerve.bench as b; assert 'torch' not in sys.modules; "
            "assert not any(m.split('.')[0] == 'benchmarks' for m in sys.modules); print(sorted(b.QUICK))")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "'C1'" in r.stdout
    r = subprocess.run([sys.executable, "-m", "nerve.bench", "--quick", "C1"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "pip install 'torch==2.13.0'" in r.stderr


# ------------------------------------------- after the first command: data sources, predict, data
def _no_data_env(tmp_path):
    """No NERVE_DATA_DIR, an empty user cache, a mirror that refuses connections."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return {"NERVE_DATA_DIR": "", "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path / "home"),
            "NERVE_MNIST_MIRRORS": f"http://127.0.0.1:{port}/"}


def _as_mnist_run(run, tmp_path, data_folder):
    """A copy of a digits run whose config says MNIST, with its data recorded in ``data_folder``
    (the models take 28x28 images either way, so the weights fit)."""
    copy = Path(shutil.copytree(run, tmp_path / f"mnist-{run.parent.name}"))
    config = json.loads((copy / "config.json").read_text())
    config["dataset"] = "mnist"
    config["data_source"] = {"train": str(data_folder), "test": str(data_folder)}
    (copy / "config.json").write_text(json.dumps(config))
    return copy


def _mnist_test_files(tmp_path):
    data_dir = Path(os.environ.get("NERVE_DATA_DIR", ""))
    if not (data_dir / "mnist" / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("the MNIST IDX files are not in NERVE_DATA_DIR")
    folder = tmp_path / "recorded"
    folder.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(data_dir / "mnist" / name, folder / name)
    return folder


def test_commands_use_the_data_folder_the_run_recorded(run_dir, tmp_path):
    folder = _mnist_test_files(tmp_path)
    run = _as_mnist_run(run_dir, tmp_path, folder)
    env = _no_data_env(tmp_path)  # nothing else anywhere: only the recorded folder has MNIST
    r = nerve("evaluate", run, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert "on the mnist test set (10000 samples)" in r.stdout
    p = nerve("predict", run, "--index", "0", cwd=tmp_path, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("mnist test sample 0: label 7, predicted ")  # the classes of the config
    # verified from the run's folder, so the user cache now remembers it for every later session
    sources = json.loads((tmp_path / "cache" / "nerve" / "sources.json").read_text())
    assert sources["datasets"]["mnist"]["t10k-labels-idx1-ubyte.gz"] == str(
        (folder / "t10k-labels-idx1-ubyte.gz").resolve())


def test_data_not_found_names_the_places_searched_and_the_fix(run_dir, lenet_run, tmp_path):
    env = _no_data_env(tmp_path)
    gone = tmp_path / "gone"  # the folder the runs recorded, deleted since
    cache = tmp_path / "cache" / "nerve" / "mnist"
    mlp, cnn = _as_mnist_run(run_dir, tmp_path, gone), _as_mnist_run(lenet_run, tmp_path, gone)
    recorded = f"Searched: {gone / 'mnist' / 't10k-images-idx3-ubyte.gz'}, "  # the run's folder first
    cases = [(["evaluate", mlp], ["cannot load the mnist test set", recorded]),
             (["predict", mlp], ["cannot load the mnist test set", recorded]),
             (["predict", mlp, "--index", "3"], ["cannot load the mnist test set", recorded]),
             (["features", cnn], ["cannot load the mnist test set", recorded]),
             (["train", "--dataset", "mnist", "--epochs", "1"], ["cannot find or download mnist", "Searched: "]),
             (["data", "fetch", "mnist"], ["cannot fetch mnist", "Searched: "])]
    for args, fragments in cases:
        r = nerve(*args, cwd=tmp_path, env=env)
        assert_user_error(r, *fragments, "not found", f"{cache / 't10k-images-idx3-ubyte.gz'}"
                          if args[0] != "train" and args[0] != "data" else f"{cache}",
                          "downloads failed: http://127.0.0.1", "Fix: run 'nerve data fetch mnist'")


def test_predict_without_an_image_shows_test_samples(run_dir, tmp_path):
    r = nerve("predict", run_dir, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    blocks = r.stdout.strip().split("\n\n")
    assert len(blocks) == 3  # a few samples by default
    y, prob = _run_predictions(run_dir)
    classes = json.loads((run_dir / "config.json").read_text())["classes"]
    for i, block in enumerate(blocks):
        lines = block.splitlines()
        assert lines[0].startswith(f"digits test sample {i}: label {classes[y[i]]}, predicted "
                                   f"{classes[prob[i].argmax()]}")
        art, top = lines[1:15], lines[15:]
        assert len(art) == 14 and all(len(a) == 28 for a in art)  # 28x28 pixels, two rows a line
        assert len(set("".join(art))) > 3  # a picture, not a blank
        assert len(top) == 3 and top[0].split()[-2] == f"{100 * prob[i].max():.2f}"
    one = nerve("predict", run_dir, "--index", "17", "--top", "2", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith(f"digits test sample 17: label {classes[y[17]]}")
    assert len(one.stdout.strip().splitlines()) == 1 + 14 + 2
    assert_user_error(nerve("predict", run_dir, "--index", "359", cwd=tmp_path),
                      "--index 359 is past the end", "359 samples")
    _digit_png(tmp_path / "digit.png")
    assert_user_error(nerve("predict", run_dir, tmp_path / "digit.png", "--index", "2", cwd=tmp_path),
                      "--index picks a test sample")
    drawn = nerve("predict", run_dir, "--count", "4", "--png", tmp_path / "samples.png", cwd=tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    assert (tmp_path / "samples.png").read_bytes()[:8] == PNG_MAGIC and drawn.stdout.endswith(
        f"wrote {tmp_path / 'samples.png'}\n") and len(drawn.stdout.split("\n\n")) == 4
    assert_user_error(nerve("predict", run_dir, "--png", tmp_path / "no" / "s.png", cwd=tmp_path),
                      "does not exist")


def test_data_lists_fetches_and_prints_the_cache(tmp_path):
    env = _no_data_env(tmp_path)
    r = nerve("data", "path", cwd=tmp_path, env=env)
    assert r.returncode == 0 and r.stdout.strip() == str(tmp_path / "cache" / "nerve")
    listing = nerve("data", cwd=tmp_path, env=env)
    assert listing.returncode == 0, listing.stderr
    rows = {l.split()[0]: l.split()[1] for l in listing.stdout.splitlines()[1:4]}
    assert rows == {"mnist": "missing", "fashion-mnist": "missing", "digits": "bundled"}
    assert "'nerve data fetch mnist' gets it" in listing.stdout
    data_dir = Path(os.environ.get("NERVE_DATA_DIR", ""))
    if not (data_dir / "mnist" / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("the MNIST IDX files are not in NERVE_DATA_DIR")
    f = nerve("data", "fetch", "MNIST", "--from", data_dir, cwd=tmp_path, env=env)
    assert f.returncode == 0, f.stderr
    assert f.stdout.strip() == f"mnist: 4 files verified (SHA-256), 11.6 MB, in {data_dir / 'mnist'}"
    listing = nerve("data", cwd=tmp_path, env=env)  # remembered, with no environment variable
    mnist = next(l for l in listing.stdout.splitlines() if l.startswith("mnist "))
    assert mnist.split()[1:4] == ["verified", "11.6", "MB"]
    assert f"{(data_dir / 'mnist').resolve()} (recorded)" in mnist  # the record holds the real path
    for args, fragments in [(["data", "fetch"], ["needs a dataset name", "mnist, fashion-mnist, digits"]),
                            (["data", "fetch", "cifar10"], ["unknown dataset 'cifar10'", "mnist"]),
                            (["data", "fetch", "mnist", "--from", tmp_path / "nowhere"], ["no such folder"]),
                            (["data", "mnist"], ["invalid choice: 'mnist'"]),
                            (["data", "list", "mnist"], ["takes no name", "nerve data fetch mnist"]),
                            (["data", "path", "mnist"], ["takes no dataset name"])]:
        assert_user_error(nerve(*args, cwd=tmp_path, env=env), *fragments)


# ------------------------------------------------------------ runs you can trust (nerve.runs underneath)
def test_train_refuses_an_existing_run_folder_unless_overwrite(run_dir, tmp_path):
    run = _copy_run(run_dir, tmp_path)
    assert nerve("evaluate", run, cwd=tmp_path).returncode == 0  # report.json and plots beside the weights
    before = (run / "model.safetensors").read_bytes()
    r = nerve("train", "--dataset", "digits", "--epochs", "1", "--out", run, cwd=tmp_path)
    assert_user_error(r, f"--out {run} already holds files", "--overwrite", f"--resume {run}")
    assert (run / "model.safetensors").read_bytes() == before  # untouched
    r = nerve("train", "--dataset", "digits", "--epochs", "1", "--quiet", "--out", run, "--overwrite", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not (run / "report.json").exists() and not (run / "roc.png").exists()  # nothing of the old run mixes in
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and json.loads((run / "history.json").read_text())["epoch"] == [0]
    assert set(manifest["artifacts"]) == {"config.json", "model.safetensors", "history.json", "history.csv",
                                          "curves.png"}


def test_config_names_go_through_the_strict_registries(run_dir, tmp_path):
    run = _copy_run(run_dir, tmp_path)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps(dict(config, dataset="DIGITS")))
    r = nerve("evaluate", run, cwd=tmp_path)
    assert r.returncode == 0 and "seed-mlp on the digits test set (359 samples)" in r.stdout
    (run / "config.json").write_text(json.dumps(dict(config, dataset="cifar10")))
    assert_user_error(nerve("evaluate", run, cwd=tmp_path), "unknown dataset 'cifar10'",
                      "mnist, fashion-mnist, digits")
    (run / "config.json").write_text(json.dumps(dict(config, model="chapter1-mlp", model_kwargs={})))
    for command in ("evaluate", "predict", "summary"):
        assert_user_error(nerve(command, run, cwd=tmp_path), "holds weights of model 'seed-mlp'",
                          "config.json names 'chapter1-mlp'")
    (run / "config.json").write_text(json.dumps(dict(config, normalize={"mean": 0.1, "std": 0})))
    assert_user_error(nerve("predict", run, cwd=tmp_path), "normalize.std must be a positive finite number")


def _strict_json(path):
    def refuse(token):
        raise ValueError(f"{path} holds the non-JSON token {token}")
    return json.loads(Path(path).read_text(), parse_constant=refuse)


def test_a_diverging_run_stops_keeps_its_last_finite_epoch_and_says_so(tmp_path):
    r = nerve("train", "--dataset", "digits", "--epochs", "6", "--optimizer", "momentum", "--lr", "2",
              "--quiet", "--out", "d", cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nerve: error: the loss became nan at epoch 3"), r.stderr
    assert "d is marked diverged and keeps the weights of epoch 2" in lines[0] and "--diagnose" in lines[0]
    run = tmp_path / "d"
    manifest = _strict_json(run / "manifest.json")
    assert manifest["status"] == "diverged" and "epoch 3" in manifest["message"]
    for name in ("config.json", "history.json"):
        _strict_json(run / name)
    assert _strict_json(run / "history.json")["epoch"] == [0, 1]
    from nerve.io import load_state_dict
    kept = load_state_dict(run / "model.safetensors")
    last = load_state_dict(run / "checkpoint" / "last" / "model.safetensors")
    assert all(np.isfinite(a).all() and a.tobytes() == last[k].tobytes() for k, a in kept.items())
    e = nerve("evaluate", run, cwd=tmp_path)  # usable, with a note that says what it is
    assert e.returncode == 0 and "marked diverged" in e.stderr and "Traceback" not in e.stderr
    # diverging in the first epoch: nothing finite to keep, and later commands say so in one line
    r = nerve("train", "--dataset", "digits", "--epochs", "2", "--optimizer", "sgd", "--lr", "1e308",
              "--out", "x", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1].endswith(
        "x is marked diverged and keeps no weights (--diagnose names the op that first produced it)")
    assert "Warning" not in r.stderr and _strict_json(tmp_path / "x" / "manifest.json")["status"] == "diverged"
    for command in ("evaluate", "predict", "summary", "features"):
        assert_user_error(nerve(command, "x", cwd=tmp_path), "x has no weights: training diverged")
    assert_user_error(nerve("train", "--resume", "d", cwd=tmp_path), "d diverged (the loss became nan",
                      "would diverge again")


RESUMABLE = ["train", "--dataset", "digits", "--epochs", "6", "--batch-size", "4", "--quiet"]  # shifts on


def _stop_after_epoch(tmp_path, out, sig, epoch=2):
    """Start a run and send ``sig`` inside the epoch after ``epoch`` finished epochs were saved."""
    import signal

    from pause_run import paused_env, wait_paused
    env, ready = paused_env(tmp_path, epoch)
    p = subprocess.Popen([sys.executable, "-m", "nerve", *RESUMABLE, "--out", out], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_paused(p, ready)
    assert json.loads((tmp_path / out / "checkpoint" / "last" / "checkpoint.json").read_text())["epoch"] == epoch
    p.send_signal(sig)
    out_text, err = p.communicate(timeout=120)
    assert sig != signal.SIGKILL or p.returncode == -signal.SIGKILL
    return p.returncode, err


def test_resume_after_sigkill_and_after_ctrl_c_is_bit_identical(tmp_path):
    import signal

    from nerve.io import load_state_dict
    ref = nerve(*RESUMABLE, "--out", "ref", cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr
    want_w = load_state_dict(tmp_path / "ref" / "model.safetensors")
    want_h = json.loads((tmp_path / "ref" / "history.json").read_text())

    code, err = _stop_after_epoch(tmp_path, "killed", signal.SIGKILL)
    assert _strict_json(tmp_path / "killed" / "manifest.json")["status"] == "running"
    code, err = _stop_after_epoch(tmp_path, "stopped", signal.SIGINT)
    assert code == 130 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nerve: interrupted; stopped keeps epoch "), err
    assert "nerve train --resume stopped" in lines[0]
    manifest = _strict_json(tmp_path / "stopped" / "manifest.json")
    assert manifest["status"] == "interrupted"
    kept_epoch = int(lines[0].split("keeps epoch ")[1].split()[0])
    assert kept_epoch == 2 and len(_strict_json(tmp_path / "stopped" / "history.json")["epoch"]) == kept_epoch
    assert nerve("evaluate", "stopped", cwd=tmp_path).returncode == 0  # the kept epoch is usable meanwhile

    for name in ("killed", "stopped"):
        r = nerve("train", "--resume", name, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert f"resuming {name} from epoch " in r.stderr
        got = load_state_dict(tmp_path / name / "model.safetensors")
        assert list(got) == list(want_w) and all(got[k].tobytes() == want_w[k].tobytes() for k in got), name
        assert json.loads((tmp_path / name / "history.json").read_text()) == want_h
        assert _strict_json(tmp_path / name / "manifest.json")["status"] == "complete"
    assert_user_error(nerve("train", "--resume", "ref", cwd=tmp_path), "ref is complete (6 epochs); nothing to resume")
    # stopped after its last checkpoint but before the end: resuming only finishes it
    manifest = _strict_json(tmp_path / "ref" / "manifest.json")
    (tmp_path / "ref" / "manifest.json").write_text(json.dumps(dict(manifest, status="running")))
    (tmp_path / "ref" / "model.safetensors").unlink()
    r = nerve("train", "--resume", "ref", cwd=tmp_path)
    assert r.returncode == 0 and "resuming ref from epoch 6" in r.stderr, r.stderr
    got = load_state_dict(tmp_path / "ref" / "model.safetensors")
    assert all(got[k].tobytes() == want_w[k].tobytes() for k in got)
    assert _strict_json(tmp_path / "ref" / "manifest.json")["status"] == "complete"
    (tmp_path / "ref" / "manifest.json").unlink()  # a run from before manifests counts as complete
    assert_user_error(nerve("train", "--resume", "ref", cwd=tmp_path), "nothing to resume")
    assert_user_error(nerve("train", "--resume", "ref", "--lr", "0.1", cwd=tmp_path), "drop --lr")


def test_sigterm_stops_like_ctrl_c(tmp_path):
    import signal
    code, err = _stop_after_epoch(tmp_path, "t", signal.SIGTERM, epoch=1)
    assert code == 130 and err.strip().startswith("nerve: interrupted; t keeps epoch ")
    assert _strict_json(tmp_path / "t" / "manifest.json")["status"] == "interrupted"
    assert (tmp_path / "t" / "model.safetensors").is_file()


def test_no_command_answers_bad_input_with_a_traceback(run_dir, tmp_path):
    """The README's promise, enforced: every command over a table of bad inputs gives one line."""
    import struct
    import zlib
    from PIL import Image

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    bomb = tmp_path / "bomb.png"  # a header that claims 20000x20000 pixels
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    (tmp_path / "file").write_text("x")
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "ok.png")
    config = json.loads((run_dir / "config.json").read_text())
    edited = {}
    for name, change in [("types", {"epochs": "ten", "input_shape": "28x28"}), ("kwargs", {"model_kwargs": [1]}),
                         ("std0", {"normalize": {"mean": 0.1, "std": 0.0}}), ("nan", {"normalize": "NaN"}),
                         ("classes", {"classes": 10}), ("model", {"model": None}), ("dataset", {"dataset": "MNIST-2"}),
                         ("source", {"data_source": [1]})]:
        run = Path(shutil.copytree(run_dir, tmp_path / f"edited-{name}"))
        (run / "config.json").write_text(json.dumps(dict(config, **change)))
        edited[name] = run
    table = [
        ["train", "--dataset", "digits", "--out", tmp_path / "file" / "run"],
        ["train", "--dataset", "digits", "--shift", "1000"],
        ["train", "--dataset", "digits", "--resume", tmp_path / "nowhere"],
        ["train", "--dataset", "digits", "--resume", tmp_path / "file"],
        ["train", "--resume", run_dir, "--seed", "3"],
        ["predict", run_dir, bomb], ["features", run_dir, "--image", bomb],
        ["predict", run_dir, "--index", "-1"], ["predict", run_dir, "--count", "0"],
        ["predict", run_dir, tmp_path / "ok.png", "--index", "1"],
        ["evaluate", run_dir, "--batch-size", "0"], ["evaluate", tmp_path / "file"],
        ["summary", tmp_path / "nowhere"], ["features", run_dir, "--layer", "x"],
        ["data", "fetch", "imagenet"], ["data", "path", "mnist"], ["data", "list", "--from", tmp_path],
        ["params"], ["params", "x", "y"],
        *[[("evaluate", "predict", "summary")[i % 3], run] for i, run in enumerate(edited.values())],
    ]
    for args in table:
        r = nerve(*args, cwd=tmp_path)
        assert "Traceback" not in r.stderr, f"{args}\n{r.stderr}"
        assert_user_error(r)


def test_a_different_seed_gives_a_different_run(run_dir, tmp_path):
    r = nerve("train", "--dataset", "digits", "--epochs", "3", "--seed", "1", "--quiet", "--out", "s1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    from nerve.io import load_state_dict
    w0, w1 = load_state_dict(run_dir / "model.safetensors"), load_state_dict(tmp_path / "s1" / "model.safetensors")
    assert all(not np.array_equal(w0[k], w1[k]) for k in w0)
    h0 = json.loads((run_dir / "history.json").read_text())
    h1 = json.loads((tmp_path / "s1" / "history.json").read_text())
    assert h0["loss"] != h1["loss"]
    c0, c1 = (json.loads((p / "config.json").read_text()) for p in (run_dir, tmp_path / "s1"))
    assert c0["seed"] == 0 and c1["seed"] == 1 and c0["normalize"] != c1["normalize"]  # another validation split


def test_normalisation_statistics_come_from_the_training_part_only(run_dir):
    from nerve.data.datasets import Digits28
    config = json.loads((run_dir / "config.json").read_text())
    x = Digits28(train=True).data
    order = np.random.default_rng(config["seed"]).permutation(len(x))
    n_val = int(round(config["val_fraction"] * len(x)))
    train_part = x[order[n_val:]]
    assert config["normalize"] == {"mean": float(train_part.mean()), "std": float(train_part.std())}
    # and the check can tell: with the validation part, or with the test split, the numbers differ
    assert float(x.mean()) != config["normalize"]["mean"]
    both = np.concatenate([train_part, Digits28(train=False).data])
    assert float(both.mean()) != config["normalize"]["mean"]
