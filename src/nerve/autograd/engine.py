"""The reverse pass: order the graph, run each node's backward once, accumulate.

The graph is walked iteratively (no recursion, so a chain of 10,000 ops is fine). Each
node's incoming gradients are summed before its backward runs, so every node is visited
exactly once. After a node's backward its saved arrays are dropped unless
``retain_graph`` is set; a second backward through it then raises a clear error.
"""
from __future__ import annotations

from ..backend import get_array_module
from . import grad_mode
from .tensor import Tensor, _wrap

# Set by nerve.functional: a namespace with xp-like functions that build the graph.
graph_namespace = None

_FREED_MSG = (
    "trying to run backward through the graph a second time, but the arrays it saved were "
    "freed after the first backward ({op}). Pass retain_graph=True to the first "
    "backward()/autograd.grad() call if you need to backpropagate through it twice, or "
    "recompute the forward pass.")


def _toposort(roots):
    """Nodes reachable from ``roots`` in topological order (outputs first)."""
    order = []
    visited = set()
    stack = [(n, False) for n in roots]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        for p in node.parents:
            if isinstance(p, Tensor):
                c = p._ctx
                if c is not None and c not in visited:
                    stack.append((c, False))
    order.reverse()
    return order


def _root_grad(t, g, create_graph):
    if g is None:
        if t._data.size != 1:
            raise RuntimeError(
                f"backward() on a tensor of shape {tuple(t.shape)} needs a gradient argument: "
                "the gradient can only be created implicitly for a single-element output. "
                "Reduce it first (loss.sum() or loss.mean()), or pass gradient=<tensor of the same shape>.")
        g = get_array_module(t._data).ones(t._data.shape, dtype=t._data.dtype)
    else:
        g = g._data if isinstance(g, Tensor) else g
        if tuple(g.shape) != tuple(t.shape):
            raise RuntimeError(
                f"gradient has shape {tuple(g.shape)} but the output has shape {tuple(t.shape)}; "
                "they must match")
    if create_graph:
        return _wrap(g)
    return g


def _call_backward(node, g, create_graph):
    saved = node.saved
    if saved is None:
        raise RuntimeError(_FREED_MSG.format(op=type(node).__name__))
    if not create_graph:
        return node.backward(g)
    # Differentiable pass: hand the same formula Tensors and the graph namespace.
    parents = node.parents
    tsaved = []
    for i, s in enumerate(saved):
        ts = None
        if i == node.out_index:
            ts = _wrap(s, True)
            ts._ctx = node
        else:
            for p in parents:
                if isinstance(p, Tensor) and p._data is s:
                    ts = p
                    break
            if ts is None:
                ts = _wrap(s) if hasattr(s, "shape") else s
        tsaved.append(ts)
    node.saved = tuple(tsaved)
    own_xp = node.__dict__.get("xp")
    node.xp = graph_namespace
    try:
        with grad_mode.enable_grad():
            return node.backward(g)
    finally:
        node.saved = saved
        if own_xp is None:
            del node.xp
        else:
            node.xp = own_xp


def _apply_hooks(hooks, g, create_graph):
    for h in hooks:
        gt = g if create_graph else _wrap(g)
        r = h(gt)
        if r is not None:
            g = r if create_graph else (r._data if isinstance(r, Tensor) else r)
    return g


def _into_leaf(p, gp, create_graph):
    """Add the gradient ``gp`` into the leaf ``p.grad`` (hooks already applied).

    On the array path the gradient is cast to the leaf's dtype (a float32 leaf used in a
    float64 op still gets a float32 ``.grad``), a read-only broadcast view is copied so
    ``.grad`` stays writable, and accumulation is out of place: gradient arrays may be
    shared between leaves, so none is ever modified.
    """
    pg = p.grad
    if create_graph:
        p.grad = gp if pg is None else pg + gp
        return
    pd = p._data.dtype
    if gp.dtype is not pd and gp.dtype != pd:  # identity first: dtypes are singletons
        gp = gp.astype(pd)
    if pg is None:
        if gp.base is not None and not gp.flags.writeable:
            gp = gp.copy()
        p.grad = _wrap(gp)
    elif pg._ctx is not None:
        p.grad = pg + gp
    else:
        pg._data = pg._data + gp


def _backward_fast(root, retain_graph):
    """The common case: ``loss.backward()`` on a scalar, no create_graph, no capture.

    Same semantics as the general path below, with less bookkeeping per node.
    """
    node = root._ctx
    grads = {node: get_array_module(root._data).ones(root._data.shape, dtype=root._data.dtype)}
    pop = grads.pop
    for node in _toposort((node,)):
        g = pop(node, None)
        if g is None:
            continue
        if node.hooks:
            g = _apply_hooks(node.hooks, g, False)
        saved = node.saved
        if saved is None:
            raise RuntimeError(_FREED_MSG.format(op=type(node).__name__))
        gs = node.backward(g)
        if type(gs) is not tuple:
            gs = (gs,)
        for p, gp, need in zip(node.parents, gs, node.needs_input_grad):
            if not need or gp is None:
                continue
            c = p._ctx
            if c is None:
                if p._hooks:
                    gp = _apply_hooks(p._hooks, gp, False)
                _into_leaf(p, gp, False)
            elif c in grads:
                grads[c] = grads[c] + gp
            else:
                grads[c] = gp
        if saved and not retain_graph:
            node.saved = None


def run_backward(roots, grad_roots, retain_graph=None, create_graph=False, inputs=None,
                 capture=None):
    """Backpropagate from ``roots``.

    With ``capture`` (a list of tensors) the gradients for those tensors are returned
    instead of being accumulated into ``.grad`` (this is ``autograd.grad``).
    """
    if retain_graph is None:
        retain_graph = create_graph
    if (capture is None and inputs is None and not create_graph and len(roots) == 1
            and grad_roots[0] is None):
        t = roots[0]
        if isinstance(t, Tensor) and t._ctx is not None and t._data.size == 1:
            return _backward_fast(t, retain_graph)
    grads = {}
    root_nodes = []
    leaf_seed = []
    for t, g in zip(roots, grad_roots):
        if not isinstance(t, Tensor):
            raise TypeError(f"backward() needs Tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn: "
                "nothing in its computation asked for gradients. Create the inputs with "
                "requires_grad=True (or call .requires_grad_()), and make sure the forward pass "
                "did not run under no_grad().")
        g = _root_grad(t, g, create_graph)
        if t._ctx is None:
            leaf_seed.append((t, g))
        else:
            n = t._ctx
            grads[n] = grads[n] + g if n in grads else g
            root_nodes.append(n)

    capture_leaf = None
    capture_node = None
    results = None
    if capture is not None:
        results = [None] * len(capture)
        capture_leaf = {}
        capture_node = {}
        for i, t in enumerate(capture):
            if t._ctx is None:
                capture_leaf.setdefault(id(t), []).append(i)
            else:
                capture_node.setdefault(t._ctx, []).append(i)
    only = None if inputs is None else {id(t) for t in (inputs if isinstance(inputs, (list, tuple)) else [inputs])}

    def accumulate_leaf(p, gp):
        if p._hooks:
            gp = _apply_hooks(p._hooks, gp, create_graph)
        if capture_leaf is not None:
            idx = capture_leaf.get(id(p))
            if idx is not None:
                for i in idx:
                    results[i] = gp if results[i] is None else results[i] + gp
            return
        if only is not None and id(p) not in only:
            return
        _into_leaf(p, gp, create_graph)

    for t, g in leaf_seed:
        accumulate_leaf(t, g)

    order = _toposort(root_nodes) if root_nodes else ()
    for node in order:
        g = grads.pop(node, None)
        if g is None:
            continue
        if node.hooks:
            g = _apply_hooks(node.hooks, g, create_graph)
        if capture_node is not None and node in capture_node:
            for i in capture_node[node]:
                results[i] = g
        gs = _call_backward(node, g, create_graph)
        if type(gs) is not tuple:
            gs = (gs,)
        needs = node.needs_input_grad
        for p, gp, need in zip(node.parents, gs, needs):
            if not need or gp is None:
                continue
            c = p._ctx
            if c is None:
                accumulate_leaf(p, gp)
            elif c in grads:
                grads[c] = grads[c] + gp
            else:
                grads[c] = gp
        if not retain_graph and node.saved:
            node.saved = None
    return results


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Return d(outputs)/d(inputs) without touching any ``.grad``.

    Mirrors ``torch.autograd.grad``. ``outputs`` and ``inputs`` may be a Tensor or a
    sequence of Tensors; the result is always a tuple with one entry per input.

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor(2.0, dtype=nv.float64, requires_grad=True)
        >>> (g,) = nv.autograd.grad(x ** 3, x, create_graph=True)
        >>> (g2,) = nv.autograd.grad(g, x)
        >>> g.item(), g2.item()
        (12.0, 12.0)
    """
    outs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    ins = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is None:
        gos = (None,) * len(outs)
    elif isinstance(grad_outputs, Tensor):
        gos = (grad_outputs,)
    else:
        gos = tuple(grad_outputs)
    for t in ins:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError("every input to autograd.grad must be a Tensor with requires_grad=True")
    res = run_backward(outs, gos, retain_graph, create_graph, capture=list(ins))
    out = []
    for t, r in zip(ins, res):
        if r is None:
            if not allow_unused:
                raise RuntimeError(
                    "one of the inputs was not used to compute the outputs, so it has no gradient; "
                    "pass allow_unused=True to get None for it")
            out.append(None)
        elif isinstance(r, Tensor):
            out.append(r)
        else:
            out.append(_wrap(r))
    return tuple(out)
