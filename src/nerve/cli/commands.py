"""What each ``nerve`` sub-command does. ``UsageError`` marks the user's mistakes."""
from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import numpy as np

from .defaults import DEFAULT_LR, DEFAULTS, default_model_kwargs
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
def _data_error_types():
    from ..runs.training import data_error_types  # noqa: PLC0415

    return data_error_types()


def _data_error_text(e) -> str:
    from ..runs.training import data_error_text  # noqa: PLC0415

    return data_error_text(e)


def _model_kwargs(args) -> dict:
    kwargs = default_model_kwargs(args.model)
    if args.activation is not None:
        from ..nn import available_activations  # noqa: PLC0415

        if args.activation not in available_activations():
            raise UsageError(f"unknown activation {args.activation!r}; choose from "
                             f"{', '.join(available_activations())}")
        kwargs["activation"] = args.activation
    return kwargs


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
def _settings_from_args(args) -> dict:
    return {"model": args.model, "model_kwargs": _model_kwargs(args), "dataset": args.dataset,
            "epochs": args.epochs or DEFAULTS["epochs"], "batch_size": args.batch_size or DEFAULTS["batch_size"],
            "optimizer": args.optimizer, "lr": args.lr or DEFAULT_LR[args.optimizer], "seed": args.seed,
            "val_fraction": DEFAULTS["val_fraction"] if args.val_fraction is None else args.val_fraction,
            "shift": DEFAULTS["shift"] if args.shift is None else args.shift, "limit": args.limit}


_RESUME_INTERNAL = {"resume", "command", "func", "argv", "nproc"}  # not settings of the run


def train_defaults() -> dict:
    """The value of every ``nerve train`` option when it is not given, read from the parser."""
    from .main import build_parser  # noqa: PLC0415

    return vars(build_parser().parse_args(["train"]))


def _option_dest(name: str, dests) -> str:
    """The option ``name`` as written stands for: argparse takes a unique prefix (``--optim``
    for ``--optimizer``), so a prefix of exactly one of ``dests`` means that one."""
    if name in dests:
        return name
    matches = [d for d in dests if d.startswith(name)]
    return matches[0] if len(matches) == 1 else name


def _check_resume_args(run, args, allowed=("quiet", "diagnose")) -> None:
    """Refuse any ``nerve train`` option given with ``--resume`` other than ``allowed``: a
    resumed run continues with the settings it recorded. An option counts as given when its
    value differs from the parser's default (read from the parser itself, so the two agree), or
    when it is written on the command line (``--optimizer adam`` for an SGD run is the default
    value, but silently continuing with SGD would not be what was asked)."""
    defaults = train_defaults()
    written = {_option_dest(a.split("=", 1)[0][2:].replace("-", "_"), defaults)
               for a in getattr(args, "argv", None) or () if a.startswith("--")}
    explicit = [k for k, v in vars(args).items()
                if k not in _RESUME_INTERNAL and k not in allowed and (v != defaults.get(k) or k in written)]
    if explicit:
        only = " and ".join("--" + a for a in allowed)
        raise UsageError(f"--resume continues {run.path} with the settings it recorded; drop "
                         + ", ".join("--" + k.replace("_", "-") for k in explicit)
                         + f" (only {only} {'goes' if len(allowed) == 1 else 'go'} with --resume)")


def _without_nproc(argv):
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def cmd_train(args):
    from ..distributed.comm import launched_world_size  # noqa: PLC0415
    from ..runs import Run, parallel, training  # noqa: PLC0415
    from ..runs.generative import is_generative  # noqa: PLC0415
    from .lm import cmd_train_text, wants_text  # noqa: PLC0415

    if args.overwrite and not args.out and args.resume is None:  # a default folder is new: nothing to replace
        raise UsageError("--overwrite replaces the run in the folder --out names, and no --out was given; "
                         "add --out FOLDER or drop --overwrite")
    other = "text" if wants_text(args) else (
        "generative" if args.resume is None and is_generative(args.model) else None)
    if other and (args.nproc or 1) > 1:
        raise UsageError(f"--nproc trains image classifiers data-parallel; {other} models train in one "
                         "process here: drop --nproc")
    if other == "text":  # char-lstm / char-gpt on text: nerve.runs.text
        return cmd_train_text(args)
    if getattr(args, "block_size", None) is not None:   # an image model would quietly ignore it
        raise UsageError("--block-size is the window length of text models (char-lstm, char-rnn, char-gpt); "
                         f"it does not apply to {args.model if args.resume is None else args.resume!r}, drop it")
    if other == "generative":  # autoencoder, vae, dcgan
        from .generative import cmd_train_generative  # noqa: PLC0415

        return cmd_train_generative(args)

    if args.nproc is not None and args.nproc > 1 and launched_world_size() == 1:
        return parallel.relaunch(args.nproc, _without_nproc(args.argv))
    rank, size = parallel.join()
    if args.nproc is not None and launched_world_size() > 1 and args.nproc != size:
        raise UsageError(f"--nproc {args.nproc} but this job has {size} processes; drop --nproc under mpirun")
    main = rank == 0
    if not main:
        args.quiet = True
    t_start = time.perf_counter()
    if args.resume is not None:
        run = Run.open(args.resume, require_weights=False)
        if is_generative(run.model_name):
            raise UsageError(f"{run.path} is a {run.model_name} run; resuming generative runs is not supported "
                             "yet, so train a new one (--limit and --epochs keep it short)")
        settings = training.settings_from_run(run)
        _check_resume_args(run, args)
        if size > 1 and settings["sampler"] != "distributed":
            raise UsageError(f"{run.path} was trained in one process, so its data order cannot be split "
                             f"over {size}; resume it without mpirun/--nproc")
        resume_from = training.resume_point(run)
        prep = training.prepare(settings, roots=run.config.get("data_source"))
        if prep["dataset"] != run.dataset:
            raise UsageError(f"cannot resume {run.path}: its {run.dataset} data is not available")
        config = training.run_config(settings, prep)
        if main:
            training.restart(run, config)
        else:
            run = parallel.FollowerRun(run.path)
    else:
        settings = _settings_from_args(args)
        settings["sampler"] = "distributed" if size > 1 else "loader"
        if args.out and main:
            Run.check_target(Path(args.out), args.overwrite)
        prep = training.prepare(settings)
        config = training.run_config(settings, prep)
        run_dir = Path(args.out) if args.out else _default_run_dir(settings["model"], prep["dataset"])
        run = Run.create(run_dir, config, overwrite=args.overwrite) if main else None
        if size > 1:  # every rank names rank 0's folder (its default name has rank 0's clock in it)
            path = Path(parallel.broadcast_text(str(run.path) if main else None))
            run = run if main else parallel.FollowerRun(path)
        resume_from = None
    try:
        result = training.fit(run, settings, prep, config, resume_from=resume_from, quiet=args.quiet,
                              diagnose=args.diagnose, report=lambda text: print(text, file=sys.stderr),
                              diverge_hint=" (--diagnose names the op that first produced it)",
                              load_seconds=time.perf_counter() - t_start, t_start=t_start)
    except training.RunInterrupted as e:
        if main:
            print(f"nerve: interrupted; {run.path} keeps epoch {e.epoch} of {e.epochs}; continue with "
                  f"'nerve train --resume {run.path}'", file=sys.stderr)
        return 130
    if not main:
        return 0
    print(f"test accuracy {100 * result['test_accuracy']:.2f} %  test loss {result['test_loss']:.4f}  "
          f"({result['epochs']} epochs, {result['fit_seconds']:.1f} s training)")
    print(f"run saved to {run.path}")
    if args.resume is None and not args.out:
        _link_latest(run.path)
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
    from ..runs.generative import is_generative  # noqa: PLC0415

    run = _open_run(args.run)
    if is_generative(run.model_name):
        from .generative import cmd_evaluate_generative  # noqa: PLC0415

        return cmd_evaluate_generative(args, run)
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


def _given(args, option: str, default) -> bool:
    """Whether ``option`` was given: a value other than its default, or written on the command
    line (in full, with ``=``, or as a prefix argparse accepts)."""
    if getattr(args, option[2:].replace("-", "_")) != default:
        return True
    written = (a.split("=", 1)[0] for a in getattr(args, "argv", None) or () if a.startswith("--"))
    return any(len(w) > 2 and option.startswith(w) for w in written)


def _top_lines(p, classes, top):
    order = np.argsort(-p, kind="stable")[: min(top, len(p))]
    return order, [f"  {classes[i]:<14} {100 * p[i]:6.2f} %" for i in order]


def cmd_predict(args):
    from ..metrics import softmax  # noqa: PLC0415

    run = _open_run(args.run)
    from ..runs.generative import is_generative  # noqa: PLC0415

    if is_generative(run.model_name):
        sample = "" if run.kind == "autoencoder" else f"'nerve sample {args.run}' or "  # no prior to sample
        raise UsageError(f"nerve predict classifies images, and {run.model_name} is a generative model; use "
                         f"{sample}'nerve evaluate {args.run}'")
    if _given(args, "--count", 3) and (args.image or args.index is not None):
        # --count only picks how many test samples are drawn; say so instead of ignoring it
        with_what = "an image file" if args.image else "--index"
        raise UsageError(f"--count {args.count} sets how many test samples are shown, so it does not go with "
                         f"{with_what}; drop --count")
    if not args.image:
        return _predict_test_samples(args, run)
    if args.index is not None or args.png is not None:
        option = "--index picks a test sample" if args.index is not None else "--png draws test samples"
        raise UsageError(f"{option}, so it goes without an image file; drop {' '.join(args.image)!r} "
                         "or the option")
    from ..data.images import ImageError, image_files  # noqa: PLC0415

    try:
        files = image_files(args.image)
    except ImageError as e:
        raise UsageError(str(e)) from None
    if len(files) > 1 or Path(args.image[0]).is_dir():
        return _predict_table(args, run, files)
    x, notes = image_input(files[0], run)
    run.build_model()
    for n in notes:
        _note(n)
    p = softmax(run.predict_logits(x))[0]
    classes = run.classes
    top, lines = _top_lines(p, classes, args.top)
    print(f"{files[0].name}: {classes[top[0]]}")
    print("\n".join(lines))
    return 0


def _predict_table(args, run, files):
    """``nerve predict RUN a.png b.png`` or ``RUN folder/``: one batch, one table row per file."""
    batch, notes = [], []
    for f in files:
        pixels, n = read_image(f)
        batch.append(pixels.reshape(INPUT_SHAPE))
        notes += [f"{f.name}: {m}" for m in n]
    for n in notes:
        _note(n)
    prob = run.predict(np.stack(batch))
    classes = run.classes
    k = min(args.top, len(classes))
    width = max(len("file"), *(len(f.name) for f in files))
    head = f"{'file':<{width}}  " + "  ".join(f"{'top ' + str(i + 1):<22}" for i in range(k))
    rows = [head, "-" * len(head.rstrip())]
    for f, p in zip(files, prob):
        top, _ = _top_lines(p, classes, k)
        cells = [f"{str(classes[i]):<14} {100 * p[i]:6.2f} %" for i in top]
        rows.append(f"{f.name:<{width}}  " + "  ".join(f"{c:<22}" for c in cells))
    print("\n".join(r.rstrip() for r in rows))
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


def cmd_bench(args):
    try:
        import torch  # noqa: F401, PLC0415
    except ImportError:
        raise UsageError(f"the benchmarks compare nerve with PyTorch, which is not installed: "
                         f"pip install {TORCH_PIN}") from None
    from ..bench import QUICK, WORKLOADS, main  # noqa: PLC0415

    table = QUICK if args.quick else WORKLOADS
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
    # The suite's own entry point (`python -m nerve.bench`), so both ways of running it agree.
    argv = ids + ["--reps", str(args.reps)] + (["--quick"] if args.quick else []) \
        + (["--no-memory"] if args.no_memory else []) + (["--json", str(args.json)] if args.json else [])
    return main(argv, prog="nerve bench")


# ------------------------------------------------------------------- summary, params
def cmd_summary(args):
    run = _open_run(args.run)
    model = run.build_model()
    print(f"{run.model_name} trained on {run.dataset} ({run.path})")
    try:
        if run.kind == "gan":  # its forward is the generator's, from noise: show both networks
            print(f"generator (noise of {model.latent_dim} -> image):")
            print(model.generator.summary((model.latent_dim,)))
            print("discriminator (image -> real/fake logit):")
            print(model.discriminator.summary(tuple(run.config["input_shape"])))
        elif run.config.get("input_shape"):
            print(model.summary(tuple(run.config["input_shape"])))
        else:  # a text model: one window of character ids
            from ..autograd import Tensor  # noqa: PLC0415

            print(model.summary(input_data=Tensor(np.zeros((1, int(run.config.get("block_size") or 1)), np.int64))))
    except (RuntimeError, ValueError) as e:  # the recorded input does not fit the model
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UsageError(f"cannot trace {run.model_name} from {run.path}: {first}") from None
    return 0


def cmd_params(args):
    from ..models import mlp_param_rows  # noqa: PLC0415

    if args.config is not None:
        from ..models.configs import config_param_table  # noqa: PLC0415

        if args.sizes:
            raise UsageError("give either layer sizes or --config, not both")
        try:
            print(config_param_table(args.config).format())
        except ValueError as e:
            raise UsageError(str(e)) from None
        return 0
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
