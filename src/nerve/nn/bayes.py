"""Bayesian layers: Bayes by Backprop (Blundell et al. 2015) and Monte-Carlo dropout (Gal &
Ghahramani 2016).

``BayesLinear`` keeps a Gaussian over every weight instead of a point value: mean μ and
standard deviation σ = softplus(ρ) (softplus keeps σ positive while ρ is unconstrained). Each
forward pass draws w = μ + σ·ε with ε ~ N(0, 1) (the reparameterisation trick, so gradients
reach μ and ρ), and ``kl_loss()`` is the closed-form KL divergence from that posterior to the
prior N(0, prior_sigma²). Training minimises the negative ELBO:

    loss = NLL(data | sampled weights) + kl_weight · Σ_layers KL(q ‖ p)

(with the NLL summed over the whole data set, or the KL divided by the number of samples
when the NLL is a per-sample mean). Predictions average several sampled passes;
``mc_predict`` returns their mean and spread, and ``mc_dropout_predict`` does the same for an
ordinary network with dropout kept on at test time.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import _wrap
from ..random import default_generator
from . import functional as F
from . import init
from .dropout import DropConnectLinear, _DropoutBase
from .module import Module
from .parameter import Parameter

__all__ = ["BayesLinear", "kl_loss", "mc_predict", "mc_dropout_predict"]


def _gaussian_kl(mu, sigma, prior_sigma):
    """Σ KL(N(μ, σ²) ‖ N(0, s²)) = Σ [log(s/σ) + (σ² + μ²)/(2s²) − ½], elementwise then summed.

    Written here rather than taken from a distributions package: it is the one density
    formula this layer needs, and it stays differentiable in μ and σ.
    """
    s2 = prior_sigma * prior_sigma
    return (F.log(sigma) * -1.0 + math.log(prior_sigma) + (sigma * sigma + mu * mu) * (0.5 / s2) - 0.5).sum()


class BayesLinear(Module):
    """A linear layer with a factorised Gaussian posterior over its weights (Bayes by Backprop).

    y = x wᵀ + b with w ~ N(weight_mu, softplus(weight_rho)²) and b likewise, drawn afresh on
    every forward pass (one draw shared by the whole batch).

    Args:
        in_features, out_features: sizes, as ``Linear``.
        bias: learn a Gaussian bias too.
        prior_sigma: standard deviation of the zero-mean Gaussian prior on every weight.
        posterior_rho_init: initial ρ, so the initial σ is softplus(ρ) (−5 → σ ≈ 0.0067: start
            close to a point estimate and let the KL term widen what the data does not pin down).

    Attributes:
        sample: draw weights (True, default) or use the means (False: a deterministic layer).

    Shapes: (*, in_features) → (*, out_features).

    Example:
        >>> import nerve as nv
        >>> from nerve import nn
        >>> layer = nn.BayesLinear(3, 2)
        >>> a, b = layer(nv.ones(1, 3)), layer(nv.ones(1, 3))      # two draws differ
        >>> bool((a - b).abs().sum().item() > 0), layer.kl_loss().shape
        (True, ())
        >>> layer.sample = False                                    # the posterior mean
        >>> bool((layer(nv.ones(1, 3)) - layer(nv.ones(1, 3))).abs().sum().item() == 0)
        True
    """

    def __init__(self, in_features, out_features, bias=True, prior_sigma=1.0, posterior_rho_init=-5.0):
        super().__init__()
        if prior_sigma <= 0:
            raise ValueError(f"BayesLinear: prior_sigma must be positive, got {prior_sigma!r}")
        self.in_features, self.out_features = in_features, out_features
        self.prior_sigma, self.posterior_rho_init = float(prior_sigma), float(posterior_rho_init)
        self.sample = True
        self.weight_mu = Parameter(np.empty((out_features, in_features), dtype=np.float32))
        self.weight_rho = Parameter(np.empty((out_features, in_features), dtype=np.float32))
        if bias:
            self.bias_mu = Parameter(np.empty(out_features, dtype=np.float32))
            self.bias_rho = Parameter(np.empty(out_features, dtype=np.float32))
        else:
            self.bias_mu = self.bias_rho = None
        self.reset_parameters()

    def reset_parameters(self):
        k = 1.0 / math.sqrt(self.in_features)
        init.uniform_(self.weight_mu, -k, k)
        init.constant_(self.weight_rho, self.posterior_rho_init)
        if self.bias_mu is not None:
            init.uniform_(self.bias_mu, -k, k)
            init.constant_(self.bias_rho, self.posterior_rho_init)

    def _draw(self, mu, rho):
        if not self.sample:
            return mu
        eps = default_generator().standard_normal(tuple(mu.shape)).astype(mu.dtype)
        return mu + F.softplus(rho) * _wrap(eps)

    def forward(self, x):
        w = self._draw(self.weight_mu, self.weight_rho)
        b = None if self.bias_mu is None else self._draw(self.bias_mu, self.bias_rho)
        return F.linear(x, w, b)

    def kl_loss(self):
        """KL(q ‖ p) of this layer's weights (and bias), in closed form: a scalar Tensor."""
        kl = _gaussian_kl(self.weight_mu, F.softplus(self.weight_rho), self.prior_sigma)
        if self.bias_mu is not None:
            kl = kl + _gaussian_kl(self.bias_mu, F.softplus(self.bias_rho), self.prior_sigma)
        return kl

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias_mu is not None}, prior_sigma={self.prior_sigma}")


def kl_loss(model):
    """The summed ``kl_loss()`` of every Bayesian layer inside ``model`` (a scalar Tensor).

    Counts the leaf modules (no sub-modules) that have a ``kl_loss()`` method.

    Raises:
        ValueError: when ``model`` holds no layer with a ``kl_loss`` method.
    """
    # leaf layers only, so a model whose own kl_loss() sums its layers is not counted twice
    parts = [m.kl_loss() for m in model.modules()
             if callable(getattr(type(m), "kl_loss", None)) and not any(True for _ in m.children())]
    if not parts:
        raise ValueError(f"kl_loss: {type(model).__name__} holds no Bayesian layer (nothing with a "
                         "kl_loss() method); use BayesLinear layers")
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def _stack_stats(outs):
    y = np.stack(outs)                               # (n, N, ...)
    return _wrap(y.mean(0)), _wrap(y.std(0))


def mc_predict(model, x, n=50):
    """Mean and standard deviation over ``n`` forward passes of a stochastic model (e.g. with
    ``BayesLinear`` layers), without gradients and in the model's current mode.

    Returns:
        ``(mean, std)`` Tensors of the output's shape (the std is the population std over the
        n passes).
    """
    if int(n) < 2:
        raise ValueError(f"mc_predict: n must be at least 2 to estimate a spread, got {n!r}")
    with no_grad():
        return _stack_stats([model(x).numpy() for _ in range(int(n))])


def mc_dropout_predict(model, x, n=50):
    """Monte-Carlo dropout: ``n`` passes with dropout active and everything else in eval mode.

    Dropout (and DropConnect) layers are switched to training mode, every other layer
    (batch norm ...) to eval mode, for the duration of the call; each module's own mode is
    restored afterwards.

    Returns:
        ``(mean, std)`` Tensors of the output's shape: the predictive mean and the
        Monte-Carlo standard deviation (the model's epistemic uncertainty).

    Raises:
        ValueError: when the model has no dropout layer (every pass would be the same).
    """
    modules = list(model.modules())
    stochastic = [m for m in modules if isinstance(m, (_DropoutBase, DropConnectLinear))]
    if not stochastic:
        raise ValueError(f"mc_dropout_predict: {type(model).__name__} has no Dropout layer, so every "
                         "pass would give the same output; add nn.Dropout(p) or use mc_predict")
    modes = [m.training for m in modules]
    try:
        model.eval()
        for m in stochastic:
            m.__dict__["training"] = True
        return mc_predict(model, x, n)
    finally:
        for m, mode in zip(modules, modes):
            m.__dict__["training"] = mode
