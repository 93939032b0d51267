"""``nerve train/evaluate/sample`` for generative runs (autoencoder, VAE, DCGAN): thin shells over
``nerve.runs.generative``."""
from __future__ import annotations

import sys
import time

from .main import UsageError

# Options of `nerve train` that only mean something for classifiers.
_CLASSIFIER_ONLY = {"shift": "--shift", "val_fraction": "--val-fraction", "activation": "--activation"}


def cmd_train_generative(args):
    """``nerve train --model vae|autoencoder|conv-autoencoder|dcgan``."""
    from ..runs import generative  # noqa: PLC0415

    given = [flag for key, flag in _CLASSIFIER_ONLY.items() if getattr(args, key, None) is not None]
    if args.diagnose:
        given.append("--diagnose")
    if args.optimizer != "adam":
        given.append(f"--optimizer {args.optimizer}")
    if given:
        raise UsageError(f"{', '.join(given)} do not apply to the generative model {args.model!r} "
                         "(it trains with Adam on the whole image set); drop them")
    out = args.out
    if out is None:
        from .commands import _default_run_dir  # noqa: PLC0415

        out = _default_run_dir(args.model, args.dataset or "mnist")
    t0 = time.perf_counter()
    from ..runs.training import RunInterrupted  # noqa: PLC0415

    try:
        run, results = generative.train(out, model=args.model, dataset=args.dataset, epochs=args.epochs,
                                        batch_size=args.batch_size, lr=args.lr, seed=args.seed, limit=args.limit,
                                        overwrite=args.overwrite, quiet=args.quiet)
    except RunInterrupted as e:
        use = "its weights are usable" if e.epoch else "it has no weights"
        print(f"nerve: interrupted; {e.path} keeps epoch {e.epoch} of {e.epochs} ({use}; generative runs "
              "cannot be resumed yet, so train again for more epochs)", file=sys.stderr)
        return 130
    print(_results_line(results) + f"  ({time.perf_counter() - t0:.1f} s)")
    print(f"run saved to {run.path}")
    if args.out is None:  # as for the other runs: 'nerve sample runs/latest' is this one
        from .commands import _link_latest  # noqa: PLC0415

        _link_latest(run.path)
    return 0


def _results_line(r: dict) -> str:
    if r["kind"] == "gan":
        return (f"test D loss {r['loss_d']:.4f}  G loss {r['loss_g']:.4f}  "
                f"D(real) {r['d_real']:.3f}  D(fake) {r['d_fake']:.3f}")
    if r["kind"] == "vae":
        return f"test -ELBO {r['neg_elbo']:.2f} nats/image  KL {r['kl']:.2f}  reconstruction MSE {r['reconstruction_mse']:.5f}"
    return f"test reconstruction MSE {r['reconstruction_mse']:.5f}  BCE {r['reconstruction_bce']:.4f}"


def cmd_evaluate_generative(args, run):
    """``nerve evaluate RUN`` for a generative run: its own measures, into report.json."""
    from ..runs import generative  # noqa: PLC0415

    r = generative.evaluate_run(run, batch_size=min(args.batch_size, 1000))
    print(f"{run.model_name} on the {run.dataset} test set ({r['test_images']} images)")
    print(_results_line(r))
    print(f"wrote {run.path / 'report.json'}")
    return 0


def cmd_sample_images(args):
    """``nerve sample RUN [--n 64] [--out grid.png] [--seed 0]`` for VAE and GAN runs."""
    from ..runs import generative  # noqa: PLC0415

    path = generative.sample_images(args.run, n=args.n, out=args.out, seed=args.seed)
    print(f"wrote {args.n} samples to {path}")
    return 0
