"""nerve.vision.datasets: torchvision's item contract, CIFAR archives over a local HTTP mirror with
checksums, the restricted unpickler, FakeData and ImageFolder."""
import dataclasses
import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nerve as nv
from nerve.data import DataLoader
from nerve.data.datasets import DatasetFileError
from nerve.data.datasets.download import RemoteFile
from nerve.vision import datasets, transforms

from data.test_mnist import _Mirror  # noqa: E402  (the MNIST download tests' local HTTP server)

DATA = Path(os.environ.get("NERVE_DATA_DIR", "/nonexistent"))
needs_mnist = pytest.mark.skipif(not (DATA / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file(),
                                 reason="the MNIST files are not in NERVE_DATA_DIR")


@needs_mnist
def test_mnist_items_follow_torchvisions_contract():
    ds = datasets.MNIST(train=False)
    img, label = ds[0]
    assert isinstance(img, Image.Image) and img.mode == "L" and img.size == (28, 28) and label == 7
    assert type(label) is int and len(ds) == 10000 and ds.data.shape == (10000, 28, 28)
    assert str(ds.data.dtype) == "uint8" and ds.targets[:3].tolist() == [7, 2, 1]
    t = datasets.MNIST(train=False, transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]), target_transform=lambda y: y + 10)
    x, y = t[-1]
    assert x.shape == (1, 28, 28) and y == int(ds.targets[-1].item()) + 10
    ref = (np.asarray(ds[-1][0], np.float32) / 255 - 0.1307) / 0.3081
    assert np.allclose(x.numpy()[0], ref, atol=1e-6)
    xb, yb = next(iter(DataLoader(datasets.MNIST(train=False, transform=transforms.ToTensor()), batch_size=4)))
    assert xb.shape == (4, 1, 28, 28) and yb.tolist() == [7, 2, 1, 0]
    assert datasets.FashionMNIST(train=False).classes[ds.targets[0].item()] == "Sneaker"
    with pytest.raises(IndexError):
        ds[10000]
    assert "Number of datapoints: 10000" in repr(ds)


# ----------------------------------------------------------------------------- CIFAR

def _batch(n, rng, label_key, classes):
    return {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            label_key.encode(): [int(v) for v in rng.integers(0, classes, n)], b"batch_label": b"x"}


def _archive(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, obj in members.items():
            raw = obj if isinstance(obj, bytes) else pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buf.getvalue()


def _cifar10_archive(seed=0, test_batch=None):
    rng = np.random.default_rng(seed)
    members = {f"cifar-10-batches-py/data_batch_{i}": _batch(3, rng, "labels", 10) for i in range(1, 6)}
    members["cifar-10-batches-py/test_batch"] = test_batch if test_batch is not None else _batch(4, rng, "labels", 10)
    members["cifar-10-batches-py/batches.meta"] = {b"label_names": [f"c{i}".encode() for i in range(10)]}
    return _archive(members), members


@pytest.fixture
def cifar_env(tmp_path, monkeypatch):
    """An empty user cache, no NERVE_DATA_DIR; returns a function serving an archive as the official one."""
    monkeypatch.delenv("NERVE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    mirrors = []

    def serve(cls, body, env):
        name = cls.archive
        sha = hashlib.sha256(body).hexdigest()
        files = {name: RemoteFile(name, sha, len(body))}
        monkeypatch.setattr(cls, "source", dataclasses.replace(cls.source, files=files))
        m = _Mirror({name: body})
        mirrors.append(m)
        monkeypatch.setenv(env, m.url)
        return m

    yield serve
    for m in mirrors:
        m.close()


def test_cifar10_download_parse_and_items(cifar_env, tmp_path):
    body, members = _cifar10_archive()
    mirror = cifar_env(datasets.CIFAR10, body, "NERVE_CIFAR10_MIRRORS")
    with pytest.raises(DatasetFileError, match="not found"):
        datasets.CIFAR10(train=False, download=False)
    test = datasets.CIFAR10(train=False, download=True)
    assert mirror.requests == ["cifar-10-python.tar.gz"]
    raw = members["cifar-10-batches-py/test_batch"]
    assert test.data.shape == (4, 32, 32, 3) and test.data.dtype == np.uint8
    # a row is the red plane, then green, then blue, each row-major 32x32
    assert test.data[1, 2, 5, 0] == raw[b"data"][1, 2 * 32 + 5]
    assert test.data[1, 2, 5, 2] == raw[b"data"][1, 2048 + 2 * 32 + 5]
    assert test.targets == raw[b"labels"] and test.classes[3] == "c3" and test.class_to_idx["c9"] == 9
    img, y = test[1]
    assert isinstance(img, Image.Image) and img.mode == "RGB" and np.array_equal(np.asarray(img), test.data[1])
    train = datasets.CIFAR10(train=True, transform=transforms.ToTensor())   # from the verified cache now
    assert len(train) == 15 and mirror.requests == ["cifar-10-python.tar.gz"]
    assert train[0][0].shape == (3, 32, 32)


def test_cifar_corrupt_archive_is_refused(cifar_env, monkeypatch):
    body, _ = _cifar10_archive()
    cifar_env(datasets.CIFAR10, body, "NERVE_CIFAR10_MIRRORS")
    m = _Mirror({"cifar-10-python.tar.gz": body[:-10] + b"0123456789"})
    monkeypatch.setenv("NERVE_CIFAR10_MIRRORS", m.url)
    try:
        with pytest.raises(DatasetFileError, match="SHA-256"):
            datasets.CIFAR10(train=False, download=True)
    finally:
        m.close()


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_cifar_archive_with_code_in_a_pickle_is_refused(cifar_env):
    evil = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0], b"x": _Evil()}
    body, _ = _cifar10_archive(test_batch=evil)
    cifar_env(datasets.CIFAR10, body, "NERVE_CIFAR10_MIRRORS")       # the checksum matches: only parsing stops it
    with pytest.raises(DatasetFileError, match="refusing to load (posix|os).system"):
        datasets.CIFAR10(train=False, download=True)


def test_cifar100_fine_labels(cifar_env):
    rng = np.random.default_rng(3)
    members = {"cifar-100-python/train": _batch(5, rng, "fine_labels", 100),
               "cifar-100-python/test": _batch(2, rng, "fine_labels", 100),
               "cifar-100-python/meta": {b"fine_label_names": [f"f{i}".encode() for i in range(100)]}}
    cifar_env(datasets.CIFAR100, _archive(members), "NERVE_CIFAR100_MIRRORS")
    ds = datasets.CIFAR100(train=True, download=True)
    assert len(ds) == 5 and ds.targets == members["cifar-100-python/train"][b"fine_labels"]
    assert len(ds.classes) == 100 and ds[4][1] == ds.targets[4]


def test_restricted_unpickler():
    for protocol in (0, 2, 4):
        obj = {"a": [1, 2.5, "s", b"b", None, True], "arr": np.arange(6, dtype=np.int32).reshape(2, 3),
               "f": np.asfortranarray(np.arange(6.0).reshape(2, 3))}
        back = datasets.restricted_loads(pickle.dumps(obj, protocol=protocol))
        assert back["a"] == obj["a"] and np.array_equal(back["arr"], obj["arr"]) and back["arr"].dtype == np.int32
        assert np.array_equal(back["f"], obj["f"])
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        datasets.restricted_loads(pickle.dumps(_Evil(), protocol=2))
    with pytest.raises(pickle.UnpicklingError):
        datasets.restricted_loads(pickle.dumps(np.array([object()], dtype=object), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        datasets.restricted_loads(pickle.dumps({1, 2}, protocol=2))       # a set is no plain container here


# ----------------------------------------------------------------------------- FakeData and ImageFolder

def test_fake_data_is_deterministic_per_index():
    ds = datasets.FakeData(size=6, image_size=(3, 10, 12), num_classes=4, transform=transforms.ToTensor())
    x, y = ds[2]
    state = nv.random.get_rng_state()
    x2, y2 = ds[2]
    assert nv.random.get_rng_state() == state                # the global generator is left alone
    assert x.shape == (3, 10, 12) and np.array_equal(x.numpy(), x2.numpy()) and y == y2
    assert not np.array_equal(ds[3][0].numpy(), x.numpy())
    shifted = datasets.FakeData(size=6, image_size=(3, 10, 12), num_classes=4, transform=transforms.ToTensor(),
                                random_offset=1)
    assert np.array_equal(shifted[1][0].numpy(), ds[2][0].numpy())   # index + offset seeds the sample
    assert all(0 <= ds[i][1] < 4 for i in range(6))
    assert datasets.FakeData(2, (1, 4, 4))[0][0].mode == "L"
    with pytest.raises(IndexError):
        ds[6]
    with pytest.raises(ValueError):
        datasets.FakeData(2, (5, 4, 4))


def test_image_folder_gives_pil_images(tmp_path):
    for c, n in (("dog", 2), ("cat", 1)):
        (tmp_path / c).mkdir()
        for i in range(n):
            Image.fromarray(np.full((4, 6, 3), 10 * i, np.uint8)).save(tmp_path / c / f"{i}.png")
    (tmp_path / "dog" / "notes.txt").write_text("x")
    ds = datasets.ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and len(ds) == 3 and ds.imgs == ds.samples
    img, y = ds[2]
    assert isinstance(img, Image.Image) and img.size == (6, 4) and y == 1
    only0 = datasets.ImageFolder(tmp_path, is_valid_file=lambda p: p.endswith("0.png"),
                                 transform=transforms.ToTensor(), target_transform=str)
    assert len(only0) == 2 and only0[1][0].shape == (3, 4, 6) and only0[1][1] == "1"
