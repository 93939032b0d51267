"""The torch device API: nerve.device, Tensor/Module .to/.cpu/.cuda, nerve.cuda,
nerve.accelerator and set_default_device. This machine has no GPU, so every GPU branch must
fail with a clear message and the questions must answer without raising."""
import numpy as np
import pytest

import nerve as nv
from nerve import backend

GPU = nv.cuda.is_available()
no_gpu = pytest.mark.skipif(GPU, reason="checks the messages given without a GPU")


def test_device_objects_parse_compare_and_print():
    d = nv.device("cuda:0")
    assert (d.type, d.index, str(d), repr(d)) == ("cuda", 0, "cuda:0", "device(type='cuda', index=0)")
    assert nv.device("cuda", 1) == "cuda:1" and nv.device("CPU") == "cpu"
    assert nv.device("cpu").index is None and nv.device(d) is d
    assert {nv.device("cpu"): 1}["cpu"] == 1
    for bad, err, msg in [("tpu", ValueError, "unknown device type"), ("cuda:x", ValueError, "index"),
                          (3, TypeError, "string"), ("cpu:2", ValueError, "index 0 only")]:
        with pytest.raises(err, match=msg):
            nv.device(bad)
    with pytest.raises(ValueError, match="once"):
        nv.device("cuda:0", 1)


def test_tensor_device_and_moves_on_cpu():
    x = nv.arange(6.0, requires_grad=True)
    assert isinstance(x.device, nv.device) and x.device == "cpu" and x.device.type == "cpu"
    assert x.is_cuda is False
    assert x.to("cpu") is x and x.cpu() is x and x.to(nv.device("cpu"), non_blocking=True) is x
    y = x.to(nv.float64)
    assert y.dtype == np.float64 and y.device == "cpu"
    z = x.to("cpu", nv.float16)
    assert z.dtype == np.float16
    w = nv.zeros(3, dtype=nv.int64).to(x)  # to(other): other's dtype and device
    assert w.dtype == x.dtype
    y.sum().backward()  # the cast is differentiable
    assert x.grad.tolist() == [1.0] * 6
    v = nv.arange(6.0).view_as(nv.zeros(2, 3))
    assert v.shape == (2, 3)


@no_gpu
def test_gpu_requests_fail_clearly_without_a_gpu():
    assert nv.cuda.is_available() is False and nv.cuda.device_count() == 0
    assert nv.accelerator.current_accelerator() is None
    assert nv.accelerator.is_available() is False and nv.accelerator.device_count() == 0
    x = nv.ones(2)
    for move in (lambda: x.cuda(), lambda: x.to("cuda"), lambda: x.to(nv.device("cuda:0")),
                 lambda: x.cuda(0), lambda: nv.nn.Linear(2, 2).cuda(), lambda: nv.nn.Linear(2, 2).to("cuda"),
                 lambda: nv.zeros(2, device="cuda"), lambda: nv.set_default_device("cuda")):
        with pytest.raises(RuntimeError, match="CuPy"):
            move()
    assert nv.get_default_device() == "cpu"
    for fn in (nv.cuda.current_device, nv.cuda.get_device_name, nv.cuda.synchronize):
        with pytest.raises(RuntimeError, match="GPU"):
            fn()


def test_is_available_never_raises_even_if_cupy_is_broken(monkeypatch):
    def boom():
        raise OSError("libcuda.so: cannot open shared object file")

    monkeypatch.setattr(backend, "_load_cupy", boom)
    assert nv.cuda.is_available() is False


def test_module_to_cpu_and_dtype_keep_parameter_identity():
    m = nv.nn.Linear(3, 2)
    w = m.weight
    assert m.to(nv.device("cpu"), non_blocking=True) is m and m.cpu() is m
    m.to(nv.float64)
    assert m.weight is w and w.dtype == np.float64 and w.device == "cpu"
    m.to(nv.zeros(1, dtype=nv.float32))
    assert w.dtype == np.float32


def test_set_default_device_cpu_round_trip():
    nv.set_default_device("cpu")
    try:
        assert nv.get_default_device() == "cpu" and nv.zeros(2).device == "cpu"
    finally:
        nv.set_default_device(None)
    assert nv.get_default_device() == nv.device("cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not GPU, reason="needs CuPy and a CUDA GPU")
def test_gpu_round_trip_when_a_gpu_is_present():
    x = nv.arange(4.0)
    g = x.cuda()
    assert g.is_cuda and g.device == "cuda" and nv.cuda.device_count() >= 1
    assert nv.accelerator.current_accelerator() == "cuda"
    assert g.cpu().tolist() == [0.0, 1.0, 2.0, 3.0]
    nv.set_default_device("cuda")
    try:
        assert nv.zeros(2).is_cuda
    finally:
        nv.set_default_device("cpu")
    m = nv.nn.Linear(4, 2).cuda()
    assert m.weight.is_cuda and m(g).is_cuda


def test_docstring_examples_run():
    import doctest

    import nerve.accelerator
    import nerve.cuda
    for mod in (backend, nerve.cuda, nerve.accelerator):
        r = doctest.testmod(mod)
        assert r.failed == 0 and r.attempted > 0
