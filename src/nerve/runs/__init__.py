"""Run folders as library objects: create, write, validate, open, evaluate and predict.

A run folder is what ``nerve train`` writes: ``config.json`` (what was trained, on what, how
to prepare inputs), ``model.safetensors`` (the weights, with the model's name in the file's
metadata), the history, plots, reports, and ``manifest.json``: the nerve version, the model,
dataset, input shape, parameter shapes, a status (``running``, ``complete``, ``diverged``,
``interrupted``) and the SHA-256 and size of every artifact.

:class:`Run` owns such a folder. :meth:`Run.create` refuses a folder that already holds files
unless asked to overwrite it; every artifact is written atomically and recorded in the
manifest. :func:`load_run` (``Run.open``) checks everything before anything is used: the
config's fields and types, the model name against the model registry and against the name
stored in the weights, the dataset name against the dataset registry (case-insensitive,
aliases allowed, anything else refused), the weights' SHA-256 against the manifest, and that
the weights are finite. Each problem is a :class:`RunError` with a one-line message.

    >>> import tempfile, pathlib, numpy as np
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> run = Run.create(folder, {"model": "seed-mlp", "dataset": "MNIST",
    ...                           "classes": [str(i) for i in range(10)]})
    >>> from nerve import models
    >>> _ = run.save_weights(models.get_model("seed-mlp"))
    >>> run.finish("complete")
    >>> again = load_run(folder)
    >>> again.status, again.dataset, again.predict(np.zeros((2, 28, 28))).shape
    ('complete', 'mnist', (2, 10))
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Run", "RunError", "load_run", "Evaluation", "ARTIFACTS", "STATUSES", "KINDS"]

MANIFEST = "manifest.json"
STATUSES = ("running", "complete", "diverged", "interrupted")
# What a run holds: an image classifier (the default, for configs without "kind") or a
# character-level language model (nerve.runs.text).
KINDS = ("classifier", "text", "autoencoder", "vae", "gan")  # the last three: nerve.runs.generative
# Files a run writes; --overwrite removes exactly these (and stray temporary files), nothing else.
ARTIFACTS = ("config.json", "model.safetensors", "history.json", "history.csv", "curves.png",
             "diagnosis.txt", "report.json", "confusion_matrix.png", "roc.png", "pr.png",
             "filters.png", "feature_maps.png", "checkpoint", MANIFEST,
             "samples.png", "reconstructions.png")
_MAX_SIDE = 4096


class RunError(ValueError):
    """A run folder that cannot be created, opened or used; the message is one line."""


# ------------------------------------------------------------------------ config checks
def _number(value, where, positive=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (positive and value <= 0):
        kind = "a positive finite number" if positive else "a finite number"
        raise RunError(f"{where} must be {kind}, got {value!r}")
    return float(value)


def _check_config(config, path: Path) -> dict:
    """The config with every field this module reads type-checked and the names made canonical."""
    from .. import models  # noqa: PLC0415
    from ..data.datasets import resolve_dataset  # noqa: PLC0415

    where = path / "config.json"
    if not isinstance(config, dict):
        raise RunError(f"{where} is not a nerve run config (it holds a {type(config).__name__}, not an object)")
    if "model" not in config:
        raise RunError(f"{where} is not a nerve run config (no 'model' entry)")
    out = dict(config)
    try:
        out["model"] = models.canonical_name(config["model"])
    except ValueError as e:
        raise RunError(f"{where}: {str(e).splitlines()[0]}") from None
    kind = config.get("kind", "classifier")
    if kind not in KINDS:
        raise RunError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "classifier":
        try:
            out["dataset"] = resolve_dataset(config.get("dataset"))
        except ValueError as e:
            raise RunError(f"{where}: {e}") from None
    elif not isinstance(config.get("dataset"), str):
        raise RunError(f"{where}: dataset must be a string, got {config.get('dataset')!r}")
    kwargs = config.get("model_kwargs") or {}
    if not isinstance(kwargs, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, (str, int, float, bool))) for k, v in kwargs.items()):
        raise RunError(f"{where}: model_kwargs must be an object of names to numbers, strings or "
                       f"booleans, got {kwargs!r}")
    for k, v in kwargs.items():
        if isinstance(v, float) and not math.isfinite(v):
            raise RunError(f"{where}: model_kwargs.{k} must be finite, got {v!r}")
    out["model_kwargs"] = kwargs
    if kind != "classifier":
        # not an image classifier: no image input shape, classes or normalization; the
        # kind's own module (nerve.runs.text ...) checks the rest
        out.update(input_shape=None, classes=None, normalize=None, data_source=None)
        return out
    shape = config.get("input_shape", [1, 28, 28])
    if (not isinstance(shape, list) or len(shape) != 3
            or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= _MAX_SIDE for s in shape)):
        raise RunError(f"{where}: input_shape must be [channels, height, width] of positive integers "
                       f"up to {_MAX_SIDE}, got {shape!r}")
    out["input_shape"] = shape
    classes = config.get("classes")
    if classes is not None and (not isinstance(classes, list) or len(classes) < 2
                                or not all(isinstance(c, str) for c in classes)):
        raise RunError(f"{where}: classes must be a list of at least two names, got {classes!r}")
    out["classes"] = classes
    norm = config.get("normalize", {"mean": 0.0, "std": 1.0})
    if not isinstance(norm, dict) or set(norm) != {"mean", "std"}:
        raise RunError(f"{where}: normalize must be {{\"mean\": number, \"std\": number}}, got {norm!r}")
    out["normalize"] = {"mean": _number(norm["mean"], f"{where}: normalize.mean"),
                        "std": _number(norm["std"], f"{where}: normalize.std", positive=True)}
    source = config.get("data_source")
    if source is not None and (not isinstance(source, dict)
                               or not all(isinstance(v, (str, type(None))) for v in source.values())):
        raise RunError(f"{where}: data_source must be {{\"train\": folder, \"test\": folder}}, got {source!r}")
    out["data_source"] = source
    return out


def _sha256(path: Path) -> str:
    from ..data.datasets.download import sha256_of  # noqa: PLC0415

    return sha256_of(path)


def _load_json(path: Path):
    from ..io import load_json  # noqa: PLC0415

    try:
        return load_json(path)
    except (ValueError, OSError) as e:
        raise RunError(str(e).splitlines()[0]) from None


@dataclass
class Evaluation:
    """What :meth:`Run.evaluate` measures: mean loss and accuracy, labels, probabilities, report."""

    loss: float
    accuracy: float
    y: np.ndarray        # (N,) true classes
    prob: np.ndarray     # (N, C) softmax probabilities, float64
    report: dict         # nerve.metrics.evaluation_report, with test_loss


# --------------------------------------------------------------------------------- Run
class Run:
    """A run folder: its validated config, its manifest, and the model it holds.

    Build one with :meth:`create` (to write a new run) or :meth:`open` / :func:`load_run`.
    """

    def __init__(self, path, config: dict, manifest: dict | None):
        self.path, self.config, self.manifest = Path(path), config, manifest
        self.changed = []  # artifacts whose SHA-256 differs from the manifest (other than the weights)
        self._model = None

    # ----------------------------------------------------------------- properties
    @property
    def model_name(self) -> str:
        return self.config["model"]

    @property
    def dataset(self) -> str:
        return self.config["dataset"]

    @property
    def status(self) -> str:
        """The manifest's status; a run written before manifests existed counts as complete."""
        return (self.manifest or {}).get("status", "complete")

    @property
    def kind(self) -> str:
        """What the run holds: ``classifier`` (image classifier), ``text`` (language model), or an
        image generator's kind (``autoencoder``, ``vae``, ``gan``, recorded under ``generative``)."""
        generative = self.config.get("generative")
        if isinstance(generative, dict) and generative.get("kind") in KINDS:
            return generative["kind"]
        return self.config.get("kind", "classifier")

    def _require_classifier(self, what: str) -> None:
        if self.kind != "classifier":
            raise RunError(f"{self.path} holds a {self.kind} model ({self.model_name}); {what} works on "
                           "image classifiers" + ("; use 'nerve sample' to generate text" if self.kind == "text" else ""))

    @property
    def classes(self) -> list:
        return self.config.get("classes") or [str(i) for i in range(self._num_outputs())]

    def __repr__(self):
        return f"Run({str(self.path)!r}, model={self.model_name!r}, dataset={self.dataset!r}, status={self.status!r})"

    # ---------------------------------------------------------------- creating
    @classmethod
    def create(cls, path, config: dict, overwrite: bool = False) -> "Run":
        """Make (or, with ``overwrite``, empty of run artifacts) the folder and start its manifest.

        A folder that already holds files is refused unless ``overwrite``: then exactly the
        files a run writes (:data:`ARTIFACTS`) are removed first, so nothing of the old run
        mixes with the new one. ``config`` is written as config.json (it is saved again, e.g.
        with the results, through :meth:`save_json`); the manifest starts with status ``running``.
        """
        path = Path(path)
        cls.check_target(path, overwrite)
        try:
            path.mkdir(parents=True, exist_ok=True)
            if overwrite:
                cls._clear(path)
        except OSError as e:
            raise RunError(f"cannot create the run folder {path}: {e.strerror or e}") from None
        run = cls(path, _check_config(config, path), None)
        run.manifest = run._new_manifest()
        run.save_json("config.json", config)
        return run

    @staticmethod
    def check_target(path, overwrite: bool = False) -> None:
        """Raise :class:`RunError` if a run cannot be created at ``path`` (checked before training)."""
        path = Path(path)
        for parent in [path, *path.parents]:
            if parent.exists() and not parent.is_dir():
                what = "is a file" if parent == path else f"is inside {parent}, which is a file"
                raise RunError(f"--out {path} {what}; give a folder")
            if parent.exists():
                break
        if path.is_dir() and any(path.iterdir()) and not overwrite:
            names = sorted(p.name for p in path.iterdir())
            shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
            raise RunError(f"--out {path} already holds files ({shown}); pass --overwrite to replace "
                           f"that run, --resume {path} to continue it, or choose another --out")
        if overwrite and path.is_dir() and not _looks_like_run(path):
            mine = sorted(p.name for p in path.iterdir() if p.name in ARTIFACTS)
            if mine:   # files named like a run's, but not a run: they are someone else's, keep them
                raise RunError(f"--out {path} is not a nerve run folder (no nerve manifest.json) but holds "
                               f"{', '.join(mine[:4])}, which --overwrite would replace; choose another --out")

    @staticmethod
    def _clear(path: Path) -> None:  # only after check_target: ``path`` is a run
        import shutil  # noqa: PLC0415

        for p in path.iterdir():
            if p.name in ARTIFACTS or (p.name.startswith(".") and p.name.endswith(".tmp")):
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()

    def _new_manifest(self) -> dict:
        from .. import __version__  # noqa: PLC0415

        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return {"format": "nerve-run", "version": 1, "nerve_version": __version__, "status": "running",
                "model": self.model_name, "dataset": self.dataset, "input_shape": self.config["input_shape"],
                "num_classes": len(self.config["classes"]) if self.config.get("classes") else None,
                "created": now, "updated": now, "parameters": {}, "artifacts": {}}

    def _write_manifest(self) -> None:
        from ..io import save_json  # noqa: PLC0415

        self.manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        try:
            save_json(self.manifest, self.path / MANIFEST)
        except OSError as e:
            raise RunError(f"cannot write into {self.path}: {e.strerror or e}") from None

    def record(self, *names) -> None:
        """Put the SHA-256 and size of each named file (those that exist) into the manifest.

        A run written before manifests existed has none, and gets none: nothing is recorded.
        """
        if self.manifest is None:
            return
        for name in names:
            p = self.path / name
            if p.is_file():
                self.manifest["artifacts"][name] = {"sha256": _sha256(p), "bytes": p.stat().st_size}
        self._write_manifest()

    def save_json(self, name: str, obj) -> Path:
        """Write ``obj`` as strict JSON to ``name`` in the run, atomically, and record it."""
        from ..io import save_json  # noqa: PLC0415

        try:
            save_json(obj, self.path / name)
        except OSError as e:
            raise RunError(f"cannot write into {self.path}: {e.strerror or e}") from None
        if name == "config.json":
            self.config = _check_config(obj, self.path)
        self.record(name)
        return self.path / name

    def save_weights(self, model) -> Path:
        """Write the model's weights (safetensors, with the model's name) atomically and record them."""
        from ..io import save_state_dict  # noqa: PLC0415

        target = self.path / "model.safetensors"
        try:
            save_state_dict(model, target, {"nerve.model": self.model_name})
        except OSError as e:
            raise RunError(f"cannot write into {self.path}: {e.strerror or e}") from None
        self.manifest["parameters"] = {k: list(np.shape(v.data if hasattr(v, "data") else v))
                                       for k, v in model.state_dict().items()}
        self.record("model.safetensors")
        return target

    def finish(self, status: str, **info) -> None:
        """Set the status (and any extra fields, e.g. ``message``) and record every artifact present."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        self.manifest["status"] = status
        self.manifest.update(info)
        self.record(*[a for a in ARTIFACTS if a not in (MANIFEST, "checkpoint")])

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(cls, path, require_weights: bool = True) -> "Run":
        """Open and validate a run folder (see the module docstring for what is checked).

        ``require_weights=False`` also opens a run that stopped before its first epoch ended
        (``nerve train --resume`` starts such a run over).
        """
        path = Path(path)
        if not path.exists():
            raise RunError(f"no such run folder: {path}")
        if not path.is_dir():
            raise RunError(f"{path} is not a run folder (it is a file); pass the folder 'nerve train' wrote")
        needed = ("config.json", "model.safetensors") if require_weights else ("config.json",)
        missing = [f for f in needed if not (path / f).is_file()]
        if missing == ["model.safetensors"] and (path / MANIFEST).is_file():
            manifest = _load_json(path / MANIFEST)
            status = manifest.get("status") if isinstance(manifest, dict) else None
            if status in ("running", "interrupted", "diverged"):
                try:
                    config = _load_json(path / "config.json")
                except RunError:
                    config = None
                generative = isinstance(config, dict) and "generative" in config   # these cannot resume yet
                raise RunError(f"{path} has no weights: training {status if status != 'running' else 'stopped'} "
                               "before its first epoch ended" + (
                                   "; train again with a smaller --lr" if status == "diverged"
                                   else "; train it again" if generative
                                   else f"; continue it with 'nerve train --resume {path}'"))
        if missing:
            raise RunError(f"{path} is not a run folder (no {' or '.join(missing)}); pass the folder "
                           "'nerve train' wrote, e.g. runs/seed-mlp-mnist-<time>")
        config = _check_config(_load_json(path / "config.json"), path)
        manifest = None
        if (path / MANIFEST).is_file():
            manifest = _load_json(path / MANIFEST)
            if (not isinstance(manifest, dict) or manifest.get("status") not in STATUSES
                    or not isinstance(manifest.get("artifacts"), dict)):
                raise RunError(f"{path / MANIFEST} is not a nerve run manifest (no valid status or artifacts)")
        run = cls(path, config, manifest)
        run._verify_artifacts()
        return run

    def _verify_artifacts(self) -> None:
        for name, entry in ((self.manifest or {}).get("artifacts") or {}).items():
            p = self.path / name
            if not isinstance(entry, dict) or not p.is_file():
                continue
            if _sha256(p) != entry.get("sha256"):
                if name == "model.safetensors":
                    raise RunError(f"{p} does not match the SHA-256 in {self.path / MANIFEST}: it changed "
                                   "or was damaged after the run wrote it; train again or restore it")
                self.changed.append(name)

    def build_model(self):
        """The model with the run's weights, in eval mode (built once, then cached)."""
        if self._model is not None:
            return self._model
        from .. import models  # noqa: PLC0415
        from ..io import StateDictError, load_safetensors, load_weights  # noqa: PLC0415

        weights = self.path / "model.safetensors"
        try:
            arrays, meta = load_safetensors(weights)
        except (ValueError, OSError) as e:
            raise RunError(str(e).splitlines()[0]) from None
        stored = meta.get("nerve.model")
        if stored is not None:
            try:
                stored_name = models.canonical_name(stored)
            except ValueError:
                stored_name = stored
            if stored_name != self.model_name:
                raise RunError(f"{weights} holds weights of model {stored!r}, but config.json names "
                               f"{self.config['model']!r}; put back the model name the run was trained with")
        bad = [k for k, a in arrays.items() if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all()]
        if bad:
            raise RunError(f"{weights} holds NaN or Inf in {', '.join(bad[:3])}: the run diverged; train "
                           "again with a smaller --lr")
        try:
            model = models.get_model(self.model_name, **self.config["model_kwargs"])
        except MemoryError:
            raise RunError(f"building {self.model_name} with model_kwargs {self.config['model_kwargs']} "
                           "needs more memory than there is; check config.json") from None
        except (TypeError, ValueError) as e:
            raise RunError(f"config.json: model {self.model_name!r} cannot be built with model_kwargs "
                           f"{self.config['model_kwargs']} ({str(e).splitlines()[0]})") from None
        try:
            load_weights(model, arrays)
        except (ValueError, StateDictError) as e:
            raise RunError(str(e).replace("the state dict", str(weights))) from None
        model.eval()
        self._model = model
        return model

    def _num_outputs(self) -> int:
        return int(self.predict_logits(np.zeros((1, *self.config["input_shape"]), np.float32)).shape[1])

    # ------------------------------------------------------------------- using
    def normalize(self, x) -> np.ndarray:
        """Pixels in [0, 1] as the model saw them in training: ``(x - mean) / std``, float32."""
        norm = self.config["normalize"]
        return ((np.asarray(x, np.float32) - np.float32(norm["mean"])) / np.float32(norm["std"])).astype(
            np.float32, copy=False)

    def _as_batch(self, images) -> np.ndarray:
        x = np.asarray(images)
        if x.dtype.kind not in "biuf":
            raise RunError(f"images must be numbers, got dtype {x.dtype}")
        shape = tuple(self.config["input_shape"])
        if x.shape == shape[1:] and shape[0] == 1:
            x = x[None, None]
        elif x.shape == shape:
            x = x[None]
        elif x.ndim == 3 and x.shape[1:] == shape[1:] and shape[0] == 1:
            x = x[:, None]
        if x.ndim != 4 or x.shape[1:] != shape:
            raise RunError(f"images must have shape (N, {', '.join(map(str, shape))}) (or one image "
                           f"{shape}), got {np.asarray(images).shape}")
        x = x.astype(np.float32)
        if not np.isfinite(x).all():
            raise RunError("images hold NaN or Inf")
        return x

    def predict_logits(self, x_normalized, batch_size: int = 1000) -> np.ndarray:
        """Raw model outputs for already normalized inputs ``(N, C, H, W)``."""
        from ..autograd import Tensor, no_grad  # noqa: PLC0415

        model = self.build_model()
        outs = []
        with no_grad():
            for i in range(0, len(x_normalized), batch_size):
                outs.append(model(Tensor(np.asarray(x_normalized[i:i + batch_size], np.float32))).numpy())
        return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)

    def predict(self, images, batch_size: int = 1000) -> np.ndarray:
        """Class probabilities ``(N, C)`` (float64) for images with pixels in [0, 1].

        ``images``: ``(N, C, H, W)`` as in the run's ``input_shape``, or ``(N, H, W)`` / ``(H, W)``
        for one-channel models. They are normalized as in training first.
        """
        from ..metrics import softmax  # noqa: PLC0415

        self._require_classifier("predict")
        return softmax(self.predict_logits(self.normalize(self._as_batch(images)), batch_size))

    def test_data(self, normalize: bool = True):
        """The run's test split ``(x, y)``; the folder the run recorded is searched first.

        Raises :class:`~nerve.data.datasets.DatasetFileError` when the files cannot be found.
        """
        from ..data.datasets import load_split  # noqa: PLC0415

        self._require_classifier("evaluation on a test split")
        source = self.config.get("data_source") or {}
        root = source.get("test") if isinstance(source.get("test"), str) else None
        x, y, _, _ = load_split(self.dataset, False, root=root)
        return (self.normalize(x) if normalize else x), y

    def evaluate(self, batch_size: int = 1000) -> Evaluation:
        """Loss, accuracy and the full report on the run's test set."""
        from .. import nn  # noqa: PLC0415
        from ..data import DataLoader, TensorDataset  # noqa: PLC0415
        from ..metrics import evaluation_report, softmax  # noqa: PLC0415
        from ..train import Trainer  # noqa: PLC0415

        x, y = self.test_data()
        model = self.build_model()
        trainer = Trainer(model, None, nn.CrossEntropyLoss())
        result = trainer.evaluate(DataLoader(TensorDataset(x, y), batch_size=batch_size))
        prob = softmax(trainer.predict(x, batch_size=batch_size))
        if prob.shape[1] != len(self.classes):
            raise RunError(f"the model outputs {prob.shape[1]} scores per image but config.json lists "
                           f"{len(self.classes)} classes")
        report = evaluation_report(y, prob, self.classes, test_loss=result["loss"])
        return Evaluation(float(result["loss"]), float(result["accuracy"]), y, prob, report)


def load_run(path) -> Run:
    """Open and validate the run folder at ``path`` (``nerve.load_run``); see :class:`Run`."""
    return Run.open(path)


def _looks_like_run(path: Path) -> bool:
    """Whether ``path`` was written by nerve: a nerve manifest, or (runs from before manifests)
    both config.json and model.safetensors."""
    import json  # noqa: PLC0415

    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        if isinstance(manifest, dict) and manifest.get("format") == "nerve-run":
            return True
    except (OSError, ValueError):
        pass
    return (path / "config.json").is_file() and (path / "model.safetensors").is_file()
