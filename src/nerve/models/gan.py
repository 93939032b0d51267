"""Generative adversarial networks (Goodfellow et al. 2014): a generator and a discriminator.

``GAN(generator, discriminator, latent_dim)`` holds the pair. The generator maps noise
z ~ N(0, I) to samples; the discriminator maps a sample to one logit, "real" when positive.
``nerve.train.GANTrainer`` plays the game; ``sample(n)`` draws from the generator (the same
call as ``VAE.sample``).

Builders:

* ``dcgan(latent_dim=64)``: a small DCGAN (Radford et al. 2016) for 28×28 digits in [−1, 1].
  Generator: Linear(z → 64·7·7), BN, ReLU → ConvT 64→32 (4×4, stride 2) → 14×14, BN, ReLU →
  ConvT 32→1 → 28×28, tanh. Discriminator: Conv 1→32 (4×4, stride 2), LeakyReLU(0.2) →
  Conv 32→64 → 7×7, LeakyReLU → Linear(64·7·7 → 1). ``spectral_norm=True`` puts
  ``nn.spectral_norm`` on every discriminator layer (Miyato et al. 2018).
* ``mlp_gan(data_dim=2)``: MLPs for points in the plane (the 8-Gaussians ring demo).

Parameter counts (dcgan defaults): generator 64·3136+3136 (Linear) + 128 (BN) + 64·32·16+32
(ConvT) + 64 (BN) + 32·16+1 (ConvT) = 237,345; discriminator 1·32·16+32 + 32·64·16+64 +
3136+1 = 36,513; 273,858 in all.

    >>> from nerve import models
    >>> net = models.get_model("dcgan")
    >>> net.generator.num_parameters(), net.discriminator.num_parameters()
    (237345, 36513)
    >>> net.sample(2).shape, net.discriminator(net.sample(2)).shape
    ((2, 1, 28, 28), (2, 1))
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad
from . import register_model

__all__ = ["GAN", "dcgan", "mlp_gan"]


class GAN(nn.Module):
    """A generator and a discriminator, with the noise they share.

    Args:
        generator: maps (N, latent_dim) noise to samples.
        discriminator: maps samples to (N, 1) logits.
        latent_dim: the size of z.
    """

    def __init__(self, generator, discriminator, latent_dim: int):
        super().__init__()
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim

    def noise(self, n: int, generator=None) -> Tensor:
        """z ~ N(0, I), shape (n, latent_dim), in the generator's dtype."""
        from ..random import resolve  # noqa: PLC0415

        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"noise(n) needs a non-negative integer n, got {n!r}")
        dtype = next(iter(self.generator.parameters())).dtype
        return Tensor(resolve(generator).standard_normal((int(n), self.latent_dim)).astype(dtype))

    def forward(self, z):
        """The generator's samples for noise ``z``."""
        return self.generator(z)

    def decode(self, z):
        """The generator's samples for noise ``z`` (a GAN's latent tools use this name)."""
        return self.generator(z)

    def sample(self, n: int, generator=None) -> Tensor:
        """``n`` generated samples, without a graph, in the generator's current mode."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"sample(n) needs a positive integer n, got {n!r}")
        with no_grad():
            return self.generator(self.noise(n, generator))


def _sn(layer, on):
    return nn.spectral_norm(layer) if on else layer


@register_model("dcgan")
def dcgan(latent_dim: int = 64, channels: int = 32, in_channels: int = 1, spectral_norm: bool = False):
    """A small DCGAN for 28×28 images scaled to [−1, 1]; see the module docstring."""
    c = channels
    generator = nn.Sequential(
        nn.Linear(latent_dim, 2 * c * 7 * 7), nn.Unflatten(1, (2 * c, 7, 7)),
        nn.BatchNorm2d(2 * c), nn.ReLU(),
        nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1), nn.BatchNorm2d(c), nn.ReLU(),  # (N, c, 14, 14)
        nn.ConvTranspose2d(c, in_channels, 4, stride=2, padding=1), nn.Tanh())              # (N, C, 28, 28)
    discriminator = nn.Sequential(
        _sn(nn.Conv2d(in_channels, c, 4, stride=2, padding=1), spectral_norm), nn.LeakyReLU(0.2),  # 14×14
        _sn(nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), spectral_norm), nn.LeakyReLU(0.2),        # 7×7
        nn.Flatten(), _sn(nn.Linear(2 * c * 7 * 7, 1), spectral_norm))
    return GAN(generator, discriminator, latent_dim)


@register_model("mlp-gan")
def mlp_gan(data_dim: int = 2, latent_dim: int = 2, hidden: int = 128, depth: int = 2,
            spectral_norm: bool = False):
    """MLP generator and discriminator for low-dimensional data (``depth`` hidden layers each;
    ``depth=0`` gives two linear maps, latent → data and data → logit)."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"mlp_gan: depth must be a non-negative integer (hidden layers), got {depth!r}")
    g, d = [], []
    n_in = latent_dim
    for _ in range(depth):
        g += [nn.Linear(n_in, hidden), nn.ReLU()]
        n_in = hidden
    g.append(nn.Linear(n_in, data_dim))                  # n_in: hidden, or latent_dim when depth is 0
    n_in = data_dim
    for _ in range(depth):
        d += [_sn(nn.Linear(n_in, hidden), spectral_norm), nn.LeakyReLU(0.2)]
        n_in = hidden
    d.append(_sn(nn.Linear(n_in, 1), spectral_norm))
    return GAN(nn.Sequential(*g), nn.Sequential(*d), latent_dim)
