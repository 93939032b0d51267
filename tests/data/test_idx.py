"""The strict IDX parser: exact round trips and an error for every kind of damage."""
import gzip

import numpy as np
import pytest

from nerve.data.datasets.idx import IDXFormatError, idx_bytes, read_idx, write_idx


@pytest.mark.parametrize("dtype,code", [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C),
                                        (np.float32, 0x0D), (np.float64, 0x0E)])
def test_roundtrip_exact(tmp_path, dtype, code):
    a = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    raw = idx_bytes(a)
    assert raw[:4] == bytes([0, 0, code, 3])
    assert raw[4:16] == b"\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04"  # big-endian dims
    for p in (tmp_path / "a.idx", tmp_path / "a.idx.gz"):
        write_idx(p, a)
        b = read_idx(p)
        assert b.dtype == np.dtype(dtype) and b.shape == a.shape and np.array_equal(a, b)


def test_generated_mnist_style_header():
    labels = np.array([5, 0, 4], np.uint8)
    raw = idx_bytes(labels)
    assert raw == b"\x00\x00\x08\x01\x00\x00\x00\x03\x05\x00\x04"  # magic 0x00000801, count 3
    imgs = np.zeros((2, 28, 28), np.uint8)
    assert idx_bytes(imgs)[:4].hex() == "00000803"
    assert read_idx(idx_bytes(imgs), expect_shape=(None, 28, 28), expect_dtype=np.uint8).shape == (2, 28, 28)


@pytest.mark.parametrize("raw,match", [
    (b"\x00\x00\x08", "too short"),
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x00", "bad magic"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x01", "truncated header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05\x00", "payload truncated"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x01\x05\x00", "trailing bytes"),
])
def test_malformed_files_name_the_file_and_problem(tmp_path, raw, match):
    p = tmp_path / "bad-idx1-ubyte"
    p.write_bytes(raw)
    with pytest.raises(IDXFormatError, match=match) as e:
        read_idx(p)
    assert str(p) in str(e.value)


def test_broken_gzip_and_expectations(tmp_path):
    good = gzip.compress(idx_bytes(np.zeros((4, 28, 28), np.uint8)))
    p = tmp_path / "t.gz"
    p.write_bytes(good[: len(good) // 2])
    with pytest.raises(IDXFormatError, match=f"{p}.*truncated"):
        read_idx(p)
    p.write_bytes(good[:10] + b"\xff" * 20 + good[30:])
    with pytest.raises(IDXFormatError, match="not a valid gzip"):
        read_idx(p)
    p.write_bytes(good)
    with pytest.raises(IDXFormatError, match=r"dimensions \(4, 28, 28\), expected \('any', 27, 28\)"):
        read_idx(p, expect_shape=(None, 27, 28))
    with pytest.raises(IDXFormatError, match="holds uint8 values.*expected int32"):
        read_idx(p, expect_dtype=np.int32)


def test_writer_rejects_unsupported():
    with pytest.raises(TypeError, match="IDX cannot store dtype int64"):
        idx_bytes(np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        idx_bytes(np.float32(1))
