"""Edge-case sweep of the generative and structured models and their training code, hunting
silent wrong answers: every objective and gradient recomputed independently (PyTorch as the
oracle, on tiny inputs) and the papers' definitions checked at their corners."""
import numpy as np
import pytest

import nerve as nv
from nerve import data, models, nn, optim
from nerve.train import GANTrainer, ModelObjective
from nerve.train.generative import discriminator_loss, generator_loss


def _copy_to_torch(torch, pairs):
    """Copy nerve parameters into torch parameters: ``pairs`` of (nerve Parameter, torch Parameter)."""
    with torch.no_grad():
        for ours, theirs in pairs:
            theirs.copy_(torch.tensor(ours.numpy()))


def _linears(seq):
    return [m for m in seq if type(m).__name__ == "Linear"]


# ------------------------------------------------------------------------------ GAN
def _tiny_gan():
    nv.manual_seed(0)
    return models.mlp_gan(data_dim=2, latent_dim=3, hidden=5, depth=1).double()


@pytest.mark.torch
def test_gan_losses_match_torch_bce_and_the_non_saturating_form():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(6, 1)) * 5, rng.normal(size=(6, 1)) * 5
    tr, tf = torch.tensor(real, requires_grad=True), torch.tensor(fake, requires_grad=True)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    t_d = bce(tr, torch.ones_like(tr)) + bce(tf, torch.zeros_like(tf))
    t_g = bce(tf, torch.ones_like(tf))                  # −log D(G(z)): non-saturating
    nr, nf = nv.tensor(real, requires_grad=True), nv.tensor(fake, requires_grad=True)
    d, g = discriminator_loss(nr, nf), generator_loss(nf)
    np.testing.assert_allclose(d.item(), t_d.item(), rtol=1e-12)
    np.testing.assert_allclose(g.item(), t_g.item(), rtol=1e-12)
    (t_d + t_g).backward()
    (d + g).backward()
    np.testing.assert_allclose(nr.grad.numpy(), tr.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(nf.grad.numpy(), tf.grad.numpy(), rtol=1e-10)
    # the non-saturating gradient stays large where the discriminator wins (D(G(z)) → 0)
    confident = nv.tensor([[-30.0]], dtype=nv.float64, requires_grad=True)
    generator_loss(confident).backward()
    assert confident.grad.item() == pytest.approx(-1.0, abs=1e-9)


@pytest.mark.torch
def test_one_gan_trainer_step_equals_a_torch_transcription():
    """One batch: D step on D(x) vs D(G(z).detach()), then a G step with fresh noise through the
    updated D; the D step leaves G alone, the G step leaves D alone (and its .grad untouched)."""
    torch = pytest.importorskip("torch")
    gan = _tiny_gan()
    tg = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2)).double()
    td = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.LeakyReLU(0.2), torch.nn.Linear(5, 1)).double()
    pairs = [(o.weight, t.weight) for o, t in zip(_linears(gan.generator) + _linears(gan.discriminator),
                                                   [tg[0], tg[2], td[0], td[2]])]
    pairs += [(o.bias, t.bias) for o, t in zip(_linears(gan.generator) + _linears(gan.discriminator),
                                               [tg[0], tg[2], td[0], td[2]])]
    _copy_to_torch(torch, pairs)
    x = np.random.default_rng(1).normal(size=(8, 2))
    trainer = GANTrainer(gan, optim.SGD(gan.generator.parameters(), lr=0.5),
                         optim.SGD(gan.discriminator.parameters(), lr=0.5), seed=7)
    trainer.fit(data.DataLoader(data.TensorDataset(x), batch_size=8), epochs=1)

    noise = np.random.default_rng(7)
    og, od = torch.optim.SGD(tg.parameters(), lr=0.5), torch.optim.SGD(td.parameters(), lr=0.5)
    fake = tg(torch.tensor(noise.standard_normal((8, 3)))).detach()
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    xr = torch.tensor(x)
    d_loss = bce(td(xr), torch.ones(8, 1, dtype=torch.float64)) + bce(td(fake), torch.zeros(8, 1, dtype=torch.float64))
    od.zero_grad()
    d_loss.backward()
    od.step()
    g_before_d = [p.detach().clone() for p in td.parameters()]
    logits = td(tg(torch.tensor(noise.standard_normal((8, 3)))))
    g_loss = bce(logits, torch.ones(8, 1, dtype=torch.float64))
    og.zero_grad()
    g_loss.backward()
    og.step()
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    for p, before in zip(td.parameters(), g_before_d):           # the transcription's own sanity
        assert torch.equal(p.detach(), before)
    assert trainer.history["loss_d"][0] == pytest.approx(d_loss.item(), rel=1e-10)
    assert trainer.history["loss_g"][0] == pytest.approx(g_loss.item(), rel=1e-10)


def test_generator_step_keeps_a_frozen_discriminator_parameter_frozen():
    """Regression: the G step used to switch requires_grad back on for EVERY discriminator
    parameter, so one the user had frozen was trained by d_optimizer from the next batch on."""
    gan = _tiny_gan()
    frozen = _linears(gan.discriminator)[0].weight
    frozen.requires_grad_(False)
    before = frozen.numpy().copy()
    trainer = GANTrainer(gan, optim.SGD(gan.generator.parameters(), lr=0.1),
                         optim.SGD(gan.discriminator.parameters(), lr=0.1))
    x = np.random.default_rng(0).normal(size=(16, 2))
    trainer.fit(data.DataLoader(data.TensorDataset(x), batch_size=8), epochs=2)
    assert not frozen.requires_grad
    np.testing.assert_array_equal(frozen.numpy(), before)
    assert all(p.requires_grad for p in _linears(gan.discriminator)[1].parameters())
