"""The ``nerve`` command: argument parsing, dispatch, and one-line errors for user mistakes."""
from __future__ import annotations

import argparse
import os
import sys

from .defaults import DEFAULT_LR, DEFAULTS

DATASETS = ("mnist", "fashion-mnist", "digits")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "rmsprop", "adagrad")


class UsageError(Exception):
    """A mistake in what the user asked for: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__  # noqa: PLC0415

    parser = _Parser(prog="nerve", description="Train, inspect and run nerve models from the shell.")
    parser.add_argument("--version", action="version", version=f"nerve {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate,predict,summary,params}",
                                required=True)

    p = sub.add_parser("train", help="train a model and write a run folder",
                       description="Train a model on a digit dataset. Without options: the "
                                   "784-16-16-10 seed network on MNIST, with defaults tuned for a "
                                   "fast run above 96 % test accuracy.")
    p.add_argument("--model", default="seed-mlp", help="a name from nerve.models (default: seed-mlp)")
    p.add_argument("--dataset", choices=DATASETS, default=None,
                   help="default: mnist, falling back to the bundled digits when MNIST is unavailable")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help=f"passes over the training set (default {DEFAULTS['epochs']})")
    p.add_argument("--batch-size", type=_positive_int, default=None,
                   help=f"samples per update (default {DEFAULTS['batch_size']})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="default: adam")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: " + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items())
                        + ")")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="seed for weights and shuffling")
    p.add_argument("--out", default=None, help="run folder (default: runs/<model>-<dataset>-<time>)")
    p.add_argument("--val-fraction", type=_fraction, default=None,
                   help=f"share of the training set held out for validation (default "
                        f"{DEFAULTS['val_fraction']}; 0 for none)")
    p.add_argument("--activation", default=None,
                   help="hidden-layer activation for MLP models (default for seed-mlp: elu)")
    p.add_argument("--shift", type=_non_negative_int, default=None,
                   help=f"random shifts of training images, in pixels (default {DEFAULTS['shift']}; "
                        "0 for none)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--diagnose", action="store_true",
                   help="watch the run with the training doctor (gradient flow, dead units, divergence, "
                        "over- and underfitting) and print its report")
    p.set_defaults(func="train")

    p = sub.add_parser("evaluate", help="test loss, accuracy, per-class report and confusion matrix")
    p.add_argument("run", help="a run folder written by 'nerve train'")
    p.add_argument("--batch-size", type=_positive_int, default=1000)
    p.set_defaults(func="evaluate")

    p = sub.add_parser("predict", help="classify an image file (PNG, JPEG ...)")
    p.add_argument("run", help="a run folder written by 'nerve train'")
    p.add_argument("image", help="the image to classify")
    p.add_argument("--top", type=_positive_int, default=3, help="how many classes to show (default 3)")
    p.set_defaults(func="predict")

    p = sub.add_parser("summary", help="the layer table of a trained model")
    p.add_argument("run", help="a run folder written by 'nerve train'")
    p.set_defaults(func="summary")

    p = sub.add_parser("params", help="parameter arithmetic of an MLP, without building it")
    p.add_argument("sizes", nargs="+", type=_positive_int, metavar="SIZE",
                   help="layer widths from input to output, e.g. 784 16 16 10")
    p.set_defaults(func="params")
    return parser


def main(argv=None) -> int:
    """Run the ``nerve`` command line; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        from . import commands  # noqa: PLC0415

        with commands.single_threaded_blas():
            return getattr(commands, f"cmd_{args.func}")(args) or 0
    except UsageError as e:
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
