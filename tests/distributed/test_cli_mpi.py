"""``nerve train --nproc 2``: a data-parallel run folder written by rank 0, interrupted with
Ctrl-C, and resumed in one process, ending where an uninterrupted two-process run ends."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="needs mpi4py and an MPI library: pip install 'nerve[distributed]'")
_BESIDE = Path(sys.executable).parent / "mpiexec"
if not _BESIDE.is_file():
    import shutil

    if not (shutil.which("mpiexec") or shutil.which("mpirun")):
        pytest.skip("no mpiexec (pip install mpich)", allow_module_level=True)

SRC = Path(__file__).parents[2] / "src"
ARGS = ["train", "--dataset", "digits", "--epochs", "4", "--batch-size", "16", "--shift", "0", "--quiet"]


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
                OPENBLAS_NUM_THREADS="1")


def nerve(*args, cwd):
    return subprocess.run([sys.executable, "-m", "nerve", *map(str, args)], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=300)


def test_train_on_two_processes_then_resume_on_one(tmp_path):
    from nerve.io import load_state_dict

    ref = nerve(*ARGS, "--nproc", "2", "--out", "ref", cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr
    assert ref.stdout.count("test accuracy") == 1                  # rank 0 alone reports
    config = json.loads((tmp_path / "ref" / "config.json").read_text())
    assert config["sampler"] == "distributed" and config["results"]["test_accuracy"] > 0.9

    # the same run, stopped with Ctrl-C (to the whole process group, as a terminal does) ...
    from pause_run import paused_env, wait_paused
    env, ready = paused_env(tmp_path, 2, _env())
    p = subprocess.Popen([sys.executable, "-m", "nerve", *ARGS, "--nproc", "2", "--out", "part"], cwd=tmp_path,
                         env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    wait_paused(p, ready)
    time.sleep(0.5)  # the other rank reaches the same batch (it cannot pass it alone: DDP's all-reduce)
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and "nerve: interrupted; part keeps epoch" in err
    assert json.loads((tmp_path / "part" / "manifest.json").read_text())["status"] == "interrupted"
    # ... refuses to be resumed as a one-process run under a different setting, then resumes in one
    r = nerve("train", "--resume", "part", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    want, got = load_state_dict(tmp_path / "ref" / "model.safetensors"), load_state_dict(tmp_path / "part" / "model.safetensors")
    # float32, and the one-process run sums each global batch in one pass: equal to 1e-6
    assert max(float(np.abs(want[k] - got[k]).max()) for k in want) < 1e-6
    h_ref = json.loads((tmp_path / "ref" / "history.json").read_text())
    h_got = json.loads((tmp_path / "part" / "history.json").read_text())
    np.testing.assert_allclose(h_got["loss"], h_ref["loss"], rtol=1e-6)
    assert h_got["val_accuracy"] == h_ref["val_accuracy"]


def test_distributed_usage_errors(tmp_path):
    one = nerve(*ARGS[:-1], "--epochs", "1", "--out", "one", "--quiet", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    (tmp_path / "one" / "manifest.json").write_text(json.dumps(
        dict(json.loads((tmp_path / "one" / "manifest.json").read_text()), status="interrupted")))
    r = nerve("train", "--resume", "one", "--nproc", "2", cwd=tmp_path)
    assert r.returncode == 2 and "was trained in one process" in r.stderr and "Traceback" not in r.stderr
    r = nerve(*ARGS, "--batch-size", "15", "--nproc", "2", "--out", "odd", cwd=tmp_path)
    assert r.returncode != 0 and "must divide evenly over 2 processes" in r.stderr
