"""Edge cases of tensor creation, dtype inference, conversion and random draws, against PyTorch.

Each case runs the same small program with ``m = nerve`` and ``m = torch`` and compares the
dtype, shape and values (or that both refuse). The cases are the ones where a framework can
hand back a plausible tensor of the wrong dtype or with different values, without an error:
a Python complex made complex128, ``full(..., 1j)`` filled with zeros, an integer ``rand``
of all zeros, ``arange`` summed in float32, an integer cast that still claims a gradient.
(test_tensor.py covers the basics: copy vs share, arange's int dtype, manual_seed repeats.)
"""
import warnings

import numpy as np
import pytest

import nerve as nv
import nerve.functional as F
import nerve.nn as nn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch


def _out(x):
    """(dtype name, shape, values) of a tensor; a Python value with its type name otherwise."""
    if hasattr(x, "dtype") and hasattr(x, "shape"):
        arr = x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)
        return str(x.dtype).replace("torch.", ""), tuple(x.shape), arr.tolist()
    return type(x).__name__, x


def _run(f, m):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _out(f(m))
        except (TypeError, ValueError, RuntimeError, NotImplementedError) as e:
            return "raises", type(e).__name__


def _same(f):
    got, want = _run(f, nv), _run(f, torch)
    if got[0] == "raises" or want[0] == "raises":
        assert got[0] == want[0] == "raises", (got, want)  # both refuse (the error class may differ)
    else:
        assert got == want


# --------------------------------------------------------------- dtype inference
INFER = {
    "bool": lambda m: m.tensor(True),
    "int": lambda m: m.tensor(3),
    "float": lambda m: m.tensor(2.5),
    "complex": lambda m: m.tensor(1 + 2j),
    "int_float_complex": lambda m: m.tensor([1, 2.0, 3j]),
    "mixed_int_float": lambda m: m.tensor([[1, 2.5], [3, 4]]),
    "bool_int": lambda m: m.tensor([True, 2]),
    "bools": lambda m: m.tensor([[True, False]]),
    "empty": lambda m: m.tensor([]),
    "empty_nested": lambda m: m.tensor([[], []]),
    "tuple": lambda m: m.tensor((1, 2)),
    "big_int": lambda m: m.tensor([2 ** 62, -2 ** 63]),
    "explicit_int_from_float": lambda m: m.tensor([1.7, -1.7, 2.5], dtype=m.int64),
    "explicit_float64": lambda m: m.tensor([1, 2], dtype=m.float64),
    "np_scalar_f64": lambda m: m.tensor(np.float64(1.5)),
    "np_scalar_f32": lambda m: m.tensor(np.float32(1.5)),
    "np_scalar_i32": lambda m: m.tensor(np.int32(3)),
    "np_scalar_bool": lambda m: m.tensor(np.bool_(True)),
    "tensor_of_f64": lambda m: m.tensor(m.tensor([1.5], dtype=m.float64)),
    "list_of_0d_tensors": lambda m: m.tensor([m.tensor(1.5), m.tensor(2.5)]),
    "int_requires_grad": lambda m: m.tensor([1, 2], requires_grad=True),
    "bool_requires_grad": lambda m: m.tensor([True], requires_grad=True),
    "zeros_int_requires_grad": lambda m: m.zeros(2, dtype=m.int64, requires_grad=True),
}
for _dt in ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool",
            "complex64", "complex128"]:
    INFER[f"np_{_dt}"] = lambda m, d=_dt: m.tensor(np.array([1, 0], dtype=d))
    INFER[f"np_{_dt}_as_tensor"] = lambda m, d=_dt: m.as_tensor(np.array([[1], [0]], dtype=d))


@pytest.mark.parametrize("case", sorted(INFER))
def test_dtype_inference(case):
    _same(INFER[case])


def test_unsigned_numpy_kept():
    # torch 2.13 has uint16/32/64 tensors; nerve keeps NumPy's dtype as well
    for d in ("uint16", "uint32", "uint64"):
        t = nv.tensor(np.array([1, 2], dtype=d))
        assert str(t.dtype) == str(torch.tensor(np.array([1, 2], dtype=d)).dtype).replace("torch.", "")


def test_complex_follows_default_dtype():
    try:
        for dt in ("float64", "float32"):
            nv.set_default_dtype(getattr(nv, dt))
            torch.set_default_dtype(getattr(torch, dt))
            for f in (lambda m: m.tensor(2.0), lambda m: m.tensor([1j]), lambda m: m.full((2,), 1 + 1j),
                      lambda m: m.arange(0, 1, 0.5), lambda m: m.full((1,), 2.5)):
                _same(f)
    finally:
        nv.set_default_dtype(nv.float32)
        torch.set_default_dtype(torch.float32)


def test_tensor_of_big_endian_array_has_native_dtype():
    # torch refuses '>f8'; nerve copies anyway, so it converts: the dtype must compare equal to
    # float64 (a '>f8' tensor silently failed `t.dtype == nv.float64`)
    a = np.array([1.0, -2.5], dtype=">f8")
    for t in (nv.tensor(a), nv.as_tensor(a)):
        assert t.dtype == nv.float64 and t.dtype.isnative and t.tolist() == [1.0, -2.5]


# --------------------------------------------------------------- sharing and copying
def test_sharing_matches_torch():
    def prog(m):
        seen = []
        a = np.array([1.0, 2.0])
        t = m.as_tensor(a)
        a[0] = 9
        seen.append(t[0].item())                      # shared
        a = np.array([1.0, 2.0])
        t = m.as_tensor(a, dtype=m.float32)
        a[0] = 9
        seen.append(t[0].item())                      # converted: a copy
        a = np.array([1.0, 2.0])
        t = m.from_numpy(a)
        t[1] = 7
        seen.append(a[1])                              # written through the tensor
        t = m.tensor([1.0, 2.0])
        t.numpy()[0] = 5
        seen.append(t[0].item())                      # .numpy() shares
        t = m.tensor([1.0, 2.0])
        seen.append(m.as_tensor(t) is t)
        u = m.tensor(t)
        u[0] = 3
        seen.append(t[0].item())                      # tensor(t) copies
        w = m.tensor(m.tensor([1.0], requires_grad=True))
        seen += [w.requires_grad, w.is_leaf]
        a = np.arange(6.0).reshape(2, 3)[:, ::2]     # a strided view
        t = m.from_numpy(a)
        a[1, 1] = -1
        seen.append(t.tolist())
        t = m.tensor([1.5])
        seen += [t.to(m.float32) is t, t.to(m.float32, copy=True) is t, t.float() is t, t.type(m.float32) is t]
        return seen

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert prog(nv) == prog(torch)


def test_as_tensor_of_a_tensor_keeps_the_graph():
    # as_tensor(t, dtype=...) is t itself when nothing changes and t.to(dtype) otherwise, so a
    # tensor that requires grad stays in the graph (nerve returned a detached copy)
    def prog(m):
        x = m.tensor([1.5, 2.5], requires_grad=True)
        a, b, c = m.as_tensor(x, dtype=m.float32), m.as_tensor(x, dtype=m.float64), m.as_tensor(x, device="cpu")
        (b * b).sum().backward()
        z = m.as_tensor(m.tensor([1, 2]), dtype=m.float32)
        return [a is x, c is x, b.requires_grad, b.is_leaf, str(b.dtype)[-7:], x.grad.tolist(),
                str(z.dtype)[-7:], z.requires_grad]

    assert prog(nv) == prog(torch)


def test_from_numpy_refuses_what_it_cannot_share():
    for a in (np.array(["a", "b"]), np.array([1.0], dtype=">f8"), np.array([None, 1], dtype=object)):
        _same(lambda m, a=a: m.from_numpy(a))
    _same(lambda m: m.from_numpy(np.array(2.5)))          # 0-d is fine
    _same(lambda m: m.from_numpy(np.zeros((0, 3), np.int16)))


# --------------------------------------------------------------- item / tolist / casts
DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


@pytest.mark.parametrize("dt", DTYPES)
def test_item_and_tolist_python_types(dt):
    def prog(m):
        t = m.tensor([[3]]).to(getattr(m, dt))
        return [type(t.item()).__name__, t.item(), type(t.tolist()[0][0]).__name__,
                type(t[0, 0].tolist()).__name__, t.reshape(()).tolist(), type(t.reshape(()).tolist()).__name__]

    assert prog(nv) == prog(torch)


CASTS = {
    "float_to_long_truncates": lambda m: m.tensor([1.7, -1.7, 2.5, -2.5, 0.99]).long(),
    "float_to_int": lambda m: m.tensor([1.7, -1.7, 1e3]).int(),
    "nan_inf_to_long": lambda m: m.tensor([float("nan"), float("inf"), -float("inf")]).long(),
    "negative_to_uint8": lambda m: m.tensor([-1.0, -3.5, 255.9]).to(m.uint8),
    "int_to_uint8_wraps": lambda m: m.tensor([-1, 256, 257]).to(m.uint8),
    "to_half": lambda m: m.tensor([70000.0, 1e-8, 0.1]).half(),
    "to_bool": lambda m: m.tensor([0.0, -0.0, 0.1, float("nan")]).bool(),
    "int_to_double": lambda m: m.tensor([2 ** 53 + 1]).double(),
    "to_python_types": lambda m: m.stack([m.tensor([1.5]).to(float), m.tensor([1.5]).to(int).to(float)]),
    "to_other_tensor": lambda m: m.tensor([1.5]).to(m.tensor([1])),
    "type_dtype": lambda m: m.tensor([-1.5]).type(m.int64),
    "item_of_2": lambda m: m.tensor([1, 2]).item(),
    "int_of_negative": lambda m: int(m.tensor([-2.7])),
}


@pytest.mark.parametrize("case", sorted(CASTS))
def test_casts(case):
    _same(CASTS[case])


def test_integer_cast_leaves_the_graph():
    # x.long() of a tensor that requires grad is an integer tensor with no history, as torch;
    # it used to claim requires_grad=True and backward silently produced no gradient
    def prog(m):
        x = m.tensor([1.5, 2.5], requires_grad=True)
        out = [x.long().requires_grad, x.bool().requires_grad, x.int().is_leaf,
               x.double().requires_grad, x.to(m.float16).requires_grad]
        y = x.long().float().sum()
        out.append(y.requires_grad)
        try:
            y.backward()
            out.append("ran")
        except RuntimeError:
            out.append("refused")
        return out

    assert prog(nv) == prog(torch)


# --------------------------------------------------------------- ranges and filled
RANGES = {
    "arange_int": lambda m: m.arange(5),
    "arange_float_end": lambda m: m.arange(5.0),
    "arange_neg_int": lambda m: m.arange(5, 0, -1),
    "arange_int_dtype_float_args": lambda m: m.arange(0.5, 5.5, dtype=m.int64),
    "arange_int64_truncates": lambda m: m.arange(-2.5, 2.5, dtype=m.int64),   # [-2, -1, 0, 1]
    "arange_int64_float_step": lambda m: m.arange(0, 5, 1.5, dtype=m.int64),  # steps by 1
    "arange_int64_neg_float_step": lambda m: m.arange(5.5, 0.2, -1.5, dtype=m.int64),
    "arange_int64_all_float": lambda m: m.arange(-3.7, 3.2, 2.9, dtype=m.int64),
    "arange_int64_step_below_1": lambda m: m.arange(0, 5, 0.5, dtype=m.int64),
    "arange_int64_sign_on_floats": lambda m: m.arange(0.5, -0.7, 5.2, dtype=m.int64),
    "arange_bool_arg": lambda m: m.arange(True),
    "arange_float_dtype": lambda m: m.arange(5, dtype=m.float32),
    "arange_np_int": lambda m: m.arange(np.int32(3)),
    "arange_np_float": lambda m: m.arange(np.float64(3)),
    "arange_0d_tensor": lambda m: m.arange(m.tensor(3)),
    "arange_equal": lambda m: m.arange(2, 2),
    "arange_step0": lambda m: m.arange(0, 5, 0),
    "arange_end_before_start": lambda m: m.arange(5, 0),
    "arange_wrong_sign": lambda m: m.arange(0, 5, -1),
    "linspace_0": lambda m: m.linspace(0, 1, 0),
    "linspace_1": lambda m: m.linspace(2, 5, 1),
    "linspace_5": lambda m: m.linspace(0, 1, 5),
    "linspace_int": lambda m: m.linspace(0, 10, 4, dtype=m.int64),
    "linspace_negative_steps": lambda m: m.linspace(0, 1, -1),
    "linspace_int_negative": lambda m: m.linspace(-5, 5, 4, dtype=m.int64),   # cut toward zero
    "linspace_int_float_ends": lambda m: m.linspace(-7.5, 0, 4, dtype=m.int64),
    "linspace_int32_descending": lambda m: m.linspace(3, -3, 5, dtype=m.int32),
    "linspace_int_1": lambda m: m.linspace(5.7, 14.1, 1, dtype=m.int64),
    "linspace_int16_wide": lambda m: m.linspace(-20.3, 17.9, 9, dtype=m.int16),
    "full_int": lambda m: m.full((2,), 3),
    "full_bool": lambda m: m.full((2,), True),
    "full_float": lambda m: m.full((2,), 1.5),
    "full_complex": lambda m: m.full((2,), 1j),
    "full_list_size": lambda m: m.full([2, 3], 1),
    "full_np_f64": lambda m: m.full((2,), np.float64(1.5)),
    "full_np_i32": lambda m: m.full((2,), np.int32(1)),
    "full_np_bool": lambda m: m.full((2,), np.bool_(True)),  # torch: float32 (not bool)
    "full_dtype": lambda m: m.full((2,), 2.7, dtype=m.int64),
    "zeros_ints": lambda m: m.zeros(2, 3),
    "zeros_tuple": lambda m: m.zeros((2, 3)),
    "zeros_list": lambda m: m.zeros([2, 3]),
    "zeros_size": lambda m: m.zeros(m.ones(2, 3).shape),
    "zeros_0d": lambda m: m.zeros(()),
    "zeros_zero": lambda m: m.zeros(0, 3),
    "zeros_negative": lambda m: m.zeros(-1),
    "ones_negative": lambda m: m.ones(2, -3),
    "empty_negative": lambda m: m.empty((2, -1)),
    "zeros_float_size": lambda m: m.zeros(2.0),
    "zeros_np_int": lambda m: m.zeros(np.int64(2)),
    "ones_bool": lambda m: m.ones(2, dtype=m.bool),
    "eye": lambda m: m.eye(3),
    "eye_nm": lambda m: m.eye(2, 4),
    "eye_0": lambda m: m.eye(0),
    "eye_negative": lambda m: m.eye(-1),
    "eye_int": lambda m: m.eye(2, dtype=m.int64),
    "zeros_like_int": lambda m: m.zeros_like(m.tensor([1, 2])),
    "zeros_like_dtype": lambda m: m.zeros_like(m.tensor([1, 2]), dtype=m.float32),
    "ones_like_requires_grad": lambda m: m.ones_like(m.tensor([1.0]), requires_grad=True).requires_grad,
    "ones_like_not_inherited": lambda m: m.ones_like(m.tensor([1.0], requires_grad=True)).requires_grad,
    "full_like_int": lambda m: m.full_like(m.tensor([1, 2]), 2.7),
    "full_like_float": lambda m: m.full_like(m.tensor([1.0, 2.0]), 7),
    "full_like_bool": lambda m: m.full_like(m.tensor([True]), 7),
    "rand_like_int": lambda m: m.rand_like(m.tensor([1, 2])),
    "randn_like_int": lambda m: m.randn_like(m.tensor([1, 2])),
}


@pytest.mark.parametrize("case", sorted(RANGES))
def test_ranges_and_filled(case):
    _same(RANGES[case])


TRI_LOG = {
    "tril": lambda m: m.tril_indices(3, 3),
    "tril_offset": lambda m: m.tril_indices(3, 4, 1),
    "tril_negative_offset": lambda m: m.tril_indices(4, 3, -1),
    "tril_offset_past_end": lambda m: m.tril_indices(2, 2, 10),
    "tril_empty": lambda m: m.tril_indices(0, 3),
    "tril_negative_row": lambda m: m.tril_indices(-1, 3),
    "tril_int32": lambda m: m.tril_indices(2, 2, dtype=m.int32),
    "triu": lambda m: m.triu_indices(3, 3),
    "triu_offset": lambda m: m.triu_indices(3, 5, 2),
    "triu_negative_offset": lambda m: m.triu_indices(4, 3, -2),
    "triu_offset_before_start": lambda m: m.triu_indices(2, 2, -10),
    "logspace": lambda m: m.logspace(0, 2, 3),
    "logspace_0": lambda m: m.logspace(0, 1, 0),
    "logspace_1": lambda m: m.logspace(2, 3, 1),
    "logspace_base2": lambda m: m.logspace(0, 4, 5, base=2),
    "logspace_half": lambda m: m.logspace(0, 3, 4, base=0.5),
    "logspace_int": lambda m: m.logspace(0, 3, 4, dtype=m.int64),
    "logspace_f32_fraction": lambda m: m.logspace(-1, 1, 7),
    "logspace_negative_steps": lambda m: m.logspace(0, 1, -1),
}


@pytest.mark.parametrize("case", sorted(TRI_LOG))
def test_tri_indices_and_logspace(case):
    _same(TRI_LOG[case])


def test_logspace_float64_close():
    a = nv.logspace(-3, 1, 9, base=np.e, dtype=nv.float64).numpy()
    b = torch.logspace(-3, 1, 9, base=np.e, dtype=torch.float64).numpy()
    np.testing.assert_allclose(a, b, rtol=4e-16)


FLOAT_RANGES = {
    "tenth": lambda m: m.arange(0, 1, 0.1),              # 10 elements
    "half": lambda m: m.arange(1, 2.5, 0.5),             # ceil(3.0) = 3 elements
    "third": lambda m: m.arange(0, 1, 1 / 3),
    "neg_float": lambda m: m.arange(1.0, 0.0, -0.3),
    "neg_from_zero": lambda m: m.arange(0, -1, -0.3),
    "f64": lambda m: m.arange(0.1, 0.5, 0.1, dtype=m.float64),
    "f16": lambda m: m.arange(0, 2, 0.25, dtype=m.float16),
    "long": lambda m: m.arange(0, 1000, 0.1),
    "offset": lambda m: m.arange(1e4, 1e4 + 10, 0.001),  # float32 stepping drifted 0.23 here
    "offset_negative": lambda m: m.arange(-5e3, -5e3 - 3, -0.003),
}


@pytest.mark.parametrize("case", sorted(FLOAT_RANGES))
def test_float_arange_within_an_ulp(case):
    # torch's CPU kernel fills vector-width chunks in float32, so its last bit depends on the
    # machine; nerve rounds start + i*step from float64. Same dtype and length, values within
    # one ulp of each other.
    a, b = FLOAT_RANGES[case](nv).numpy(), FLOAT_RANGES[case](torch).numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    ulp = np.spacing(np.abs(b).max().astype(b.dtype))
    assert np.abs(a.astype(np.float64) - b.astype(np.float64)).max() <= ulp


def test_integer_linspace_exact_where_torch_rounds_short():
    # the exact value at index 5 is 4 - 22 * 5 / 10 = -7; torch's float error gives -6.999... -> -6
    assert nv.linspace(4, -18, 11, dtype=nv.int64).tolist()[5] == -7


def test_linspace_close_and_endpoints_exact():
    # the interior may differ from torch by an ulp (torch fills the upper half backwards from
    # end); the endpoints must be exact
    for args, dt in [((-1, 1, 7), "float32"), ((0, 1, 7), "float64"), ((3.5, -2.25, 11), "float32")]:
        a = nv.linspace(*args, dtype=getattr(nv, dt)).numpy()
        b = torch.linspace(*args, dtype=getattr(torch, dt)).numpy()
        assert a.dtype == b.dtype and a[0] == b[0] == args[0] and a[-1] == b[-1] == args[1]
        np.testing.assert_allclose(a, b, rtol=0, atol=4 * np.finfo(a.dtype).eps)


# --------------------------------------------------------------- random
RANDOM = {
    "randint_high": lambda m: m.randint(5, (3,)).dtype,
    "randint_low_high": lambda m: m.randint(-2, 5, (2, 3)).shape,
    "randint_equal": lambda m: m.randint(3, 3, (3,)),
    "randint_low_above": lambda m: m.randint(4, 3, (3,)),
    "randint_requires_grad": lambda m: m.randint(5, (3,), requires_grad=True),
    "randint_empty": lambda m: m.randint(5, (0,)),
    "randint_dtype": lambda m: m.randint(5, (3,), dtype=m.float32).dtype,
    "randn_shape": lambda m: m.randn(2, 3).shape,
    "randn_tuple": lambda m: m.randn((2, 3)).shape,
    "randn_0d": lambda m: m.randn(()).shape,
    "randn_negative": lambda m: m.randn(-1),
    "randn_f64": lambda m: m.randn(2, dtype=m.float64).dtype,
    "randn_int": lambda m: m.randn(2, dtype=m.int64),
    "rand_int": lambda m: m.rand(2, dtype=m.int64),
    "rand_requires_grad": lambda m: m.rand(2, requires_grad=True).requires_grad,
    "randn_requires_grad": lambda m: m.randn(2, requires_grad=True).is_leaf,
    "randperm_0": lambda m: m.randperm(0),
    "randperm_dtype": lambda m: m.randperm(3).dtype,
    "randperm_float": lambda m: m.randperm(3, dtype=m.float32).dtype,
    "bernoulli_ones": lambda m: m.bernoulli(m.ones(3)),
    "bernoulli_p": lambda m: m.bernoulli(m.zeros(3), 1.0),
    "multinomial_one_hot": lambda m: m.multinomial(m.tensor([0.0, 1.0, 0.0]), 2, replacement=True),
    "multinomial_2d": lambda m: m.multinomial(m.tensor([[0.0, 1.0, 0.0]]), 1),
    "multinomial_negative": lambda m: m.multinomial(m.tensor([-1.0, 1.0, 0.0]), 1),
    "normal_broadcast": lambda m: m.normal(m.zeros(2, 1), m.ones(3)).shape,
    "normal_no_broadcast": lambda m: m.normal(m.zeros(2), m.ones(3)),
    "normal_tensor_mean": lambda m: m.normal(m.zeros(2, 3), 1.0).shape,
    "normal_tensor_std": lambda m: m.normal(0.0, m.ones(2, 3)).shape,
    "normal_numbers_size": lambda m: m.normal(0.0, 1.0, (2, 3)).shape,
    "normal_numbers_f64": lambda m: m.normal(0.0, 1.0, size=(2,), dtype=m.float64).dtype,
    "normal_numbers_no_size": lambda m: m.normal(0.0, 1.0),
    "normal_int_mean": lambda m: m.normal(m.zeros(2, dtype=m.int64), 1.0),
    "normal_negative_std": lambda m: m.normal(m.zeros(2), -1.0),
    "normal_negative_std_tensor": lambda m: m.normal(0.0, m.tensor([-1.0])),
    "normal_f64_tensor": lambda m: m.normal(m.zeros(2, dtype=m.float64), m.ones(2)).dtype,
    "normal_tensors_and_size": lambda m: m.normal(m.zeros(2), m.ones(2), (2,)),
    "normal_requires_grad": lambda m: m.normal(0.0, 1.0, (2,), requires_grad=True).requires_grad,
    "normal_0d": lambda m: m.normal(m.zeros(()), 1.0).shape,
    "normal_zero_std": lambda m: m.normal(0.0, 0.0, (2,)),
}


@pytest.mark.parametrize("case", sorted(RANDOM))
def test_random_shapes_and_dtypes(case):
    got, want = _run(RANDOM[case], nv), _run(RANDOM[case], torch)
    norm = (lambda r: (r[0], tuple(r[1])) if r[0] in ("Size", "tuple") else
            (r[0], str(r[1]).replace("torch.", "")) if r[0] in ("dtype",) or "DType" in r[0] else r)
    got, want = norm(got), norm(want)
    if got[0] in ("Size", "tuple") or "DType" in got[0]:
        assert got[1] == want[1]
    elif "raises" in (got[0], want[0]):
        assert got[0] == want[0] == "raises", (got, want)
    else:
        assert got == want


def test_random_values_in_range():
    nv.manual_seed(0)
    x = nv.randint(-2, 3, (2000,)).numpy()
    assert x.min() == -2 and x.max() == 2            # high is exclusive, both ends reached
    u = nv.rand(2000, dtype=nv.float64).numpy()
    assert u.dtype == np.float64 and 0 <= u.min() and u.max() < 1
    assert sorted(nv.randperm(7).tolist()) == list(range(7))


def _draws():
    return [nv.rand(3).tolist(), nv.randn(2).tolist(), nv.randint(10, (3,)).tolist(),
            nv.randperm(5).tolist(), nv.bernoulli(nv.full((4,), 0.5)).tolist(),
            nv.multinomial(nv.ones(5), 2).tolist(), F.dropout(nv.ones(6), 0.5, training=True).tolist(),
            nn.Linear(2, 2).weight.tolist(), nn.Dropout(0.5)(nv.ones(6)).tolist()]


def test_global_seed_reproduces_every_random_function():
    nv.manual_seed(11)
    a = _draws()
    nv.manual_seed(11)
    b = _draws()
    nv.manual_seed(12)
    c = _draws()
    assert a == b
    assert all(x != y for x, y in zip(a, c))
    assert nv.initial_seed() == 12


def test_rng_state_round_trip_and_generator_isolation():
    nv.manual_seed(5)
    s = nv.get_rng_state()
    x = nv.randn(4).tolist()
    nv.set_rng_state(s)
    assert nv.randn(4).tolist() == x
    nv.manual_seed(5)
    ref = nv.rand(3).tolist()
    nv.manual_seed(5)
    g = nv.Generator().manual_seed(5)
    nv.randn(10, generator=g)                         # a private stream: the global one is untouched
    assert nv.rand(3).tolist() == ref
    g2 = nv.Generator().manual_seed(5)
    gs = g2.get_state()
    y = nv.randint(100, (5,), generator=g2).tolist()
    g2.set_state(gs)
    assert nv.randint(100, (5,), generator=g2).tolist() == y
    with pytest.raises(ValueError):
        nv.manual_seed(-1)


def test_manual_seed_reseeds_the_same_generator():
    # torch.manual_seed returns the one default generator; a reference taken before reseeding
    # must follow the new seed (nerve swapped in a new generator object, leaving it stale)
    g = nv.random.default_generator()
    nv.manual_seed(21)
    a = g.random(4).tolist()
    nv.manual_seed(21)
    assert nv.random.default_generator() is g and nv.manual_seed(21) is g
    assert g.random(4).tolist() == a
    nv.manual_seed(0)


def test_normal_moments_and_seed():
    nv.manual_seed(3)
    x = nv.normal(nv.full((4000,), 2.0), nv.full((4000,), 0.5)).numpy()
    assert abs(x.mean() - 2.0) < 0.05 and abs(x.std() - 0.5) < 0.05
    nv.manual_seed(3)
    assert nv.normal(nv.full((4000,), 2.0), nv.full((4000,), 0.5)).numpy().tolist() == x.tolist()
    g = nv.Generator().manual_seed(1)
    a = nv.normal(1.0, 2.0, (5,), generator=g).tolist()
    assert nv.normal(1.0, 2.0, (5,), generator=nv.Generator().manual_seed(1)).tolist() == a


def _flat(r, m):
    return m.stack([x.reshape(-1).to(m.float64) for x in r]) if isinstance(r, tuple) else r


GRIDS = {
    "ij": lambda m: m.meshgrid(m.tensor([1, 2]), m.tensor([3, 4, 5]), indexing="ij"),
    "xy": lambda m: m.meshgrid(m.tensor([1, 2]), m.tensor([3, 4, 5]), indexing="xy"),
    "xy_three": lambda m: m.meshgrid(m.tensor([1, 2]), m.tensor([3, 4, 5]), m.tensor([6, 7, 8, 9]), indexing="xy"),
    "list_arg": lambda m: m.meshgrid([m.tensor([1.0, 2]), m.tensor([3.0, 4, 5])], indexing="ij"),
    "one_xy": lambda m: m.meshgrid(m.tensor([1, 2]), indexing="xy"),
    "zero_d": lambda m: m.meshgrid(m.tensor(1), m.tensor([3, 4]), indexing="xy"),
    "two_d": lambda m: m.meshgrid(m.ones(2, 2), m.tensor([3.0, 4]), indexing="ij"),
    "mixed_dtypes": lambda m: m.meshgrid(m.tensor([1]), m.tensor([3.0, 4]), indexing="ij"),
    "bad_indexing": lambda m: m.meshgrid(m.tensor([1]), indexing="ji"),
    "empty": lambda m: m.meshgrid(m.tensor([]), m.tensor([1.0]), indexing="ij"),
    "cartesian": lambda m: m.cartesian_prod(m.tensor([1, 2]), m.tensor([3, 4]), m.tensor([5, 6, 7])),
    "cartesian_one": lambda m: m.cartesian_prod(m.tensor([1, 2])),
    "cartesian_2d": lambda m: m.cartesian_prod(m.ones(2, 2), m.tensor([1.0])),
}


@pytest.mark.parametrize("case", sorted(GRIDS))
def test_meshgrid_and_cartesian_prod(case):
    _same(lambda m: _flat(GRIDS[case](m), m))
    if case in ("ij", "xy", "xy_three"):  # the shapes of the grids themselves
        assert [tuple(g.shape) for g in GRIDS[case](nv)] == [tuple(g.shape) for g in GRIDS[case](torch)]


def test_meshgrid_default_warns_and_gradients_flow():
    with pytest.warns(UserWarning, match="indexing"):
        x, _ = nv.meshgrid(nv.tensor([1, 2]), nv.tensor([3, 4, 5]))
    assert x.shape == (2, 3)

    def prog(m):
        a = m.tensor([1.0, 2.0], requires_grad=True)
        b = m.tensor([3.0, 4.0, 5.0], requires_grad=True)
        x, y = m.meshgrid(a, b, indexing="xy")
        (x * y * m.arange(6.0).reshape(3, 2)).sum().backward()
        c = m.cartesian_prod(a, b)
        (c[:, 0] * c[:, 1] ** 2).sum().backward()
        return a.grad.tolist(), b.grad.tolist()

    assert prog(nv) == prog(torch)
