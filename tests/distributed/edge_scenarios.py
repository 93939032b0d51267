"""Edge-case scenarios for data-parallel training, run by test_ddp_edges.py under
``mpirun -n 2 python edge_scenarios.py NAME[,NAME...] OUTDIR``. Each rank writes
``OUTDIR/<name>-rank<r>.npz``; the test compares it with a one-process reference it computes
itself from the same helpers (``make_net``, ``batch``), so the two cannot drift apart."""
import hashlib
import os
import sys

import numpy as np

import nerve as nv
from nerve import nn, optim


class Shuffled(nn.Module):
    """Parameters registered in an order unrelated to the order of use, and a tied weight
    (the embedding matrix is also the output projection)."""

    def __init__(self):
        super().__init__()
        self.out_bias = nn.Parameter(nv.zeros(5))          # used last, registered first
        self.mid = nn.Linear(8, 8)
        self.emb = nn.Linear(6, 8, bias=False)             # emb.weight is reused transposed at the end
        self.first = nn.Linear(6, 6)

    def forward(self, x):
        h = self.first(x).tanh()
        h = self.emb(h).tanh()
        h = self.mid(h).tanh()
        return (h @ self.emb.weight)[:, :5] + self.out_bias       # (N, 8) @ (8, 6): the tied use


def make_net(kind, dtype=np.float64):
    nv.manual_seed(7)
    if kind == "mlp":
        m = nn.Sequential(nn.Linear(6, 10), nn.Tanh(), nn.Linear(10, 5))
    elif kind == "shuffled":
        m = Shuffled()
    elif kind == "bn_first":
        m = nn.Sequential(nn.BatchNorm1d(6), nn.Linear(6, 5))
    else:
        raise ValueError(kind)
    return m.double() if dtype == np.float64 else m


def batch(step, n, dtype=np.float64):
    rng = np.random.default_rng(100 + step)
    return rng.normal(1.0, 2.0, size=(n, 6)).astype(dtype), rng.integers(0, 5, size=n)


def grads(m):
    return {name: (p.grad.numpy().copy() if p.grad is not None else np.full(p.shape, np.nan))
            for name, p in m.named_parameters()}


# ----------------------------------------------------------------------------------- scenarios
def _ddp_grads(dist, kind, sizes, dtype, **kw):
    """One backward of the mean loss of this rank's part of a global batch split as ``sizes``."""
    from nerve.distributed import DistributedDataParallel

    r = dist.rank()
    X, y = batch(0, sum(sizes), dtype)
    lo = sum(sizes[:r])
    m = make_net(kind, dtype)
    net = DistributedDataParallel(m, bucket_cap_mb=1e-4, **kw)    # tiny buckets: one per parameter
    nn.CrossEntropyLoss()(net(nv.tensor(X[lo:lo + sizes[r]])), nv.tensor(y[lo:lo + sizes[r]])).backward()
    out = grads(m)
    out["buckets"] = np.array(len(net._buckets))
    out["nparams"] = np.array(len(net._params))
    return out


def equal_f64(dist):
    return _ddp_grads(dist, "mlp", [5, 5], np.float64)


def equal_f32(dist):
    return _ddp_grads(dist, "mlp", [5, 5], np.float32)


def unequal_f64(dist):
    return _ddp_grads(dist, "mlp", [5, 2], np.float64)


def shuffled_tied(dist):
    return _ddp_grads(dist, "shuffled", [4, 4], np.float64)


def bitwise_equal(dist):
    """40 Adam steps on different float32 data per rank; a hash of every parameter's bytes is
    gathered from all ranks after each step."""
    from nerve.distributed import DistributedDataParallel

    m = make_net("shuffled", np.float32)
    net = DistributedDataParallel(m, bucket_cap_mb=1e-4)
    opt = optim.Adam(m.parameters(), lr=1e-2, weight_decay=1e-3)
    hashes = []
    for s in range(40):
        X, y = batch(1000 * dist.rank() + s, 3 + dist.rank(), np.float32)   # unequal, rank-specific
        opt.zero_grad()
        nn.CrossEntropyLoss()(net(nv.tensor(X)), nv.tensor(y)).backward()
        opt.step()
        h = hashlib.sha256(b"".join(p.numpy().tobytes() for p in m.parameters())).digest()
        hashes.append(dist.all_gather_array(np.frombuffer(h, np.uint8)))
    start = make_net("shuffled", np.float32)
    moved = max(float(np.abs(p.numpy() - q.numpy()).max()) for p, q in zip(m.parameters(), start.parameters()))
    return {"hashes": np.stack(hashes), "moved": np.array(moved)}


def broadcast_buffers(dist):
    """Plain BatchNorm inside DDP: rank 0's running statistics are copied to every rank at each
    training forward, then each rank updates them from its own batch (PyTorch's broadcast_buffers)."""
    from nerve.distributed import DistributedDataParallel

    m = make_net("bn_first")
    net = DistributedDataParallel(m)
    opt = optim.SGD(m.parameters(), lr=0.1)
    for s in range(5):
        X, y = batch(10 * s + dist.rank(), 4)
        opt.zero_grad()
        nn.CrossEntropyLoss()(net(nv.tensor(X)), nv.tensor(y)).backward()
        opt.step()
    bn = m[0]
    return {"rm": bn.running_mean.numpy().copy(), "rv": bn.running_var.numpy().copy(),
            "nbt": np.array(int(bn.num_batches_tracked.numpy()))}


SYNC_SIZES = {"sync_bn_one": [3, 1], "sync_bn_empty": [4, 0]}


def _sync_bn(dist, name):
    from nerve.distributed import SyncBatchNorm

    sizes = SYNC_SIZES[name]
    r = dist.rank()
    rng = np.random.default_rng(3)
    X = rng.normal(2.0, 3.0, size=(sum(sizes), 3, 2))
    G = rng.normal(size=X.shape)
    lo = sum(sizes[:r])
    bn = SyncBatchNorm(3).double()
    bn.weight.data[...] = [1.5, -0.5, 2.0]
    x = nv.tensor(X[lo:lo + sizes[r]], requires_grad=True)
    out = bn(x)
    (out * nv.tensor(G[lo:lo + sizes[r]])).sum().backward()
    return {"out": out.numpy(), "gx": x.grad.numpy(), "gw": bn.weight.grad.numpy(), "gb": bn.bias.grad.numpy(),
            "rm": bn.running_mean.numpy(), "rv": bn.running_var.numpy()}


def sync_bn_one(dist):
    return _sync_bn(dist, "sync_bn_one")


def sync_bn_empty(dist):
    return _sync_bn(dist, "sync_bn_empty")


class Branchy(nn.Module):
    """``extra`` is used on rank 0 only; ``never`` on no rank."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(6, 5)
        self.extra = nn.Linear(6, 5)
        self.never = nn.Linear(6, 5)

    def forward(self, x, use_extra):
        out = self.body(x)
        return out + self.extra(x) if use_extra else out


def _unused(dist, **kw):
    from nerve.distributed import DistributedDataParallel

    nv.manual_seed(3)
    m = Branchy().double()
    net = DistributedDataParallel(m, **kw)
    opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    X, y = batch(dist.rank(), 4)
    nn.CrossEntropyLoss()(net(nv.tensor(X), dist.rank() == 0), nv.tensor(y)).backward()
    out = grads(m)
    opt.step()
    out["never_after"] = m.never.weight.numpy().copy()
    return out


def unused(dist):
    return _unused(dist)


def unused_find(dist):
    return _unused(dist, find_unused_parameters=True)


def accumulate_branch(rank, world, ddp=True):
    """Two micro-batches per rank, the first under no_sync; ``extra`` is used in rank 0's first
    micro-batch only, ``never`` nowhere. One rank's loss is the sum of the micro-batch means / 2."""
    from nerve.distributed import DistributedDataParallel

    nv.manual_seed(3)
    m = Branchy().double()
    net = DistributedDataParallel(m, bucket_cap_mb=1e-4) if ddp else m
    for a in range(2):
        X, y = batch(10 * rank + a, 3)
        ctx = net.no_sync() if (ddp and a == 0) else _Null()
        with ctx:
            (nn.CrossEntropyLoss()(net(nv.tensor(X), rank == 0 and a == 0), nv.tensor(y)) / 2).backward()
    return grads(m)


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def no_sync_branch(dist):
    return accumulate_branch(dist.rank(), dist.world_size())


def siamese(dist):
    """Two forwards through the DDP model, one backward of a loss on both outputs."""
    from nerve.distributed import DistributedDataParallel

    m = make_net("shuffled")
    net = DistributedDataParallel(m, bucket_cap_mb=1e-4)
    X, y = batch(0, 8)
    lo = 4 * dist.rank()
    a, b = net(nv.tensor(X[lo:lo + 4])), net(nv.tensor(X[lo:lo + 4] * 0.5))
    nn.CrossEntropyLoss()(a + b, nv.tensor(y[lo:lo + 4])).backward()
    return grads(m)


def rank0_looks(dist):
    """Rank 0 alone runs a no_grad forward in training mode between two steps (a log, a check);
    it must not take part in any collective, and the steps go on as usual."""
    from nerve.distributed import DistributedDataParallel

    m = make_net("bn_first")
    net = DistributedDataParallel(m)
    for s in range(2):
        X, y = batch(10 * s + dist.rank(), 4)
        nn.CrossEntropyLoss()(net(nv.tensor(X)), nv.tensor(y)).backward()
        if dist.rank() == 0:
            with nv.no_grad():
                net(nv.tensor(X))
    return grads(m)


def eval_padded(dist):
    """The Trainer evaluating through a DistributedSampler on 9 samples over 2 ranks (the sampler
    pads rank 1 with a repeat of sample 0)."""
    from nerve.data import DataLoader, DistributedSampler, Subset
    from nerve.distributed import DistributedDataParallel
    from nerve.train import Trainer

    ds = eval_data()
    m = make_net("mlp")
    trainer = Trainer(DistributedDataParallel(m), optim.SGD(m.parameters(), lr=0.1), nn.CrossEntropyLoss(),
                      metrics=["accuracy"])
    out = {}
    # batch 2: the padding is a batch of its own; batch 5: it ends a batch; the 1-sample set
    # leaves rank 1 with padding only
    for tag, data, bs in (("b2", ds, 2), ("b5", ds, 5), ("one", Subset(ds, [4]), 2)):
        loader = DataLoader(data, batch_size=bs, sampler=DistributedSampler(data, dist.world_size(), dist.rank(),
                                                                            shuffle=False))
        for k, v in trainer.evaluate(loader).items():
            out[f"{tag}_{k}"] = np.array(v)
    return out


def eval_data():
    from nerve.data import TensorDataset

    X, _ = batch(5, 9)
    m = make_net("mlp")
    with nv.no_grad():
        pred = m(nv.tensor(X)).numpy().argmax(1)
    y = pred.copy()
    y[[1, 2, 3, 5, 7]] = (y[[1, 2, 3, 5, 7]] + 1) % 5     # 4 of 9 right, sample 0 among them
    return TensorDataset(X, y)


def raise_on_rank1(dist):
    """Rank 1 fails with an exception in its second step; rank 0 goes on into the all-reduce."""
    from nerve.distributed import DistributedDataParallel

    m = make_net("mlp")
    net = DistributedDataParallel(m)
    for s in range(3):
        if s == 1 and dist.rank() == 1:
            raise ValueError("boom on rank 1")
        X, y = batch(s, 4)
        nn.CrossEntropyLoss()(net(nv.tensor(X)), nv.tensor(y)).backward()


def hang_in_ddp(dist):
    """Rank 1 stops before its backward; rank 0's gradient all-reduce must give up after the
    timeout given to ``dist.init`` (wrapping the model in DDP must not reset it)."""
    import time

    from nerve.distributed import DistributedDataParallel

    m = make_net("mlp")
    net = DistributedDataParallel(m)
    X, y = batch(0, 4)
    loss = nn.CrossEntropyLoss()(net(nv.tensor(X)), nv.tensor(y))
    if dist.rank() == 1:
        time.sleep(60)
    loss.backward()


def nan_on_rank1(dist):
    """The Trainer with DDP; rank 1's third batch holds a NaN. Every rank must stop with the
    FloatingPointError at that step, none waiting in the all-reduce for the rank that stopped."""
    from nerve.data import DataLoader, TensorDataset
    from nerve.distributed import DistributedDataParallel
    from nerve.train import Trainer

    X, y = batch(dist.rank(), 16)
    if dist.rank() == 1:
        X[9, 2] = np.nan
    m = make_net("mlp")
    Trainer(DistributedDataParallel(m), optim.SGD(m.parameters(), lr=0.1), nn.CrossEntropyLoss()).fit(
        DataLoader(TensorDataset(X, y), batch_size=4), epochs=1)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from launch import run_scenarios

    run_scenarios(sys.modules[__name__], "30")
