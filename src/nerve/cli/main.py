"""The ``nerve`` command: argument parsing, dispatch, and one-line errors for user mistakes."""
from __future__ import annotations

import argparse
import os
import sys

from ..runs import RunError
from ..runs.training import OPTIMIZERS  # one list: what the runs can build is what the CLI offers
from .defaults import DEFAULT_LR, DEFAULTS

DATASETS = ("mnist", "fashion-mnist", "digits")


COMMANDS = ("train", "evaluate", "predict", "features", "summary", "params", "data", "bench", "sweep",
            "sample", "serve", "explain",
            "glossary")


class UsageError(Exception):
    """A mistake in what the user asked for: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _number(kind, ok, what):
    """An argparse type: ``kind(text)`` (int or float) that ``ok`` accepts, else "must be {what}"."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, lambda v: v >= 1, "a positive integer")
_non_negative_int = _number(int, lambda v: v >= 0, "a non-negative integer")
_positive_float = _number(float, lambda v: 0 < v < float("inf"), "a positive number")
_fraction = _number(float, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")


def _other_defaults(key: str) -> str:
    """The defaults of a ``nerve train`` option for text and generative models, for its help:
    they differ from the image classifiers' (e.g. "; text models 1; autoencoders 10, vae 10, dcgan 4")."""
    from ..runs.generative import GENERATIVE_DEFAULTS  # noqa: PLC0415
    from ..runs.text import TEXT_DEFAULTS  # noqa: PLC0415

    t = TEXT_DEFAULTS[key]
    text = ", ".join(f"{m} {v:g}" for m, v in t.items()) if isinstance(t, dict) else f"{t:g}"
    names = {"autoencoder": "autoencoders", "vae": "vae", "gan": "dcgan"}
    generative = ", ".join(f"{names[k]} {d[key]:g}" for k, d in GENERATIVE_DEFAULTS.items())
    return f"; text models {text}; {generative}"


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__  # noqa: PLC0415
    from ..runs.text import TEXT_DEFAULTS  # noqa: PLC0415

    text_val_fraction = TEXT_DEFAULTS["val_fraction"]
    parser = _Parser(prog="nerve", description="Train, inspect and run nerve models from the shell.")
    parser.add_argument("--version", action="version", version=f"nerve {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}", required=True)

    p = sub.add_parser("train", help="train a model and write a run folder",
                       description="Train a model on a digit dataset. Without options: the "
                                   "784-16-16-10 seed network on MNIST, with defaults tuned for a "
                                   "fast run above 96 % test accuracy.")
    p.add_argument("--model", default="seed-mlp", help="a name from nerve.models (default: seed-mlp)")
    p.add_argument("--dataset", choices=DATASETS, default=None,
                   help="default: mnist, falling back to the bundled digits when MNIST is unavailable")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help=f"passes over the training set (default {DEFAULTS['epochs']}{_other_defaults('epochs')})")
    p.add_argument("--batch-size", type=_positive_int, default=None,
                   help=f"samples per update (default {DEFAULTS['batch_size']}{_other_defaults('batch_size')})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="default: adam")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: " + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items())
                        + _other_defaults("lr") + ")")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="seed for weights and shuffling")
    p.add_argument("--out", default=None, help="run folder (default: runs/<model>-<dataset>-<time>); "
                                                "an existing folder with files is refused")
    p.add_argument("--overwrite", action="store_true",
                   help="with --out: replace the run in that folder (its run files are removed first)")
    p.add_argument("--resume", default=None, metavar="RUN",
                   help="continue an interrupted or killed run from its last finished epoch, with "
                        "the settings it recorded, exactly as if it had not stopped (image classifiers "
                        "and text models; generative runs cannot be resumed yet)")
    p.add_argument("--val-fraction", type=_fraction, default=None,
                   help=f"share of the training set held out for validation (default "
                        f"{DEFAULTS['val_fraction']}; text models {text_val_fraction:g}; 0 for none)")
    p.add_argument("--activation", default=None,
                   help="hidden-layer activation for MLP models (default for seed-mlp: elu)")
    p.add_argument("--shift", type=_non_negative_int, default=None,
                   help=f"random shifts of training images, in pixels (default {DEFAULTS['shift']}; "
                        "0 for none)")
    p.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                   help="train on the first N training samples only, for quick experiments "
                        "(default: all; the test set stays whole)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--diagnose", action="store_true",
                   help="watch the run with the training doctor (gradient flow, dead units, divergence, "
                        "over- and underfitting) and print its report")
    p.add_argument("--nproc", type=_positive_int, default=None, metavar="N",
                   help="train data-parallel on N processes through MPI (starts mpiexec -n N; the "
                        "--batch-size is the global batch, split over the processes). Under "
                        "'mpirun -n N nerve train' this is automatic")
    p.add_argument("--text", default=None, metavar="FILE",
                   help="for char-lstm / char-rnn / char-gpt: a UTF-8 text file to learn (default: the "
                        "bundled Python help topics, ~465 KB); its last --val-fraction is held out "
                        "(default 0.1), and --limit N trains on N random windows per epoch")
    p.add_argument("--block-size", type=_positive_int, default=None, metavar="T",
                   help="for text models: characters per training window (default 64)")
    p.set_defaults(func="train")

    p = sub.add_parser("evaluate", help="test loss, accuracy, per-class report and confusion matrix",
                       description="Evaluate a run on its test set: print loss, accuracy, the "
                                   "per-class report and the confusion matrix, and write into the run "
                                   "folder report.json (accuracy, macro and weighted P/R/F1, per-class "
                                   "scores, ROC AUC, average precision) and, with matplotlib, "
                                   "confusion_matrix.png, roc.png (one vs rest) and pr.png.")
    p.add_argument("run", help="a run folder written by 'nerve train'")
    p.add_argument("--batch-size", type=_positive_int, default=1000)
    p.set_defaults(func="evaluate")

    p = sub.add_parser("predict", help="classify an image file, or show test samples with the guesses",
                       description="Classify image files (PNG, JPEG ...) or every image in a folder; "
                                   "several are shown as a table. Without one, draw a few "
                                   "samples of the run's test set in the terminal, each with its label "
                                   "and the top classes; --index picks one.")
    p.add_argument("run", help="a run folder written by 'nerve train'")
    p.add_argument("image", nargs="*", default=None,
                   help="image files or folders of them to classify (default: test-set samples); "
                        "several give a table")
    p.add_argument("--index", type=_non_negative_int, default=None, metavar="I",
                   help="without an image: show test sample I only")
    p.add_argument("--count", type=_positive_int, default=3, metavar="N",
                   help="without an image or --index: how many test samples to show (default 3)")
    p.add_argument("--top", type=_positive_int, default=3, help="how many classes to show (default 3)")
    p.add_argument("--png", default=None, metavar="FILE",
                   help="without an image: also draw the samples, labels and top classes into FILE")
    p.set_defaults(func="predict")

    p = sub.add_parser("features", help="draw a CNN's first-layer filters and one input's feature maps",
                       description="Write filters.png (the kernels of the first conv layer) and "
                                   "feature_maps.png (what one input looks like at --layer) for a "
                                   "run whose model has a conv layer.")
    p.add_argument("run", help="a run folder written by 'nerve train'")
    p.add_argument("--image", default=None,
                   help="the input to show (PNG, JPEG ...), prepared as 'nerve predict' does "
                        "(default: the first test image)")
    p.add_argument("--layer", default=None, metavar="NAME",
                   help="dotted layer name, as in 'nerve summary' (default: the activation after the "
                        "first conv layer)")
    p.add_argument("--out", default=None, metavar="DIR", help="folder for the PNGs (default: the run folder)")
    p.set_defaults(func="features")

    p = sub.add_parser("summary", help="the layer table of a trained model")
    p.add_argument("run", help="a run folder written by 'nerve train'")
    p.set_defaults(func="summary")

    p = sub.add_parser("params", help="parameter arithmetic of an MLP or a named config, without building it")
    p.add_argument("sizes", nargs="*", type=_positive_int, metavar="SIZE",
                   help="layer widths from input to output, e.g. 784 16 16 10")
    p.add_argument("--config", default=None, metavar="NAME",
                   help="a named model configuration instead of sizes, e.g. gpt2 (per-component table)")
    p.set_defaults(func="params")

    p = sub.add_parser("data", help="the datasets: where each is found, its size and checksum status",
                       description="'nerve data' lists the datasets nerve knows, where each file is "
                                   "found and whether its SHA-256 matches the official release; "
                                   "'nerve data fetch NAME' downloads (or, with --from DIR, takes from "
                                   "a folder) and verifies a dataset and remembers where it is; "
                                   "'nerve data path' prints the user cache folder.")
    p.add_argument("action", nargs="?", default="list", choices=("list", "fetch", "path"),
                   help="list (default), fetch or path")
    p.add_argument("name", nargs="?", default=None, help="for fetch: the dataset, e.g. mnist")
    p.add_argument("--from", dest="source", default=None, metavar="DIR",
                   help="for fetch: a folder that already holds the official files")
    p.set_defaults(func="data")


    p = sub.add_parser("bench", help="time nerve against PyTorch on the benchmark workloads",
                       description="Run the benchmark suite (nerve.bench, shipped with the package): the "
                                   "same workloads in nerve and PyTorch, alternating, with the speed "
                                   "ratios in a summary table. Needs torch.")
    p.add_argument("ids", nargs="*", metavar="ID",
                   help="workload ids, e.g. W1 C1 U1, or 'activations' (default: all)")
    p.add_argument("--quick", action="store_true", help="tiny sizes and few repetitions (a smoke test)")
    p.add_argument("--reps", type=_positive_int, default=7, help="timed repetitions per framework (default 7)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.set_defaults(func="bench")

    from .sweep import add_parser as add_sweep_parser  # noqa: PLC0415  (its logic lives in cli/sweep.py)

    add_sweep_parser(sub)
    from .serve import add_serve_parser  # noqa: PLC0415
    add_serve_parser(sub)
    from .explain import add_parsers as add_glossary_parsers  # noqa: PLC0415

    add_glossary_parsers(sub)
    from . import sample  # noqa: PLC0415

    sample.add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Run the ``nerve`` command line; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)
        from . import commands  # noqa: PLC0415

        if args.func == "serve":  # the playground server (nerve.cli.serve)
            from .serve import cmd_serve  # noqa: PLC0415
            return cmd_serve(args)
        if args.func in ("explain", "glossary"):
            from . import explain  # noqa: PLC0415

            return getattr(explain, f"cmd_{args.func}")(args) or 0
        if args.func == "bench":  # the suite measures with the BLAS threads it finds; leave them
            return commands.cmd_bench(args) or 0
        handler = getattr(args, "handler", None) or (
            args.func if callable(args.func) else getattr(commands, f"cmd_{args.func}"))
        with commands.single_threaded_blas():
            return handler(args) or 0
    except UsageError as e:
        print(f"nerve: error: {e}", file=sys.stderr)
        return 2
    except RunError as e:  # a run folder that cannot be created, opened or used
        print(f"nerve: error: {e}", file=sys.stderr)
        return 2
    except FloatingPointError as e:
        # Training diverged (NaN/inf loss): a property of the settings, not a bug to trace.
        print(f"nerve: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nerve: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`nerve params ... | head -1`): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
