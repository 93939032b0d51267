"""Generative runs: train an autoencoder, a VAE or a DCGAN into a run folder, evaluate it, sample it.

The run folder is the ordinary one (:class:`~nerve.runs.Run`): ``config.json`` (with a
``generative`` entry naming the kind and the pixel scaling), ``model.safetensors``,
``history.json`` / ``history.csv``, a checkpoint per epoch, ``manifest.json``; plus
``samples.png`` (VAE, GAN) and ``reconstructions.png`` (autoencoder, VAE) of the finished
model.

* :func:`train` builds the model, loads the images (pixels in [0, 1]; the GAN sees them
  scaled to [−1, 1]) and fits it: autoencoders with ``Trainer`` on binary cross-entropy
  against the input, the VAE with ``Trainer`` on its negative ELBO (``ModelObjective``), the
  GAN with ``GANTrainer``; then it measures the test set (:func:`evaluate_run`).
* :func:`evaluate_run` reports a run's own measures on its test split: reconstruction MSE
  and BCE (autoencoder), the negative ELBO in nats per image and reconstruction MSE (VAE),
  the discriminator and generator losses and D's mean outputs (GAN).
* :func:`sample_images` writes a grid of ``n`` samples of a run's model to a PNG.

Errors a user can fix are one-line :class:`~nerve.runs.RunError`.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from . import ARTIFACTS, Run, RunError
from .training import RunInterrupted

__all__ = ["KINDS", "GENERATIVE_DEFAULTS", "kind_of", "is_generative", "train", "evaluate_run", "sample_images"]

# canonical model name -> kind
KINDS = {"autoencoder": "autoencoder", "conv-autoencoder": "autoencoder", "vae": "vae", "dcgan": "gan"}
# Defaults per kind. Measured on a shared 2-core CPU: the VAE on 20,000 MNIST images for 5
# epochs takes 9 CPU-s per epoch and reaches a test -ELBO of 118.9 nats; the DCGAN needs about
# 3,000 steps (--limit 48000 --epochs 4, 3.5 CPU-min) before most samples are recognisable
# digits (after 1,000 steps at lr 4e-4 they are still strokes).
GENERATIVE_DEFAULTS = {
    "autoencoder": {"epochs": 10, "batch_size": 128, "lr": 1e-3},
    "vae": {"epochs": 10, "batch_size": 128, "lr": 1e-3},
    "gan": {"epochs": 4, "batch_size": 64, "lr": 2e-4},
}
INPUT_SHAPE = [1, 28, 28]


def _note(text):
    print(f"note: {text}", file=sys.stderr)


def kind_of(model_name: str) -> str | None:
    """``"autoencoder"``, ``"vae"`` or ``"gan"`` for a generative model name (any spelling), else None."""
    from .. import models  # noqa: PLC0415

    try:
        return KINDS.get(models.canonical_name(model_name))
    except ValueError:
        return None


def is_generative(model_name: str) -> bool:
    """Whether ``model_name`` is trained by this module rather than as a classifier."""
    return kind_of(model_name) is not None


def _run_kind(run) -> str:
    kind = kind_of(run.model_name)
    if kind is None:
        raise RunError(f"{run.path} holds the classifier {run.model_name!r}, not a generative model "
                       f"(one of {', '.join(sorted(KINDS))})")
    return kind


def _load(dataset, train: bool, root=None):
    from ..data.datasets import load_split  # noqa: PLC0415
    from .training import data_error_text, data_error_types  # noqa: PLC0415

    try:
        return load_split(dataset, train, root=root)
    except data_error_types() as e:
        raise RunError(f"cannot find or load {dataset}: {data_error_text(e)}") from None


def _scale(kind):
    # the GAN's generator ends in tanh, so its data lives in [−1, 1]: (x − 0.5) / 0.5
    return {"mean": 0.5, "std": 0.5} if kind == "gan" else {"mean": 0.0, "std": 1.0}


def _settings(model, dataset, epochs, batch_size, lr, seed, limit):
    from .. import models  # noqa: PLC0415

    kind = kind_of(model)
    if kind is None:
        raise RunError(f"{model!r} is not a generative model; choose one of {', '.join(sorted(KINDS))}")
    d = GENERATIVE_DEFAULTS[kind]
    for name, v in (("epochs", epochs), ("batch_size", batch_size), ("limit", limit)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise RunError(f"{name} must be a positive integer, got {v!r}")
    if lr is not None and not (isinstance(lr, (int, float)) and 0 < lr < float("inf")):
        raise RunError(f"lr must be a positive number, got {lr!r}")
    return {"model": models.canonical_name(model), "kind": kind, "dataset": dataset or "mnist",
            "epochs": epochs or d["epochs"], "batch_size": batch_size or d["batch_size"],
            "lr": float(lr or d["lr"]), "seed": int(seed), "limit": limit}


def train(out, model: str = "vae", dataset: str | None = None, epochs: int | None = None,
          batch_size: int | None = None, lr: float | None = None, seed: int = 0, limit: int | None = None,
          overwrite: bool = False, quiet: bool = False, model_kwargs: dict | None = None) -> tuple:
    """Train a generative ``model`` on ``dataset`` into the run folder ``out``; returns ``(run, results)``.

    ``limit`` keeps the first N training images; ``results`` are :func:`evaluate_run`'s measures
    on the test split (also stored in config.json under ``results``). Stopped by Ctrl-C or
    SIGTERM, the run keeps the weights of its last finished epoch, is marked interrupted and
    :class:`~nerve.runs.training.RunInterrupted` is raised; a diverged run keeps its last finite epoch.
    """
    from .. import models, optim  # noqa: PLC0415
    from ..data import DataLoader, TensorDataset  # noqa: PLC0415
    from ..random import manual_seed  # noqa: PLC0415
    from ..train import CSVLogger, JSONLogger, ModelCheckpoint, NonFiniteGuard, ProgressBar  # noqa: PLC0415

    s = _settings(model, dataset, epochs, batch_size, lr, seed, limit)
    Run.check_target(Path(out), overwrite)
    kind = s["kind"]
    t0 = time.perf_counter()
    try:
        x, _, classes, train_dir = _load(s["dataset"], True)
        _, _, _, test_dir = _load(s["dataset"], False)
    except RunError as e:
        if dataset is not None:
            raise
        # the default falls back from MNIST to the bundled digits, as for classifiers
        _note(f"MNIST is not available ({str(e).split(': ', 1)[-1].split('. ')[0].rstrip('.')}); training on the "
              "bundled scikit-learn digits (Digits28) instead; 'nerve data fetch mnist' gets MNIST")
        s["dataset"] = "digits"
        x, _, classes, train_dir = _load("digits", True)
        _, _, _, test_dir = _load("digits", False)
    if tuple(x.shape[1:]) != tuple(INPUT_SHAPE):
        raise RunError(f"{s['dataset']} images have shape {tuple(x.shape[1:])}; the generative models take "
                       f"{tuple(INPUT_SHAPE)}")
    if limit is not None:
        x = x[:limit]
    norm = _scale(kind)
    x = ((x - np.float32(norm["mean"])) / np.float32(norm["std"])).astype(np.float32)
    manual_seed(s["seed"])
    kwargs = dict(model_kwargs or {})
    net = models.get_model(s["model"], **kwargs)
    config = {"model": s["model"], "model_kwargs": kwargs, "dataset": s["dataset"],
              "data_source": {"train": train_dir, "test": test_dir} if test_dir else None,
              "input_shape": INPUT_SHAPE, "classes": classes, "epochs": s["epochs"],
              "batch_size": s["batch_size"], "optimizer": "adam", "lr": s["lr"], "seed": s["seed"],
              "limit": limit, "normalize": norm, "generative": {"kind": kind}}
    run = Run.create(out, config, overwrite=overwrite)
    path = run.path
    loader = DataLoader(TensorDataset(x, x), batch_size=s["batch_size"], shuffle=True, seed=s["seed"])
    callbacks = [ProgressBar(quiet=quiet), CSVLogger(path / "history.csv"), JSONLogger(path / "history.json"),
                 NonFiniteGuard(), ModelCheckpoint(path / "checkpoint", save_best=False)]
    if not quiet:
        print(f"training {s['model']} on {s['dataset']}: {len(x)} images, {s['epochs']} epochs, batch "
              f"{s['batch_size']}, adam lr {s['lr']:g}", file=sys.stderr)
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    def _terminate(signum, frame):  # SIGTERM stops like Ctrl-C: keep the last finished epoch
        raise KeyboardInterrupt

    in_main = threading.current_thread() is threading.main_thread()   # only there can handlers be set
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main else None
    trained = net              # the module the trainer holds (and checkpoints): a VAE's objective wraps it
    t_fit = time.perf_counter()
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if kind == "gan":
                from ..train import GANTrainer  # noqa: PLC0415

                gopt = optim.Adam(net.generator.parameters(), lr=s["lr"], betas=(0.5, 0.999))
                dopt = optim.Adam(net.discriminator.parameters(), lr=s["lr"], betas=(0.5, 0.999))
                callbacks = [c for c in callbacks if not isinstance(c, NonFiniteGuard)]  # GANTrainer checks
                history = GANTrainer(net, gopt, dopt, seed=s["seed"], callbacks=callbacks).fit(loader, s["epochs"])
            else:
                from .. import nn  # noqa: PLC0415
                from ..train import ModelObjective, Trainer, objective_loss  # noqa: PLC0415

                if kind == "vae":
                    target, loss_fn = ModelObjective(net), objective_loss
                else:
                    target, loss_fn = net, nn.BCELoss()
                trained = target
                trainer = Trainer(target, optim.Adam(target.parameters(), lr=s["lr"]), loss_fn, metrics=(),
                                  callbacks=callbacks)
                history = trainer.fit(loader, s["epochs"])
    except KeyboardInterrupt:
        kept = _keep_last_epoch(run, net, trained)
        run.finish("interrupted", message=f"stopped by a signal after {kept} finished epochs")
        raise RunInterrupted(path, kept, s["epochs"]) from None
    except FloatingPointError as e:
        kept = _keep_last_epoch(run, net, trained)
        run.finish("diverged", message=str(e))
        raise FloatingPointError(f"{str(e).rstrip('.')}; {path} is marked diverged and keeps "
                                 + (f"the weights of epoch {kept}, the last finite ones" if kept else "no weights")
                                 ) from None
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    fit_seconds = time.perf_counter() - t_fit
    net.eval()
    run.save_weights(net)
    results = evaluate_run(run, model=net, write=False)
    config["results"] = results
    config["final_train"] = {k: v[-1] for k, v in history.history.items()}
    config["seconds"] = {"fit": round(fit_seconds, 3), "total": round(time.perf_counter() - t0, 3)}
    run.save_json("config.json", config)
    _pictures(run, net, kind)
    run.finish("complete")
    return run, results


def _keep_last_epoch(run, net, trained) -> int:
    """Put the weights of the last checkpointed (finished) epoch into the run's model.safetensors.

    ``trained`` is the module the trainer checkpointed (``net`` itself, or the objective wrapping
    a VAE); ``net``'s weights are what the run keeps. Returns that epoch, 0 when none finished.
    """
    from ..io import load_weights  # noqa: PLC0415
    from ..train.checkpoint import recover_interrupted_save  # noqa: PLC0415
    from .training import checkpoint_epoch  # noqa: PLC0415

    last = run.path / "checkpoint" / "last"
    recover_interrupted_save(last)  # killed in the middle of replacing it: the previous one
    if not (last / "checkpoint.json").is_file():
        return 0
    load_weights(trained, last / "model.safetensors")
    net.eval()
    run.save_weights(net)
    return checkpoint_epoch(last)


def _test_images(run, limit: int | None = 2000):
    source = run.config.get("data_source") or {}
    root = source.get("test") if isinstance(source.get("test"), str) else None
    x, y, _, _ = _load(run.dataset, False, root=root)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return run.normalize(x), y


def evaluate_run(run_or_path, model=None, batch_size: int = 500, limit: int | None = 2000,
                 write: bool = True) -> dict:
    """A generative run's measures on (the first ``limit`` images of) its test split.

    autoencoder: ``reconstruction_mse``, ``reconstruction_bce``; vae: ``neg_elbo`` (nats per
    image, one seeded posterior draw each), ``kl`` and ``reconstruction_mse``; gan: ``loss_d``,
    ``loss_g``, ``d_real``, ``d_fake`` (``GANTrainer.evaluate`` with seeded noise). With
    ``write`` the measures go into ``report.json`` in the run folder.
    """
    from .. import functional as F  # noqa: PLC0415
    from ..autograd import Tensor, no_grad  # noqa: PLC0415

    run = run_or_path if isinstance(run_or_path, Run) else Run.open(run_or_path)
    kind = _run_kind(run)
    net = model if model is not None else run.build_model()
    x, _ = _test_images(run, limit)
    was = getattr(net, "training", False)
    net.eval()
    sums: dict = {}
    try:
        if kind == "gan":
            from ..data import DataLoader, TensorDataset  # noqa: PLC0415
            from ..train import GANTrainer  # noqa: PLC0415

            out = GANTrainer(net, None, None).evaluate(DataLoader(TensorDataset(x), batch_size=batch_size), seed=0)
        else:
            rng = np.random.default_rng(0)
            with no_grad():
                for i in range(0, len(x), batch_size):
                    xb = Tensor(x[i:i + batch_size])
                    n = len(xb)
                    rec = net.reconstruct(xb)
                    parts = {"reconstruction_mse": float(((rec - xb) ** 2).mean()._data)}
                    if kind == "autoencoder":
                        parts["reconstruction_bce"] = float(F.binary_cross_entropy(
                            F.clamp(rec, min=1e-7, max=1 - 1e-7), xb)._data)
                    else:
                        from ..distributions import kl_divergence  # noqa: PLC0415

                        q = net.posterior(xb)
                        parts["neg_elbo"] = float(-net.elbo(xb, generator=rng).mean()._data)
                        parts["kl"] = float(kl_divergence(q, net.prior(n)).mean()._data)
                    for k, v in parts.items():
                        sums[k] = sums.get(k, 0.0) + v * n
            out = {k: v / len(x) for k, v in sums.items()}
    finally:
        net.train(was)
    out = {"kind": kind, "test_images": int(len(x)), **{k: float(v) for k, v in out.items()}}
    bad = [k for k, v in out.items() if isinstance(v, float) and not np.isfinite(v)]
    if bad:
        raise RunError(f"{run.path}: the test {', '.join(bad)} came out non-finite; the model diverged")
    if write:
        run.save_json("report.json", {"model": run.model_name, "dataset": run.dataset, **out})
    return out


def _pictures(run, net, kind):
    try:
        import PIL  # noqa: F401, PLC0415
    except ImportError:
        _note("Pillow is not installed, so no samples.png / reconstructions.png (pip install 'nerve[train]')")
        return
    from ..viz import save_reconstructions  # noqa: PLC0415

    if kind in ("vae", "gan"):
        sample_images(run, 64, run.path / "samples.png", seed=0)
    if kind in ("vae", "autoencoder"):
        x, _ = _test_images(run, 32)
        save_reconstructions(net, x, run.path / "reconstructions.png")
    run.record("samples.png", "reconstructions.png")


def sample_images(run_or_path, n: int = 64, out=None, seed: int = 0) -> Path:
    """Write a grid of ``n`` samples of a generative run's model to ``out`` (default
    ``<run>/samples.png``), 8 per row, and return the path.

    VAE: decoded z ~ N(0, I) (the Bernoulli means); GAN: the generator's outputs mapped back
    from [−1, 1] to [0, 1]; an autoencoder has no prior to sample from, so it is refused.
    """
    from ..data import save_image  # noqa: PLC0415

    run = run_or_path if isinstance(run_or_path, Run) else Run.open(run_or_path)
    kind = _run_kind(run)
    if kind == "autoencoder":
        raise RunError(f"{run.model_name} is a plain autoencoder: it has no prior to sample codes from; "
                       "train --model vae or --model dcgan to sample images")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 10_000:
        raise RunError(f"n must be an integer from 1 to 10000, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise RunError(f"seed must be a non-negative integer, got {seed!r}")
    out = Path(out) if out is not None else run.path / "samples.png"
    if out.is_dir():
        raise RunError(f"--out {out} is a folder; give a file name such as {out / 'samples.png'}")
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise RunError(f"--out {out} must end in .png (or .jpg)")
    net = run.build_model()
    was = getattr(net, "training", False)
    net.eval()
    try:
        images = net.sample(int(n), generator=np.random.default_rng(int(seed))).numpy()
    finally:
        net.train(was)
    norm = run.config["normalize"]
    images = images * norm["std"] + norm["mean"]       # back to pixels in [0, 1]
    try:
        written = save_image(np.clip(images, 0.0, 1.0), out, nrow=8)
    except OSError as e:
        raise RunError(f"cannot write {out}: {e.strerror or e}") from None
    if out.parent.resolve() == run.path.resolve() and out.name in ARTIFACTS:
        run.record(out.name)  # the manifest describes the file now in the run, not the one replaced
    return written
