"""examples/train_seed_mlp.py runs end to end and leaves what it promises."""
import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_seed_mlp.py"


def test_example_trains_and_writes_checkpoints(tmp_path):
    r = subprocess.run([sys.executable, str(EXAMPLE), "--epochs", "1", "--out", str(tmp_path / "run")],
                       capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    assert "test accuracy" in r.stdout
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert (tmp_path / "run" / "checkpoints" / "last" / "checkpoint.json").is_file()
    assert (tmp_path / "run" / "history.csv").read_text().startswith("epoch,loss,accuracy")
