"""The model zoo: one readable file per model family, each with its parameter count.

Models are built by name through a registry::

    >>> from nerve import models
    >>> net = models.get_model("seed-mlp")
    >>> net.num_parameters()
    13002
    >>> "seed-mlp" in models.available()
    True

A model file adds itself with the ``register_model`` decorator::

    @register_model("lenet5")
    def lenet5(num_classes=10): ...

Model files are imported lazily, on the first lookup that needs them, so adding a
file under ``nerve/models/`` is all it takes to make its models reachable both from
``get_model(name)`` and as ``nerve.models.<attribute>``.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
import types

__all__ = ["register_model", "get_model", "available", "canonical_name", "mlp", "MLP", "mlp_param_rows",
           "ParamRow", "seed_mlp", "chapter1_mlp"]


class _ModelsPackage(types.ModuleType):
    """``nerve.models``, whose model files never hide their same-named builders.

    Importing ``nerve.models.seq2seq`` (``from nerve.models.seq2seq import Decoded``) binds the
    *module* as ``models.seq2seq``, and then ``models.seq2seq(...)`` would fail with "'module'
    object is not callable", depending on what was imported first. Keep the builder instead.
    """

    def __setattr__(self, name, value):
        if (isinstance(value, types.ModuleType) and value.__name__ == f"{self.__name__}.{name}"
                and name in getattr(value, "__all__", ()) and callable(getattr(value, name, None))):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _ModelsPackage

_REGISTRY = {}          # name -> factory(**kwargs) -> Module
_PRIMARY = {}           # factory -> the first name it was registered under
_IMPORT_ERRORS = {}     # model file -> the error that stopped it from importing
_scanned = False


def _key(name):
    return str(name).strip().lower().replace("_", "-")


def register_model(name, *aliases):
    """Decorator: make ``get_model(name)`` (and each alias) call the decorated factory.

    Names are case-insensitive, and '_' and '-' are interchangeable.
    """
    def deco(factory):
        for n in (name,) + aliases:
            k = _key(n)
            old = _REGISTRY.get(k)
            if old is not None and old is not factory and (
                    getattr(old, "__module__", None), getattr(old, "__qualname__", None)) != (
                    getattr(factory, "__module__", None), getattr(factory, "__qualname__", None)):
                # (the same function re-registered, e.g. after a module reload, is fine)
                raise ValueError(f"model name {n!r} is already registered by "
                                 f"{getattr(_REGISTRY[k], '__module__', '?')}")
            _REGISTRY[k] = factory
        _PRIMARY.setdefault(factory, _key(name))
        return factory

    return deco


def _scan():
    """Import every model file once, so their ``register_model`` calls run."""
    global _scanned
    if _scanned:
        return
    _scanned = True
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        try:
            mod = importlib.import_module(f"{__name__}.{info.name}")
            # Importing models/unet.py binds the *module* as models.unet; put the same-named
            # builder function back so models.unet(...) stays callable.
            if info.name in getattr(mod, "__all__", ()):
                globals()[info.name] = getattr(mod, info.name)
        except Exception as e:  # noqa: BLE001 - one broken file must not hide the others
            _IMPORT_ERRORS[info.name] = e


def available():
    """The registered model names, sorted."""
    _scan()
    return sorted(_REGISTRY)


def _factory(name):
    if not isinstance(name, str):
        raise ValueError(f"a model name must be a string, got {type(name).__name__} {name!r}")
    k = _key(name)
    if k not in _REGISTRY:
        _scan()
    factory = _REGISTRY.get(k)
    if factory is None:
        msg = f"unknown model {name!r}; available models: {', '.join(available())}"
        if _IMPORT_ERRORS:
            msg += "; these model files failed to import: " + ", ".join(
                f"{f} ({type(e).__name__}: {e})" for f, e in _IMPORT_ERRORS.items())
        raise ValueError(msg)
    return factory


def canonical_name(name) -> str:
    """The name a model is registered under, from any spelling or alias.

    Two names mean the same model exactly when their canonical names are equal.

        >>> canonical_name("LeNet-5"), canonical_name("MLP_784_16_16_10")
        ('lenet5', 'seed-mlp')

    Raises:
        ValueError: for an unknown name (or not a string), listing the valid ones.
    """
    factory = _factory(name)
    return _PRIMARY.get(factory, _key(name))


def get_model(name, **kwargs):
    """Build the model registered as ``name``, passing ``kwargs`` to its factory.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    return _factory(name)(**kwargs)


from .mlp import MLP, ParamRow, chapter1_mlp, mlp, mlp_param_rows, seed_mlp  # noqa: E402


def __getattr__(name):
    # nerve.models.resnet18, nerve.models.LeNet5 ...: found in whichever model file defines it.
    if name.startswith("_"):
        raise AttributeError(f"module 'nerve.models' has no attribute {name!r}")
    _scan()
    import sys  # noqa: PLC0415

    for info in pkgutil.iter_modules(__path__):
        mod = sys.modules.get(f"{__name__}.{info.name}")
        if mod is not None and name in getattr(mod, "__all__", ()):
            return getattr(mod, name)
    if f"{__name__}.{name}" in sys.modules:      # a model file itself: nerve.models.bert
        return sys.modules[f"{__name__}.{name}"]
    raise AttributeError(f"module 'nerve.models' has no attribute {name!r}; registered model "
                         f"names (for get_model) are: {', '.join(available())}")
