"""Samplers: sequential, random, weighted frequencies, distributed shards, batching."""
import numpy as np
import pytest

from nerve.data import (BatchSampler, DistributedSampler, RandomSampler, SequentialSampler,
                        SubsetRandomSampler, WeightedRandomSampler, class_weights)


def test_sequential_and_random():
    assert list(SequentialSampler(range(5))) == [0, 1, 2, 3, 4]
    s = RandomSampler(range(50), seed=0)
    a, b = s.index_array(), s.index_array()
    assert sorted(a.tolist()) == sorted(b.tolist()) == list(range(50)) and not np.array_equal(a, b)
    assert all(isinstance(i, int) for i in s)


def test_random_sampler_replacement_and_num_samples():
    s = RandomSampler(range(5), replacement=True, num_samples=1000, seed=1)
    idx = s.index_array()
    assert len(s) == len(idx) == 1000 and idx.min() >= 0 and idx.max() <= 4
    s = RandomSampler(range(4), num_samples=10, seed=1)  # more than N without replacement
    idx = s.index_array()
    assert len(idx) == 10 and sorted(idx[:4].tolist()) == sorted(idx[4:8].tolist()) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(4), num_samples=0)


def test_sampler_state_roundtrip():
    s = RandomSampler(range(30), seed=3)
    st = s.state_dict()
    a = s.index_array()
    s.load_state_dict(st)
    assert np.array_equal(a, s.index_array())


def test_subset_random_sampler():
    s = SubsetRandomSampler([5, 9, 2, 7], seed=0)
    assert sorted(s) == [2, 5, 7, 9] and len(s) == 4


def test_weighted_sampler_frequencies_balance_99_to_1():
    """Row 78: on 99:1 data, weights 1/count draw both classes at 0.5 +- 0.02."""
    y = np.array([0] * 990 + [1] * 10)
    w = class_weights(y)[y]
    s = WeightedRandomSampler(w, num_samples=20000, seed=0)
    drawn = y[s.index_array()]
    assert abs(drawn.mean() - 0.5) < 0.02


def test_weighted_sampler_matches_probabilities_and_skips_zero_weight():
    w = np.array([1.0, 0.0, 2.0, 3.0, 0.0])
    idx = WeightedRandomSampler(w, num_samples=60000, seed=1).index_array()
    freq = np.bincount(idx, minlength=5) / len(idx)
    np.testing.assert_allclose(freq, w / w.sum(), atol=0.01)
    assert freq[1] == 0 and freq[4] == 0
    no_rep = WeightedRandomSampler(w, num_samples=3, replacement=False, seed=2).index_array()
    assert sorted(no_rep.tolist()) == [0, 2, 3]


def test_weighted_sampler_errors():
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1.0, -1.0], 3)
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler([1.0], 0)


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (12, 4, False),
                                                   (2, 4, False), (7, 2, True)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_distributed_shards(n, replicas, drop_last, shuffle):
    shards = [DistributedSampler(range(n), num_replicas=replicas, rank=r, shuffle=shuffle, seed=5,
                                 drop_last=drop_last).index_array() for r in range(replicas)]
    sizes = {len(s) for s in shards}
    assert len(sizes) == 1  # every rank gets the same number
    allidx = np.concatenate(shards)
    if drop_last:
        assert len(set(allidx.tolist())) == len(allidx) == n // replicas * replicas  # disjoint
    else:
        assert set(allidx.tolist()) == set(range(n))  # covering
        assert len(allidx) == -(-n // replicas) * replicas  # only the padding repeats
        assert len(allidx) - len(set(allidx.tolist())) == len(allidx) - n


def test_distributed_set_epoch_same_on_all_ranks_and_matches_torch_padding():
    a = DistributedSampler(range(9), num_replicas=2, rank=0, seed=1)
    b = DistributedSampler(range(9), num_replicas=2, rank=1, seed=1)
    e0 = np.concatenate([a.index_array(), b.index_array()])
    a.set_epoch(1)
    b.set_epoch(1)
    e1 = np.concatenate([a.index_array(), b.index_array()])
    assert not np.array_equal(e0, e1) and set(e1.tolist()) == set(range(9))
    torch = pytest.importorskip("torch")
    for n, r, dl in [(10, 3, False), (10, 3, True), (2, 5, False)]:
        for rank in range(r):
            ours = list(DistributedSampler(range(n), num_replicas=r, rank=rank, shuffle=False, drop_last=dl))
            ref = list(torch.utils.data.DistributedSampler(range(n), num_replicas=r, rank=rank, shuffle=False,
                                                           drop_last=dl))
            assert ours == ref


def test_distributed_rank_from_environment(monkeypatch):
    for k in ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMI_SIZE", "PMI_RANK"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "2")
    s = DistributedSampler(range(9), shuffle=False)
    assert (s.num_replicas, s.rank, list(s)) == (3, 2, [2, 5, 8])
    with pytest.raises(ValueError, match="rank must be"):
        DistributedSampler(range(9), num_replicas=2, rank=2)


def test_batch_sampler():
    bs = BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6]] and len(bs) == 3
    bs = BatchSampler(range(7), batch_size=3, drop_last=True)  # any iterable of indices
    assert list(bs) == [[0, 1, 2], [3, 4, 5]] and len(bs) == 2
