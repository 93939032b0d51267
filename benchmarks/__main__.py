"""``python -m benchmarks [W1 W2 ...] [--quick] [--json out.json] [--no-memory]``.

A thin shim for source checkouts: the suite lives in the package (``nerve.bench``), so
``nerve bench`` works from an installed wheel too. Here, E1 reads the project's shared
MNIST files when ``NERVE_DATA_DIR`` is unset.
"""
import os
import sys
from pathlib import Path

from nerve.bench import main

if __name__ == "__main__":
    shared = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    if "NERVE_DATA_DIR" not in os.environ and shared.is_dir():
        os.environ["NERVE_DATA_DIR"] = str(shared)
    sys.exit(main(prog="python -m benchmarks"))
