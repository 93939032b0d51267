"""What each ``nerve`` sub-command does. ``UsageError`` marks the user's mistakes."""
from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import numpy as np

from .defaults import DEFAULT_LR, DEFAULT_MODEL_KWARGS, DEFAULTS
from .main import UsageError

INPUT_SHAPE = (1, 28, 28)


def _note(text):
    print(f"note: {text}", file=sys.stderr)


def single_threaded_blas():
    """Limit NumPy's BLAS to one thread while a command runs.

    The models trained here multiply small matrices (a batch of 128 by 784 by 16); spreading
    them over threads costs more than it gains, and on a busy machine the waiting threads
    made an MNIST epoch 5-10 times slower (measured: 0.25 s of CPU per epoch with one
    thread against 1.5-3.7 s with the default pool on 2 shared cores).
    """
    from ..backend import limit_blas_threads  # noqa: PLC0415

    return limit_blas_threads(1)


# ------------------------------------------------------------------------------ data
def load_split(dataset: str, train: bool, root=None):
    """``(images (N, 1, 28, 28) float32 in [0, 1], labels (N,) int64, class names, folder)``."""
    from ..data.datasets import load_split as _load  # noqa: PLC0415

    return _load(dataset, train, root=root)


def _data_error_types():
    from ..data.datasets import DatasetFileError  # noqa: PLC0415

    return (DatasetFileError, OSError)


def _data_error_text(e) -> str:
    """A data error on one line: what is missing, the places searched and the fix."""
    if hasattr(e, "one_line"):
        return e.one_line()
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _load_training_data(requested: str | None, roots=None):
    """Load the train and test splits; the default falls back from MNIST to Digits28.

    ``roots``: ``{"train": folder, "test": folder}`` searched first (a resumed run's record).
    Returns ``(dataset, train split, test split, source)`` where each split is ``(x, y,
    classes)`` and ``source`` is ``{"train": folder, "test": folder}`` (None for digits).
    """
    dataset = requested or "mnist"
    roots = roots if isinstance(roots, dict) else {}
    try:
        *train, train_dir = load_split(dataset, True, root=roots.get("train"))
        *test, test_dir = load_split(dataset, False, root=roots.get("test"))
    except _data_error_types() as e:
        if requested is not None:
            raise UsageError(f"cannot find or download {dataset} (or use --dataset digits): "
                             f"{_data_error_text(e)}") from None
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        _note(f"MNIST is not available ({first}); training on the bundled scikit-learn digits "
              "(Digits28) instead; 'nerve data fetch mnist' gets MNIST")
        return "digits", load_split("digits", True)[:3], load_split("digits", False)[:3], None
    source = {"train": train_dir, "test": test_dir} if test_dir is not None else None
    return dataset, tuple(train), tuple(test), source


def _normalize(x, mean, std):
    return ((x - np.float32(mean)) / np.float32(std)).astype(np.float32, copy=False)


# ---------------------------------------------------------------------------- models
def _build_model(name: str, kwargs: dict | None = None):
    from .. import models  # noqa: PLC0415

    try:
        return models.get_model(name, **(kwargs or {}))
    except ValueError as e:
        raise UsageError(str(e).splitlines()[0]) from None
    except TypeError:
        raise UsageError(f"model {name!r} does not take the options {sorted(kwargs)}") from None


def _check_model_input(model, name: str, sample, num_classes: int) -> None:
    """Run one training image through ``model`` so a wrong input shape fails before training."""
    from ..autograd import Tensor, no_grad  # noqa: PLC0415

    model.eval()  # no dropout draws, no batch statistics from a single image
    try:
        with no_grad():
            out = model(Tensor(sample))
    except (ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UsageError(f"model {name!r} cannot take the {tuple(sample.shape[1:])} digit images: "
                         f"{first}") from None
    finally:
        model.train()
    if tuple(out.shape) != (1, num_classes):
        raise UsageError(f"model {name!r} outputs shape {tuple(out.shape[1:])} per image, but the "
                         f"dataset has {num_classes} classes; pick a model with {num_classes} outputs")


def _model_kwargs(args) -> dict:
    kwargs = dict(DEFAULT_MODEL_KWARGS.get(args.model.strip().lower().replace("_", "-"), {}))
    if args.activation is not None:
        from ..nn import available_activations  # noqa: PLC0415

        if args.activation not in available_activations():
            raise UsageError(f"unknown activation {args.activation!r}; choose from "
                             f"{', '.join(available_activations())}")
        kwargs["activation"] = args.activation
    return kwargs


def _make_optimizer(name: str, params, lr: float):
    from .. import optim  # noqa: PLC0415

    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name == "momentum":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    if name == "adamw":
        return optim.AdamW(params, lr=lr)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    if name == "adagrad":
        return optim.Adagrad(params, lr=lr)
    raise UsageError(f"unknown optimizer {name!r}")  # argparse already restricts the choices


# ------------------------------------------------------------------------------ runs
def _default_run_dir(model: str, dataset: str) -> Path:
    base = Path("runs") / f"{model}-{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    return path


def _open_run(run: str):
    """Open and validate a run folder (``nerve.runs.Run``); problems are one-line errors."""
    from ..runs import Run  # noqa: PLC0415

    r = Run.open(run)
    if r.status != "complete":
        _note(f"{run} is marked {r.status} in its manifest: "
              + {"running": "it did not finish (killed?); these are the last weights it saved",
                 "interrupted": "training was stopped; these are the weights of the last finished epoch",
                 "diverged": "training diverged; these are the last finite weights"}[r.status])
    return r


# ----------------------------------------------------------------------------- train
# The settings a run records and `--resume` reads back, with their types.
_SETTINGS = {"model": str, "model_kwargs": dict, "dataset": str, "epochs": int, "batch_size": int,
             "optimizer": str, "lr": float, "seed": int, "val_fraction": float, "shift": int,
             "limit": (int, type(None))}
_RESUME_ALLOWED = {"quiet", "diagnose", "resume", "command", "func"}


def _settings_from_args(args) -> dict:
    return {"model": args.model, "model_kwargs": _model_kwargs(args), "dataset": args.dataset,
            "epochs": args.epochs or DEFAULTS["epochs"], "batch_size": args.batch_size or DEFAULTS["batch_size"],
            "optimizer": args.optimizer, "lr": args.lr or DEFAULT_LR[args.optimizer], "seed": args.seed,
            "val_fraction": DEFAULTS["val_fraction"] if args.val_fraction is None else args.val_fraction,
            "shift": DEFAULTS["shift"] if args.shift is None else args.shift, "limit": args.limit}


def _settings_from_run(run, args) -> dict:
    """The training settings a run recorded, type-checked, for ``--resume``."""
    where = run.path / "config.json"
    settings = {}
    for key, kind in _SETTINGS.items():
        value = run.config.get(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise UsageError(f"{where}: {key} must be {getattr(kind, '__name__', 'an integer or null')}, "
                             f"got {value!r}; this run cannot be resumed")
        settings[key] = value
    if settings["optimizer"] not in DEFAULT_LR:
        raise UsageError(f"{where}: unknown optimizer {settings['optimizer']!r}; this run cannot be resumed")
    explicit = [k for k, v in vars(args).items()
                if k not in _RESUME_ALLOWED and k != "func" and v != _PARSER_DEFAULTS.get(k)]
    if explicit:
        raise UsageError(f"--resume continues {run.path} with the settings it recorded; drop "
                         + ", ".join("--" + k.replace("_", "-") for k in explicit)
                         + " (only --quiet and --diagnose go with --resume)")
    return settings


_PARSER_DEFAULTS = {"model": "seed-mlp", "dataset": None, "batch_size": None, "optimizer": "adam",
                    "lr": None, "seed": 0, "out": None, "val_fraction": None, "activation": None,
                    "shift": None, "limit": None, "overwrite": False}


def _prepare(settings: dict, roots=None):
    """Model, data, loaders and normalisation for ``settings``; the same for a fresh and a resumed run."""
    from ..data import DataLoader, TensorDataset  # noqa: PLC0415
    from ..random import manual_seed  # noqa: PLC0415

    seed = settings["seed"]
    manual_seed(seed)
    model = _build_model(settings["model"], settings["model_kwargs"])
    dataset, (x_train, y_train, classes), (x_test, y_test, _), data_source = \
        _load_training_data(settings["dataset"], roots)
    if settings["limit"] is not None:  # quick experiments: the first N training samples only
        x_train, y_train = x_train[:settings["limit"]], y_train[:settings["limit"]]
    _check_model_input(model, settings["model"], x_train[:1], len(classes))

    # Hold out a validation part, then standardize with statistics of the training part only.
    order = np.random.default_rng(seed).permutation(len(y_train))
    n_val = int(round(settings["val_fraction"] * len(y_train)))
    val_idx, train_idx = order[:n_val], order[n_val:]
    if len(train_idx) == 0:
        raise UsageError(f"--val-fraction {settings['val_fraction']} leaves no training samples")
    mean = float(x_train[train_idx].mean())
    std = float(x_train[train_idx].std()) or 1.0
    x_train = _normalize(x_train, mean, std)
    x_test = _normalize(x_test, mean, std)
    shift_state = None
    if settings["shift"]:
        from .augment import RandomShiftDataset  # noqa: PLC0415

        side = min(x_train.shape[2:])
        if settings["shift"] >= side:
            raise UsageError(f"--shift {settings['shift']} must be smaller than the image size ({side} px)")
        train_set = RandomShiftDataset(x_train[train_idx], y_train[train_idx], max_shift=settings["shift"],
                                       fill=_normalize(np.float32(0.0), mean, std), seed=seed + 1)
        shift_state = train_set.transform  # its generator travels in the checkpoints
    else:
        train_set = TensorDataset(x_train[train_idx], y_train[train_idx])
    return {
        "model": model, "dataset": dataset, "classes": classes, "data_source": data_source,
        "normalize": {"mean": mean, "std": std}, "shift_state": shift_state,
        "n_train": len(train_idx), "n_val": n_val, "n_test": len(y_test),
        "train_loader": DataLoader(train_set, batch_size=settings["batch_size"], shuffle=True, seed=seed),
        "val_loader": (DataLoader(TensorDataset(x_train[val_idx], y_train[val_idx]), batch_size=1000)
                       if n_val else None),
        "test_loader": DataLoader(TensorDataset(x_test, y_test), batch_size=1000),
    }


def cmd_train(args):
    from ..runs import Run  # noqa: PLC0415

    t_start = time.perf_counter()
    if args.resume is not None:
        run = Run.open(args.resume, require_weights=False)
        if run.status == "diverged":  # the same settings from the same state diverge the same way
            raise UsageError(f"{run.path} diverged ({(run.manifest or {}).get('message', 'non-finite values')}); "
                             "resuming it would diverge again: train a new run with a smaller --lr")
        settings = _settings_from_run(run, args)
        if run.status == "complete":  # also a run from before manifests: nothing is unfinished
            raise UsageError(f"{run.path} is complete ({run.config.get('epochs')} epochs); nothing to resume. "
                             "For a longer run, train a new one with --epochs")
        prep = _prepare(settings, roots=run.config.get("data_source"))
        if prep["dataset"] != run.dataset:
            raise UsageError(f"cannot resume {run.path}: its {run.dataset} data is not available")
        checkpoint = run.path / "checkpoint" / "last"
        resume_from = checkpoint if (checkpoint / "checkpoint.json").is_file() else None
    else:
        settings = _settings_from_args(args)
        if args.out:
            Run.check_target(Path(args.out), args.overwrite)
        prep = _prepare(settings)
        run_dir = Path(args.out) if args.out else _default_run_dir(settings["model"], prep["dataset"])
        resume_from = None
    config = {
        "model": settings["model"], "model_kwargs": settings["model_kwargs"], "dataset": prep["dataset"],
        "data_source": prep["data_source"], "input_shape": list(INPUT_SHAPE), "classes": prep["classes"],
        "epochs": settings["epochs"], "batch_size": settings["batch_size"], "optimizer": settings["optimizer"],
        "lr": settings["lr"], "scheduler": "cosine", "seed": settings["seed"],
        "val_fraction": settings["val_fraction"], "shift": settings["shift"], "limit": settings["limit"],
        "normalize": prep["normalize"],
    }
    if args.resume is not None:
        run.manifest = run.manifest or run._new_manifest()
        run.manifest["status"] = "running"
        run.save_json("config.json", config)
    else:
        config["model"] = _canonical_model(settings["model"])
        run = Run.create(run_dir, config, overwrite=args.overwrite)
    load_seconds = time.perf_counter() - t_start
    code = _fit_run(run, settings, prep, config, args, resume_from, load_seconds, t_start)
    if code == 0 and args.resume is None and not args.out:
        _link_latest(run.path)
    return code


def _canonical_model(name):
    from .. import models  # noqa: PLC0415

    return models.canonical_name(name)


def _checkpoint_epoch(folder: Path) -> int:
    from ..io import load_json  # noqa: PLC0415

    try:
        epoch = load_json(folder / "checkpoint.json").get("epoch", 0)
    except (ValueError, OSError, AttributeError):
        raise UsageError(f"{folder / 'checkpoint.json'} is damaged; this run cannot be resumed") from None
    return int(epoch) if isinstance(epoch, int) else 0


def _fit_run(run, settings, prep, config, args, resume_from, load_seconds, t_start):
    """Train into ``run``; a diverged or interrupted run keeps its last finished, finite epoch."""
    import signal  # noqa: PLC0415

    from .. import nn  # noqa: PLC0415
    from ..optim.lr_scheduler import CosineAnnealingLR  # noqa: PLC0415
    from ..train import (CarryState, CSVLogger, JSONLogger, ModelCheckpoint, NonFiniteGuard,  # noqa: PLC0415
                         ProgressBar, Trainer)

    model, path, epochs = prep["model"], run.path, settings["epochs"]
    optimizer = _make_optimizer(settings["optimizer"], model.parameters(), settings["lr"])
    scheduler = CosineAnnealingLR(optimizer, T_max=epochs)
    # The list's order is part of the checkpoint (callback states are keyed by position).
    callbacks = [ProgressBar(quiet=args.quiet), CSVLogger(path / "history.csv"), JSONLogger(path / "history.json"),
                 *([CarryState(prep["shift_state"])] if prep["shift_state"] else []), NonFiniteGuard(),
                 ModelCheckpoint(path / "checkpoint", save_best=False)]
    doctor = None
    if args.diagnose:
        from ..train.doctor import TrainingDoctor  # noqa: PLC0415

        doctor = TrainingDoctor()
        callbacks.append(doctor)
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), callbacks=callbacks, scheduler=scheduler)
    if not args.quiet:
        options = "".join(f", {k} {v}" for k, v in settings["model_kwargs"].items())
        verb = f"resuming {path} from epoch {_checkpoint_epoch(resume_from)}: " if resume_from else "training "
        print(f"{verb}{settings['model']} on {prep['dataset']}: {prep['n_train']} train / {prep['n_val']} val / "
              f"{prep['n_test']} test samples, {epochs} epochs, batch {settings['batch_size']}, "
              f"{settings['optimizer']} lr {settings['lr']:g}{options}, shifts up to {settings['shift']} px",
              file=sys.stderr)

    def _terminate(signum, frame):  # SIGTERM stops like Ctrl-C: keep the last finished epoch
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    t_fit = time.perf_counter()
    try:
        # Overflow warnings would bury the one line that matters; NonFiniteGuard and the
        # trainer's loss check turn non-finite values into an error instead.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if resume_from is not None and _checkpoint_epoch(resume_from) >= epochs:
                # stopped after its last epoch was saved, before the end: only the finish is missing
                trainer.load_checkpoint(resume_from)
                history = trainer.history
            else:
                history = trainer.fit(prep["train_loader"], epochs, val_loader=prep["val_loader"],
                                      resume_from=resume_from)
    except KeyboardInterrupt:
        kept = _keep_last_epoch(run, model)
        run.finish("interrupted", message=f"stopped by a signal after {kept} finished epochs")
        print(f"nerve: interrupted; {path} keeps epoch {kept} of {epochs}; continue with "
              f"'nerve train --resume {path}'", file=sys.stderr)
        return 130
    except FloatingPointError as e:
        kept = _keep_last_epoch(run, model)
        hint = "" if args.diagnose else " (--diagnose names the op that first produced it)"
        run.finish("diverged", message=str(e))
        raise FloatingPointError(
            f"{str(e).rstrip('.')}; {path} is marked diverged and keeps "
            + (f"the weights of epoch {kept}, the last finite ones" if kept else "no weights") + hint) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        if doctor is not None:  # the report matters most when training blew up
            from ..io.atomic import write_text  # noqa: PLC0415

            report = doctor.report()
            print(report, file=sys.stderr)
            write_text(path / "diagnosis.txt", report + "\n")
    fit_seconds = time.perf_counter() - t_fit
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        test = trainer.evaluate(prep["test_loader"])
    if not (np.isfinite(test["loss"]) and np.isfinite(test["accuracy"])):
        run.finish("diverged", message=f"the test loss is {test['loss']}")
        raise FloatingPointError(f"the test loss is {test['loss']}; the run is marked diverged")
    config["results"] = {"test_loss": test["loss"], "test_accuracy": test["accuracy"],
                         "final_train_loss": history["loss"][-1],
                         "final_val_accuracy": history["val_accuracy"][-1] if prep["val_loader"] else None}
    config["seconds"] = {"load": round(load_seconds, 3), "fit": round(fit_seconds, 3),
                         "total": round(time.perf_counter() - t_start, 3)}
    run.save_weights(model)
    run.save_json("config.json", config)
    _plot_curves(history, path / "curves.png", f"{settings['model']} on {prep['dataset']}")
    run.finish("complete")
    print(f"test accuracy {100 * test['accuracy']:.2f} %  test loss {test['loss']:.4f}  "
          f"({epochs} epochs, {fit_seconds:.1f} s training)")
    print(f"run saved to {path}")
    return 0


def _keep_last_epoch(run, model) -> int:
    """Put the last checkpointed (finished, finite) epoch's weights into model.safetensors.

    Returns that epoch, or 0 when no epoch finished (then the run keeps no weights at all).
    """
    from ..io import load_weights  # noqa: PLC0415

    last = run.path / "checkpoint" / "last"
    if not (last / "checkpoint.json").is_file():
        (run.path / "model.safetensors").unlink(missing_ok=True)
        run.manifest["artifacts"].pop("model.safetensors", None)
        return 0
    load_weights(model, last / "model.safetensors")
    run.save_weights(model)
    return _checkpoint_epoch(last)


def _plot_curves(history, path, title):
    try:
        import matplotlib  # noqa: F401, PLC0415
    except ImportError:
        _note("matplotlib is not installed, so no curves.png (pip install 'nerve[plot]')")
        return
    from ..viz import plot_learning_curves  # noqa: PLC0415

    plot_learning_curves(history, path, title=title)


def _link_latest(run_dir: Path) -> None:
    """Point ``runs/latest`` at the run just written (a relative symlink, replaced atomically),
    so the next commands can name it without the time stamp."""
    import os  # noqa: PLC0415

    from ..io.atomic import temp_path_for  # noqa: PLC0415

    latest = run_dir.parent / "latest"
    if latest.exists() and not latest.is_symlink():
        _note(f"{latest} exists and is not a link, so it was left alone; the run is {run_dir}")
        return
    tmp = temp_path_for(latest)
    try:
        os.symlink(run_dir.name, tmp, target_is_directory=True)
        os.replace(tmp, latest)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        _note(f"could not link {latest} to the run ({e.strerror or e}); name {run_dir} instead")


# -------------------------------------------------------------------------- evaluate
def _test_data(run, normalize=True):
    """The run's test split, normalized as in training; the folder the run recorded comes first."""
    try:
        return run.test_data(normalize=normalize)
    except _data_error_types() as e:
        raise UsageError(f"cannot load the {run.dataset} test set: {_data_error_text(e)}") from None


@contextlib.contextmanager
def _writing_into(folder: Path):
    """Turn a failed write (read-only folder, full disk) into a one-line error."""
    try:
        yield
    except OSError as e:
        raise UsageError(f"cannot write into {folder}: {e.strerror or e}") from None


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def cmd_evaluate(args):
    from .. import metrics  # noqa: PLC0415

    run = _open_run(args.run)
    path = run.path
    try:
        ev = run.evaluate(batch_size=args.batch_size)
    except _data_error_types() as e:
        raise UsageError(f"cannot load the {run.dataset} test set: {_data_error_text(e)}") from None
    y, prob, report, classes = ev.y, ev.prob, ev.report, run.classes
    pred = prob.argmax(1)
    print(f"{run.model_name} on the {run.dataset} test set ({len(y)} samples)")
    print(f"test loss {ev.loss:.4f}  test accuracy {100 * ev.accuracy:.2f} %")
    print()
    labels = list(range(len(classes)))
    print(metrics.classification_report(y, pred, labels=labels, target_names=classes, zero_division=0))
    auc, ap = report["roc_auc"], report["average_precision"]
    if auc["macro"] is not None:
        print(f"ROC AUC one vs rest: macro {auc['macro']:.4f}, micro {auc['micro']:.4f};  "
              f"average precision: macro {ap['macro']:.4f}, micro {ap['micro']:.4f}")
    print()
    print("confusion matrix (rows: true class, columns: predicted class)")
    cm = np.asarray(report["confusion_matrix"])
    print(_matrix_text(cm, classes))
    with _writing_into(path):
        run.save_json("report.json", {"model": run.model_name, "dataset": run.dataset, **report})
        written = [path / "report.json"]
        if _have_matplotlib():
            from ..viz import save_evaluation_plots  # noqa: PLC0415

            written += save_evaluation_plots(path, y, prob, classes, f"{run.model_name} on {run.dataset}")
            run.record("confusion_matrix.png", "roc.png", "pr.png")
    if not _have_matplotlib():
        _note("matplotlib is not installed, so no confusion_matrix.png, roc.png or pr.png "
              "(pip install 'nerve[plot]')")
    print()
    print(f"wrote {', '.join(str(w) for w in written)}")
    return 0


def _matrix_text(cm, classes):
    short = [c.split(" ")[0] for c in classes]
    width = max(max(len(s) for s in short), len(str(int(cm.max())))) + 1
    lines = [" " * width + "".join(s.rjust(width + 1) for s in short)]
    for name, row in zip(short, cm):
        lines.append(name.rjust(width) + "".join(str(int(v)).rjust(width + 1) for v in row))
    return "\n".join(lines)


# --------------------------------------------------------------------------- predict
def read_image(path: Path, size=(28, 28)):
    """``nerve.data.images.read_image`` with its errors as one-line usage errors."""
    from ..data.images import ImageError  # noqa: PLC0415
    from ..data.images import read_image as _read  # noqa: PLC0415

    try:
        return _read(path, size)
    except ImageError as e:
        raise UsageError(str(e)) from None


def image_input(image: Path, run):
    """An image file as the model sees it: ``(1, 1, 28, 28)``, normalized as in training.

    Returns ``(x, notes)``; ``nerve predict`` and ``nerve features`` share this, so both
    look at exactly the same input.
    """
    pixels, notes = read_image(Path(image))
    return run.normalize(pixels.reshape(1, *INPUT_SHAPE)), notes


def _top_lines(p, classes, top):
    order = np.argsort(-p, kind="stable")[: min(top, len(p))]
    return order, [f"  {classes[i]:<14} {100 * p[i]:6.2f} %" for i in order]


def cmd_predict(args):
    from ..metrics import softmax  # noqa: PLC0415

    run = _open_run(args.run)
    if args.image is None:
        return _predict_test_samples(args, run)
    if args.index is not None or args.png is not None:
        option = "--index picks a test sample" if args.index is not None else "--png draws test samples"
        raise UsageError(f"{option}, so it goes without an image file; drop {args.image!r} or the option")
    x, notes = image_input(Path(args.image), run)
    run.build_model()
    for n in notes:
        _note(n)
    p = softmax(run.predict_logits(x))[0]
    classes = run.classes
    top, lines = _top_lines(p, classes, args.top)
    print(f"{Path(args.image).name}: {classes[top[0]]}")
    print("\n".join(lines))
    return 0


def _predict_test_samples(args, run):
    """``nerve predict RUN [--index I]``: test samples drawn as text, with label and top classes."""
    from ..viz import ascii_image  # noqa: PLC0415

    raw, y = _test_data(run, normalize=False)
    if args.index is not None:
        if args.index >= len(y):
            raise UsageError(f"--index {args.index} is past the end of the {run.dataset} test set "
                             f"({len(y)} samples, indices 0 to {len(y) - 1})")
        indices = [args.index]
    else:
        indices = list(range(min(args.count, len(y))))
    prob = run.predict(raw[indices])
    classes = run.classes
    blocks = []
    for i, p in zip(indices, prob):
        top, lines = _top_lines(p, classes, args.top)
        label = classes[int(y[i])]
        verdict = "right" if top[0] == int(y[i]) else "wrong"
        blocks.append("\n".join([f"{run.dataset} test sample {i}: label {label}, predicted "
                                  f"{classes[top[0]]} ({verdict})", ascii_image(raw[i, 0]), *lines]))
    print("\n\n".join(blocks))
    if args.png is not None:
        if not _have_matplotlib():
            raise UsageError("--png draws with matplotlib, which is not installed: pip install 'nerve[plot]'")
        from ..viz import save_predictions  # noqa: PLC0415

        target = Path(args.png)
        if target.is_dir():
            raise UsageError(f"--png {target} is a folder; give a file name")
        with _writing_into(target.parent):
            if not target.parent.is_dir():
                raise UsageError(f"--png {target}: the folder {target.parent} does not exist")
            save_predictions(raw[indices, 0], y[indices], prob, classes, target, top=args.top,
                             title=f"{run.model_name} on {run.dataset} test samples")
        print(f"wrote {target}")
    return 0


# -------------------------------------------------------------------------- features
def cmd_features(args):
    from ..viz import (default_feature_layer, first_conv, layer_trace, save_feature_maps,  # noqa: PLC0415
                       save_filters)

    run = _open_run(args.run)
    path, name = run.path, run.model_name
    out_dir = Path(args.out) if args.out else path
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir} is a file; give a folder")
    model = run.build_model()
    try:
        conv = first_conv(model)
    except ValueError:
        raise UsageError(f"filters need a conv layer, and the run's model {name!r} has none "
                         "(train a CNN such as --model lenet5)") from None
    if args.image is not None:
        x, notes = image_input(Path(args.image), run)
        source = Path(args.image).name
    else:
        x_test, y_test = _test_data(run)
        x, notes = x_test[:1], []
        classes = run.classes
        label = classes[int(y_test[0])] if int(y_test[0]) < len(classes) else str(int(y_test[0]))
        source = f"the first {run.dataset} test image (label {label})"
    if not _have_matplotlib():
        raise UsageError("nerve features draws PNG files with matplotlib, which is not installed: "
                         "pip install 'nerve[plot]'")
    trace = layer_trace(model, x)
    conv_name = next(n for n, m in model.named_modules() if m is conv)
    maps = [n for n, _, shape in trace if len(shape) == 4]  # layers whose output is (N, C, H, W)
    if args.layer is None:
        layer = default_feature_layer(trace, conv_name)
    else:
        layer = args.layer
        shapes = {n: shape for n, _, shape in trace}
        if layer not in shapes:
            known = {n for n, _ in model.named_modules() if n}
            why = "did not run on this input" if layer in known else "does not exist"
            raise UsageError(f"--layer {layer!r} {why} in {name}; layers with feature maps: "
                             f"{', '.join(maps)}")
        if len(shapes[layer]) != 4:
            raise UsageError(f"--layer {layer!r} outputs shape {shapes[layer]}, not feature maps "
                             f"(N, C, H, W); layers with feature maps: {', '.join(maps)}")
    for n in notes:
        _note(n)
    with _writing_into(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
        f_path = save_filters(conv, out_dir / "filters.png")
        m_path = save_feature_maps(model, x, layer, out_dir / "feature_maps.png")
        if out_dir.resolve() == path.resolve():
            run.record("filters.png", "feature_maps.png")
    w = conv.weight.shape
    print(f"{f_path}: the {w[0]} filters of {conv_name} ({w[2]}×{w[3]}, {w[1]} input channel"
          f"{'s' if w[1] != 1 else ''})")
    shape = dict((n, s) for n, _, s in trace)[layer]
    print(f"{m_path}: {shape[1]} feature maps {shape[2]}×{shape[3]} at {layer} "
          f"({type(model.get_submodule(layer)).__name__}) for {source}")
    return 0


# ------------------------------------------------------------------------------ data
def cmd_data(args):
    from ..data.datasets import (DATASETS, cache_dir, dataset_status, fetch_dataset,  # noqa: PLC0415
                                 resolve_dataset)

    if args.action == "path":
        if args.name is not None or args.source is not None:
            raise UsageError("'nerve data path' takes no dataset name and no --from")
        print(cache_dir())
        return 0
    if args.action == "fetch":
        if args.name is None:
            raise UsageError(f"'nerve data fetch' needs a dataset name: {', '.join(DATASETS)}")
        try:
            name = resolve_dataset(args.name)
        except ValueError as e:
            raise UsageError(str(e)) from None
        if args.source is not None and not Path(args.source).is_dir():
            raise UsageError(f"--from {args.source}: no such folder; give the folder that holds the "
                             f"official {name} files")
        try:
            paths = fetch_dataset(name, root=args.source)
        except _data_error_types() as e:
            raise UsageError(f"cannot fetch {name}: {_data_error_text(e)}") from None
        if not paths:
            print(f"{name}: bundled with scikit-learn, nothing to fetch")
            return 0
        size = sum(Path(q).stat().st_size for q in paths)
        folders = sorted({str(Path(q).parent) for q in paths})
        print(f"{name}: {len(paths)} files verified (SHA-256), {size / 1e6:.1f} MB, in {', '.join(folders)}")
        return 0
    if args.name is not None or args.source is not None:
        raise UsageError(f"'nerve data' lists every dataset and takes no name; did you mean "
                         f"'nerve data fetch {args.name or 'NAME'}'?")
    rows = []
    for name in DATASETS:
        files = dataset_status(name)
        if not files:
            rows.append((name, "bundled", "-", "scikit-learn's digits, no download needed"))
            continue
        found = [f for f in files if f.path is not None]
        bad = [f for f in files if f.status == "corrupt"]
        size = f"{sum(f.size for f in found) / 1e6:.1f} MB" if found else "-"
        if bad:
            status = "corrupt"
            where = "; ".join(f"{f.path} does not match its SHA-256" for f in bad)
        elif len(found) == len(files):
            status = "verified"
            folders = sorted({f"{f.path.parent} ({f.where})" for f in found})
            where = ", ".join(folders)
        else:
            status = "missing" if not found else f"partial ({len(found)} of {len(files)} files)"
            where = f"not found; 'nerve data fetch {name}' gets it"
        rows.append((name, status, size, where))
    widths = [max(len(r[i]) for r in rows + [("dataset", "status", "size", "")]) for i in range(3)]
    print("  ".join(h.ljust(w) for h, w in zip(("dataset", "status", "size"), widths)) + "  where")
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r[:3], widths)) + "  " + r[3])
    print(f"cache: {cache_dir()}")
    return 0


# ----------------------------------------------------------------------------- bench
TORCH_PIN = "torch==2.13.0"


def benchmarks_dir(candidates=None):
    """The ``benchmarks/`` folder of a source checkout, or None.

    It lives at the repository root, beside ``src/``, so an installed wheel has none: look
    next to this package's source (``src/nerve/../../benchmarks``), then in the current folder.
    """
    if candidates is None:
        here = Path(__file__).resolve()
        candidates = [here.parents[3] / "benchmarks", Path.cwd() / "benchmarks"]
    for c in candidates:
        if (c / "runner.py").is_file() and (c / "workloads.py").is_file():
            return c.resolve()
    return None


def _import_benchmarks(folder: Path):
    import importlib  # noqa: PLC0415

    root = str(folder.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    entry = importlib.import_module("benchmarks.__main__")
    if Path(entry.__file__).resolve().parent != folder:
        raise UsageError(f"another 'benchmarks' package ({Path(entry.__file__).parent}) shadows "
                         f"{folder}; run nerve bench from the nerve source checkout")
    return entry, importlib.import_module("benchmarks.workloads")


def cmd_bench(args):
    folder = benchmarks_dir()
    if folder is None:
        raise UsageError("the benchmark suite is not installed with nerve; run 'nerve bench' from a "
                         "source checkout (it uses benchmarks/ at the repository root)")
    try:
        import torch  # noqa: F401, PLC0415
    except ImportError:
        raise UsageError(f"the benchmarks compare nerve with PyTorch, which is not installed: "
                         f"pip install {TORCH_PIN}") from None
    entry, workloads = _import_benchmarks(folder)
    table = workloads.QUICK if args.quick else workloads.WORKLOADS
    ids = [i.upper() for i in args.ids]
    unknown = [i for i in ids if i not in table]
    if unknown:
        kind = "quick benchmark" if args.quick else "benchmark"
        raise UsageError(f"unknown {kind} {', '.join(map(repr, unknown))}; choose from "
                         f"{', '.join(table)}")
    if args.json is not None:
        target = Path(args.json)
        if target.is_dir():
            raise UsageError(f"--json {target} is a folder; give a file name")
        if not target.parent.is_dir():
            raise UsageError(f"--json {target}: the folder {target.parent} does not exist")
    # The suite's own entry point (`python -m benchmarks`), so both ways of running it agree.
    argv = ids + ["--reps", str(args.reps)] + (["--quick"] if args.quick else []) \
        + (["--no-memory"] if args.no_memory else []) + (["--json", str(args.json)] if args.json else [])
    return entry.main(argv)


# ------------------------------------------------------------------- summary, params
def cmd_summary(args):
    run = _open_run(args.run)
    model = run.build_model()
    shape = tuple(run.config["input_shape"])
    print(f"{run.model_name} trained on {run.dataset} ({run.path})")
    print(model.summary(shape))
    return 0


def cmd_params(args):
    from ..models import mlp_param_rows  # noqa: PLC0415

    if len(args.sizes) < 2:
        raise UsageError(f"params needs at least two sizes (inputs and outputs), got {len(args.sizes)}; "
                         "e.g. nerve params 784 16 16 10")
    rows = mlp_param_rows(args.sizes)
    print(f"MLP {'-'.join(str(s) for s in args.sizes)}: one Linear layer per pair of sizes")
    header = ("layer", "in -> out", "weights", "biases", "total", "arithmetic")
    body = [(str(r.layer), f"{r.in_features} -> {r.out_features}", f"{r.weights:,}", f"{r.biases:,}",
             f"{r.total:,}", r.arithmetic) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" if i in (0, 1, 5) else f"{{:>{w}}}" for i, w in enumerate(widths))
    print(fmt.format(*header))
    for b in body:
        print(fmt.format(*b))
    weights = sum(r.weights for r in rows)
    biases = sum(r.biases for r in rows)
    print(f"total: {weights:,} weights + {biases:,} biases = {weights + biases:,} parameters")
    return 0
