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
