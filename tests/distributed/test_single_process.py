"""nerve.distributed in one process (a world of one) and the pieces it adds elsewhere: the
engine's end-of-backward callbacks, crash-safe checkpoint folders, metric reduction rules."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim
from nerve.autograd.engine import queue_callback

pytest.importorskip("mpi4py")
import nerve.distributed as dist  # noqa: E402
from nerve.distributed.sync_batchnorm import SyncBatchNorm, _merge_moments  # noqa: E402


# ----------------------------------------------------------------- engine: queue_callback
def test_queue_callback_runs_once_after_backward():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    order = []

    def hook(g):
        order.append("hook")
        queue_callback(lambda: order.append(("end", x.grad is not None)))
        return None

    y = (x * 3).sum()
    x.register_hook(hook)
    y.backward()
    assert order == ["hook", ("end", True)]     # after the leaf got its gradient
    (x * 2).sum().backward()
    assert order == ["hook", ("end", True), "hook", ("end", True)]


def test_queue_callback_outside_backward_and_after_a_failure():
    with pytest.raises(RuntimeError, match="only be called while backward runs"):
        queue_callback(lambda: None)
    ran = []
    x = nv.tensor([1.0], requires_grad=True)

    def bad(g):
        queue_callback(lambda: ran.append(1))
        raise ValueError("boom")

    x.register_hook(bad)
    with pytest.raises(ValueError, match="boom"):
        (x * 2).sum().backward()
    y = nv.tensor([1.0], requires_grad=True)
    (y * 2).sum().backward()
    assert ran == []                               # dropped with the failed pass


# ------------------------------------------------------------------ world of one
def test_world_of_one_collectives():
    dist.init()
    assert dist.is_initialized() and dist.world_size() == 1 and dist.rank() == 0
    t = nv.tensor([1.0, 2.0])
    assert dist.all_reduce(t, op="mean").tolist() == [1.0, 2.0]
    assert [g.tolist() for g in dist.all_gather(t)] == [[1.0, 2.0]]
    dist.barrier()
    with pytest.raises(ValueError, match="unknown reduction 'avg'"):
        dist.all_reduce(t, op="avg")
    with pytest.raises(ValueError, match="src must be a rank in"):
        dist.broadcast(t, src=3)
    with pytest.raises(TypeError, match="takes a nerve Tensor"):
        dist.all_reduce(np.ones(2))
    with pytest.raises(ValueError, match="'mpi' backend only"):
        dist.init_process_group("nccl")


def test_ddp_in_one_process_is_the_model_itself():
    nv.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    ref = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    ref.load_state_dict(m.state_dict())
    ddp = dist.DistributedDataParallel(m)
    x = nv.randn(5, 4)
    ddp(x).sum().backward()
    ref(x).sum().backward()
    for p, q in zip(m.parameters(), ref.parameters()):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    assert list(ddp.state_dict()) == ["module." + k for k in m.state_dict()]
    with pytest.raises(TypeError, match="wraps an nn.Module"):
        dist.DistributedDataParallel(lambda v: v)


def test_launched_world_size_reads_the_launcher(monkeypatch):
    for k in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS"):
        monkeypatch.delenv(k, raising=False)
    assert dist.launched_world_size() == 1
    monkeypatch.setenv("PMI_SIZE", "4")
    assert dist.launched_world_size() == 4


# ------------------------------------------------------------------ SyncBatchNorm
def test_merge_moments_equals_the_whole():
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(n, 3)) for n in (5, 1, 9)]
    counts = np.array([len(p) for p in parts], float)
    means = np.stack([p.mean(0) for p in parts])
    m2 = np.stack([((p - p.mean(0)) ** 2).sum(0) for p in parts])
    n, mean, s = _merge_moments(counts, means, m2)
    whole = np.concatenate(parts)
    assert n == 15
    np.testing.assert_allclose(mean, whole.mean(0), atol=1e-14)
    np.testing.assert_allclose(s / n, whole.var(0), atol=1e-14)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_sync_batchnorm_alone_is_batchnorm(shape):
    rng = np.random.default_rng(1)
    X, G = rng.normal(size=shape), rng.normal(size=shape)
    bn = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d}[len(shape)](3).double()
    sbn = SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(bn)).double()[0]
    assert isinstance(sbn, SyncBatchNorm) and sbn.weight is bn.weight
    ref = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d}[len(shape)](3).double()
    for _ in range(2):
        xs, xr = nv.tensor(X, requires_grad=True), nv.tensor(X, requires_grad=True)
        (sbn(xs) * nv.tensor(G)).sum().backward()
        (ref(xr) * nv.tensor(G)).sum().backward()
        np.testing.assert_allclose(xs.grad.numpy(), xr.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(sbn.weight.grad.numpy(), ref.weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(sbn.running_var.numpy(), ref.running_var.numpy(), atol=1e-12)
    sbn.eval(), ref.eval()
    np.testing.assert_allclose(sbn(nv.tensor(X)).numpy(), ref(nv.tensor(X)).numpy(), atol=1e-12)


def test_sync_batchnorm_gradcheck():
    from nerve.autograd import gradcheck

    sbn = SyncBatchNorm(2).double()
    x = nv.tensor(np.random.default_rng(2).normal(size=(4, 2, 3)), requires_grad=True)
    assert gradcheck(lambda v: sbn(v), (x,))


# ------------------------------------------------------------ Trainer under distribution
def test_a_streaming_metric_without_reduce_state_is_refused(monkeypatch):
    from nerve.train import _dist, trainer as T

    class Fake:
        @staticmethod
        def sum(values):
            return [2 * v for v in values]    # as if two ranks had the same sums

        @staticmethod
        def rank():
            return 0

        @staticmethod
        def world_size():
            return 2

    class Streaming:
        name = "mine"

        def reset(self):
            pass

        def update(self, out, y):
            pass

        def compute(self):
            return 1.0

    from nerve.backend import world

    monkeypatch.setattr(world, "_WORLD", Fake)
    assert _dist.is_main_process()          # rank 0 of two
    acc = T._make_metric("accuracy")
    acc.reset()
    acc.correct, acc.count = 3, 4
    assert T._reduce_metrics([acc], 1.5, 4) == (3.0, 8) and (acc.correct, acc.count) == (6, 8)
    with pytest.raises(TypeError, match="cannot be combined over ranks"):
        T._reduce_metrics([T._make_metric(Streaming())], 1.0, 1)


# --------------------------------------------------------------- crash-safe checkpoints
def _trainer(tmp_path):
    from nerve.train import Trainer

    nv.manual_seed(0)
    m = nn.Linear(3, 2)
    return Trainer(m, optim.SGD(m.parameters(), lr=0.1), nn.MSELoss(), metrics=())


def test_a_crash_while_replacing_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    from nerve.train import checkpoint as ck

    tr = _trainer(tmp_path)
    tr.epoch = 1
    tr.save_checkpoint(tmp_path / "last")
    tr.epoch = 2
    real = ck.save_safetensors
    calls = []

    def dies_on_second_file(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed between the model file and the state file
        return real(*a, **k)

    monkeypatch.setattr(ck, "save_safetensors", dies_on_second_file)
    with pytest.raises(KeyboardInterrupt):
        tr.save_checkpoint(tmp_path / "last")
    monkeypatch.setattr(ck, "save_safetensors", real)
    assert ck.load_checkpoint(tmp_path / "last", tr.model)["epoch"] == 1
    tr.epoch = 3
    tr.save_checkpoint(tmp_path / "last")             # the next save clears the leftovers
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]
    assert ck.load_checkpoint(tmp_path / "last", tr.model)["epoch"] == 3


def test_crash_between_the_two_renames_reads_the_set_aside_checkpoint(tmp_path, monkeypatch):
    import os

    from nerve.train import checkpoint as ck

    tr = _trainer(tmp_path)
    tr.epoch = 1
    tr.save_checkpoint(tmp_path / "last")
    real_rename = os.rename
    n = []

    def second_rename_fails(a, b):
        n.append(1)
        if len(n) == 2:
            raise KeyboardInterrupt
        return real_rename(a, b)

    monkeypatch.setattr(ck.os, "rename", second_rename_fails)
    tr.epoch = 2
    with pytest.raises(KeyboardInterrupt):
        tr.save_checkpoint(tmp_path / "last")
    monkeypatch.setattr(ck.os, "rename", real_rename)
    assert not (tmp_path / "last").exists()
    with pytest.warns(UserWarning, match="was being replaced"):
        assert ck.load_checkpoint(tmp_path / "last", tr.model)["epoch"] == 1


def test_a_folder_with_other_files_is_written_into_not_replaced(tmp_path):
    tr = _trainer(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    tr.save_checkpoint(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "checkpoint.json").is_file()
