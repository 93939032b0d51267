"""A robustness sweep of the ``nerve`` command line: broken run folders, bad flags, bad images.

Every mistake must end with one line ``nerve: error: ...`` and exit status 2, with no traceback
(an exception escaping ``main`` fails the test), and must leave every file it was pointed at
byte-identical.
"""
import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nerve.cli import main


def _digest(folder):
    folder = Path(folder)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    root = tmp_path_factory.mktemp("edge-cli")
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--quiet", "--out", str(root / "good")]) == 0
    return root / "good"


def _fails(argv, capsys, match=None, status=2):
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == status, (argv, code, err)
    assert len(err) == 1 and err[0].startswith("nerve: error: "), (argv, err)
    assert "Traceback" not in err[0]
    if match is not None:
        assert match in err[0], (argv, err[0])
    return err[0]


def _broken_copies(good, root):
    """Copies of ``good`` with one file truncated, emptied, removed or garbled."""
    out = {}
    for f in ("config.json", "model.safetensors"):
        data = (good / f).read_bytes()
        for kind, new in (("trunc", data[:len(data) // 2]), ("empty", b""), ("gone", None), ("binary", b"\xff\xfe\0x")):
            d = root / f"{kind}-{f}"
            shutil.copytree(good, d)
            (d / f).unlink() if new is None else (d / f).write_bytes(new)
            out[d.name] = d
    data = (good / "manifest.json").read_bytes()
    for kind, new in (("trunc", data[:len(data) // 2]), ("list", b"[1, 2]")):
        d = root / f"{kind}-manifest.json"
        shutil.copytree(good, d)
        (d / "manifest.json").write_bytes(new)
        out[d.name] = d
    config = json.loads((good / "config.json").read_text())
    for kind, change in (("model", {"model": "no-such-model"}), ("dataset", {"dataset": "cifar-1000"}),
                         ("shape", {"input_shape": "abc"}), ("classes", {"classes": 7})):
        d = root / f"cfg-{kind}"
        shutil.copytree(good, d)
        (d / "config.json").write_text(json.dumps({**config, **change}))
        out[d.name] = d
    d = root / "cfg-list"
    shutil.copytree(good, d)
    (d / "config.json").write_text("[1, 2]")
    out[d.name] = d
    (root / "notrun").mkdir()
    (root / "notrun" / "notes.txt").write_text("hello")
    out["notrun"] = root / "notrun"
    (root / "a-file.txt").write_text("hello")
    out["a-file"] = root / "a-file.txt"
    out["missing"] = root / "missing"
    return out


@pytest.mark.parametrize("command", [["evaluate"], ["predict"], ["predict", "--index", "0"], ["summary"],
                                     ["features"], ["sample"]])
def test_run_commands_on_broken_run_folders(good, tmp_path, capsys, command):
    broken = _broken_copies(good, tmp_path)
    before = {name: _digest(p) for name, p in broken.items() if p.is_dir()}
    for name, path in broken.items():
        _fails([command[0], str(path), *command[1:]], capsys)
    assert {name: _digest(p) for name, p in broken.items() if p.is_dir()} == before


@pytest.mark.parametrize("flags, match", [
    (["--epochs", "-1"], "--epochs"), (["--epochs", "0"], "--epochs"), (["--epochs", "1e3"], "--epochs"),
    (["--batch-size", "0"], "--batch-size"), (["--batch-size", "1.5"], "--batch-size"),
    (["--lr", "0"], "--lr"), (["--lr", "-1"], "--lr"), (["--lr", "nan"], "--lr"), (["--lr", "inf"], "--lr"),
    (["--lr", "1e400"], "--lr"),
    (["--nproc", "0"], "--nproc"), (["--nproc", "-2"], "--nproc"),
    (["--val-fraction", "1"], "--val-fraction"), (["--val-fraction", "nan"], "--val-fraction"),
    (["--limit", "0"], "--limit"), (["--seed", "-1"], "--seed"), (["--block-size", "0"], "--block-size"),
    (["--model", "no-such-model"], "unknown model"), (["--dataset", "cifar"], "--dataset"),
    (["--activation", "nope"], "unknown activation"), (["--shift", "100"], "--shift"),
    (["--text", "x.txt"], "--text"),
])
def test_train_refuses_bad_flags(flags, match, capsys, tmp_path):
    _fails(["train", "--dataset", "digits", "--quiet", "--out", str(tmp_path / "r"), *flags], capsys, match)
    assert not (tmp_path / "r").exists()


def test_train_never_replaces_what_it_should_not(good, tmp_path, capsys):
    before = _digest(good)
    _fails(["train", "--dataset", "digits", "--epochs", "1", "--quiet", "--out", str(good)], capsys, "--overwrite")
    _fails(["train", "--resume", str(good), "--out", str(tmp_path / "x")], capsys, "--resume")
    _fails(["train", "--resume", str(tmp_path / "missing")], capsys, "no such run folder")
    (tmp_path / "file").write_text("x")
    _fails(["train", "--dataset", "digits", "--quiet", "--out", str(tmp_path / "file")], capsys, "is a file")
    _fails(["train", "--dataset", "digits", "--quiet", "--out", str(tmp_path / "file" / "sub")], capsys, "is a file")
    _fails(["train", "--dataset", "digits", "--quiet", "--out", "/proc/no-such/run"], capsys, "cannot create")
    assert _digest(good) == before and (tmp_path / "file").read_text() == "x"


def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    # someone's folder that happens to hold a config.json and a history.csv: --overwrite must not
    # take them for a run's files and replace them
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "config.json").write_text('{"my": "settings"}')
    (mine / "history.csv").write_text("my,data\n")
    (mine / "thesis.txt").write_text("precious")
    before = _digest(mine)
    _fails(["train", "--dataset", "digits", "--epochs", "1", "--quiet", "--out", str(mine), "--overwrite"],
           capsys, "not a nerve run folder")
    assert _digest(mine) == before
    # a folder with only unrelated files loses nothing: the run is written beside them
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--quiet", "--out", str(other), "--overwrite"]) == 0
    assert (other / "notes.txt").read_text() == "keep" and (other / "model.safetensors").is_file()
    # and a real run is replaced, as documented
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--quiet", "--seed", "1", "--out", str(other),
                 "--overwrite"]) == 0
    assert json.loads((other / "config.json").read_text())["seed"] == 1


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    pytest.importorskip("PIL")
    from PIL import Image

    folder = tmp_path_factory.mktemp("images")
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("not an image")
    noise = np.random.default_rng(0).integers(0, 255, (28, 28)).astype(np.uint8)
    Image.fromarray(noise).save(folder / "noise.png")
    data = (folder / "noise.png").read_bytes()
    (folder / "truncated.png").write_bytes(data[:len(data) // 2])
    Image.new("L", (20000, 20000)).save(folder / "huge.png")       # 400 Mpx: over Pillow's bomb limit
    Image.fromarray(noise).save(folder / "gray.png")
    Image.fromarray(np.dstack([noise] * 4)).save(folder / "rgba.png")
    Image.fromarray(noise.astype(np.uint16) * 257).save(folder / "gray16.png")
    (folder / "sub").mkdir()
    return folder


@pytest.mark.parametrize("name, match", [
    ("empty.png", "not an image"), ("text.png", "not an image"), ("truncated.png", "not an image"),
    ("huge.png", "too large"), ("sub", "no image files"), ("missing.png", "no such file"),
])
def test_predict_refuses_files_that_are_not_usable_images(good, images, capsys, name, match):
    before = _digest(good)
    _fails(["predict", str(good), str(images / name)], capsys, match)
    assert _digest(good) == before


def test_predict_reads_gray_rgba_and_16_bit_pngs(good, images, capsys):
    before = _digest(good)
    for name in ("gray.png", "rgba.png", "gray16.png"):
        assert main(["predict", str(good), str(images / name)]) == 0, name
    capsys.readouterr()
    assert _digest(good) == before


def test_other_commands_refuse_bad_arguments(good, tmp_path, capsys, monkeypatch):
    before = _digest(good)
    _fails(["predict", str(good), "--index", "99999999"], capsys, "past the end")
    _fails(["predict", str(good), "--png", "/proc/no-such/a.png"], capsys, "does not exist")
    _fails(["predict", str(good), "--png", str(tmp_path)], capsys, "is a folder")
    _fails(["features", str(good)], capsys, "conv layer")
    _fails(["sample", str(good)], capsys, "cannot generate")
    _fails(["params", "0"], capsys, "positive integer")
    _fails(["params"], capsys, "at least two sizes")
    _fails(["params", "--config", "nope"], capsys, "unknown config")
    _fails(["serve", str(tmp_path / "missing")], capsys, "not a run folder")
    if importlib.util.find_spec("uvicorn") is not None:   # refused before anything is served
        import uvicorn
        monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
        _fails(["serve", "--runs-dir", str(good / "config.json"), "--port", "1"], capsys, "is a file")
    _fails(["evaluate", str(good), "--batch-size", "0"], capsys, "--batch-size")
    assert _digest(good) == before
