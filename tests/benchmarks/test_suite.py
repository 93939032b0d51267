"""The benchmark suite runs end to end on tiny sizes, so it cannot rot.

No timing is asserted here: speed targets live in the benchmark's own output.
"""
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_quick_suite_runs_every_workload_and_writes_json(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "bench.json"
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    ids = {row["id"] for row in data["results"]}
    expected = {"W1", "W2", "W3", "W4", "W7", "C1"}
    if (pathlib.Path(env.get("NERVE_DATA_DIR", "/nonexistent")) / "mnist").is_dir():
        expected.add("E1")
    assert expected <= ids, r.stdout
    for row in data["results"]:
        assert row["nerve_steps_per_s"] > 0 and row["torch_steps_per_s"] > 0
        assert row["nerve_peak_mb"] >= 0 and row["torch_peak_mb"] >= 0
    assert "| id | nerve steps/s | torch steps/s | ratio |" in r.stdout
