"""Draw the graph of a computation as Graphviz DOT text."""
from __future__ import annotations

from .tensor import Tensor


def to_dot(output: Tensor, params: dict | None = None) -> str:
    """DOT source for the graph that produced ``output``.

    Op nodes are boxes named after the op (``MulBackward``); leaves that require grad are
    ellipses labelled with their shape (and name when ``params`` maps names to tensors).
    Render with ``dot -Tpng graph.dot -o graph.png``.
    """
    names = {id(t): n for n, t in (params or {}).items()}
    lines = ["digraph nerve {", '  rankdir="BT";', '  node [fontname="Helvetica", fontsize=10];']
    seen = set()
    stack = []

    def leaf_id(t):
        nid = f"leaf{id(t)}"
        if nid not in seen:
            seen.add(nid)
            label = names.get(id(t), "")
            label = (label + "\\n" if label else "") + str(tuple(t.shape))
            lines.append(f'  {nid} [label="{label}", shape=ellipse, style=filled, fillcolor="#dbeafe"];')
        return nid

    if output._ctx is None:
        leaf_id(output)
    else:
        stack.append(output._ctx)
    out_id = f"op{id(output._ctx)}" if output._ctx is not None else None
    while stack:
        node = stack.pop()
        nid = f"op{id(node)}"
        if nid in seen:
            continue
        seen.add(nid)
        lines.append(f'  {nid} [label="{type(node).__name__}Backward", shape=box];')
        for p in node.parents:
            if not isinstance(p, Tensor) or not p.requires_grad:
                continue
            if p._ctx is None:
                lines.append(f"  {leaf_id(p)} -> {nid};")
            else:
                lines.append(f"  op{id(p._ctx)} -> {nid};")
                stack.append(p._ctx)
    if out_id:
        lines.append(f'  out [label="output\\n{tuple(output.shape)}", shape=plaintext];')
        lines.append(f"  {out_id} -> out;")
    lines.append("}")
    return "\n".join(lines)


def count_nodes(output: Tensor) -> int:
    """Number of op nodes in the graph behind ``output``."""
    seen = set()
    stack = [output._ctx] if output._ctx is not None else []
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(p._ctx for p in n.parents if isinstance(p, Tensor) and p._ctx is not None)
    return len(seen)
