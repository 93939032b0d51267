"""Scenarios run under ``mpirun -n N python worker.py SCENARIO OUTDIR``; each rank writes
``OUTDIR/<scenario>-rank<r>.npz`` for the test process to compare with a one-process run."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scenarios  # noqa: E402
from launch import run_scenarios  # noqa: E402

if __name__ == "__main__":
    run_scenarios(scenarios, "60")
