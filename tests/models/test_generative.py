"""Autoencoders, the VAE and the GAN models: shapes, formulas and the small demonstrations of
glossary rows 4 (autoencoder) and 92 (generative model)."""
import numpy as np
import pytest

import nerve as nv
from nerve import data, models, nn, optim
from nerve.autograd import gradcheck
from nerve.distributions import Independent, Normal, kl_divergence
from nerve.train import ModelObjective, Trainer, objective_loss


def test_autoencoders_encode_decode_and_call():
    x = nv.rand(3, 1, 28, 28)
    for name, code in (("autoencoder", 32), ("conv-autoencoder", 16)):
        ae = models.get_model(name)
        z = ae.encode(x)
        assert z.shape == (3, code)
        out = ae(x)
        assert out.shape == (3, 1, 28, 28)
        np.testing.assert_array_equal(out.numpy(), ae.decode(z).numpy())
        np.testing.assert_array_equal(out.numpy(), ae.reconstruct(x).numpy())
        assert 0 < out.numpy().min() and out.numpy().max() < 1  # sigmoid outputs
    with pytest.raises(ValueError, match="latent_dim must be a positive integer, got 0"):
        models.dense_autoencoder(latent_dim=0)
    with pytest.raises(ValueError, match="multiple of 4"):
        models.conv_autoencoder(image_size=30)


def _low_rank(seed):
    rng = np.random.default_rng(seed)
    n, d, k = 512, 20, 3
    basis = np.linalg.qr(rng.normal(size=(d, k)))[0]
    x = (rng.normal(size=(n, k)) * [3.0, 2.0, 1.5]) @ basis.T + 0.05 * rng.normal(size=(n, d)) + rng.normal(size=d)
    return x.astype(np.float32)


def principal_angles(a, b):
    """Angles between the column spaces of a and b: arccos of the singular values of Q1ᵀQ2."""
    q1, q2 = np.linalg.qr(np.asarray(a, np.float64))[0], np.linalg.qr(np.asarray(b, np.float64))[0]
    return np.arccos(np.clip(np.linalg.svd(q1.T @ q2, compute_uv=False), -1.0, 1.0))


@pytest.mark.parametrize("seed", [0, 1])
def test_linear_autoencoder_learns_the_pca_subspace(seed):
    """Baldi & Hornik 1989: a linear AE under MSE spans PCA's top-k subspace.

    Measured (1500 full-batch Adam steps at lr 0.03, cosine schedule): largest angle
    0.00036 / 0.00062 / 0.00094 / 0.0012 rad for seeds 0-3.
    """
    PCA = pytest.importorskip("sklearn.decomposition").PCA
    x = _low_rank(seed)
    nv.manual_seed(seed)
    ae = models.linear_autoencoder(20, 3)
    opt = optim.Adam(ae.parameters(), lr=0.03)
    Trainer(ae, opt, nn.MSELoss(), metrics=(), scheduler=optim.lr_scheduler.CosineAnnealingLR(opt, T_max=1500)).fit(
        data.DataLoader(data.TensorDataset(x, x), batch_size=512), 1500)
    angles = principal_angles(ae.decoder.weight.numpy(), PCA(3).fit(x).components_.T)
    assert angles.max() < 0.01, angles
    # a random subspace is far off: the check can fail
    assert principal_angles(np.random.default_rng(9).normal(size=(20, 3)), PCA(3).fit(x).components_.T).max() > 0.5


def test_principal_angles_of_known_subspaces():
    e = np.eye(4)
    np.testing.assert_allclose(principal_angles(e[:, :2], e[:, [1, 0]]), [0, 0], atol=1e-7)
    c, s = np.cos(0.3), np.sin(0.3)
    np.testing.assert_allclose(sorted(principal_angles(e[:, :2], np.stack([e[:, 0], c * e[:, 1] + s * e[:, 2]], 1))),
                               [0, 0.3], atol=1e-7)


# ------------------------------------------------------------------------------ VAE
def _vae(**kw):
    nv.manual_seed(0)
    return models.get_model("vae", **{"in_shape": (6,), "latent_dim": 3, "hidden": (5,), **kw})


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_elbo_equals_its_terms(likelihood):
    vae = _vae(likelihood=likelihood)
    x = nv.tensor(np.random.default_rng(0).random((4, 6)).astype(np.float32))
    got = vae.elbo(x, generator=np.random.default_rng(5)).numpy()
    # by hand: encoder → (μ, log σ²), z = μ + σ·ε with the same ε, decoder, log-likelihood, KL
    h = vae.encoder(x).numpy().astype(np.float64)
    mu, logvar = h[:, :3], h[:, 3:]
    z = mu + np.exp(0.5 * logvar) * np.random.default_rng(5).standard_normal((4, 3))
    out = vae.decoder(nv.tensor(z.astype(np.float32))).numpy().astype(np.float64)
    xv = x.numpy().astype(np.float64)
    if likelihood == "bernoulli":
        loglik = (xv * out - np.logaddexp(0, out)).sum(1)
    else:
        s = float(np.exp(vae.log_scale.numpy()))
        loglik = (-0.5 * ((xv - out) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)).sum(1)
    kl = -0.5 * (1 + logvar - mu ** 2 - np.exp(logvar)).sum(1)
    np.testing.assert_allclose(got, loglik - kl, rtol=1e-4, atol=1e-4)
    assert float(vae.loss(x, generator=np.random.default_rng(5))) == pytest.approx(-(loglik - kl).mean(), rel=1e-4)


@pytest.mark.torch
def test_vae_kl_matches_torch():
    torch = pytest.importorskip("torch")
    vae = _vae()
    x = nv.tensor(np.random.default_rng(1).random((4, 6)).astype(np.float32))
    q = vae.posterior(x)
    ours = kl_divergence(q, vae.prior(4)).numpy()
    mu, sd = q.base_dist.loc.numpy(), q.base_dist.scale.numpy()
    tq = torch.distributions.Independent(torch.distributions.Normal(torch.tensor(mu), torch.tensor(sd)), 1)
    tp = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(4, 3), torch.ones(4, 3)), 1)
    np.testing.assert_allclose(ours, torch.distributions.kl_divergence(tq, tp).numpy(), rtol=1e-5)


def test_gradients_through_the_reparameterised_elbo_pass_gradcheck():
    nv.set_default_dtype(np.float64)
    vae = _vae(likelihood="gaussian")
    rng = np.random.default_rng(2)
    x = nv.tensor(rng.normal(size=(2, 6)), requires_grad=True)
    # through the encoder, the reparameterised draw and the decoder (the same ε every call)
    assert gradcheck(lambda x: vae.elbo(x, generator=np.random.default_rng(3)), [x])
    mu = nv.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    logvar = nv.tensor(rng.normal(size=(2, 3)) * 0.3, requires_grad=True)

    def elbo_of_posterior(mu, logvar):
        q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
        z = q.rsample(generator=np.random.default_rng(4))
        return vae.likelihood_of(z).log_prob(x.detach()) - kl_divergence(q, vae.prior(2))

    assert gradcheck(elbo_of_posterior, [mu, logvar])


def test_vae_codes_samples_and_reconstructions():
    vae = models.get_model("vae", latent_dim=4)
    x = nv.rand(5, 1, 28, 28)
    assert isinstance(vae.posterior(x), Independent) and vae.posterior(x).event_shape == (4,)
    np.testing.assert_array_equal(vae.encode(x).numpy(), vae.posterior(x).mean.numpy())
    rec = vae.reconstruct(x).numpy()
    assert rec.shape == (5, 1, 28, 28) and ((rec > 0) & (rec < 1)).all()  # Bernoulli means
    a = vae.sample(3, generator=np.random.default_rng(0)).numpy()
    np.testing.assert_array_equal(a, vae.sample(3, generator=np.random.default_rng(0)).numpy())
    assert set(np.unique(vae.sample(2, noise=True).numpy())) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="positive integer n, got 0"):
        vae.sample(0)
    with pytest.raises(ValueError, match="likelihood must be one of bernoulli, gaussian"):
        models.get_model("vae", likelihood="poisson")


def test_vae_on_2d_data_matches_the_mean_and_covariance():
    """Row 92: a Gaussian-likelihood VAE on correlated 2-D data; its samples (with decoder noise)
    have mean within 10 % of a std and covariance within 10 % (Frobenius) of the data's.
    Measured (seeds 0/1/2, 30 epochs): covariance errors 4-6 %, mean errors ≤ 0.05 std."""
    rng = np.random.default_rng(0)
    x = rng.multivariate_normal([1.0, -2.0], [[2.0, 1.2], [1.2, 1.0]], size=2048).astype(np.float32)
    vae = _vae(in_shape=(2,), latent_dim=2, hidden=(32,), likelihood="gaussian")
    obj = ModelObjective(vae)
    h = Trainer(obj, optim.Adam(obj.parameters(), lr=5e-3), objective_loss, metrics=()).fit(
        data.DataLoader(data.TensorDataset(x, x), batch_size=128, shuffle=True, seed=0), 30)
    assert h["loss"][-1] < h["loss"][0]
    s = vae.sample(20000, generator=np.random.default_rng(1), noise=True).numpy()
    cx, cs = np.cov(x.T), np.cov(s.T)
    assert (np.abs(s.mean(0) - x.mean(0)) < 0.1 * x.std(0)).all(), (s.mean(0), x.mean(0))
    assert np.linalg.norm(cs - cx) < 0.1 * np.linalg.norm(cx), (cs, cx)


# ------------------------------------------------------------------------------ GAN
def test_gan_models():
    gan = models.get_model("dcgan")
    s = gan.sample(4, generator=np.random.default_rng(0))
    assert s.shape == (4, 1, 28, 28) and np.abs(s.numpy()).max() <= 1
    assert gan.discriminator(s).shape == (4, 1)
    assert gan.noise(3).shape == (3, 64)
    sn = models.get_model("dcgan", spectral_norm=True)
    assert any(name.endswith("weight_orig") for name, _ in sn.discriminator.named_parameters())
    ring = models.mlp_gan()
    assert ring.sample(5).shape == (5, 2) and ring.discriminator(ring.sample(5)).shape == (5, 1)
    with pytest.raises(ValueError, match="positive integer n"):
        ring.sample(-1)


@pytest.mark.parametrize("name", ["autoencoder", "vae", "gan"])
def test_docstring_examples(name):
    import doctest
    import importlib
    mod = importlib.import_module(f"nerve.models.{name}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
