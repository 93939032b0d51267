"""nerve.data.images: every mode and bit depth scaled right, bombs refused in one line."""
import struct
import zlib

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

from nerve.data.images import ImageError, read_image  # noqa: E402

RNG = np.random.default_rng(0)
DIGIT = np.zeros((28, 28))
DIGIT[6:22, 12:16] = 1.0  # a bright bar on black
DIGIT[6:9, 9:16] = np.linspace(0.3, 1.0, 7)  # and some grey levels


def _read(path):
    x, notes = read_image(path, invert="never")
    assert x.shape == (28, 28) and x.dtype == np.float32
    return x, notes


def test_8_and_16_bit_grayscale_agree(tmp_path):
    Image.fromarray(np.round(DIGIT * 255).astype(np.uint8)).save(tmp_path / "8.png")
    Image.fromarray(np.round(DIGIT * 65535).astype(np.uint16)).save(tmp_path / "16.png")
    x8, _ = _read(tmp_path / "8.png")
    x16, notes = _read(tmp_path / "16.png")
    assert Image.open(tmp_path / "16.png").mode.startswith("I")
    assert notes == [] and len(np.unique(x16)) > 3  # not clipped to two grey levels
    np.testing.assert_allclose(x16, DIGIT, atol=1e-4)
    np.testing.assert_allclose(x8, DIGIT, atol=1 / 255)


@pytest.mark.parametrize("scale, note", [(1.0, None), (255.0, None), (-3.0, "scaled float pixels")])
def test_float_tiff_in_0_1_and_other_ranges(tmp_path, scale, note):
    Image.fromarray((DIGIT * scale).astype(np.float32), mode="F").save(tmp_path / "f.tiff")
    x, notes = _read(tmp_path / "f.tiff")
    want = DIGIT if scale > 0 else 1.0 - DIGIT  # min-max: the most negative value becomes 0
    np.testing.assert_allclose(x, want, atol=1e-6)
    assert (note is None and notes == []) or (note in notes[0])


def test_palette_one_bit_rgb_and_32_bit_int(tmp_path):
    grey = Image.fromarray(np.round(DIGIT * 255).astype(np.uint8))
    grey.convert("P").save(tmp_path / "p.png")
    grey.convert("1").save(tmp_path / "b.png")
    grey.convert("RGB").save(tmp_path / "rgb.png")
    Image.fromarray((DIGIT * 65535).astype(np.int32), mode="I").save(tmp_path / "i.tiff")
    np.testing.assert_allclose(_read(tmp_path / "p.png")[0], DIGIT, atol=1 / 255)
    np.testing.assert_allclose(_read(tmp_path / "rgb.png")[0], DIGIT, atol=1 / 255)
    np.testing.assert_allclose(_read(tmp_path / "i.tiff")[0], DIGIT, atol=1e-4)
    assert set(np.unique(_read(tmp_path / "b.png")[0])) <= {0.0, 1.0}


def test_rgba_lies_on_white_paper_then_auto_inverts(tmp_path):
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 3] = np.round(DIGIT * 255).astype(np.uint8)  # black ink, transparent elsewhere
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    x, notes = read_image(tmp_path / "a.png")
    np.testing.assert_allclose(x, DIGIT, atol=1 / 255)  # ink on white, inverted: light on dark
    assert "laid the transparent image on white" in notes and any("inverted" in n for n in notes)


def test_resize_happens_in_floating_point(tmp_path):
    Image.fromarray(np.round(np.kron(DIGIT, np.ones((4, 4))) * 65535).astype(np.uint16)).save(tmp_path / "big.png")
    x, notes = _read(tmp_path / "big.png")
    assert notes == ["resized 112x112 to 28x28"] and 0 <= x.min() and x.max() <= 1
    np.testing.assert_allclose(x, DIGIT, atol=0.3)


def _png_header_only(path, width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_decompression_bombs_and_junk_are_one_line_errors(tmp_path, monkeypatch):
    _png_header_only(tmp_path / "bomb.png", 20000, 20000)
    with pytest.raises(ImageError) as e:
        read_image(tmp_path / "bomb.png")
    assert "too large to decode safely" in str(e.value) and "\n" not in str(e.value)
    assert f"{Image.MAX_IMAGE_PIXELS:,}" in str(e.value)
    # between the limit and twice the limit Pillow only warns: refused as well
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 28 * 28 - 1)
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "small.png")
    with pytest.raises(ImageError, match="too large to decode safely"):
        read_image(tmp_path / "small.png")
    (tmp_path / "t.png").write_text("text")
    for path, message in [(tmp_path / "t.png", "is not an image Pillow can read"),
                          (tmp_path / "none.png", "no such file"), (tmp_path, "is a directory")]:
        with pytest.raises(ImageError, match=message):
            read_image(path)


def test_docstring_example_runs():
    import doctest

    from nerve.data import images
    result = doctest.testmod(images)
    assert result.failed == 0 and result.attempted > 0
