"""The MNIST / Fashion-MNIST readers on the real files, and the download path against a local server."""
import hashlib
import json
import http.server
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from nerve.data import DataLoader, Flatten, Lambda, Normalize, OneHot, Scale01, Compose
from nerve.data.datasets import MNIST, DatasetFileError, FashionMNIST, cache_dir

DATA = Path(os.environ.get("NERVE_DATA_DIR", "/nonexistent"))
needs_files = pytest.mark.skipif(not (DATA / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file(),
                                 reason="the MNIST files are not in NERVE_DATA_DIR")
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
MNIST_COUNTS = {True: [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
                False: [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]}


# ----------------------------------------------------------------------------- real files

@needs_files
@pytest.mark.parametrize("train", [True, False])
def test_mnist_real_files(train):
    t0 = time.perf_counter()
    ds = MNIST(train=train, download=False)
    seconds = time.perf_counter() - t0
    n = 60000 if train else 10000
    assert len(ds) == n and ds.data.shape == (n, 1, 28, 28) and ds.data.dtype == np.float32
    assert ds.targets.shape == (n,) and ds.targets.dtype == np.int64
    assert ds.targets.min() == 0 and ds.targets.max() == 9
    assert np.bincount(ds.targets).tolist() == MNIST_COUNTS[train]
    assert ds.data.min() == 0.0 and ds.data.max() == 1.0
    assert int(ds.targets[0]) == (5 if train else 7)
    x, y = ds[0]
    assert x.shape == (1, 28, 28) and isinstance(y, int)
    assert seconds < 10, f"loading MNIST took {seconds:.2f} s"  # about 0.5 s unloaded; generous on CI


@needs_files
def test_mnist_uint8_and_load_time_transforms():
    raw = MNIST(train=False, dtype="uint8", download=False)
    assert raw.data.dtype == np.uint8 and raw.data.max() == 255 and raw.data.flags.writeable
    scaled = MNIST(train=False, download=False)
    assert np.array_equal(scaled.data, raw.data.astype(np.float32) / np.float32(255))
    t = Compose([Scale01(), Normalize(0.1307, 0.3081), Flatten()])
    ds = MNIST(train=False, dtype="uint8", transform=t, target_transform=OneHot(10), download=False)
    assert ds.transform is None and ds.target_transform is None  # applied once, at load
    assert ds.data.shape == (10000, 784) and ds.targets.shape == (10000, 10)
    np.testing.assert_allclose(ds.data[0], ((scaled.data[0] - 0.1307) / 0.3081).ravel(), rtol=1e-6)
    with pytest.raises(ValueError, match="dtype must be"):
        MNIST(train=False, dtype="float64", download=False)


@needs_files
def test_mnist_random_transform_runs_per_batch_and_paths_agree():
    calls = []
    noisy = Lambda(lambda a: calls.append(a.shape) or a + 1.0)  # not declared deterministic
    ds = MNIST(train=False, transform=Compose([Flatten(), noisy]), download=False)
    assert ds.data.shape == (10000, 784) and ds.transform is noisy  # the prefix ran at load
    xb, yb = next(iter(DataLoader(ds, batch_size=32)))
    assert calls == [(32, 784)] and xb.shape == (32, 784) and float(xb.data.min()) >= 1.0
    x0, _ = ds[0]
    assert x0.shape == (784,) and np.array_equal(x0, xb.data[0])


@needs_files
def test_mnist_loader_epoch_batch_path_equals_generic():
    ds = MNIST(train=False, download=False)
    fast = DataLoader(ds, batch_size=256, shuffle=True, seed=0)
    assert fast.uses_batch_path and len(fast) == 40
    labels = np.concatenate([yb.data for _, yb in fast])
    assert np.array_equal(np.sort(labels), np.sort(ds.targets))
    slow = DataLoader(ds, batch_size=256, shuffle=True, seed=0, collate_fn=lambda b: __import__(
        "nerve").data.default_collate(b))
    assert not slow.uses_batch_path
    fast = DataLoader(ds, batch_size=256, shuffle=True, seed=0)  # same state as slow
    for k, ((xf, yf), (xs, ys)) in enumerate(zip(fast, slow)):
        assert np.array_equal(xf.data, xs.data) and np.array_equal(yf.data, ys.data)
        if k == 3:
            break


@needs_files
@pytest.mark.parametrize("train", [True, False])
def test_fashion_mnist_real_files(train):
    ds = FashionMNIST(train=train, download=False)
    n = 60000 if train else 10000
    assert ds.data.shape == (n, 1, 28, 28) and ds.data.dtype == np.float32 and ds.targets.dtype == np.int64
    assert np.bincount(ds.targets).tolist() == [n // 10] * 10
    assert 0.0 == ds.data.min() and ds.data.max() == 1.0
    assert len(ds.classes) == 10 and ds.classes[9] == "Ankle boot"
    assert ds.classes[int(ds.targets[0])] == "Ankle boot"  # the first image of both splits


@needs_files
def test_files_directly_in_root_and_wrong_dataset_hint(tmp_path, monkeypatch):
    monkeypatch.delenv("NERVE_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for f in TEST_FILES:
        shutil.copy(DATA / "mnist" / f, tmp_path / f)
    assert MNIST(root=tmp_path, train=False, download=False).targets[0] == 7
    with pytest.raises(DatasetFileError, match="it is MNIST's t10k-images-idx3-ubyte.gz, not Fashion-MNIST's"):
        FashionMNIST(root=tmp_path, train=False, download=False)


# ----------------------------------------------------------------------------- download path

class _Mirror:
    """An HTTP server on 127.0.0.1 serving given bytes per file name, optionally misbehaving."""

    def __init__(self, files, declared=None):
        self.files, self.declared, self.requests = dict(files), dict(declared or {}), []
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                name = self.path.rsplit("/", 1)[-1]
                mirror.requests.append(name)
                body = mirror.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(mirror.declared.get(name, len(body))))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mnist/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _closed_port_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connections are refused at once
    return f"http://127.0.0.1:{port}/mnist/"


@pytest.fixture
def official():
    if not all((DATA / "mnist" / f).is_file() for f in TEST_FILES):
        pytest.skip("the MNIST files are not in NERVE_DATA_DIR")
    return {f: (DATA / "mnist" / f).read_bytes() for f in TEST_FILES}


@pytest.fixture
def empty_env(tmp_path, monkeypatch):
    """No NERVE_DATA_DIR, an empty user cache; returns the cache's mnist folder."""
    monkeypatch.delenv("NERVE_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "nerve"
    return tmp_path / "xdg" / "nerve" / "mnist"


@pytest.fixture
def mirror_factory(monkeypatch):
    servers = []

    def make(files, declared=None, extra_front=()):
        m = _Mirror(files, declared)
        servers.append(m)
        monkeypatch.setenv("NERVE_MNIST_MIRRORS", ",".join([*extra_front, m.url]))
        return m

    yield make
    for m in servers:
        m.close()


def _cache_files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_verifies_and_caches(official, empty_env, mirror_factory, capsys):
    m = mirror_factory(official, extra_front=[_closed_port_url()])  # first mirror is down
    ds = MNIST(train=False)
    assert "downloading" in capsys.readouterr().err
    assert ds.data.shape == (10000, 1, 28, 28) and int(ds.targets[0]) == 7
    for f in TEST_FILES:
        assert hashlib.sha256((empty_env / f).read_bytes()).hexdigest() == hashlib.sha256(official[f]).hexdigest()
    assert not [n for n in _cache_files(empty_env) if n.startswith(".")]  # no temp files left
    assert set(_cache_files(empty_env)) >= set(TEST_FILES)
    # a second load is served from the cache (and its decoded .npy), with no request
    m.requests.clear()
    again = MNIST(train=False)
    assert m.requests == [] and np.array_equal(again.data, ds.data)
    assert "t10k-images-idx3-ubyte.npy" in _cache_files(empty_env)


@pytest.mark.parametrize("damage", ["bitflip", "truncated", "short_body"])
def test_corrupt_download_is_caught_and_leaves_nothing(official, empty_env, mirror_factory, damage):
    name = "t10k-labels-idx1-ubyte.gz"
    body = bytearray(official[name])
    declared = None
    if damage == "bitflip":
        body[len(body) // 2] ^= 0x10
    elif damage == "truncated":
        body = body[: len(body) - 100]  # a complete but shorter response
    else:
        declared = {name: len(body)}  # promises the full size, then hangs up early
        body = body[: len(body) // 2]
    files = dict(official)
    files[name] = bytes(body)
    mirror_factory(files, declared)
    with pytest.raises(DatasetFileError) as e:
        MNIST(train=False)
    msg = str(e.value)
    assert name in msg and "127.0.0.1" in msg
    if damage != "short_body":
        assert "corrupt or truncated" in msg and hashlib.sha256(official[name]).hexdigest() in msg
        assert hashlib.sha256(bytes(body)).hexdigest() in msg
    assert name not in _cache_files(empty_env)
    assert not [n for n in _cache_files(empty_env) if n.startswith(".")]


def test_unreachable_mirror_gives_helpful_error(empty_env, monkeypatch):
    url = _closed_port_url()
    monkeypatch.setenv("NERVE_MNIST_MIRRORS", url)
    t0 = time.perf_counter()
    with pytest.raises(DatasetFileError) as e:
        MNIST(train=False)
    assert time.perf_counter() - t0 < 10
    msg = str(e.value)
    assert "t10k-images-idx3-ubyte.gz not found" in msg
    assert str(empty_env / "t10k-images-idx3-ubyte.gz") in msg  # where it looked
    assert url + "t10k-images-idx3-ubyte.gz" in msg  # what it tried
    assert "NERVE_DATA_DIR" in msg and "NERVE_MNIST_MIRRORS" in msg
    assert "440fcabf" not in msg  # the test split's hash, not the train split's
    with pytest.raises(DatasetFileError, match="download=False"):
        MNIST(train=False, download=False)
    assert _cache_files(empty_env) == []


def test_corrupt_file_in_explicit_root_or_data_dir_is_an_error(official, empty_env, tmp_path, monkeypatch,
                                                                 mirror_factory):
    m = mirror_factory(official)
    root = tmp_path / "myroot"
    (root / "mnist").mkdir(parents=True)
    for f, b in official.items():
        (root / "mnist" / f).write_bytes(b)
    bad = root / "mnist" / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(official["t10k-images-idx3-ubyte.gz"][:-10])
    with pytest.raises(DatasetFileError) as e:
        MNIST(root=root, train=False)
    msg = str(e.value)
    assert str(bad) in msg and "directory you chose" in msg and "root=" in msg
    assert hashlib.sha256(official["t10k-images-idx3-ubyte.gz"]).hexdigest() in msg
    assert m.requests == [] and bad.stat().st_size == len(official["t10k-images-idx3-ubyte.gz"]) - 10
    monkeypatch.setenv("NERVE_DATA_DIR", str(root))
    with pytest.raises(DatasetFileError, match="NERVE_DATA_DIR="):
        MNIST(train=False)


def test_corrupt_cached_file_is_downloaded_again(official, empty_env, mirror_factory):
    m = mirror_factory(official)
    empty_env.mkdir(parents=True)
    name = "t10k-labels-idx1-ubyte.gz"
    (empty_env / "t10k-images-idx3-ubyte.gz").write_bytes(official["t10k-images-idx3-ubyte.gz"])
    (empty_env / name).write_bytes(b"garbage")
    with pytest.raises(DatasetFileError, match="corrupt cached file.*download=True"):
        MNIST(train=False, download=False)
    ds = MNIST(train=False)
    assert m.requests == [name] and int(ds.targets[0]) == 7
    assert (empty_env / name).read_bytes() == official[name]


def test_explicit_root_wins_over_data_dir(official, empty_env, tmp_path, monkeypatch):
    root = tmp_path / "r"
    (root / "MNIST" / "raw").mkdir(parents=True)  # torchvision's layout is accepted too
    for f, b in official.items():
        (root / "MNIST" / "raw" / f).write_bytes(b)
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path / "empty"))
    ds = MNIST(root=root, train=False, download=False)
    assert ds.files[0] == root / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    assert _cache_files(empty_env) == []  # a read-only root never gets a .npy


def test_rich_progress_bar_on_a_terminal(official, empty_env, mirror_factory, monkeypatch):
    progress = pytest.importorskip("rich.progress")
    from nerve.data.datasets.download import fetch

    started = []
    original_start = progress.Progress.start
    monkeypatch.setattr(progress.Progress, "start", lambda self: started.append(self) or original_start(self))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    mirror = mirror_factory(official)
    name = "t10k-labels-idx1-ubyte.gz"
    path = fetch(mirror.url + name, empty_env / name, hashlib.sha256(official[name]).hexdigest())
    assert path.read_bytes() == official[name] and len(started) == 1


def test_fashion_mnist_downloads_from_its_own_mirror_variable(empty_env, monkeypatch):
    src = DATA / "fashion-mnist"
    if not all((src / f).is_file() for f in TEST_FILES):
        pytest.skip("the Fashion-MNIST files are not in NERVE_DATA_DIR")
    m = _Mirror({f: (src / f).read_bytes() for f in TEST_FILES})
    try:
        monkeypatch.setenv("NERVE_MNIST_MIRRORS", _closed_port_url())  # must not be used
        monkeypatch.setenv("NERVE_FASHION_MNIST_MIRRORS", m.url)
        ds = FashionMNIST(train=False)
    finally:
        m.close()
    assert sorted(m.requests) == sorted(TEST_FILES) and ds.classes[int(ds.targets[0])] == "Ankle boot"
    assert (empty_env.parent / "fashion-mnist" / "t10k-images-idx3-ubyte.gz").is_file()


def test_decoded_npy_cache_is_verified_on_every_load(official, empty_env):
    empty_env.mkdir(parents=True)
    for f, b in official.items():
        (empty_env / f).write_bytes(b)
    first = MNIST(train=False, download=False)
    npy = empty_env / "t10k-labels-idx1-ubyte.npy"
    meta = json.loads((empty_env / "t10k-labels-idx1-ubyte.npy.json").read_text())
    assert meta["source_sha256"] == hashlib.sha256(official["t10k-labels-idx1-ubyte.gz"]).hexdigest()
    assert meta["sha256"] == hashlib.sha256(npy.read_bytes()).hexdigest()
    # one flipped byte in a cached label: never used, decoded again from the verified .gz
    data = bytearray(npy.read_bytes())
    data[-1] ^= 0x01
    npy.write_bytes(bytes(data))
    again = MNIST(train=False, download=False)
    assert np.array_equal(again.targets, first.targets)
    assert hashlib.sha256(npy.read_bytes()).hexdigest() == meta["sha256"]  # and rewritten
    # a valid .npy of other content whose sidecar vouches for it, but for another source file
    np.save(npy, np.zeros(10000, np.uint8))
    forged = dict(meta, sha256=hashlib.sha256(npy.read_bytes()).hexdigest(), source_sha256="0" * 64)
    (empty_env / "t10k-labels-idx1-ubyte.npy.json").write_text(json.dumps(forged))
    assert np.array_equal(MNIST(train=False, download=False).targets, first.targets)
    (empty_env / "t10k-labels-idx1-ubyte.npy.json").unlink()  # no sidecar: not trusted either
    np.save(npy, np.zeros(10000, np.uint8))
    assert np.array_equal(MNIST(train=False, download=False).targets, first.targets)


class _Trick:
    """A server that redirects (``/go/<name>`` -> ``target + name``) or streams ``body`` with no length."""

    def __init__(self, target=None, body=b""):
        trick = self
        self.sent = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # no Content-Length: the body ends when the connection does

            def do_GET(self):  # noqa: N802
                name = self.path.rsplit("/", 1)[-1]
                if self.path.startswith("/go/"):
                    self.send_response(302)
                    self.send_header("Location", trick.target + name)
                    self.end_headers()
                    return
                self.send_response(200)
                self.end_headers()
                try:
                    for i in range(0, len(body), 1 << 16):
                        self.wfile.write(body[i:i + (1 << 16)])
                        trick.sent += min(1 << 16, len(body) - i)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.target = target
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_redirects_to_another_host_are_refused_within_the_host_followed(official, empty_env, mirror_factory,
                                                                        monkeypatch):
    m = mirror_factory(official)  # serves at http://127.0.0.1:<port>/mnist/
    port = m.url.split(":")[2].split("/")[0]
    away = _Trick(target=f"http://localhost:{port}/mnist/")  # same machine, another host name
    try:
        monkeypatch.setenv("NERVE_MNIST_MIRRORS", f"http://127.0.0.1:{away.port}/go/")
        with pytest.raises(DatasetFileError) as e:
            MNIST(train=False)
        assert "redirected to http://localhost:" in str(e.value) and "another host" in str(e.value)
        assert m.requests == [] and _cache_files(empty_env) == []
    finally:
        away.close()
    home = _Trick(target=m.url)  # a redirect within 127.0.0.1 is followed
    try:
        home.target = m.url
        monkeypatch.setenv("NERVE_MNIST_MIRRORS", f"http://127.0.0.1:{home.port}/go/")
        ds = MNIST(train=False)
    finally:
        home.close()
    assert int(ds.targets[0]) == 7 and sorted(m.requests) == sorted(TEST_FILES)


def test_an_oversized_response_is_cut_off_not_read_to_the_end(official, empty_env, mirror_factory, monkeypatch):
    from nerve.data.datasets.download import SIZE_MARGIN, fetch
    name = "t10k-labels-idx1-ubyte.gz"
    size = len(official[name])
    # announced too large: refused before reading anything
    mirror_factory(official, declared={name: 40_000_000})
    with pytest.raises(DatasetFileError, match="announces 40,000,000 bytes, but the file has 4,542"):
        MNIST(train=False)
    # no length announced, 8 MB sent: reading stops just past the expected size
    big = _Trick(body=official[name] + b"\0" * 8_000_000)
    try:
        with pytest.raises(DatasetFileError, match="sent more than .* stopped reading"):
            fetch(f"http://127.0.0.1:{big.port}/{name}", empty_env / name,
                  hashlib.sha256(official[name]).hexdigest(), size=size)
        time.sleep(0.2)
        assert big.sent < 4_000_000  # the server could not push the rest: nobody was reading
    finally:
        big.close()
    assert not (empty_env / name).exists() and size + SIZE_MARGIN < 100_000


# SHA-256 of the decompressed IDX files (header + bytes in file order), from the datasets' README:
# the decoded arrays, written back in IDX layout, must hash to exactly these. A reader that
# transposed, flipped or re-ordered anything would not.
DECOMPRESSED_SHA256 = {
    ("MNIST", True): ("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                      "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    ("MNIST", False): ("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                       "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ("FashionMNIST", True): ("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                             "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    ("FashionMNIST", False): ("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                              "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}


@pytest.mark.parametrize("cls, train", [(MNIST, True), (MNIST, False), (FashionMNIST, True), (FashionMNIST, False)])
def test_decoded_pixels_and_labels_hash_to_the_official_decompressed_files(cls, train):
    import struct
    folder = DATA / cls.source.folder
    if not (folder / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"the {cls.source.name} files are not in NERVE_DATA_DIR")
    ds = cls(train=train, dtype="uint8", download=False)
    n = len(ds)
    images = ds.data.reshape(n, 28, 28)  # (N, 1, 28, 28) -> rows of 28 pixels, row-major as in the file
    want_images, want_labels = DECOMPRESSED_SHA256[(cls.__name__, train)]
    assert hashlib.sha256(struct.pack(">IIII", 0x803, n, 28, 28) + images.tobytes()).hexdigest() == want_images
    assert hashlib.sha256(struct.pack(">II", 0x801, n) + ds.targets.astype(np.uint8).tobytes()).hexdigest() \
        == want_labels
    if cls is MNIST and not train:  # and a few pixels by hand: the first test digit, a 7, row 7
        assert images[0, 7, 6:14].tolist() == [84, 185, 159, 151, 60, 36, 0, 0]
