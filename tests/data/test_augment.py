"""Augmentations: exact fixed-parameter ops, per-image randomness on batches, seeding."""
import numpy as np
import pytest

import nerve as nv
from nerve.data import Compose, DataLoader
from nerve.data.augment import (RandomCrop, RandomHorizontalFlip, RandomResizedCrop, RandomRotation,
                                RandomVerticalFlip, center_crop, crop, hflip, pad, resized_crop, rotate, vflip)


def _imgs(n=8, c=3, h=6, w=7, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)


def test_fixed_ops_match_torch():
    torch = pytest.importorskip("torch")
    x = _imgs()
    t = torch.from_numpy(x)
    assert np.array_equal(hflip(x), t.flip(-1).numpy())
    assert np.array_equal(vflip(x), t.flip(-2).numpy())
    assert np.array_equal(crop(x, 1, 2, 3, 4), t[..., 1:4, 2:6].numpy())
    assert np.array_equal(pad(x, (1, 2, 3, 4), fill=0.5),
                          torch.nn.functional.pad(t, (1, 3, 2, 4), value=0.5).numpy())
    assert np.array_equal(pad(x, 2, padding_mode="reflect"),
                          torch.nn.functional.pad(t, (2, 2, 2, 2), mode="reflect").numpy())
    assert center_crop(np.arange(25).reshape(5, 5), 3).tolist() == [[6, 7, 8], [11, 12, 13], [16, 17, 18]]
    with pytest.raises(ValueError, match="does not fit"):
        crop(x, 4, 0, 3, 3)


def test_rotation_by_90_equals_rot90_and_other_angles_keep_shape():
    x = _imgs(h=5, w=5)
    for k in range(-1, 5):
        assert np.array_equal(rotate(x, 90 * k), np.rot90(x, k=k % 4, axes=(-2, -1)))
    y = rotate(x[0], 30.0)
    assert y.shape == x[0].shape and np.all(y[:, 0, 0] == 0)  # the corner is uncovered
    r = RandomRotation((90, 90), seed=0)(x)  # the random path agrees at a fixed 90 degrees
    assert np.array_equal(r, np.rot90(x, 1, axes=(-2, -1)))


def test_flip_rate_and_per_image_choice():
    flip = RandomHorizontalFlip(p=0.5, seed=0)
    x = np.arange(2 * 10000).reshape(10000, 1, 1, 2).astype(np.float32)
    out = flip(x)
    fired = out[:, 0, 0, 0] > x[:, 0, 0, 0]
    assert abs(fired.mean() - 0.5) < 0.02
    assert np.array_equal(out[fired], hflip(x[fired])) and np.array_equal(out[~fired], x[~fired])
    col = x[:4].reshape(2, 1, 4, 1)
    assert np.array_equal(RandomVerticalFlip(p=1.0)(col), vflip(col)) and not np.array_equal(vflip(col), col)
    with pytest.raises(ValueError, match="probability"):
        RandomHorizontalFlip(p=1.5)


def test_random_crop_windows_are_real_windows():
    x = _imgs(n=50, h=8, w=8)
    out = RandomCrop(5, padding=2, seed=3)(x)
    assert out.shape == (50, 3, 5, 5)
    padded = pad(x, 2)
    for i in range(0, 50, 7):  # each output is some 5x5 window of its own padded image
        wins = np.lib.stride_tricks.sliding_window_view(padded[i], (5, 5), axis=(-2, -1))
        assert np.any(np.all(wins == out[i][:, None, None], axis=(0, 3, 4)))
    starts = {tuple(np.argwhere(out[i, 0] == x[i, 0, 0, 0])[0]) if (out[i, 0] == x[i, 0, 0, 0]).any()
              else None for i in range(50)}
    assert len(starts) > 3  # images got different offsets
    assert RandomCrop(10, pad_if_needed=True, seed=0)(x).shape == (50, 3, 10, 10)
    with pytest.raises(ValueError, match="larger than"):
        RandomCrop(10)(x)


def test_random_resized_crop_shape_range_and_full_box_is_resize():
    x = _imgs(n=20, h=12, w=10)
    out = RandomResizedCrop((6, 5), seed=1)(x)
    assert out.shape == (20, 3, 6, 5) and out.dtype == np.float32
    assert out.min() >= x.min() - 1e-6 and out.max() <= x.max() + 1e-6
    whole = RandomResizedCrop(24, scale=(1.0, 1.0), ratio=(10 / 12, 10 / 12), seed=0)(x)
    np.testing.assert_allclose(whole, resized_crop(x, 0, 0, 12, 10, 24), atol=1e-5)


def test_same_seed_same_augmented_batch_and_state():
    x = _imgs(n=16, h=10, w=10)

    def aug(seed):
        return Compose([RandomCrop(8, padding=1, seed=seed), RandomHorizontalFlip(seed=seed),
                        RandomRotation(20, seed=seed), RandomResizedCrop(8, seed=seed)])

    assert np.array_equal(aug(0)(x), aug(0)(x))
    assert not np.array_equal(aug(0)(x), aug(1)(x))
    a = RandomRotation(45, seed=2)
    st = a.state_dict()
    first = a(x)
    a.load_state_dict(st)
    assert np.array_equal(first, a(x))
    nv.manual_seed(3)
    b1 = RandomHorizontalFlip()(x)
    nv.manual_seed(3)
    assert np.array_equal(b1, RandomHorizontalFlip()(x))


def test_augmentation_runs_per_batch_in_the_loader():
    pytest.importorskip("sklearn")
    from nerve.data.datasets import Digits

    ds = Digits(transform=Compose([Identity(), RandomHorizontalFlip(p=1.0, seed=0)]))
    assert ds.transform is not None  # random: kept for access time, not applied at load
    xb, _ = next(iter(DataLoader(ds, batch_size=40)))
    assert np.array_equal(xb.data, hflip(ds.data[:40])) and not np.array_equal(xb.data, ds.data[:40])
    x0, _ = ds[0]
    assert np.array_equal(x0, hflip(ds.data[0]))


class Identity(nv.data.transforms.Transform):
    """A deterministic identity step: the prefix of the Compose that runs at load."""

    def __call__(self, x):
        return x
