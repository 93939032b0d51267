"""Affine warps, integer shifts and Gaussian noise; plain-NumPy references for every fixed op."""
import ast
import inspect
import math
import textwrap

import numpy as np
import pytest

from nerve.data import Compose
from nerve.data import augment
from nerve.data.augment import (GaussianNoise, RandomAffine, RandomCrop, RandomHorizontalFlip, RandomRotation,
                                RandomShift, RandomVerticalFlip, affine, center_crop, crop, hflip, pad, rotate,
                                shift, vflip)


def _imgs(n=8, c=3, h=6, w=7, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(dtype)


# ----------------------------------------------------------------------------- existing ops, NumPy references

def test_flips_crops_and_pad_equal_plain_numpy_bit_for_bit():
    x = _imgs()
    assert np.array_equal(hflip(x), x[..., ::-1]) and np.array_equal(vflip(x), x[..., ::-1, :])
    assert np.array_equal(hflip(x[0]), x[0, ..., ::-1])
    assert np.array_equal(crop(x, 1, 2, 3, 4), x[..., 1:4, 2:6])
    assert np.array_equal(center_crop(x, (4, 3)), x[..., 1:5, 2:5])
    assert np.array_equal(pad(x, (1, 2, 3, 4), fill=0.5),
                          np.pad(x, ((0, 0), (0, 0), (2, 4), (1, 3)), constant_values=0.5))
    assert np.array_equal(RandomHorizontalFlip(p=1.0, seed=0)(x), x[..., ::-1])
    assert np.array_equal(RandomVerticalFlip(p=1.0, seed=0)(x), x[..., ::-1, :])
    assert np.array_equal(RandomHorizontalFlip(p=0.0, seed=0)(x), x)
    assert np.array_equal(RandomCrop((6, 7), seed=0)(x), x)  # the only window is the image


def test_random_crop_equals_slicing_at_the_drawn_offsets():
    x = _imgs(n=12, h=8, w=9)
    t = RandomCrop((5, 6), padding=2, seed=4)
    state = t.state_dict()
    out = t(x)
    g = np.random.default_rng()
    g.bit_generator.state = state  # replay the draws: tops first, then lefts
    tops, lefts = g.integers(0, 12 - 5 + 1, size=12), g.integers(0, 13 - 6 + 1, size=12)
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    for i in range(12):
        assert np.array_equal(out[i], padded[i, :, tops[i]:tops[i] + 5, lefts[i]:lefts[i] + 6])


# ----------------------------------------------------------------------------- shift

def test_shift_equals_pad_and_slice():
    x = _imgs(h=6, w=7)
    ref = np.pad(x, ((0, 0), (0, 0), (0, 1), (2, 0)))[..., 1:, :7]  # right by 2, up by 1
    out = shift(x, 2, -1)
    assert out.dtype == np.float32 and np.array_equal(out, ref)
    ref = np.pad(x, ((0, 0), (0, 0), (3, 0), (0, 1)), constant_values=-1.0)[..., :6, 1:]  # left 1, down 3
    assert np.array_equal(shift(x, -1, 3, fill=-1.0), ref)
    assert np.array_equal(shift(x, 0, 0), x)
    assert np.all(shift(x, 7, 0) == 0) and np.all(shift(x, 0, -6, fill=2.0) == 2.0)  # moved off the image
    single = np.pad(x[0], ((0, 0), (0, 1), (2, 0)))[:, 1:, :7]  # one (C, H, W) image
    assert np.array_equal(shift(x[0], 2, -1), single)


def test_shift_keeps_integer_dtypes_takes_per_channel_fill_and_per_image_shifts():
    u = (_imgs(n=64, h=5, w=5) * 255).astype(np.uint8)
    dx = np.random.default_rng(1).integers(-3, 4, size=64)
    dy = np.random.default_rng(2).integers(-3, 4, size=64)
    out = shift(u, dx, dy, fill=(1, 2, 3))
    assert out.dtype == np.uint8
    for i in range(64):  # the reference loops; shift itself gathers the whole batch at once
        assert np.array_equal(out[i], shift(u[i], int(dx[i]), int(dy[i]), fill=(1, 2, 3)))
    moved = shift(u[:1], 5, 0, fill=(1, 2, 3))
    assert moved[0, :, 0, 0].tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="whole pixels"):
        shift(u, 0.5, 0)
    with pytest.raises(ValueError, match="one int per image"):
        shift(u, np.zeros(3, int), 0)
    with pytest.raises(ValueError, match="per channel"):
        shift(u, 1, 1, fill=(1, 2))


# ----------------------------------------------------------------------------- affine

@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_affine_identity_is_exact(interpolation):
    x = _imgs(h=6, w=7)
    out = affine(x, angle=0, translate=(0, 0), scale=1, shear=0, interpolation=interpolation)
    assert out.dtype == np.float32 and np.array_equal(out, x)
    x64 = x.astype(np.float64)
    assert np.array_equal(affine(x64, 0, (0, 0), 1.0, (0, 0), interpolation=interpolation), x64)
    u = (x * 255).astype(np.uint8)
    same = affine(u, interpolation=interpolation)
    assert same.dtype == np.uint8  # integer pixels stay integers in both modes (torchvision)
    assert np.array_equal(same, u)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("size", [5, 6])
def test_quarter_turns_equal_rot90_counter_clockwise(interpolation, size):
    x = _imgs(h=size, w=size)
    for k in range(-2, 5):
        out = affine(x, angle=90 * k, interpolation=interpolation)
        assert np.array_equal(out, np.rot90(x, k=k % 4, axes=(-2, -1))), k
    # direction, spelled out: the top-right corner moves to the top-left
    corner = np.zeros((1, 3, 3), np.float32)
    corner[0, 0, 2] = 1
    assert affine(corner, 90, interpolation=interpolation)[0].tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 0]]


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_integer_translation_equals_shift(interpolation):
    x = _imgs(h=6, w=7)
    out = affine(x, translate=(2, -1), fill=0.25, interpolation=interpolation)
    assert np.array_equal(out, shift(x, 2, -1, fill=0.25))


def test_rotate_and_random_rotation_use_the_affine_convention():
    x = _imgs(h=7, w=7)
    assert np.array_equal(rotate(x, 33.0), affine(x, 33.0))
    assert np.array_equal(rotate(x, 33.0, interpolation="bilinear"), affine(x, 33.0, interpolation="bilinear"))
    r = RandomRotation((90, 90), seed=0, interpolation="bilinear")(x)
    assert np.array_equal(r, np.rot90(x, 1, axes=(-2, -1)))


def test_affine_scale_zooms_about_the_centre():
    x = np.zeros((1, 5, 5), np.float32)
    x[0, 2, 2], x[0, 2, 3] = 1, 2  # the centre pixel and its right neighbour
    out = affine(x, scale=2.0, interpolation="nearest")[0]
    assert out[2, 2] == 1 and out[2, 4] == 2  # the neighbour one step out lands two steps out
    shrunk = affine(x, scale=0.5, fill=-1, interpolation="nearest")[0]
    assert shrunk[0, 0] == -1 and shrunk[2, 2] == 1  # the corner reads from outside the input


def _torchvision_inverse(angle, translate, scale, shear):
    """torchvision's inverse affine matrix (rotation passed as ``-angle``, centre at the origin)."""
    rot, sx, sy = math.radians(-angle), math.radians(shear[0]), math.radians(shear[1])
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = np.array([[d, -b], [-c, a]]) / scale
    return np.concatenate([m, -(m @ np.asarray(translate, float))[:, None]], axis=1)  # (2, 3)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_affine_matches_torch_grid_sample_with_torchvision_matrix(interpolation):
    torch = pytest.importorskip("torch")
    x = _imgs(n=4, h=9, w=11, dtype=np.float64)
    n, _, h, w = x.shape
    for angle, translate, scale, shear in [(30, (1.5, -2), 1.2, (10, -5)), (-71, (0, 0), 0.7, (0, 20)),
                                           (0, (3, 1), 1.0, (25, 0)), (145, (-2, 0.5), 1.6, (-12, 7))]:
        m = torch.tensor(_torchvision_inverse(angle, translate, scale, shear))
        xs = torch.arange(w, dtype=torch.float64) - (w - 1) / 2
        ys = torch.arange(h, dtype=torch.float64) - (h - 1) / 2
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        base = torch.stack([gx, gy, torch.ones_like(gx)], -1)  # (H, W, 3) centred pixel positions
        grid = (base @ m.T) / torch.tensor([w / 2, h / 2], dtype=torch.float64)  # align_corners=False units
        ref = torch.nn.functional.grid_sample(torch.from_numpy(x), grid.expand(n, h, w, 2), mode=interpolation,
                                              padding_mode="zeros", align_corners=False).numpy()
        out = affine(x, angle, translate, scale, shear, fill=0, interpolation=interpolation)
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_per_image_parameters_on_a_batch_of_64(interpolation):
    rng = np.random.default_rng(5)
    x = _imgs(n=64, h=10, w=12, seed=5)
    angle, scale = rng.uniform(-180, 180, 64), rng.uniform(0.6, 1.4, 64)
    translate, shear = rng.uniform(-3, 3, (64, 2)), rng.uniform(-20, 20, (64, 2))
    out = affine(x, angle, translate, scale, shear, fill=0.5, interpolation=interpolation)
    assert out.shape == x.shape and out.dtype == np.float32
    for i in range(0, 64, 9):  # the reference loops; affine itself builds one (64, H, W) sampling grid
        one = affine(x[i], angle[i], translate[i], scale[i], shear[i], fill=0.5, interpolation=interpolation)
        assert np.array_equal(out[i], one)


def test_affine_errors_name_the_value():
    x = _imgs(n=4)
    with pytest.raises(ValueError, match="scale must be > 0"):
        affine(x, scale=0)
    with pytest.raises(ValueError, match="between -90 and 90"):
        affine(x, shear=90)
    with pytest.raises(ValueError, match=r"one value per image, shape \(4,\)"):
        affine(x, angle=np.zeros(3))
    with pytest.raises(ValueError, match=r"one pair per image, shape \(4, 2\)"):
        affine(x, translate=np.zeros((4, 3)))
    with pytest.raises(ValueError, match="interpolation"):
        affine(x, 10, interpolation="bicubic")
    with pytest.raises(ValueError, match="finite"):
        affine(x, angle=np.nan)


# ----------------------------------------------------------------------------- random transforms

def test_random_affine_seeded_reproducible_and_replays_its_params():
    x = _imgs(n=64, h=12, w=12)

    def make(seed):
        return RandomAffine(20, translate=(0.2, 0.1), scale=(0.8, 1.2), shear=(-5, 5, -3, 3), fill=0.5, seed=seed)

    a = make(0)(x)
    assert a.shape == x.shape and a.dtype == np.float32
    assert np.array_equal(a, make(0)(x)) and not np.array_equal(a, make(1)(x))
    t = make(7)
    state = t.state_dict()
    out = t(x)
    t.load_state_dict(state)
    p = t.sample_params(64, 12, 12)
    assert np.array_equal(out, affine(x, **p, fill=0.5))
    assert np.all(np.abs(p["angle"]) <= 20) and np.all((p["scale"] >= 0.8) & (p["scale"] <= 1.2))
    assert np.all(p["translate"] == np.rint(p["translate"]))  # whole pixels, as torchvision rounds them
    assert np.all(np.abs(p["translate"][:, 0]) <= 0.2 * 12) and np.all(np.abs(p["translate"][:, 1]) <= 0.1 * 12)
    assert np.all(np.abs(p["shear"][:, 0]) <= 5) and np.all(np.abs(p["shear"][:, 1]) <= 3)
    assert len(np.unique(p["angle"])) == 64  # one draw per image
    only_x = RandomAffine(0, shear=10, seed=0).sample_params(8, 5, 5)["shear"]
    assert np.all(only_x[:, 1] == 0) and np.all(np.abs(only_x[:, 0]) <= 10)
    assert np.array_equal(RandomAffine(0, seed=0)(x), x)  # nothing to draw: the identity
    assert np.array_equal(RandomAffine((90, 90), seed=0)(x), np.rot90(x, 1, axes=(-2, -1)))
    single = RandomAffine(15, seed=3)(x[0])
    assert single.shape == x[0].shape


def test_random_affine_rejects_bad_ranges():
    with pytest.raises(ValueError, match="translate"):
        RandomAffine(0, translate=(0.5, 1.5))
    with pytest.raises(ValueError, match="scale"):
        RandomAffine(0, scale=(0.0, 1.0))
    with pytest.raises(ValueError, match="shear"):
        RandomAffine(0, shear=(1, 2, 3))
    with pytest.raises(ValueError, match="degrees"):
        RandomAffine((10, -10))
    with pytest.raises(ValueError, match="interpolation"):
        RandomAffine(10, interpolation="cubic")


def test_random_shift_draws_whole_pixels_in_range():
    x = _imgs(n=64, h=6, w=6)
    t = RandomShift((2, 1), fill=-1.0, seed=0)
    state = t.state_dict()
    out = t(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    g = np.random.default_rng()
    g.bit_generator.state = state  # replay: dx first, then dy
    dx, dy = g.integers(-2, 3, size=64), g.integers(-1, 2, size=64)
    assert np.array_equal(out, shift(x, dx, dy, fill=-1.0))
    assert set(dx.tolist()) == {-2, -1, 0, 1, 2} and set(dy.tolist()) == {-1, 0, 1}
    assert np.array_equal(RandomShift(3, seed=1)(x), RandomShift(3, seed=1)(x))
    assert not np.array_equal(RandomShift(3, seed=1)(x), RandomShift(3, seed=2)(x))
    assert np.array_equal(RandomShift(0, seed=0)(x), x)
    u = (x * 255).astype(np.uint8)
    assert RandomShift(1, seed=0)(u).dtype == np.uint8
    with pytest.raises(ValueError, match="max_shift"):
        RandomShift(1.5)
    with pytest.raises(ValueError, match="max_shift"):
        RandomShift(-1)


def test_gaussian_noise_has_the_requested_mean_and_std():
    x = np.zeros((256, 3, 32, 32), np.float32)  # 786432 draws: standard error of the mean ~ 6e-4
    out = GaussianNoise(0.5, mean=0.2, seed=0)(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert abs(out.mean() - 0.2) < 5e-3 and abs(out.std() - 0.5) < 5e-3
    y = _imgs(n=64, h=8, w=8)
    noise = GaussianNoise(0.1, seed=1)(y) - y
    assert abs(noise.mean()) < 3e-3 and abs(noise.std() - 0.1) < 3e-3
    assert np.array_equal(GaussianNoise(0.0, mean=0.25, seed=0)(y), y + np.float32(0.25))


def test_gaussian_noise_clip_seed_and_dtypes():
    x = np.full((64, 1, 8, 8), 0.5, np.float32)
    out = GaussianNoise(1.0, clip=(0.0, 1.0), seed=0)(x)
    assert out.dtype == np.float32 and out.min() == 0.0 and out.max() == 1.0
    assert np.array_equal(out, GaussianNoise(1.0, clip=(0.0, 1.0), seed=0)(x))
    assert not np.array_equal(out, GaussianNoise(1.0, clip=(0.0, 1.0), seed=1)(x))
    assert GaussianNoise(0.1, seed=0)(x.astype(np.float64)).dtype == np.float64
    assert GaussianNoise(3.0, seed=0)(np.zeros((4, 5), np.uint8)).dtype == np.float32  # any shape; ints -> float32
    assert not np.shares_memory(x, GaussianNoise(0.1, seed=0)(x))  # a new array
    with pytest.raises(ValueError, match="std"):
        GaussianNoise(-0.1)
    with pytest.raises(ValueError, match="clip"):
        GaussianNoise(0.1, clip=(1, 0))


def test_new_augmentations_compose_and_reproduce():
    x = _imgs(n=32, h=10, w=10)

    def aug(seed):
        return Compose([RandomShift(2, seed=seed), RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1),
                                                                interpolation="bilinear", seed=seed),
                        GaussianNoise(0.05, clip=(0, 1), seed=seed)])

    a = aug(0)(x)
    assert a.dtype == np.float32 and np.array_equal(a, aug(0)(x)) and not np.array_equal(a, aug(1)(x))
    assert all(not t.deterministic for t in aug(0).transforms)


def test_batch_paths_have_no_python_loops():
    """Read the code: the batch kernels are whole-array NumPy (no `for`/`while` over images)."""
    funcs = [augment.shift, augment.affine, augment._affine_batch, augment._inverse_affine, augment._sample,
             augment._gather, augment.RandomShift.apply_batch, augment.RandomAffine.apply_batch,
             augment.RandomAffine.sample_params, augment.GaussianNoise.apply_batch]
    for f in funcs:
        tree = ast.parse(textwrap.dedent(inspect.getsource(f)))
        loops = [type(node).__name__ for node in ast.walk(tree)
                 if isinstance(node, (ast.For, ast.While, ast.comprehension))]
        assert not loops, f"{f.__qualname__} loops: {loops}"


def test_batched_shift_fast_path_equals_the_general_gather_bit_for_bit():
    # shift() pads and takes one window per image; the per-pixel gather is the reference
    from nerve.data import augment as A

    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 3, 9, 7)).astype(np.float32)
    dx, dy = rng.integers(-2, 3, 40), rng.integers(-2, 3, 40)
    n, c, h, w = x.shape
    yi = np.arange(h)[None, :, None] - dy[:, None, None]
    xi = np.arange(w)[None, None, :] - dx[:, None, None]
    ref = A._gather(x, yi, xi, A._fill_array([1.0, 2.0, 3.0], c, x.dtype))
    out = A.shift(x, dx, dy, fill=[1.0, 2.0, 3.0])
    assert out.dtype == np.float32 and np.array_equal(out, ref)
