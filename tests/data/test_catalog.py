"""The dataset registry, the record of verified sources in the user cache, status and fetching."""
import json
import os
import shutil
from pathlib import Path

import pytest

from nerve.data.datasets import (MNIST, DatasetFileError, cache_dir, dataset_status, fetch_dataset,
                                 load_split, resolve_dataset)

DATA = Path(os.environ.get("NERVE_DATA_DIR", "/nonexistent"))
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.mark.parametrize("name, canonical", [("mnist", "mnist"), ("MNIST", "mnist"), (" Mnist ", "mnist"),
                                             ("fashion_mnist", "fashion-mnist"), ("FashionMNIST", "fashion-mnist"),
                                             ("Fashion-MNIST", "fashion-mnist"), ("digits", "digits")])
def test_dataset_names_are_case_insensitive_with_aliases(name, canonical):
    assert resolve_dataset(name) == canonical


@pytest.mark.parametrize("name", ["cifar10", "mnist2", "", None, 3, ["mnist"]])
def test_unknown_dataset_names_are_refused_with_the_choices(name):
    with pytest.raises(ValueError, match="mnist, fashion-mnist, digits"):
        resolve_dataset(name)


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """No NERVE_DATA_DIR, an empty user cache, no reachable mirror; the MNIST test files in a folder."""
    if not all((DATA / "mnist" / f).is_file() for f in TEST_FILES):
        pytest.skip("the MNIST files are not in NERVE_DATA_DIR")
    monkeypatch.delenv("NERVE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("NERVE_MNIST_MIRRORS", "http://127.0.0.1:9/")
    folder = tmp_path / "mine"
    folder.mkdir()
    for f in TEST_FILES:
        shutil.copy(DATA / "mnist" / f, folder / f)
    return folder


def test_a_verified_root_is_recorded_and_found_by_later_sessions(fresh):
    with pytest.raises(DatasetFileError, match="not found"):
        MNIST(train=False, download=False)
    assert MNIST(root=fresh, train=False, download=False).files[0] == fresh / TEST_FILES[0]
    record = json.loads((cache_dir() / "sources.json").read_text())
    assert record["datasets"]["mnist"] == {f: str((fresh / f).resolve()) for f in TEST_FILES}
    later = MNIST(train=False, download=False)  # no root, no environment variable
    assert later.files[0] == (fresh / TEST_FILES[0]).resolve() and int(later.targets[0]) == 7
    status = {s.name: s for s in dataset_status("mnist")}
    assert status[TEST_FILES[0]].status == "verified" and status[TEST_FILES[0]].where == "recorded"
    assert status["train-images-idx3-ubyte.gz"].status == "missing"


def test_a_recorded_file_that_changed_is_never_used(fresh):
    MNIST(root=fresh, train=False, download=False)
    labels = fresh / TEST_FILES[1]
    data = bytearray(labels.read_bytes())
    data[-1] ^= 1
    labels.write_bytes(bytes(data))
    with pytest.raises(DatasetFileError) as info:
        MNIST(train=False)
    assert "not found" in str(info.value) and labels.resolve() in info.value.searched
    assert "nerve data fetch mnist" in info.value.one_line() and "\n" not in info.value.one_line()
    assert {s.name: s.status for s in dataset_status("mnist")}[TEST_FILES[1]] == "corrupt"


def test_fetch_from_a_folder_verifies_records_and_load_split_reports_the_folder(fresh):
    with pytest.raises(DatasetFileError, match="train-images-idx3-ubyte.gz not found"):
        fetch_dataset("MNIST", root=fresh)  # the folder holds the test split only
    x, y, classes, folder = load_split("mnist", False)  # but the test files were recorded
    assert x.shape == (10000, 1, 28, 28) and int(y[0]) == 7 and classes[7] == "7 - seven"
    assert folder == str(fresh.resolve())
    x, y, classes, folder = load_split("Digits", False)
    assert folder is None and x.shape[1:] == (1, 28, 28)
    assert fetch_dataset("digits") == []
