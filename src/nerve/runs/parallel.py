"""``nerve train`` on several processes: the launcher, the data shards and rank 0's run folder.

``nerve train --nproc N`` starts ``mpiexec -n N python -m nerve train ...``; each process then
finds itself in the MPI job (:func:`join`), trains its shard of every global batch with
``DistributedDataParallel``, and rank 0 alone writes the run folder (the others hold a
:class:`FollowerRun` that knows the path and writes nothing).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from . import RunError

__all__ = ["join", "mpiexec_path", "relaunch", "shard", "broadcast_text", "FollowerRun", "world"]


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: ``(0, 1)`` outside an MPI job."""
    from ..distributed import comm  # noqa: PLC0415

    if not comm.is_initialized():
        return 0, 1
    return comm.rank(), comm.world_size()


def join() -> tuple[int, int]:
    """Join the MPI job when the launcher started more than one process; ``(rank, world_size)``."""
    from ..distributed import comm  # noqa: PLC0415

    if comm.launched_world_size() > 1 and not comm.is_initialized():
        try:
            comm.init()
        except ImportError as e:
            raise RunError(str(e)) from None
    return world()


def mpiexec_path() -> str:
    """The MPI launcher: the one the mpich wheel puts beside this Python first, then PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.is_file():
        return str(beside)
    found = shutil.which("mpiexec") or shutil.which("mpirun")
    if found is None:
        raise RunError("--nproc needs an MPI launcher (mpiexec) and mpi4py; install them with: "
                       "pip install 'nerve[distributed]'")
    return found


def relaunch(nproc: int, argv: list[str]) -> int:
    """Run ``python -m nerve <argv>`` on ``nproc`` MPI processes and return the exit status."""
    try:
        import mpi4py  # noqa: F401, PLC0415
    except ImportError:
        raise RunError("--nproc runs on MPI through mpi4py, which is not installed; install it with: "
                       "pip install 'nerve[distributed]'") from None
    import signal  # noqa: PLC0415

    cmd = [mpiexec_path(), "-n", str(nproc), sys.executable, "-m", "nerve", *argv]
    env = dict(os.environ, OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))
    proc = subprocess.Popen(cmd, env=env)

    def forward(signum, frame):  # `kill <pid>` reaches this process only: pass it on
        proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                # Ctrl-C reaches mpiexec too (same process group), which passes it to the ranks;
                # they stop after keeping their last finished epoch. Wait for them.
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)


def shard(dataset, rank: int, size: int):
    """Rank ``rank``'s contiguous part of ``dataset`` for evaluation, with no padding, so sums
    over ranks count every sample exactly once."""
    from ..data import Subset  # noqa: PLC0415

    if size == 1:
        return dataset
    parts = np.array_split(np.arange(len(dataset)), size)
    return Subset(dataset, parts[rank])


def broadcast_text(text: str | None) -> str:
    """Rank 0's ``text`` on every rank."""
    from ..distributed import comm  # noqa: PLC0415

    raw = np.frombuffer((text or "").encode(), dtype=np.uint8) if comm.rank() == 0 else np.zeros(0, np.uint8)
    n = int(comm.broadcast_array(np.array([raw.size], np.int64))[0])
    buf = raw if comm.rank() == 0 else np.zeros(n, np.uint8)
    return bytes(comm.broadcast_array(buf)).decode()


class FollowerRun:
    """A run folder as ranks other than 0 see it: the same path, nothing written."""

    writes = False

    def __init__(self, path):
        self.path = Path(path)
        self.manifest = {"artifacts": {}}

    def save_weights(self, model):
        return self.path / "model.safetensors"

    def save_json(self, name, value):
        return self.path / name

    def finish(self, status, message=None):
        pass

    def record(self, *names):
        pass
