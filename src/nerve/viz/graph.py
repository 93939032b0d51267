"""Save the autograd graph behind a tensor as DOT text, and as a PNG when Graphviz is there."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

from ._figure import atomic_write


class GraphFiles(NamedTuple):
    """The files :func:`draw_graph` wrote: the DOT text, and the PNG or ``None``."""

    dot: Path
    png: Path | None


def draw_graph(tensor, path, params: dict | None = None) -> GraphFiles:
    """Write the graph that produced ``tensor`` as DOT text, and render it if ``dot`` exists.

    The text comes from :func:`nerve.autograd.to_dot` (op nodes as boxes, leaves that require
    grad as ellipses, named through ``params``). When the Graphviz ``dot`` program is on the
    PATH, a PNG is rendered beside the DOT file; otherwise only the text is written (render
    it later with ``dot -Tpng graph.dot -o graph.png``).

    Args:
        tensor: the output Tensor (for example a loss).
        path: the DOT file to write; a ``.png`` path means "graph.dot and graph.png here".
        params: optional ``{name: tensor}`` to label the leaves (e.g. ``model.named_parameters()``).

    Returns:
        ``GraphFiles(dot=..., png=...)``, ``png`` being None without Graphviz.

    Example:
        >>> import tempfile, os
        >>> import nerve as nv
        >>> w = nv.tensor([1.0, 2.0], requires_grad=True)
        >>> files = draw_graph((w * w).sum(), os.path.join(tempfile.mkdtemp(), "g.dot"))
        >>> files.dot.read_text().startswith("digraph")
        True
    """
    from ..autograd import to_dot

    if not hasattr(tensor, "_ctx"):
        raise TypeError(f"draw_graph: expected a nerve Tensor, got {type(tensor).__name__}")
    path = Path(path)
    dot_path = path if path.suffix == ".dot" else path.with_suffix(".dot")
    text = to_dot(tensor, dict(params) if params is not None else None)
    atomic_write(dot_path, lambda tmp: tmp.write_text(text + "\n"))
    exe = shutil.which("dot")
    if exe is None:
        return GraphFiles(dot_path, None)
    png_path = dot_path.with_suffix(".png")

    def render(tmp):
        done = subprocess.run([exe, "-Tpng", str(dot_path), "-o", str(tmp)], capture_output=True,
                              text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"draw_graph: Graphviz failed on {dot_path}: "
                               f"{done.stderr.strip()[:300]}")

    atomic_write(png_path, render)
    return GraphFiles(dot_path, png_path)
