"""What the version counters cost on the small training steps (issue 9 asks for at most 3 %).

    OPENBLAS_NUM_THREADS=1 python benchmarks/vc_overhead.py W1 W2

Runs each workload's nerve step in one process, alternating twelve times between the engine as
it is and the engine with its version-counter work taken out: ``Function.apply`` without the
clock stamp and the scan that ties a saved output to its counter, the optimizer without its
version bump, and the in-place clock held at 0 so no node looks stale. The difference of the
medians is the overhead. The patch is applied to the source of ``Function.apply`` at run time;
if that source changes, the script stops and says so instead of measuring the wrong thing.
"""
import inspect
import sys
import textwrap
import time

import numpy as np

import nerve.autograd.function as fn_module
import nerve.optim._flat as flat_module
from nerve.autograd.tensor import _MUT
from nerve.bench.workloads import WORKLOADS

def apply_without_counters():
    """``Function.apply`` without its version-counter block: from the clock stamp to the end of
    the loop that gives a saved output its counter."""
    code = textwrap.dedent(inspect.getsource(fn_module.Function.apply.__func__))
    start = code.find("ctx._stamp = _MUT[0]")
    end = code.find("break\n", start) + len("break\n")
    block = code[code.rfind("\n", 0, start) + 1:end]
    if start < 0 or "_out_vc" not in block or block.count("\n") > 12:
        sys.exit("Function.apply changed: update apply_without_counters() before measuring")
    namespace = dict(fn_module.__dict__)
    exec(code.replace(block, "").replace("@classmethod\n", ""), namespace)  # noqa: S102
    return classmethod(namespace["apply"])


def main(ids, rounds=12, steps=1500):
    modes = {"with": (fn_module.Function.__dict__["apply"], flat_module._bump),
             "without": (apply_without_counters(), lambda p: None)}
    work = {w: WORKLOADS[w][1]("nerve")[0] for w in ids}
    times = {(w, m): [] for w in ids for m in modes}
    for _ in range(rounds):
        for mode, (apply, bump) in modes.items():
            fn_module.Function.apply, flat_module._bump = apply, bump
            clock = _MUT[0]
            if mode == "without":
                _MUT[0] = 0  # nothing is recorded, so every node's default stamp 0 is current
            for w, step in work.items():
                for _ in range(200):
                    step()
                t = time.perf_counter()
                for _ in range(steps):
                    step()
                times[(w, mode)].append((time.perf_counter() - t) / steps)
            _MUT[0] = max(_MUT[0], clock)
    fn_module.Function.apply, flat_module._bump = modes["with"]
    for w in ids:
        a, b = np.median(times[(w, "with")]), np.median(times[(w, "without")])
        print(f"{w}: {a * 1e6:.1f} us a step with version counters, {b * 1e6:.1f} without: "
              f"{100 * (a / b - 1):+.1f} %")


if __name__ == "__main__":
    main(sys.argv[1:] or ["W1", "W2"])
