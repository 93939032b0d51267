"""Second edge sweep of the ``nerve`` command line: options that were accepted and then ignored
or misapplied, and help texts that named the wrong defaults.

Every refused command must end with one line ``nerve: error: ...`` naming the option, exit
status 2, and leave the files it was pointed at as they were. Training is kept to a few
batches of the bundled digits.
"""
import csv
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from nerve.cli import main
from nerve.cli.defaults import DEFAULT_LR


def _fails(argv, capsys, *fragments):
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, (argv, code, err)
    assert len(err) == 1 and err[0].startswith("nerve: error: "), (argv, err)
    for f in fragments:
        assert f in err[0], (argv, err[0])
    return err[0]


def _digest(folder):
    folder = Path(folder)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


QUICK = ["--dataset", "digits", "--epochs", "1", "--limit", "60", "--shift", "0", "--quiet"]


# ------------------------------------------------------------------------------- sweep
def test_sweep_trains_each_optimizer_at_its_own_default_lr(tmp_path, capsys):
    # Listing optimizers without --lr used to train every trial at the default rate of the FIRST
    # optimizer listed (adam at sgd's 0.1 here), unlike 'nerve train --optimizer adam'.
    out = tmp_path / "sw"
    assert main(["sweep", "--optimizer", "sgd,adam,rmsprop", *QUICK, "--out", str(out)]) == 0
    capsys.readouterr()
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["optimizer"] for r in rows] == ["sgd", "adam", "rmsprop"]
    for r in rows:
        config = json.loads((out / r["run"] / "config.json").read_text())
        assert config["optimizer"] == r["optimizer"]
        assert config["lr"] == DEFAULT_LR[r["optimizer"]], (r["optimizer"], config["lr"])
    # a listed --lr still applies to every optimizer
    out = tmp_path / "sw-lr"
    assert main(["sweep", "--optimizer", "sgd,adam", "--lr", "0.02", *QUICK, "--out", str(out)]) == 0
    capsys.readouterr()
    lrs = {json.loads((out / t / "config.json").read_text())["lr"] for t in ("trial-000", "trial-001")}
    assert lrs == {0.02}


@pytest.mark.parametrize("value", ["inf", "1e400", "0.1,inf", "1e-3,1e309"])
def test_sweep_refuses_an_infinite_lr(value, tmp_path, capsys):
    # 'nerve train --lr inf' is refused; the sweep used to train (and "rank") diverged trials
    _fails(["sweep", "--lr", value, *QUICK, "--out", tmp_path / "sw"], capsys, "--lr", "finite")
    assert not (tmp_path / "sw").exists()


# ------------------------------------------------------------------------------- train
def test_overwrite_without_out_is_refused(tmp_path, capsys, monkeypatch):
    # --overwrite only means something with --out; without it a new dated folder was written
    # and the option silently did nothing
    monkeypatch.chdir(tmp_path)
    _fails(["train", *QUICK, "--overwrite"], capsys, "--overwrite", "--out")
    assert not (tmp_path / "runs").exists()
    for model in ("char-lstm", "vae"):
        _fails(["train", "--model", model, "--limit", "2", "--quiet", "--overwrite"], capsys, "--overwrite", "--out")
    assert not (tmp_path / "runs").exists()


def test_resume_refuses_a_setting_given_as_an_abbreviated_option(tmp_path, capsys):
    # argparse takes '--optim adam' for '--optimizer adam'; spelled in full it is refused with
    # --resume (an SGD run must not silently go on with SGD when Adam was asked for), and the
    # abbreviation slipped through because it is adam's default value
    run = tmp_path / "sgd"
    assert main(["train", *QUICK, "--epochs", "1", "--optimizer", "sgd", "--out", str(run)]) == 0
    capsys.readouterr()
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps(dict(manifest, status="interrupted")))
    before = _digest(run)
    for argv in (["--optim", "adam"], ["--optim=adam"], ["--optimizer", "adam"], ["--see", "0"]):
        _fails(["train", "--resume", run, *argv], capsys, "drop --" + ("seed" if "--see" in argv else "optimizer"))
        assert _digest(run) == before
    # an abbreviation of an option that goes with --resume is still fine
    copy = Path(shutil.copytree(run, tmp_path / "copy"))
    assert main(["train", "--resume", str(copy), "--qui"]) == 0
    assert json.loads((copy / "manifest.json").read_text())["status"] == "complete"


def _train_help(option):
    from nerve.cli.main import build_parser

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    (action,) = [a for a in train._actions if option in a.option_strings]
    return " ".join(action.help.split())


def test_train_help_names_the_defaults_text_and_generative_runs_get(tmp_path, capsys):
    # The help said "--epochs (default 10)", "--batch-size (default 128)" and listed only the
    # classifiers' learning rates; a text or generative run without them trains with others.
    assert main(["train", "--model", "char-lstm", "--limit", "2", "--quiet", "--out", str(tmp_path / "t")]) == 0
    assert main(["train", "--model", "dcgan", "--dataset", "digits", "--limit", "64", "--quiet",
                 "--out", str(tmp_path / "g")]) == 0
    capsys.readouterr()
    text = json.loads((tmp_path / "t" / "config.json").read_text())
    gan = json.loads((tmp_path / "g" / "config.json").read_text())
    assert f"text models {text['epochs']:g};" in _train_help("--epochs")
    assert f"dcgan {gan['epochs']:g})" in _train_help("--epochs")
    assert f"text models {text['batch_size']:g};" in _train_help("--batch-size")
    assert f"dcgan {gan['batch_size']:g})" in _train_help("--batch-size")
    assert f"char-lstm {text['lr']:g}" in _train_help("--lr")
    assert f"dcgan {gan['lr']:g})" in _train_help("--lr")
    assert f"text models {text['val_fraction']:g};" in _train_help("--val-fraction")


# ------------------------------------------------------------------- generative runs
def _stop_after_first_epoch(monkeypatch, when="epoch"):
    """Ctrl-C right after the checkpoint of epoch 1 is written (or, ``when="start"``, in the first batch)."""
    from nerve.train.callbacks import ModelCheckpoint

    saved = ModelCheckpoint.on_epoch_end

    def on_epoch_end(self, e, logs=None):
        saved(self, e, logs)
        if when == "epoch" and e == 0:
            raise KeyboardInterrupt

    def on_batch_begin(self, step, logs=None):
        if when == "start":
            raise KeyboardInterrupt

    monkeypatch.setattr(ModelCheckpoint, "on_epoch_end", on_epoch_end)
    monkeypatch.setattr(ModelCheckpoint, "on_batch_begin", on_batch_begin)


@pytest.mark.parametrize("model", ["vae", "dcgan", "autoencoder"])
def test_an_interrupted_generative_run_keeps_its_finished_epoch(model, tmp_path, capsys, monkeypatch):
    # It used to keep no weights at all (only the checkpoint), and every later command said the
    # run stopped "before its first epoch ended; continue it with 'nerve train --resume'",
    # which is then refused for generative runs.
    from nerve.io import load_state_dict

    out = tmp_path / model
    with monkeypatch.context() as m:
        _stop_after_first_epoch(m)
        code = main(["train", "--model", model, "--dataset", "digits", "--limit", "64", "--epochs", "2",
                     "--quiet", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 130 and len(err) == 1, err
    assert err[0].startswith(f"nerve: interrupted; {out} keeps epoch 1 of 2"), err
    assert "--resume" not in err[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    kept = load_state_dict(out / "model.safetensors")
    last = load_state_dict(out / "checkpoint" / "last" / "model.safetensors")
    last = {k.removeprefix("model."): v for k, v in last.items()}  # the VAE trains through an objective
    assert sorted(kept) == sorted(last) and all(kept[k].tobytes() == last[k].tobytes() for k in kept)
    assert main(["evaluate", str(out)]) == 0
    if model != "autoencoder":
        assert main(["sample", str(out), "--n", "4", "--out", str(tmp_path / "s.png")]) == 0
        assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_a_generative_run_stopped_in_its_first_epoch_is_not_sent_to_resume(tmp_path, capsys, monkeypatch):
    out = tmp_path / "vae"
    with monkeypatch.context() as m:
        _stop_after_first_epoch(m, when="start")
        assert main(["train", "--model", "vae", "--dataset", "digits", "--limit", "64", "--epochs", "2",
                     "--quiet", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert f"{out} keeps epoch 0 of 2 (it has no weights" in err
    assert not (out / "model.safetensors").exists()
    msg = _fails(["sample", out], capsys, "has no weights", "train it again")
    assert "--resume" not in msg


@pytest.mark.parametrize("model, family", [("vae", "generative"), ("dcgan", "generative"),
                                           ("char-lstm", "language model")])
def test_sweep_refuses_a_model_it_cannot_train(model, family, tmp_path, capsys):
    # it used to fail inside the first trial with "outputs shape (1, 28, 28) per image" or
    # "CharLSTM expects character ids", which does not say that a sweep trains classifiers
    _fails(["sweep", "--lr", "1e-3", "--model", model, *QUICK, "--out", tmp_path / "sw"], capsys,
           f"--model {model}", family, "classifier")
    assert not (tmp_path / "sw").exists()


def test_a_generative_run_falls_back_to_the_digits_as_the_dataset_help_says(tmp_path, capsys, monkeypatch):
    # '--dataset' says "default: mnist, falling back to the bundled digits when MNIST is
    # unavailable"; classifiers did, the generative models stopped with an error instead
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("NERVE_MNIST_MIRRORS", "http://127.0.0.1:9/")
    assert main(["train", "--model", "vae", "--epochs", "1", "--limit", "60", "--quiet",
                 "--out", str(tmp_path / "v")]) == 0
    err = capsys.readouterr().err
    assert "note: MNIST is not available (MNIST file train-images-idx3-ubyte.gz not found)" in err, err
    assert json.loads((tmp_path / "v" / "config.json").read_text())["dataset"] == "digits"
    assert main(["sample", str(tmp_path / "v"), "--n", "2", "--out", str(tmp_path / "s.png")]) == 0
    # a dataset that was asked for by name still fails in one line
    _fails(["train", "--model", "vae", "--dataset", "mnist", "--epochs", "1", "--quiet", "--out", tmp_path / "w"],
           capsys, "cannot find or load mnist")
    assert not (tmp_path / "w").exists()


# ----------------------------------------------------------------------------- predict
@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    root = tmp_path_factory.mktemp("edges2-run")
    assert main(["train", *QUICK, "--out", str(root / "run")]) == 0
    return root / "run"


def test_predict_refuses_count_where_it_would_be_ignored(classifier, tmp_path, capsys):
    # '--index 1 --count 5' showed one sample and 'IMAGE --count 5' one image: --count was dropped
    from PIL import Image
    import numpy as np

    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "z.png")
    _fails(["predict", classifier, "--index", "1", "--count", "5"], capsys, "--count 5", "--index", "drop --count")
    _fails(["predict", classifier, tmp_path / "z.png", "--count", "5"], capsys, "--count 5", "image file")
    _fails(["predict", classifier, tmp_path / "z.png", "--count=3"], capsys, "--count 3")
    _fails(["predict", classifier, tmp_path / "z.png", "--cou", "3"], capsys, "--count 3")
    # where it applies it still works, and the other options still go with an image
    assert main(["predict", str(classifier), "--count", "2"]) == 0
    assert capsys.readouterr().out.count("test sample") == 2
    assert main(["predict", str(classifier), str(tmp_path / "z.png"), "--top", "2"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


# ------------------------------------------------------------------------------ sample
def test_sample_refuses_an_option_of_the_other_kind_even_at_its_default_value(tmp_path, capsys):
    # '--temperature 1' for a VAE or '--n 64' for a text run were silently ignored (only values
    # other than the default were refused), though they were asked for just the same
    text, vae = tmp_path / "t", tmp_path / "v"
    assert main(["train", "--model", "char-lstm", "--limit", "2", "--quiet", "--out", str(text)]) == 0
    assert main(["train", "--model", "vae", "--dataset", "digits", "--epochs", "1", "--limit", "60", "--quiet",
                 "--out", str(vae)]) == 0
    capsys.readouterr()
    _fails(["sample", text, "--n", "64"], capsys, "--n is for image generators")
    for argv in (["--temperature", "1"], ["--length=200"], ["--len", "200"]):
        option = "--temperature" if "temperature" in argv[0] else "--length"
        _fails(["sample", vae, *argv, "--out", tmp_path / "s.png"], capsys, f"{option} is for text models")
    assert not (tmp_path / "s.png").exists()
    assert main(["sample", str(vae), "--n", "2", "--out", str(tmp_path / "s.png")]) == 0
    assert main(["sample", str(text), "--length", "3", "--seed", "1"]) == 0


def test_sample_into_the_run_folder_keeps_the_manifest_true(tmp_path, capsys):
    # 'nerve sample RUN' replaces RUN/samples.png; the manifest kept the SHA-256 of the old one
    vae = tmp_path / "v"
    assert main(["train", "--model", "vae", "--dataset", "digits", "--epochs", "1", "--limit", "60", "--quiet",
                 "--out", str(vae)]) == 0
    before = hashlib.sha256((vae / "samples.png").read_bytes()).hexdigest()
    assert json.loads((vae / "manifest.json").read_text())["artifacts"]["samples.png"]["sha256"] == before
    assert main(["sample", str(vae), "--n", "3", "--seed", "5"]) == 0
    after = hashlib.sha256((vae / "samples.png").read_bytes()).hexdigest()
    assert after != before
    entry = json.loads((vae / "manifest.json").read_text())["artifacts"]["samples.png"]
    assert entry == {"sha256": after, "bytes": (vae / "samples.png").stat().st_size}


def test_a_generative_run_becomes_runs_latest(tmp_path, capsys, monkeypatch):
    # classifier and text runs point runs/latest at themselves; a vae left it on the previous
    # run, so 'nerve sample runs/latest' (the example in its help) sampled... a classifier
    monkeypatch.chdir(tmp_path)
    assert main(["train", *QUICK]) == 0
    assert main(["train", "--model", "vae", "--dataset", "digits", "--epochs", "1", "--limit", "60", "--quiet"]) == 0
    latest = tmp_path / "runs" / "latest"
    assert latest.is_symlink() and latest.resolve().name.startswith("vae-digits-")
    capsys.readouterr()
    assert main(["sample", "runs/latest", "--n", "2", "--out", "s.png"]) == 0


# ----------------------------------------------------------------------------- explain
def test_explain_plot_to_a_place_it_cannot_write_is_one_line(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    # both used to end in a traceback (IsADirectoryError, FileNotFoundError)
    _fails(["explain", "relu", "--plot", tmp_path], capsys, f"--plot {tmp_path} is a folder", "relu.png")
    (tmp_path / "file").write_text("x")
    _fails(["explain", "relu", "--plot", tmp_path / "file" / "r.png"], capsys, "--plot", "cannot write")
    assert (tmp_path / "file").read_text() == "x"
    assert main(["explain", "relu", "--plot", str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


# ------------------------------------------------------------------------- model aliases
@pytest.mark.parametrize("alias, name", [("MLP_784_16_16_10", "seed-mlp"), ("simple-cnn", "seed-cnn")])
def test_a_model_alias_trains_with_the_defaults_of_its_model(alias, name, tmp_path, capsys):
    # the CLI's per-model defaults were looked up by the spelling given, so an alias of seed-mlp
    # trained with ReLU instead of ELU (and simple-cnn with 3 input channels)
    from nerve.cli.defaults import DEFAULT_MODEL_KWARGS
    from nerve.io import load_state_dict

    for model, out in ((alias, "a"), (name, "n")):
        assert main(["train", *QUICK, "--model", model, "--out", str(tmp_path / out)]) == 0
    capsys.readouterr()
    configs = [json.loads((tmp_path / o / "config.json").read_text()) for o in ("a", "n")]
    assert configs[0]["model_kwargs"] == configs[1]["model_kwargs"] == DEFAULT_MODEL_KWARGS[name]
    a, n = (load_state_dict(tmp_path / o / "model.safetensors") for o in ("a", "n"))
    assert list(a) == list(n) and all(a[k].tobytes() == n[k].tobytes() for k in a)
    # the sweep builds its trials the same way
    assert main(["sweep", "--lr", "0.01", *QUICK, "--model", alias, "--out", str(tmp_path / "sw")]) == 0
    trial = json.loads((tmp_path / "sw" / "trial-000" / "config.json").read_text())
    assert trial["model_kwargs"] == DEFAULT_MODEL_KWARGS[name]


# ----------------------------------------------------------------------------- summary
def test_summary_of_a_dcgan_run_shows_both_networks(tmp_path, capsys):
    # it fed the GAN a (1, 28, 28) image, which its forward (the generator, from noise) cannot
    # take, and ended in a traceback
    run = tmp_path / "g"
    assert main(["train", "--model", "dcgan", "--dataset", "digits", "--epochs", "1", "--limit", "64", "--quiet",
                 "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["summary", str(run)]) == 0
    out = capsys.readouterr().out
    from nerve.runs import Run
    model = Run.open(run).build_model()
    assert f"generator (noise of {model.latent_dim} -> image):" in out and "discriminator" in out
    totals = [int(line.split(":")[1].replace(",", "")) for line in out.splitlines() if line.startswith("Total params")]
    assert totals == [sum(p.numpy().size for p in model.generator.parameters()),
                      sum(p.numpy().size for p in model.discriminator.parameters())]


def test_predict_on_an_autoencoder_run_does_not_send_to_sample(tmp_path, capsys):
    # it suggested 'nerve sample', which refuses plain autoencoders (no prior to sample from)
    run = tmp_path / "ae"
    assert main(["train", "--model", "autoencoder", "--dataset", "digits", "--epochs", "1", "--limit", "60",
                 "--quiet", "--out", str(run)]) == 0
    capsys.readouterr()
    msg = _fails(["predict", run], capsys, "generative model", f"'nerve evaluate {run}'")
    assert "nerve sample" not in msg
    _fails(["sample", run], capsys, "no prior")


def test_ctrl_c_in_a_sweep_is_one_line(tmp_path, capsys, monkeypatch):
    # the trial's RunInterrupted escaped 'nerve sweep' as a traceback
    from nerve.train.callbacks import ModelCheckpoint

    saved = ModelCheckpoint.on_epoch_end

    def on_epoch_end(self, e, logs=None):
        saved(self, e, logs)
        raise KeyboardInterrupt

    monkeypatch.setattr(ModelCheckpoint, "on_epoch_end", on_epoch_end)
    out = tmp_path / "sw"
    code = main(["sweep", "--lr", "0.01,0.02", *QUICK, "--epochs", "2", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 130 and len(err) == 1, err
    assert err[0].startswith(f"nerve: interrupted; the sweep stopped in {out / 'trial-000'} (it keeps epoch 1 of 2)")
    assert json.loads((out / "trial-000" / "manifest.json").read_text())["status"] == "interrupted"
    assert not (out / "results.csv").exists()


def test_sweep_into_a_folder_with_files_names_a_fix_the_sweep_has(tmp_path, capsys):
    # the refusal offered '--overwrite' and '--resume', which 'nerve sweep' does not take
    out = tmp_path / "sw"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    msg = _fails(["sweep", "--lr", "0.01", *QUICK, "--out", out], capsys, f"--out {out} already holds files",
                 "notes.txt", "choose another --out")
    assert "--overwrite" not in msg and "--resume" not in msg
    assert (out / "notes.txt").read_text() == "mine" and len(list(out.iterdir())) == 1


def test_sigterm_stops_a_generative_run_like_ctrl_c(tmp_path):
    # SIGTERM used to kill it outright: status 'running', no weights, exit by the signal
    import os
    import signal
    import subprocess
    import sys

    from pause_run import paused_env, wait_paused

    env, ready = paused_env(tmp_path, 1, env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src")))
    p = subprocess.Popen([sys.executable, "-m", "nerve", "train", "--model", "vae", "--dataset", "digits",
                          "--limit", "64", "--batch-size", "16", "--epochs", "3", "--quiet", "--out", "v"],
                         cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_paused(p, ready)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("nerve: interrupted; v keeps epoch 1 of 3"), err
    assert json.loads((tmp_path / "v" / "manifest.json").read_text())["status"] == "interrupted"
    assert (tmp_path / "v" / "model.safetensors").is_file()


def test_a_limit_above_the_training_set_says_so(tmp_path, capsys):
    # '--limit 100000' on the digits trained on all of them without a word
    assert main(["train", *QUICK, "--limit", "100000", "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "note: --limit 100000 is more than the " in err and "training samples of digits" in err
    assert main(["train", *QUICK, "--out", str(tmp_path / "s")]) == 0
    assert "--limit" not in capsys.readouterr().err
