"""Tensor basics: construction, dtypes, shapes, conversion, the seed's tensor examples."""
import numpy as np
import pytest

import nerve as nv


def test_the_tensor_articles_shapes():
    assert nv.tensor([1, 2, 3]).shape == (3,)
    assert nv.tensor([[1, 2, 3], [4, 5, 6]]).shape == (2, 3)
    assert nv.tensor([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]).shape == (2, 2, 3)
    assert nv.zeros(3, 4, 5).shape == (3, 4, 5) and nv.zeros(3, 4, 5).ndim == 3


def test_default_dtypes_follow_torch():
    assert nv.tensor([1.0, 2.0]).dtype == nv.float32
    assert nv.tensor([1, 2]).dtype == nv.int64
    assert nv.tensor(np.zeros(2)).dtype == nv.float64   # arrays keep their dtype
    assert nv.tensor([True]).dtype == nv.bool
    nv.set_default_dtype(nv.float64)
    assert nv.tensor([1.0]).dtype == nv.float64 and nv.randn(2).dtype == nv.float64
    with pytest.raises(TypeError, match="floating"):
        nv.set_default_dtype(nv.int64)


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3, dtype=np.float32)
    t, s = nv.tensor(a), nv.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 0 and s[0].item() == 5


def test_creation_functions():
    assert nv.full((2, 3), 7.0).numpy().tolist() == [[7.0] * 3] * 2
    assert nv.arange(5).dtype == nv.int64 and nv.arange(0, 1, 0.25).shape == (4,)
    np.testing.assert_allclose(nv.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(nv.eye(3).numpy(), np.eye(3))
    x = nv.randn(4, 5)
    assert nv.zeros_like(x).shape == (4, 5) and nv.ones_like(x).dtype == nv.float32
    r = nv.randint(0, 10, (1000,))
    assert r.dtype == nv.int64 and 0 <= r.numpy().min() and r.numpy().max() < 10
    u = nv.rand(10000)
    assert 0 <= u.numpy().min() and u.numpy().max() < 1


def test_manual_seed_reproduces_draws():
    nv.manual_seed(42)
    a = nv.randn(5).numpy()
    nv.manual_seed(42)
    np.testing.assert_array_equal(a, nv.randn(5).numpy())
    state = nv.get_rng_state()
    b = nv.rand(3).numpy()
    nv.set_rng_state(state)
    np.testing.assert_array_equal(b, nv.rand(3).numpy())


def test_item_numpy_tolist_and_T():
    x = nv.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.T.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert x.sum().item() == 10.0
    with pytest.raises(ValueError, match="exactly one element"):
        x.item()


def test_detach_requires_grad_and_zero_():
    x = nv.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    d.zero_()
    assert d.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2).requires_grad_(False)


def test_numpy_scalar_on_the_left_defers_to_tensor():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    y = np.float32(2.0) * x
    assert isinstance(y, nv.Tensor) and y.requires_grad


def test_bool_of_multi_element_tensor_is_ambiguous():
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(nv.tensor([1.0, 2.0]))


def test_repr_shows_grad_fn_and_dtype():
    x = nv.tensor([1.0], dtype=nv.float64, requires_grad=True)
    r = repr(x * 2)
    assert "dtype=float64" in r and "MulBackward" in r


def test_to_dtype_is_differentiable():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    assert y.dtype == nv.float64
    y.sum().backward()
    assert x.grad.dtype == nv.float32 and x.grad.tolist() == [3.0, 3.0]


def test_backend_info_reports_numpy_and_blas():
    info = nv.backend.info()
    assert info["numpy"] == np.__version__ and "blas" in info


def test_allocator_tuning_is_on_by_default_on_linux_and_can_be_disabled():
    import subprocess
    import sys

    code = "import nerve, sys; print(nerve.backend._allocator_tuned)"
    on = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "NERVE_MALLOC_TUNING": "0"}).stdout.strip()
    assert off == "False"
    import platform

    if platform.libc_ver()[0] == "glibc":
        assert on == "True"


def test_to_device_op_moves_arrays_and_backpropagates_on_cpu():
    # the op itself (not the no-op shortcut in Tensor.to): forward and backward stay arrays
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    y = nv.functional.to_device(x, "cpu")
    assert isinstance(y._data, np.ndarray) and y.requires_grad
    (y * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
