"""Autoencoders: an encoder squeezes the input into a short code, a decoder rebuilds it.

``Autoencoder(encoder, decoder)`` holds any two modules; ``encode(x)`` gives the code,
``decode(z)`` the reconstruction and ``model(x) = decode(encode(x))``. Trained to reproduce
its input (MSE, or BCE on [0, 1] pixels) it learns a compressed representation.

Builders for 28×28 digit images:

* ``dense_autoencoder(latent_dim=32, hidden=(256,))``: 784 → 256 → 32 → 256 → 784;
* ``conv_autoencoder(latent_dim=16)``: two stride-2 convolutions down to 32×7×7, a Linear to
  the code, and the mirror image with transposed convolutions back up;
* ``linear_autoencoder(in_features, latent_dim)``: no activations at all. Trained with MSE,
  its decoder spans the same subspace as the top principal components of PCA (Baldi &
  Hornik 1989), though its code axes are any basis of that subspace, not the components.

Parameter counts (defaults; weights + biases per layer):

    dense_autoencoder  200,960 + 8,224 + 8,448 + 201,488                  = 419,120
                       (784·256+256, 256·32+32, 32·256+256, 256·784+784)
    conv_autoencoder   encoder 1·16·9+16 + 16·32·9+32 + 1568·16+16 = 29,904
                       decoder 16·1568+1568 + 32·16·16+16 + 16·16+1 = 35,121  → 65,025

    >>> from nerve import models
    >>> models.dense_autoencoder().num_parameters(), models.conv_autoencoder().num_parameters()
    (419120, 65025)
    >>> import nerve as nv
    >>> ae = models.conv_autoencoder()
    >>> ae.encode(nv.zeros(2, 1, 28, 28)).shape, ae(nv.zeros(2, 1, 28, 28)).shape
    ((2, 16), (2, 1, 28, 28))
"""
from __future__ import annotations

from .. import nn
from . import register_model

__all__ = ["Autoencoder", "dense_autoencoder", "conv_autoencoder", "linear_autoencoder"]


def _check_positive(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


class Autoencoder(nn.Module):
    """``decoder(encoder(x))``, with the two halves reachable as ``encode`` and ``decode``.

    Args:
        encoder: maps inputs to codes, e.g. (N, 1, 28, 28) → (N, latent_dim).
        decoder: maps codes back to inputs.
    """

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, x):
        """The code of ``x``: ``encoder(x)``."""
        return self.encoder(x)

    def decode(self, z):
        """The reconstruction from code ``z``: ``decoder(z)``."""
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))

    def reconstruct(self, x):
        """``decode(encode(x))``, the same as calling the model."""
        return self.forward(x)


@register_model("autoencoder", "dense-autoencoder", "ae")
def dense_autoencoder(in_shape=(1, 28, 28), latent_dim: int = 32, hidden=(256,), activation="relu",
                      output_activation="sigmoid"):
    """A fully connected autoencoder for images of ``in_shape`` (outputs in (0, 1) by default)."""
    from .mlp import _layers  # noqa: PLC0415

    in_shape = (in_shape,) if isinstance(in_shape, int) else tuple(in_shape)
    latent_dim = _check_positive(latent_dim, "latent_dim")
    if isinstance(hidden, int):                          # one hidden layer, as vae(hidden=400)
        hidden = (hidden,)
    n = 1
    for s in in_shape:
        n *= _check_positive(s, "in_shape entries")
    hidden = [_check_positive(h, "hidden sizes") for h in hidden]
    encoder = nn.Sequential(nn.Flatten(), *_layers([n, *hidden, latent_dim], activation, None, True))
    decoder = nn.Sequential(*_layers([latent_dim, *hidden[::-1], n], activation, output_activation, True),
                            nn.Unflatten(1, in_shape))
    return Autoencoder(encoder, decoder)


@register_model("conv-autoencoder", "conv-ae")
def conv_autoencoder(in_channels: int = 1, latent_dim: int = 16, channels=(16, 32), image_size: int = 28,
                     output_activation="sigmoid"):
    """A convolutional autoencoder: two stride-2 3×3 convs down, transposed convs back up.

    (N, C, 28, 28) → (N, 16, 14, 14) → (N, 32, 7, 7) → code (N, latent_dim) → the mirror.
    """
    c1, c2 = (_check_positive(c, "channels") for c in channels)
    latent_dim = _check_positive(latent_dim, "latent_dim")
    in_channels = _check_positive(in_channels, "in_channels")
    image_size = _check_positive(image_size, "image_size")
    if image_size % 4:
        raise ValueError(f"conv_autoencoder halves the image twice, so image_size must be a multiple "
                         f"of 4, got {image_size}")
    side = image_size // 4
    encoder = nn.Sequential(
        nn.Conv2d(in_channels, c1, 3, stride=2, padding=1), nn.ReLU(),      # (N, c1, s/2, s/2)
        nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(),               # (N, c2, s/4, s/4)
        nn.Flatten(), nn.Linear(c2 * side * side, latent_dim))
    out = [nn.get_activation(output_activation)] if output_activation is not None else []
    decoder = nn.Sequential(
        nn.Linear(latent_dim, c2 * side * side), nn.ReLU(), nn.Unflatten(1, (c2, side, side)),
        nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),      # (N, c1, s/2, s/2)
        nn.ConvTranspose2d(c1, in_channels, 4, stride=2, padding=1), *out)  # (N, C, s, s)
    return Autoencoder(encoder, decoder)


def linear_autoencoder(in_features: int, latent_dim: int, bias: bool = True):
    """Linear(in → latent) then Linear(latent → in), no activations: PCA's subspace under MSE."""
    _check_positive(in_features, "in_features")
    _check_positive(latent_dim, "latent_dim")
    return Autoencoder(nn.Linear(in_features, latent_dim, bias=bias), nn.Linear(latent_dim, in_features, bias=bias))
