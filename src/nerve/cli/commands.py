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


def _load_training_data(requested: str | None):
    """Load the train and test splits; the default falls back from MNIST to Digits28.

    Returns ``(dataset, train split, test split, source)`` where each split is ``(x, y,
    classes)`` and ``source`` is ``{"train": folder, "test": folder}`` (None for digits).
    """
    dataset = requested or "mnist"
    try:
        *train, train_dir = load_split(dataset, True)
        *test, test_dir = load_split(dataset, False)
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
    """Check a run folder and return ``(path, config)``."""
    from ..io import load_json  # noqa: PLC0415

    path = Path(run)
    if not path.exists():
        raise UsageError(f"no such run folder: {run}")
    if not path.is_dir():
        raise UsageError(f"{run} is not a run folder (it is a file); pass the folder 'nerve train' wrote")
    missing = [f for f in ("config.json", "model.safetensors") if not (path / f).is_file()]
    if missing:
        raise UsageError(f"{run} is not a run folder (no {' or '.join(missing)}); pass the folder "
                         "'nerve train' wrote, e.g. runs/seed-mlp-mnist-<time>")
    try:
        config = load_json(path / "config.json")
    except ValueError as e:
        raise UsageError(str(e)) from None
    if not isinstance(config, dict) or "model" not in config:
        raise UsageError(f"{path / 'config.json'} is not a nerve run config (no 'model' entry)")
    return path, config


def _load_run_model(path: Path, config: dict):
    from ..io import StateDictError, load_weights  # noqa: PLC0415

    model = _build_model(config["model"], config.get("model_kwargs"))
    try:
        load_weights(model, path / "model.safetensors")
    except (ValueError, StateDictError) as e:
        raise UsageError(str(e)) from None
    model.eval()
    return model


# ----------------------------------------------------------------------------- train
def cmd_train(args):
    from .. import nn  # noqa: PLC0415
    from ..data import DataLoader, TensorDataset  # noqa: PLC0415
    from ..io import save_json, save_state_dict  # noqa: PLC0415
    from ..random import manual_seed  # noqa: PLC0415
    from ..train import CSVLogger, JSONLogger, ProgressBar, Trainer  # noqa: PLC0415

    t_start = time.perf_counter()
    epochs = args.epochs or DEFAULTS["epochs"]
    batch_size = args.batch_size or DEFAULTS["batch_size"]
    val_fraction = DEFAULTS["val_fraction"] if args.val_fraction is None else args.val_fraction
    lr = args.lr or DEFAULT_LR[args.optimizer]
    shift = DEFAULTS["shift"] if args.shift is None else args.shift

    manual_seed(args.seed)
    model_kwargs = _model_kwargs(args)
    model = _build_model(args.model, model_kwargs)
    dataset, (x_train, y_train, classes), (x_test, y_test, _), data_source = \
        _load_training_data(args.dataset)
    if args.limit is not None:  # quick experiments: the first N training samples only
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    _check_model_input(model, args.model, x_train[:1], len(classes))
    load_seconds = time.perf_counter() - t_start

    # Hold out a validation part, then standardize with statistics of the training part only.
    order = np.random.default_rng(args.seed).permutation(len(y_train))
    n_val = int(round(val_fraction * len(y_train)))
    val_idx, train_idx = order[:n_val], order[n_val:]
    if len(train_idx) == 0:
        raise UsageError(f"--val-fraction {val_fraction} leaves no training samples")
    mean = float(x_train[train_idx].mean())
    std = float(x_train[train_idx].std()) or 1.0
    x_train = _normalize(x_train, mean, std)
    x_test = _normalize(x_test, mean, std)
    if shift:
        from .augment import RandomShiftDataset  # noqa: PLC0415

        train_set = RandomShiftDataset(x_train[train_idx], y_train[train_idx], max_shift=shift,
                                       fill=_normalize(np.float32(0.0), mean, std), seed=args.seed + 1)
    else:
        train_set = TensorDataset(x_train[train_idx], y_train[train_idx])
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, seed=args.seed)
    val_loader = (DataLoader(TensorDataset(x_train[val_idx], y_train[val_idx]), batch_size=1000)
                  if n_val else None)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=1000)

    run_dir = Path(args.out) if args.out else _default_run_dir(args.model, dataset)
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"--out {run_dir} is a file; give a folder")
    run_dir.mkdir(parents=True, exist_ok=True)

    optimizer = _make_optimizer(args.optimizer, model.parameters(), lr)
    from ..optim.lr_scheduler import CosineAnnealingLR  # noqa: PLC0415

    scheduler = CosineAnnealingLR(optimizer, T_max=epochs)
    callbacks = [ProgressBar(quiet=args.quiet), CSVLogger(run_dir / "history.csv"),
                 JSONLogger(run_dir / "history.json")]
    doctor = None
    if args.diagnose:
        from ..io.atomic import write_text  # noqa: PLC0415
        from ..train.doctor import TrainingDoctor  # noqa: PLC0415

        doctor = TrainingDoctor()
        callbacks.append(doctor)
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), callbacks=callbacks, scheduler=scheduler)
    if not args.quiet:
        options = "".join(f", {k} {v}" for k, v in model_kwargs.items())
        print(f"training {args.model} on {dataset}: {len(train_idx)} train / {n_val} val / "
              f"{len(y_test)} test samples, {epochs} epochs, batch {batch_size}, "
              f"{args.optimizer} lr {lr:g}{options}, shifts up to {shift} px", file=sys.stderr)
    t_fit = time.perf_counter()
    try:
        history = trainer.fit(train_loader, epochs, val_loader=val_loader)
    finally:
        if doctor is not None:  # the report matters most when training blew up
            report = doctor.report()
            print(report, file=sys.stderr)
            write_text(run_dir / "diagnosis.txt", report + "\n")
    fit_seconds = time.perf_counter() - t_fit
    test = trainer.evaluate(test_loader)

    config = {
        "model": args.model, "model_kwargs": model_kwargs, "dataset": dataset, "data_source": data_source,
        "input_shape": list(INPUT_SHAPE), "classes": classes,
        "epochs": epochs, "batch_size": batch_size, "optimizer": args.optimizer, "lr": lr,
        "scheduler": "cosine", "seed": args.seed, "val_fraction": val_fraction, "shift": shift,
        "limit": args.limit,
        "normalize": {"mean": mean, "std": std},
        "results": {"test_loss": test["loss"], "test_accuracy": test["accuracy"],
                    "final_train_loss": history["loss"][-1],
                    "final_val_accuracy": history["val_accuracy"][-1] if val_loader else None},
        "seconds": {"load": round(load_seconds, 3), "fit": round(fit_seconds, 3),
                    "total": round(time.perf_counter() - t_start, 3)},
    }
    save_state_dict(model, run_dir / "model.safetensors", {"nerve.model": args.model})
    save_json(config, run_dir / "config.json")
    save_json(history.to_dict(), run_dir / "history.json")
    _plot_curves(history, run_dir / "curves.png", f"{args.model} on {dataset}")
    print(f"test accuracy {100 * test['accuracy']:.2f} %  test loss {test['loss']:.4f}  "
          f"({epochs} epochs, {fit_seconds:.1f} s training)")
    print(f"run saved to {run_dir}")
    if not args.out:
        _link_latest(run_dir)
    return 0


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


def _plot_curves(history, path, title):
    try:
        import matplotlib  # noqa: F401, PLC0415
    except ImportError:
        _note("matplotlib is not installed, so no curves.png (pip install 'nerve[plot]')")
        return
    from ..viz import plot_learning_curves  # noqa: PLC0415

    plot_learning_curves(history, path, title=title)


# -------------------------------------------------------------------------- evaluate
def _test_data(config, normalize=True):
    """The run's test split, normalized as in training; the folder the run recorded comes first."""
    source = config.get("data_source")
    root = source.get("test") if isinstance(source, dict) and isinstance(source.get("test"), str) else None
    try:
        x, y, _, _ = load_split(config["dataset"], False, root=root)
    except _data_error_types() as e:
        raise UsageError(f"cannot load the {config['dataset']} test set: {_data_error_text(e)}") from None
    except ValueError as e:  # a dataset name the registry does not know
        raise UsageError(f"{e} (in the run's config.json)") from None
    if not normalize:
        return x, y
    norm = config.get("normalize", {"mean": 0.0, "std": 1.0})
    return _normalize(x, norm["mean"], norm["std"]), y


def softmax(logits):
    """Row-wise softmax in float64 (rows sum to 1 to rounding, as ROC AUC checks)."""
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def evaluation_report(y, prob, classes, test_loss=None) -> dict:
    """The numbers ``nerve evaluate`` writes to report.json, all from ``nerve.metrics``.

    Args:
        y: ``(N,)`` true class indices.
        prob: ``(N, C)`` softmax probabilities; the prediction is their argmax.
        classes: the C class names.
        test_loss: the mean cross-entropy, recorded when given.

    ROC AUC and average precision are one-vs-rest per class; a class absent from ``y`` has
    no curve, so its entries are ``None`` and the macro means run over the classes present.
    """
    from .. import metrics  # noqa: PLC0415

    y = np.asarray(y)
    labels = list(range(len(classes)))
    pred = prob.argmax(axis=1)
    rep = metrics.classification_report(y, pred, labels=labels, target_names=classes, zero_division=0,
                                        output_dict=True)
    present = [c for c in labels if np.any(y == c)]
    onehot = (y[:, None] == np.arange(len(classes))).astype(np.int64)  # (N, C)
    auc = {c: float(metrics.roc_auc_score(onehot[:, c], prob[:, c])) for c in present
           if len(present) > 1}
    ap = {c: float(metrics.average_precision_score(onehot[:, c], prob[:, c])) for c in present}
    per_class = {}
    for c, name in enumerate(classes):
        row = dict(rep[name])
        row["roc_auc"] = auc.get(c)
        row["average_precision"] = ap.get(c)
        per_class[name] = row
    report = {
        "samples": int(len(y)),
        "accuracy": float(rep["accuracy"]),
        "macro": {k: float(rep["macro mean"][k]) for k in ("precision", "recall", "f1")},
        "weighted": {k: float(rep["weighted mean"][k]) for k in ("precision", "recall", "f1")},
        "roc_auc": {"macro": float(np.mean(list(auc.values()))) if auc else None,
                    "micro": (float(metrics.roc_auc_score(onehot.ravel(), prob.ravel()))
                              if len(present) > 1 else None)},
        "average_precision": {"macro": float(np.mean(list(ap.values()))) if ap else None,
                              "micro": float(metrics.average_precision_score(onehot.ravel(),
                                                                             prob.ravel()))},
        "per_class": per_class,
        "classes": list(classes),
        "confusion_matrix": metrics.confusion_matrix(y, pred, labels=labels).tolist(),
    }
    if test_loss is not None:
        report = {"test_loss": float(test_loss), **report}
    return report


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


def _evaluation_plots(run_dir: Path, y, prob, cm, classes, title):
    """confusion_matrix.png, roc.png (one vs rest) and pr.png (micro average) in ``run_dir``."""
    from .. import metrics  # noqa: PLC0415
    from ..viz import plot_confusion_matrix, plot_pr_curve, plot_roc_ovr  # noqa: PLC0415

    written = [plot_confusion_matrix(cm, classes, run_dir / "confusion_matrix.png",
                                     title=f"Confusion matrix, {title}")]
    written.append(plot_roc_ovr(y, prob, run_dir / "roc.png", class_names=classes,
                                title=f"ROC one vs rest, {title}"))
    onehot = (np.asarray(y)[:, None] == np.arange(len(classes))).astype(np.int64)
    precision, recall, _ = metrics.precision_recall_curve(onehot.ravel(), prob.ravel())
    written.append(plot_pr_curve(precision, recall, run_dir / "pr.png",
                                 average_precision=metrics.average_precision_score(onehot.ravel(),
                                                                                   prob.ravel()),
                                 prevalence=float(onehot.mean()),
                                 title=f"Precision-recall, micro average over {len(classes)} classes"))
    return written


def cmd_evaluate(args):
    from .. import metrics, nn  # noqa: PLC0415
    from ..data import DataLoader, TensorDataset  # noqa: PLC0415
    from ..io import save_json  # noqa: PLC0415
    from ..train import Trainer  # noqa: PLC0415

    path, config = _open_run(args.run)
    model = _load_run_model(path, config)
    x, y = _test_data(config)
    trainer = Trainer(model, None, nn.CrossEntropyLoss())
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size)
    result = trainer.evaluate(loader)
    prob = softmax(trainer.predict(x, batch_size=args.batch_size))
    pred = prob.argmax(1)
    classes = config.get("classes") or [str(i) for i in range(prob.shape[1])]
    print(f"{config['model']} on the {config['dataset']} test set ({len(y)} samples)")
    print(f"test loss {result['loss']:.4f}  test accuracy {100 * result['accuracy']:.2f} %")
    print()
    labels = list(range(len(classes)))
    print(metrics.classification_report(y, pred, labels=labels, target_names=classes, zero_division=0))
    report = evaluation_report(y, prob, classes, test_loss=result["loss"])
    auc, ap = report["roc_auc"], report["average_precision"]
    if auc["macro"] is not None:
        print(f"ROC AUC one vs rest: macro {auc['macro']:.4f}, micro {auc['micro']:.4f};  "
              f"average precision: macro {ap['macro']:.4f}, micro {ap['micro']:.4f}")
    print()
    print("confusion matrix (rows: true class, columns: predicted class)")
    cm = np.asarray(report["confusion_matrix"])
    print(_matrix_text(cm, classes))
    with _writing_into(path):
        save_json({"model": config["model"], "dataset": config["dataset"], **report}, path / "report.json")
        written = [path / "report.json"]
        if _have_matplotlib():
            written += _evaluation_plots(path, y, prob, cm, classes,
                                         f"{config['model']} on {config['dataset']}")
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
    """Load an image as ``(28, 28)`` float32 in [0, 1], light digit on dark, as in MNIST.

    Returns ``(pixels, notes)``; the notes say what was changed (resize, inversion).
    """
    try:
        from PIL import Image, UnidentifiedImageError  # noqa: PLC0415
    except ImportError:
        raise UsageError("reading images needs Pillow: pip install 'nerve[train]'") from None
    if not path.exists():
        raise UsageError(f"no such file: {path}")
    if path.is_dir():
        raise UsageError(f"{path} is a directory, not an image file")
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                # Transparent parts count as paper: lay the image on white first.
                rgba = img.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(background, rgba)
            gray = img.convert("L")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UsageError(f"{path} is not an image Pillow can read (expected PNG, JPEG, BMP, GIF ...)"
                         ) from None
    notes = []
    if gray.size != size:
        notes.append(f"resized {gray.size[0]}x{gray.size[1]} to {size[0]}x{size[1]}")
        gray = gray.resize(size, Image.BILINEAR)
    x = np.asarray(gray, dtype=np.float32) / np.float32(255.0)
    border = np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])
    if border.mean() > 0.5:  # light paper, dark ink: MNIST is the other way round
        x = 1.0 - x
        notes.append("inverted dark-on-light image to MNIST's light-on-dark")
    return x, notes


def image_input(image: Path, config: dict):
    """An image file as the model sees it: ``(1, 1, 28, 28)``, normalized as in training.

    Returns ``(x, notes)``; ``nerve predict`` and ``nerve features`` share this, so both
    look at exactly the same input.
    """
    pixels, notes = read_image(Path(image))
    norm = config.get("normalize", {"mean": 0.0, "std": 1.0})
    return _normalize(pixels.reshape(1, *INPUT_SHAPE), norm["mean"], norm["std"]), notes


def _top_lines(p, classes, top):
    order = np.argsort(-p, kind="stable")[: min(top, len(p))]
    return order, [f"  {classes[i]:<14} {100 * p[i]:6.2f} %" for i in order]


def cmd_predict(args):
    from ..autograd import Tensor, no_grad  # noqa: PLC0415

    path, config = _open_run(args.run)
    if args.image is None:
        return _predict_test_samples(args, path, config)
    if args.index is not None:
        raise UsageError("--index picks a test sample, so it goes without an image file; "
                         f"drop {args.image!r} or --index")
    x, notes = image_input(Path(args.image), config)
    model = _load_run_model(path, config)
    for n in notes:
        _note(n)
    with no_grad():
        logits = model(Tensor(x)).numpy()
    p = softmax(logits)[0]
    classes = config.get("classes") or [str(i) for i in range(len(p))]
    top, lines = _top_lines(p, classes, args.top)
    print(f"{Path(args.image).name}: {classes[top[0]]}")
    print("\n".join(lines))
    return 0


def _predict_test_samples(args, path, config):
    """``nerve predict RUN [--index I]``: test samples drawn as text, with label and top classes."""
    from ..autograd import Tensor, no_grad  # noqa: PLC0415
    from ..viz import ascii_image  # noqa: PLC0415

    raw, y = _test_data(config, normalize=False)
    if args.index is not None:
        if args.index >= len(y):
            raise UsageError(f"--index {args.index} is past the end of the {config['dataset']} test set "
                             f"({len(y)} samples, indices 0 to {len(y) - 1})")
        indices = [args.index]
    else:
        indices = list(range(min(args.count, len(y))))
    model = _load_run_model(path, config)
    norm = config.get("normalize", {"mean": 0.0, "std": 1.0})
    with no_grad():
        logits = model(Tensor(_normalize(raw[indices], norm["mean"], norm["std"]))).numpy()
    prob = softmax(logits)
    classes = config.get("classes") or [str(i) for i in range(prob.shape[1])]
    blocks = []
    for i, p in zip(indices, prob):
        top, lines = _top_lines(p, classes, args.top)
        label = classes[int(y[i])]
        verdict = "right" if top[0] == int(y[i]) else "wrong"
        blocks.append("\n".join([f"{config['dataset']} test sample {i}: label {label}, predicted "
                                  f"{classes[top[0]]} ({verdict})", ascii_image(raw[i, 0]), *lines]))
    print("\n\n".join(blocks))
    return 0


# -------------------------------------------------------------------------- features
def layer_trace(model, x):
    """Run ``model`` on ``x`` once and list ``(name, module, output shape)`` in call order.

    Every named sub-module gets a forward hook; a module called twice is listed once (its
    first call). The order is the order the layers ran, which for models with a custom
    ``forward`` (a ResNet's stem: conv, batch norm, ReLU) can differ from definition order.
    """
    from ..autograd import Tensor, no_grad  # noqa: PLC0415

    calls, handles = {}, []
    for name, module in model.named_modules():
        if not name:
            continue

        def hook(m, inputs, out, name=name):
            if name not in calls:
                calls[name] = (len(calls), m, tuple(getattr(out, "shape", ())))

        handles.append(module.register_forward_hook(hook))
    try:
        with no_grad():
            model(Tensor(x))
    finally:
        for h in handles:
            h.remove()
    return [(name, m, shape) for name, (_, m, shape) in sorted(calls.items(), key=lambda kv: kv[1][0])]


def _is_activation(module) -> bool:
    return type(module).__module__.endswith("nn.activation")


def default_feature_layer(trace, conv_name: str) -> str:
    """The first activation layer that runs after the first conv and before the next conv
    (the conv's own output when there is none)."""
    from ..nn import Conv2d  # noqa: PLC0415

    names = [n for n, _, _ in trace]
    if conv_name not in names:
        return conv_name
    for name, module, shape in trace[names.index(conv_name) + 1:]:
        if isinstance(module, Conv2d):
            break
        if _is_activation(module) and len(shape) == 4:
            return name
    return conv_name


def cmd_features(args):
    from ..viz import first_conv, save_feature_maps, save_filters  # noqa: PLC0415

    path, config = _open_run(args.run)
    out_dir = Path(args.out) if args.out else path
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir} is a file; give a folder")
    model = _load_run_model(path, config)
    try:
        conv = first_conv(model)
    except ValueError:
        raise UsageError(f"filters need a conv layer, and the run's model {config['model']!r} has none "
                         "(train a CNN such as --model lenet5)") from None
    if args.image is not None:
        x, notes = image_input(Path(args.image), config)
        source = Path(args.image).name
    else:
        x_test, y_test = _test_data(config)
        x, notes = x_test[:1], []
        classes = config.get("classes") or []
        label = classes[int(y_test[0])] if int(y_test[0]) < len(classes) else str(int(y_test[0]))
        source = f"the first {config['dataset']} test image (label {label})"
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
            raise UsageError(f"--layer {layer!r} {why} in {config['model']}; layers with feature maps: "
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
    path, config = _open_run(args.run)
    model = _load_run_model(path, config)
    shape = tuple(config.get("input_shape", INPUT_SHAPE))
    print(f"{config['model']} trained on {config.get('dataset', '?')} ({path})")
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
