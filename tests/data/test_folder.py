"""ImageFolder on a generated tree, and the ImageNet-style eval pipeline."""
import numpy as np
import pytest

from nerve.data import (IMAGENET_MEAN, IMAGENET_STD, CenterCrop, Compose, DataLoader, ImageFolder, Normalize,
                        Resize, ToTensor)

Image = pytest.importorskip("PIL.Image")


@pytest.fixture
def tree(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("zebra", "ant", "Moth"):  # sorting is by name, case-sensitive, as in torchvision
        (tmp_path / cls / "sub").mkdir(parents=True)
        for k in range(4):
            where = tmp_path / cls / ("sub" if k == 3 else "")
            Image.fromarray(rng.integers(0, 256, size=(20 + k, 30, 3), dtype=np.uint8)).save(where / f"{k}.png")
    (tmp_path / "ant" / "notes.txt").write_text("not an image")
    return tmp_path


def test_classes_and_samples(tree):
    ds = ImageFolder(tree)
    assert ds.classes == ["Moth", "ant", "zebra"] and ds.class_to_idx == {"Moth": 0, "ant": 1, "zebra": 2}
    assert len(ds) == 12 and ds.targets.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    names = [p.split(str(tree))[1] for p, _ in ds.samples[:4]]
    assert names == ["/Moth/0.png", "/Moth/1.png", "/Moth/2.png", "/Moth/sub/3.png"]
    img, y = ds[5]
    assert img.dtype == np.uint8 and img.shape == (21, 30, 3) and y == 1


def test_eval_pipeline_and_loader(tree):
    t = Compose([Resize(16), CenterCrop(12), ToTensor(), Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    ds = ImageFolder(tree, transform=t)
    x, _ = ds[0]
    assert x.shape == (3, 12, 12) and x.dtype == np.float32
    # by hand: Pillow bilinear resize of the short side, central crop, scale, normalize
    img = Image.open(ds.samples[0][0]).convert("RGB")
    small = np.asarray(img.resize((24, 16), Image.BILINEAR))[2:14, 6:18]
    ref = (small.transpose(2, 0, 1) / np.float32(255) - np.array(IMAGENET_MEAN, np.float32)[:, None, None]) \
        / np.array(IMAGENET_STD, np.float32)[:, None, None]
    np.testing.assert_allclose(x, ref, atol=1e-6)
    xb, yb = next(iter(DataLoader(ds, batch_size=5, shuffle=True, seed=0)))
    assert xb.shape == (5, 3, 12, 12) and yb.dtype == np.int64


def test_resize_arrays_and_errors(tmp_path):
    x = np.random.default_rng(1).random((2, 3, 10, 20)).astype(np.float32)
    assert Resize(5)(x).shape == (2, 3, 5, 10) and Resize((7, 3))(x).shape == (2, 3, 7, 3)
    assert CenterCrop((4, 6))(x).shape == (2, 3, 4, 6)
    with pytest.raises(ValueError, match="Resize size"):
        Resize(0)
    with pytest.raises(FileNotFoundError, match="no class sub-folders"):
        ImageFolder(tmp_path)
    (tmp_path / "a").mkdir()
    with pytest.raises(FileNotFoundError, match="no files with extensions"):
        ImageFolder(tmp_path)
