"""The TensorFlow-Playground-style 2-D sets: shapes, balance, the rule behind each label, seeds."""
import numpy as np
import pytest

from nerve.data import PLAYGROUND_SETS, make_playground


@pytest.mark.parametrize("name", PLAYGROUND_SETS)
def test_shapes_balance_and_determinism(name):
    x, y = make_playground(name, 301, noise=0.1, seed=3)
    assert x.shape == (301, 2) and x.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1} and int(y.sum()) == 151
    x2, y2 = make_playground(name, 301, noise=0.1, seed=3)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    x3, _ = make_playground(name, 301, noise=0.1, seed=4)
    assert not np.array_equal(x, x3)


def test_each_rule_holds_without_noise():
    x, y = make_playground("xor", 500, seed=0)
    assert np.array_equal(x[:, 0] * x[:, 1] < 0, y == 1)
    assert np.abs(x).min() >= 0.05 and np.abs(x).max() <= 1.0
    x, y = make_playground("circle", 500, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert r[y == 0].max() <= 0.5 + 1e-6 and r[y == 1].min() >= 0.7 - 1e-6
    x, y = make_playground("gaussians", 2000, seed=0)
    assert np.allclose(x[y == 0].mean(0), -0.5, atol=0.03) and np.allclose(x[y == 1].mean(0), 0.5, atol=0.03)
    x, y = make_playground("spiral", 500, seed=0)
    assert np.hypot(x[:, 0], x[:, 1]).max() <= 1.0 + 1e-6
    # the two arms are point reflections of each other: same radius distribution
    assert abs(np.hypot(*x[y == 0].T).mean() - np.hypot(*x[y == 1].T).mean()) < 0.05


def test_noise_moves_points():
    clean, _ = make_playground("circle", 400, noise=0.0, seed=1)
    noisy, _ = make_playground("circle", 400, noise=0.3, seed=1)
    r_clean, r_noisy = np.hypot(*clean.T), np.hypot(*noisy.T)
    assert r_noisy.max() > r_clean.max() + 0.1


@pytest.mark.parametrize("kwargs, match", [({"name": "moons"}, "unknown 2-D data set"),
                                           ({"name": "xor", "n": 1}, "n must be"),
                                           ({"name": "xor", "noise": 1.5}, "noise must be"),
                                           ({"name": "xor", "noise": True}, "noise must be")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_playground(**kwargs)
