"""train_test_split and make_imbalanced."""
import numpy as np
import pytest

import nerve as nv
from nerve.data import TensorDataset, make_imbalanced, train_test_split


@pytest.mark.parametrize("n,kw", [(10, {}), (101, {"test_size": 0.3}), (101, {"train_size": 0.6}),
                                  (50, {"test_size": 7}), (50, {"test_size": 0.2, "train_size": 0.5})])
def test_train_test_split_sizes_match_sklearn(n, kw):
    ms = pytest.importorskip("sklearn.model_selection")
    X, y = np.arange(2 * n).reshape(n, 2), np.arange(n)
    ours = train_test_split(X, y, seed=0, **kw)
    ref = ms.train_test_split(X, y, random_state=0, **kw)
    assert [a.shape for a in ours] == [a.shape for a in ref]
    tr, te = ours[2], ours[3]
    assert not set(tr.tolist()) & set(te.tolist())
    assert np.array_equal(ours[0][:, 0] // 2, tr)  # rows stay aligned across arrays
    again = train_test_split(X, y, seed=0, **kw)
    assert all(np.array_equal(a, b) for a, b in zip(ours, again))


def test_train_test_split_covers_stratifies_and_errors():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    tr, te = train_test_split(y, test_size=0.2, seed=1, stratify=y)
    assert len(te) == 20 and np.bincount(te).tolist() == [10, 6, 4]
    assert np.array_equal(np.sort(np.concatenate([tr, te])), np.arange(3).repeat([50, 30, 20]))
    a, b = train_test_split(np.arange(10), shuffle=False, test_size=0.3)
    assert a.tolist() == list(range(7)) and b.tolist() == [7, 8, 9]
    t_tr, _ = train_test_split(nv.tensor(np.arange(8.0)), seed=0)
    assert isinstance(t_tr, np.ndarray) and len(t_tr) == 6
    with pytest.raises(ValueError, match="different lengths"):
        train_test_split(np.arange(3), np.arange(4))
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        train_test_split(np.arange(3), test_size=1.5)


def test_make_imbalanced_99_to_1_and_reproducible():
    x, y = np.zeros((2000, 1)), np.repeat([0, 1], 1000)
    ds = TensorDataset(x, y)
    sub = make_imbalanced(ds, {1: 0.0101})
    kept = y[sub.indices]
    assert np.bincount(kept).tolist() == [1000, 10]
    # always predicting the majority class: accuracy 0.99, minority recall 0
    assert np.mean(kept == 0) == pytest.approx(1000 / 1010)
    assert np.array_equal(make_imbalanced(ds, {1: 0.0101}).indices, sub.indices)
    assert not np.array_equal(make_imbalanced(ds, {1: 0.0101}, seed=1).indices, sub.indices)
    assert len(make_imbalanced(ds, [0.5, 0.5])) == 1000
    with pytest.raises(ValueError, match="must be in"):
        make_imbalanced(ds, {0: 2.0})
    with pytest.raises(TypeError, match="labels"):
        make_imbalanced(TensorDataset(x), {0: 0.5})
