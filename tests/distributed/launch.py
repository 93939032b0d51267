"""Running scenario functions on real MPI ranks, shared by test_mpi.py and test_ddp_edges.py.

``mpirun(names, out, script=...)`` starts ``mpiexec -n N python SCRIPT NAMES OUTDIR``; each rank
of the script (worker.py for scenarios.py, edge_scenarios.py for itself) runs the named
scenarios with :func:`run_scenarios` and writes ``OUTDIR/<scenario>-rank<r>.npz`` (or ``.error``).
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
SRC = HERE.parents[1] / "src"
# the mpich wheel puts mpiexec beside the interpreter, which may not be on PATH
_BESIDE = Path(sys.executable).parent / "mpiexec"
MPIRUN = str(_BESIDE) if _BESIDE.is_file() else (shutil.which("mpiexec") or shutil.which("mpirun"))


def mpirun(names, out, script="worker.py", n=2, timeout=120, env_extra=None, check=True):
    """Run the scenarios ``names`` of ``script`` on ``n`` ranks; the finished process, with
    ``.seconds``. A failed run raises with its output unless ``check=False``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", **(env_extra or {}))
    t0 = time.perf_counter()
    p = subprocess.run([MPIRUN, "-n", str(n), sys.executable, str(HERE / script), ",".join(names), str(out)],
                       capture_output=True, text=True, timeout=timeout, env=env)
    p.seconds = time.perf_counter() - t0
    if check and p.returncode != 0:
        raise AssertionError(f"mpirun failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def load(out, name, rank):
    return dict(np.load(Path(out) / f"{name}-rank{rank}.npz"))


def run_scenarios(module, default_timeout):
    """On each rank: run the scenarios named in argv[1] (comma-separated) from ``module`` and
    save each result for the test process (argv[2] is the folder)."""
    import nerve.distributed as dist

    names, out = sys.argv[1].split(","), sys.argv[2]
    dist.init(timeout=float(os.environ.get("TEST_TIMEOUT", default_timeout)))
    for name in names:
        try:
            result = getattr(module, name)(dist)
        except Exception as e:
            # mpiexec forwards the ranks' stderr in chunks that may interleave mid-line, so the
            # error is also written whole to a file the test can read
            with open(os.path.join(out, f"{name}-rank{dist.rank()}.error"), "w") as f:
                f.write(f"{type(e).__name__}: {e}")
            raise
        if result is not None:
            np.savez(os.path.join(out, f"{name}-rank{dist.rank()}.npz"), **result)
