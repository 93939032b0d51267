"""Edge cases of data-parallel training under a real ``mpirun -n 2``, each compared with a
one-process reference computed here: equal and unequal shards, bit-identical weights, buffers,
SyncBatchNorm with tiny shards, unused parameters, tied weights, padded evaluation, a failing
rank, and the DistributedSampler's contract."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import edge_scenarios as E  # noqa: E402
import launch  # noqa: E402
from launch import MPIRUN, SRC, load  # noqa: E402

needs_mpi = pytest.mark.skipif(
    MPIRUN is None or not __import__("importlib").util.find_spec("mpi4py"),
    reason="needs mpi4py and an MPI launcher: pip install 'nerve[distributed]'")


def mpirun(names, out, timeout=90, **kwargs):
    return launch.mpirun(names, out, script="edge_scenarios.py", timeout=timeout, **kwargs)


QUICK = ["equal_f64", "equal_f32", "unequal_f64", "shuffled_tied", "bitwise_equal", "broadcast_buffers",
         "sync_bn_one", "sync_bn_empty", "unused", "unused_find", "eval_padded",
         "no_sync_branch", "siamese"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("edges")
    mpirun(QUICK, out, env_extra={"TEST_TIMEOUT": "20"})
    return out


def reference_grads(kind, X, y, dtype=np.float64):
    m = E.make_net(kind, dtype)
    nn.CrossEntropyLoss()(m(nv.tensor(X)), nv.tensor(y)).backward()
    return E.grads(m)


# ----------------------------------------------------------------------- gradients
@needs_mpi
@pytest.mark.parametrize("name,dtype,tol", [("equal_f64", np.float64, 1e-14), ("equal_f32", np.float32, 2e-7)])
def test_equal_shards_give_the_gradient_of_the_global_batch_mean(results, name, dtype, tol):
    X, y = E.batch(0, 10, dtype)
    ref = reference_grads("mlp", X, y, dtype)
    for r in (0, 1):
        got = load(results, name, r)
        for k in ref:
            scale = max(1.0, float(np.abs(ref[k]).max()))
            np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=tol * scale * 4, err_msg=f"{name} rank {r} {k}")


@needs_mpi
def test_unequal_shards_average_the_per_rank_means_as_torch(results):
    """DDP averages each rank's gradient with equal weight (as torch's DDP does), so with shards
    of 5 and 2 samples the result is (mean grad of 5 + mean grad of 2) / 2, not the gradient of
    the mean over all 7 samples."""
    X, y = E.batch(0, 7)
    g0, g1 = reference_grads("mlp", X[:5], y[:5]), reference_grads("mlp", X[5:], y[5:])
    whole = reference_grads("mlp", X, y)
    for r in (0, 1):
        got = load(results, "unequal_f64", r)
        for k in g0:
            np.testing.assert_allclose(got[k], (g0[k] + g1[k]) / 2, rtol=0, atol=1e-14)
        assert max(float(np.abs(got[k] - whole[k]).max()) for k in whole) > 1e-3   # really differs


@needs_mpi
def test_unusual_registration_order_and_tied_weights(results):
    """One bucket per parameter, parameters registered in another order than backward reaches
    them, and a weight used twice: each counted once, gradients equal the one-process ones."""
    X, y = E.batch(0, 8)
    ref = reference_grads("shuffled", X, y)
    for r in (0, 1):
        got = load(results, "shuffled_tied", r)
        assert int(got["nparams"]) == 6 == int(got["buckets"])
        for k in ref:
            np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=1e-14, err_msg=f"rank {r} {k}")


@needs_mpi
def test_weights_stay_bit_identical_across_ranks(results):
    a = load(results, "bitwise_equal", 0)
    assert float(a["moved"]) > 1e-2
    h = a["hashes"]                                         # (steps, ranks, 32)
    assert h.shape == (40, 2, 32)
    assert (h[:, 0] == h[:, 1]).all()
    np.testing.assert_array_equal(h, load(results, "bitwise_equal", 1)["hashes"])


# ------------------------------------------------------------------------- buffers / BN
@needs_mpi
def test_buffers_come_from_rank_0_at_each_forward(results):
    """broadcast_buffers=True (PyTorch's default): at every training forward rank 0's running
    statistics replace the others', then each rank updates them from its own batch. BatchNorm is
    the first layer, so its statistics depend on the data only."""
    bn = nn.BatchNorm1d(6).double()
    for s in range(4):
        bn(nv.tensor(E.batch(10 * s, 4)[0]))            # rank 0's first four batches
    before = (bn.running_mean.numpy().copy(), bn.running_var.numpy().copy())
    last0 = nn.BatchNorm1d(6).double()
    last0.load_state_dict(bn.state_dict())
    last0(nv.tensor(E.batch(40, 4)[0]))
    last1 = nn.BatchNorm1d(6).double()
    last1.running_mean.data[...], last1.running_var.data[...] = before
    last1(nv.tensor(E.batch(41, 4)[0]))                  # rank 1's last batch on rank 0's statistics
    for r, want in ((0, last0), (1, last1)):
        got = load(results, "broadcast_buffers", r)
        np.testing.assert_allclose(got["rm"], want.running_mean.numpy(), rtol=0, atol=1e-14)
        np.testing.assert_allclose(got["rv"], want.running_var.numpy(), rtol=0, atol=1e-14)
        assert int(got["nbt"]) == 5


@needs_mpi
@pytest.mark.parametrize("name", ["sync_bn_one", "sync_bn_empty"])
def test_sync_batchnorm_with_a_tiny_shard_is_batchnorm_of_the_whole(results, name):
    """Shards of 3 and 1 samples (and of 4 and 0): outputs, input gradients, summed parameter
    gradients and the running statistics (unbiased variance, as torch) of BatchNorm over all 4."""
    rng = np.random.default_rng(3)
    X = rng.normal(2.0, 3.0, size=(4, 3, 2))
    G = rng.normal(size=X.shape)
    bn = nn.BatchNorm1d(3).double()
    bn.weight.data[...] = [1.5, -0.5, 2.0]
    x = nv.tensor(X, requires_grad=True)
    out = bn(x)
    (out * nv.tensor(G)).sum().backward()
    parts = [load(results, name, r) for r in (0, 1)]
    np.testing.assert_allclose(np.concatenate([p["out"] for p in parts]), out.numpy(), atol=1e-12)
    np.testing.assert_allclose(np.concatenate([p["gx"] for p in parts]), x.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(parts[0]["gw"] + parts[1]["gw"], bn.weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(parts[0]["gb"] + parts[1]["gb"], bn.bias.grad.numpy(), atol=1e-12)
    for p in parts:
        np.testing.assert_allclose(p["rm"], bn.running_mean.numpy(), atol=1e-12)
        np.testing.assert_allclose(p["rv"], bn.running_var.numpy(), atol=1e-12)


# --------------------------------------------------------------------- unused parameters
def _branchy_grads(rank):
    nv.manual_seed(3)
    m = E.Branchy().double()
    X, y = E.batch(rank, 4)
    nn.CrossEntropyLoss()(m(nv.tensor(X), rank == 0), nv.tensor(y)).backward()
    return E.grads(m)


@needs_mpi
@pytest.mark.parametrize("name", ["unused", "unused_find"])
def test_a_branch_used_on_one_rank_is_averaged_with_zero(results, name):
    """``extra`` is used on rank 0 only: its gradient is rank 0's / 2 on both ranks (the other rank
    contributes zero), no hang. ``never`` is used on no rank: its gradient stays None, as in one
    process and as torch's find_unused_parameters leaves it, so weight decay and momentum do not
    move it."""
    g0, g1 = _branchy_grads(0), _branchy_grads(1)
    nv.manual_seed(3)
    start = E.Branchy().double().never.weight.numpy()
    for r in (0, 1):
        got = load(results, name, r)
        for k in ("body.weight", "body.bias"):
            np.testing.assert_allclose(got[k], (g0[k] + g1[k]) / 2, atol=1e-14)
        for k in ("extra.weight", "extra.bias"):
            np.testing.assert_allclose(got[k], g0[k] / 2, atol=1e-14)
        assert np.isnan(got["never.weight"]).all() and np.isnan(got["never.bias"]).all()   # None
        np.testing.assert_array_equal(got["never_after"], start)


@needs_mpi
def test_no_sync_accumulation_with_a_branch_used_only_before_the_sync(results):
    """``extra`` gets its gradient in rank 0's no_sync micro-batch only: it is still averaged at
    the synchronised backward; ``never`` stays None. Equals the mean of the two ranks' local sums."""
    g0, g1 = E.accumulate_branch(0, 1, ddp=False), E.accumulate_branch(1, 1, ddp=False)
    assert np.isnan(g1["extra.weight"]).all()
    for r in (0, 1):
        got = load(results, "no_sync_branch", r)
        for k in g0:
            if k.startswith("never"):
                assert np.isnan(got[k]).all()
                continue
            want = (g0[k] + np.nan_to_num(g1[k])) / 2
            np.testing.assert_allclose(got[k], want, rtol=0, atol=1e-14, err_msg=f"rank {r} {k}")


@needs_mpi
def test_two_forwards_one_backward(results):
    X, y = E.batch(0, 8)
    m = E.make_net("shuffled")
    nn.CrossEntropyLoss()(m(nv.tensor(X)) + m(nv.tensor(X * 0.5)), nv.tensor(y)).backward()
    ref = E.grads(m)
    for r in (0, 1):
        got = load(results, "siamese", r)
        for k in ref:
            np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=1e-14, err_msg=f"rank {r} {k}")


# ------------------------------------------------------------------------- evaluation
@needs_mpi
def test_padded_evaluation_counts_each_sample_once(results):
    """9 samples through a DistributedSampler on 2 ranks: rank 1 is padded with a repeat of
    sample 0 (which the model gets right). The Trainer's accuracy and loss must be those of the
    9 samples, not of 10."""
    from nerve.data import DataLoader, Subset
    from nerve.train import Trainer

    ds = E.eval_data()
    m = E.make_net("mlp")
    trainer = Trainer(m, optim.SGD(m.parameters(), lr=0.1), nn.CrossEntropyLoss(), metrics=["accuracy"])
    ref = trainer.evaluate(DataLoader(ds, batch_size=9))
    one = trainer.evaluate(DataLoader(Subset(ds, [4]), batch_size=1))
    assert abs(ref["accuracy"] - 4 / 9) < 1e-12
    for r in (0, 1):
        got = load(results, "eval_padded", r)
        for tag, want in (("b2", ref), ("b5", ref), ("one", one)):
            for k in ("accuracy", "loss"):
                assert float(got[f"{tag}_{k}"]) == pytest.approx(want[k], abs=1e-12), (r, tag, k)


def test_cli_evaluation_shards_count_each_sample_once():
    """``nerve train --nproc N`` evaluates on contiguous shards without padding."""
    from nerve.runs.parallel import shard

    for n, size in ((9, 2), (1001, 2), (7, 3), (1, 2)):
        parts = [shard(list(range(n)), r, size) for r in range(size)]
        seen = sorted(i for p in parts for i in (p.indices if hasattr(p, "indices") else p))
        assert seen == list(range(n))


# ------------------------------------------------------------------------- a failing rank
@needs_mpi
def test_a_no_grad_forward_on_one_rank_needs_no_peer(tmp_path):
    """Only forwards that will synchronise gradients broadcast buffers (PyTorch's rule); a
    no_grad forward on rank 0 alone used to wait in a broadcast the other rank never posted."""
    mpirun(["rank0_looks"], tmp_path, env_extra={"TEST_TIMEOUT": "3"}, timeout=60)
    a, b = load(tmp_path, "rank0_looks", 0), load(tmp_path, "rank0_looks", 1)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


@needs_mpi
def test_an_exception_on_one_rank_ends_the_job_quickly(tmp_path):
    """The failing rank aborts the job: the others do not sit out their (here 60 s) timeout."""
    p = mpirun(["raise_on_rank1"], tmp_path, env_extra={"TEST_TIMEOUT": "60"}, check=False, timeout=80)
    assert p.returncode != 0
    assert p.seconds < 20, p.seconds
    assert (tmp_path / "raise_on_rank1-rank1.error").read_text() == "ValueError: boom on rank 1"
    assert "boom on rank 1" in p.stderr


@needs_mpi
def test_ddp_keeps_the_timeout_given_to_init(tmp_path):
    p = mpirun(["hang_in_ddp"], tmp_path, env_extra={"TEST_TIMEOUT": "3"}, check=False, timeout=60)
    assert p.returncode != 0
    assert p.seconds < 25, p.seconds                        # not the 60 s rank 1 sleeps, nor 300
    err = (tmp_path / "hang_in_ddp-rank0.error").read_text()
    assert err.startswith("DistributedTimeoutError") and "within 3 s" in err, err


@needs_mpi
def test_a_nan_loss_on_one_rank_stops_every_rank(tmp_path):
    p = mpirun(["nan_on_rank1"], tmp_path, env_extra={"TEST_TIMEOUT": "60"}, check=False, timeout=80)
    assert p.returncode != 0 and p.seconds < 20, p.seconds
    one = (tmp_path / "nan_on_rank1-rank1.error").read_text()
    zero = (tmp_path / "nan_on_rank1-rank0.error").read_text()
    assert one.startswith("FloatingPointError: the loss became nan at epoch 1, step 3"), one
    assert zero.startswith("FloatingPointError: the loss became non-finite on 1 other rank(s) at epoch 1, "
                           "step 3"), zero


# ---------------------------------------------------------------------- DistributedSampler
def _shards(n, world, **kw):
    from nerve.data import DistributedSampler

    return [list(DistributedSampler(range(n), num_replicas=world, rank=r, **kw)) for r in range(world)]


@pytest.mark.parametrize("shuffle", [False, True])
def test_sampler_covers_every_sample_once_when_it_divides(shuffle):
    parts = _shards(12, 3, shuffle=shuffle, seed=4)
    assert [len(p) for p in parts] == [4, 4, 4]
    assert sorted(i for p in parts for i in p) == list(range(12))


@pytest.mark.parametrize("shuffle", [False, True])
def test_sampler_pads_with_repeats_or_drops_the_tail(shuffle):
    from nerve.data import DistributedSampler

    parts = _shards(7, 3, shuffle=shuffle, seed=1)
    flat = [i for p in parts for i in p]
    assert [len(p) for p in parts] == [3, 3, 3]
    assert set(flat) == set(range(7)) and len(flat) == 9
    order = DistributedSampler(range(7), 1, 0, shuffle=shuffle, seed=1).index_array().tolist()
    # rank r takes positions r, r + 3, ... of the order padded by repeating its start
    padded = order + order[:2]
    assert parts == [padded[r::3] for r in range(3)]
    dropped = _shards(7, 3, shuffle=shuffle, seed=1, drop_last=True)
    assert [len(p) for p in dropped] == [2, 2, 2]
    assert sorted(i for p in dropped for i in p) == sorted(order[:6])
    # more ranks than samples: the list is repeated as often as needed
    tiny = _shards(2, 5, shuffle=False)
    assert tiny == [[0], [1], [0], [1], [0]]


@pytest.mark.torch
def test_sampler_matches_torch_without_shuffle():
    torch = pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    for n, w, drop in ((7, 3, False), (7, 3, True), (2, 5, False), (10, 4, False), (10, 4, True)):
        ours = _shards(n, w, shuffle=False, drop_last=drop)
        theirs = [list(TorchSampler(range(n), num_replicas=w, rank=r, shuffle=False, drop_last=drop))
                  for r in range(w)]
        assert ours == theirs, (n, w, drop)
        assert torch is not None


@pytest.mark.parametrize("n,world", [(9, 2), (1, 2), (2, 5), (7, 3), (12, 3)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_sampler_num_real_samples_marks_the_padding(n, world, shuffle):
    """The first ``num_real_samples`` indices of the ranks are every sample exactly once."""
    from nerve.data import DistributedSampler

    samplers = [DistributedSampler(range(n), world, r, shuffle=shuffle, seed=2) for r in range(world)]
    real = [i for s in samplers for i in list(s)[:s.num_real_samples]]
    assert sorted(real) == list(range(n))


def test_sampler_set_epoch_and_seed_shuffle_alike_on_every_rank():
    from nerve.data import DistributedSampler

    def epoch(e, seed=0):
        samplers = [DistributedSampler(range(20), 2, r, seed=seed) for r in (0, 1)]
        for s in samplers:
            s.set_epoch(e)
        parts = [list(s) for s in samplers]
        assert sorted(parts[0] + parts[1]) == list(range(20))   # disjoint on every epoch
        return parts

    assert epoch(0) == epoch(0)                                 # deterministic
    assert epoch(0) != epoch(1)                                 # set_epoch reshuffles
    assert epoch(0, seed=5) != epoch(0)                         # so does the seed


@needs_mpi
def test_cli_two_process_test_accuracy_counts_the_odd_test_set_once(tmp_path):
    """digits has 359 test samples: ``nerve train --nproc 2`` reports the accuracy that
    ``nerve evaluate`` computes in one process on the saved weights."""
    import json

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
               OPENBLAS_NUM_THREADS="1")

    def nerve(*args):
        p = subprocess.run([sys.executable, "-m", "nerve", *args], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        return p

    nerve("train", "--dataset", "digits", "--epochs", "1", "--batch-size", "16", "--shift", "0", "--quiet",
          "--nproc", "2", "--out", "two")
    results = json.loads((tmp_path / "two" / "config.json").read_text())["results"]
    nerve("evaluate", "two")
    report = json.loads((tmp_path / "two" / "report.json").read_text())
    assert results["test_accuracy"] == pytest.approx(report["accuracy"], abs=1e-9)
    assert round(results["test_accuracy"] * 359) == pytest.approx(results["test_accuracy"] * 359, abs=1e-6)
