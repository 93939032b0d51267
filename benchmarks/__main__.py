"""``python -m benchmarks [W1 W2 ...] [--quick] [--json out.json] [--no-memory]``."""
import argparse
import sys

from .runner import run


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("ids", nargs="*", help="workload ids (default: all): W1 W2 W3 W4 W7 C1 E1")
    p.add_argument("--quick", action="store_true", help="tiny sizes, a few repetitions (smoke test)")
    p.add_argument("--reps", type=int, default=7, help="timed repetitions per framework")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    a = p.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("the benchmarks compare against PyTorch: pip install 'torch==2.13.0'", file=sys.stderr)
        return 2
    import os  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    shared = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    if "NERVE_DATA_DIR" not in os.environ and shared.is_dir():
        os.environ["NERVE_DATA_DIR"] = str(shared)  # E1 reads the real MNIST files
    ids = [i.upper() for i in a.ids] or None
    run(ids=ids, quick=a.quick, reps=a.reps, memory=not a.no_memory, json_path=a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
