"""The everyday tensor surface outside the op table (issue 9, item 5): index queries,
comparisons, factory methods, formatting, conversion. Each is checked against torch."""
import numpy as np
import pytest

import nerve as nv

torch = pytest.importorskip("torch")


# ------------------------------------------------------------------ where(cond) / nonzero
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4)])
def test_where_with_one_argument_is_nonzero_as_tuple(shape):
    a = np.random.default_rng(1).standard_normal(shape) > 0.2
    ours = nv.where(nv.tensor(a))
    theirs = torch.where(torch.tensor(a))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert o.dtype == nv.int64 and o.tolist() == t.tolist()
    n = nv.tensor(a).nonzero()
    assert n.shape == tuple(torch.tensor(a).nonzero().shape) and n.tolist() == torch.tensor(a).nonzero().tolist()
    if a.ndim:
        x = nv.tensor(a.astype(np.float32))
        assert x[nv.where(nv.tensor(a))].tolist() == [1.0] * int(a.sum())


def test_where_needs_both_or_neither_value():
    with pytest.raises(TypeError, match="pass both x and y"):
        nv.where(nv.tensor([True]), nv.tensor([1.0]))


def test_tensor_where_method_follows_torch_argument_order():
    a = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    ours = nv.tensor(a).where(nv.tensor(a) > 0, nv.tensor(0.0))
    theirs = torch.tensor(a).where(torch.tensor(a) > 0, torch.tensor(0.0))
    assert ours.tolist() == theirs.tolist()


# --------------------------------------------------------------------------------- diff
def test_diff_of_bool_is_xor_and_errors_name_the_op():
    a = np.array([True, False, False, True])
    assert nv.tensor(a).diff().tolist() == torch.tensor(a).diff().tolist()
    with pytest.raises(RuntimeError, match=r"diff: prepend of shape \(2, 2\) must match"):
        nv.ones(3, 4).diff(dim=1, prepend=nv.ones(2, 2))
    with pytest.raises(RuntimeError, match="diff: expected a tensor with at least 1 dimension"):
        nv.tensor(1.0).diff()


def test_diff_rejects_a_scalar_prepend_like_torch():
    with pytest.raises(RuntimeError):
        torch.tensor([1.0, 4.0]).diff(prepend=torch.tensor(1.0))
    with pytest.raises(RuntimeError, match=r"diff: prepend of shape \(\) must match"):
        nv.tensor([1.0, 4.0]).diff(prepend=nv.tensor(1.0))


def test_cumprod_of_ints_is_int64_and_of_a_scalar_is_itself():
    assert nv.tensor([1, 2, 3], dtype=nv.int32).cumprod(0).dtype == nv.int64
    assert nv.tensor(2.5).cumprod(0).item() == 2.5


# ------------------------------------------------------------------- docstring examples
@pytest.mark.parametrize("name", ["nerve.functional.linalg", "nerve.functional.sorting",
                                  "nerve.functional.elementwise", "nerve.functional.reduction"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 0
