"""`nerve sweep`: a grid of `nerve train` settings, one run per trial, the table and the best."""
import csv
import math

import pytest

from nerve.cli.main import main


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_sweep_end_to_end_on_the_digits(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "sweep"
    argv = ["sweep", "--lr", "1e-3,1e-2,1e-1", "--hidden", "16,32", "--trials", "3", "--dataset", "digits",
            "--epochs", "1", "--limit", "300", "--shift", "0", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    header = printed[0].split()
    assert header == ["trial", "epochs", "hidden", "lr", "train_loss", "val_loss", "val_accuracy",
                      "test_accuracy", "run"]
    rows = _rows(out / "results.csv")
    assert len(rows) == 3 and [r["run"] for r in rows] == ["trial-000", "trial-001", "trial-002"]
    for r in rows:
        assert (out / r["run"] / "model.safetensors").is_file() and (out / r["run"] / "config.json").is_file()
        assert r["hidden"] in ("16", "32") and float(r["lr"]) in (1e-3, 1e-2, 1e-1)
    # the marked row is the one with the lowest validation loss, and the last line names it
    val = [float(r["val_loss"]) for r in rows]
    best = min(range(3), key=lambda i: val[i] if math.isfinite(val[i]) else math.inf)
    marked = [ln for ln in printed if ln.startswith("* ")]
    assert len(marked) == 1 and marked[0].split()[1] == str(best)
    assert printed[4].startswith(f"best by val_loss (min): trial {best} ")
    assert (out / "summary.png").read_bytes()[:4] == b"\x89PNG"
    # the same command again reproduces every number bit for bit
    assert main(argv[:-3] + ["--out", str(tmp_path / "again"), "--quiet"]) == 0
    assert (tmp_path / "again" / "results.csv").read_text() == (out / "results.csv").read_text()


def test_sweep_usage_errors(tmp_path, capsys):
    assert main(["sweep", "--out", str(tmp_path / "x")]) == 2
    assert "nothing to sweep" in capsys.readouterr().err
    assert main(["sweep", "--lr", "0.1,abc"]) == 2
    assert "'abc' is not a valid value" in capsys.readouterr().err
    assert main(["sweep", "--hidden", "8", "--model", "lenet5"]) == 2
    assert "has no 'hidden' option" in capsys.readouterr().err
    assert main(["sweep", "--lr", "0.1", "--val-fraction", "0"]) == 2
    assert "no validation set" in capsys.readouterr().err
