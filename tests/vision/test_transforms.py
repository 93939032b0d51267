"""nerve.vision.transforms against hand-computed values and Pillow (torchvision is not installed)."""
import numpy as np
import pytest
from PIL import Image

import nerve as nv
from nerve.vision import transforms as T


def _rgb(h=5, w=4, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ----------------------------------------------------------------------------- conversions

def test_to_tensor_layout_and_scaling():
    gray = np.arange(28 * 28, dtype=np.int64).reshape(28, 28) % 256
    t = T.ToTensor()(Image.fromarray(gray.astype(np.uint8), mode="L"))
    assert isinstance(t, nv.Tensor) and t.shape == (1, 28, 28) and t.dtype == np.float32
    assert t._data[0, 3, 5] == np.float32(gray[3, 5]) / np.float32(255)   # no transpose: row 3, column 5
    img = _rgb()
    out = T.ToTensor()(Image.fromarray(img))
    assert out.shape == (3, 5, 4)
    assert out._data[2, 4, 1] == np.float32(img[4, 1, 2]) / np.float32(255)
    assert np.array_equal(T.ToTensor()(img)._data, out._data)           # an HWC array gives the same
    assert T.ToTensor()(Image.fromarray(np.array([[True, False]]))).tolist() == [[[1.0, 0.0]]]
    assert T.ToTensor()(np.ones((2, 2, 1), np.float64))._data.dtype == np.float64   # floats keep values
    with pytest.raises(ValueError, match="one image"):
        T.ToTensor()(np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(TypeError, match="already converted"):
        T.ToTensor()(nv.zeros(3, 4, 4))


def test_mnist_reader_with_to_tensor_keeps_1x28x28():
    # The root cause of (N, 28, 1, 28): nerve.data's MNIST applied ToTensor's HWC->CHW transpose
    # to its already channel-first store. Both ToTensors now only scale there.
    from nerve.data import ToTensor as DataToTensor
    from nerve.data.datasets import MNIST
    for t in (DataToTensor(), T.ToTensor()):
        ds = MNIST(train=False, dtype="uint8", transform=t)
        assert ds.data.shape == (10000, 1, 28, 28) and ds.data.dtype == np.float32
        assert ds[0][0].shape == (1, 28, 28) and ds.data.max() == 1.0


def test_pil_to_tensor_and_to_pil_image():
    img = _rgb()
    t = T.PILToTensor()(Image.fromarray(img))
    assert t.dtype == np.uint8 and np.array_equal(t._data, img.transpose(2, 0, 1))
    back = T.ToPILImage()(T.ToTensor()(Image.fromarray(img)))
    assert back.mode == "RGB" and np.array_equal(np.asarray(back), img)     # x/255*255 truncates back exactly
    # floats are multiplied by 255 and truncated, not rounded (0.999 * 255 = 254.7 -> 254)
    assert np.asarray(T.ToPILImage()(nv.full((1, 1, 1), 0.999))).tolist() == [[254]]
    assert T.ToPILImage()(np.zeros((2, 2, 4), np.uint8)).mode == "RGBA"
    with pytest.raises(ValueError, match="1 to 4 channels"):
        T.ToPILImage()(np.zeros((3, 5, 5), np.float32))        # a CHW array where HWC is expected
    with pytest.raises(TypeError):
        T.PILToTensor()(np.zeros((2, 2)))


def test_normalize():
    x = nv.tensor(np.arange(8, dtype=np.float32).reshape(2, 2, 2))
    out = T.Normalize((1.0, 2.0), (2.0, 4.0))(x)
    assert out.tolist() == [[[-0.5, 0.0], [0.5, 1.0]], [[0.5, 0.75], [1.0, 1.25]]]
    batch = T.Normalize((1.0, 2.0), (2.0, 4.0))(np.stack([x.numpy()] * 3))     # (N, C, H, W) array
    assert isinstance(batch, np.ndarray) and np.array_equal(batch[2], out._data)
    assert T.Normalize([0.5], [0.5])(nv.ones(3, 1, 1)).tolist() == [[[1.0]], [[1.0]], [[1.0]]]
    y = nv.ones(1, 1, 1)
    assert T.Normalize([1.0], [1.0], inplace=True)(y) is y and y.tolist() == [[[0.0]]]
    with pytest.raises(TypeError, match="ToTensor"):
        T.Normalize([0.5], [0.5])(Image.fromarray(_rgb()))
    with pytest.raises(TypeError, match="float"):
        T.Normalize([0.5], [0.5])(np.ones((1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="channels"):
        T.Normalize((0.1, 0.2), (1, 1))(nv.ones(3, 2, 2))
    with pytest.raises(ValueError, match="non-zero"):
        T.Normalize((0.1,), (0.0,))


# ----------------------------------------------------------------------------- resize and crops

def test_resize_size_rule_and_pil_path():
    img = Image.fromarray(_rgb(30, 40))
    assert T.Resize(15)(img).size == (20, 15)                       # PIL size is (w, h); short side 15
    assert T.Resize(15)(np.zeros((3, 40, 30), np.float32)).shape == (3, 20, 15)
    assert T.Resize(16)(np.zeros((1, 30, 47))).shape == (1, 16, 25)   # long side truncates: int(16*47/30)
    assert T.Resize((7, 9))(img).size == (9, 7)
    assert T.Resize(10, max_size=12)(np.zeros((1, 10, 20))).shape == (1, 6, 12)
    assert np.array_equal(np.asarray(T.Resize((7, 9))(img)), np.asarray(img.resize((9, 7), Image.BILINEAR)))
    with pytest.raises(ValueError):
        T.Resize(0)
    with pytest.raises(ValueError, match="interpolation"):
        T.Resize(3, interpolation="lanczos9")


def test_resize_tensor_matches_pillow_on_float_images():
    # Pillow resamples 'F' images in floating point with the antialiased triangle filter that
    # torchvision's antialias=True reproduces: an independent reference.
    x = np.random.default_rng(1).random((17, 13)).astype(np.float32)
    for size in ((5, 4), (11, 29), (17, 6)):
        ours = T.Resize(size)(x[None])[0]
        ref = np.asarray(Image.fromarray(x, mode="F").resize(size[::-1], Image.BILINEAR))
        assert np.allclose(ours, ref, atol=1e-5), size
    # by hand: 4 -> 2 pixels, the filter is 2 pixels wide: weights (.75, .75, .25) / 1.75
    row = T.Resize((1, 2))(np.array([[[0.0, 1.0, 2.0, 3.0]]]))[0, 0]
    assert np.allclose(row, [(0.75 * 1 + 0.25 * 2) / 1.75, (0.25 * 1 + 0.75 * 2 + 0.75 * 3) / 1.75])
    assert T.Resize((1, 2), antialias=False)(np.array([[[0.0, 1.0, 2.0, 3.0]]])).ravel().tolist() == [0.5, 2.5]
    assert T.Resize((2, 2), interpolation="nearest")(np.arange(16.).reshape(1, 4, 4)).ravel().tolist() == \
        [0.0, 2.0, 8.0, 10.0]
    u8 = T.Resize((2, 2))(np.full((1, 4, 4), 200, np.uint8))
    assert u8.dtype == np.uint8 and u8.ravel().tolist() == [200] * 4


def test_center_crop_and_padding():
    x = np.arange(20).reshape(1, 4, 5)
    assert T.CenterCrop(2)(x).tolist() == [[[7, 8], [12, 13]]]        # top round(1.0)=1, left round(1.5)=2
    img = Image.fromarray(np.arange(20, dtype=np.uint8).reshape(4, 5))
    assert np.asarray(T.CenterCrop(2)(img)).tolist() == [[7, 8], [12, 13]]
    big = T.CenterCrop((4, 7))(nv.tensor(x.astype(np.float32)))        # larger than the image: zero padded
    assert big.shape == (1, 4, 7) and big.numpy()[0, :, 0].tolist() == [0, 0, 0, 0]
    assert big.numpy()[0, 0, 1:6].tolist() == [0, 1, 2, 3, 4]
    odd = T.CenterCrop((4, 8))(x)                  # 3 columns short: 1 on the left, 2 on the right
    assert odd[0, 0].tolist() == [0, 0, 1, 2, 3, 4, 0, 0]
    assert np.array_equal(np.asarray(T.CenterCrop((4, 8))(img)), odd[0].astype(np.uint8))


def test_random_crop_draws_from_the_global_generator():
    x = np.random.default_rng(2).random((3, 8, 8)).astype(np.float32)
    nv.manual_seed(5)
    out = T.RandomCrop(6, padding=2)(x)
    g = np.random.default_rng(5)
    top, left = int(g.integers(0, 12 - 6 + 1)), int(g.integers(0, 12 - 6 + 1))
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2)))
    assert np.array_equal(out, padded[:, top:top + 6, left:left + 6])
    img = Image.fromarray((x.transpose(1, 2, 0) * 255).astype(np.uint8))
    nv.manual_seed(5)
    pil_out = np.asarray(T.RandomCrop(6, padding=2)(img)).transpose(2, 0, 1)
    nv.manual_seed(5)
    arr_out = T.RandomCrop(6, padding=2)(np.asarray(img).transpose(2, 0, 1))
    assert np.array_equal(pil_out, arr_out)
    assert T.RandomCrop(10, pad_if_needed=True)(x).shape == (3, 10, 10)
    assert T.RandomCrop(4, padding=1, padding_mode="edge")(x).shape == (3, 4, 4)
    with pytest.raises(ValueError, match="larger"):
        T.RandomCrop(9)(x)


def test_flips_and_rotation():
    x = np.arange(6).reshape(1, 2, 3)
    assert T.RandomHorizontalFlip(p=1.0)(x).tolist() == [[[2, 1, 0], [5, 4, 3]]]
    assert T.RandomHorizontalFlip(p=0.0)(x).tolist() == x.tolist()
    assert T.RandomVerticalFlip(p=1.0)(x).tolist() == [[[3, 4, 5], [0, 1, 2]]]
    img = Image.fromarray(_rgb())
    assert np.array_equal(np.asarray(T.RandomHorizontalFlip(1.0)(img)), _rgb()[:, ::-1])
    flips = T.RandomHorizontalFlip(p=0.5)
    rate = np.mean([flips(np.array([[[0, 1]]]))[0, 0, 0] == 1 for _ in range(4000)])
    assert abs(rate - 0.5) < 0.03
    sq = np.arange(16).reshape(1, 4, 4)
    assert np.array_equal(T.RandomRotation((90, 90))(sq), np.rot90(sq, 1, axes=(-2, -1)))
    pil = Image.fromarray(sq[0].astype(np.uint8))
    assert np.array_equal(np.asarray(T.RandomRotation((90, 90))(pil)), np.rot90(sq[0]).astype(np.uint8))
    assert T.RandomRotation(30)(nv.ones(1, 9, 9)).shape == (1, 9, 9)
    with pytest.raises(ValueError):
        T.RandomRotation(-3)


# ----------------------------------------------------------------------------- colour

def test_color_jitter_and_adjustments():
    x = np.full((3, 1, 2), 0.25, np.float32)
    assert T.ColorJitter(brightness=(2.0, 2.0))(x).ravel().tolist() == [0.5] * 6
    assert T.ColorJitter(brightness=(8.0, 8.0))(x).max() == 1.0            # clipped to the float range
    px = np.array([[[1.0]], [[0.5]], [[0.0]]], np.float32)                  # one orange pixel
    gray = 0.2989 * 1.0 + 0.587 * 0.5
    assert np.allclose(T.ColorJitter(saturation=(0.0, 0.0))(px).ravel(), [gray] * 3, atol=1e-6)
    two = np.concatenate([px, np.zeros((3, 1, 1), np.float32)], axis=2)    # mean luma = gray / 2
    assert np.allclose(T.ColorJitter(contrast=(0.0, 0.0))(two).ravel(), [gray / 2] * 6, atol=1e-6)
    red = np.array([[[1.0]], [[0.0]], [[0.0]]], np.float32)
    assert np.allclose(T.adjust_hue(red, 1 / 3).ravel(), [0, 1, 0], atol=1e-6)    # red -> green
    assert np.allclose(T.adjust_hue(T.adjust_hue(px, 0.2), -0.2), px, atol=1e-6)
    u8 = np.random.default_rng(3).integers(0, 256, (3, 4, 4), dtype=np.uint8)
    assert np.array_equal(T.adjust_hue(u8, 0.0), u8)          # back to integers without losing a level
    img = Image.fromarray(_rgb())
    assert np.array_equal(np.asarray(T.ColorJitter(brightness=(1.0, 1.0))(img)), _rgb())
    assert T.ColorJitter(0.4, 0.4, 0.4, 0.1)(img).mode == "RGB"
    assert np.array_equal(np.asarray(T.adjust_saturation(img, 0.0).convert("L")),
                          np.asarray(img.convert("L")))
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.7)


def test_grayscale():
    x = np.array([[[1.0]], [[0.5]], [[0.25]]], np.float32)
    assert np.allclose(T.Grayscale()(x).ravel(), [0.2989 + 0.587 * 0.5 + 0.114 * 0.25])
    assert T.Grayscale(3)(nv.tensor(x)).shape == (3, 1, 1)
    u8 = np.array([[[255]], [[0]], [[0]]], np.uint8)
    assert T.Grayscale()(u8).ravel().tolist() == [76]              # 0.2989 * 255 = 76.2, truncated
    img = Image.fromarray(_rgb())
    assert np.array_equal(np.asarray(T.Grayscale()(img)), np.asarray(img.convert("L")))
    assert T.Grayscale(3)(img).mode == "RGB"


def test_compose_lambda_pipeline():
    t = T.Compose([T.Resize(8), T.CenterCrop(8), T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3),
                   T.Lambda(lambda v: v * 2)])
    out = t(Image.fromarray(_rgb(10, 12)))
    assert isinstance(out, nv.Tensor) and out.shape == (3, 8, 8)
    assert out.numpy().min() >= -2.0 and out.numpy().max() <= 2.0
    with pytest.raises(TypeError):
        T.Compose([3])
    with pytest.raises(TypeError):
        T.Lambda(3)


# ----------------------------------------------------------------------------- boxes move with the image

def _mask_box(mask):
    ys, xs = np.nonzero(mask)
    return np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float64)


def test_boxes_move_with_the_image():
    from nerve.vision.ops import box_iou
    img = np.zeros((1, 20, 30), np.float32)
    img[0, 3:9, 4:15] = 1.0
    box = _mask_box(img[0])
    out, b = T.RandomHorizontalFlip(p=1.0)(img, box)
    assert box_iou(b, _mask_box(out[0]))[0, 0] == 1.0 and b.tolist() == [[15, 3, 26, 9]]
    out, b = T.Resize((40, 60), interpolation="nearest")(img, box)
    assert box_iou(b, _mask_box(out[0]))[0, 0] == 1.0
    nv.manual_seed(3)
    out, b = T.Compose([T.RandomCrop(16, padding=3), T.RandomVerticalFlip(1.0)])(img, box)
    assert out.shape == (1, 16, 16)
    if out.any():
        assert box_iou(b, _mask_box(out[0]))[0, 0] == 1.0
    out, b = T.CenterCrop(10)(img, box)
    assert box_iou(b, _mask_box(out[0]))[0, 0] == 1.0
    pil_out, pb = T.RandomHorizontalFlip(1.0)(Image.fromarray((img[0] * 255).astype(np.uint8)), nv.tensor(box))
    assert isinstance(pb, nv.Tensor) and box_iou(pb, _mask_box(np.asarray(pil_out)))[0, 0].item() == 1.0
    out, same = T.Compose([T.ToTensor(), T.Normalize([0.0], [1.0])])(img[0].transpose(0, 1)[..., None], box)
    assert same is box
    with pytest.raises(ValueError, match=r"\(K, 4\)"):
        T.RandomHorizontalFlip(1.0)(img, np.zeros((2, 3)))


def test_tensor_and_pil_paths_agree():
    # Rotation by any angle with nearest sampling: the tensor path equals Pillow's pixel for pixel
    # (both turn about the image centre), so a pipeline gives the same result on either input.
    x = np.random.default_rng(0).integers(0, 256, (17, 20), dtype=np.uint8)
    for angle in (30.0, -47.0):
        nv.manual_seed(1)
        pil = np.asarray(T.RandomRotation((angle, angle))(Image.fromarray(x)))
        nv.manual_seed(1)
        ten = T.RandomRotation((angle, angle))(x[None])[0]
        assert np.array_equal(pil, ten)
    rgb = np.random.default_rng(1).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    for fn, tol in ((T.adjust_brightness, 0), (T.adjust_contrast, 1), (T.adjust_saturation, 1)):
        pil = np.asarray(fn(Image.fromarray(rgb), 0.6)).astype(int)
        ten = fn(rgb.transpose(2, 0, 1), 0.6).transpose(1, 2, 0).astype(int)
        assert np.abs(pil - ten).max() <= tol, fn.__name__


def test_pad_and_random_resized_crop():
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    assert T.Pad((1, 2, 0, 1))(x).shape == (1, 5, 4)
    assert T.Pad(1, padding_mode="edge")(x)[0, 0].tolist() == [0, 0, 1, 2, 2]
    out, b = T.Pad((2, 1))(x, np.array([[0.0, 0.0, 1.0, 1.0]]))
    assert b.tolist() == [[2, 1, 3, 2]]
    assert T.Pad(2)(Image.fromarray(_rgb())).size == (8, 9)
    # the draws, by hand: area fraction, log aspect ratio, then top and left
    img = np.random.default_rng(4).random((3, 20, 30)).astype(np.float32)
    nv.manual_seed(11)
    out = T.RandomResizedCrop(8, scale=(0.3, 0.6))(img)
    g = np.random.default_rng(11)
    target = 600 * g.uniform(0.3, 0.6)
    aspect = np.exp(g.uniform(np.log(3 / 4), np.log(4 / 3)))
    w, h = int(round(np.sqrt(target * aspect))), int(round(np.sqrt(target / aspect)))
    top, left = int(g.integers(0, 20 - h + 1)), int(g.integers(0, 30 - w + 1))
    assert np.allclose(out, T.Resize((8, 8))(img[:, top:top + h, left:left + w]))
    # impossible ratios fall back to the central crop clamped to the ratio
    assert T.RandomResizedCrop(4, scale=(0.99, 1.0), ratio=(5.0, 6.0)).params((10, 10)) == (4, 0, 2, 10)
    mask = np.zeros((1, 20, 30), np.float32)
    mask[0, 4:16, 6:24] = 1.0
    nv.manual_seed(2)
    out, box = T.RandomResizedCrop((10, 15), scale=(0.9, 1.0), interpolation="nearest")(
        mask, np.array([[6.0, 4.0, 24.0, 16.0]]))
    assert out.shape == (1, 10, 15) and box.shape == (1, 4)
    ys, xs = np.nonzero(out[0])
    assert abs(box[0, 0] - xs.min()) <= 1 and abs(box[0, 2] - xs.max() - 1) <= 1


def test_utils_are_nerve_data_grids(tmp_path):
    import nerve.data
    from nerve.vision import utils
    assert utils.make_grid is nerve.data.make_grid and utils.save_image is nerve.data.save_image
    imgs = T.ToTensor()(np.full((4, 4, 3), 255, np.uint8))[None]
    utils.save_image(imgs, tmp_path / "g.png", padding=0)
    assert np.asarray(Image.open(tmp_path / "g.png")).tolist() == np.full((4, 4, 3), 255).tolist()
