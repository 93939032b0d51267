"""``DistributedDataParallel``: the same model on every rank, gradients averaged as backward runs.

How it works (PyTorch's design, in NumPy and MPI):

* at construction rank 0's parameters and buffers are broadcast, so every rank starts equal;
* parameters are grouped into buckets of about ``bucket_cap_mb``, in reverse registration order
  (roughly the order in which backward produces their gradients);
* each forward counts how many gradient contributions each parameter will receive from the
  graph it built; a hook on every parameter counts them down during backward, and when every
  parameter of a bucket has its final gradient the bucket's sum over ranks is posted as a
  non-blocking ``MPI_Iallreduce``, while backward goes on with earlier layers;
* buckets are posted in a fixed order on every rank (a bucket that is ready early waits for its
  predecessors), so ranks can never pair up different buckets;
* when backward ends, a queued callback waits for the reductions, divides by the world size and
  writes the averaged gradients into ``.grad``.

``no_sync()`` skips the reduction, so gradients accumulate locally over several micro-batches and
the next synchronised backward averages the total. With the same global batch in equal shards,
``world_size`` ranks end with the weights of one process up to the order of floating-point sums (the reduction
adds per-rank partial sums instead of all samples in one pass).
"""
from __future__ import annotations

import contextlib
import time

import numpy as np

from ..autograd import Tensor, no_grad
from ..autograd.engine import _toposort, queue_callback
from ..nn.module import Module
from . import comm

__all__ = ["DistributedDataParallel"]


class _Bucket:
    __slots__ = ("index", "params", "offsets", "size", "dtype", "xp")

    def __init__(self, index, params):
        self.index, self.params = index, params
        sizes = [p._data.size for p in params]
        self.offsets = np.cumsum([0] + sizes).tolist()
        self.size = self.offsets[-1]
        self.dtype = params[0]._data.dtype
        from ..backend import get_array_module  # noqa: PLC0415

        self.xp = get_array_module(params[0]._data)


class _StepState:
    """The reduction of one synchronised backward pass."""

    def __init__(self, ddp):
        self.remaining = {}                          # id(param) -> contributions still to come
        self.buffers = [b.xp.empty(b.size, dtype=b.dtype) for b in ddp._buckets]
        self.hosts = [None] * len(ddp._buckets)
        self.left = [len(b.params) for b in ddp._buckets]
        self.filled = set()
        self.requests = [None] * len(ddp._buckets)
        self.next_launch = 0
        self.queued = False


class DistributedDataParallel(Module):
    """Wrap ``module`` so that each backward averages its gradients over all ranks.

    Args:
        module: the model (every rank builds it the same way; rank 0's weights win).
        bucket_cap_mb: the size of a reduction bucket in MiB (smaller: more overlap, more calls);
            the first bucket is at most 1 MiB, as in PyTorch.
        broadcast_buffers: copy rank 0's buffers (BatchNorm running statistics) to every rank at
            each forward that will synchronise gradients (grad enabled, outside ``no_sync``),
            as PyTorch does.
        device_ids, output_device: accepted for PyTorch compatibility and ignored.
        find_unused_parameters: accepted and ignored: unused parameters are always handled.
            A parameter that some ranks did not use gets the average with zero from them
            (``sum / world_size``); one that no rank used keeps its ``.grad`` (``None`` stays
            ``None``, so the optimizer skips it, as in one process).

    Each rank's gradient counts equally, as in PyTorch: the result is the mean of the ranks'
    gradients. With a loss that averages over the batch and equal shards this is the gradient
    of the mean over the global batch; with unequal shards (``n_0`` and ``n_1`` samples) it is
    ``(mean_0 + mean_1) / 2``, which weights the samples of the smaller shard more.
    ``DistributedSampler`` gives every rank the same number of samples (padding with repeats).

    The wrapped model is ``ddp.module``; save ``ddp.module.state_dict()`` to get keys without
    the ``module.`` prefix. ``comm_seconds`` accumulates the time backward spent waiting for
    reductions (the communication that did not overlap with computation).

    Example (run with ``mpirun -n 2 python script.py``)::

        import nerve.distributed as dist
        dist.init()
        model = dist.DistributedDataParallel(make_model())
        loss_fn(model(x_shard), y_shard).backward()   # .grad now holds the average over ranks
    """

    wraps_module = True   # the Trainer checkpoints ``self.module``, so checkpoints load without DDP

    def __init__(self, module, bucket_cap_mb: float = 25.0, broadcast_buffers: bool = True,
                 device_ids=None, output_device=None, find_unused_parameters: bool = False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an nn.Module, got {type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        comm.init()
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.world_size, self.rank = comm.world_size(), comm.rank()
        self.comm_seconds = 0.0
        self.reductions = 0              # buckets reduced so far
        self.overlapped = 0              # of those, posted while backward was still running
        object.__setattr__(self, "_sync", True)
        object.__setattr__(self, "_state", None)
        params = [p for p in module.parameters() if p.requires_grad]
        object.__setattr__(self, "_params", params)
        self._broadcast_state(buffers_only=False)
        # As in PyTorch, the first bucket (the last layers, whose gradients come first) is small,
        # so its reduction starts early and overlaps with the rest of backward.
        object.__setattr__(self, "_buckets", self._make_buckets(
            params, bucket_cap_mb * 2 ** 20, min(1.0, bucket_cap_mb) * 2 ** 20))
        where = {}
        for b in self._buckets:
            for j, p in enumerate(b.params):
                where[id(p)] = (b, j)
        object.__setattr__(self, "_where", where)
        object.__setattr__(self, "_handles", [p.register_hook(self._make_hook(p)) for p in params])

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _make_buckets(params, cap_bytes, first_cap_bytes=None):
        buckets, current, size, key = [], [], 0, None
        for p in reversed(params):
            k = (p._data.dtype, type(p._data))
            nbytes = p._data.nbytes
            cap = first_cap_bytes if (first_cap_bytes is not None and not buckets) else cap_bytes
            if current and (k != key or size + nbytes > cap):
                buckets.append(_Bucket(len(buckets), current))
                current, size = [], 0
            current.append(p)
            size += nbytes
            key = k
        if current:
            buckets.append(_Bucket(len(buckets), current))
        return buckets

    def _broadcast_state(self, buffers_only: bool):
        if self.world_size == 1:
            return
        with no_grad():
            tensors = [] if buffers_only else list(self.module.parameters())
            tensors += [b for b in self.module.buffers() if b is not None]
            for t in tensors:
                comm.broadcast(t, 0)

    # ---------------------------------------------------------------- forward
    def forward(self, *args, **kwargs):
        from ..autograd import is_grad_enabled  # noqa: PLC0415

        # As PyTorch: only a forward that will be synchronised (grad enabled, outside no_sync)
        # takes part in collectives. A forward under no_grad (logging, a check on rank 0 alone)
        # used to broadcast the buffers in training mode and so waited for the other ranks.
        sync = self.world_size > 1 and self._sync and is_grad_enabled()
        if sync and self.broadcast_buffers:
            self._broadcast_state(buffers_only=True)
        out = self.module(*args, **kwargs)
        if sync:
            self._expect(out)
        return out

    def _expect(self, out):
        """Count the hook calls each parameter will get from ``out``'s graph: one per parameter
        it uses, however many times (a leaf's hooks run once, on its summed gradient)."""
        st = self._state
        if st is None:
            st = _StepState(self)
            object.__setattr__(self, "_state", st)
        roots = [t._ctx for t in _tensors(out) if t._ctx is not None]
        where = self._where
        remaining = st.remaining
        used = set()
        for node in _toposort(roots) if roots else ():
            for p, need in zip(node.parents, node.needs_input_grad):
                if need and isinstance(p, Tensor) and p._ctx is None and id(p) in where:
                    used.add(id(p))
        for pid in used:
            remaining[pid] = remaining.get(pid, 0) + 1

    # --------------------------------------------------------------- backward
    def _make_hook(self, p):
        pid = id(p)

        def hook(grad):
            st = self._state
            if st is None or not self._sync:
                return None
            if not st.queued:
                st.queued = True
                queue_callback(self._finish)
            left = st.remaining.get(pid, 0) - 1
            st.remaining[pid] = left
            if left == 0:  # the last contribution: .grad + this one is the final local gradient
                g = grad._data
                if p._grad is not None:
                    g = p._grad._data + g
                self._fill(st, p, g)
            elif st.next_launch:  # MPI advances posted reductions only inside MPI calls: poke one
                st.requests[st.next_launch - 1].Test()
            return None

        return hook

    def _fill(self, st, p, g):
        b, j = self._where[id(p)]
        if (b.index, j) in st.filled:
            return
        st.filled.add((b.index, j))
        st.buffers[b.index][b.offsets[j]:b.offsets[j + 1]] = g.reshape(-1)
        st.left[b.index] -= 1
        if st.left[b.index] == 0:
            self._launch_ready(st)

    def _launch_ready(self, st):
        # Post buckets strictly in index order, so every rank pairs the same reductions.
        while st.next_launch < len(self._buckets) and st.left[st.next_launch] == 0:
            i = st.next_launch
            buf = st.buffers[i]
            if self._buckets[i].xp is not np:  # MPI moves host memory
                from ..backend import to_device  # noqa: PLC0415

                buf = st.hosts[i] = to_device(buf, "cpu")
            g = comm._group()
            st.requests[i] = g.comm.Iallreduce(comm._mpi().IN_PLACE, buf, op=comm._mpi().SUM)
            st.next_launch += 1
            self.reductions += 1

    def _finish(self):
        st = self._state
        object.__setattr__(self, "_state", None)
        self.overlapped += st.next_launch
        t0 = time.perf_counter()
        # Which parameters have a gradient on this rank; summed over ranks below, so that one
        # no rank used keeps .grad None, as in one process and as torch's find_unused_parameters
        # leaves it (a zero gradient would still be moved by weight decay and momentum).
        has_grad = np.array([(b.index, j) in st.filled or p._grad is not None
                             for b in self._buckets for j, p in enumerate(b.params)], dtype=np.int32)
        used_request = comm._group().comm.Iallreduce(comm._mpi().IN_PLACE, has_grad, op=comm._mpi().SUM)
        for b in self._buckets:  # parameters that got no gradient this pass: their .grad (or 0)
            for j, p in enumerate(b.params):
                if (b.index, j) not in st.filled:
                    g = p._grad._data if p._grad is not None else b.xp.zeros(p._data.shape, b.dtype)
                    self._fill(st, p, g)
        self._launch_ready(st)
        comm.wait(used_request, "the all-reduce of which parameters have gradients")
        k = 0
        scale = 1.0 / self.world_size
        for b in self._buckets:
            comm.wait(st.requests[b.index], f"the gradient all-reduce of bucket {b.index} "
                                             f"({b.size} values)")
            buf = st.buffers[b.index]
            if st.hosts[b.index] is not None:
                buf = b.xp.asarray(st.hosts[b.index])
            buf *= scale
            for j, p in enumerate(b.params):
                k += 1
                if not has_grad[k - 1]:
                    continue
                g = buf[b.offsets[j]:b.offsets[j + 1]].reshape(p._data.shape)
                if p._grad is None or p._grad._ctx is not None:
                    p._grad = Tensor(g)
                else:
                    p._grad._data = g
        self.comm_seconds += time.perf_counter() - t0

    @contextlib.contextmanager
    def no_sync(self):
        """Inside this block backward only accumulates local gradients (no communication)."""
        old = self._sync
        object.__setattr__(self, "_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "_sync", old)

    def extra_repr(self):
        return f"world_size={self.world_size}, buckets={len(self._buckets)}"


def _tensors(out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _tensors(o)]
    return []
