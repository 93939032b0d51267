"""``SyncBatchNorm``: batch normalization whose statistics cover the global batch of all ranks.

With data parallelism each rank sees only its shard of the batch; plain BatchNorm would
normalise with shard statistics, so the model would depend on how the batch was split. Here the
forward pass gathers each rank's (count, mean, sum of squared deviations) and merges them with
Chan et al.'s pairwise formula (one ``all_gather`` of 2C + 1 numbers); backward sums the two
per-channel reductions it needs, Σ∂y and Σ∂y·x̂, over ranks (one ``all_reduce`` of 2C numbers).
The result equals BatchNorm over the concatenated batch, and its input gradient is that of the
sum of the ranks' losses. On one process it is exactly BatchNorm.
"""
from __future__ import annotations

from ..autograd import Function
from ..functional.normalization import _update_running
from ..nn.normalization import _BatchNorm
from . import comm

__all__ = ["SyncBatchNorm"]


def _merge_moments(counts, means, m2s):
    """Total count, mean and sum of squared deviations from per-rank ones (Chan et al. 1979)."""
    n, mean, m2 = counts[0], means[0], m2s[0]
    for nb, mb, m2b in zip(counts[1:], means[1:], m2s[1:]):
        total = n + nb
        delta = mb - mean
        mean = mean + delta * (nb / total)
        m2 = m2 + m2b + delta * delta * (n * nb / total)
        n = total
    return n, mean, m2


class _SyncNormalize(Function):
    def forward(ctx, x, w, b, eps, stats):
        xp = ctx.xp
        C = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, C) + (1,) * (x.ndim - 2)
        m = x.size // C
        if m:
            mean = x.mean(axis=axes)
            m2 = xp.square(x - mean.reshape(shape)).sum(axis=axes)
        else:  # an empty shard still takes part in the collectives, contributing nothing
            mean = m2 = xp.zeros(C, dtype=x.dtype)
        local = xp.concatenate([xp.asarray([m], dtype=x.dtype), mean, m2])
        rows = comm.all_gather_array(local, "SyncBatchNorm statistics")  # (world, 2C + 1)
        _, mean_g, m2_g = _merge_moments(rows[:, 0], rows[:, 1:C + 1], rows[:, C + 1:])
        n = int(round(float(rows[:, 0].sum())))
        var = m2_g / max(n, 1)                       # biased, for normalising (n = 0: all empty)
        invstd = 1.0 / xp.sqrt(var + eps)
        xhat = (x - mean_g.reshape(shape)) * invstd.reshape(shape)
        y = xhat * w.reshape(shape) if w is not None else xhat.copy()
        if b is not None:
            y = y + b.reshape(shape)
        if stats is not None:
            stats.extend((mean_g, var, n))
        ctx.shape, ctx.axes, ctx.n = shape, axes, n
        ctx.save_for_backward(xhat, invstd, w)
        return y

    def backward(ctx, grad):
        xp = ctx.xp
        xhat, invstd, w = ctx.saved
        shape, axes, n = ctx.shape, ctx.axes, ctx.n
        need = ctx.needs_input_grad
        sum_dy = grad.sum(axis=axes)
        sum_dy_xhat = (grad * xhat).sum(axis=axes)
        gw = sum_dy_xhat.copy() if (w is not None and need[1]) else None   # local: DDP averages them
        gb = sum_dy.copy() if need[2] else None
        gx = None
        if need[0]:
            both = xp.concatenate([sum_dy, sum_dy_xhat])
            if comm.world_size() > 1:
                both = comm.all_reduce_array(both, "sum", "SyncBatchNorm backward")
            C = sum_dy.shape[0]
            n = max(n, 1)   # every shard empty: the sums are 0 and so is the gradient
            mean_dy = (both[:C] / n).reshape(shape)
            mean_dy_xhat = (both[C:] / n).reshape(shape)
            scale = invstd.reshape(shape) * (w.reshape(shape) if w is not None else 1.0)
            gx = scale * (grad - mean_dy - xhat * mean_dy_xhat)
        return gx, gw, gb


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over (N, C, *) whose batch statistics span every rank's shard.

    Same arguments, parameters and buffers as ``nn.BatchNorm1d/2d/3d`` (so state_dicts move
    between them); in evaluation it uses the running statistics like BatchNorm. Convert a whole
    model with ``SyncBatchNorm.convert_sync_batchnorm(model)``.
    """

    _dims = (2, 3, 4, 5)
    _layout = "(N, C, *)"

    def forward(self, input):  # noqa: A002
        self._check_input(input)
        factor = self._momentum()
        if not self.training and self.track_running_stats:
            return super().forward(input)
        # An empty shard goes through the collectives too: returning early here left the other
        # ranks waiting in the statistics all_gather (a hang, or a mismatched collective).
        stats = [] if self.track_running_stats else None
        out = _SyncNormalize.apply(input, self.weight, self.bias, self.eps, stats)
        if stats:
            mean, var, n = stats
            if n == 0:   # every shard empty: nothing to learn from, as BatchNorm on an empty batch
                return out
            if n == 1:
                raise ValueError(f"SyncBatchNorm({self.num_features}): expected more than 1 value per channel "
                                 f"over all ranks when training, got {n}")
            _update_running(self.running_mean, mean, factor)
            _update_running(self.running_var, var * (n / (n - 1)), factor)
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module):
        """Return ``module`` with every BatchNorm layer replaced by a SyncBatchNorm that carries
        its parameters, buffers and mode (the module is changed in place where possible)."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            new = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats)
            if module.affine:
                new.weight, new.bias = module.weight, module.bias
            if module.track_running_stats:
                new.running_mean, new.running_var = module.running_mean, module.running_var
                new.num_batches_tracked = module.num_batches_tracked
            new.train(module.training)
            return new
        for name, child in list(module.named_children()):
            converted = cls.convert_sync_batchnorm(child)
            if converted is not child:
                setattr(module, name, converted)
        return module

