"""Transforms and label utilities."""
import numpy as np
import pytest

from nerve.data import Compose, Flatten, Lambda, Normalize, OneHot, Scale01, class_weights, one_hot
from nerve.data.transforms import split_deterministic


def test_scale01_exact_and_errors():
    x = np.arange(256, dtype=np.uint8).reshape(4, 1, 8, 8)
    out = Scale01()(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert out.min() == 0.0 and out.max() == 1.0
    np.testing.assert_array_equal(out, (x.astype(np.float32) / np.float32(255)))
    with pytest.raises(TypeError, match="expects uint8"):
        Scale01()(out)


def test_scale01_matches_torchvision_to_tensor_scaling():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).integers(0, 256, size=(3, 5, 5), dtype=np.uint8)
    ref = torch.from_numpy(x).float().div(255).numpy()
    assert np.array_equal(Scale01()(x), ref)


def test_normalize_per_channel_3d_4d_and_scalar():
    rng = np.random.default_rng(1)
    x4 = rng.random((2, 3, 4, 4), dtype=np.float32)
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    out = Normalize(mean, std)(x4)
    m, s = np.array(mean, np.float32)[:, None, None], np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(out, (x4 - m) / s, rtol=1e-6)
    np.testing.assert_array_equal(Normalize(mean, std)(x4[0]), out[0])
    assert out.dtype == np.float32 and not np.shares_memory(out, x4)
    x2 = rng.random((5, 7))
    np.testing.assert_allclose(Normalize(0.5, 0.25)(x2), (x2 - 0.5) / 0.25)
    with pytest.raises(ValueError, match="3 channel values"):
        Normalize(mean, std)(rng.random((2, 1, 4, 4)).astype(np.float32))
    with pytest.raises(ValueError, match="non-zero"):
        Normalize(0.0, 0.0)
    with pytest.raises(TypeError, match="Scale01"):
        Normalize(0.5, 0.5)(np.zeros(3, np.uint8))


def test_normalize_matches_torchvision_formula():
    """torchvision's normalize is ``tensor.sub_(mean[:, None, None]).div_(std[:, None, None])``."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).random((3, 6, 6), dtype=np.float32)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    t = torch.from_numpy(x.copy())
    ref = t.sub_(torch.tensor(mean)[:, None, None]).div_(torch.tensor(std)[:, None, None]).numpy()
    assert np.array_equal(Normalize(mean, std)(x), ref)


def test_onehot_flatten_compose_lambda():
    y = np.array([3, 0, 2])
    oh = OneHot(4)(y)
    assert oh.shape == (3, 4) and oh.dtype == np.float32
    assert np.array_equal(oh.argmax(1), y) and np.all(oh.sum(1) == 1)
    assert Flatten()(np.zeros((5, 1, 28, 28))).shape == (5, 784)
    assert Flatten(0)(np.zeros((2, 3))).shape == (6,)
    t = Compose([Scale01(), Normalize(0.5, 0.5), Flatten()])
    out = t(np.full((2, 1, 2, 2), 0, np.uint8))
    assert out.shape == (2, 4) and np.all(out == -1.0)
    assert t.deterministic and not Compose([Scale01(), Lambda(np.flip)]).deterministic
    assert Lambda(np.negative, deterministic=True)(np.array([2])).tolist() == [-2]
    with pytest.raises(TypeError, match="not callable"):
        Compose([1])


def test_split_deterministic_prefix():
    rand = Lambda(lambda a: a + np.random.default_rng().random())
    pre, post = split_deterministic(Compose([Scale01(), Flatten(), rand, Flatten()]))
    assert isinstance(pre, Compose) and len(pre.transforms) == 2
    assert isinstance(post, Compose) and post.transforms[0] is rand
    assert split_deterministic(Scale01())[1] is None and split_deterministic(rand)[0] is None


def test_one_hot_matches_torch_and_sklearn():
    y = np.random.default_rng(3).integers(0, 6, size=50)
    ours = one_hot(y, 6)
    torch = pytest.importorskip("torch")
    assert np.array_equal(ours, torch.nn.functional.one_hot(torch.from_numpy(y), 6).numpy())
    sk = pytest.importorskip("sklearn.preprocessing")
    enc = sk.OneHotEncoder(categories=[list(range(6))], sparse_output=False)
    assert np.array_equal(ours, enc.fit_transform(y[:, None]))
    assert one_hot(np.array([[1], [0]]), 2).shape == (2, 1, 2)
    with pytest.raises(ValueError, match="outside"):
        one_hot([0, 3], 3)


def test_class_weights_equal_sklearn_balanced():
    sk = pytest.importorskip("sklearn.utils.class_weight")
    rng = np.random.default_rng(4)
    y = rng.choice(5, size=997, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    ref = sk.compute_class_weight("balanced", classes=np.arange(5), y=y)
    np.testing.assert_allclose(class_weights(y), ref, rtol=1e-15)
    np.testing.assert_allclose(class_weights(y, num_classes=5), ref, rtol=1e-15)
    with pytest.raises(ValueError, match=r"classes \[5\] never occur"):
        class_weights(y, num_classes=6)
