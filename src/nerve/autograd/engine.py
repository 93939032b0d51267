"""The reverse pass: order the graph, run each node's backward once, accumulate.

The graph is walked iteratively (no recursion, so a chain of 10,000 ops is fine). Each
node's incoming gradients are summed before its backward runs, so every node is visited
exactly once. After a node's backward its saved arrays are dropped unless
``retain_graph`` is set; a second backward through it then raises a clear error.

One loop (:func:`_run`) runs the nodes for every entry point. ``loss.backward()`` in a program
with no leaf hooks and no rebased histories (:func:`backward_scalar`) skips the setup that
hooks, ``autograd.grad`` and ``inputs=`` need and lets the loop follow the graph as a chain
instead of sorting it first.
"""
from __future__ import annotations

import numpy as np

from ..backend import get_array_module
from . import grad_mode
from .function import history_at
from .tensor import (_LEAF_HOOKS, _MUT, _POST_HOOKS, _REBASED, Tensor, _fresh_view, _wrap,
                     run_post_accumulate_hooks)

# Set by nerve.functional: a namespace with xp-like functions that build the graph.
graph_namespace = None

_FREED_MSG = (
    "trying to run backward through the graph a second time, but the arrays it saved were "
    "freed after the first backward ({op}). Pass retain_graph=True to the first "
    "backward()/autograd.grad() call if you need to backpropagate through it twice, or "
    "recompute the forward pass.")


def _toposort(roots, leaf_uses=None):
    """Nodes reachable from ``roots`` in topological order (outputs first).

    A node made before an in-place write that rebased one of its inputs depends on that
    input's history as it was (``history_at``), not on the new one. With ``leaf_uses`` (a
    dict), the edges into each leaf that has hooks are counted there, by id.
    """
    order = []
    visited = set()
    stack = [(n, False) for n in roots]
    mut = _MUT[0]
    rebased = _REBASED[0]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        stale = rebased and node._stamp != mut
        for p in node.parents:
            if isinstance(p, Tensor):
                c = p._ctx
                if stale and (c is None or c._stamp > node._stamp):
                    c = history_at(p, node._stamp)[0]
                if c is not None:
                    if c not in visited:
                        stack.append((c, False))
                elif leaf_uses is not None and p._hooks:
                    leaf_uses[id(p)] = leaf_uses.get(id(p), 0) + 1
    order.reverse()
    return order


def _root_grad(t, g, create_graph):
    if g is None:
        d = t._data
        if type(d) is np.ndarray and d.size == 1 and not create_graph:
            return np.ones(d.shape, dtype=d.dtype)  # loss.backward(): the common case
        if t._data.size != 1:
            raise RuntimeError(
                f"backward() on a tensor of shape {tuple(t.shape)} needs a gradient argument: "
                "the gradient can only be created implicitly for a single-element output. "
                "Reduce it first (loss.sum() or loss.mean()), or pass gradient=<tensor of the same shape>.")
        g = get_array_module(t._data).ones(t._data.shape, dtype=t._data.dtype)
    else:
        if not hasattr(g, "shape"):
            raise TypeError(f"gradient must be a Tensor of the output's shape {tuple(t.shape)}, got "
                            f"{type(g).__name__}; wrap it: nv.tensor(...)")
        if tuple(g.shape) != tuple(t.shape):
            raise RuntimeError(
                f"gradient has shape {tuple(g.shape)} but the output has shape {tuple(t.shape)}; "
                "they must match")
        dt = t._data.dtype
        if isinstance(g, Tensor):
            # under create_graph a gradient that is itself in a graph stays attached to it
            if create_graph:
                return g if g.dtype == dt else g.to(dt)
            g = g._data
        if g.dtype != dt:
            g = g.astype(dt)  # as torch: the gradient takes the output's dtype
    if create_graph:
        return _wrap(g)
    return g


def _describe(t):
    return f"shape {tuple(t.shape)}, {t.dtype}"


def _modified(node, what, version):
    name = type(node).__name__
    return RuntimeError(
        f"one of the tensors needed to compute gradients was modified by an in-place operation: "
        f"{what} of {name}Backward is at version {version}, but it was changed after {name} saved "
        f"it for backward, so its gradient would be wrong. Use the out-of-place op (y = y.mul(2) "
        "instead of y.mul_(2), y = y + 1 instead of y += 1), or clone() the tensor before "
        "changing it.")


def _check_versions(node):
    """Raise if anything ``node`` saved was written after the node was made."""
    if node.tensor_style:
        return  # checked per tensor when backward reads ctx.saved_tensors
    stamp = node._stamp
    if node._out_vc is not None and node._out_vc[1] > stamp:
        raise _modified(node, "its output", node._out_vc[0])
    for vc in node._out_vcs:
        if vc[1] > stamp:
            raise _modified(node, "an output", vc[0])
    saved = node.saved
    if not saved:
        return
    for i, s in enumerate(saved):
        if i == node.out_index or not hasattr(s, "shape"):
            continue
        for k, p in enumerate(node.parents):
            if not isinstance(p, Tensor) or p._vc is None:
                continue
            d = p._data
            if s is d or (getattr(s, "base", None) is not None
                          and get_array_module(s).may_share_memory(s, d)):
                if p._vc[1] > stamp:
                    raise _modified(node, f"input {k} ({_describe(p)})", p._vc[0])


def _zeros_for(node, i, create_graph):
    shape, dtype = node.out_meta[i]
    z = node.xp.module.zeros(shape, dtype=dtype)
    return _wrap(z) if create_graph else z


def _call_backward(node, g, create_graph):
    """Run one node's backward on its output gradient(s); one gradient per input."""
    if node.saved is None:
        raise RuntimeError(_FREED_MSG.format(op=type(node).__name__))
    several = node.n_out > 1
    if several and node.materialize_grads:
        g = [_zeros_for(node, i, create_graph) if gi is None and node.out_meta[i] is not None else gi
             for i, gi in enumerate(g)]
    if node.tensor_style:
        return _call_tensor_style(node, g if several else [g], create_graph)
    if not create_graph:
        return node.backward(*g) if several else node.backward(g)
    # Differentiable pass: hand the same formula Tensors and the graph namespace.
    saved = node.saved
    parents = node.parents
    outs = dict(node.out_saved)
    tsaved = []
    for i, s in enumerate(saved):
        ts = None
        if i == node.out_index or i in outs:
            ts = _wrap(s, True)
            ts._ctx = node
            ts._oidx = outs.get(i, 0)
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
            return node.backward(*g) if several else node.backward(g)
    finally:
        node.saved = saved
        if own_xp is None:
            del node.xp
        else:
            node.xp = own_xp


def _call_tensor_style(node, gs, create_graph):
    """Backward of a PyTorch-style Function: Tensors in, Tensors out, checked."""
    name = type(node).__name__
    gts = [g if (g is None or isinstance(g, Tensor)) else _wrap(g) for g in gs]
    mode = grad_mode.enable_grad() if create_graph else grad_mode.no_grad()
    with mode:
        res = type(node).backward(node, *gts)
    if not isinstance(res, tuple):
        res = (res,)
    parents = node.parents
    if len(res) < len(parents) or any(r is not None for r in res[len(parents):]):
        raise RuntimeError(
            f"{name}.backward returned {len(res)} gradient(s), but forward took {len(parents)} "
            "input(s): return exactly one per input, None for those that need none")
    out = []
    for k, (r, p) in enumerate(zip(res, parents)):
        if r is None or not isinstance(p, Tensor):
            out.append(None)
            continue
        if not isinstance(r, Tensor):
            raise TypeError(f"{name}.backward returned a {type(r).__name__} as gradient {k}; "
                            "return Tensors (or None)")
        if tuple(r.shape) != tuple(p.shape):
            try:
                np.broadcast_shapes(tuple(p.shape), tuple(r.shape))
                ok = np.broadcast_shapes(tuple(p.shape), tuple(r.shape)) == tuple(r.shape)
            except ValueError:
                ok = False
            if not ok:
                raise RuntimeError(
                    f"{name}.backward returned a gradient of shape {tuple(r.shape)} for input {k}, "
                    f"which has shape {tuple(p.shape)}; they must match")
            r = graph_namespace.unbroadcast(r, tuple(p.shape))
        out.append(r if create_graph else r._data)
    return tuple(out)


def _apply_hooks(hooks, g, create_graph):
    for h in tuple(hooks):  # a hook may remove itself (or another) while they run
        gt = g if create_graph else _wrap(g)
        r = h(gt)
        if r is not None:
            if tuple(r.shape) != tuple(g.shape):
                raise RuntimeError(
                    f"hook {getattr(h, '__name__', type(h).__name__)!r} returned a gradient of shape "
                    f"{tuple(r.shape)} for a tensor of shape {tuple(g.shape)}; a hook must return a "
                    "gradient of the same shape, or None to keep the one it was given")
            g = r if create_graph else (r._data if isinstance(r, Tensor) else r)
    return g


def _into_leaf(p, gp, create_graph, shared):
    """Add the gradient ``gp`` into the leaf ``p.grad`` (hooks already applied).

    On the array path the gradient is cast to the leaf's dtype (a float32 leaf used in a
    float64 op still gets a float32 ``.grad``). A new ``.grad`` owns its array: a view, or
    an array that may also reach another tensor (``shared``: the node passed its incoming
    gradient straight through, as add does to both inputs), is copied, so
    ``p.grad.zero_()`` can never reach another tensor. Accumulation is out of place.
    """
    pg = p._grad
    if create_graph:
        p._grad = gp if pg is None else pg + gp
        return
    pd = p._data.dtype
    if gp.dtype is not pd and gp.dtype != pd:  # identity first: dtypes are singletons
        gp = gp.astype(pd)
    if pg is None:
        if shared or gp.base is not None:
            gp = gp.copy()
        p._grad = _wrap(gp)
    elif pg._ctx is not None:
        p._grad = pg + gp
    else:
        pg._data = pg._data + gp


_FINAL_CALLBACKS = []
_DEPTH = [0]  # how many backward passes are running (a hook may start another)


def queue_callback(fn) -> None:
    """Run ``fn()`` once, when the backward pass now running has finished.

    Only callable from inside backward (a tensor hook); the callbacks of nested passes run at the
    end of the outermost one. Data-parallel training uses it to wait for its gradient reductions.
    If backward fails, the queued callbacks are dropped.
    """
    if not _DEPTH[0]:
        raise RuntimeError("queue_callback can only be called while backward runs (from a tensor hook)")
    _FINAL_CALLBACKS.append(fn)


def backward_scalar(t, retain_graph):
    """``t.backward()`` for a one-element ``t`` that has a history: the training step's call.

    The same pass as :func:`run_backward`, leaner, while nothing in the program has used what
    needs its setup (a leaf hook, or an in-place write that rebased a tensor's history): the
    node loop follows the graph as a chain, and each leaf's gradient goes straight into ``.grad``.
    """
    d = t._data
    if _LEAF_HOOKS[0] or _REBASED[0] or type(d) is not np.ndarray or d.size != 1 or t._base is not None:
        return run_backward((t,), (None,), retain_graph)
    return _counted(_plain_pass, t, np.ones(d.shape, dtype=d.dtype), retain_graph)


def _plain_pass(t, g, retain_graph):
    """Backpropagate ``g`` from the tensor ``t`` into every leaf's ``.grad``, on arrays: the
    node loop with no order given (it follows the chain; see :func:`_run`)."""
    grads = {}
    _add_grad(grads, t._ctx, t._oidx, g)
    _run(grads, None, retain_graph)


def _run(grads, order, retain_graph, create_graph=False, capture_node=None, capture_only=None,
         results=None, accumulate_leaf=None, accumulator_args=None):
    """The engine's one node loop: run each node's backward on its summed incoming gradient and
    send the results on, to the nodes below (``grads``) and into the leaves.

    ``order`` is the nodes in topological order (outputs first). ``None`` (the lean pass: no
    leaf hooks, no rebased histories, arrays only) follows the graph as a chain instead: a
    training step's nodes mostly send gradient to one node and to leaves, so each node is run
    as it is found, without sorting the graph first; at the first node that sends to two or
    more, the nodes still waiting are sorted and run in order.

    ``capture_node`` / ``capture_only`` / ``results`` catch the gradients of non-leaf tensors
    (``autograd.grad``); a leaf with hooks, or one ``autograd.grad`` or ``inputs=`` asks for,
    goes through ``accumulate_leaf`` (made from ``accumulator_args`` when first needed), any
    other straight into its ``.grad``. Returns the accumulator, to be finished by the caller.
    """
    mut = _MUT[0]
    rebased = _REBASED[0]
    arrays_only = not create_graph
    # autograd.grad or inputs=: every leaf goes through the accumulator, which picks the asked-for
    routed = accumulator_args is not None and (accumulator_args[0] is not None
                                               or accumulator_args[2] is not None)
    pop = grads.pop
    chain = order is None
    if chain:
        node = next(iter(grads))
    i = 0
    while True:
        if not chain:
            if i == len(order):
                break
            node = order[i]
            i += 1
        g = pop(node, None)
        if g is None:
            if chain:
                break  # (a chain's next node always has its gradient)
            continue
        stale = node._stamp != mut  # something was written in place after this node was made
        if stale:
            _check_versions(node)
        if node.n_out == 1:
            if node.hooks:
                g = _apply_hooks(node.hooks, g, create_graph)
            if capture_node is not None and node in capture_node:
                for k, _ in capture_node[node]:
                    results[k] = g
                if node in capture_only:
                    continue  # nothing asked for lies below it
            if arrays_only and node.saved is not None and not node.tensor_style:
                gs = node.backward(g)  # the common case, inline: one output, arrays in and out
            else:
                gs = _call_backward(node, g, create_graph)
        else:
            if node.out_hooks:
                for k, hooks in node.out_hooks.items():
                    if g[k] is not None:
                        g[k] = _apply_hooks(hooks, g[k], create_graph)
            if capture_node is not None and node in capture_node:
                for j, k in capture_node[node]:
                    results[j] = g[k]
                if node in capture_only:
                    continue
            gs = _call_backward(node, g, create_graph)
        if type(gs) is not tuple:
            gs = (gs,)
        nxt = None
        fork = False
        for p, gp, need in zip(node.parents, gs, node.needs_input_grad):
            if not need or gp is None:
                continue
            c = p._ctx
            if stale and rebased and (c is None or c._stamp > node._stamp):
                was, k = history_at(p, node._stamp)  # p rebased or detach_()ed since this node
                if was is not c:
                    if was is not None:
                        _add_grad(grads, was, k, gp)
                    continue
            if c is None:
                if routed or (accumulator_args is not None and p._hooks):
                    if accumulate_leaf is None:
                        accumulate_leaf = _leaf_accumulator(*accumulator_args)
                    accumulate_leaf(p, gp)
                else:
                    # an incoming gradient passed straight through (as add does to both
                    # inputs) may reach another tensor too: shared, so .grad gets a copy
                    _into_leaf(p, gp, create_graph,
                               gp is g or (type(g) is list and any(gp is x for x in g)))
                continue
            if c.n_out == 1:
                grads[c] = grads[c] + gp if c in grads else gp
            else:
                _add_grad(grads, c, p._oidx, gp)
            if nxt is None:
                nxt = c
            elif c is not nxt:
                fork = True
        if not retain_graph and node.saved:
            node.saved = None
        if chain:
            if fork:
                order = _toposort(list(grads))  # every node still to run lies below the waiting ones
                chain = False
            elif nxt is None:
                break
            else:
                node = nxt
    return accumulate_leaf


def _counted(fn, *args):
    """Run one backward pass ``fn(*args)``, counted in ``_DEPTH``; the callbacks queued during
    it run at the end of the outermost pass, or are dropped if it fails."""
    _DEPTH[0] += 1
    try:
        results = fn(*args)
    except BaseException:
        if _DEPTH[0] == 1:
            _FINAL_CALLBACKS.clear()
        raise
    finally:
        _DEPTH[0] -= 1
    if _FINAL_CALLBACKS and not _DEPTH[0]:
        callbacks = _FINAL_CALLBACKS[:]
        _FINAL_CALLBACKS.clear()
        for f in callbacks:
            f()
    return results


def run_backward(roots, grad_roots, retain_graph=None, create_graph=False, inputs=None,
                 capture=None):
    """Backpropagate from ``roots``: the one backward loop.

    With ``capture`` (a list of tensors) the gradients for those tensors are returned
    instead of being accumulated into ``.grad`` (this is ``autograd.grad``). ``inputs``
    limits accumulation to those leaves. Callbacks queued with :func:`queue_callback` run at
    the end.
    """
    if create_graph and not grad_mode._enabled:
        # as torch: create_graph records the backward even when called under no_grad
        with grad_mode.enable_grad():
            return _counted(_backward, roots, grad_roots, retain_graph, create_graph, inputs, capture)
    return _counted(_backward, roots, grad_roots, retain_graph, create_graph, inputs, capture)


def _backward(roots, grad_roots, retain_graph, create_graph, inputs, capture):
    if retain_graph is None:
        retain_graph = create_graph
    grads = {}
    root_nodes = []
    leaf_seed = []
    for i, (t, g) in enumerate(zip(roots, grad_roots)):
        if not isinstance(t, Tensor):
            raise TypeError(f"backward() needs Tensors, got {type(t).__name__}")
        if t._base is not None:
            _fresh_view(t)
        if not t.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn: "
                "nothing in its computation asked for gradients. Create the inputs with "
                "requires_grad=True (or call .requires_grad_()), and make sure the forward pass "
                "did not run under no_grad().")
        g = _root_grad(t, g, create_graph)
        n = t._ctx
        if n is None:
            leaf_seed.append((t, g))
        else:
            if n.n_out == 1 and n not in grads:
                grads[n] = g
            else:
                _add_grad(grads, n, t._oidx, g)
            root_nodes.append(n)

    plain = capture is None and inputs is None  # accumulate into every leaf's .grad
    capture_leaf = capture_node = results = None
    if capture is not None:
        results = [None] * len(capture)
        capture_leaf = {}
        capture_node = {}
        for i, t in enumerate(capture):
            if t._ctx is None:
                capture_leaf.setdefault(id(t), []).append(i)
            else:
                capture_node.setdefault(t._ctx, []).append((i, t._oidx))
    only = wanted = None
    if inputs is not None:
        only, wanted = _backward_inputs(inputs)
        if wanted:  # non-leaf inputs: their gradients are caught at their nodes, as autograd.grad does
            results = [None] * len(wanted)
            capture_node = {}
            for i, t in enumerate(wanted):
                capture_node.setdefault(t._ctx, []).append((i, t._oidx))
    shared = True  # leaves reached through hooks or autograd.grad always get their own copy
    # Once any leaf has had a hook, count the uses of hooked leaves, so that each one's hooks
    # run on its whole gradient as soon as its last use has delivered (as torch's AccumulateGrad).
    leaf_uses = {} if _LEAF_HOOKS[0] else None
    if plain and not leaf_seed:
        accumulate_leaf = None  # every leaf goes straight to _into_leaf below (made on need)
    else:
        accumulate_leaf = _leaf_accumulator(capture_leaf, results, only, create_graph, shared,
                                            leaf_uses)
    order = _toposort(root_nodes, leaf_uses) if root_nodes else ()  # counts uses first
    capture_only = None
    if not plain and order:
        # autograd.grad / inputs=: run only the nodes on a path to what was asked for, so hooks
        # and retain_grad elsewhere in the graph stay untouched (as torch)
        order, capture_only = _prune(order, set(capture_leaf) if capture_leaf is not None else only,
                                     capture_node or {})
    for t, g in leaf_seed:
        if leaf_uses is not None and t._hooks:
            leaf_uses[id(t)] = leaf_uses.get(id(t), 0) + 1
    for t, g in leaf_seed:
        if not create_graph:
            g = g.copy()  # never hand the caller's array to .grad
        accumulate_leaf(t, g)

    if order:
        accumulate_leaf = _run(grads, order, retain_graph, create_graph, capture_node, capture_only,
                               results, accumulate_leaf,
                               (capture_leaf, results, only, create_graph, shared, leaf_uses))
    if accumulate_leaf is not None:
        accumulate_leaf.finish()
    if wanted:
        for t, gt in zip(wanted, results):
            if gt is not None:
                _into_leaf(t, gt, create_graph, True)
        return None
    return results


def _prune(order, leaf_ids, nodes):
    """The nodes of ``order`` that lead to a leaf in ``leaf_ids`` or to a node in ``nodes``
    (in order), and those of ``nodes`` with nothing asked for below them (their gradient is
    caught, their backward is not run)."""
    mut = _MUT[0]
    rebased = _REBASED[0]
    full = set()
    for node in reversed(order):  # inputs before the nodes that use them
        stale = rebased and node._stamp != mut
        for p in node.parents:
            c = getattr(p, "_ctx", None)  # constants (numbers, arrays) have none
            if stale and isinstance(p, Tensor) and (c is None or c._stamp > node._stamp):
                c = history_at(p, node._stamp)[0]
            if (id(p) in leaf_ids) if c is None else (c in full or c in nodes):
                full.add(node)
                break
    capture_only = {n for n in nodes if n not in full}
    return [n for n in order if n in full or n in nodes], capture_only


def _backward_inputs(inputs):
    """``backward(inputs=...)``: the ids of the leaves to fill, and the non-leaf tensors."""
    ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if not ins:
        raise RuntimeError("backward(inputs=[]): inputs must name at least one tensor to accumulate "
                           "into; pass inputs=None to fill every leaf's .grad")
    only, wanted = set(), []
    for k, t in enumerate(ins):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"backward(inputs=...): input {k} is not a Tensor that requires grad, "
                               "so it can receive no gradient")
        if t._ctx is None:
            only.add(id(t))
        else:
            wanted.append(t)
    return only, wanted


def _leaf_accumulator(capture_leaf, results, only, create_graph, shared, leaf_uses):
    """Where a leaf's gradient goes when hooks, autograd.grad or ``inputs`` are involved.

    A leaf with hooks collects its gradient from every use first; its hooks then run once, on
    the sum, as PyTorch's do: when its last counted use (``leaf_uses``) has delivered, or when
    the pass ends (``accumulate_leaf.finish()``) for a use that delivered nothing.
    """
    pending = {}  # id(leaf) -> [leaf, summed gradient]

    def deliver(p, gp):  # (p was asked for: accumulate_leaf filtered it)
        if capture_leaf is not None:
            for i in capture_leaf[id(p)]:
                results[i] = gp if results[i] is None else results[i] + gp
            return
        _into_leaf(p, gp, create_graph, shared)
        if _POST_HOOKS:
            run_post_accumulate_hooks(p)

    def accumulate_leaf(p, gp):
        if capture_leaf is not None:
            if id(p) not in capture_leaf:
                return  # not asked for: its hooks do not run (as torch)
        elif only is not None and id(p) not in only:
            return
        if p._hooks:
            key = id(p)
            e = pending.get(key)
            if e is None:
                e = pending[key] = [p, gp]
            else:
                e[1] = e[1] + gp
            if leaf_uses is not None:
                left = leaf_uses.get(key, 1) - 1
                leaf_uses[key] = left
                if left <= 0:  # its last use: the gradient is complete
                    del pending[key]
                    deliver(p, _apply_hooks(p._hooks, e[1], create_graph))
            return
        deliver(p, gp)

    def finish():
        for p, gp in pending.values():
            deliver(p, _apply_hooks(p._hooks, gp, create_graph) if p._hooks else gp)

    accumulate_leaf.finish = finish
    return accumulate_leaf


def _add_grad(grads, node, k, g):
    if node.n_out == 1:
        grads[node] = grads[node] + g if node in grads else g
        return
    lst = grads.get(node)
    if lst is None:
        lst = grads[node] = [None] * node.n_out
    lst[k] = g if lst[k] is None else lst[k] + g


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` (a Tensor or a sequence of them) into the leaves'
    ``.grad``, in one pass: ``torch.autograd.backward``.

    ``grad_tensors`` gives d(loss)/d(tensor) for each (None for a one-element tensor); the
    other arguments are those of ``Tensor.backward``.

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor([1.0, 2.0], requires_grad=True)
        >>> nv.autograd.backward([(x * x).sum(), (3 * x).sum()])
        >>> x.grad.tolist()
        [5.0, 7.0]
    """
    roots, gs = _roots_and_grads(tensors, grad_tensors)
    if len(gs) != len(roots):
        raise RuntimeError(f"autograd.backward got {len(gs)} grad_tensors for {len(roots)} tensors; "
                           "give one per tensor (None for a one-element tensor)")
    run_backward(roots, gs, retain_graph, create_graph, inputs=inputs)


def _roots_and_grads(tensors, grads):
    """(tensors, their gradients) as tuples: one Tensor or a sequence; None grads for each."""
    roots = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    if grads is None:
        return roots, (None,) * len(roots)
    return roots, ((grads,) if isinstance(grads, Tensor) else tuple(grads))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """Return d(outputs)/d(inputs) without touching any ``.grad``.

    Mirrors ``torch.autograd.grad``. ``outputs`` and ``inputs`` may be a Tensor or a
    sequence of Tensors; the result is always a tuple with one entry per input. An input the
    outputs do not depend on is an error, unless ``allow_unused=True`` (its entry is None)
    or ``materialize_grads=True`` (its entry is zeros).

    Example:
        >>> import nerve as nv
        >>> x = nv.tensor(2.0, dtype=nv.float64, requires_grad=True)
        >>> (g,) = nv.autograd.grad(x ** 3, x, create_graph=True)
        >>> (g2,) = nv.autograd.grad(g, x)
        >>> g.item(), g2.item()
        (12.0, 12.0)
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("autograd.grad: materialize_grads=True gives zeros for unused inputs, so "
                         "allow_unused must be True or left out, not False")
    if allow_unused is None:
        allow_unused = materialize_grads
    outs, gos = _roots_and_grads(outputs, grad_outputs)
    ins = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    for t in ins:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError("every input to autograd.grad must be a Tensor with requires_grad=True")
    res = run_backward(outs, gos, retain_graph, create_graph, capture=list(ins))
    out = []
    for k, (t, r) in enumerate(zip(ins, res)):
        if r is None:
            if not allow_unused:
                raise RuntimeError(
                    f"input {k} (shape {tuple(t.shape)}) was not used to compute the outputs, so it "
                    "has no gradient; pass allow_unused=True to get None for it")
            out.append(_wrap(get_array_module(t._data).zeros_like(t._data)) if materialize_grads else None)
        elif isinstance(r, Tensor):
            out.append(r)
        else:
            out.append(_wrap(r))
    return tuple(out)
