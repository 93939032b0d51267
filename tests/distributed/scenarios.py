"""What each rank does in the MPI tests, and the one-process reference for each (same file, so
the two cannot drift apart). Every scenario works for any world size, including 1."""
import numpy as np

import nerve as nv
from nerve import nn, optim

GLOBAL_BATCH = 16
STEPS = 6


def data(dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(GLOBAL_BATCH * STEPS, 1, 6, 6)).astype(dtype)
    y = rng.integers(0, 3, size=GLOBAL_BATCH * STEPS)
    return X, y


def model(dtype, bn=False, sync=False):
    nv.manual_seed(1234)
    layers = [nn.Conv2d(1, 4, 3), *( [nn.BatchNorm2d(4)] if bn else []), nn.ReLU(), nn.Flatten(),
              nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 3)]
    m = nn.Sequential(*layers)
    if dtype == np.float64:
        m = m.double()
    if sync:
        from nerve.distributed import SyncBatchNorm
        m = SyncBatchNorm.convert_sync_batchnorm(m)
    return m


def train(dtype, rank, world, bn=False, accumulate=1, ddp=True):
    """SGD with momentum on a fixed sequence of global batches; this rank takes its shard."""
    X, y = data(dtype)
    m = model(dtype, bn=bn, sync=bn and world > 1)
    if world > 1 and ddp:
        from nerve.distributed import DistributedDataParallel
        net = DistributedDataParallel(m, bucket_cap_mb=0.001)   # tiny buckets: several, overlapped
    else:
        net = m
    opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    per = GLOBAL_BATCH // world
    for s in range(STEPS):
        xb = X[s * GLOBAL_BATCH:(s + 1) * GLOBAL_BATCH][rank * per:(rank + 1) * per]
        yb = y[s * GLOBAL_BATCH:(s + 1) * GLOBAL_BATCH][rank * per:(rank + 1) * per]
        opt.zero_grad()
        if accumulate == 1:
            loss_fn(net(nv.tensor(xb)), nv.tensor(yb)).backward()
        else:  # micro-batches: only the last backward communicates
            k = per // accumulate
            for a in range(accumulate):
                sl = slice(a * k, (a + 1) * k)
                ctx = net.no_sync() if (a < accumulate - 1 and net is not m) else _null()
                with ctx:
                    (loss_fn(net(nv.tensor(xb[sl])), nv.tensor(yb[sl])) / accumulate).backward()
        opt.step()
    out = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    return out


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def ddp_float64(dist):
    return train(np.float64, dist.rank(), dist.world_size())


def ddp_float32(dist):
    return train(np.float32, dist.rank(), dist.world_size())


def ddp_bn(dist):
    return train(np.float64, dist.rank(), dist.world_size(), bn=True)


def ddp_accumulate(dist):
    return train(np.float64, dist.rank(), dist.world_size(), accumulate=2)


def collectives(dist):
    r, w = dist.rank(), dist.world_size()
    t = nv.tensor(np.arange(4.0) + r)
    s = dist.all_reduce(nv.tensor(np.arange(4.0) + r)).numpy().copy()
    mean = dist.all_reduce(nv.tensor(np.arange(4.0) + r), op="mean").numpy().copy()
    mx = dist.all_reduce(nv.tensor(np.arange(4.0) * (r + 1)), op="max").numpy().copy()
    b = dist.broadcast(nv.tensor(np.full(3, float(r))), src=w - 1).numpy().copy()
    g = np.stack([x.numpy() for x in dist.all_gather(t)])
    v0 = t._version
    dist.all_reduce(t)
    dist.barrier()
    return {"sum": s, "mean": mean, "max": mx, "bcast": b, "gather": g, "version_bumped": np.array(t._version > v0)}


def sync_bn(dist):
    """SyncBatchNorm forward/backward on this rank's shard of a fixed batch."""
    from nerve.distributed import SyncBatchNorm

    r, w = dist.rank(), dist.world_size()
    rng = np.random.default_rng(5)
    X = rng.normal(2.0, 3.0, size=(8, 3, 4, 4))
    G = rng.normal(size=X.shape)
    per = len(X) // w
    bn = SyncBatchNorm(3).double()
    bn.weight.data[...] = [1.5, -0.5, 2.0]
    bn.bias.data[...] = [0.1, 0.2, -0.3]
    x = nv.tensor(X[r * per:(r + 1) * per], requires_grad=True)
    out = bn(x)
    (out * nv.tensor(G[r * per:(r + 1) * per])).sum().backward()
    return {"out": out.numpy(), "gx": x.grad.numpy(), "gw": bn.weight.grad.numpy(), "gb": bn.bias.grad.numpy(),
            "rm": bn.running_mean.numpy(), "rv": bn.running_var.numpy()}


def hang(dist):
    """Rank 1 stops answering; rank 0's all_reduce must give up after the timeout."""
    import time

    if dist.rank() == 1:
        time.sleep(120)
    dist.all_reduce(nv.tensor(np.ones(3)))


def trainer_run(rank, world, folder):
    """The Trainer with DDP, a DistributedSampler (global batch 16 split over ranks), validation,
    a checkpoint and CSV/JSON logs; returns the final weights and the history."""
    import os

    from nerve.data import DataLoader, DistributedSampler, TensorDataset
    from nerve.train import CSVLogger, JSONLogger, ModelCheckpoint, ProgressBar, Trainer

    X, y = data(np.float64)
    train_set = TensorDataset(X[:80], y[:80])
    val_set = TensorDataset(X[80:], y[80:])
    m = model(np.float64)
    net = m
    if world > 1:
        from nerve.distributed import DistributedDataParallel
        net = DistributedDataParallel(m)
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True, seed=7)
    loader = DataLoader(train_set, batch_size=GLOBAL_BATCH // world, sampler=sampler)
    val = DataLoader(val_set, batch_size=4, sampler=DistributedSampler(val_set, num_replicas=world, rank=rank,
                                                                       shuffle=False))
    seen = []

    class Watch(ModelCheckpoint.__mro__[1]):  # a plain Callback: records the after-backward hook
        def on_after_backward(self, step, logs=None):
            seen.append(sum(float((p.grad.numpy() ** 2).sum()) for p in m.parameters()))

    os.makedirs(folder, exist_ok=True)
    cbs = [ProgressBar(quiet=False), CSVLogger(os.path.join(folder, "h.csv")),
           JSONLogger(os.path.join(folder, "h.json")), ModelCheckpoint(os.path.join(folder, "ck"), save_best=False),
           Watch()]
    trainer = Trainer(net, optim.SGD(m.parameters(), lr=0.1, momentum=0.9), nn.CrossEntropyLoss(), callbacks=cbs)
    hist = trainer.fit(loader, epochs=3, val_loader=val)
    out = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    for k in ("loss", "accuracy", "val_loss", "val_accuracy"):
        out["hist_" + k] = np.array(hist[k])
    out["grad_norms"] = np.array(seen)
    out["epochs_seen"] = np.array(sampler.epoch)
    return out


def trainer(dist):
    import os
    import sys

    folder = os.path.join(sys.argv[2], f"trainer-files-rank{dist.rank()}")
    return trainer_run(dist.rank(), dist.world_size(), folder)


def overlap(dist):
    """Several buckets on a deeper model: how many were posted before backward ended."""
    from nerve.distributed import DistributedDataParallel

    nv.manual_seed(0)
    m = nn.Sequential(*[nn.Linear(64, 64) for _ in range(6)]).double()
    net = DistributedDataParallel(m, bucket_cap_mb=64 * 65 * 8 / 2 ** 20)   # one layer per bucket
    x = nv.tensor(np.random.default_rng(dist.rank()).normal(size=(4, 64)))
    net(x).sum().backward()
    grads = np.concatenate([p.grad.numpy().ravel() for p in m.parameters()])
    return {"buckets": np.array(len(net._buckets)), "overlapped": np.array(net.overlapped),
            "reductions": np.array(net.reductions), "grads": grads}


def die_after_first_epoch(dist):
    """Rank 1 dies at the end of epoch 2; the job must end and a complete checkpoint must load."""
    import os
    import sys

    from nerve.data import DataLoader, DistributedSampler, TensorDataset
    from nerve.distributed import DistributedDataParallel
    from nerve.train import Callback, ModelCheckpoint, Trainer

    X, y = data(np.float64)
    ds = TensorDataset(X, y)
    m = model(np.float64)
    net = DistributedDataParallel(m)

    class Die(Callback):
        order = 100   # after the checkpoint

        def on_epoch_end(self, epoch, logs=None):
            if dist.rank() == 1 and epoch == 1:   # epoch 1's checkpoint may be half written on rank 0
                os._exit(3)

    loader = DataLoader(ds, batch_size=8, sampler=DistributedSampler(ds, dist.world_size(), dist.rank()))
    Trainer(net, optim.SGD(m.parameters(), lr=0.1), nn.CrossEntropyLoss(),
            callbacks=[ModelCheckpoint(os.path.join(sys.argv[2], "ck"), save_best=False), Die()]).fit(loader, 5)
