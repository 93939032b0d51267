"""An MLP whose hidden widths are one string, so a run folder can record it.

Run configs store model options as numbers, strings and booleans only, so the hidden layer
widths travel as ``hidden="32,16"``. The browser playground (``nerve serve``) saves the
networks it trains with this model; ``nerve evaluate`` and ``load_run`` rebuild them by name.

    >>> from nerve import models
    >>> net = models.get_model("playground-mlp", hidden="16,16", activation="sigmoid")
    >>> net.num_parameters()          # the chapter-1 network again: 784-16-16-10
    13002
    >>> models.get_model("playground-mlp", hidden="", in_features=2, num_classes=2).num_parameters()
    6
"""
from __future__ import annotations

from .. import nn
from . import register_model
from .mlp import _layers

__all__ = ["playground_mlp", "parse_hidden"]


def parse_hidden(hidden) -> list:
    """``"32,16"`` → [32, 16]; ``""`` → [] (no hidden layer: a linear model)."""
    if not isinstance(hidden, str):
        raise ValueError(f"hidden must be a string of comma-separated widths such as '16,16', got {hidden!r}")
    parts = [p.strip() for p in hidden.split(",") if p.strip()]
    if not all(p.isdigit() and int(p) >= 1 for p in parts):
        raise ValueError(f"hidden must list positive integer widths such as '16,16', got {hidden!r}")
    return [int(p) for p in parts]


@register_model("playground-mlp")
def playground_mlp(hidden="16,16", activation="relu", in_features=784, num_classes=10):
    """Flatten, then ``in_features`` → hidden widths → ``num_classes`` logits with ``activation``."""
    sizes = [in_features, *parse_hidden(hidden), num_classes]
    return nn.Sequential(nn.Flatten(), *_layers(sizes, activation, None, True))
