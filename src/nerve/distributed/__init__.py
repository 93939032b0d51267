"""``nerve.distributed``: data-parallel training over MPI.

Start the same script on several processes with ``mpirun -n N python train.py`` (or
``nerve train --nproc N``). Each process is a *rank*; ``init()`` joins them, and
:class:`DistributedDataParallel` keeps their models equal by averaging gradients as backward
runs. Collectives on tensors (``all_reduce``, ``broadcast``, ``all_gather``, ``barrier``) wait
at most ``timeout`` seconds, so a rank that died makes the others stop with a clear error.

mpi4py and an MPI library are needed only here: ``pip install 'nerve[distributed]'`` (mpi4py and
the ``mpich`` wheel). Importing ``nerve`` never imports this package.

    import nerve.distributed as dist
    dist.init()
    print(dist.rank(), dist.world_size())
"""
from .comm import (DEFAULT_TIMEOUT, DistributedTimeoutError, all_gather, all_reduce, all_gather_array, all_reduce_array, barrier,
                   broadcast, broadcast_array, destroy_process_group, get_rank, get_world_size, init,
                   init_process_group, is_available, is_initialized, launched_world_size, rank, wait,
                   world_size)
from .ddp import DistributedDataParallel
from .sync_batchnorm import SyncBatchNorm

__all__ = ["init", "init_process_group", "destroy_process_group", "is_initialized", "is_available", "rank",
           "world_size", "get_rank", "get_world_size", "barrier", "all_reduce", "broadcast", "all_gather",
           "all_reduce_array", "broadcast_array", "all_gather_array", "wait", "launched_world_size", "DistributedTimeoutError",
           "DEFAULT_TIMEOUT", "DistributedDataParallel", "SyncBatchNorm"]
