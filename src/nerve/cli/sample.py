"""``nerve sample RUN``: generate from a trained run, whatever kind of model it holds.

Each run kind that can generate registers a sampler here, a function ``fn(run, args) -> int``
(the exit status) that prints what it made. Text runs (``nerve train --model char-lstm`` or
``char-gpt``) continue ``--prompt`` by ``--length`` characters. Another family (image
generators, say) adds ``SAMPLERS["its-kind"] = its_function`` and, if it needs them, its own
options in :func:`add_parser`; the command dispatches on ``run.kind``.
"""
from __future__ import annotations

import math

from .main import UsageError, _non_negative_int, _number, _positive_int

__all__ = ["SAMPLERS", "register_sampler", "add_parser", "cmd_sample"]

SAMPLERS = {}   # run kind -> fn(run, args) -> exit status


def register_sampler(kind: str):
    """Decorator: ``nerve sample`` on a run of ``kind`` calls the decorated ``fn(run, args)``."""
    def deco(fn):
        SAMPLERS[kind] = fn
        return fn

    return deco


_temperature = _number(float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
_top_p = _number(float, lambda v: 0 < v <= 1, "a number in (0, 1]")


def add_parser(sub) -> None:
    """Add the ``sample`` sub-command to the ``nerve`` parser's sub-parsers."""
    p = sub.add_parser("sample", help="generate from a trained run (text: continue a prompt)",
                       description="Generate from a run written by 'nerve train'. For a text model "
                                   "(char-lstm, char-gpt): print the prompt followed by --length sampled "
                                   "characters. For an image generator (vae, dcgan): write --n samples "
                                   "as a grid, 8 per row, to --out.")
    p.add_argument("run", help="a run folder written by 'nerve train', e.g. runs/latest")
    p.add_argument("--prompt", default=None,
                   help="text to continue (default: a newline); every character must be in the "
                        "model's vocabulary")
    p.add_argument("--length", type=_non_negative_int, default=200, metavar="N",
                   help="how many characters to generate (default 200)")
    p.add_argument("--temperature", type=_temperature, default=1.0, metavar="T",
                   help="divide the logits by T: lower is more conservative, 0 always takes the most "
                        "likely character (default 1)")
    p.add_argument("--top-k", type=_positive_int, default=None, metavar="K",
                   help="sample only from the K most likely characters")
    p.add_argument("--top-p", type=_top_p, default=None, metavar="P",
                   help="sample only from the most likely characters that together have probability P")
    p.add_argument("--seed", type=_non_negative_int, default=None, metavar="S",
                   help="seed for the sampling (default: fresh randomness for text, 0 for images)")
    p.add_argument("--n", type=_positive_int, default=64,
                   help="for image generators (vae, dcgan): how many images (default 64)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="for image generators: the PNG grid to write (default: <run>/samples.png)")
    p.set_defaults(func=cmd_sample)


def cmd_sample(args) -> int:
    from .commands import _open_run  # noqa: PLC0415 - validates, and notes a run that did not finish

    run = _open_run(args.run)
    fn = SAMPLERS.get(run.kind)
    if fn is None:
        kinds = ", ".join(sorted(SAMPLERS))
        raise UsageError(f"{args.run} holds a {run.kind} model ({run.model_name}), which cannot generate; "
                         f"'nerve sample' works on runs of kind: {kinds}")
    return fn(run, args) or 0


@register_sampler("text")
def sample_text_run(run, args) -> int:
    """Print the prompt and its sampled continuation."""
    import sys  # noqa: PLC0415

    from ..runs.text import sample_text  # noqa: PLC0415

    from .commands import _given  # noqa: PLC0415

    image_only = [flag for flag, given in (("--out", args.out is not None), ("--n", _given(args, "--n", 64)))
                  if given]
    if image_only:   # a text run prints its sample; quietly ignoring --out would leave no file behind
        raise UsageError(f"{run.path} holds a text model ({run.model_name}); {' and '.join(image_only)} "
                         f"{'is' if len(image_only) == 1 else 'are'} for image generators: the text is printed, "
                         "so redirect it, e.g. > sample.txt")
    prompt = args.prompt
    if prompt is None:
        from ..runs.text import vocab_of  # noqa: PLC0415

        prompt = "\n" if "\n" in vocab_of(run) else vocab_of(run).itos[0]
    elif prompt == "":
        raise UsageError("--prompt is empty; give at least one character, e.g. --prompt 'The '")
    out = sample_text(run, prompt, args.length, args.temperature, args.top_k, args.top_p, args.seed)
    sys.stdout.write(out + ("" if out.endswith("\n") else "\n"))
    return 0


def sample_image_run(run, args) -> int:
    """Write a grid of ``--n`` generated images (VAE: decoded z ~ N(0, I); DCGAN: the generator)."""
    from ..runs import generative  # noqa: PLC0415

    if args.prompt is not None:
        raise UsageError(f"{run.path} holds an image generator ({run.model_name}); --prompt is for text "
                         "models, use --n and --out")
    from .commands import _given  # noqa: PLC0415

    text_only = [flag for flag, given in (("--length", _given(args, "--length", 200)),
                                          ("--temperature", _given(args, "--temperature", 1.0)),
                                          ("--top-k", args.top_k is not None), ("--top-p", args.top_p is not None))
                 if given]
    if text_only:   # they would be ignored: the images would not be what was asked for
        raise UsageError(f"{run.path} holds an image generator ({run.model_name}); {', '.join(text_only)} "
                         f"{'is' if len(text_only) == 1 else 'are'} for text models, use --n and --out")
    path = generative.sample_images(run.path, n=args.n, out=args.out, seed=0 if args.seed is None else args.seed)
    print(f"wrote {args.n} samples to {path}")
    return 0


for _kind in ("vae", "gan", "autoencoder"):
    register_sampler(_kind)(sample_image_run)
