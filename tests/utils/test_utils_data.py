"""nerve.utils.data: torch.utils.data's names as the same objects as nerve.data, and
torch-style loops over them (IterableDataset, samplers, seeded nerve.Generator)."""
import doctest

import numpy as np
import pytest

import nerve as nv
import nerve.data as nd
import nerve.utils.data as ud

NAMES = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "ChainDataset", "Subset",
         "random_split", "DataLoader", "default_collate", "default_convert", "Sampler",
         "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
         "BatchSampler", "DistributedSampler"]


@pytest.mark.parametrize("name", NAMES)
def test_every_name_is_the_same_object_as_in_nerve_data(name):
    assert getattr(ud, name) is getattr(nd, name)
    assert name in ud.__all__


def test_reachable_from_the_root_and_docstrings_run():
    assert nv.utils.data is ud
    assert doctest.testmod(ud).failed == 0
    import nerve.data.dataset as dsmod
    r = doctest.testmod(dsmod, optionflags=doctest.ELLIPSIS)
    assert r.failed == 0 and r.attempted > 0


def _data(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return ud.TensorDataset(x, np.arange(n))


def test_torch_style_training_loop_over_a_split():
    ds = _data(20)
    train, val = ud.random_split(ds, [0.75, 0.25], generator=nv.Generator().manual_seed(1))
    assert (len(train), len(val)) == (15, 5)
    assert sorted(np.concatenate([train.indices, val.indices]).tolist()) == list(range(20))
    loader = ud.DataLoader(train, batch_size=4, shuffle=True, drop_last=True, num_workers=2,
                           generator=nv.Generator().manual_seed(0))
    assert len(loader) == 3
    seen = []
    for epoch in range(2):
        ys = []
        for xb, yb in loader:
            assert isinstance(xb, nv.Tensor) and xb.shape == (4, 3) and yb.dtype == np.int64
            np.testing.assert_array_equal(xb.numpy()[:, 0], yb.numpy() * 3)
            ys += yb.tolist()
        assert len(ys) == 12 and set(ys) <= set(train.indices.tolist())
        seen.append(ys)
    assert seen[0] != seen[1]  # a fresh order each epoch


def test_seeded_nerve_generator_makes_split_and_sampler_reproducible():
    ds = _data(50)
    a = ud.random_split(ds, [20, 30], generator=nv.Generator().manual_seed(7))
    b = ud.random_split(ds, [20, 30], generator=nv.Generator().manual_seed(7))
    c = ud.random_split(ds, [20, 30], generator=nv.Generator().manual_seed(8))
    assert a[0].indices.tolist() == b[0].indices.tolist()
    assert a[0].indices.tolist() != c[0].indices.tolist()
    s1 = list(ud.RandomSampler(ds, generator=nv.Generator().manual_seed(3)))
    s2 = list(ud.RandomSampler(ds, generator=nv.Generator().manual_seed(3)))
    assert s1 == s2 and sorted(s1) == list(range(50)) and s1 != list(range(50))
    # the sampler draws from the Generator's own stream: the global seed does not matter
    g = nv.Generator().manual_seed(3)
    nv.manual_seed(123)
    assert list(ud.RandomSampler(ds, generator=g)) == s1
    # and a loader with a seeded generator gives the same epochs on every run
    runs = [[yb.tolist() for _, yb in ud.DataLoader(ds, batch_size=8, shuffle=True,
                                                   generator=nv.Generator().manual_seed(5))]
            for _ in range(2)]
    assert runs[0] == runs[1]


def test_samplers_and_batch_sampler_in_a_loader():
    ds = _data(10)
    sub = ud.DataLoader(ds, batch_size=3, sampler=ud.SubsetRandomSampler([1, 4, 6, 8], seed=0))
    got = sorted(int(v) for _, yb in sub for v in yb.tolist())
    assert got == [1, 4, 6, 8]
    w = ud.WeightedRandomSampler([0.0] * 9 + [1.0], num_samples=6, generator=nv.Generator().manual_seed(0))
    assert [int(v) for _, yb in ud.DataLoader(ds, batch_size=2, sampler=w) for v in yb.tolist()] == [9] * 6
    bs = ud.BatchSampler(ud.SequentialSampler(ds), batch_size=4, drop_last=False)
    assert [yb.tolist() for _, yb in ud.DataLoader(ds, batch_sampler=bs)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with pytest.raises(ValueError, match="mutually exclusive"):
        ud.DataLoader(ds, sampler=w, shuffle=True)


def test_custom_collate_fn_and_dict_samples():
    class Pairs(ud.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full(2, i, np.float32), "n": i, "name": f"s{i}"}

    batches = list(ud.DataLoader(Pairs(), batch_size=2))
    assert batches[0]["x"].shape == (2, 2) and batches[0]["n"].tolist() == [0, 1]
    assert batches[2]["name"] == ["s4"]
    lens = [b for b in ud.DataLoader(Pairs(), batch_size=2, collate_fn=len, drop_last=True)]
    assert lens == [2, 2]


class Stream(ud.IterableDataset):
    def __init__(self, n, with_len=True):
        self.n, self.with_len = n, with_len

    def __iter__(self):
        for i in range(self.n):
            yield np.float32(i), i % 2

    def __len__(self):
        if not self.with_len:
            raise TypeError("a stream without a length")
        return self.n


def test_iterable_dataset_batches_in_stream_order():
    loader = ud.DataLoader(Stream(7), batch_size=3)
    assert len(loader) == 3
    out = [(xb.tolist(), yb.tolist()) for xb, yb in loader]
    assert out == [([0, 1, 2], [0, 1, 0]), ([3, 4, 5], [1, 0, 1]), ([6], [0])]
    assert len(ud.DataLoader(Stream(7), batch_size=3, drop_last=True)) == 2
    assert [xb.tolist() for xb, _ in ud.DataLoader(Stream(7), batch_size=3, drop_last=True)] == \
        [[0, 1, 2], [3, 4, 5]]
    assert [s[1] for s in ud.DataLoader(Stream(3), batch_size=None)] == [0, 1, 0]
    chained = ud.ChainDataset([Stream(2), Stream(1)])
    assert [int(x) for x, _ in chained] == [0, 1, 0] and len(chained) == 3
    assert [int(x) for x, _ in Stream(1) + Stream(2)] == [0, 0, 1]


def test_iterable_dataset_refuses_shuffle_sampler_and_indexing():
    with pytest.raises(ValueError, match="shuffle cannot be used with an IterableDataset"):
        ud.DataLoader(Stream(4), batch_size=2, shuffle=True)
    with pytest.raises(ValueError, match="sampler"):
        ud.DataLoader(Stream(4), sampler=ud.SequentialSampler(range(4)))
    with pytest.raises(TypeError, match="iterate over it"):
        Stream(4)[0]
    with pytest.raises(TypeError, match="only chains IterableDatasets"):
        ud.ChainDataset([Stream(2), _data(3)])
    with pytest.raises(TypeError, match="without a length"):
        len(ud.DataLoader(Stream(4, with_len=False), batch_size=2))
    with pytest.raises(TypeError, match="nerve.Generator"):
        ud.random_split(_data(4), [2, 2], generator="seed")


def test_concat_and_subset_through_the_alias():
    ds = ud.ConcatDataset([_data(3), _data(2)])
    assert [yb.tolist() for _, yb in ud.DataLoader(ud.Subset(ds, [4, 0, 3]), batch_size=3)] == [[1, 0, 0]]


@pytest.mark.torch
@pytest.mark.parametrize("drop_last", [False, True])
def test_batches_match_torch_dataloader(drop_last):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((11, 2, 3)).astype(np.float32)

    def sample(i):
        return xs[i], i, {"w": xs[i].sum(axis=0), "flag": bool(i % 2)}

    class Ours(ud.Dataset):
        def __len__(self):
            return 11

        def __getitem__(self, i):
            return sample(i)

    class Theirs(torch.utils.data.Dataset):
        def __len__(self):
            return 11

        def __getitem__(self, i):
            return sample(i)

    ours = list(ud.DataLoader(Ours(), batch_size=4, drop_last=drop_last))
    theirs = list(torch.utils.data.DataLoader(Theirs(), batch_size=4, drop_last=drop_last))
    assert len(ours) == len(theirs) == (2 if drop_last else 3)
    for (x, i, d), (tx, ti, td) in zip(ours, theirs):
        assert type(d) is type(td) is dict
        np.testing.assert_array_equal(x.numpy(), tx.numpy())
        assert i.tolist() == ti.tolist() and i.dtype == np.int64
        np.testing.assert_array_equal(d["w"].numpy(), td["w"].numpy())
        assert d["flag"].tolist() == td["flag"].tolist()


def test_reseeding_the_generator_a_loader_holds_repeats_its_epoch():
    g = nv.Generator()
    loader = ud.DataLoader(_data(12), batch_size=5, shuffle=True, generator=g)
    g.manual_seed(4)
    first = [yb.tolist() for _, yb in loader]
    g.manual_seed(4)
    assert [yb.tolist() for _, yb in loader] == first
    assert [yb.tolist() for _, yb in loader] != first
