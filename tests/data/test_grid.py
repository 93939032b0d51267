"""make_grid / save_image: torchvision's layout, scaling and rounding, written atomically."""
import numpy as np
import pytest

import nerve as nv
from nerve.data import make_grid, save_image


def _layout_by_hand(x, nrow, padding, pad_value):
    """The tile placement written out pixel by pixel (the check the vectorised copy must match)."""
    B, C, H, W = x.shape
    cols = min(nrow, B)
    rows = -(-B // cols)
    out = np.full((C, rows * (H + padding) + padding, cols * (W + padding) + padding), pad_value)
    for k in range(B):
        r, c = k // cols, k % cols
        for ch in range(C):
            for i in range(H):
                for j in range(W):
                    out[ch, padding + r * (H + padding) + i, padding + c * (W + padding) + j] = x[k, ch, i, j]
    return out


@pytest.mark.parametrize("B,nrow,padding", [(5, 3, 1), (8, 8, 2), (7, 2, 0), (3, 8, 3)])
def test_layout_matches_a_pixel_by_pixel_placement(B, nrow, padding):
    x = np.random.default_rng(B).random((B, 3, 4, 5)).astype(np.float32)
    got = make_grid(x, nrow=nrow, padding=padding, pad_value=0.25)
    np.testing.assert_array_equal(got, _layout_by_hand(x, nrow, padding, 0.25))


def test_one_channel_becomes_three_and_single_image_is_returned_alone():
    x = np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4)
    g = make_grid(x)
    assert g.shape == (3, 3, 4)
    for ch in range(3):
        np.testing.assert_array_equal(g[ch], x[0, 0])
    assert make_grid(np.zeros((3, 4))).shape == (3, 3, 4)     # (H, W)
    assert make_grid(np.zeros((2, 2, 3, 4))).shape == (2, 3 + 2 * 2, 2 * 4 + 3 * 2)


def test_normalize_range_and_scale_each():
    x = np.stack([np.full((1, 2, 2), 2.0), np.full((1, 2, 2), 4.0)])
    x[0, 0, 0, 0] = 0.0
    x[1, 0, 0, 0] = 3.0
    g = make_grid(x, padding=0, normalize=True)               # batch min 0, max 4
    np.testing.assert_allclose(g[0, :, :2], [[0, 0.5], [0.5, 0.5]])
    np.testing.assert_allclose(g[0, :, 2:], [[0.75, 1], [1, 1]])
    each = make_grid(x, padding=0, normalize=True, scale_each=True)
    np.testing.assert_allclose(each[0, :, 2:], [[0, 1], [1, 1]])
    clipped = make_grid(x, padding=0, normalize=True, value_range=(1.0, 3.0))
    np.testing.assert_allclose(clipped[0, :, :2], [[0, 0.5], [0.5, 0.5]])


def test_tensor_in_tensor_out_without_history():
    x = nv.tensor(np.ones((4, 1, 2, 2), np.float32), requires_grad=True)
    g = make_grid(x * 2, nrow=2, padding=1)
    assert isinstance(g, nv.Tensor) and not g.requires_grad
    assert g.shape == (3, 7, 7)
    lst = make_grid([x[0], x[1]], padding=0)
    assert isinstance(lst, nv.Tensor) and lst.shape == (3, 2, 4)


@pytest.mark.parametrize("bad,match", [
    (np.zeros((1, 1, 1, 2, 2)), "shape"), ([], "empty"), ("img", "takes a Tensor"),
    ([np.zeros((1, 2, 2)), np.zeros((1, 3, 3))], "one shape"),
])
def test_bad_input_is_named(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_grid(bad)
    with pytest.raises(ValueError, match="nrow"):
        make_grid(np.zeros((2, 1, 2, 2)), nrow=0)


def test_save_image_rounds_like_torchvision_and_reads_back(tmp_path):
    from PIL import Image

    x = np.array([0.0, 0.1, 0.5, 0.998, 1.0, 1.7, -0.2, 0.002], np.float32).reshape(1, 1, 2, 4)
    p = save_image(x, tmp_path / "g.png")
    back = np.asarray(Image.open(p))
    assert back.shape == (2, 4, 3)
    expect = np.clip(x[0, 0] * 255 + 0.5, 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(back[:, :, 0], expect)
    assert list(expect.ravel()) == [0, 26, 128, 254, 255, 255, 0, 1]
    assert [q.name for q in tmp_path.iterdir()] == ["g.png"]     # no temporary file left
    with pytest.raises(ValueError, match="suffix"):
        save_image(x, tmp_path / "noext")


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    from PIL import Image

    p = save_image(np.ones((1, 1, 2, 2), np.float32), tmp_path / "keep.png")
    before = p.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(OSError):
        save_image(np.zeros((1, 1, 2, 2), np.float32), p)
    assert p.read_bytes() == before
