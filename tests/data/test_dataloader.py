"""DataLoader: epochs, shuffling, reproducibility, resume, lengths, collate, batch path."""
import collections
import json

import numpy as np
import pytest

import nerve as nv
from nerve.data import (BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, Subset,
                        TensorDataset, default_collate)


def _xy(n=23, f=3):
    x = np.arange(n * f, dtype=np.float32).reshape(n, f)
    return x, np.arange(n, dtype=np.int64)


class PlainDataset(Dataset):
    """A generic dataset (no get_batch): forces the per-sample collate path."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], int(self.y[i])


def _epoch_labels(loader):
    return np.concatenate([yb._data for _, yb in loader])


@pytest.mark.parametrize("n,b,drop_last,expected", [(23, 5, False, 5), (23, 5, True, 4), (20, 5, False, 4),
                                                    (20, 5, True, 4), (3, 5, False, 1), (3, 5, True, 0)])
def test_len_ceil_or_floor(n, b, drop_last, expected):
    loader = DataLoader(TensorDataset(*_xy(n)), batch_size=b, shuffle=True, drop_last=drop_last, seed=1)
    batches = list(loader)
    assert len(loader) == expected == len(batches)
    sizes = [len(yb._data) for _, yb in batches]
    assert all(s == b for s in sizes[:-1] if sizes)
    assert sum(sizes) == (n // b * b if drop_last else n)


def test_every_index_once_per_epoch_and_fresh_order():
    loader = DataLoader(TensorDataset(*_xy(101)), batch_size=8, shuffle=True, seed=3)
    orders = [_epoch_labels(loader) for _ in range(4)]
    for order in orders:
        assert sorted(order.tolist()) == list(range(101))
    assert len({tuple(o) for o in orders}) == 4  # a new permutation every epoch
    assert not np.array_equal(orders[0], np.arange(101))


def test_no_shuffle_is_sequential():
    loader = DataLoader(TensorDataset(*_xy(10)), batch_size=4)
    assert _epoch_labels(loader).tolist() == list(range(10))


def test_same_seed_same_run_and_global_seed():
    ds = TensorDataset(*_xy(50))
    a = [_epoch_labels(DataLoader(ds, batch_size=7, shuffle=True, seed=11)) for _ in range(2)]
    assert np.array_equal(a[0], a[1])
    assert not np.array_equal(a[0], _epoch_labels(DataLoader(ds, batch_size=7, shuffle=True, seed=12)))
    # without a seed, nv.manual_seed makes the loader reproducible
    nv.manual_seed(5)
    l1 = DataLoader(ds, batch_size=7, shuffle=True)
    e1 = [_epoch_labels(l1) for _ in range(2)]
    nv.manual_seed(5)
    l2 = DataLoader(ds, batch_size=7, shuffle=True)
    e2 = [_epoch_labels(l2) for _ in range(2)]
    assert all(np.array_equal(p, q) for p, q in zip(e1, e2))


def test_explicit_generator_is_used():
    ds = TensorDataset(*_xy(30))
    g = np.random.default_rng(9)
    loader = DataLoader(ds, batch_size=30, shuffle=True, generator=g)
    assert loader.generator is g
    assert np.array_equal(_epoch_labels(loader), np.random.default_rng(9).permutation(30))


def test_state_dict_restores_next_epoch_order():
    ds = TensorDataset(*_xy(40))
    loader = DataLoader(ds, batch_size=6, shuffle=True, seed=21)
    _epoch_labels(loader)
    state = json.loads(json.dumps(loader.state_dict()))  # survives a JSON checkpoint
    expected = [_epoch_labels(loader) for _ in range(2)]
    fresh = DataLoader(ds, batch_size=6, shuffle=True, seed=999)
    fresh.load_state_dict(state)
    assert all(np.array_equal(e, _epoch_labels(fresh)) for e in expected)
    # restoring into the same loader rewinds it
    loader.load_state_dict(state)
    assert np.array_equal(_epoch_labels(loader), expected[0])


def test_load_state_dict_rejects_garbage():
    loader = DataLoader(TensorDataset(*_xy(4)), shuffle=True, seed=0)
    with pytest.raises(ValueError, match="state_dict"):
        loader.load_state_dict({"epoch": 3})
    with pytest.raises(ValueError, match="MT19937"):
        loader.load_state_dict(np.random.Generator(np.random.MT19937(0)).bit_generator.state)


def test_batches_are_tensors_without_extra_copy_and_int64_labels():
    x, y = _xy(12)
    loader = DataLoader(TensorDataset(x, y.astype(np.int64)), batch_size=5)
    xb, yb = next(iter(loader))
    assert isinstance(xb, nv.Tensor) and isinstance(yb, nv.Tensor)
    assert xb.shape == (5, 3) and xb.dtype == np.float32 and yb.dtype == np.int64
    assert not np.shares_memory(xb._data, x)  # a gathered copy, never a view into the dataset
    assert xb._data.flags.owndata  # the Tensor wraps the gathered array itself (no second copy)


@pytest.mark.parametrize("shuffle", [False, True])
def test_batch_path_equals_generic_path(shuffle):
    x, y = _xy(37, 4)
    fast = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=shuffle, seed=4)
    slow = DataLoader(PlainDataset(x, y), batch_size=8, shuffle=shuffle, seed=4)
    assert fast.uses_batch_path and not slow.uses_batch_path
    for (xf, yf), (xs, ys) in zip(fast, slow, strict=True):
        assert np.array_equal(xf._data, xs._data) and xf.dtype == xs.dtype
        assert np.array_equal(yf._data, ys._data) and yf.dtype == ys.dtype == np.int64


def test_batch_path_through_subset_and_concat():
    x, y = _xy(30)
    ds = TensorDataset(x, y)
    sub = Subset(ds, np.arange(29, -1, -2))
    cat = sub + TensorDataset(x[:4] * 10, y[:4] + 100)
    for d in (sub, cat):
        fast = DataLoader(d, batch_size=6, shuffle=True, seed=2)
        slow = DataLoader(d, batch_size=6, shuffle=True, seed=2, collate_fn=default_collate)
        assert fast.uses_batch_path and not slow.uses_batch_path
        for (xf, yf), (xs, ys) in zip(fast, slow, strict=True):
            assert np.array_equal(xf._data, xs._data) and np.array_equal(yf._data, ys._data)


def test_generic_subset_falls_back():
    x, y = _xy(10)
    sub = Subset(PlainDataset(x, y), [1, 2, 3])
    loader = DataLoader(sub, batch_size=2)
    assert not loader.uses_batch_path
    assert _epoch_labels(loader).tolist() == [1, 2, 3]


def test_collate_tuples_dicts_namedtuples_strings():
    Pair = collections.namedtuple("Pair", "a b")
    batch = [{"x": np.full(2, i, np.float32), "y": i, "name": f"s{i}", "p": Pair(i, float(i)),
              "nest": (np.float64(i), [i, i + 1])} for i in range(3)]
    out = default_collate(batch)
    assert set(out) == {"x", "y", "name", "p", "nest"}
    assert out["x"].shape == (3, 2) and out["x"].dtype == np.float32
    assert out["y"].tolist() == [0, 1, 2] and out["y"].dtype == np.int64
    assert out["name"] == ["s0", "s1", "s2"]
    assert isinstance(out["p"], Pair) and out["p"].b.dtype == np.float32
    assert out["nest"][0].dtype == np.float64
    assert [t.tolist() for t in out["nest"][1]] == [[0, 1, 2], [1, 2, 3]]
    xb, yb = default_collate([(np.zeros(2), True), (np.ones(2), False)])
    assert yb.dtype == np.bool_ and xb.dtype == np.float64


def test_collate_errors_name_the_problem():
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="different lengths"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="object"):
        default_collate([object(), object()])


def test_custom_collate_and_batch_sampler():
    x, y = _xy(10)
    seen = []
    loader = DataLoader(TensorDataset(x, y), batch_size=4, collate_fn=lambda b: seen.append(len(b)) or len(b))
    assert list(loader) == [4, 4, 2] and not loader.uses_batch_path
    bs = BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=True)
    loader = DataLoader(TensorDataset(x, y), batch_sampler=bs)
    assert loader.batch_size is None and len(loader) == 3
    assert [yb.tolist() for _, yb in loader] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


def test_batch_size_none_yields_samples():
    x, y = _xy(3)
    out = list(DataLoader(PlainDataset(x, y), batch_size=None))
    assert len(out) == 3 and out[1][0].shape == (3,) and out[1][1] == 1


def test_sampler_generator_is_adopted_for_state():
    ds = TensorDataset(*_xy(20))
    sampler = RandomSampler(ds, seed=7)
    loader = DataLoader(ds, batch_size=5, sampler=sampler)
    assert loader.generator is sampler.generator
    state = loader.state_dict()
    a = _epoch_labels(loader)
    loader.load_state_dict(state)
    assert np.array_equal(a, _epoch_labels(loader))


def test_argument_errors():
    ds = TensorDataset(*_xy(4))
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, shuffle=True, sampler=SequentialSampler(ds))
    with pytest.raises(ValueError, match="batch_sampler"):
        DataLoader(ds, batch_size=2, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        DataLoader(ds, bacth_size=2)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        DataLoader(ds, generator="abc")


def test_batch_mean_gradient_equals_mean_of_per_sample_gradients():
    """A57: the gradient of the batch-mean loss is the mean of the per-sample gradients."""
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(8, 3)), rng.normal(size=8)
    w0 = rng.normal(size=3)
    xb, tb = next(iter(DataLoader(TensorDataset(x, t), batch_size=8)))
    w = nv.tensor(w0, dtype=np.float64, requires_grad=True)
    (((xb @ w) - tb) ** 2).mean().backward()
    per = []
    for i in range(8):
        wi = nv.tensor(w0, dtype=np.float64, requires_grad=True)
        (((xb[i] * wi).sum() - tb[i]) ** 2).backward()
        per.append(wi.grad._data)
    np.testing.assert_allclose(w.grad._data, np.mean(per, axis=0), rtol=0, atol=1e-12)


@pytest.mark.torch
def test_batches_match_torch_dataloader_without_shuffle():
    torch = pytest.importorskip("torch")
    x, y = _xy(11)
    ours = [(xb._data, yb._data) for xb, yb in DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True)]
    ref = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                      batch_size=4, drop_last=True)
    theirs = [(xb.numpy(), yb.numpy()) for xb, yb in ref]
    assert len(ours) == len(theirs) == 2
    for (a, b), (c, d) in zip(ours, theirs):
        assert np.array_equal(a, c) and np.array_equal(b, d) and b.dtype == d.dtype
