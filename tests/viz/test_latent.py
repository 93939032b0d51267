"""Latent-space tools (glossary row 96): scatter of 2-D codes, interpolation, sample and
reconstruction grids, and the 2-D autoencoder demonstration on the digits."""
import numpy as np
import pytest

import nerve as nv
from nerve import data, models, nn, optim
from nerve.train import Trainer
from nerve.viz import (interpolate, interpolate_codes, latent_scatter, save_reconstructions,
                       save_samples)

from .pngcheck import check_png, png_size


def test_interpolate_codes_linear_and_spherical():
    z0, z1 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 2.0, 0.0])
    lin = interpolate_codes(z0, z1, 5)
    assert lin.shape == (5, 3)
    np.testing.assert_allclose(lin[2], [0.5, 1.0, 0.0])
    sph = interpolate_codes(z0, z1, 5, mode="spherical")
    np.testing.assert_array_equal(sph[0], z0)
    np.testing.assert_array_equal(sph[-1], z1)
    # slerp of orthogonal codes: the midpoint is at 45° with weights sin(π/4)
    np.testing.assert_allclose(sph[2], [np.sqrt(0.5), 2 * np.sqrt(0.5), 0.0])
    # parallel codes fall back to the straight line
    np.testing.assert_allclose(interpolate_codes(z0, 3 * z0, 3, "spherical"), interpolate_codes(z0, 3 * z0, 3))
    with pytest.raises(ValueError, match="same shape"):
        interpolate_codes(z0, z1[:2])
    with pytest.raises(ValueError, match="at least 2"):
        interpolate_codes(z0, z1, 1)
    with pytest.raises(ValueError, match="'linear' or 'spherical'"):
        interpolate_codes(z0, z1, 3, "cubic")


@pytest.mark.parametrize("mode", ["linear", "spherical"])
def test_interpolation_endpoints_decode_to_the_reconstructions(mode):
    ae = models.dense_autoencoder(latent_dim=4, hidden=(32,))
    x = nv.rand(2, 1, 28, 28)
    with nv.no_grad():
        z = ae.encode(x).numpy()
        rec = ae.reconstruct(x).numpy()
    path = interpolate(ae, z[0], z[1], steps=6, mode=mode).numpy()
    assert path.shape == (6, 1, 28, 28)
    np.testing.assert_array_equal(path[0], rec[0])
    np.testing.assert_array_equal(path[-1], rec[1])


def test_latent_scatter_png(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 600)
    z = rng.normal(size=(600, 2)) + 3 * np.stack([np.cos(y), np.sin(y)], 1)
    p = latent_scatter(z, y, tmp_path / "latent.png", class_names=[f"digit {i}" for i in range(10)])
    check_png(p)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        latent_scatter(np.zeros((5, 3)), np.zeros(5), tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"labels must have shape \(5,\)"):
        latent_scatter(np.zeros((5, 2)), np.zeros(4), tmp_path / "x.png")
    with pytest.raises(ValueError, match="NaN"):
        latent_scatter(np.full((5, 2), np.nan), np.zeros(5), tmp_path / "x.png")


def test_sample_and_reconstruction_grids(tmp_path):
    vae = models.get_model("vae", latent_dim=2, hidden=(16,))
    p = save_samples(vae, tmp_path / "s.png", n=16, generator=np.random.default_rng(0))
    assert png_size(p) == (8 * 30 + 2, 2 * 30 + 2)  # torchvision's layout: 28 px tiles, padding 2
    x = np.random.default_rng(0).random((10, 1, 28, 28)).astype(np.float32)
    p = save_reconstructions(vae, x, tmp_path / "r.png")
    assert png_size(p) == (8 * 30 + 2, 4 * 30 + 2)  # two pairs of rows for 10 images
    gan = models.get_model("dcgan")
    assert png_size(save_samples(gan, tmp_path / "g.png", n=8, value_range=(-1, 1))) == (8 * 30 + 2, 32)


def _digits_split():
    load_digits = pytest.importorskip("sklearn.datasets").load_digits
    x, y = load_digits(return_X_y=True)
    x = (x / 16).astype(np.float32)
    perm = np.random.default_rng(0).permutation(len(x))
    x, y = x[perm], y[perm]
    return x[:1300], y[:1300], x[1300:], y[1300:]


def knn_accuracy(z_train, y_train, z_test, y_test, k=5):
    d = ((z_test[:, None] - z_train[None]) ** 2).sum(-1)
    votes = y_train[np.argsort(d, 1)[:, :k]]
    pred = np.array([np.bincount(v, minlength=y_train.max() + 1).argmax() for v in votes])
    return float((pred == y_test).mean())


@pytest.mark.slow
def test_2d_autoencoder_on_the_digits(tmp_path):
    """Rows 4 and 96: a 64-128-32-2 autoencoder (BCE, Adam 3e-3, 100 epochs) on 1,300 of
    scikit-learn's 8×8 digits. On the 497 held-out digits the 5-NN accuracy of the 2-D codes
    is ≥ 80 % (measured 84.1 / 86.3 / 86.5 % for seeds 0/1/2)
    and the reconstruction MSE beats PCA with 2 components (0.033 against 0.053)."""
    PCA = pytest.importorskip("sklearn.decomposition").PCA
    x, y, xt, yt = _digits_split()
    ae = models.dense_autoencoder(in_shape=(64,), latent_dim=2, hidden=(128, 32))
    Trainer(ae, optim.Adam(ae.parameters(), lr=3e-3), nn.BCELoss(), metrics=()).fit(
        data.DataLoader(data.TensorDataset(x, x), batch_size=64, shuffle=True, seed=0), 100)
    with nv.no_grad():
        z, zt = ae.encode(nv.tensor(x)).numpy(), ae.encode(nv.tensor(xt)).numpy()
        rec = ae.reconstruct(nv.tensor(xt)).numpy()
    acc = knn_accuracy(z, y, zt, yt)
    pca = PCA(2).fit(x)
    mse_ae, mse_pca = float(((rec - xt) ** 2).mean()), float(((pca.inverse_transform(pca.transform(xt)) - xt) ** 2).mean())
    print(f"2-D AE on the digits: 5-NN accuracy {acc:.4f}, MSE {mse_ae:.4f} vs PCA {mse_pca:.4f}")
    assert acc >= 0.80
    assert mse_ae < mse_pca
    check_png(latent_scatter(zt, yt, tmp_path / "latent.png", title="2-D codes of held-out digits"))


def test_docstring_examples_and_names():
    import nerve.viz as viz
    for name in ("latent_scatter", "interpolate", "interpolate_codes", "save_samples", "save_reconstructions"):
        assert name in viz.__all__ and getattr(viz, name).__doc__
