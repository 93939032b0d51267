"""The GPU path: every op-table row on CuPy equals NumPy; a training step on GPU equals the CPU step.

These run wherever CuPy sees a CUDA device and skip cleanly everywhere else.
"""
import importlib
import pathlib

import numpy as np
import pytest

import nerve as nv
from nerve import backend

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not backend.cupy_available(), reason="needs CuPy and a CUDA GPU")]

ROWS = []
for path in sorted((pathlib.Path(__file__).parents[1] / "functional").glob("ops_*.py")):
    ROWS += importlib.import_module(f"functional.{path.stem}").ROWS


def _cases():
    return [pytest.param(r, s, id=f"{r.name}-{i}") for r in ROWS for i, s in enumerate(r.shapes[:3])]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("row,shapes", _cases())
def test_op_on_gpu_matches_cpu(row, shapes, dtype):
    arrs = row.inputs(shapes, dtype)
    mask = row.grad_mask(arrs)
    cpu = [nv.tensor(a, requires_grad=bool(m)) for a, m in zip(arrs, mask)]
    gpu = [nv.tensor(a, requires_grad=bool(m), device="cuda") for a, m in zip(arrs, mask)]
    oc, og = row.fn(*cpu), row.fn(*gpu)
    oc, og = (oc[0], og[0]) if isinstance(oc, tuple) else (oc, og)
    assert og.device == "cuda"
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(og.numpy(), oc.numpy(), **tol)
    if oc.requires_grad:
        g = np.random.default_rng(1).standard_normal(oc.shape).astype(dtype)
        oc.backward(nv.tensor(g))
        og.backward(nv.tensor(g, device="cuda"))
        for c, gg, m in zip(cpu, gpu, mask):
            if m and c.grad is not None:
                np.testing.assert_allclose(gg.grad.numpy(), c.grad.numpy(), **tol)


def test_training_step_on_gpu_matches_cpu():
    nn = nv.nn
    nv.manual_seed(0)
    cpu = nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 10))
    gpu = nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 10))
    gpu.load_state_dict(cpu.state_dict())
    gpu.to("cuda")
    x = np.random.default_rng(0).standard_normal((32, 784)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 10, 32)
    for model, dev in ((cpu, "cpu"), (gpu, "cuda")):
        opt = nv.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        loss = nv.nn.functional.cross_entropy(model(nv.tensor(x, device=dev)), nv.tensor(y, device=dev))
        opt.zero_grad()
        loss.backward()
        opt.step()
    for (k, a), (_, b) in zip(cpu.state_dict().items(), gpu.state_dict().items()):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-5, err_msg=k)
