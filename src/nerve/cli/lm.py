"""``nerve train --model char-lstm|char-gpt [--text FILE]``: the text side of ``nerve train``.

The logic lives in :mod:`nerve.runs.text`; this module maps the command-line options onto its
settings and prints the outcome.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .main import UsageError

__all__ = ["wants_text", "cmd_train_text"]

# Options of `nerve train` that mean nothing for a text model.
_IMAGE_ONLY = ("dataset", "activation", "shift", "diagnose")


def wants_text(args) -> bool:
    """Whether ``nerve train`` was asked for a text run (a text model, --text, or resuming one)."""
    from ..runs.text import is_text_model  # noqa: PLC0415

    if getattr(args, "resume", None) is not None:
        from ..runs import Run  # noqa: PLC0415

        try:
            return Run.open(args.resume, require_weights=False).kind == "text"
        except ValueError:
            return False          # the image path reports the problem
    return getattr(args, "text", None) is not None or is_text_model(args.model)


def _settings_from_args(args) -> dict:
    from ..runs import text  # noqa: PLC0415

    if not text.is_text_model(args.model):
        raise UsageError(f"--text trains a character-level language model; choose --model from "
                         f"{', '.join(text.TEXT_MODELS)} (got {args.model!r})")
    from .commands import train_defaults  # noqa: PLC0415

    defaults = train_defaults()
    bad = [k for k in _IMAGE_ONLY if getattr(args, k, defaults[k]) != defaults[k]]
    if bad:
        raise UsageError(f"{', '.join('--' + k.replace('_', '-') for k in bad)} "
                         f"{'does' if len(bad) == 1 else 'do'} not apply to text models")
    source = None if args.text is None else str(Path(args.text).expanduser().absolute())  # resumable from anywhere
    return text.default_settings(args.model, source, epochs=args.epochs, batch_size=args.batch_size,
                                 block_size=args.block_size, optimizer=args.optimizer, lr=args.lr, seed=args.seed,
                                 val_fraction=args.val_fraction, limit=args.limit)


def cmd_train_text(args) -> int:
    from ..runs import Run  # noqa: PLC0415
    from ..runs import text, training  # noqa: PLC0415
    from .commands import _check_resume_args, _default_run_dir, _link_latest  # noqa: PLC0415

    if args.resume is not None:
        run = Run.open(args.resume, require_weights=False)
        _check_resume_args(run, args, allowed=("quiet",))
        settings = text.settings_from_run(run)
        resume_from = training.resume_point(run)
        prep = text.prepare(settings)
        config = text.run_config(settings, prep)
        if config["text_sha256"] != run.config.get("text_sha256"):
            raise UsageError(f"cannot resume {run.path}: the text {settings['text']} changed since the run "
                             "started (its SHA-256 differs)")
        training.restart(run, config)
    else:
        settings = _settings_from_args(args)
        if args.out:
            Run.check_target(Path(args.out), args.overwrite)
        prep = text.prepare(settings)
        config = text.run_config(settings, prep)
        from ..text import BUNDLED_TEXT  # noqa: PLC0415

        name = BUNDLED_TEXT if settings["text"] == BUNDLED_TEXT else Path(settings["text"]).stem
        run_dir = Path(args.out) if args.out else _default_run_dir(settings["model"], name)
        run = Run.create(run_dir, config, overwrite=args.overwrite)
        resume_from = None
    try:
        result = text.fit(run, settings, prep, config, resume_from=resume_from, quiet=args.quiet)
    except training.RunInterrupted as e:
        print(f"nerve: interrupted; {run.path} keeps epoch {e.epoch} of {e.epochs}; continue with "
              f"'nerve train --resume {run.path}'", file=sys.stderr)
        return 130
    if result["val_loss"] is not None:
        print(f"validation loss {result['val_loss']:.4f} nats/char (unigram entropy of the text "
              f"{result['unigram_entropy']:.4f})  ({result['epochs']} epochs, {result['fit_seconds']:.1f} s training)")
    else:
        print(f"training loss {result['train_loss']:.4f} nats/char ({result['epochs']} epochs)")
    print(f"run saved to {run.path}")
    if args.resume is None and not args.out:
        _link_latest(run.path)
    return 0
