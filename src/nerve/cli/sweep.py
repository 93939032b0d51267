"""``nerve sweep``: train a grid of ``nerve train`` settings, one run folder per trial, and
print the results table (the best trial by validation loss marked with ``*``)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from .defaults import DEFAULT_LR, DEFAULTS, default_model_kwargs
from .main import UsageError


def _list_of(kind, name):
    def parse(text):
        values = []
        for part in text.split(","):
            part = part.strip()
            try:
                v = kind(part)
            except ValueError:
                raise UsageError(f"--{name}: {part!r} is not a valid value; give a comma-separated list "
                                 f"such as --{name} {'1e-3,1e-2' if kind is float else '16,32'}") from None
            if kind in (int, float) and not 0 < v < float("inf"):
                raise UsageError(f"--{name}: values must be positive and finite, got {part!r}")
            values.append(v)
        if len(set(values)) != len(values):
            raise UsageError(f"--{name} lists a value twice: {text!r}")
        return values
    return parse


def add_parser(sub):
    """Register ``sweep`` on the ``nerve`` sub-command parser."""
    from .main import DATASETS, OPTIMIZERS, _fraction, _non_negative_int, _positive_int  # noqa: PLC0415

    p = sub.add_parser("sweep", help="train a grid of settings, one run per trial, and rank them",
                       description="Train every combination of the listed values (or --trials of them, "
                                   "drawn at random) as 'nerve train' would, each into OUT/trial-NNN, "
                                   "then print the results table with the best trial by validation loss "
                                   "and write OUT/results.csv and OUT/summary.png. Lists are "
                                   "comma-separated: --lr 1e-3,1e-2,1e-1 --hidden 16,32,64.")
    p.add_argument("--lr", type=_list_of(float, "lr"), default=None, help="learning rates to try")
    p.add_argument("--hidden", type=_list_of(int, "hidden"), default=None,
                   help="hidden widths to try (models with a 'hidden' option, e.g. seed-mlp)")
    p.add_argument("--batch-size", type=_list_of(int, "batch-size"), default=None, help="batch sizes to try")
    p.add_argument("--epochs", type=_list_of(int, "epochs"), default=None,
                   help=f"epoch counts to try (default {DEFAULTS['epochs']})")
    p.add_argument("--optimizer", type=_list_of(str, "optimizer"), default=None,
                   help=f"optimizers to try, from {', '.join(OPTIMIZERS)} (default adam); without --lr "
                        "each trains at its own default rate, as in 'nerve train'")
    p.add_argument("--activation", type=_list_of(str, "activation"), default=None,
                   help="hidden activations to try (MLP models)")
    p.add_argument("--trials", type=_positive_int, default=None, metavar="N",
                   help="train N combinations drawn at random from the grid (default: all)")
    p.add_argument("--model", default="seed-mlp", help="a name from nerve.models (default: seed-mlp)")
    p.add_argument("--dataset", choices=DATASETS, default=None,
                   help="default: mnist, falling back to the bundled digits when MNIST is unavailable")
    p.add_argument("--seed", type=_non_negative_int, default=0,
                   help="seed of every trial's weights and shuffling, and of the --trials draw")
    p.add_argument("--val-fraction", type=_fraction, default=None,
                   help=f"validation share (default {DEFAULTS['val_fraction']}); must be above 0")
    p.add_argument("--shift", type=_non_negative_int, default=None,
                   help=f"random shifts of training images in pixels (default {DEFAULTS['shift']})")
    p.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                   help="train on the first N training samples only")
    p.add_argument("--out", default=None, help="the sweep folder (default: runs/sweep-<time>)")
    p.add_argument("--quiet", action="store_true", help="only the final table")
    p.set_defaults(func="sweep", handler=cmd_sweep)
    return p


def cmd_sweep(args):
    """Run the sweep ``args`` describes and print its table."""
    from .. import models  # noqa: PLC0415
    from ..nn import available_activations  # noqa: PLC0415
    from ..runs import sweep as sweep_lib  # noqa: PLC0415
    from .main import OPTIMIZERS  # noqa: PLC0415

    grid = {k: v for k, v in (("lr", args.lr), ("hidden", args.hidden), ("batch_size", args.batch_size),
                               ("epochs", args.epochs), ("optimizer", args.optimizer),
                               ("activation", args.activation)) if v is not None}
    if not grid:
        raise UsageError("nothing to sweep; list values for at least one of --lr, --hidden, --batch-size, "
                         "--epochs, --optimizer, --activation")
    bad = [o for o in grid.get("optimizer", []) if o not in OPTIMIZERS]
    if bad:
        raise UsageError(f"--optimizer: unknown {bad[0]!r}; choose from {', '.join(OPTIMIZERS)}")
    bad = [a for a in grid.get("activation", []) if a not in available_activations()]
    if bad:
        raise UsageError(f"--activation: unknown {bad[0]!r}; choose from {', '.join(available_activations())}")
    name = args.model.strip().lower().replace("_", "-")
    from ..runs.generative import is_generative  # noqa: PLC0415
    from ..runs.text import is_text_model  # noqa: PLC0415

    if is_text_model(name) or is_generative(name):   # the trials train digit classifiers
        family = "a character-level language model" if is_text_model(name) else "a generative model"
        raise UsageError(f"nerve sweep trains image classifiers and ranks them by validation loss; "
                         f"--model {args.model} is {family}: choose a classifier such as seed-mlp or lenet5")
    if "hidden" in grid:
        import inspect  # noqa: PLC0415

        factory = models._factory(name)
        if "hidden" not in inspect.signature(factory).parameters:
            raise UsageError(f"--hidden: model {args.model!r} has no 'hidden' option; use seed-mlp or "
                             "another model whose factory takes hidden=")
    optimizer = grid.get("optimizer", ["adam"])[0]
    settings = {"model": args.model, "model_kwargs": default_model_kwargs(args.model),
                "dataset": args.dataset, "epochs": DEFAULTS["epochs"], "batch_size": DEFAULTS["batch_size"],
                "optimizer": optimizer, "lr": DEFAULT_LR[optimizer], "seed": args.seed,
                "val_fraction": DEFAULTS["val_fraction"] if args.val_fraction is None else args.val_fraction,
                "shift": DEFAULTS["shift"] if args.shift is None else args.shift, "limit": args.limit}
    if not settings["val_fraction"]:
        raise UsageError("--val-fraction 0 leaves no validation set; a sweep ranks trials by validation loss")
    out = Path(args.out) if args.out else Path("runs") / f"sweep-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.is_dir() and any(out.iterdir()):   # said here: the run folder's message offers --overwrite/--resume
        names = sorted(p.name for p in out.iterdir())
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        raise UsageError(f"--out {out} already holds files ({shown}); a sweep writes into a new or empty "
                         "folder: choose another --out")
    n = 1
    for v in grid.values():
        n *= len(v)
    count = min(n, args.trials) if args.trials else n
    if not args.quiet:
        print(f"sweep: {count} of {n} combinations of " + ", ".join(f"{k} {v}" for k, v in grid.items())
              + f" into {out}", file=sys.stderr)
    from ..runs.training import RunInterrupted  # noqa: PLC0415

    try:
        result = sweep_lib.sweep(settings, grid, out, trials=args.trials, seed=args.seed, quiet=True,
                                 default_lr=None if "lr" in grid else DEFAULT_LR)
    except ValueError as e:
        raise UsageError(str(e)) from None
    except RunInterrupted as e:   # Ctrl-C or SIGTERM inside a trial: that trial keeps its last epoch
        print(f"nerve: interrupted; the sweep stopped in {e.path} (it keeps epoch {e.epoch} of {e.epochs}); "
              "no results.csv was written, so start the sweep again with a new --out", file=sys.stderr)
        return 130
    print(result.table())
    print(f"results: {out / 'results.csv'}" + (f", plot: {out / 'summary.png'}"
                                                  if (out / "summary.png").exists() else ""))
    return 0
