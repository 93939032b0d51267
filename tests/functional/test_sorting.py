"""sort / argsort / topk / kthvalue beyond the op table: ties, NaN, integer dtypes, errors."""
import numpy as np
import pytest

import nerve as nv

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("descending", [False, True])
def test_stable_sort_keeps_ties_in_order_like_torch(descending):
    a = np.array([[2, 1, 2, 0, 1, 2, 0], [5, 5, 5, 1, 1, 9, 9]], dtype=np.int64)
    v, i = nv.tensor(a).sort(dim=1, descending=descending, stable=True)
    tv, ti = torch.tensor(a).sort(dim=1, descending=descending, stable=True)
    assert v.tolist() == tv.tolist() and i.tolist() == ti.tolist()
    assert i.dtype == nv.int64 and v.dtype == nv.int64


def test_nan_sorts_as_largest_like_torch():
    a = np.array([1.0, np.nan, -2.0, 3.0], dtype=np.float32)
    for desc in (False, True):
        ours = nv.tensor(a).sort(descending=desc).indices.tolist()
        assert ours == torch.tensor(a).sort(descending=desc, stable=True).indices.tolist()
    assert nv.tensor(a).topk(1).indices.tolist() == [1]


def test_bool_and_unsigned_inputs_sort_descending():
    a = np.array([True, False, True])
    assert nv.tensor(a).argsort(descending=True).tolist() == [0, 2, 1]
    u = np.array([3, 250, 7], dtype=np.uint8)
    assert nv.tensor(u).topk(2).values.tolist() == [250, 7]


def test_results_are_named_tuples_and_indices_do_not_require_grad():
    x = nv.randn(3, 5, requires_grad=True)
    r = x.topk(2, dim=1)
    values, indices = r
    assert r.values is values and r.indices is indices
    assert values.requires_grad and not indices.requires_grad and indices.dtype == nv.int64
    assert type(x.kthvalue(1)).__name__ == "kthvalue" and type(x.sort()).__name__ == "sort"


def test_topk_on_a_long_dim_matches_torch_and_scatters_the_gradient():
    rng = np.random.default_rng(0)
    a = rng.permutation(1000).astype(np.float64).reshape(2, 500)
    x = nv.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    v, i = x.topk(5, dim=1)
    tv, ti = tx.topk(5, dim=1)
    assert i.tolist() == ti.tolist()
    v.sum().backward()
    tv.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_out_of_range_k_names_the_op_and_the_size():
    with pytest.raises(RuntimeError, match=r"topk: k \(6\) is out of range for dimension -1 of size 5"):
        nv.ones(5).topk(6)
    with pytest.raises(RuntimeError, match=r"kthvalue: k \(0\)"):
        nv.ones(2, 3).kthvalue(0)
    with pytest.raises(IndexError, match="sort: dimension 2 is out of range"):
        nv.ones(2, 3).sort(2)


def test_scalar_inputs():
    x = nv.tensor(2.5)
    assert x.sort().values.item() == 2.5 and x.topk(1).indices.item() == 0
    assert x.kthvalue(1).values.item() == 2.5 and x.argsort().item() == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8])
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dim", [0, -1])
def test_topk_grouped_fast_path_matches_torch(dtype, largest, dim):
    # n ≥ 2048 and k ≪ n take the grouped-candidate path; distinct values keep the
    # indices comparable (uint8 has ties, so only its values are compared).
    rng = np.random.default_rng(3)
    n = 5003
    if dtype == np.uint8:
        a = rng.integers(0, 256, size=(n, 3)).astype(dtype)
    else:
        a = (rng.permutation(3 * n).reshape(n, 3) - 4000).astype(dtype)
    a = a if dim == 0 else a.T.copy()
    v, i = nv.tensor(a).topk(7, dim=dim, largest=largest)
    tv, ti = torch.tensor(a).topk(7, dim=dim, largest=largest)
    np.testing.assert_array_equal(v.numpy(), tv.numpy())
    if dtype != np.uint8:
        np.testing.assert_array_equal(i.numpy(), ti.numpy())
    np.testing.assert_array_equal(np.take_along_axis(a, i.numpy(), dim), v.numpy())


def test_topk_fast_path_with_infinities_nan_and_sorted_rows():
    n = 4096
    a = np.full((2, n), -np.inf)
    a[0, 5] = 1.0
    a[1, :] = np.arange(n)
    for row in (a, -a):
        v, i = nv.tensor(row).topk(3)
        tv, ti = torch.tensor(row).topk(3)
        np.testing.assert_array_equal(v.numpy(), tv.numpy())
        assert (np.take_along_axis(row, i.numpy(), 1) == v.numpy()).all() and (i.numpy() < n).all()
    b = np.random.default_rng(0).standard_normal(n)
    b[17] = np.nan
    assert nv.tensor(b).topk(2).indices.tolist()[0] == 17 == torch.tensor(b).topk(2).indices.tolist()[0]
