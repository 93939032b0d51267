"""Training generative models: the GAN game, and models whose objective is a method of their own.

* :func:`discriminator_loss` and :func:`generator_loss`: the GAN losses on logits;
* :class:`GANTrainer`: alternating discriminator and generator steps with the
  non-saturating generator loss, seeded noise, ``History`` and the usual callbacks;
* :class:`ModelObjective`: lets the one ``Trainer`` fit a model that scores itself, such as
  a VAE's negative ELBO (``Trainer(ModelObjective(vae), opt, objective_loss, metrics=())``).
"""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..autograd import Tensor, no_grad
from ..nn import Module
from .callbacks import CallbackList, History

__all__ = ["discriminator_loss", "generator_loss", "GANTrainer", "ModelObjective", "objective_loss"]


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """−mean log σ(D(x)) − mean log(1 − σ(D(G(z)))): binary cross-entropy with real = 1, fake = 0.

    Written with softplus (−log σ(a) = softplus(−a), −log(1 − σ(a)) = softplus(a)), so
    confident logits of any size stay finite.
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: Tensor) -> Tensor:
    """The non-saturating generator loss −mean log σ(D(G(z))) (Goodfellow et al. 2014, §3).

    Minimising log(1 − σ(D(G(z)))) instead (the minimax form) has vanishing gradients
    exactly when the discriminator wins early in training; this form does not.
    """
    return F.softplus(-fake_logits).mean()


def _spectral_norm_all(module):
    from ..nn import spectral_norm  # noqa: PLC0415

    for m in module.modules():
        name = type(m).__name__
        if (name == "Linear" or name.startswith("Conv")) and "weight" in m._parameters:
            spectral_norm(m)


def _inputs(batch):
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


class GANTrainer:
    """Fit a ``models.GAN`` (anything with ``generator``, ``discriminator`` and ``noise(n, generator)``).

    Each batch of real samples x: ``d_steps`` discriminator updates on
    :func:`discriminator_loss` (D(x) against D(G(z)) with the fakes detached), then one
    generator update on :func:`generator_loss` with fresh noise (the discriminator's weights
    frozen for it). Noise comes from a NumPy generator seeded with ``seed``, so with a seeded
    loader and ``nerve.manual_seed`` a run repeats exactly.

    Logged per epoch: ``loss_d``, ``loss_g``, and ``d_real`` / ``d_fake`` (the mean
    probability D gives real and generated samples; both near 0.5 at the game's balance).

    Args:
        gan: the model.
        g_optimizer, d_optimizer: over the generator's and the discriminator's parameters.
        d_steps: discriminator updates per generator update.
        seed: seed of the noise.
        spectral_norm: put ``nn.spectral_norm`` on every Linear and Conv layer of the
            discriminator that does not have it yet (Miyato et al. 2018). The optimizer keeps
            working: the same Parameter lives on as ``weight_orig``. (Builders such as
            ``models.dcgan(spectral_norm=True)`` do it at construction, which keeps the
            weights' names the same when the model is built again from a run folder.)
        callbacks: ``Callback`` instances (``ProgressBar``, ``CSVLogger``, ``JSONLogger`` ...).

    Example:
        >>> import numpy as np, nerve as nv
        >>> from nerve import models, optim, data
        >>> _ = nv.manual_seed(0)
        >>> gan = models.mlp_gan(data_dim=2, hidden=16)
        >>> x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
        >>> trainer = GANTrainer(gan, optim.Adam(gan.generator.parameters(), lr=1e-3),
        ...                      optim.Adam(gan.discriminator.parameters(), lr=1e-3))
        >>> history = trainer.fit(data.DataLoader(data.TensorDataset(x), batch_size=32), epochs=2)
        >>> sorted(history.history)
        ['d_fake', 'd_real', 'loss_d', 'loss_g']
    """

    def __init__(self, gan, g_optimizer, d_optimizer, d_steps: int = 1, seed: int = 0, callbacks=(),
                 spectral_norm: bool = False):
        for attr in ("generator", "discriminator", "noise"):
            if not hasattr(gan, attr):
                raise TypeError(f"GANTrainer needs a GAN with .generator, .discriminator and .noise(n), got "
                                f"{type(gan).__name__} without .{attr}; build one with nerve.models.GAN")
        if isinstance(d_steps, bool) or not isinstance(d_steps, int) or d_steps < 1:
            raise ValueError(f"d_steps must be a positive integer, got {d_steps!r}")
        self.model = gan
        if spectral_norm:
            _spectral_norm_all(gan.discriminator)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.d_steps = d_steps
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.callbacks = list(callbacks)
        self.history = History()
        self.stop_training = False
        self.resumed = False
        self.epoch = 0
        self.epochs = None
        self.global_step = 0
        self.steps_per_epoch = None

    def _d_step(self, x):
        gan = self.model
        with no_grad():
            fake = gan.generator(gan.noise(len(x), self.rng))
        real_logits, fake_logits = gan.discriminator(x), gan.discriminator(fake)
        loss = discriminator_loss(real_logits, fake_logits)
        self.d_optimizer.zero_grad()
        loss.backward()
        self.d_optimizer.step()
        return float(loss._data), real_logits._data, fake_logits._data

    def _g_step(self, n):
        gan = self.model
        # The generator's step moves the generator only: freeze the discriminator for it, then
        # give each of its parameters back the flag it had (a parameter the user froze stays
        # frozen; switching them all back on would let d_optimizer train it from then on).
        params = list(gan.discriminator.parameters())
        flags = [p.requires_grad for p in params]
        gan.discriminator.requires_grad_(False)
        try:
            fake_logits = gan.discriminator(gan.generator(gan.noise(n, self.rng)))
            loss = generator_loss(fake_logits)
            self.g_optimizer.zero_grad()
            loss.backward()
        finally:
            for p, flag in zip(params, flags):
                p.requires_grad_(flag)
        self.g_optimizer.step()
        return float(loss._data)

    def fit(self, loader, epochs: int) -> History:
        """Train for ``epochs`` passes over ``loader`` (batches of real samples, or (x, y) pairs)."""
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        self.epochs, self.epoch, self.global_step = epochs, 0, 0
        self.train_loader = loader
        try:
            self.steps_per_epoch = len(loader)
        except TypeError:
            self.steps_per_epoch = None
        self.history.reset()
        self.stop_training = False
        cbs = CallbackList([self.history, *self.callbacks], self)
        self.model.train()
        cbs.on_train_begin({})
        try:
            for epoch in range(epochs):
                cbs.on_epoch_begin(epoch, {})
                sums = {"loss_d": 0.0, "loss_g": 0.0, "d_real": 0.0, "d_fake": 0.0}
                seen = 0
                for step, batch in enumerate(loader):
                    x = _inputs(batch)
                    for cb in cbs.batch_begin:
                        cb.on_batch_begin(step, {})
                    for _ in range(self.d_steps):
                        loss_d, real, fake = self._d_step(x)
                    loss_g = self._g_step(len(x))
                    self.global_step += 1
                    if not (math.isfinite(loss_d) and math.isfinite(loss_g)):
                        raise FloatingPointError(
                            f"the GAN losses became D {loss_d}, G {loss_g} at epoch {epoch + 1}, step {step + 1}; "
                            "lower the learning rates or use spectral_norm=True on the discriminator")
                    n = len(x)
                    seen += n
                    sums["loss_d"] += loss_d * n
                    sums["loss_g"] += loss_g * n
                    sums["d_real"] += float((1 / (1 + np.exp(-real.astype(np.float64)))).sum())
                    sums["d_fake"] += float((1 / (1 + np.exp(-fake.astype(np.float64)))).sum())
                    for cb in cbs.batch_end:
                        cb.on_batch_end(step, {"loss": loss_g, "loss_d": loss_d, "loss_g": loss_g, "size": n})
                    if self.stop_training:
                        break
                if seen == 0:
                    raise ValueError("the training loader produced no batches; check the dataset size and batch_size")
                logs = {k: v / seen for k, v in sums.items()}
                self.epoch = epoch + 1
                cbs.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        finally:
            cbs.on_train_end({"epoch": self.epoch})
        return self.history

    def save_checkpoint(self, directory):
        """Save the GAN's weights, both optimizers' states, the history and the noise generator's
        state into ``directory`` (``nerve.train.save_checkpoint``'s format; ``ModelCheckpoint``
        calls this). ``fit`` does not resume from it yet."""
        from .checkpoint import save_checkpoint  # noqa: PLC0415

        return save_checkpoint(directory, self.model, _OptimizerPair(self.g_optimizer, self.d_optimizer),
                               epoch=self.epoch, loaders={"train": getattr(self, "train_loader", None)},
                               history=self.history,
                               extra={"global_step": self.global_step, "noise": self.rng.bit_generator.state})

    def evaluate(self, loader, seed: int = 0) -> dict:
        """``loss_d``, ``loss_g``, ``d_real``, ``d_fake`` over ``loader``, without updates.

        Noise comes from its own generator seeded with ``seed``, so the numbers repeat.
        """
        gan, rng = self.model, np.random.default_rng(seed)
        was_training = getattr(gan, "training", True)
        gan.eval()
        sums = {"loss_d": 0.0, "loss_g": 0.0, "d_real": 0.0, "d_fake": 0.0}
        seen = 0
        try:
            with no_grad():
                for batch in loader:
                    x = _inputs(batch)
                    real = gan.discriminator(x)
                    fake = gan.discriminator(gan.generator(gan.noise(len(x), rng)))
                    n = len(x)
                    sums["loss_d"] += float(discriminator_loss(real, fake)._data) * n
                    sums["loss_g"] += float(generator_loss(fake)._data) * n
                    sums["d_real"] += float(F.sigmoid(real).sum()._data)
                    sums["d_fake"] += float(F.sigmoid(fake).sum()._data)
                    seen += n
        finally:
            gan.train(was_training)
        if seen == 0:
            raise ValueError("the evaluation loader produced no batches; is the dataset empty?")
        return {k: v / seen for k, v in sums.items()}


class _OptimizerPair:
    """Both optimizers' states as one (what a checkpoint stores under "optimizer")."""

    def __init__(self, g, d):
        self.g, self.d = g, d

    def state_dict(self):
        return {"generator": self.g.state_dict(), "discriminator": self.d.state_dict()}


class ModelObjective(Module):
    """A model whose loss is a method of its own, shaped for ``Trainer``.

    ``ModelObjective(vae)(x)`` returns ``vae.loss(x)`` (a scalar), and :func:`objective_loss`
    passes it through, so ``Trainer(ModelObjective(vae), optimizer, objective_loss,
    metrics=())`` fits a VAE with the ordinary loop, on batches of ``(x, anything)``. The
    parameters are the model's own (``objective.model``).

    Example:
        >>> import numpy as np, nerve as nv
        >>> from nerve import models, optim, data
        >>> from nerve.train import Trainer
        >>> vae = models.get_model("vae", in_shape=(4,), latent_dim=2, hidden=(8,), likelihood="gaussian")
        >>> x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
        >>> obj = ModelObjective(vae)
        >>> t = Trainer(obj, optim.Adam(obj.parameters(), lr=1e-2), objective_loss, metrics=())
        >>> h = t.fit(data.DataLoader(data.TensorDataset(x, x), batch_size=16), epochs=3)
        >>> h["loss"][-1] < h["loss"][0]
        True
    """

    def __init__(self, model, method: str = "loss"):
        super().__init__()
        if not callable(getattr(model, method, None)):
            raise TypeError(f"{type(model).__name__} has no method {method!r} to train on")
        self.model = model
        self.method = method

    def forward(self, x):
        return getattr(self.model, self.method)(x)


def objective_loss(out, target=None):
    """The loss for :class:`ModelObjective`: its output, which already is the loss."""
    return out
