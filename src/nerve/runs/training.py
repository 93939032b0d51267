"""Training into a run folder: what ``nerve train`` does, as library functions.

* :func:`prepare` builds the model, loads the data (from the folders a run recorded first),
  splits off a validation part, standardizes with statistics of the training part only and
  makes the loaders, all from a settings dict (:data:`SETTINGS`) and its seed, so a fresh run
  and a resumed one get the same;
* :func:`fit` trains into a :class:`~nerve.runs.Run` with a checkpoint per finished epoch,
  then evaluates on the test split and finishes the run (weights, config with results,
  curves, manifest ``complete``); interrupted and diverged runs keep their last finished,
  finite epoch and say so (:class:`RunInterrupted`, ``FloatingPointError``);
* :func:`settings_from_run` reads the settings back, type-checked, to resume.

Errors a user can fix are one-line :class:`~nerve.runs.RunError`.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from . import RunError

__all__ = ["SETTINGS", "OPTIMIZERS", "RunInterrupted", "prepare", "fit", "settings_from_run", "run_config",
           "resume_point", "restart", "build_model", "make_optimizer", "load_training_data", "checkpoint_epoch",
           "keep_last_epoch", "fit_keeping_epochs", "checked_settings"]

INPUT_SHAPE = (1, 28, 28)
# --optimizer name -> (nerve.optim class name, extra arguments); its keys are
# the --optimizer choices.
_OPTIMIZER_CLASSES = {"sgd": ("SGD", {}), "momentum": ("SGD", {"momentum": 0.9}), "adam": ("Adam", {}),
                      "adamw": ("AdamW", {}), "rmsprop": ("RMSprop", {}), "adagrad": ("Adagrad", {}),
                      "adadelta": ("Adadelta", {}), "adamax": ("Adamax", {}), "nadam": ("NAdam", {}),
                      "radam": ("RAdam", {})}
OPTIMIZERS = tuple(_OPTIMIZER_CLASSES)


class RunInterrupted(Exception):
    """Training was stopped by a signal; the run keeps ``epoch`` finished epochs of ``epochs``."""

    def __init__(self, path, epoch: int, epochs: int):
        super().__init__(f"{path} keeps epoch {epoch} of {epochs}")
        self.path, self.epoch, self.epochs = Path(path), epoch, epochs


def _note(text):
    print(f"note: {text}", file=sys.stderr)


def _load_split(dataset, train, root=None):
    from ..data.datasets import load_split  # noqa: PLC0415

    return load_split(dataset, train, root=root)


def data_error_types():
    from ..data.datasets import DatasetFileError  # noqa: PLC0415

    return (DatasetFileError, OSError)


def data_error_text(e) -> str:
    """A data error on one line: what is missing, the places searched and the fix."""
    if hasattr(e, "one_line"):
        return e.one_line()
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def load_training_data(requested: str | None, roots=None):
    """Load the train and test splits; the default falls back from MNIST to Digits28.

    ``roots``: ``{"train": folder, "test": folder}`` searched first (a resumed run's record).
    Returns ``(dataset, train split, test split, source)`` where each split is ``(x, y,
    classes)`` and ``source`` is ``{"train": folder, "test": folder}`` (None for digits).
    """
    dataset = requested or "mnist"
    roots = roots if isinstance(roots, dict) else {}
    try:
        *train, train_dir = _load_split(dataset, True, root=roots.get("train"))
        *test, test_dir = _load_split(dataset, False, root=roots.get("test"))
    except data_error_types() as e:
        if requested is not None:
            raise RunError(f"cannot find or download {dataset} (or use --dataset digits): "
                             f"{data_error_text(e)}") from None
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        _note(f"MNIST is not available ({first}); training on the bundled scikit-learn digits "
              "(Digits28) instead; 'nerve data fetch mnist' gets MNIST")
        return "digits", _load_split("digits", True)[:3], _load_split("digits", False)[:3], None
    source = {"train": train_dir, "test": test_dir} if test_dir is not None else None
    return dataset, tuple(train), tuple(test), source


def _normalize(x, mean, std):
    return ((x - np.float32(mean)) / np.float32(std)).astype(np.float32, copy=False)



def build_model(name: str, kwargs: dict | None = None):
    from .. import models  # noqa: PLC0415

    try:
        return models.get_model(name, **(kwargs or {}))
    except ValueError as e:
        raise RunError(str(e).splitlines()[0]) from None
    except TypeError:
        raise RunError(f"model {name!r} does not take the options {sorted(kwargs)}") from None


def check_model_input(model, name: str, sample, num_classes: int) -> None:
    """Run one training image through ``model`` so a wrong input shape fails before training."""
    from ..autograd import Tensor, no_grad  # noqa: PLC0415

    model.eval()  # no dropout draws, no batch statistics from a single image
    try:
        with no_grad():
            out = model(Tensor(sample))
    except (ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RunError(f"model {name!r} cannot take the {tuple(sample.shape[1:])} digit images: "
                         f"{first}") from None
    finally:
        model.train()
    if tuple(out.shape) != (1, num_classes):
        raise RunError(f"model {name!r} outputs shape {tuple(out.shape[1:])} per image, but the "
                         f"dataset has {num_classes} classes; pick a model with {num_classes} outputs")



def make_optimizer(name: str, params, lr: float):
    from .. import optim  # noqa: PLC0415

    if name not in _OPTIMIZER_CLASSES:
        raise RunError(f"unknown optimizer {name!r}")  # argparse already restricts the choices
    cls, extra = _OPTIMIZER_CLASSES[name]
    return getattr(optim, cls)(params, lr=lr, **extra)



# The settings a run records and `--resume` reads back, with their types.
SETTINGS = {"model": str, "model_kwargs": dict, "dataset": str, "epochs": int, "batch_size": int,
             "optimizer": str, "lr": float, "seed": int, "val_fraction": float, "shift": int,
             "limit": (int, type(None)), "sampler": str}
# How the training order is drawn: "loader" (one process: the DataLoader shuffles) or
# "distributed" (started on several ranks: a DistributedSampler over the global batch, which
# lets the run resume on any number of ranks). Runs from before this setting are "loader".
SAMPLERS = ("loader", "distributed")



def prepare(settings: dict, roots=None):
    """Model, data, loaders and normalisation for ``settings``; the same for a fresh and a resumed run."""
    from ..data import DataLoader, TensorDataset  # noqa: PLC0415
    from ..random import manual_seed  # noqa: PLC0415

    seed = settings["seed"]
    manual_seed(seed)
    model = build_model(settings["model"], settings["model_kwargs"])
    dataset, (x_train, y_train, classes), (x_test, y_test, _), data_source = \
        load_training_data(settings["dataset"], roots)
    if settings["limit"] is not None:  # quick experiments: the first N training samples only
        if settings["limit"] > len(y_train):
            _note(f"--limit {settings['limit']} is more than the {len(y_train)} training samples of {dataset}; "
                  "training on all of them")
        x_train, y_train = x_train[:settings["limit"]], y_train[:settings["limit"]]
    check_model_input(model, settings["model"], x_train[:1], len(classes))

    # Hold out a validation part, then standardize with statistics of the training part only.
    order = np.random.default_rng(seed).permutation(len(y_train))
    n_val = int(round(settings["val_fraction"] * len(y_train)))
    val_idx, train_idx = order[:n_val], order[n_val:]
    if len(train_idx) == 0:
        raise RunError(f"--val-fraction {settings['val_fraction']} leaves no training samples")
    mean = float(x_train[train_idx].mean())
    std = float(x_train[train_idx].std()) or 1.0
    x_train = _normalize(x_train, mean, std)
    x_test = _normalize(x_test, mean, std)
    shift_state = None
    if settings["shift"]:
        from ..data.shift import RandomShiftDataset  # noqa: PLC0415

        side = min(x_train.shape[2:])
        if settings["shift"] >= side:
            raise RunError(f"--shift {settings['shift']} must be smaller than the image size ({side} px)")
        train_set = RandomShiftDataset(x_train[train_idx], y_train[train_idx], max_shift=settings["shift"],
                                       fill=_normalize(np.float32(0.0), mean, std), seed=seed + 1)
        shift_state = train_set.transform  # its generator travels in the checkpoints
    else:
        train_set = TensorDataset(x_train[train_idx], y_train[train_idx])
    val_set = TensorDataset(x_train[val_idx], y_train[val_idx]) if n_val else None
    test_set = TensorDataset(x_test, y_test)
    if settings.get("sampler", "loader") == "distributed":
        from ..data import DistributedSampler  # noqa: PLC0415
        from .parallel import shard, world  # noqa: PLC0415

        rank, size = world()
        if settings["batch_size"] % size:
            raise RunError(f"--batch-size {settings['batch_size']} is the global batch and must divide "
                           f"evenly over {size} processes; use a multiple of {size}")
        train_loader = DataLoader(train_set, batch_size=settings["batch_size"] // size,
                                  sampler=DistributedSampler(train_set, size, rank, shuffle=True, seed=seed))
        val_set = shard(val_set, rank, size) if val_set is not None else None
        test_set = shard(test_set, rank, size)
    else:
        train_loader = DataLoader(train_set, batch_size=settings["batch_size"], shuffle=True, seed=seed)
    return {
        "model": model, "dataset": dataset, "classes": classes, "data_source": data_source,
        "normalize": {"mean": mean, "std": std}, "shift_state": shift_state,
        "n_train": len(train_idx), "n_val": n_val, "n_test": len(y_test),
        "train_loader": train_loader,
        "val_loader": DataLoader(val_set, batch_size=1000) if val_set is not None else None,
        "test_loader": DataLoader(test_set, batch_size=1000),
    }



def checkpoint_epoch(folder: Path) -> int:
    from ..io import load_json  # noqa: PLC0415

    try:
        epoch = load_json(folder / "checkpoint.json").get("epoch", 0)
    except (ValueError, OSError, AttributeError):
        raise RunError(f"{folder / 'checkpoint.json'} is damaged; this run cannot be resumed") from None
    return int(epoch) if isinstance(epoch, int) else 0


def fit(run, settings: dict, prep: dict, config: dict, resume_from=None, quiet: bool = False,
        diagnose: bool = False, report=None, diverge_hint: str = "", load_seconds: float = 0.0,
        t_start: float | None = None) -> dict:
    """Train into ``run`` and finish it; returns the test results and the timings.

    A run stopped by Ctrl-C or SIGTERM keeps its last finished epoch, is marked interrupted and
    :class:`RunInterrupted` is raised; a run whose loss or weights become non-finite keeps its
    last finite epoch, is marked diverged and ``FloatingPointError`` is raised (its message ends
    with ``diverge_hint``). ``report`` receives the training doctor's report when ``diagnose``.
    """
    from .. import nn  # noqa: PLC0415
    from ..optim.lr_scheduler import CosineAnnealingLR  # noqa: PLC0415
    from ..train import (CarryState, CSVLogger, JSONLogger, ModelCheckpoint, NonFiniteGuard,  # noqa: PLC0415
                         ProgressBar, Trainer)

    model, path, epochs = prep["model"], run.path, settings["epochs"]
    writes = getattr(run, "writes", True)          # False on ranks other than 0
    quiet = quiet or not writes
    net = model
    if settings.get("sampler", "loader") == "distributed":
        from .parallel import world  # noqa: PLC0415

        if world()[1] > 1:
            from ..distributed import DistributedDataParallel  # noqa: PLC0415

            net = DistributedDataParallel(model)
    optimizer = make_optimizer(settings["optimizer"], model.parameters(), settings["lr"])
    scheduler = CosineAnnealingLR(optimizer, T_max=epochs)
    # The list's order is part of the checkpoint (callback states are keyed by position).
    callbacks = [ProgressBar(quiet=quiet), CSVLogger(path / "history.csv"), JSONLogger(path / "history.json"),
                 *([CarryState(prep["shift_state"])] if prep["shift_state"] else []), NonFiniteGuard(),
                 ModelCheckpoint(path / "checkpoint", save_best=False)]
    doctor = None
    if diagnose:
        from ..train.doctor import TrainingDoctor  # noqa: PLC0415

        doctor = TrainingDoctor()
        callbacks.append(doctor)
    trainer = Trainer(net, optimizer, nn.CrossEntropyLoss(), callbacks=callbacks, scheduler=scheduler)
    if not quiet:
        options = "".join(f", {k} {v}" for k, v in settings["model_kwargs"].items())
        verb = f"resuming {path} from epoch {checkpoint_epoch(resume_from)}: " if resume_from else "training "
        print(f"{verb}{settings['model']} on {prep['dataset']}: {prep['n_train']} train / {prep['n_val']} val / "
              f"{prep['n_test']} test samples, {epochs} epochs, batch {settings['batch_size']}, "
              f"{settings['optimizer']} lr {settings['lr']:g}{options}, shifts up to {settings['shift']} px",
              file=sys.stderr)

    hint = "" if diagnose else diverge_hint
    t_fit = time.perf_counter()
    try:
        history, fit_seconds = fit_keeping_epochs(
            run, trainer, model, prep, epochs, resume_from,
            lambda kept: (f"the weights of epoch {kept}, the last finite ones" if kept else "no weights") + hint)
    finally:
        if doctor is not None and writes:  # the report matters most when training blew up
            from ..io.atomic import write_text  # noqa: PLC0415

            text = doctor.report()
            if report is not None:
                report(text)
            write_text(path / "diagnosis.txt", text + "\n")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        test = trainer.evaluate(prep["test_loader"])
    if not (np.isfinite(test["loss"]) and np.isfinite(test["accuracy"])):
        run.finish("diverged", message=f"the test loss is {test['loss']}")
        raise FloatingPointError(f"the test loss is {test['loss']}; the run is marked diverged")
    config["results"] = {"test_loss": test["loss"], "test_accuracy": test["accuracy"],
                         "final_train_loss": history["loss"][-1],
                         "final_val_accuracy": history["val_accuracy"][-1] if prep["val_loader"] else None,
                         "final_val_loss": history["val_loss"][-1] if prep["val_loader"] else None}
    config["seconds"] = {"load": round(load_seconds, 3), "fit": round(fit_seconds, 3),
                         "total": round(time.perf_counter() - (t_start if t_start is not None else t_fit), 3)}
    run.save_weights(model)
    run.save_json("config.json", config)
    if writes:
        _plot_curves(history, path / "curves.png", f"{settings['model']} on {prep['dataset']}")
    run.finish("complete")
    return {"test_loss": test["loss"], "test_accuracy": test["accuracy"], "epochs": epochs,
            "fit_seconds": fit_seconds}


def fit_keeping_epochs(run, trainer, model, prep: dict, epochs: int, resume_from, kept_text):
    """``trainer.fit`` into ``run`` so that a stopped or diverged run keeps its last good epoch.

    SIGTERM stops like Ctrl-C. A run stopped after its last epoch was saved only needs its finish
    (the checkpoint is loaded instead of training). When stopped, the run keeps its last finished
    epoch, is marked interrupted and :class:`RunInterrupted` is raised; when the loss or weights
    become non-finite it keeps its last finite epoch, is marked diverged and ``FloatingPointError``
    is raised, ending "... keeps " + ``kept_text(kept_epoch)``. Returns (history, fit seconds).
    """
    import signal  # noqa: PLC0415

    def _terminate(signum, frame):  # SIGTERM stops like Ctrl-C: keep the last finished epoch
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    t_fit = time.perf_counter()
    try:
        # Overflow warnings would bury the one line that matters; NonFiniteGuard and the
        # trainer's loss check turn non-finite values into an error instead.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if resume_from is not None and checkpoint_epoch(resume_from) >= epochs:
                # stopped after its last epoch was saved, before the end: only the finish is missing
                trainer.load_checkpoint(resume_from)
                history = trainer.history
            else:
                history = trainer.fit(prep["train_loader"], epochs, val_loader=prep["val_loader"],
                                      resume_from=resume_from)
    except KeyboardInterrupt:
        kept = keep_last_epoch(run, model)
        run.finish("interrupted", message=f"stopped by a signal after {kept} finished epochs")
        raise RunInterrupted(run.path, kept, epochs) from None
    except FloatingPointError as e:
        kept = keep_last_epoch(run, model)
        run.finish("diverged", message=str(e))
        raise FloatingPointError(f"{str(e).rstrip('.')}; {run.path} is marked diverged and keeps "
                                 + kept_text(kept)) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    return history, time.perf_counter() - t_fit


def keep_last_epoch(run, model) -> int:
    """Put the last checkpointed (finished, finite) epoch's weights into model.safetensors.

    Returns that epoch, or 0 when no epoch finished (then the run keeps no weights at all).
    """
    from ..io import load_weights  # noqa: PLC0415
    from ..train.checkpoint import recover_interrupted_save  # noqa: PLC0415

    last = run.path / "checkpoint" / "last"
    if getattr(run, "writes", True):
        recover_interrupted_save(last)  # killed in the middle of replacing it: the previous one
    else:  # a rank other than 0: rank 0 keeps the weights
        return checkpoint_epoch(last) if (last / "checkpoint.json").is_file() else 0
    if not (last / "checkpoint.json").is_file():
        (run.path / "model.safetensors").unlink(missing_ok=True)
        run.manifest["artifacts"].pop("model.safetensors", None)
        return 0
    load_weights(model, last / "model.safetensors")
    run.save_weights(model)
    return checkpoint_epoch(last)


def _plot_curves(history, path, title):
    try:
        import matplotlib  # noqa: F401, PLC0415
    except ImportError:
        _note("matplotlib is not installed, so no curves.png (pip install 'nerve[plot]')")
        return
    from ..viz import plot_learning_curves  # noqa: PLC0415

    plot_learning_curves(history, path, title=title)


def checked_settings(config: dict, spec: dict, where, defaults: dict | None = None) -> dict:
    """The values ``spec`` names (name -> type) read from a run's ``config``, type-checked.

    Integers stand for floats where a float is expected; a missing key takes its value from
    ``defaults`` (else None, which only ``(int, type(None))``-like specs accept). Raises a one-line
    :class:`RunError` naming ``where`` and the field for anything else.
    """
    settings = {}
    for key, kind in spec.items():
        value = config.get(key, (defaults or {}).get(key))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise RunError(f"{where}: {key} must be {getattr(kind, '__name__', 'an integer or null')}, "
                           f"got {value!r}; this run cannot be resumed")
        settings[key] = value
    if "optimizer" in settings and settings["optimizer"] not in OPTIMIZERS:
        raise RunError(f"{where}: unknown optimizer {settings['optimizer']!r}; this run cannot be resumed")
    return settings


def settings_from_run(run) -> dict:
    """The training settings a run recorded, type-checked (for resuming it)."""
    where = run.path / "config.json"
    settings = checked_settings(run.config, SETTINGS, where, defaults={"sampler": "loader"})
    if settings["sampler"] not in SAMPLERS:
        raise RunError(f"{where}: unknown sampler {settings['sampler']!r}; this run cannot be resumed")
    return settings


def run_config(settings: dict, prep: dict) -> dict:
    """The config.json of a run trained with ``settings`` on the data :func:`prepare` loaded."""
    from .. import models  # noqa: PLC0415

    return {
        "model": models.canonical_name(settings["model"]), "model_kwargs": settings["model_kwargs"],
        "dataset": prep["dataset"], "data_source": prep["data_source"], "input_shape": list(INPUT_SHAPE),
        "classes": prep["classes"], "epochs": settings["epochs"], "batch_size": settings["batch_size"],
        "optimizer": settings["optimizer"], "lr": settings["lr"], "scheduler": "cosine", "seed": settings["seed"],
        "val_fraction": settings["val_fraction"], "shift": settings["shift"], "limit": settings["limit"],
        "sampler": settings.get("sampler", "loader"), "normalize": prep["normalize"],
    }


def resume_point(run):
    """The checkpoint folder to resume ``run`` from (None: no epoch finished, start over).

    Raises :class:`~nerve.runs.RunError` for a run with nothing to resume (complete, or one
    from before manifests) and for a diverged one (the same state would diverge again).
    """
    if run.status == "diverged":  # the same settings from the same state diverge the same way
        raise RunError(f"{run.path} diverged ({(run.manifest or {}).get('message', 'non-finite values')}); "
                       "resuming it would diverge again: train a new run with a smaller --lr")
    if run.status == "complete":  # also a run from before manifests: nothing is unfinished
        raise RunError(f"{run.path} is complete ({run.config.get('epochs')} epochs); nothing to resume. "
                       "For a longer run, train a new one with --epochs")
    from ..train.checkpoint import recover_interrupted_save  # noqa: PLC0415

    checkpoint = run.path / "checkpoint" / "last"
    recover_interrupted_save(checkpoint)  # killed in the middle of replacing it: the previous one
    return checkpoint if (checkpoint / "checkpoint.json").is_file() else None


def restart(run, config: dict) -> None:
    """Mark ``run`` running again with ``config`` (before resuming it)."""
    run.manifest = run.manifest or run._new_manifest()
    run.manifest["status"] = "running"
    run.save_json("config.json", config)
