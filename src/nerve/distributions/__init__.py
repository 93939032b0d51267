"""``nerve.distributions``: probability distributions for sampling, likelihoods and KL terms.

* ``Normal(loc, scale)``: Gaussian, with reparameterised ``rsample`` (VAEs, Bayesian layers);
* ``Bernoulli(probs=|logits=)``, ``Categorical(probs=|logits=)``: discrete, ``sample`` only;
* ``Independent(base, n)``: treat the last ``n`` batch axes as one event (diagonal Gaussians);
* ``kl_divergence(p, q)``: the closed-form KL for the pairs above (``register_kl`` adds more).

Each has ``sample``, ``log_prob``, ``entropy``, ``mean``, ``variance``, ``stddev``, ``expand``,
``batch_shape`` and ``event_shape``, with the semantics of ``torch.distributions``; ``Normal``
also has ``cdf`` and ``icdf``.
"""
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .independent import Independent
from .kl import kl_divergence, register_kl
from .normal import Normal

__all__ = ["Distribution", "Normal", "Bernoulli", "Categorical", "Independent", "kl_divergence", "register_kl"]
