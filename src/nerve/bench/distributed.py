"""Data-parallel scaling figures: run under ``mpiexec -n K python -m nerve.bench.distributed``.

For each workload (the W3 MLP and LeNet-5) the same global batch is split over the K ranks and
trained with ``DistributedDataParallel``; rank 0 prints samples per second and the share of each
step spent waiting for gradient reductions (DDP's ``comm_seconds``). ``--allreduce`` measures the
all-reduce time for message sizes from 8 bytes to 64 MiB, and fits the cost model
t(n) = alpha + n * beta (latency + size / bandwidth) used in docs/distributed.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def _workload(name, rank, world, global_batch):
    import nerve as nv
    from nerve import models, nn, optim

    nv.manual_seed(0)
    if name == "W3":
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
        shape = (784,)
        opt = optim.Adam
    else:
        model = models.LeNet5() if hasattr(models, "LeNet5") else models.get_model("lenet5")
        shape = (1, 28, 28)
        opt = lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9)  # noqa: E731
    per = global_batch // world
    rng = np.random.default_rng(rank)
    x = nv.tensor(rng.normal(size=(per, *shape)).astype(np.float32))
    y = nv.tensor(rng.integers(0, 10, size=per))
    return model, opt, x, y


def scaling(name, global_batch, steps, warmup=5):
    import nerve.distributed as dist
    from nerve import nn

    dist.init()
    rank, world = dist.rank(), dist.world_size()
    model, make_opt, x, y = _workload(name, rank, world, global_batch)
    net = dist.DistributedDataParallel(model) if world > 1 else model
    opt = make_opt(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()

    for _ in range(warmup):
        step()
    dist.barrier()
    if world > 1:
        net.comm_seconds = 0.0
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dist.barrier()
    seconds = time.perf_counter() - t0
    comm = net.comm_seconds if world > 1 else 0.0
    comm = float(dist.all_reduce_array(np.array([comm]), "max")[0])
    return {"workload": name, "ranks": world, "global_batch": global_batch,
            "samples_per_s": global_batch * steps / seconds, "step_ms": 1e3 * seconds / steps,
            "comm_share": comm / seconds}


def allreduce_costs(reps=20):
    import nerve.distributed as dist

    dist.init()
    g = dist.comm._group()
    rows = []
    for size in [1 << k for k in range(0, 24, 2)]:  # float64 values: 8 B .. 64 MiB
        a = np.ones(size)
        out = np.empty_like(a)
        g.comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(reps):
            g.comm.Allreduce(a, out)
        t = (time.perf_counter() - t0) / reps
        rows.append((a.nbytes, float(dist.all_reduce_array(np.array([t]), "max")[0])))
    n = np.array([r[0] for r in rows], float)
    t = np.array([r[1] for r in rows])
    # The two ends of the model, each where it dominates: the latency from messages of at most
    # 2 KiB (their time is nearly flat), the bandwidth from the slope over messages of 512 KiB+.
    alpha = float(np.median(t[n <= 2048]))
    big = n >= 512 * 1024
    beta = float(np.polyfit(n[big], t[big], 1)[0])
    return {"ranks": g.size, "sizes_bytes": n.tolist(), "seconds": t.tolist(),
            "alpha_s": alpha, "bytes_per_s": 1.0 / beta if beta > 0 else float("inf")}


def main(argv=None):
    p = argparse.ArgumentParser(prog="mpiexec -n K python -m nerve.bench.distributed")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--allreduce", action="store_true")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    import nerve.distributed as dist

    results = [scaling("W3", 128, args.steps), scaling("LeNet", 64, args.steps)]
    if args.allreduce:
        results.append(allreduce_costs())
    if dist.rank() == 0:
        for r in results:
            print(json.dumps(r))
        if args.json:
            from ..io.atomic import write_text

            write_text(args.json, json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
