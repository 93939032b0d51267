"""Edge cases of nerve.vision and the image/dataset reading path, hunting silent wrong answers.

Every check compares with an independent reference: torch (``torch.nn.functional``), Pillow,
plain NumPy or values worked out by hand on tiny arrays. torchvision is not installed, so its
documented behaviour is spelled out where it is the reference.
"""
import gzip
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nerve as nv
from nerve.data.augment import pad, rotate
from nerve.vision import ops
from nerve.vision import transforms as T

DATA = Path(os.environ.get("NERVE_DATA_DIR", "/nonexistent"))
needs_files = pytest.mark.skipif(not (DATA / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()
                                 or not (DATA / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").is_file(),
                                 reason="the MNIST / Fashion-MNIST files are not in NERVE_DATA_DIR")


def _rgb(h=5, w=4, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _palette_image():
    """A 4x4 'P' image whose indices 0, 1, 2 are red, green, blue."""
    img = Image.new("P", (4, 4))
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0, 0, 0] * 253)
    img.putdata([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    return img


# ----------------------------------------------------------------------------- ToTensor

def test_to_tensor_on_every_pil_mode_scales_only_8_bit_pixels():
    rgb = _rgb(3, 2)
    cases = {
        "L": (Image.fromarray(rgb[..., 0]), rgb[..., 0][None] / np.float32(255)),
        "RGB": (Image.fromarray(rgb), rgb.transpose(2, 0, 1) / np.float32(255)),
        "RGBA": (Image.fromarray(np.dstack([rgb, rgb[..., :1]])),
                 np.dstack([rgb, rgb[..., :1]]).transpose(2, 0, 1) / np.float32(255)),
        "LA": (Image.fromarray(rgb[..., :2]), rgb[..., :2].transpose(2, 0, 1) / np.float32(255)),
    }
    for mode, (img, want) in cases.items():
        assert img.mode == mode
        out = T.ToTensor()(img)
        assert out.dtype == np.float32 and out.shape == want.shape, mode
        assert np.array_equal(out._data, want.astype(np.float32)), mode
    one_bit = Image.fromarray(np.array([[True, False, True], [False, False, True]]))
    assert one_bit.mode == "1"
    assert T.ToTensor()(one_bit).tolist() == [[[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]]
    # a palette image gives its indices / 255, as torchvision (not the colours)
    assert np.allclose(T.ToTensor()(_palette_image())._data[0, 0], np.array([0, 1, 2, 0]) / 255)
    # 16-bit, 32-bit and float images keep their values: only uint8 is divided by 255
    deep = np.array([[0, 1000], [40000, 65535]], np.uint16)
    t16 = T.ToTensor()(Image.fromarray(deep))
    assert t16.shape == (1, 2, 2) and t16._data.ravel().tolist() == [0, 1000, 40000, 65535]
    t32 = T.ToTensor()(Image.fromarray(deep).convert("I"))
    assert t32._data.dtype == np.int32 and t32._data.ravel().tolist() == [0, 1000, 40000, 65535]
    tf = T.ToTensor()(Image.fromarray(np.array([[0.25, 3.5]], np.float32)))
    assert tf._data.dtype == np.float32 and tf.tolist() == [[[0.25, 3.5]]]
    # nerve.data's array ToTensor gives a one-bit image as floats too (it kept it bool)
    from nerve.data import ToTensor as DataToTensor
    bits = DataToTensor()(one_bit)
    assert bits.dtype == np.float32 and bits.tolist() == [[[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]]


@pytest.mark.torch
def test_to_tensor_equals_torch_permute_and_divide_bit_for_bit():
    torch = pytest.importorskip("torch")
    a = _rgb(7, 9, seed=3)
    ref = torch.from_numpy(a).permute(2, 0, 1).contiguous().float().div(255).numpy()
    assert np.array_equal(T.ToTensor()(a)._data, ref)
    assert np.array_equal(T.ToTensor()(Image.fromarray(a))._data, ref)
    # channel c, row i, column j of the result is pixel (i, j) channel c: no axis mix-up
    out = T.ToTensor()(a)._data
    assert out[2, 6, 1] == np.float32(a[6, 1, 2]) / np.float32(255)
    # bool arrays become 0/1, floats keep value and dtype, a 2-D array gains one channel
    assert T.ToTensor()(np.array([[True, False]])).tolist() == [[[1.0, 0.0]]]
    f64 = T.ToTensor()(np.array([[[2.5]]]))
    assert f64._data.dtype == np.float64 and f64.tolist() == [[[2.5]]]
    assert T.ToTensor()(np.zeros((4, 6), np.uint8)).shape == (1, 4, 6)


# ----------------------------------------------------------------------------- Normalize

@pytest.mark.torch
def test_normalize_matches_the_torch_formula_on_images_batches_and_sequences():
    torch = pytest.importorskip("torch")
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    rng = np.random.default_rng(0)
    for shape in ((3, 4, 5), (2, 3, 4, 5), (2, 2, 3, 4, 5)):
        x = rng.random(shape).astype(np.float32)
        ref = (torch.from_numpy(x) - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(std).view(-1, 1, 1)
        out = T.Normalize(mean, std)(x)
        assert out.shape == shape and out.dtype == np.float32
        np.testing.assert_allclose(out, ref.numpy(), rtol=0, atol=1e-6)
    # one mean/std broadcast over every channel
    x = rng.random((3, 2, 2)).astype(np.float32)
    np.testing.assert_allclose(T.Normalize([0.5], [0.25])(x), (x - 0.5) / 0.25, atol=1e-6)


def test_normalize_std_zero_raises_and_inplace_is_honoured():
    for std in ((0.0,), (0.2, 0.0, 0.3), (0.2, float("nan"), 0.3)):
        with pytest.raises(ValueError, match="std"):
            T.Normalize((0.5, 0.5, 0.5), std)
    x = nv.tensor(np.full((3, 2, 2), 0.75, np.float32))
    out = T.Normalize((0.5, 0.25, 0.0), (0.5, 0.5, 0.25))(x)
    assert out is not x and x.tolist()[0][0][0] == 0.75            # the input is left alone
    assert out._data[:, 0, 0].tolist() == [0.5, 1.0, 3.0]
    same = T.Normalize((0.5, 0.25, 0.0), (0.5, 0.5, 0.25), inplace=True)(x)
    assert same is x and x._data[:, 1, 1].tolist() == [0.5, 1.0, 3.0]
    arr = np.full((2, 3, 1, 1), 0.75, np.float32)                   # arrays too (they were left as they were)
    assert T.Normalize((0.5, 0.25, 0.0), (0.5, 0.5, 0.25), inplace=True)(arr) is arr
    assert arr[1, :, 0, 0].tolist() == [0.5, 1.0, 3.0]
    with pytest.raises(ValueError, match="channels"):
        T.Normalize((0.5, 0.5, 0.5), (1, 1, 1))(np.zeros((4, 1, 2, 2), np.float32))   # 1 channel, 3 values


# ----------------------------------------------------------------------------- Resize

def test_resize_int_is_the_shorter_side_in_both_orientations():
    # torchvision: the shorter side becomes `size`, the longer one int(size * long / short)
    assert T.Resize(10)(np.zeros((1, 20, 35), np.float32)).shape == (1, 10, 17)   # wide: 35*10/20 = 17.5
    assert T.Resize(10)(np.zeros((1, 35, 20), np.float32)).shape == (1, 17, 10)   # tall
    assert T.Resize(10)(np.zeros((1, 13, 13), np.float32)).shape == (1, 10, 10)
    assert T.Resize([10])(np.zeros((1, 35, 20), np.float32)).shape == (1, 17, 10)  # a 1-list is an int
    assert T.Resize((10, 30))(np.zeros((1, 35, 20), np.float32)).shape == (1, 10, 30)   # (h, w) exact
    wide, tall = Image.fromarray(_rgb(20, 35)), Image.fromarray(_rgb(35, 20))
    assert T.Resize(10)(wide).size == (17, 10) and T.Resize(10)(tall).size == (10, 17)   # PIL: (w, h)
    assert T.Resize((10, 30))(tall).size == (30, 10)
    # max_size caps the longer side of an int resize; with an exact (h, w) it used to be ignored
    assert T.Resize(10, max_size=15)(np.zeros((1, 20, 35), np.float32)).shape == (1, 8, 15)
    with pytest.raises(ValueError, match="max_size"):
        T.Resize((10, 30), max_size=20)
    # a batch is resized image by image, each equal to resizing it alone
    batch = np.random.default_rng(0).random((3, 2, 9, 7)).astype(np.float32)
    out = T.Resize((4, 5))(batch)
    assert np.allclose(out[1], T.Resize((4, 5))(batch[1]), atol=1e-6)


@pytest.mark.torch
def test_resize_matches_torch_interpolate_for_every_mode():
    torch = pytest.importorskip("torch")
    fn = torch.nn.functional
    rng = np.random.default_rng(1)
    x = rng.random((2, 3, 13, 17)).astype(np.float32)
    for size in ((5, 7), (13, 17), (26, 9), (31, 40), (1, 1), (6, 34)):
        for mode, aa in (("nearest", False), ("bilinear", False), ("bilinear", True)):
            kw = {} if mode == "nearest" else {"align_corners": False, "antialias": aa}
            ref = fn.interpolate(torch.from_numpy(x), size=size, mode=mode, **kw).numpy()
            out = T.Resize(size, interpolation=mode, antialias=aa)(x)
            np.testing.assert_allclose(out, ref, rtol=0, atol=2e-6, err_msg=f"{size} {mode} {aa}")
    # uint8 stays uint8 and is the exact (float64) result rounded to the nearest level
    u8 = rng.integers(0, 256, (1, 3, 17, 23), dtype=np.uint8)
    exact = fn.interpolate(torch.from_numpy(u8).double(), size=(7, 9), mode="bilinear", align_corners=False,
                           antialias=True).numpy()
    out = T.Resize((7, 9))(u8)
    assert out.dtype == np.uint8 and np.abs(out - exact).max() <= 0.5 + 1e-9


def test_resize_pil_nearest_and_bilinear_are_pillows():
    img = Image.fromarray(_rgb(11, 14, seed=2))
    for mode, flt in (("nearest", Image.NEAREST), ("bilinear", Image.BILINEAR), ("bicubic", Image.BICUBIC)):
        assert np.array_equal(np.asarray(T.Resize((5, 6), interpolation=mode)(img)),
                              np.asarray(img.resize((6, 5), flt))), mode


# ----------------------------------------------------------------------------- crops and padding

def test_crop_and_pad_keep_pil_modes_and_pixels():
    # Crops and pads of PIL images went through an array and back: the palette of a 'P' image
    # was dropped (every colour turned black), a '1' image came back scrambled, and 'I;16'
    # could not be rebuilt at all. Pillow's own crop is the reference.
    pal = _palette_image()
    for out in (T.CenterCrop(2)(pal), T.CenterCrop((2, 3))(pal)):
        h, w = out.height, out.width
        top, left = int(round((4 - h) / 2)), int(round((4 - w) / 2))
        ref = pal.crop((left, top, left + w, top + h))
        assert out.mode == "P"
        assert np.array_equal(np.asarray(out.convert("RGB")), np.asarray(ref.convert("RGB")))
    padded = T.Pad(1)(pal)
    assert padded.mode == "P" and padded.convert("RGB").getpixel((1, 1)) == (255, 0, 0)
    assert padded.convert("RGB").getpixel((2, 1)) == (0, 255, 0)
    bits = np.array([[True, False, True], [False, True, False], [True, True, False]])
    one = Image.fromarray(bits)
    crop = T.CenterCrop(2)(one)
    assert crop.mode == "1" and np.asarray(crop).tolist() == bits[:2, :2].tolist()   # round(0.5) = 0
    padded = T.Pad(1, fill=1)(one)
    assert padded.mode == "1" and np.array_equal(np.asarray(padded)[1:4, 1:4], bits)
    assert np.asarray(padded)[0].all()
    deep = Image.fromarray(np.array([[1000, 60000], [3, 4]], np.uint16))
    padded = T.Pad((1, 0))(deep)
    assert padded.mode == "I;16" and np.asarray(padded).tolist() == [[0, 1000, 60000, 0], [0, 3, 4, 0]]
    cmyk = Image.fromarray(np.arange(16, dtype=np.uint8).reshape(2, 2, 4), mode="CMYK")
    out = T.CenterCrop(4)(cmyk)
    assert out.mode == "CMYK" and np.asarray(out)[1, 1].tolist() == [0, 1, 2, 3]
    # RandomResizedCrop crops through the same path
    nv.manual_seed(0)
    assert T.RandomResizedCrop(3)(pal).mode == "P"


def test_center_crop_of_every_pil_mode_equals_pillows_crop():
    rgb = Image.fromarray(_rgb(3, 4, seed=5))
    deep = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    images = {m: rgb.convert(m) for m in ("1", "L", "P", "RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr",
                                         "LAB", "HSV", "LA", "La", "I", "F")}
    images["PA"] = rgb.convert("RGBA").convert("PA")
    images["I;16"] = Image.fromarray(deep)
    images["I;16B"] = Image.frombytes("I;16B", (4, 3), deep.astype(">u2").tobytes())
    images["I;16L"] = Image.frombytes("I;16L", (4, 3), deep.astype("<u2").tobytes())
    for mode, img in images.items():
        assert img.mode == mode
        out = T.CenterCrop(2)(img)                       # top round(0.5) = 0, left round(1.0) = 1
        ref = img.crop((1, 0, 3, 2))
        assert out.mode == mode and out.tobytes() == ref.tobytes(), mode
        if mode in ("P", "PA"):
            assert out.getpalette() == img.getpalette(), mode


def test_per_channel_fill_paints_each_channel():
    # np.pad reads a sequence of constants as (before, after) pairs, so fill=(7, 9) used to
    # put 7 on the top/left and 9 on the bottom/right of every channel.
    x = np.zeros((2, 2, 2), np.float32)
    out = T.Pad(1, fill=(7, 9))(x)
    assert out[:, 0, 0].tolist() == [7, 9] and out[:, 3, 3].tolist() == [7, 9]
    assert out[:, 1:3, 1:3].tolist() == np.zeros((2, 2, 2)).tolist()
    assert np.array_equal(pad(np.zeros((4, 2, 2, 2)), (1, 0, 2, 1), fill=(7, 9))[3],
                          np.stack([np.pad(np.zeros((2, 2)), ((0, 1), (1, 2)), constant_values=v) for v in (7, 9)]))
    red = T.Pad(2, fill=(255, 0, 0))(Image.fromarray(np.zeros((2, 2, 3), np.uint8)))
    assert red.getpixel((0, 0)) == (255, 0, 0) and red.getpixel((2, 2)) == (0, 0, 0)
    assert red.getpixel((5, 5)) == (255, 0, 0)
    grown = T.RandomCrop(4, pad_if_needed=True, fill=(1, 2, 3))(np.zeros((3, 2, 2), np.float32))
    assert grown.shape == (3, 4, 4) and grown[:, 0, 0].tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="one value per channel"):
        T.Pad(1, fill=(1, 2))(np.zeros((3, 2, 2), np.float32))


@pytest.mark.torch
def test_padding_modes_match_torch_and_numpy():
    torch = pytest.importorskip("torch")
    fn = torch.nn.functional
    x = np.arange(2 * 4 * 5, dtype=np.float32).reshape(1, 2, 4, 5)
    t = torch.from_numpy(x)
    pads = (2, 1, 3, 2)                                             # left, top, right, bottom
    torch_pads = (2, 3, 1, 2)                                       # torch: left, right, top, bottom
    assert np.array_equal(T.Pad(pads, padding_mode="edge")(x), fn.pad(t, torch_pads, mode="replicate").numpy())
    assert np.array_equal(T.Pad(pads, padding_mode="reflect")(x), fn.pad(t, torch_pads, mode="reflect").numpy())
    assert np.array_equal(T.Pad(pads, padding_mode="constant", fill=-1)(x),
                          fn.pad(t, torch_pads, mode="constant", value=-1).numpy())
    sym = T.Pad(pads, padding_mode="symmetric")(x)                  # the edge pixel is repeated
    assert sym[0, 0, 1, :4].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert np.array_equal(sym, np.pad(x, ((0, 0), (0, 0), (1, 2), (2, 3)), mode="symmetric"))
    # RandomCrop with padding pads exactly like Pad before cutting its window
    nv.manual_seed(7)
    out = T.RandomCrop((4, 5), padding=pads, padding_mode="reflect")(x)
    g = np.random.default_rng(7)
    top, left = int(g.integers(0, 7 - 4 + 1)), int(g.integers(0, 10 - 5 + 1))
    assert np.array_equal(out, fn.pad(t, torch_pads, mode="reflect").numpy()[..., top:top + 4, left:left + 5])


def test_crops_larger_than_the_image():
    x = np.arange(1, 7, dtype=np.float32).reshape(1, 2, 3)
    # CenterCrop pads torchvision's way: (crop - size) // 2 before, the rest after
    assert T.CenterCrop((5, 4))(x)[0].tolist() == [[0, 0, 0, 0], [1, 2, 3, 0], [4, 5, 6, 0],
                                                 [0, 0, 0, 0], [0, 0, 0, 0]]
    # nerve.data's CenterCrop on a PIL image pads the same way (it used to round -1.5 to -2 and
    # put the odd row above the image, shifting it down by one)
    from nerve.data import CenterCrop as DataCenterCrop
    img = Image.fromarray(x[0].astype(np.uint8))
    for size in ((5, 4), (5, 6), (4, 3), (1, 2), (3, 5)):
        assert np.array_equal(np.asarray(DataCenterCrop(size)(img)), T.CenterCrop(size)(x)[0]), size
    assert np.asarray(DataCenterCrop((5, 6))(img))[1].tolist() == [0, 1, 2, 3, 0, 0]
    with pytest.raises(ValueError, match="larger"):
        T.RandomCrop((3, 3))(x)
    # pad_if_needed pads the missing amount on both sides of that axis (as torchvision does)
    nv.manual_seed(1)
    out = T.RandomCrop((3, 3), pad_if_needed=True, padding_mode="edge")(x)
    assert out.shape == (1, 3, 3)
    full = np.pad(x, ((0, 0), (1, 1), (0, 0)), mode="edge")       # 2 rows short of 3 -> 1 each side
    windows = {tuple(full[0, i:i + 3, j:j + 3].ravel()) for i in range(2) for j in range(1)}
    assert tuple(out[0].ravel()) in windows
    pil = T.RandomCrop((4, 5), pad_if_needed=True)(Image.fromarray(_rgb(2, 3)))
    assert pil.size == (5, 4) and pil.mode == "RGB"


# ----------------------------------------------------------------------------- flips and rotation

def test_horizontal_flip_reverses_width_on_every_layout():
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)        # (C, H, W)
    assert np.array_equal(T.RandomHorizontalFlip(1.0)(x), x[:, :, ::-1])
    assert np.array_equal(T.RandomVerticalFlip(1.0)(x), x[:, ::-1, :])
    batch = np.stack([x, x + 100])
    assert np.array_equal(T.RandomHorizontalFlip(1.0)(batch), batch[..., ::-1])
    t = T.RandomHorizontalFlip(1.0)(nv.tensor(x))
    assert isinstance(t, nv.Tensor) and np.array_equal(t._data, x[:, :, ::-1])
    rgb = _rgb(3, 4)                                                   # PIL: width is the second axis
    assert np.array_equal(np.asarray(T.RandomHorizontalFlip(1.0)(Image.fromarray(rgb))), rgb[:, ::-1])
    assert np.array_equal(np.asarray(T.RandomVerticalFlip(1.0)(Image.fromarray(rgb))), rgb[::-1])
    via_tensor = T.ToTensor()(T.RandomHorizontalFlip(1.0)(Image.fromarray(rgb)))
    assert np.array_equal(via_tensor._data, T.RandomHorizontalFlip(1.0)(T.ToTensor()(rgb))._data)


def test_quarter_turns_keep_the_size_of_non_square_images():
    # rotate() used np.rot90 for multiples of 90 degrees, which swaps height and width, while
    # torchvision (and Pillow, on the PIL path) keep the size with expand=False.
    x = np.random.default_rng(0).integers(1, 256, (1, 4, 6), dtype=np.uint8)
    for angle in (90, -90, 270, 180, 450):
        nv.manual_seed(0)
        out = T.RandomRotation((angle, angle))(x)
        assert out.shape == (1, 4, 6), angle
        ref = np.asarray(Image.fromarray(x[0]).rotate(angle, resample=Image.NEAREST))
        assert np.array_equal(out[0], ref), angle
    assert rotate(np.zeros((5, 8)), 90).shape == (5, 8)
    sq = np.arange(9).reshape(3, 3)
    assert np.array_equal(rotate(sq, 90), np.rot90(sq))               # square images: still exact


@pytest.mark.torch
def test_quarter_turn_of_non_square_images_equals_torch_grid_sample():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).random((1, 2, 4, 5))
    h, w = x.shape[-2:]
    for angle in (90, -90):
        rad = math.radians(-angle)                                     # torchvision's inverse rotation
        m = torch.tensor([[math.cos(rad), math.sin(rad), 0.0], [-math.sin(rad), math.cos(rad), 0.0]],
                         dtype=torch.float64)
        gy, gx = torch.meshgrid(torch.arange(h, dtype=torch.float64) - (h - 1) / 2,
                                torch.arange(w, dtype=torch.float64) - (w - 1) / 2, indexing="ij")
        grid = torch.stack([gx, gy, torch.ones_like(gx)], -1) @ m.T / torch.tensor([w / 2, h / 2],
                                                                                 dtype=torch.float64)
        ref = torch.nn.functional.grid_sample(torch.from_numpy(x), grid[None], mode="bilinear",
                                              padding_mode="zeros", align_corners=False).numpy()
        np.testing.assert_allclose(rotate(x, angle, interpolation="bilinear"), ref, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- colour

def test_grayscale_weights_per_primary():
    eye = np.eye(3, dtype=np.float32).reshape(3, 3, 1, 1)              # pure red, green, blue
    got = [float(T.Grayscale()(eye[k])[0, 0, 0]) for k in range(3)]
    assert np.allclose(got, [0.2989, 0.587, 0.114], atol=1e-7)        # torchvision's tensor weights
    # PIL images use Pillow's ITU-R 601-2 luma L = (299 R + 587 G + 114 B) / 1000
    prim = Image.fromarray(np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], np.uint8))
    assert np.asarray(T.Grayscale()(prim)).tolist() == [[76, 150, 29, 18]]
    three = T.Grayscale(3)(nv.tensor(np.random.default_rng(0).random((3, 2, 2)).astype(np.float32)))
    assert three.shape == (3, 2, 2) and np.array_equal(three._data[0], three._data[2])


def test_adjust_hue_equals_colorsys_and_contrast_blends_with_the_mean_luma():
    import colorsys
    x = np.random.default_rng(0).random((3, 4, 5))
    x[:, 0, 0] = 0.5                                                   # grey: no hue to turn
    x[:, 0, 1] = (1.0, 0.0, 1.0)
    for factor in (0.3, -0.45, 0.5, -0.5):
        ref = np.empty_like(x)
        for i in range(4):
            for j in range(5):
                h, s, v = colorsys.rgb_to_hsv(*x[:, i, j])
                ref[:, i, j] = colorsys.hsv_to_rgb((h + factor) % 1.0, s, v)
        np.testing.assert_allclose(T.adjust_hue(x, factor), ref, rtol=0, atol=1e-12)
    f32 = x.astype(np.float32)
    luma = (0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]).mean()
    for factor in (0.0, 0.5, 1.7):
        np.testing.assert_allclose(T.adjust_contrast(f32, factor), np.clip(factor * x + (1 - factor) * luma, 0, 1),
                                   atol=1e-6)


def test_color_jitter_factors_stay_in_their_ranges_and_seed_repeats():
    x = np.full((3, 1, 1), 0.25, np.float32)
    t = T.ColorJitter(brightness=0.5)
    ratios = np.array([float(t(x)[0, 0, 0]) / 0.25 for _ in range(400)])
    assert ratios.min() >= 0.5 - 1e-6 and ratios.max() <= 1.5 + 1e-6
    assert ratios.min() < 0.6 and ratios.max() > 1.4                    # the whole range is used
    assert T.ColorJitter(brightness=2.0).brightness == (0.0, 3.0)      # max(0, 1 - b)
    assert T.ColorJitter(hue=0.2).hue == (-0.2, 0.2)
    for bad in ({"hue": 0.6}, {"hue": (-0.6, 0.1)}, {"brightness": -0.1}, {"contrast": (1.5, 0.5)}):
        with pytest.raises(ValueError):
            T.ColorJitter(**bad)
    img = np.random.default_rng(0).random((3, 6, 6)).astype(np.float32)
    jit = T.ColorJitter(0.4, 0.4, 0.4, 0.1)
    nv.manual_seed(3)
    a = jit(img)
    nv.manual_seed(3)
    assert np.array_equal(jit(img), a)
    assert not np.array_equal(jit(img), a)


def test_compose_of_random_transforms_repeats_under_manual_seed():
    pipe = T.Compose([T.RandomResizedCrop(6), T.RandomHorizontalFlip(), T.RandomRotation(20),
                      T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])
    img = Image.fromarray(_rgb(12, 15, seed=4))
    nv.manual_seed(11)
    first = [pipe(img)._data for _ in range(3)]
    nv.manual_seed(11)
    again = [pipe(img)._data for _ in range(3)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], first[1])


# ----------------------------------------------------------------------------- box ops

def test_box_convert_integer_boxes_keep_their_half_pixels():
    # Integer boxes were cast back to integers after halving: xyxy (0, 0, 3, 3) became centre
    # (1, 1) instead of (1.5, 1.5), and a cxcywh box lost half a pixel on each side.
    b = np.array([[0, 0, 3, 3], [1, 2, 4, 7]])
    c = ops.box_convert(b, "xyxy", "cxcywh")
    assert c.dtype.kind == "f" and c.tolist() == [[1.5, 1.5, 3, 3], [2.5, 4.5, 3, 5]]
    assert ops.box_convert(np.array([[1, 1, 3, 3]]), "cxcywh", "xyxy").tolist() == [[-0.5, -0.5, 2.5, 2.5]]
    assert ops.box_convert(np.array([[1, 1, 3, 3]]), "cxcywh", "xywh").tolist() == [[-0.5, -0.5, 3, 3]]
    assert np.array_equal(ops.box_convert(c, "cxcywh", "xyxy"), b)
    same = ops.box_convert(b, "xyxy", "xywh")                          # no division: stays integer
    assert same.dtype == b.dtype and same.tolist() == [[0, 0, 3, 3], [1, 2, 3, 5]]
    t = ops.box_convert(nv.tensor(b), "xyxy", "cxcywh")
    assert isinstance(t, nv.Tensor) and t.tolist() == c.tolist()


def test_box_iou_and_clipping_by_hand():
    a = np.array([[0.0, 0.0, 4.0, 4.0]])
    b = np.array([[4.0, 0.0, 6.0, 4.0],       # touching edge: 0
                  [1.0, 1.0, 3.0, 3.0],       # inside: 4 / 16
                  [2.0, 2.0, 6.0, 6.0],       # corner overlap: 4 / (16 + 16 - 4)
                  [-2.0, 0.0, 2.0, 4.0]])     # half: 8 / (16 + 16 - 8)
    assert np.allclose(ops.box_iou(a, b), [[0.0, 0.25, 4 / 28, 8 / 24]])
    assert ops.box_iou(np.zeros((0, 4)), b).shape == (0, 4)
    assert ops.box_iou(a, np.zeros((0, 4))).shape == (1, 0)
    clipped = ops.clip_boxes_to_image(np.array([[-3.0, -1.0, 12.0, 5.0], [2.0, 9.0, 4.0, 20.0]]), (8, 10))
    assert clipped.tolist() == [[0, 0, 10, 5], [2, 8, 4, 8]]           # x to [0, w], y to [0, h]
    assert ops.hflip_boxes(np.array([[1.0, 2.0, 4.0, 3.0]]), 10).tolist() == [[6, 2, 9, 3]]


def test_batched_nms_never_crosses_categories_with_negative_coordinates():
    # Categories were moved apart by idx * (max + 1); with coordinates below zero the stride is
    # shorter than a box, and a box suppressed the same box of another category.
    boxes = np.array([[-100.0, -100.0, 10.0, 10.0], [-100.0, -100.0, 10.0, 10.0], [-95.0, -100.0, 10.0, 10.0]])
    scores = np.array([0.9, 0.8, 0.7])
    assert ops.batched_nms(boxes, scores, np.array([0, 1, 1]), 0.5).tolist() == [0, 1]
    assert ops.batched_nms(boxes, scores, np.array([0, 1, 2]), 0.5).tolist() == [0, 1, 2]
    assert ops.batched_nms(boxes, scores, [0, 0, 0], 0.5).tolist() == [0]
    # by hand against nms per category, on random boxes straddling zero
    rng = np.random.default_rng(0)
    xy = rng.uniform(-50, 20, (60, 2))
    rb = np.concatenate([xy, xy + rng.uniform(5, 40, (60, 2))], axis=1)
    sc, cat = rng.random(60), rng.integers(0, 3, 60)
    want = []
    for k in range(3):
        idx = np.flatnonzero(cat == k)
        want += idx[ops.nms(rb[idx], sc[idx], 0.3)].tolist()
    assert sorted(ops.batched_nms(rb, sc, cat, 0.3).tolist()) == sorted(want)
    assert ops.nms([[0, 0, 1, 1], [0, 0, 1, 1], [5, 5, 6, 6]], [0.2, 0.9, 0.1], 0.5).tolist() == [1, 2]


# ----------------------------------------------------------------------------- dataset readers

@needs_files
def test_mnist_and_fashion_splits_labels_and_pixels():
    from nerve.data.datasets import MNIST, FashionMNIST
    from nerve.vision import datasets as VD
    first = {(MNIST, True): [5, 0, 4, 1, 9, 2, 1, 3, 1, 4], (MNIST, False): [7, 2, 1, 0, 4, 1, 4, 9, 5, 9],
             (FashionMNIST, True): [9, 0, 0, 3, 0, 2, 7, 2, 5, 5],
             (FashionMNIST, False): [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]}
    for (cls, train), labels in first.items():
        ds = cls(train=train, download=False)
        n = 60000 if train else 10000
        assert ds.data.shape == (n, 1, 28, 28) and ds.data.dtype == np.float32
        assert ds.targets.shape == (n,) and ds.targets.dtype == np.int64
        assert ds.targets[:10].tolist() == labels
        assert ds.data.min() == 0.0 and ds.data.max() == 1.0
        if cls is FashionMNIST:
            assert np.bincount(ds.targets).tolist() == [n // 10] * 10
    # the torchvision-style reader gives the same image/label pairs, as 'L' images and uint8 data
    raw = MNIST(train=False, download=False, dtype="uint8")
    vd = VD.MNIST(train=False)
    assert len(vd) == 10000 and vd.data.shape == (10000, 28, 28) and vd.data._data.dtype == np.uint8
    for i in (0, 1234, 9999, -1):
        img, y = vd[i]
        assert img.mode == "L" and img.size == (28, 28)
        assert np.array_equal(np.asarray(img), raw.data[i, 0]) and y == int(raw.targets[i])
    x, _ = VD.MNIST(train=False, transform=T.ToTensor())[0]
    assert x.shape == (1, 28, 28) and np.array_equal(x._data, raw.data[0].astype(np.float32) / np.float32(255))


def _idx(dims, payload, code=0x08):
    return bytes([0, 0, code, len(dims)]) + np.asarray(dims, ">u4").tobytes() + payload


def test_idx_reader_refuses_damaged_files(tmp_path):
    from nerve.data.datasets.idx import IDXFormatError, read_idx
    good = _idx((3,), bytes([1, 2, 3]))
    assert read_idx(good).tolist() == [1, 2, 3]
    bad = {
        "magic": b"\x01" + good[1:],                                   # not two zero bytes
        "type": _idx((3,), bytes([1, 2, 3]), code=0x07),               # unknown type code
        "short": good[:-1],                                            # payload truncated
        "long": good + b"\x00",                                        # trailing bytes
        "header": good[:6],                                            # dims cut off
        "wrap": _idx((65536,) * 4, b""),                              # 2**64 values: wrapped to 0 in int64
    }
    for what, raw in bad.items():
        with pytest.raises(IDXFormatError):
            read_idx(raw)
    # a labels file given where images are expected, and int8 data where uint8 is expected
    with pytest.raises(IDXFormatError, match="dimensions"):
        read_idx(good, expect_shape=(None, 28, 28))
    with pytest.raises(IDXFormatError, match="int8"):
        read_idx(_idx((3,), bytes([1, 2, 3]), code=0x09), expect_dtype=np.uint8)
    # multi-byte values are big-endian in the file and native in the array
    assert read_idx(_idx((2,), np.array([1, 258], ">i2").tobytes(), code=0x0B)).tolist() == [1, 258]
    # a gzip cut short is an error naming the file, never a partial array
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(_idx((4096,), bytes(range(256)) * 16))[:-30])
    with pytest.raises(IDXFormatError, match="cut.gz"):
        read_idx(path)


@needs_files
def test_truncated_real_labels_file_is_a_clear_error(tmp_path, monkeypatch):
    from nerve.data.datasets import MNIST, DatasetFileError
    monkeypatch.delenv("NERVE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))    # nothing recorded in the real cache
    root = tmp_path / "root" / "mnist"
    root.mkdir(parents=True)
    for f in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(DATA / "mnist" / f, root / f)
    lbl = root / "t10k-labels-idx1-ubyte.gz"
    lbl.write_bytes(lbl.read_bytes()[:-100])
    with pytest.raises(DatasetFileError, match="t10k-labels"):
        MNIST(root=root.parent, train=False, download=False)


def test_read_image_takes_photos_as_displayed_by_their_exif_orientation(tmp_path):
    # A phone stores a portrait photo sideways with an EXIF orientation tag; viewers turn it
    # upright, and read_image used to read it sideways (a digit on its side).
    from nerve.data.images import read_image
    stored = np.zeros((20, 28), np.uint8)                  # stored: 20 rows, 28 columns
    stored[2:8, 3:10] = 255
    shown = {1: stored, 2: stored[:, ::-1], 3: stored[::-1, ::-1], 6: np.rot90(stored, -1),
             8: np.rot90(stored, 1)}                       # 6: turn clockwise to view, 8: anticlockwise
    for tag, want in shown.items():
        exif = Image.Exif()
        exif[0x0112] = tag
        path = tmp_path / f"o{tag}.png"
        Image.fromarray(stored).save(path, exif=exif)
        x, notes = read_image(path, size=(want.shape[1], want.shape[0]), invert="never")
        assert np.array_equal(x, want / np.float32(255)), tag
        assert any("EXIF" in n for n in notes) == (tag != 1), tag


def test_to_pil_image_float_values_never_wrap_and_mode_f_keeps_them():
    # mode='F' handed float64 pixels to Pillow's float32 mode, which read their bytes as
    # float32 (0.25, 2.5 came back as 0.0, 1.625)
    for dtype in (np.float64, np.float32):
        img = T.ToPILImage(mode="F")(nv.tensor(np.array([[[0.25, 2.5]]], dtype)))
        assert img.mode == "F" and np.asarray(img).tolist() == [[0.25, 2.5]], dtype
    # in [0, 1]: x * 255 truncated, as torchvision; outside it saturates instead of wrapping
    # (1.004 * 255 = 256.02 used to wrap to 0, a white pixel turned black)
    px = np.array([[[0.0, 0.999, 1.0, 1.004, 1.5, -0.2, 0.5]]], np.float32)
    assert np.asarray(T.ToPILImage()(nv.tensor(px))).tolist() == [[0, 254, 255, 255, 255, 0, 127]]
    back = T.ToTensor()(T.ToPILImage()(nv.tensor(np.full((3, 2, 2), 0.2, np.float32))))
    assert np.array_equal(back._data, np.full((3, 2, 2), np.uint8(0.2 * 255) / np.float32(255), np.float32))


@needs_files
def test_torchvision_style_random_transforms_draw_per_sample_in_array_datasets():
    # nerve.data's readers run random transforms on whole batches; a torchvision-style transform
    # draws once per call, so a batch of 64 came back all flipped or none flipped.
    from nerve.data import DataLoader
    from nerve.data.datasets import MNIST
    base = MNIST(train=False, download=False)
    ds = MNIST(train=False, download=False, transform=T.Compose([T.RandomHorizontalFlip(0.5),
                                                                 T.Normalize((0.5,), (0.5,))]))
    nv.manual_seed(0)
    x, y = next(iter(DataLoader(ds, batch_size=64)))
    x = x.numpy()
    want = (base.data[:64] - 0.5) / 0.5
    flipped = np.array([np.allclose(x[i], want[i][..., ::-1]) for i in range(64)])
    kept = np.array([np.allclose(x[i], want[i]) for i in range(64)])
    assert np.all(flipped | kept) and 16 <= flipped.sum() <= 48       # each image drew for itself
    assert y.numpy().tolist() == base.targets[:64].tolist()              # labels stay with their images
    nv.manual_seed(0)
    again = next(iter(DataLoader(ds, batch_size=64)))[0].numpy()
    assert np.array_equal(again, x)
    crop = MNIST(train=False, download=False, transform=T.RandomCrop(28, padding=4))
    nv.manual_seed(1)
    xs = crop.get_batch(np.arange(16))[0]
    assert xs.shape == (16, 1, 28, 28)
    padded = np.pad(base.data[:16, 0], ((0, 0), (4, 4), (4, 4)))
    offsets = [[(t, l) for t in range(9) for l in range(9)
                if np.array_equal(xs[i, 0], padded[i, t:t + 28, l:l + 28])] for i in range(16)]
    assert all(offsets)                                                  # every item is a real window
    assert len({o[0] for o in offsets}) > 1                              # not one window for all
    assert ds[3][0].shape == (1, 28, 28)


def test_normalize_passes_the_gradient_to_its_input():
    # Normalize unwrapped Tensors to arrays, so an input being optimised (or a model that
    # normalises inside forward) got no gradient and no error.
    x = nv.tensor(np.random.default_rng(0).random((2, 3, 4, 4)).astype(np.float32), requires_grad=True)
    std = (0.5, 0.25, 0.125)
    y = T.Normalize((0.1, 0.2, 0.3), std)(x)
    assert y.requires_grad and np.array_equal(y._data, T.Normalize((0.1, 0.2, 0.3), std)(x.numpy()))
    (y * y).sum().backward()
    want = 2 * y._data / np.array(std, np.float32).reshape(3, 1, 1)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6)
    one = nv.tensor(np.ones((3, 2, 2), np.float32), requires_grad=True)
    T.Normalize([0.5], [0.25])(one).sum().backward()
    assert np.allclose(one.grad.numpy(), 4.0)
