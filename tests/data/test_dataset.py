"""TensorDataset, Subset, ConcatDataset and random_split."""
import numpy as np
import pytest

import nerve as nv
from nerve.data import ConcatDataset, Subset, TensorDataset, random_split


def test_tensor_dataset_items_and_errors():
    x = nv.tensor(np.arange(12, dtype=np.float32).reshape(4, 3))
    ds = TensorDataset(x, np.arange(4))
    xi, yi = ds[1]
    assert len(ds) == 4 and xi.tolist() == [3.0, 4.0, 5.0] and yi.item() == 1
    assert np.shares_memory(ds.arrays[0], x.data)  # stored without a copy
    with pytest.raises(ValueError, match=r"same first dimension.*\[4, 3\]"):
        TensorDataset(x, np.arange(3))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_subset_and_concat():
    ds = TensorDataset(np.arange(10))
    sub = Subset(ds, [9, 0, -1])
    assert [int(sub[i][0].item()) for i in range(3)] == [9, 0, 9]
    with pytest.raises(IndexError, match="out of range"):
        Subset(ds, [10])
    cat = ConcatDataset([ds, TensorDataset(np.arange(100, 103))])
    assert len(cat) == 13 and int(cat[10][0].item()) == 100 and int(cat[-1][0].item()) == 102
    with pytest.raises(IndexError, match="out of range"):
        cat[13]
    got = cat.get_batch(np.array([12, 0, 10, 5]))
    assert got[0].tolist() == [102, 0, 100, 5]


@pytest.mark.parametrize("lengths", [[7, 3], [0.7, 0.3], [0.5, 0.25, 0.25]])
def test_random_split_disjoint_covering_reproducible(lengths):
    ds = TensorDataset(np.arange(10))
    parts = random_split(ds, lengths, seed=3)
    allidx = np.concatenate([p.indices for p in parts])
    assert sorted(allidx.tolist()) == list(range(10))
    assert sum(len(p) for p in parts) == 10
    again = random_split(ds, lengths, seed=3)
    assert all(np.array_equal(p.indices, q.indices) for p, q in zip(parts, again))
    other = random_split(ds, lengths, generator=np.random.default_rng(4))
    assert not all(np.array_equal(p.indices, q.indices) for p, q in zip(parts, other))


def test_random_split_fraction_remainder_like_torch():
    torch = pytest.importorskip("torch")
    for n, fr in [(10, [0.33, 0.33, 0.34]), (7, [0.5, 0.5]), (101, [0.1, 0.2, 0.7])]:
        ours = [len(p) for p in random_split(TensorDataset(np.arange(n)), fr, seed=0)]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), fr)]
        assert ours == theirs


def test_random_split_global_seed_and_errors():
    ds = TensorDataset(np.arange(20))
    nv.manual_seed(1)
    a = random_split(ds, [10, 10])
    nv.manual_seed(1)
    b = random_split(ds, [10, 10])
    assert np.array_equal(a[0].indices, b[0].indices)
    with pytest.raises(ValueError, match="sum to 19"):
        random_split(ds, [10, 9])
    with pytest.raises(ValueError, match="fractions"):
        random_split(ds, [0.5, 0.6])
