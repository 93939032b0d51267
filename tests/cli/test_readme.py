"""The README's promise to a newcomer: its first command, then every "next step", all work."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def _code_blocks(text):
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def _next_steps():
    section = README.split("### Next steps", 1)[1]
    lines = _code_blocks(section)[0].strip().splitlines()
    return [l for l in lines if l.strip() and not l.lstrip().startswith("#")]


def test_readme_first_command_then_every_next_step_in_a_fresh_home(tmp_path):
    shared = REPO.parent / "shared" / "datasets"
    data_dir = Path(os.environ.get("NERVE_DATA_DIR") or shared)
    if not (data_dir / "mnist" / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("the MNIST IDX files are not available")
    first = _code_blocks(README)[0].strip().splitlines()[0]
    # `pip install -e` is what put nerve here already (and needs the network): run the rest.
    parts = [p.strip() for p in first.split("&&")]
    assert parts[0].startswith("python3 -m pip install -e") and parts[-1].endswith("nerve train"), first
    train = " && ".join(parts[1:])
    assert train.startswith("NERVE_DATA_DIR=${NERVE_DATA_DIR:-")

    home, work, bin_dir = tmp_path / "home", tmp_path / "work", tmp_path / "bin"
    for d in (home, work, bin_dir):
        d.mkdir()
    (bin_dir / "nerve").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nerve "$@"\n')
    (bin_dir / "nerve").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "NERVE_DATA_DIR"}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
               PYTHONPATH=os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]),
               MPLCONFIGDIR=str(home / ".mpl"), NERVE_MNIST_MIRRORS="http://127.0.0.1:9/")

    def sh(command, extra=None):
        return subprocess.run(["bash", "-c", command], cwd=work, env={**env, **(extra or {})},
                              capture_output=True, text=True, timeout=600)

    r = sh(train, {"NERVE_DATA_DIR": str(data_dir)})  # as the README shows it, for this command only
    assert r.returncode == 0, r.stderr
    assert "test accuracy" in r.stdout and "mnist" in r.stdout
    steps = _next_steps()
    assert len(steps) >= 5 and any("evaluate" in s for s in steps) and any("features" in s for s in steps)
    for command in steps:
        r = sh(command)  # no NERVE_DATA_DIR: the cache and the run remember where MNIST is
        assert r.returncode == 0, f"{command}\n{r.stdout}\n{r.stderr}"
        assert "Traceback" not in r.stderr, r.stderr
        if "evaluate" in command:
            assert "seed-mlp on the mnist test set (10000 samples)" in r.stdout
        if command.split("#")[0].strip() == "nerve data":
            assert re.search(r"^mnist\s+verified\s+11\.6 MB", r.stdout, flags=re.M), r.stdout
