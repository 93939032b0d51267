"""`nerve explain` and `nerve glossary`, run as the user runs them (a subprocess, output piped)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nerve import glossary

ROOT = Path(__file__).resolve().parents[2]


def nerve(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "nerve", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def test_explain_relu_prints_the_entry():
    r = nerve("explain", "relu")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("ReLU  (#50, bundle B3, runs)")
    assert "max(0, x)" in out and "nerve.nn.ReLU" in out and "tests/functional/test_activation.py" in out
    assert "rectified linear unit" in out
    assert "\x1b[" not in out, "piped output must be plain text"


def test_explain_matches_aliases_and_suggests_close_names():
    r = nerve("explain", "rectified", "linear", "unit")
    assert r.returncode == 0 and r.stdout.startswith("ReLU")
    r = nerve("explain", "convolutoin")  # a typo close to one name only: answered
    assert r.returncode == 0 and r.stdout.startswith("Convolution Operation")
    r = nerve("explain", "relo")  # close to several: suggestions
    assert r.returncode == 2
    assert "did you mean" in r.stderr and "'ReLU'" in r.stderr


def test_explain_run_executes_the_example():
    r = nerve("explain", "vanishing gradient", "--run")
    assert r.returncode == 0, r.stderr
    entry = glossary.get("vanishing-gradient")
    printed = r.stdout.split("Running the example:", 1)[1]
    assert glossary.normalise_output(printed) == glossary.normalise_output(entry.output)


def test_explain_plot_writes_a_png(tmp_path):
    r = nerve("explain", "relu", "--plot", str(tmp_path / "relu.png"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "relu.png").read_bytes()[:4] == b"\x89PNG"
    r = nerve("explain", "epoch", "--plot", cwd=tmp_path)
    assert r.returncode == 2 and "has no picture" in r.stderr


def test_glossary_bundle_lists_its_entries_with_status():
    r = nerve("glossary", "--bundle", "B5")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["id", "term", "bundle", "status"]
    rows = [line for line in lines[2:-1]]
    assert len(rows) == 23 and all(" B5 " in row for row in rows)
    assert "Max Pooling" in r.stdout and "Stride" in r.stdout
    assert lines[-1].startswith("23 entries:")
    r = nerve("glossary", "--bundle", "B13")
    assert r.returncode == 2 and "--bundle must be one of" in r.stderr


def test_glossary_search_and_full_list():
    r = nerve("glossary", "--search", "pooling")
    assert r.returncode == 0 and "Global Average Pooling" in r.stdout
    r = nerve("glossary")
    assert r.stdout.splitlines()[-1].startswith(f"{len(glossary.entries())} entries:")
    gap = [e for e in glossary.entries() if not e.runs]
    if gap:
        assert "not yet built" in r.stdout


def test_run_of_an_unbuilt_entry_says_why(monkeypatch, capsys):
    # Every entry may be built by now, so the refusal is checked on a copy of one entry marked
    # "not yet built" whose object does not exist (in process: the subprocess cannot be patched).
    import argparse
    import dataclasses

    from nerve.cli import explain
    from nerve.cli.main import UsageError

    unbuilt = dataclasses.replace(glossary.get("relu"), status="not yet built",
                                  objects=("nerve.nn.NoSuchLayer",))
    monkeypatch.setattr(glossary, "find", lambda term: unbuilt)
    monkeypatch.setattr(explain, "_console", lambda: None)
    with pytest.raises(UsageError, match=r"cannot run yet: its objects are not built \(nerve\.nn\.NoSuchLayer"):
        explain.cmd_explain(argparse.Namespace(term=["relu"], run=True, plot=None))
    assert "Status: not yet built" in capsys.readouterr().out
