"""Time each workload in nerve and PyTorch, alternating, and report the ratios.

For every workload both frameworks build the same model from the same weights; after
warm-up the runner alternates timed repetitions (nerve, torch, nerve, torch ...) so both
see the same machine load, and reports the median steps per second of each, the median
of the per-pair ratios nerve/torch with its interquartile spread, peak memory (measured
in a fresh subprocess per framework), and achieved GFLOP/s against this CPU's measured
float32 GEMM peak.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from ..backend import blas_threads
from ..io import write_text

# The folder that holds the ``nerve`` package (site-packages, or src/ in a checkout): the
# memory subprocesses import this very copy of nerve.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cpu_peak_gflops(n=1024, reps=5) -> float:
    """Best float32 GEMM rate NumPy reaches here: the practical peak for the ratios."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    best = float("inf")
    a @ a
    for _ in range(reps):
        t = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def _time_block(step, n):
    t = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t) / n


def _calibrate(step, target_s):
    """How many steps make one timed repetition last about ``target_s``."""
    n = 1
    if target_s <= 0:
        return 1
    while True:
        dt = _time_block(step, n) * n
        if dt >= target_s / 4 or n >= 1 << 20:
            return max(1, int(n * target_s / max(dt, 1e-9)))
        n *= 4


def measure(build, reps=7, warmup_s=0.3, rep_s=0.25):
    """Alternate timed repetitions of nerve and torch; return per-framework seconds/step."""
    import torch  # noqa: PLC0415

    torch.manual_seed(0)
    steps = {fw: build(fw) for fw in ("nerve", "torch")}
    counts = {}
    for fw, (step, _) in steps.items():
        step()  # at least one untimed step (first-call costs)
        t_end = time.perf_counter() + warmup_s
        while time.perf_counter() < t_end:
            step()
        counts[fw] = _calibrate(step, rep_s)
    times = {"nerve": [], "torch": []}
    for _ in range(reps):
        for fw in ("nerve", "torch"):
            times[fw].append(_time_block(steps[fw][0], counts[fw]))
    return times, steps["nerve"][1]


def peak_memory(workload_id, fw, steps=20, quick=False):
    """Peak resident memory (bytes) a workload adds, measured in a fresh process.

    The baseline is taken after the imports and after the workload's input data exists
    (the same arrays feed both frameworks); the peak covers building the model and the
    optimizer and running ``steps`` steps: weights, optimizer state, activations, gradients
    and every transient buffer.
    """
    code = (
        "import sys, numpy as np\n"
        "sys.path.insert(0, %r)\n"
        "from nerve.bench.workloads import WORKLOADS, QUICK\n"
        "from nerve.bench.runner import _rss\n"
        "import torch; torch.set_num_threads(%d)\n"
        "import nerve\n"
        "b = QUICK[%r] if %r else WORKLOADS[%r][1]\n"
        "getattr(b, 'prepare', lambda: None)()\n"
        "base = _rss(reset=True)\n"
        "step, _ = b(%r)\n"
        "for _ in range(%d): step()\n"
        "print(_rss()[1] - base[0])\n"
    ) % (_PACKAGE_ROOT, blas_threads(), workload_id,
         quick, workload_id, fw, steps)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        return None
    return max(0, int(out.stdout.strip().splitlines()[-1]))


def _rss(reset=False):
    """(current RSS, peak RSS) in bytes from /proc; optionally reset the peak first."""
    if reset:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM, the peak resident set size
        except OSError:
            pass
    vals = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                k, v = line.split(":")
                vals[k] = int(v.split()[0]) * 1024
    return vals.get("VmRSS", 0), vals.get("VmHWM", 0)


def _q(a, q):
    return float(np.quantile(np.asarray(a), q))


def run(ids=None, quick=False, reps=7, memory=True, json_path=None, out=print):
    import torch  # noqa: PLC0415

    from .workloads import QUICK, SETTINGS, WORKLOADS  # noqa: PLC0415

    threads = blas_threads()
    torch.set_num_threads(threads)
    table = QUICK if quick else {k: v[1] for k, v in WORKLOADS.items()}
    ids = [i for i in (ids or table) if i in table]
    peak = cpu_peak_gflops(256 if quick else 1024)
    out(f"nerve vs PyTorch {torch.__version__} | numpy {np.__version__} | threads {threads} | "
        f"float32 GEMM peak here {peak:.1f} GFLOP/s")
    results = []
    for wid in ids:
        desc = WORKLOADS[wid][0] if wid in WORKLOADS else wid
        opts = SETTINGS.get(wid, {})
        try:
            times, info = measure(table[wid], reps=3 if quick else opts.get("reps", reps),
                                  warmup_s=0.05 if quick else opts.get("warmup_s", 0.3),
                                  rep_s=0.02 if quick else opts.get("rep_s", 0.25))
        except (ImportError, AttributeError, NotImplementedError) as e:
            out(f"{wid}: skipped ({type(e).__name__}: {e})")
            continue
        ratios = [t / n for n, t in zip(times["nerve"], times["torch"])]  # speed ratio nerve/torch
        row = {
            "id": wid, "workload": desc,
            "nerve_steps_per_s": 1 / _q(times["nerve"], 0.5),
            "torch_steps_per_s": 1 / _q(times["torch"], 0.5),
            "ratio": _q(ratios, 0.5), "ratio_q1": _q(ratios, 0.25), "ratio_q3": _q(ratios, 0.75),
            "nerve_gflops": info["flops"] / _q(times["nerve"], 0.5) / 1e9,
            "torch_gflops": info["flops"] / _q(times["torch"], 0.5) / 1e9,
        }
        if "elements" in info:  # activations: the cost of one element, forward and backward
            row["nerve_ns_per_element"] = _q(times["nerve"], 0.5) / info["elements"] * 1e9
            row["torch_ns_per_element"] = _q(times["torch"], 0.5) / info["elements"] * 1e9
        if memory:
            ms = opts.get("mem_steps", 20)
            row["nerve_peak_mb"] = (peak_memory(wid, "nerve", steps=ms, quick=quick) or 0) / 2 ** 20
            row["torch_peak_mb"] = (peak_memory(wid, "torch", steps=ms, quick=quick) or 0) / 2 ** 20
        results.append(row)
        mem = (f" | peak MB nerve {row['nerve_peak_mb']:.1f} torch {row['torch_peak_mb']:.1f}"
               if memory else "")
        out(f"{wid} {desc}\n    nerve {row['nerve_steps_per_s']:9.4g} steps/s  torch "
            f"{row['torch_steps_per_s']:9.4g} steps/s  ratio {row['ratio']:.2f}x "
            f"[{row['ratio_q1']:.2f}-{row['ratio_q3']:.2f}]  GFLOP/s nerve {row['nerve_gflops']:.2f} "
            f"torch {row['torch_gflops']:.2f} ({100 * row['nerve_gflops'] / peak:.0f}% of peak){mem}")
        if "nerve_ns_per_element" in row:
            out(f"    per element, forward+backward: nerve {row['nerve_ns_per_element']:.2f} ns  "
                f"torch {row['torch_ns_per_element']:.2f} ns")
    out("\nsummary (ratio = nerve speed / torch speed, median [IQR]):")
    out("| id | nerve steps/s | torch steps/s | ratio | nerve MB | torch MB |")
    out("|---|---:|---:|---:|---:|---:|")
    for r in results:
        out(f"| {r['id']} | {r['nerve_steps_per_s']:.4g} | {r['torch_steps_per_s']:.4g} | "
            f"{r['ratio']:.2f} [{r['ratio_q1']:.2f}-{r['ratio_q3']:.2f}] | "
            f"{r.get('nerve_peak_mb', float('nan')):.1f} | {r.get('torch_peak_mb', float('nan')):.1f} |")
    if json_path:
        write_text(json_path, json.dumps({"peak_gflops": peak, "threads": threads,
                                          "results": results}, indent=2))
    return results
