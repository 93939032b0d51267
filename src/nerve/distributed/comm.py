"""The process group: MPI's COMM_WORLD through mpi4py, collectives on tensors, and timeouts.

Every collective is posted as a non-blocking MPI request and then polled against a deadline, so
a rank that died or hangs makes the others stop with :class:`DistributedTimeoutError` (naming
the operation and the ranks that did not arrive) instead of waiting forever. After a timeout the
job cannot go on: the process aborts the whole MPI job when it exits, so the launcher returns
instead of hanging in ``MPI_Finalize``.
"""
from __future__ import annotations

import atexit
import os
import sys
import time

import numpy as np

__all__ = ["init", "init_process_group", "is_initialized", "is_available", "rank", "world_size",
           "get_rank", "get_world_size", "barrier", "all_reduce", "broadcast", "all_gather",
           "all_reduce_array", "broadcast_array", "all_gather_array", "wait", "launched_world_size", "DistributedTimeoutError",
           "DEFAULT_TIMEOUT", "destroy_process_group"]

EXTRA = "pip install 'nerve[distributed]'"
DEFAULT_TIMEOUT = 300.0          # seconds a collective may wait for the other ranks
_OPS = ("sum", "mean", "max", "min", "prod")


class DistributedTimeoutError(RuntimeError):
    """A collective did not complete in time: another rank died, hangs, or took another path."""


class _Group:
    def __init__(self, comm, timeout):
        self.comm, self.timeout = comm, float(timeout)
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.failed = False


_GROUP: _Group | None = None
_MPI = None


def _mpi():
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI  # noqa: PLC0415
        except ImportError:
            raise ImportError("nerve.distributed runs on MPI through mpi4py, which is not installed; "
                              f"install it with: {EXTRA}") from None
        _MPI = MPI
    return _MPI


def launched_world_size() -> int:
    """The number of processes the MPI launcher started (1 when not under mpirun/mpiexec).

    Read from the launcher's environment (MPICH/Hydra ``PMI_SIZE``, Open MPI
    ``OMPI_COMM_WORLD_SIZE``), so it costs nothing and imports no MPI.
    """
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS"):
        v = os.environ.get(name, "").strip()
        if v.isdigit():
            return int(v)
    return 1


def is_available() -> bool:
    """True when mpi4py imports (an MPI library is present)."""
    try:
        _mpi()
    except ImportError:
        return False
    return True


def init(timeout: float | None = None) -> _Group:
    """Join the MPI job (idempotent) and return the group.

    Args:
        timeout: seconds any collective may wait for the other ranks before raising
            :class:`DistributedTimeoutError`; default ``$NERVE_DIST_TIMEOUT`` or 300.

    Works in a plain ``python`` process too (a world of one), so the same script runs with
    and without ``mpirun``.
    """
    global _GROUP
    if timeout is None and _GROUP is not None:
        # Joining again without a timeout (DistributedDataParallel does) keeps the one chosen
        # before; resetting it to the default made a rank wait 300 s for a peer that had died.
        return _GROUP
    if timeout is None:
        env = os.environ.get("NERVE_DIST_TIMEOUT")
        try:
            timeout = float(env) if env else DEFAULT_TIMEOUT
        except ValueError:
            raise ValueError(f"NERVE_DIST_TIMEOUT must be a number of seconds, got {env!r}") from None
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if _GROUP is None:
        _GROUP = _Group(_mpi().COMM_WORLD, timeout)
        if _GROUP.size > 1:
            _abort_on_uncaught_exception()
        from ..backend.world import set_world  # noqa: PLC0415

        set_world(_World())
    else:
        _GROUP.timeout = float(timeout)
    return _GROUP


class _World:
    """What the Trainer needs of the job (see ``nerve.backend.world``)."""

    @staticmethod
    def rank():
        return rank()

    @staticmethod
    def world_size():
        return world_size()

    @staticmethod
    def sum(values):
        return all_reduce_array(np.asarray(values, dtype=np.float64), "sum",
                                "the reduction of the epoch's metrics").tolist()


def init_process_group(backend: str = "mpi", timeout=None, **_ignored) -> None:
    """PyTorch's name for :func:`init`; ``backend`` must be ``'mpi'`` (the one nerve has).

    ``timeout`` may be seconds or a ``datetime.timedelta``.
    """
    if backend not in ("mpi", None):
        raise ValueError(f"nerve.distributed has the 'mpi' backend only, got {backend!r}; "
                         "start the processes with mpirun -n N")
    if timeout is not None and hasattr(timeout, "total_seconds"):
        timeout = timeout.total_seconds()
    init(timeout)


def destroy_process_group() -> None:
    """Forget the group (MPI itself is finalised when the interpreter exits)."""
    global _GROUP
    _GROUP = None
    from ..backend.world import set_world  # noqa: PLC0415

    set_world(None)


def is_initialized() -> bool:
    return _GROUP is not None


def _group() -> _Group:
    if _GROUP is None:
        raise RuntimeError("nerve.distributed is not initialised; call nerve.distributed.init() first "
                           "(and start the script with mpirun -n N)")
    return _GROUP


def rank() -> int:
    """This process's index in ``[0, world_size)``; 0 when not initialised."""
    return _GROUP.rank if _GROUP is not None else 0


def world_size() -> int:
    """The number of processes in the job; 1 when not initialised."""
    return _GROUP.size if _GROUP is not None else 1


get_rank, get_world_size = rank, world_size


def _abort_at_exit():
    # MPI_Finalize would wait for the missing rank; end the whole job instead.
    try:
        sys.stderr.flush()
        _mpi().COMM_WORLD.Abort(1)
    except Exception:  # noqa: BLE001
        os._exit(1)


def _abort_on_uncaught_exception():
    """Make an exception that ends one rank end the whole job at once.

    Otherwise the failed rank waits in ``MPI_Finalize`` and the others wait in their next
    collective until the timeout (300 s by default) before failing with a timeout that hides the
    real error. The traceback is printed first, then the job is aborted (mpi4py's
    ``python -m mpi4py`` does the same).
    """
    previous = sys.excepthook

    def hook(kind, value, tb):
        try:
            previous(kind, value, tb)
        finally:
            if not issubclass(kind, KeyboardInterrupt):   # Ctrl-C reaches every rank anyway
                sys.stderr.flush()
                time.sleep(0.5)   # let the launcher forward the traceback before it kills the job
                _abort_at_exit()

    sys.excepthook = hook


def wait(request, what: str):
    """Poll an MPI request until it completes or the group's timeout passes."""
    g = _group()
    if request.Test():
        return
    start = time.monotonic()
    deadline = start + g.timeout
    spin_until = start + 0.05   # poll flat out at first: a reduction usually ends within ms, and
    pause = 0.0                 # MPI makes progress on non-blocking collectives only while polled
    while not request.Test():
        now = time.monotonic()
        if now < spin_until:
            continue
        if now > deadline:
            if not g.failed:
                g.failed = True
                atexit.register(_abort_at_exit)
            raise DistributedTimeoutError(
                f"rank {g.rank}: {what} did not complete within {g.timeout:g} s: another of the "
                f"{g.size} ranks died, hangs or skipped this step (see its output above). The job "
                f"will be aborted; the last saved checkpoint is intact. Raise the limit with "
                f"NERVE_DIST_TIMEOUT=<seconds> if a rank is just slow.")
        if pause:
            time.sleep(pause)
        pause = min(pause * 2 or 1e-5, 1e-3)


def _op(op: str):
    MPI = _mpi()
    if op not in _OPS:
        raise ValueError(f"unknown reduction {op!r}; choose one of {', '.join(_OPS)}")
    return {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN, "prod": MPI.PROD}[op]


def _host(a):
    # MPI moves host memory; device arrays come back to the host for the transfer.
    if type(a) is np.ndarray:
        return a, None
    from ..backend import get_array_module, to_device  # noqa: PLC0415

    xp = get_array_module(a)
    return (np.asarray(a), None) if xp is np else (to_device(a, "cpu"), xp)


def all_reduce_array(a, op: str = "sum", what: str = "all_reduce"):
    """Reduce ``a`` over all ranks and return the result (a new array; ``a`` is not changed)."""
    g = _group()
    h, xp = _host(a)
    h = np.ascontiguousarray(h)
    out = np.empty_like(h)
    mpi_op = _op(op)
    if g.size == 1:
        out[...] = h
    else:
        wait(g.comm.Iallreduce(h, out, op=mpi_op), what)
    if op == "mean":
        out = out / g.size if out.dtype.kind == "f" else out // g.size
    return out if xp is None else xp.asarray(out)


def broadcast_array(a, src: int = 0, what: str = "broadcast"):
    """Rank ``src``'s ``a`` on every rank (shapes and dtypes must agree)."""
    g = _group()
    _check_src(src, g)
    h, xp = _host(a)
    buf = np.ascontiguousarray(h).copy()
    if g.size > 1:
        wait(g.comm.Ibcast(buf, root=src), what)
    return buf if xp is None else xp.asarray(buf)


def all_gather_array(a, what: str = "all_gather"):
    """Every rank's ``a`` (equal shapes) stacked along a new first axis, indexed by rank."""
    h, xp = _host(a)
    h = np.ascontiguousarray(h)
    if not is_initialized():
        out = h[None].copy()
    else:
        g = _group()
        out = np.empty((g.size, *h.shape), dtype=h.dtype)
        if g.size == 1:
            out[0] = h
        else:
            wait(g.comm.Iallgather(h, out), what)
    return out if xp is None else xp.asarray(out)


def _check_src(src, g):
    if not isinstance(src, (int, np.integer)) or not 0 <= src < g.size:
        raise ValueError(f"src must be a rank in [0, {g.size - 1}], got {src!r}")


def _write(tensor, values):
    """Put ``values`` into ``tensor`` in place (a recorded write, like PyTorch's collectives)."""
    from ..autograd.tensor import _bump  # noqa: PLC0415

    tensor._data[...] = values
    _bump(tensor)
    return tensor


def _tensor_arg(tensor, fn):
    from ..autograd import Tensor  # noqa: PLC0415

    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn} takes a nerve Tensor, got {type(tensor).__name__}")
    return tensor


def all_reduce(tensor, op: str = "sum"):
    """Reduce ``tensor`` over all ranks, in place (``op``: sum, mean, max, min, prod); returns it."""
    _tensor_arg(tensor, "all_reduce")
    return _write(tensor, all_reduce_array(tensor._data, op, f"all_reduce({op}) of shape {tuple(tensor.shape)}"))


def broadcast(tensor, src: int = 0):
    """Overwrite ``tensor`` with rank ``src``'s values, in place; returns it."""
    _tensor_arg(tensor, "broadcast")
    return _write(tensor, broadcast_array(tensor._data, src, f"broadcast from rank {src}"))


def all_gather(tensor) -> list:
    """Every rank's ``tensor`` (equal shapes), as a list of new Tensors indexed by rank."""
    from ..autograd import Tensor  # noqa: PLC0415

    _tensor_arg(tensor, "all_gather")
    _group()
    out = all_gather_array(tensor._data, f"all_gather of shape {tuple(tensor.shape)}")
    return [Tensor(o) for o in out]


def barrier() -> None:
    """Wait until every rank reaches this point (subject to the timeout)."""
    g = _group()
    if g.size > 1:
        wait(g.comm.Ibarrier(), "barrier")
