"""The random-shift augmentation used by `nerve train`."""
import numpy as np
import pytest

from nerve.cli.augment import RandomShiftDataset


def test_each_image_moves_by_at_most_max_shift_with_background_fill():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(200, 1, 8, 8)).astype(np.float32)
    ds = RandomShiftDataset(images, np.arange(200), max_shift=1, fill=-9.0, seed=0)
    x, y = ds.get_batch(np.arange(200))
    assert x.shape == images.shape and x.dtype == images.dtype and y.tolist() == list(range(200))
    seen = set()
    for i in range(200):
        matches = []
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                expected = np.full((8, 8), -9.0, np.float32)
                expected[max(dy, 0):8 + min(dy, 0), max(dx, 0):8 + min(dx, 0)] = \
                    images[i, 0, max(-dy, 0):8 + min(-dy, 0), max(-dx, 0):8 + min(-dx, 0)]
                if np.array_equal(x[i, 0], expected):
                    matches.append((dy, dx))
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) == 9  # every offset occurs
    # the same seed gives the same batch; the next draw differs
    again = RandomShiftDataset(images, np.arange(200), max_shift=1, fill=-9.0, seed=0)
    np.testing.assert_array_equal(again.get_batch(np.arange(200))[0], x)
    assert not np.array_equal(ds.get_batch(np.arange(200))[0], x)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        RandomShiftDataset(np.zeros((3, 8, 8)), np.zeros(3))
    with pytest.raises(ValueError, match="max_shift must be between 1"):
        RandomShiftDataset(np.zeros((3, 1, 8, 8)), np.zeros(3), max_shift=8)


def test_shifts_whole_digit_batches_through_the_data_loader():
    # (N, 1, 28, 28) as `nerve train` prepares it: standardized, background = (0 - mean) / std
    from nerve.data import DataLoader

    rng = np.random.default_rng(1)
    images = np.full((64, 1, 28, 28), -0.4, np.float32)
    images[:, :, 4:24, 4:24] = rng.uniform(0.5, 2.0, (64, 1, 20, 20))
    ds = RandomShiftDataset(images, np.arange(64), max_shift=2, fill=-0.4, seed=3)
    x, y = next(iter(DataLoader(ds, batch_size=64)))
    x, y = x.numpy(), y.numpy()
    assert x.shape == (64, 1, 28, 28) and x.dtype == np.float32 and y.tolist() == list(range(64))
    moved = 0
    for i in range(64):
        ys, xs = np.nonzero(x[i, 0] != np.float32(-0.4))
        dy, dx = ys.min() - 4, xs.min() - 4  # where the 20x20 block went
        assert abs(dy) <= 2 and abs(dx) <= 2
        np.testing.assert_array_equal(x[i, 0, 4 + dy:24 + dy, 4 + dx:24 + dx], images[i, 0, 4:24, 4:24])
        moved += (dy, dx) != (0, 0)
    assert moved > 40  # 24 of 25 offsets move the image
