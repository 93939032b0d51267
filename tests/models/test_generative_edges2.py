"""Second sweep of edge cases in the generative, structured and probabilistic models and in
nerve.distributions: inputs that used to pass silently and numbers that went NaN."""
import warnings

import numpy as np
import pytest

import nerve as nv
from nerve import models
from nerve.distributions import Categorical, Normal, kl_divergence


def _torch():
    return pytest.importorskip("torch")


def _grad(t):
    return np.asarray(t.grad.numpy() if hasattr(t.grad, "numpy") else t.grad)


# ---------------------------------------------------------------------------------------- VAE
def test_vae_elbo_rejects_inputs_of_another_layout():
    # The encoder flattens anything with the right size, but log p(x|z) broadcast a (N, 1, 28, 28)
    # batch against the (N, 28, 28) decoder output: an (N, N) "ELBO" and a wrong scalar loss.
    net = models.VAE(in_shape=(28, 28), latent_dim=3, hidden=(8,))
    x = nv.rand(4, 1, 28, 28)
    with pytest.raises(ValueError, match=r"in_shape=\(28, 28\).*\(4, 1, 28, 28\).*\(N, 28, 28\)"):
        net.elbo(x)
    with pytest.raises(ValueError, match="reshape"):
        net.loss(x)
    good = x.reshape(4, 28, 28)
    assert net.elbo(good).shape == (4,)
    assert net.loss(good).shape == ()


# ------------------------------------------------------------------------- Categorical KL
@pytest.mark.torch
def test_categorical_kl_with_a_masked_class_has_finite_gradients():
    # A class both policies mask out (logit -inf) adds nothing to the KL, so the KL and its
    # gradient must equal those of the problem without that class. torch's gradient is NaN
    # for every logit there (0 * (-inf - -inf)), and ours was too.
    torch = _torch()
    ell = np.array([[0.0, -np.inf, 1.0, 0.5], [2.0, 0.3, -np.inf, -1.0]])
    other = np.array([[0.0, -np.inf, 2.0, -0.5], [1.0, 0.0, 0.7, 0.2]])    # row 1: only p masks
    keep = [[0, 2, 3], [0, 1, 3]]
    a, b = nv.tensor(ell, requires_grad=True), nv.tensor(other, requires_grad=True)
    w = np.array([0.7, 1.3])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        kl = kl_divergence(Categorical(logits=a), Categorical(logits=b))
        (kl * nv.tensor(w)).sum().backward()
    for row in range(2):
        # the reference: Σ_k p_k (log p_k − log q_k) over the classes p can pick, in torch
        ta = torch.tensor(ell[row, keep[row]], requires_grad=True)
        tb = torch.tensor(other[row], requires_grad=True)
        lp = torch.log_softmax(ta, -1)
        lq = torch.log_softmax(tb, -1)[keep[row]]
        ref = (lp.exp() * (lp - lq)).sum()
        (ref * w[row]).backward()
        np.testing.assert_allclose(float(kl.numpy()[row]), ref.item(), rtol=1e-12)
        ga = np.zeros(4)
        ga[keep[row]] = ta.grad.numpy()
        np.testing.assert_allclose(_grad(a)[row], ga, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(_grad(b)[row], tb.grad.numpy(), rtol=1e-10, atol=1e-14)


# ------------------------------------------------------------------------- Normal, σ → 0
@pytest.mark.parametrize("scale", [1e-20, 1e-25, 1e-30])
def test_normal_log_prob_at_tiny_float32_scales_stays_finite(scale):
    # log p(x) = −z²/2 − log σ − ½ log 2π with z = (x − μ)/σ. Dividing by 2σ² instead underflows
    # in float32 (σ² < 1e-38): NaN at x = μ (0/0) and an infinite gradient in σ next to it.
    s = np.float32(scale)
    x = np.float32(1.5) * s                                              # z = 1.5 exactly
    sigma = nv.tensor(np.array([s], np.float32), requires_grad=True)
    mu = nv.tensor(np.zeros(1, np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        lp = Normal(mu, sigma).log_prob(nv.tensor(np.array([x, 0.0], np.float32)))
        lp.sum().backward()
    z = np.array([float(x) / float(s), 0.0])
    want = -0.5 * z * z - np.log(float(s)) - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(lp.numpy(), want, rtol=1e-6)
    # d/dσ = Σ (z² − 1)/σ and d/dμ = Σ z/σ, both finite in float32 here
    np.testing.assert_allclose(_grad(sigma), [np.sum(z * z - 1) / float(s)], rtol=1e-5)
    np.testing.assert_allclose(_grad(mu), [np.sum(z) / float(s)], rtol=1e-5)


def test_bernoulli_vae_rejects_inputs_outside_the_unit_interval():
    # x·ℓ − softplus(ℓ) has no upper bound for x > 1 or x < 0: a Bernoulli VAE trained on data in
    # [−1, 1] drove its "negative ELBO" to −1e4 and beyond instead of failing.
    net = models.VAE(in_shape=(3,), latent_dim=2, hidden=(4,))
    for bad in (-0.5, 1.5, np.nan):
        x = nv.tensor(np.array([[0.0, 1.0, bad], [0.2, 0.3, 0.4]], np.float32))
        with pytest.raises(ValueError, match=r"\[0, 1\], got .*likelihood='gaussian'"):
            net.loss(x)
    ok = nv.tensor(np.array([[0.0, 1.0, 0.5]], np.float32))
    assert np.isfinite(net.loss(ok).item())
    # the Gaussian VAE takes any real data
    gauss = models.VAE(in_shape=(3,), latent_dim=2, hidden=(4,), likelihood="gaussian")
    assert np.isfinite(gauss.loss(nv.tensor(np.array([[-3.0, 1.5, 0.0]], np.float32))).item())


def test_vae_takes_a_numpy_integer_latent_dim():
    net = models.VAE(in_shape=(3,), latent_dim=np.int64(2), hidden=(4,))
    assert net.latent_dim == 2 and type(net.latent_dim) is int
    assert net.encode(nv.rand(5, 3)).shape == (5, 2)


# ------------------------------------------------------------------ siamese, GCN, CapsNet, GAN
def test_make_pairs_never_pairs_an_example_with_itself_when_its_class_has_others():
    labels = np.array([0, 0, 1, 1, 2, 1, 0, 3, 3])          # class 2 has one example
    i, j, same = models.make_pairs(labels, 4000, seed=1)
    s = same == 1
    assert (labels[i][s] == labels[j][s]).all() and (labels[i][~s] != labels[j][~s]).all()
    self_pair = s & (i == j)
    assert self_pair.any()                                   # the lone class-2 example has no choice
    assert (labels[i][self_pair] == 2).all()
    # the partner is uniform over the anchor's other class members (0 → 1 or 6)
    counts = np.bincount(j[s & (i == 0)], minlength=labels.size)
    assert counts[0] == 0 and set(np.flatnonzero(counts)) == {1, 6}
    assert abs(counts[1] - counts[6]) < 0.3 * counts[[1, 6]].sum()


@pytest.mark.parametrize("n", [-1, 2.0, True])
def test_make_pairs_and_gan_noise_name_a_bad_count(n):
    with pytest.raises(ValueError, match=r"make_pairs: n_pairs must be a non-negative integer, got"):
        models.make_pairs(np.array([0, 1, 0, 1]), n)
    if n is not True and not isinstance(n, float):
        with pytest.raises(ValueError, match=r"noise\(n\) needs a non-negative integer n, got -1"):
            models.mlp_gan().noise(n)
    assert models.make_pairs(np.array([0, 1, 0, 1]), np.int64(3))[0].shape == (3,)
    assert models.mlp_gan().noise(0).shape == (0, 2)


def test_gcn_called_without_edges_says_what_it_needs():
    net = models.GCN(5, 4, 3)
    with pytest.raises(TypeError, match=r"net\(x, edge_index\).*got a Tensor and no edge_index"):
        net(nv.rand(4, 5))
    assert net(nv.rand(4, 5), np.array([[0, 1], [1, 0]])).shape == (4, 3)


def test_capsnet_rejects_an_image_too_small_for_its_two_convolutions():
    # image_size 4 used to build a DigitCaps over 0 input capsules without a word
    for size in (4, 2, 8.0):
        with pytest.raises(ValueError, match=r"image_size must be an integer of at least 5"):
            models.CapsNet(image_size=size)
    assert models.CapsNet(image_size=5, conv_channels=4, primary_types=2, primary_dim=2,
                          class_dim=2)(nv.rand(1, 1, 5, 5)).shape == (1, 10)


def test_mlp_gan_without_hidden_layers_maps_latent_to_data():
    # depth=0 built Linear(hidden → data) and Linear(hidden → 1), which cannot take the noise or
    # the data; the last layers take whatever came before them
    gan = models.mlp_gan(data_dim=2, latent_dim=3, hidden=16, depth=0)
    x = gan.sample(4)
    assert x.shape == (4, 2) and gan.discriminator(x).shape == (4, 1)
    assert gan.num_parameters() == (3 * 2 + 2) + (2 * 1 + 1)
    assert models.mlp_gan(depth=2).num_parameters() == (2 * 128 + 128 + 128 * 128 + 128 + 128 * 2 + 2) + \
        (2 * 128 + 128 + 128 * 128 + 128 + 128 + 1)
    with pytest.raises(ValueError, match="depth must be a non-negative integer"):
        models.mlp_gan(depth=-1)


def test_autoencoder_builders_check_sizes():
    # image_size 0 and -4 are multiples of 4 and used to build a model with empty or negative maps
    for size in (0, -4):
        with pytest.raises(ValueError, match=f"image_size must be a positive integer, got {size}"):
            models.conv_autoencoder(image_size=size)
    with pytest.raises(ValueError, match="in_channels must be a positive integer"):
        models.conv_autoencoder(in_channels=0)
    ae = models.dense_autoencoder(in_shape=(4,), latent_dim=2, hidden=8)    # an int: one hidden layer
    assert ae.num_parameters() == (4 * 8 + 8) + (8 * 2 + 2) + (2 * 8 + 8) + (8 * 4 + 4)
    assert ae(nv.rand(3, 4)).shape == (3, 4)


# ------------------------------------------------------------------------- sample shapes
def test_sample_shape_with_a_float_entry_is_an_error_not_truncated():
    # int(2.7) made (2.7,) draw 2 samples without a word; torch raises TypeError as well
    d = Normal(nv.zeros(3), 1.0)
    for bad in ((2.7,), (2.0,), (True,)):
        with pytest.raises(TypeError, match=r"sample_shape must be a tuple of non-negative integers"):
            d.sample(bad)
        with pytest.raises(TypeError, match=r"sample_shape must be a tuple"):
            Categorical(logits=nv.zeros(2, 4)).sample(bad)
    with pytest.raises(TypeError, match=r"Normal.expand: batch_shape must be a tuple of non-negative"):
        d.expand((2.0, 3))
    assert d.sample((np.int64(2), 1)).shape == (2, 1, 3)
    assert d.rsample(np.array([4])).shape == (4, 3)
    assert d.expand((2, 3)).batch_shape == (2, 3)


def test_vae_in_shape_must_hold_positive_integers():
    # (2.5,) was cut to (2,) by int() and gave a model for 2-feature inputs
    for bad in ((2.5,), (0, 3), (-1,), (True, 2)):
        with pytest.raises(ValueError, match=r"in_shape must be a tuple of positive integers"):
            models.VAE(in_shape=bad, latent_dim=2, hidden=(4,))
    # a bare int is one feature axis, for the VAE and the dense autoencoder alike
    net = models.VAE(in_shape=5, latent_dim=2, hidden=(4,))
    assert net.in_shape == (5,) and net.elbo(nv.rand(3, 5)).shape == (3,)
    assert models.dense_autoencoder(in_shape=5, latent_dim=2, hidden=(4,))(nv.rand(3, 5)).shape == (3, 5)


# ------------------------------------------------------------------------------ sampling
def test_sampling_takes_numpy_integer_temperature_and_top_p():
    # np.int64(1) was refused as "not a finite number >= 0", though 1 and np.float32(1) passed
    from nerve.models.sampling import filter_logits, sample_logits

    logits = np.log(np.array([[0.5, 0.3, 0.2]]))
    assert sample_logits(logits, temperature=np.int64(0)).tolist() == [0]
    a = sample_logits(np.repeat(logits, 50, 0), temperature=np.int64(1), generator=3)
    b = sample_logits(np.repeat(logits, 50, 0), temperature=1.0, generator=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(filter_logits(logits, top_p=np.int64(1)), logits)
    for bad in (np.int64(-1), True):
        with pytest.raises(ValueError, match="temperature must be a finite number >= 0"):
            sample_logits(logits, temperature=bad)


@pytest.mark.parametrize("scale", [1e-20, 1e-25, 1e-30])
def test_normal_kl_at_tiny_float32_scales_stays_finite(scale):
    # KL(N(μ, σ²) ‖ N(0, 1)) = (σ² + μ² − 1)/2 − log σ: finite for any σ > 0. Taking log(σ²) made
    # it +inf (σ² underflows), with an infinite gradient, the VAE's KL term at a sharp posterior.
    s = nv.tensor(np.array([scale, 0.5], np.float32), requires_grad=True)
    mu = nv.tensor(np.array([0.25, -1.0], np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        kl = kl_divergence(Normal(mu, s), Normal(0.0, 1.0))
        kl.sum().backward()
    sd = np.array([float(np.float32(scale)), 0.5])
    m = np.array([0.25, -1.0])
    np.testing.assert_allclose(kl.numpy(), 0.5 * (sd * sd + m * m - 1) - np.log(sd), rtol=1e-6)
    np.testing.assert_allclose(_grad(s), sd - 1 / sd, rtol=1e-5)
    np.testing.assert_allclose(_grad(mu), m, rtol=1e-6)
