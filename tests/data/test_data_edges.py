"""Edge-case sweep of the data pipeline against torch.utils.data semantics and the raw files.

Each test here guards a behaviour where a mistake would give a wrong batch or a wrong image
with no error: batch counts and coverage, collate dtypes, negative indices, dtype promotion
across concatenated datasets, split sizes, and the exact bytes of the MNIST files.
"""
import gzip
import itertools
import os
from pathlib import Path

import numpy as np
import pytest

from nerve.data import (ConcatDataset, DataLoader, Subset, TensorDataset, WeightedRandomSampler,
                        default_collate, random_split)

DATA = Path(os.environ.get("NERVE_DATA_DIR", "/nonexistent"))


def _arr(t):
    return np.asarray(t.numpy())


# ----------------------------------------------------------------------------- DataLoader

@pytest.mark.torch
def test_loader_batches_match_torch_for_every_combination():
    torch = pytest.importorskip("torch")
    import torch.utils.data as tud

    for n, bs, drop, shuffle in itertools.product([1, 5, 6, 7], [1, 2, 3, 8], [False, True],
                                                  [False, True]):
        x = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
        y = np.arange(n)
        ours = DataLoader(TensorDataset(x, y), batch_size=bs, drop_last=drop, shuffle=shuffle, seed=0)
        ref = tud.DataLoader(tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                             batch_size=bs, drop_last=drop, shuffle=shuffle)
        sizes = [len(yb) for _, yb in ours]
        assert len(ours) == len(ref) == len(sizes), (n, bs, drop, shuffle)
        assert sizes == [len(yb) for _, yb in ref], (n, bs, drop, shuffle)
        seen = np.concatenate([_arr(yb) for _, yb in ours]) if sizes else np.zeros(0, int)
        assert len(np.unique(seen)) == len(seen)  # nothing twice within an epoch
        if not drop:
            assert sorted(seen.tolist()) == list(range(n))
        for xb, yb in ours:  # rows stay with their labels
            np.testing.assert_array_equal(_arr(xb), x[_arr(yb)])


def test_empty_dataset_gives_no_batches():
    ds = TensorDataset(np.zeros((0, 3), np.float32))
    loader = DataLoader(ds, batch_size=4)
    assert len(loader) == 0 and list(loader) == []


@pytest.mark.torch
@pytest.mark.parametrize("batch", [
    [(1, 2.0, True), (3, 4.0, False)],
    [1, 2.5],             # an int first, a float later: a float batch, never truncated to [1, 2]
    [True, 2],            # a bool first, an int later: an int batch, never [True, True]
    [np.int64(3), 4],
    [np.float64(1.0), np.float64(2.0)],
    [np.array([1, 2], np.uint8), np.array([3, 4], np.uint8)],
    [[np.int32(1), [2, 3]], [np.int32(4), [5, 6]]],
])
def test_default_collate_values_and_dtypes_match_torch(batch):
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    def flat(o):
        if isinstance(o, (list, tuple)):
            return [leaf for a in o for leaf in flat(a)]
        return [o]

    ours, ref = flat(default_collate(batch)), flat(torch_collate(batch))
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        a, b = _arr(a), b.numpy()
        np.testing.assert_array_equal(a, b)
        if b.dtype == np.float64 and a.dtype == np.float32:
            continue  # documented: Python floats become the default dtype (float32), torch float64
        assert a.dtype.kind == b.dtype.kind and (a.dtype == b.dtype or b.dtype == np.float32)


def test_default_collate_dicts_strings_and_bad_numbers():
    out = default_collate([{"a": np.float32(1.5), "s": "x"}, {"a": np.float32(2.5), "s": "y"}])
    assert out["s"] == ["x", "y"] and _arr(out["a"]).dtype == np.float32
    np.testing.assert_array_equal(_arr(default_collate([1, 2.5])), [1.0, 2.5])
    with pytest.raises(TypeError, match="cannot batch"):
        default_collate([1, "a"])


# ----------------------------------------------------------------------------- datasets

def test_concat_batch_path_negative_indices_count_from_the_end_of_the_whole():
    ds = ConcatDataset([TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 14))])
    want = [int(ds[i][0].item()) for i in (-1, 0, -6, -4)]
    assert want == [13, 0, 1, 10]
    (got,) = next(iter(DataLoader(ds, batch_sampler=[[-1, 0, -6, -4]])))
    assert _arr(got).tolist() == want
    with pytest.raises(IndexError, match="out of range"):
        ds.get_batch(np.array([7]))


def test_concat_batch_path_promotes_dtypes_like_collate():
    ds = ConcatDataset([TensorDataset(np.array([1, 2])), TensorDataset(np.array([0.5, 0.25]))])
    (fast,) = next(iter(DataLoader(ds, batch_size=4)))
    (slow,) = default_collate([ds[i] for i in range(4)])
    np.testing.assert_array_equal(_arr(fast), [1.0, 2.0, 0.5, 0.25])
    assert _arr(fast).dtype == _arr(slow).dtype == np.float64


def test_concat_batch_path_refuses_mismatched_shapes():
    for a, b in (((2, 1), (2, 3)), ((2, 3), (2, 1))):  # (2, 1) would broadcast silently
        ds = ConcatDataset([TensorDataset(np.ones(a)), TensorDataset(np.zeros(b))])
        with pytest.raises(ValueError, match="per-sample shapes"):
            next(iter(DataLoader(ds, batch_size=4)))


def test_subset_negative_indices():
    base = TensorDataset(np.arange(5))
    sub = Subset(base, [-1, 0])
    assert [int(sub[i][0].item()) for i in range(2)] == [4, 0]
    assert _arr(next(iter(DataLoader(sub, batch_size=2)))[0]).tolist() == [4, 0]
    assert int(sub[-1][0].item()) == 0


@pytest.mark.torch
def test_random_split_sizes_match_torch():
    torch = pytest.importorskip("torch")
    import warnings

    for n, fr in itertools.product([1, 5, 7, 10, 11, 13, 101],
                                   [[0.8, 0.2], [1 / 3] * 3, [0.1, 0.2, 0.7], [0.333, 0.333, 0.334],
                                    [1.0, 0.0]]):
        parts = random_split(TensorDataset(np.arange(n)), fr, seed=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = torch.utils.data.random_split(range(n), fr)
        assert [len(p) for p in parts] == [len(p) for p in ref], (n, fr)
        idx = np.concatenate([p.indices for p in parts])
        assert sorted(idx.tolist()) == list(range(n))


def test_weighted_sampler_never_draws_zero_weights_and_matches_proportions():
    s = WeightedRandomSampler([0.0, 1.0, 3.0, 0.0], 20000, seed=0)
    counts = np.bincount(list(s), minlength=4)
    assert counts[0] == counts[3] == 0
    assert abs(counts[2] / counts.sum() - 0.75) < 0.02
    # Rounding leaves this cumulative sum at 1 - 2e-16 before the trailing zero weight: a draw
    # just below 1 must still land on the last non-zero weight.
    w = [0.6706244146936303, 0.6471895115742501, 0.6153851114812539, 0.38367755426188344,
         0.997209935789211, 0.9808353387762301, 0.6855419844806947, 0.0]

    class NearlyOne:
        def random(self, n):
            return np.full(n, 1 - 2.0 ** -53)

    s = WeightedRandomSampler(w, 3, seed=0)
    s.generator = NearlyOne()
    assert list(s) == [6, 6, 6]


# ----------------------------------------------------------------------------- MNIST bytes

def _raw_idx(path):
    raw = gzip.decompress(path.read_bytes())
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


@pytest.mark.skipif(not (DATA / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").is_file(),
                    reason="the dataset files are not in NERVE_DATA_DIR")
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_readers_give_the_exact_bytes_of_the_idx_files(name):
    from nerve.data.datasets import MNIST, FashionMNIST

    cls = MNIST if name == "mnist" else FashionMNIST
    images = _raw_idx(DATA / name / "t10k-images-idx3-ubyte.gz")
    labels = _raw_idx(DATA / name / "t10k-labels-idx1-ubyte.gz")
    raw = cls(train=False, download=False, dtype="uint8")
    np.testing.assert_array_equal(raw.data[:, 0], images)
    np.testing.assert_array_equal(raw.targets, labels)
    scaled = cls(train=False, download=False)
    np.testing.assert_array_equal(scaled.data[:, 0], images.astype(np.float32) / 255)
    x, y = scaled[0]
    assert y == int(labels[0]) and float(x.sum()) == pytest.approx(images[0].sum() / 255, rel=1e-6)
    xb, yb = next(iter(DataLoader(raw, batch_size=10000)))
    np.testing.assert_array_equal(_arr(xb)[:, 0], images)
    np.testing.assert_array_equal(_arr(yb), labels)
    from nerve.vision import datasets as vd  # torchvision-style items: (PIL image, int)

    tv = (vd.MNIST if name == "mnist" else vd.FashionMNIST)(train=False, download=False)
    for i in (0, 1234, 9999):
        img, label = tv[i]
        np.testing.assert_array_equal(np.asarray(img), images[i])
        assert label == int(labels[i]) and isinstance(label, int)


# ----------------------------------------------------------------------------- transforms

@pytest.mark.torch
def test_resize_of_uint8_rounds_like_torch_interpolate_and_stays_uint8():
    torch = pytest.importorskip("torch")
    from nerve.data import Resize

    x = np.random.default_rng(0).integers(0, 256, (2, 3, 5, 7), dtype=np.uint8)
    for size in [(8, 4), (10, 14), (3, 3)]:
        out = Resize(size)(x)
        ref = torch.nn.functional.interpolate(torch.from_numpy(x).double(), size=size,
                                              mode="bilinear", align_corners=False)
        assert out.dtype == np.uint8
        # torch's own uint8 kernel uses fixed-point weights; against exact arithmetic the
        # result is round-half-to-even of the float64 interpolation
        np.testing.assert_array_equal(out, np.clip(np.rint(ref.numpy()), 0, 255))


@pytest.mark.skipif(not (DATA / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file(),
                    reason="the dataset files are not in NERVE_DATA_DIR")
def test_uint8_mnist_resized_or_rotated_then_to_tensor_lies_in_unit_range():
    # torchvision's MNIST -> Resize -> ToTensor gives [0, 1]; a float32 0..255 image from the
    # resize used to pass through ToTensor unscaled.
    from nerve.data import Compose, MNIST, RandomRotation, Resize, ToTensor

    ds = MNIST(train=False, download=False, dtype="uint8", transform=Compose([Resize(32), ToTensor()]))
    assert ds.data.shape == (10000, 1, 32, 32) and ds.data.dtype == np.float32
    assert ds.data.max() == 1.0 and ds.data.min() == 0.0
    rot = MNIST(train=False, download=False, dtype="uint8",
                transform=Compose([RandomRotation(20, interpolation="bilinear", seed=0), ToTensor()]))
    xb, _ = next(iter(DataLoader(rot, batch_size=256)))
    assert _arr(xb).dtype == np.float32 and 0.0 <= _arr(xb).min() and _arr(xb).max() <= 1.0


def test_to_tensor_scales_uint8_only_and_moves_channels_first():
    from nerve.data import ToTensor

    img = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    out = ToTensor()(img)
    assert out.shape == (3, 2, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out, img.transpose(2, 0, 1).astype(np.float32) / np.float32(255))
    f = np.linspace(-2, 3, 24).reshape(2, 4, 3)
    np.testing.assert_array_equal(ToTensor()(f), f.transpose(2, 0, 1))  # floats left alone


@pytest.mark.torch
def test_normalize_per_channel_matches_torchvision_formula():
    torch = pytest.importorskip("torch")
    from nerve.data import Normalize

    x = np.random.default_rng(1).random((4, 3, 5, 5)).astype(np.float32)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    ref = (torch.from_numpy(x) - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
    np.testing.assert_allclose(Normalize(mean, std)(x), ref.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(Normalize(mean, std)(x[0]), ref.numpy()[0], rtol=1e-6, atol=1e-6)


def test_save_image_writes_uint8_pixels_unchanged_and_floats_scaled(tmp_path):
    from PIL import Image

    from nerve.data import save_image

    u = np.random.default_rng(0).integers(0, 256, (1, 1, 5, 6), dtype=np.uint8)
    got = np.asarray(Image.open(save_image(u, tmp_path / "u.png")))
    np.testing.assert_array_equal(got[..., 0], u[0, 0])  # was saturated: every pixel > 0 became 255
    f = u.astype(np.float32) / 255
    got = np.asarray(Image.open(save_image(f, tmp_path / "f.png")))
    np.testing.assert_array_equal(got[..., 0], u[0, 0])


def test_random_augmentation_is_seeded_and_keeps_labels_with_images():
    from nerve.data import ArrayDataset, Compose, RandomCrop, RandomHorizontalFlip, RandomRotation

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 1, 8, 8), dtype=np.uint8)
    y = np.arange(40)
    x[:, 0, 0, 0] = y  # each image carries its own label in a corner pixel

    class Store(ArrayDataset):
        def __init__(self, transform):
            self.data, self.targets = x.copy(), y.copy()
            self._set_transforms(transform, None)

    def epoch(seed):
        aug = Compose([RandomCrop(8, padding=2, seed=seed), RandomHorizontalFlip(seed=seed),
                       RandomRotation(15, seed=seed)])
        return [(_arr(a), _arr(b)) for a, b in DataLoader(Store(aug), batch_size=16, shuffle=True, seed=3)]

    a, b, c = epoch(0), epoch(0), epoch(1)
    assert all(np.array_equal(p[0], q[0]) and np.array_equal(p[1], q[1]) for p, q in zip(a, b))
    assert not all(np.array_equal(p[0], q[0]) for p, q in zip(a, c))
    labels = np.concatenate([lb for _, lb in a])
    assert sorted(labels.tolist()) == list(range(40))
    plain = [(_arr(a), _arr(b)) for a, b in DataLoader(Store(None), batch_size=16, shuffle=True, seed=3)]
    for (xa, ya), (xp, yp) in zip(a, plain):  # same shuffled order, and labels still match images
        np.testing.assert_array_equal(ya, yp)
        np.testing.assert_array_equal(xp[:, 0, 0, 0], yp)


def test_vision_pipeline_is_reproducible_under_manual_seed():
    import nerve as nv
    from PIL import Image
    from nerve.vision import transforms as T

    img = Image.fromarray(np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3))
    pipe = T.Compose([T.RandomCrop(8, padding=2), T.RandomHorizontalFlip(), T.RandomRotation(15),
                      T.ColorJitter(0.3, 0.3, 0.3, 0.1), T.ToTensor()])

    def run():
        nv.manual_seed(3)
        return np.stack([pipe(img).numpy() for _ in range(4)])

    a, b = run(), run()
    assert np.array_equal(a, b) and not np.array_equal(a[0], a[1])
    assert a.dtype == np.float32 and 0.0 <= a.min() and a.max() <= 1.0


@pytest.mark.torch
def test_distributed_and_batch_samplers_match_torch_without_shuffle():
    pytest.importorskip("torch")
    import torch.utils.data as tud

    from nerve.data import BatchSampler, DistributedSampler, SequentialSampler

    for n, r, drop in itertools.product(range(1, 10), range(1, 4), [False, True]):
        for rank in range(r):
            ours = DistributedSampler(range(n), num_replicas=r, rank=rank, shuffle=False, drop_last=drop)
            ref = tud.DistributedSampler(range(n), num_replicas=r, rank=rank, shuffle=False, drop_last=drop)
            assert list(ours) == list(ref) and len(ours) == len(ref)
    for n, bs, drop in itertools.product(range(0, 8), range(1, 4), [False, True]):
        ours = BatchSampler(SequentialSampler(range(n)), bs, drop)
        ref = tud.BatchSampler(tud.SequentialSampler(range(n)), bs, drop)
        assert list(ours) == list(ref) and len(ours) == len(ref)
