"""The benchmark suite's entry point, shared by ``nerve bench`` and ``python -m nerve.bench``."""
import argparse
import sys

TORCH_PIN = "torch==2.13.0"


def main(argv=None, prog="python -m nerve.bench"):
    """Parse ``argv``, run the chosen workloads and print the summary table; the exit status."""
    p = argparse.ArgumentParser(prog=prog, description=__doc__)
    p.add_argument("ids", nargs="*", help="workload ids (default: all): W1 W2 W3 W4 W7 C1 U1 E1 ACT-RELU ..., or 'activations'")
    p.add_argument("--quick", action="store_true", help="tiny sizes, a few repetitions (smoke test)")
    p.add_argument("--reps", type=int, default=7, help="timed repetitions per framework")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    a = p.parse_args(argv)
    try:
        import torch  # noqa: F401, PLC0415
    except ImportError:
        print(f"the benchmarks compare nerve with PyTorch, which is not installed: pip install '{TORCH_PIN}'",
              file=sys.stderr)
        return 2
    from .runner import run  # noqa: PLC0415

    from .workloads import ACTIVATIONS, WORKLOADS  # noqa: PLC0415

    ids = []
    for i in a.ids:
        i = i.upper()
        if i in ("ACTIVATIONS", "ACT"):  # `nerve bench activations`: the four of spec row A27
            ids += list(ACTIVATIONS)
        elif i in WORKLOADS:
            ids.append(i)
        else:
            print(f"unknown workload {i!r}; choose from {', '.join(WORKLOADS)} or 'activations'",
                  file=sys.stderr)
            return 2
    ids = ids or None
    run(ids=ids, quick=a.quick, reps=a.reps, memory=not a.no_memory, json_path=a.json)
    return 0
