"""Named model configurations and their parameter arithmetic, without building the model.

``nerve params --config NAME`` prints the table of a registered configuration. A model file
adds its configurations with :func:`register_config`; the decorated function returns a
:class:`ParamTable`::

    @register_config("gpt2", "gpt2-small")
    def _gpt2():
        return GPTConfig.gpt2().param_table()

    >>> table = config_param_table("gpt2")
    >>> table.total
    124439808
    >>> "gpt2" in available_configs()
    True
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ParamLine", "ParamTable", "register_config", "config_param_table", "available_configs"]

_CONFIGS = {}   # key -> function() -> ParamTable


def _key(name):
    return str(name).strip().lower().replace("_", "-")


@dataclass(frozen=True)
class ParamLine:
    """One component: its name, how its count is computed, the count, and how often it repeats
    (e.g. once per transformer block). ``shared`` marks a component that reuses another's tensor
    (a tied output head): it is listed for clarity and adds nothing to the total."""

    component: str
    arithmetic: str
    count: int
    repeat: int = 1
    shared: bool = False

    @property
    def total(self) -> int:
        return 0 if self.shared else self.count * self.repeat


@dataclass
class ParamTable:
    """A titled list of :class:`ParamLine` with the grand total."""

    title: str
    lines: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines)

    def format(self) -> str:
        """The table as aligned text, ending with the total."""
        header = ("component", "arithmetic", "count", "x", "total")
        body = [(ln.component, ln.arithmetic, f"{ln.count:,}", f"{ln.repeat}",
                 "shared" if ln.shared else f"{ln.total:,}") for ln in self.lines]
        widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
        fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
        rows = [self.title, fmt.format(*header)] + [fmt.format(*b) for b in body]
        rows.append(f"total: {self.total:,} parameters")
        return "\n".join(rows)


def register_config(name, *aliases):
    """Decorator: make ``config_param_table(name)`` (and each alias) call the function."""
    def deco(fn):
        for n in (name,) + aliases:
            k = _key(n)
            old = _CONFIGS.get(k)
            if old is not None and (old.__module__, old.__qualname__) != (fn.__module__, fn.__qualname__):
                raise ValueError(f"config name {n!r} is already registered by {old.__module__}")
            _CONFIGS[k] = fn
        return fn

    return deco


def _scan():
    from . import _scan as scan_models  # noqa: PLC0415 - model files register their configs on import

    scan_models()


def available_configs() -> list:
    """The registered configuration names, sorted."""
    _scan()
    return sorted(_CONFIGS)


def config_param_table(name) -> ParamTable:
    """The :class:`ParamTable` of the configuration registered as ``name``.

    Raises:
        ValueError: for an unknown name, listing the registered ones.
    """
    k = _key(name)
    if k not in _CONFIGS:
        _scan()
    fn = _CONFIGS.get(k)
    if fn is None:
        raise ValueError(f"unknown config {name!r}; available configs: {', '.join(available_configs())}")
    return fn()
