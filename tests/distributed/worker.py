"""Scenarios run under ``mpirun -n N python worker.py SCENARIO OUTDIR``; each rank writes
``OUTDIR/<scenario>-rank<r>.npz`` for the test process to compare with a one-process run."""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import nerve.distributed as dist  # noqa: E402
import scenarios  # noqa: E402


def main():
    names, out = sys.argv[1].split(","), sys.argv[2]
    dist.init(timeout=float(os.environ.get("TEST_TIMEOUT", "60")))
    for name in names:
        try:
            result = getattr(scenarios, name)(dist)
        except Exception as e:
            # mpiexec forwards the ranks' stderr in chunks that may interleave mid-line, so the
            # error is also written whole to a file the test can read
            with open(os.path.join(out, f"{name}-rank{dist.rank()}.error"), "w") as f:
                f.write(f"{type(e).__name__}: {e}")
            raise
        if result is not None:
            np.savez(os.path.join(out, f"{name}-rank{dist.rank()}.npz"), **result)


if __name__ == "__main__":
    main()
