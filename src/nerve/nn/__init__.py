"""Neural-network building blocks: ``Module``, ``Parameter``, layers, losses, ``init``.

The layer files mirror ``nerve.functional`` (``linear.py``, ``activation.py``,
``loss.py``, ``conv.py`` ...): each layer is a thin stateful twin of a function there.
Every public layer file in this folder is imported here and its ``__all__`` re-exported,
so adding ``nn/<family>.py`` is enough to make ``nn.<Layer>`` work.

    >>> import nerve as nv
    >>> from nerve import nn
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    >>> net.num_parameters()   # 3×4 + 4 + 4×1 + 1
    21
"""
import importlib as _importlib
import pkgutil as _pkgutil

from . import functional  # noqa: F401
from . import init, utils  # noqa: F401
from .activation import (ELU, GELU, SELU, Hardtanh, LeakyReLU, LogSoftmax, PReLU, ReLU,  # noqa: F401
                         ReLU6, Sigmoid, SiLU, Softmax, Softplus, Softsign, Tanh,
                         available_activations, get_activation, register_activation)
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential  # noqa: F401
from .linear import Identity, Linear  # noqa: F401
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HingeLoss, HuberLoss,  # noqa: F401
                   KLDivLoss, L1Loss, MSELoss, MultiLabelMarginLoss, MultiMarginLoss, NLLLoss,
                   SmoothL1Loss)
from .loss import (ContrastiveLoss, CosineEmbeddingLoss, PairwiseDistance,  # noqa: F401
                   TripletMarginLoss)
from .loss import CosineSimilarity  # noqa: F401
from .module import Module, RemovableHandle  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .shape import Flatten, Unflatten  # noqa: F401
from .shape import PixelShuffle, PixelUnshuffle  # noqa: F401
from .summary import ModelSummary, summary  # noqa: F401

# The other layer families (conv, pooling, normalization, dropout, recurrent, attention ...).
_CORE = {"functional", "init", "utils", "activation", "container", "linear", "loss", "module",
         "parameter", "shape", "summary"}
_info = _mod = None
for _info in sorted(_pkgutil.iter_modules(__path__), key=lambda i: i.name):
    if _info.name.startswith("_") or _info.name in _CORE:
        continue
    _mod = _importlib.import_module(f"{__name__}.{_info.name}")
    globals().update({_k: getattr(_mod, _k) for _k in getattr(_mod, "__all__", ())})
del _info, _mod
