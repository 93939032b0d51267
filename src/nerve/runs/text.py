"""Character-level language models in run folders: what ``nerve train --model char-lstm|char-gpt``
and ``nerve sample`` do, as library functions.

A text run is an ordinary run folder (config.json, model.safetensors, history, checkpoints,
manifest, ``--resume``) whose config has ``"kind": "text"`` and records the text it learned
from (``"text"``: ``help-topics`` for the bundled corpus, or the file's path, with its
SHA-256), the character vocabulary (``"vocab"``, a list of characters) and the window length.

* :func:`prepare` loads the text, splits off its tail for validation, builds the vocabulary
  and the model (sized to the vocabulary) and the window loaders, all from a settings dict;
* :func:`fit` trains with the one :class:`~nerve.train.Trainer` (next-character cross-entropy,
  per-character accuracy, a checkpoint per epoch) and finishes the run;
* :func:`sample_text` continues a prompt with a trained run's model.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "lm"
    >>> settings = default_settings("char-lstm", epochs=1, limit=8, batch_size=4, block_size=16,
    ...                             model_kwargs={"embedding_dim": 8, "hidden_size": 16})
    >>> result = train_text_run(folder, settings, quiet=True)
    >>> len(sample_text(folder, "The ", 20, temperature=0.8, seed=0))
    24
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

from . import Run, RunError
from .training import checked_settings, checkpoint_epoch, fit_keeping_epochs, make_optimizer

__all__ = ["TEXT_MODELS", "TEXT_SETTINGS", "TEXT_DEFAULTS", "is_text_model", "default_settings", "load_corpus",
           "prepare", "run_config", "fit", "settings_from_run", "train_text_run", "sample_text",
           "vocab_of", "sequence_cross_entropy", "char_accuracy"]

#: The models ``nerve train`` trains on text (canonical names), and the arguments each takes
#: from the data (the vocabulary size, and the context length for a GPT).
TEXT_MODELS = {"char-lstm": ("vocab_size",), "char-rnn": ("vocab_size",),
               "char-gpt": ("vocab_size", "block_size")}

# Measured on the bundled help text with two shared CPU cores (see tests/models/test_lm_demos.py).
TEXT_DEFAULTS = {"epochs": 1, "batch_size": 32, "block_size": 64, "optimizer": "adam",
                 "lr": {"char-lstm": 1e-2, "char-rnn": 3e-3, "char-gpt": 6e-3}, "val_fraction": 0.1}

# The settings a text run records and --resume reads back, with their types.
TEXT_SETTINGS = {"model": str, "model_kwargs": dict, "text": str, "epochs": int, "batch_size": int,
                 "block_size": int, "optimizer": str, "lr": float, "seed": int, "val_fraction": float,
                 "limit": (int, type(None))}


def _canonical(name: str) -> str:
    from .. import models  # noqa: PLC0415

    try:
        return models.canonical_name(name)
    except ValueError as e:
        raise RunError(str(e).splitlines()[0]) from None


def is_text_model(name) -> bool:
    """Whether ``name`` (any spelling) is a model ``nerve train`` trains on text."""
    from .. import models  # noqa: PLC0415

    try:
        return models.canonical_name(name) in TEXT_MODELS
    except ValueError:
        return False


def default_settings(model: str, text: str | None = None, **overrides) -> dict:
    """Complete text-run settings: ``overrides`` on top of :data:`TEXT_DEFAULTS`."""
    model = _canonical(model)
    if model not in TEXT_MODELS:
        raise RunError(f"model {model!r} is not a text model; choose from {', '.join(TEXT_MODELS)}")
    from ..text import BUNDLED_TEXT  # noqa: PLC0415

    settings = {"model": model, "model_kwargs": {}, "text": text or BUNDLED_TEXT, "seed": 0, "limit": None,
                **{k: v for k, v in TEXT_DEFAULTS.items() if k != "lr"}, "lr": TEXT_DEFAULTS["lr"][model]}
    unknown = set(overrides) - set(TEXT_SETTINGS)
    if unknown:
        raise TypeError(f"unknown text-run settings: {sorted(unknown)}")
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return settings


def load_corpus(text: str, val_fraction: float):
    """The :class:`~nerve.text.CharCorpus` of ``text``: the bundled help topics or a UTF-8 file."""
    from ..text import BUNDLED_TEXT, CharCorpus  # noqa: PLC0415

    try:
        if text == BUNDLED_TEXT:
            return CharCorpus.help_topics(val_fraction)
        return CharCorpus.from_file(text, val_fraction)
    except ValueError as e:
        raise RunError(str(e).splitlines()[0]) from None


def _text_sha256(corpus) -> str:
    return hashlib.sha256(corpus.text.encode("utf-8")).hexdigest()


def vocab_of(run):
    """The run's :class:`~nerve.text.CharVocab` (from config.json)."""
    from ..text import CharVocab  # noqa: PLC0415

    chars = run.config.get("vocab")
    if not isinstance(chars, list) or not chars:
        raise RunError(f"{run.path / 'config.json'} has no character vocabulary ('vocab'); it is not a text run")
    try:
        return CharVocab(chars)
    except ValueError as e:
        raise RunError(f"{run.path / 'config.json'}: vocab: {e}") from None


def sequence_cross_entropy(logits, targets):
    """Mean next-character cross-entropy of (N, T, V) logits against (N, T) ids."""
    from ..nn import functional as F  # noqa: PLC0415

    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def char_accuracy(logits, targets) -> float:
    """Share of positions whose most likely next character is the true one (NumPy arrays)."""
    return float((np.asarray(logits).argmax(-1) == np.asarray(targets)).mean())


def prepare(settings: dict) -> dict:
    """Text, vocabulary, model and loaders for ``settings``; the same for a fresh and a resumed run."""
    from ..data import DataLoader  # noqa: PLC0415
    from ..random import manual_seed  # noqa: PLC0415
    from ..text import CharWindows  # noqa: PLC0415
    from .training import build_model  # noqa: PLC0415

    name = _canonical(settings["model"])
    block = settings["block_size"]
    corpus = load_corpus(settings["text"], settings["val_fraction"])
    if len(corpus.train_ids) <= block:
        raise RunError(f"the text has {len(corpus.train_ids)} training characters, too few for windows of "
                       f"{block} + 1; use a longer text or a smaller --block-size")
    if settings["val_fraction"] and len(corpus.val_ids) <= block:
        raise RunError(f"the held-out tail has {len(corpus.val_ids)} characters, too few for one window of "
                       f"{block} + 1; use a longer text, a larger --val-fraction or a smaller --block-size")
    data_kwargs = {"vocab_size": len(corpus.vocab), "block_size": block}
    kwargs = {**{k: data_kwargs[k] for k in TEXT_MODELS[name]}, **settings["model_kwargs"]}
    if kwargs.get("vocab_size") != len(corpus.vocab):
        raise RunError(f"model_kwargs vocab_size {kwargs['vocab_size']} differs from the text's "
                       f"{len(corpus.vocab)} characters; leave it out")
    manual_seed(settings["seed"])
    model = build_model(name, kwargs)
    train_set = CharWindows(corpus.train_ids, block, num_windows=settings["limit"], seed=settings["seed"])
    val_loader = (DataLoader(CharWindows(corpus.val_ids, block), batch_size=256)
                  if settings["val_fraction"] else None)
    return {"model": model, "model_name": name, "model_kwargs": kwargs, "corpus": corpus,
            "train_loader": DataLoader(train_set, batch_size=settings["batch_size"], shuffle=True,
                                       seed=settings["seed"]),
            "val_loader": val_loader, "n_train": len(corpus.train_ids), "n_val": len(corpus.val_ids),
            "windows": len(train_set)}


def run_config(settings: dict, prep: dict) -> dict:
    """The config.json of a text run trained with ``settings`` on the text :func:`prepare` loaded."""
    from ..text import unigram_entropy  # noqa: PLC0415

    corpus = prep["corpus"]
    return {"kind": "text", "model": prep["model_name"], "model_kwargs": prep["model_kwargs"],
            "dataset": corpus.name, "text": settings["text"], "text_sha256": _text_sha256(corpus),
            "text_chars": len(corpus.text), "unigram_entropy": unigram_entropy(corpus.text),
            "vocab": list(corpus.vocab.itos), "block_size": settings["block_size"],
            "epochs": settings["epochs"], "batch_size": settings["batch_size"], "optimizer": settings["optimizer"],
            "lr": settings["lr"], "scheduler": "cosine", "seed": settings["seed"],
            "val_fraction": settings["val_fraction"], "limit": settings["limit"],
            "user_model_kwargs": settings["model_kwargs"]}


def settings_from_run(run) -> dict:
    """The settings a text run recorded, type-checked (for resuming it)."""
    where = run.path / "config.json"
    config = dict(run.config)
    config["model_kwargs"] = config.get("user_model_kwargs", {})
    return checked_settings(config, TEXT_SETTINGS, where)


def fit(run, settings: dict, prep: dict, config: dict, resume_from=None, quiet: bool = False) -> dict:
    """Train into ``run`` and finish it; returns the validation results and the timings.

    Interrupted and diverged runs keep their last finished epoch, as image runs do
    (:class:`~nerve.runs.training.RunInterrupted`, ``FloatingPointError``).
    """
    from ..optim.lr_scheduler import CosineAnnealingLR  # noqa: PLC0415
    from ..train import CSVLogger, JSONLogger, ModelCheckpoint, NonFiniteGuard, ProgressBar, Trainer  # noqa: PLC0415

    model, path, epochs = prep["model"], run.path, settings["epochs"]
    optimizer = make_optimizer(settings["optimizer"], model.parameters(), settings["lr"])
    scheduler = CosineAnnealingLR(optimizer, T_max=epochs)
    callbacks = [ProgressBar(quiet=quiet), CSVLogger(path / "history.csv"), JSONLogger(path / "history.json"),
                 NonFiniteGuard(), ModelCheckpoint(path / "checkpoint", save_best=False)]
    trainer = Trainer(model, optimizer, sequence_cross_entropy, metrics=(char_accuracy,), callbacks=callbacks,
                      scheduler=scheduler, grad_clip_norm=1.0)
    if not quiet:
        verb = f"resuming {path} from epoch {checkpoint_epoch(resume_from)}: " if resume_from else "training "
        print(f"{verb}{prep['model_name']} ({model.num_parameters():,} parameters) on {prep['corpus'].name}: "
              f"{prep['n_train']:,} train / {prep['n_val']:,} validation characters, vocabulary "
              f"{len(prep['corpus'].vocab)}, {prep['windows']} windows of {settings['block_size']} per epoch, "
              f"{epochs} epochs, batch {settings['batch_size']}, {settings['optimizer']} lr {settings['lr']:g}",
              file=sys.stderr)

    history, fit_seconds = fit_keeping_epochs(
        run, trainer, model, prep, epochs, resume_from,
        lambda kept: (f"the weights of epoch {kept}" if kept else "no weights") + "; train again with a smaller --lr")
    val_loss = history["val_loss"][-1] if prep["val_loader"] is not None else None
    config["results"] = {"final_train_loss": history["loss"][-1], "val_loss": val_loss,
                         "val_char_accuracy": history["val_char_accuracy"][-1] if val_loss is not None else None,
                         "unigram_entropy": config["unigram_entropy"]}
    config["seconds"] = {"fit": round(fit_seconds, 3)}
    run.save_weights(model)
    run.save_json("config.json", config)
    from .training import _plot_curves  # noqa: PLC0415

    _plot_curves(history, path / "curves.png", f"{prep['model_name']} on {prep['corpus'].name}")
    run.finish("complete")
    return {"val_loss": val_loss, "train_loss": history["loss"][-1], "epochs": epochs,
            "unigram_entropy": config["unigram_entropy"], "fit_seconds": fit_seconds}


def train_text_run(folder, settings: dict, overwrite: bool = False, quiet: bool = False) -> dict:
    """Create a text run in ``folder`` and train it with ``settings`` (see :func:`default_settings`)."""
    Run.check_target(Path(folder), overwrite)
    prep = prepare(settings)
    config = run_config(settings, prep)
    run = Run.create(folder, config, overwrite=overwrite)
    return fit(run, settings, prep, config, quiet=quiet)


def sample_text(run, prompt: str, length: int, temperature: float = 1.0, top_k=None, top_p=None,
                seed=None) -> str:
    """The prompt followed by ``length`` characters sampled from a text run's model.

    ``run`` is a :class:`~nerve.runs.Run` or its folder. Characters the model never saw in the
    prompt, an empty prompt and bad sampling settings are one-line :class:`RunError`s.
    """
    from ..models.sampling import check_sampling_args  # noqa: PLC0415

    if not isinstance(run, Run):
        run = Run.open(run)
    if run.config.get("kind") != "text":
        raise RunError(f"{run.path} holds a {run.config.get('kind', 'classifier')} run of {run.model_name}, "
                       "not a text model")
    if not isinstance(prompt, str) or not prompt:
        raise RunError("the prompt is empty; give at least one character, e.g. --prompt 'The '")
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
        raise RunError(f"length must be a non-negative integer, got {length!r}")
    try:
        check_sampling_args(temperature, top_k, top_p)
    except ValueError as e:
        raise RunError(str(e)) from None
    vocab = vocab_of(run)
    n_model = (run.config.get("model_kwargs") or {}).get("vocab_size")
    if n_model != len(vocab):   # the sampled ids would not name the characters they stand for
        raise RunError(f"{run.path / 'config.json'} lists {len(vocab)} characters in 'vocab' but its model has "
                       f"{n_model} outputs; the config was edited or comes from another run")
    try:
        ids = vocab.encode_text(prompt)
    except ValueError as e:
        raise RunError(f"the prompt {str(e)[4:]}") from None
    model = run.build_model()
    out = model.generate(ids[None], int(length), temperature=temperature, top_k=top_k, top_p=top_p,
                         generator=np.random.default_rng(seed))
    return vocab.decode_text(out.numpy()[0])
