"""The offline scikit-learn digits: Digits (8x8) and Digits28 (resized to 28x28)."""
import numpy as np
import pytest

pytest.importorskip("sklearn")

from nerve.data import DataLoader  # noqa: E402
from nerve.data.datasets import Digits, Digits28, resize_bilinear  # noqa: E402


def test_digits_split_covers_and_is_reproducible():
    tr, te = Digits(train=True), Digits(train=False)
    assert len(tr) + len(te) == 1797 and abs(len(te) - 0.2 * 1797) < 10
    assert not set(tr.indices.tolist()) & set(te.indices.tolist())
    assert tr.data.shape == (len(tr), 1, 8, 8) and tr.data.dtype == np.float32
    assert tr.targets.dtype == np.int64 and set(tr.targets.tolist()) == set(range(10))
    assert tr.data.min() == 0.0 and tr.data.max() == 1.0
    assert np.array_equal(Digits(train=False).indices, te.indices)
    assert not np.array_equal(Digits(train=False, seed=1).indices, te.indices)
    # stratified: each class keeps its share in the test part
    full = np.bincount(np.concatenate([tr.targets, te.targets]))
    np.testing.assert_allclose(np.bincount(te.targets) / full, 0.2, atol=0.01)


def test_digits_values_are_sklearn_over_16():
    from sklearn.datasets import load_digits

    d = load_digits()
    tr = Digits(train=True)
    np.testing.assert_array_equal(tr.data[:, 0], (d.images[tr.indices] / 16).astype(np.float32))
    np.testing.assert_array_equal(tr.targets, d.target[tr.indices])


def test_digits28_shape_range_labels():
    """A56: 1,797 samples of 784 features in [0, 1] with labels 0-9."""
    tr, te = Digits28(train=True), Digits28(train=False)
    assert len(tr) + len(te) == 1797
    x = np.concatenate([tr.data, te.data]).reshape(1797, -1)
    assert x.shape == (1797, 784) and x.min() >= 0.0 and x.max() <= 1.0 and x.dtype == np.float32
    assert sorted(set(tr.targets.tolist()) | set(te.targets.tolist())) == list(range(10))
    xb, yb = next(iter(DataLoader(tr, batch_size=16, shuffle=True, seed=0)))
    assert xb.shape == (16, 1, 28, 28) and yb.dtype == np.int64


def test_resize_bilinear_matches_torch_interpolate():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).random((3, 1, 8, 8)).astype(np.float32)
    ref = torch.nn.functional.interpolate(torch.from_numpy(x), size=(28, 28), mode="bilinear",
                                          align_corners=False).numpy()
    np.testing.assert_allclose(resize_bilinear(x, (28, 28)), ref, atol=1e-6)
    y = np.random.default_rng(1).random((2, 5, 7))
    ref = torch.nn.functional.interpolate(torch.from_numpy(y)[None], size=(3, 11), mode="bilinear",
                                          align_corners=False).numpy()[0]
    np.testing.assert_allclose(resize_bilinear(y, (3, 11)), ref, atol=1e-12)
