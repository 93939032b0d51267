"""Data-parallel training under a real ``mpirun -n 2``: the scenarios in scenarios.py run on two
ranks, and their results are compared here with the same scenario run in this one process."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent

pytest.importorskip("mpi4py", reason="the MPI tests need mpi4py and an MPI library: pip install 'nerve[distributed]'")
sys.path.insert(0, str(HERE))
import scenarios as S  # noqa: E402
from launch import MPIRUN, SRC, load, mpirun  # noqa: E402

if MPIRUN is None:
    pytest.skip("no mpiexec/mpirun on PATH (pip install mpich)", allow_module_level=True)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """One mpirun for all the quick scenarios (MPI start-up costs about half a second)."""
    out = tmp_path_factory.mktemp("mpi")
    mpirun(["collectives", "ddp_float64", "ddp_float32", "ddp_bn", "ddp_accumulate", "sync_bn", "overlap",
            "trainer"], out)
    return out


def test_collectives(results):
    for r in (0, 1):
        got = load(results, "collectives", r)
        np.testing.assert_array_equal(got["sum"], 2 * np.arange(4.0) + 1)
        np.testing.assert_array_equal(got["mean"], np.arange(4.0) + 0.5)
        np.testing.assert_array_equal(got["max"], np.arange(4.0) * 2)
        np.testing.assert_array_equal(got["bcast"], np.full(3, 1.0))          # from rank 1
        np.testing.assert_array_equal(got["gather"], [np.arange(4.0), np.arange(4.0) + 1])
        assert got["version_bumped"]                                           # an in-place write


@pytest.mark.parametrize("name,dtype,kw,tol", [
    ("ddp_float64", np.float64, {}, 1e-12),
    ("ddp_float32", np.float32, {}, 1e-6),
    ("ddp_bn", np.float64, {"bn": True}, 1e-12),          # SyncBatchNorm inside DDP
    ("ddp_accumulate", np.float64, {"accumulate": 2}, 1e-12),   # no_sync micro-batches
])
def test_two_ranks_end_with_the_weights_of_one_process(results, name, dtype, kw, tol):
    """Same global batch, same seed: equal weights up to the order of floating-point sums
    (each rank sums its half, then MPI adds the halves), on both ranks."""
    ref = S.train(dtype, 0, 1, **kw)
    for r in (0, 1):
        got = load(results, name, r)
        assert set(got) == set(ref)
        for k in ref:
            np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=tol, err_msg=f"{name} rank {r} {k}")
    # and the training really moved the weights (so equality is not trivially of the initial ones)
    init = {k: v.numpy() for k, v in S.model(dtype, **({"bn": True} if kw.get("bn") else {})).state_dict().items()}
    assert max(np.abs(ref[k] - init[k]).max() for k in ref if k.endswith("weight")) > 1e-2


def test_sync_batchnorm_equals_batchnorm_on_the_whole_batch(results):
    import nerve as nv
    from nerve import nn

    rng = np.random.default_rng(5)
    X = rng.normal(2.0, 3.0, size=(8, 3, 4, 4))
    G = rng.normal(size=X.shape)
    bn = nn.BatchNorm2d(3).double()
    bn.weight.data[...] = [1.5, -0.5, 2.0]
    bn.bias.data[...] = [0.1, 0.2, -0.3]
    x = nv.tensor(X, requires_grad=True)
    out = bn(x)
    (out * nv.tensor(G)).sum().backward()
    parts = [load(results, "sync_bn", r) for r in (0, 1)]
    np.testing.assert_allclose(np.concatenate([p["out"] for p in parts]), out.numpy(), atol=1e-12)
    np.testing.assert_allclose(np.concatenate([p["gx"] for p in parts]), x.grad.numpy(), atol=1e-12)
    # parameter gradients are per-rank sums (DDP adds them); together they are BatchNorm's
    np.testing.assert_allclose(parts[0]["gw"] + parts[1]["gw"], bn.weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(parts[0]["gb"] + parts[1]["gb"], bn.bias.grad.numpy(), atol=1e-12)
    for p in parts:  # running statistics from the global batch (unbiased variance), on every rank
        np.testing.assert_allclose(p["rm"], bn.running_mean.numpy(), atol=1e-12)
        np.testing.assert_allclose(p["rv"], bn.running_var.numpy(), atol=1e-12)


def test_buckets_are_reduced_while_backward_runs(results):
    """Six one-layer buckets: each is posted from a gradient hook, before backward ends."""
    a, b = load(results, "overlap", 0), load(results, "overlap", 1)
    assert int(a["buckets"]) == 6 and int(a["reductions"]) == 6
    assert int(a["overlapped"]) == 6
    np.testing.assert_array_equal(a["grads"], b["grads"])      # both ranks hold the same average


def test_trainer_data_parallel(results, tmp_path):
    """The Trainer with DDP and a DistributedSampler: the weights and every logged number
    equal one process's; the after-backward hook saw the averaged gradients; only rank 0 wrote."""
    ref = S.trainer_run(0, 1, str(tmp_path / "one"))
    for r in (0, 1):
        got = load(results, "trainer", r)
        for k in ref:
            if ref[k].dtype.kind == "f":
                np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=1e-12, err_msg=f"rank {r} {k}")
        assert int(got["epochs_seen"]) == 2                     # set_epoch was called every epoch
    written = {p.name for p in (results / "trainer-files-rank0").iterdir()}
    assert written == {"h.csv", "h.json", "ck"}
    assert not any((results / "trainer-files-rank1").iterdir())


def test_a_hung_rank_times_out_with_a_clear_error(tmp_path):
    p = mpirun(["hang"], tmp_path, env_extra={"TEST_TIMEOUT": "3"}, check=False, timeout=90)
    assert p.returncode != 0
    assert p.seconds < 40, p.seconds                          # not the 120 s the rank sleeps
    err = (tmp_path / "hang-rank0.error").read_text()
    assert err.startswith("DistributedTimeoutError"), (err, p.stderr[-4000:])
    assert "did not complete within 3 s" in err and "NERVE_DIST_TIMEOUT" in err, err


def test_a_dead_rank_ends_the_job_and_the_checkpoint_still_loads(tmp_path):
    from nerve.train import load_checkpoint

    p = mpirun(["die_after_first_epoch"], tmp_path, env_extra={"TEST_TIMEOUT": "10"}, check=False, timeout=90)
    assert p.returncode != 0 and p.seconds < 60
    info = load_checkpoint(tmp_path / "ck" / "last", S.model(np.float64))
    assert info["epoch"] >= 1


def test_the_scaling_benchmark_runs_on_two_ranks(tmp_path):
    """`mpiexec -n 2 python -m nerve.bench.distributed` (a few steps): figures for both workloads
    and the all-reduce cost model."""
    import json

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
               OPENBLAS_NUM_THREADS="1")
    out = tmp_path / "scaling.json"
    p = subprocess.run([MPIRUN, "-n", "2", sys.executable, "-m", "nerve.bench.distributed", "--steps", "2",
                        "--allreduce", "--json", str(out)], capture_output=True, text=True, timeout=180, env=env)
    assert p.returncode == 0, p.stderr
    rows = json.loads(out.read_text())
    assert [r.get("workload") for r in rows[:2]] == ["W3", "LeNet"]
    assert all(r["ranks"] == 2 and r["samples_per_s"] > 0 and 0 <= r["comm_share"] <= 1 for r in rows[:2])
    assert rows[2]["alpha_s"] > 0 and rows[2]["bytes_per_s"] > 0
