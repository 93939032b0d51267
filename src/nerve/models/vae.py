"""The variational autoencoder (Kingma & Welling 2014): a generative model with an encoder.

The encoder maps x to a diagonal Gaussian q(z|x) = N(μ(x), diag σ²(x)); the decoder maps a
code z to a likelihood p(x|z): Bernoulli with logits (pixels in [0, 1]) or Gaussian with one
learned scale. Training maximises the evidence lower bound

    ELBO(x) = E_{z~q(z|x)} [log p(x|z)] − KL(q(z|x) ‖ N(0, I))  ≤  log p(x),

the first term estimated with one reparameterised draw z = μ + σ·ε (so gradients reach the
encoder), the KL in closed form (``nerve.distributions.kl_divergence``). ``sample(n)``
decodes z ~ N(0, I) (the same call as ``GAN.sample``); ``encode(x)`` gives the posterior
mean, ``decode(z)`` the mean of p(x|z), ``reconstruct(x) = decode(encode(x))``.

Layout for 28×28 digits (defaults): 784 → 400 → (μ, log σ²) of 2·20; 20 → 400 → 784 logits.
Parameters: 784·400+400 + 400·40+40 + 20·400+400 + 400·784+784 = 652,824.

    >>> from nerve import models
    >>> import nerve as nv
    >>> net = models.get_model("vae")
    >>> net.num_parameters()
    652824
    >>> x = nv.rand(4, 1, 28, 28)
    >>> net.elbo(x).shape, net.sample(3).shape, net.encode(x).shape
    ((4,), (3, 1, 28, 28), (4, 20))
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad
from ..backend import get_array_module
from ..distributions import Bernoulli, Independent, Normal, kl_divergence
from . import register_model

__all__ = ["VAE", "vae"]

_LIKELIHOODS = ("bernoulli", "gaussian")


class VAE(nn.Module):
    """A VAE with dense encoder and decoder over inputs of shape ``in_shape``.

    Args:
        in_shape: one input's shape, e.g. (1, 28, 28) or (2,).
        latent_dim: the size of the code z.
        hidden: hidden widths of the encoder (the decoder mirrors them).
        likelihood: ``"bernoulli"`` (decoder outputs logits; inputs in [0, 1]) or
            ``"gaussian"`` (decoder outputs means; one learned scale for every coordinate).
        activation: hidden-layer activation name.
    """

    def __init__(self, in_shape=(1, 28, 28), latent_dim: int = 20, hidden=(400,), likelihood="bernoulli",
                 activation="relu"):
        super().__init__()
        from .mlp import _layers  # noqa: PLC0415

        if likelihood not in _LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {', '.join(_LIKELIHOODS)}, got {likelihood!r}")
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, (int, np.integer)) or latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
        latent_dim = int(latent_dim)
        if isinstance(in_shape, (int, np.integer)) and not isinstance(in_shape, bool):
            in_shape = (in_shape,)
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in in_shape):
            # int() would have cut 2.5 down to 2 and built a model for another input size
            raise ValueError(f"in_shape must be a tuple of positive integers, e.g. (1, 28, 28), got {in_shape!r}")
        self.in_shape = tuple(int(s) for s in in_shape)
        self.latent_dim = latent_dim
        self.likelihood = likelihood
        n = int(np.prod(self.in_shape))
        hidden = list(hidden)
        self.encoder = nn.Sequential(nn.Flatten(), *_layers([n, *hidden, 2 * latent_dim], activation, None, True))
        self.decoder = nn.Sequential(*_layers([latent_dim, *hidden[::-1], n], activation, None, True),
                                     nn.Unflatten(1, self.in_shape))
        if likelihood == "gaussian":
            self.log_scale = nn.Parameter(Tensor(np.zeros((), np.float32)))

    # ------------------------------------------------------------------ distributions
    def posterior(self, x) -> Independent:
        """q(z|x): a diagonal Gaussian with batch shape (N,) and event shape (latent_dim,)."""
        h = self.encoder(x)                                   # (N, 2·latent)
        mu, logvar = h[:, :self.latent_dim], h[:, self.latent_dim:]
        return Independent(Normal(mu, (0.5 * logvar).exp()), 1)

    def prior(self, n: int) -> Independent:
        """p(z) = N(0, I) for ``n`` codes."""
        dtype = self.decoder[0].weight.dtype
        return Independent(Normal(Tensor(np.zeros((n, self.latent_dim), dtype)),
                                  Tensor(np.ones((n, self.latent_dim), dtype))), 1)

    def likelihood_of(self, z) -> Independent:
        """p(x|z) over every input coordinate (event shape ``in_shape``)."""
        out = self.decoder(z)
        if self.likelihood == "bernoulli":
            # Pixel intensities in [0, 1] are scored as soft Bernoulli targets, the usual practice.
            base = Bernoulli(logits=out, validate_args=False)
        else:
            base = Normal(out, self.log_scale.exp().expand(*out.shape))
        return Independent(base, len(self.in_shape))

    # ------------------------------------------------------------------ objective
    def elbo(self, x, generator=None) -> Tensor:
        """The evidence lower bound of each input, shape (N,): one-draw E_q[log p(x|z)] − KL."""
        shape = tuple(x.shape)
        if shape[1:] != self.in_shape:
            # the encoder flattens whatever it gets, but log p(x|z) is scored against the decoder's
            # (N, *in_shape) output: another layout would broadcast against it (e.g. (N, 1, 28, 28)
            # against (N, 28, 28) gives an (N, N) ELBO) instead of failing
            raise ValueError(f"VAE(in_shape={self.in_shape}).elbo got inputs of shape {shape}; it needs "
                             f"(N, {', '.join(map(str, self.in_shape))}): reshape the batch to that")
        if self.likelihood == "bernoulli":
            # x·ℓ − softplus(ℓ) is bounded by 0 only for x in [0, 1]; past it the "log-likelihood"
            # grows without bound as the logits do, and training drives the loss to −inf
            v = x._data if isinstance(x, Tensor) else np.asarray(x)
            xp = get_array_module(v)                 # on a GPU the check stays there: one bool back
            outside = ~((v >= 0) & (v <= 1))
            if bool(outside.any()):
                bad = xp.asnumpy(v[outside].ravel()[:1])[0] if xp is not np else v[outside].ravel()[0]
                raise ValueError(f"VAE(likelihood='bernoulli') scores inputs in [0, 1], got {float(bad)!r}; "
                                 "rescale the data to [0, 1] or build the VAE with likelihood='gaussian'")
        q = self.posterior(x)
        z = q.rsample(generator=generator)
        return self.likelihood_of(z).log_prob(x) - kl_divergence(q, self.prior(len(z)))

    def loss(self, x, generator=None) -> Tensor:
        """The negative ELBO averaged over the batch (what training minimises)."""
        return -self.elbo(x, generator=generator).mean()

    def forward(self, x):
        """The reconstruction: the mean of p(x|z) at the posterior mean (same as ``reconstruct``)."""
        return self.decode(self.encode(x))

    # ------------------------------------------------------------------ codes and samples
    def encode(self, x) -> Tensor:
        """The posterior mean μ(x), shape (N, latent_dim)."""
        return self.encoder(x)[:, :self.latent_dim]

    def decode(self, z) -> Tensor:
        """The mean of p(x|z): probabilities (Bernoulli) or means (Gaussian), shape (N, *in_shape)."""
        return self.likelihood_of(z).mean

    def reconstruct(self, x) -> Tensor:
        """``decode(encode(x))``."""
        return self.forward(x)

    def sample(self, n: int, generator=None, noise: bool = False) -> Tensor:
        """``n`` new inputs: z ~ N(0, I), decoded to the mean of p(x|z) (``noise``: a draw from it)."""
        from ..random import resolve  # noqa: PLC0415

        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"sample(n) needs a positive integer n, got {n!r}")
        dtype = self.decoder[0].weight.dtype
        z = Tensor(resolve(generator).standard_normal((int(n), self.latent_dim)).astype(dtype))
        with no_grad():
            p = self.likelihood_of(z)
            return p.sample(generator=generator) if noise else p.mean


@register_model("vae")
def vae(in_shape=(1, 28, 28), latent_dim: int = 20, hidden=(400,), likelihood="bernoulli", activation="relu"):
    """A dense VAE (defaults: 28×28 images, 20-D code, Bernoulli decoder); see :class:`VAE`."""
    if isinstance(hidden, int):
        hidden = (hidden,)
    return VAE(in_shape, latent_dim, hidden, likelihood, activation)
