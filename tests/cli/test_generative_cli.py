"""`nerve train/evaluate/sample` for the generative models, in process (fast) on MNIST subsets."""
import json
from pathlib import Path

import numpy as np
import pytest

from nerve.cli.main import main

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def _have_mnist():
    import os
    root = Path(os.environ.get("NERVE_DATA_DIR", DATA))
    return (root / "mnist" / "train-images-idx3-ubyte.gz").is_file()


pytestmark = pytest.mark.skipif(not _have_mnist(), reason="needs the MNIST files (NERVE_DATA_DIR)")


def nerve(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, err, *fragments):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nerve: error: "), err
    for f in fragments:
        assert f in lines[0], lines[0]


def png_size(path):
    from PIL import Image
    with Image.open(path) as im:
        return im.size


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "vae-run"
    assert main(["train", "--model", "vae", "--limit", "256", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    return out


def test_train_evaluate_sample_vae(vae_run, capsys, tmp_path):
    names = {p.name for p in vae_run.iterdir()}
    assert {"config.json", "model.safetensors", "history.json", "history.csv", "manifest.json", "checkpoint",
            "samples.png", "reconstructions.png"} <= names
    config = json.loads((vae_run / "config.json").read_text())
    assert config["model"] == "vae" and config["generative"] == {"kind": "vae"} and config["limit"] == 256
    r = config["results"]
    assert r["kind"] == "vae" and np.isfinite(r["neg_elbo"]) and r["neg_elbo"] > 0 and r["kl"] >= 0
    assert len(json.loads((vae_run / "history.json").read_text())["loss"]) == 1
    manifest = json.loads((vae_run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and "samples.png" in manifest["artifacts"]
    assert png_size(vae_run / "samples.png") == (242, 242)  # 8×8 tiles of 28 px, padding 2

    code, out, err = nerve(capsys, "evaluate", vae_run)
    assert code == 0, err
    assert "-ELBO" in out and "nats/image" in out
    report = json.loads((vae_run / "report.json").read_text())
    assert report["neg_elbo"] == pytest.approx(r["neg_elbo"])  # the same seeded measure

    code, out, err = nerve(capsys, "sample", vae_run, "--n", "16", "--out", tmp_path / "grid.png", "--seed", "3")
    assert code == 0, err
    assert png_size(tmp_path / "grid.png") == (242, 62)
    first = (tmp_path / "grid.png").read_bytes()
    nerve(capsys, "sample", vae_run, "--n", "16", "--out", tmp_path / "again.png", "--seed", "3")
    assert (tmp_path / "again.png").read_bytes() == first  # seeded


def test_autoencoder_run_and_its_errors(capsys, tmp_path):
    code, out, err = nerve(capsys, "train", "--model", "autoencoder", "--limit", "128", "--epochs", "1",
                           "--out", tmp_path / "ae", "--quiet")
    assert code == 0, err
    assert "reconstruction MSE" in out
    code, out, err = nerve(capsys, "evaluate", tmp_path / "ae")
    assert code == 0 and "reconstruction MSE" in out and "BCE" in out
    code, _, err = nerve(capsys, "sample", tmp_path / "ae")
    one_line_error(code, err, "no prior to sample", "--model vae")


def test_bad_input(vae_run, capsys, tmp_path):
    code, _, err = nerve(capsys, "train", "--model", "vae", "--shift", "2", "--out", tmp_path / "x")
    one_line_error(code, err, "--shift do not apply", "'vae'")
    code, _, err = nerve(capsys, "train", "--model", "dcgan", "--optimizer", "sgd", "--out", tmp_path / "x")
    one_line_error(code, err, "--optimizer sgd")
    code, _, err = nerve(capsys, "train", "--model", "vae", "--limit", "16", "--epochs", "1", "--out", vae_run)
    one_line_error(code, err, "already holds files")
    code, _, err = nerve(capsys, "predict", vae_run)
    one_line_error(code, err, "nerve predict classifies images", "nerve sample")
    code, _, err = nerve(capsys, "train", "--resume", vae_run)
    one_line_error(code, err, "resuming generative runs is not supported")
    code, _, err = nerve(capsys, "sample", tmp_path / "nothing")
    one_line_error(code, err, "no such run folder")
    code, _, err = nerve(capsys, "sample", vae_run, "--out", tmp_path)
    one_line_error(code, err, "is a folder")
    code, _, err = nerve(capsys, "sample", vae_run, "--out", tmp_path / "grid.txt")
    one_line_error(code, err, "must end in .png")
    code, _, err = nerve(capsys, "sample", vae_run, "--n", "0")
    one_line_error(code, err, "must be a positive integer")
    # a classifier run cannot be sampled
    from nerve import models
    from nerve.runs import Run
    run = Run.create(tmp_path / "clf", {"model": "seed-mlp", "dataset": "mnist", "classes": [str(i) for i in range(10)]})
    run.save_weights(models.get_model("seed-mlp"))
    run.finish("complete")
    code, _, err = nerve(capsys, "sample", tmp_path / "clf")
    one_line_error(code, err, "holds a classifier model (seed-mlp), which cannot generate")


@pytest.mark.slow
def test_dcgan_short_run(capsys, tmp_path):
    """A 4-step DCGAN run: the losses stay finite, the sample grid is written, evaluate reports
    the D and G losses on the test images."""
    code, out, err = nerve(capsys, "train", "--model", "dcgan", "--limit", "256", "--epochs", "1",
                           "--out", tmp_path / "gan", "--quiet")
    assert code == 0, err
    config = json.loads((tmp_path / "gan" / "config.json").read_text())
    assert config["normalize"] == {"mean": 0.5, "std": 0.5}
    for k in ("loss_d", "loss_g", "d_real", "d_fake"):
        assert np.isfinite(config["results"][k]) and np.isfinite(config["final_train"][k])
    assert png_size(tmp_path / "gan" / "samples.png") == (242, 242)
    assert (tmp_path / "gan" / "checkpoint" / "last" / "model.safetensors").is_file()
    code, out, err = nerve(capsys, "evaluate", tmp_path / "gan")
    assert code == 0 and "D loss" in out and "G loss" in out
    code, out, err = nerve(capsys, "sample", tmp_path / "gan", "--n", "8", "--out", tmp_path / "g.png")
    assert code == 0 and png_size(tmp_path / "g.png") == (242, 32)
