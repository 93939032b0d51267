"""torchvision.models, on nerve: the ResNet family built by :mod:`nerve.models`.

``torchvision.models.resnet18(weights=None, num_classes=10)`` becomes
``nerve.vision.models.resnet18(weights=None, num_classes=10)``. The builders are nerve.models'
own (same architecture, same parameter counts as torchvision's); this module only accepts
torchvision's ``weights=`` / ``progress=`` keywords. nerve ships no pretrained ImageNet weights,
so any ``weights`` other than ``None`` is refused with a clear error instead of silently
returning a randomly initialised network.

    >>> from nerve.vision import models
    >>> models.resnet18(weights=None, num_classes=10).fc.out_features
    10
"""
from __future__ import annotations

import functools

from ..models import resnet as _resnet
from ..models.resnet import BasicBlock, Bottleneck, ResNet  # noqa: F401

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50", "resnet101",
           "resnet152"]


def _torchvision_signature(builder):
    @functools.wraps(builder)
    def build(*, weights=None, progress=True, **kwargs):
        # torchvision still takes the older pretrained=True/False (deprecated): False is
        # weights=None, True asks for weights, which nerve does not have
        asked = f"weights={weights!r}"
        if kwargs.pop("pretrained", False) and weights is None:
            weights, asked = True, "pretrained=True"
        if weights is not None:
            raise ValueError(f"{builder.__name__}({asked}): nerve has no pretrained weights; pass "
                             f"weights=None and load a state_dict with model.load_state_dict(...)")
        del progress  # only meaningful for downloads, which never happen here
        return builder(**kwargs)
    build.__doc__ = (f"torchvision's ``{builder.__name__}(weights=None, progress=True, **kwargs)``: "
                     f"{builder.__doc__}")
    return build


resnet18 = _torchvision_signature(_resnet.resnet18)
resnet34 = _torchvision_signature(_resnet.resnet34)
resnet50 = _torchvision_signature(_resnet.resnet50)
resnet101 = _torchvision_signature(_resnet.resnet101)
resnet152 = _torchvision_signature(_resnet.resnet152)
