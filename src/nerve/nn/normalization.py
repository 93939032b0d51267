"""Normalization layers, twins of ``nerve.functional.normalization``, and ``spectral_norm``.

``BatchNorm1d/2d`` and ``InstanceNorm1d/2d`` keep running statistics as buffers
(``running_mean``, ``running_var``, ``num_batches_tracked``) that ``train()`` /
``eval()`` switch between updating and using; ``LayerNorm``, ``GroupNorm`` and
``LocalResponseNorm`` have no running state.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.tensor import Tensor, get_default_dtype
from . import functional as F
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "InstanceNorm1d", "InstanceNorm2d", "LayerNorm", "GroupNorm",
           "LocalResponseNorm", "spectral_norm", "remove_spectral_norm"]


def _full(shape, value, dtype, device):
    arr = np.full(shape, value, dtype=np.dtype(dtype) if dtype is not None else get_default_dtype())
    return backend.to_device(arr, device) if device is not None else arr


class _NormBase(Module):
    """Parameters γ = 1, β = 0 (when affine) and running-statistics buffers (when tracked)."""

    _dims = ()          # accepted input ranks
    _layout = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None):
        super().__init__()
        if not isinstance(num_features, (int, np.integer)) or num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive integer, got {num_features!r}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(_full((num_features,), 1.0, dtype, device))
            self.bias = Parameter(_full((num_features,), 0.0, dtype, device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(_full((num_features,), 0.0, dtype, device)))
            self.register_buffer("running_var", Tensor(_full((num_features,), 1.0, dtype, device)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            self.weight._data[...] = 1
            self.bias._data[...] = 0

    def _check_input(self, x):
        name = f"{type(self).__name__}({self.num_features})"
        if x.ndim not in self._dims:
            raise RuntimeError(f"{name} expects a {' or '.join(f'{d}-D' for d in self._dims)} input "
                               f"{self._layout}, got shape {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise RuntimeError(f"{name} got input of shape {tuple(x.shape)} with {x.shape[1]} channels in "
                               f"dimension 1; build it with num_features={x.shape[1]} or fix the previous layer")

    def _momentum(self):
        """PyTorch's factor: momentum, or 1/num_batches_tracked (cumulative average) when None."""
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data += 1
            if self.momentum is None:
                return 1.0 / float(self.num_batches_tracked._data)
        return 0.0 if self.momentum is None else self.momentum

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    def forward(self, input):  # noqa: A002
        self._check_input(input)
        factor = self._momentum()
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        try:
            return F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                                self.weight, self.bias, use_batch, factor, self.eps)
        except (RuntimeError, ValueError) as e:
            raise type(e)(f"{type(self).__name__}({self.num_features}): {e}") from e


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) feature maps (Ioffe & Szegedy 2015): ``F.batch_norm``.

    Training: each channel is standardized with the batch mean and biased variance over
    (N, H, W), then y = γ·x̂ + β; the running averages are updated with
    running ← (1 − momentum)·running + momentum·batch (variance unbiased). Evaluation
    (``.eval()``) uses the running averages instead.

    Args:
        num_features: C.
        eps: added to the variance (1e-5).
        momentum: weight of each new batch (0.1); None for a cumulative average.
        affine: learn γ (ones) and β (zeros).
        track_running_stats: keep running averages; if False, batch statistics are used
            in evaluation too.

    Buffers: running_mean (zeros), running_var (ones), num_batches_tracked.

    Example:
        >>> import nerve as nv
        >>> bn = nv.nn.BatchNorm2d(6)
        >>> bn(nv.randn(8, 6, 4, 4)).shape
        (8, 6, 4, 4)
        >>> int(bn.num_batches_tracked.item())
        1
    """

    _dims = (4,)
    _layout = "(N, C, H, W)"


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) features or (N, C, L) sequences; see :class:`BatchNorm2d`.

    Example:
        >>> import nerve as nv
        >>> nv.nn.BatchNorm1d(16)(nv.randn(32, 16)).shape
        (32, 16)
    """

    _dims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class _InstanceNorm(_NormBase):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False,
                 device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, input):  # noqa: A002
        unbatched = input.ndim == self._dims[0] - 1
        x = input.reshape(1, *input.shape) if unbatched else input
        self._check_input(x)
        use_input = self.training or not self.track_running_stats
        # As PyTorch: momentum None leaves the running statistics alone (factor 0), and the
        # batch counter is never advanced (only the batch norms read it).
        momentum = 0.0 if self.momentum is None else self.momentum
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_input,
                              momentum, self.eps)
        return out.reshape(*out.shape[1:]) if unbatched else out


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization (Ulyanov et al. 2016): every (sample, channel) map of
    (N, C, H, W) input standardized on its own; ``F.instance_norm``.

    Defaults follow PyTorch: affine=False, track_running_stats=False.

    Example:
        >>> import nerve as nv
        >>> nv.nn.InstanceNorm2d(3)(nv.randn(2, 3, 8, 8)).shape
        (2, 3, 8, 8)
    """

    _dims = (4,)
    _layout = "(N, C, H, W)"


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) sequences; see :class:`InstanceNorm2d`."""

    _dims = (3,)
    _layout = "(N, C, L)"


class LayerNorm(Module):
    """Layer normalization (Ba et al. 2016) over the trailing ``normalized_shape``: ``F.layer_norm``.

    Args:
        normalized_shape: int or tuple: the trailing dimensions normalized together.
        eps: added to the variance.
        elementwise_affine: learn γ (ones) and β (zeros) of shape ``normalized_shape``.
        bias: learn β (only with elementwise_affine).

    Example:
        >>> import nerve as nv
        >>> ln = nv.nn.LayerNorm(8)
        >>> ln(nv.randn(4, 10, 8)).shape
        (4, 10, 8)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        ns = (int(normalized_shape),) if not isinstance(normalized_shape, (tuple, list)) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = ns, float(eps), elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_full(ns, 1.0, dtype, device))
            if bias:
                self.bias = Parameter(_full(ns, 0.0, dtype, device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.weight is not None:
            self.weight._data[...] = 1
        if self.bias is not None:
            self.bias._data[...] = 0

    def forward(self, input):  # noqa: A002
        try:
            return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)
        except RuntimeError as e:
            raise RuntimeError(f"LayerNorm({self.normalized_shape}): {e}") from e

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Group normalization (Wu & He 2018): channels split into groups normalized per
    sample; ``F.group_norm``.

    Args:
        num_groups: G, dividing num_channels.
        num_channels: C.
        eps: added to the variance.
        affine: learn per-channel γ (ones) and β (zeros).

    Example:
        >>> import nerve as nv
        >>> nv.nn.GroupNorm(2, 6)(nv.randn(3, 6, 4, 4)).shape
        (3, 6, 4, 4)
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_groups={num_groups} must divide num_channels={num_channels}")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = float(eps), affine
        if affine:
            self.weight = Parameter(_full((num_channels,), 1.0, dtype, device))
            self.bias = Parameter(_full((num_channels,), 0.0, dtype, device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):  # noqa: A002
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise RuntimeError(f"GroupNorm({self.num_groups}, {self.num_channels}) got input of shape "
                               f"{tuple(input.shape)}; expected (N, {self.num_channels}, ...)")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class LocalResponseNorm(Module):
    """Local response normalization across channels (Krizhevsky et al. 2012): ``F.local_response_norm``.

    y[c] = x[c] / (k + α/size · Σ_{size channels around c} x²)^β, PyTorch's defaults
    (α = 1e-4, β = 0.75, k = 1); AlexNet used size=5, k=2.

    Example:
        >>> import nerve as nv
        >>> nv.nn.LocalResponseNorm(5, k=2.0)(nv.randn(1, 96, 5, 5)).shape
        (1, 96, 5, 5)
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = int(size), float(alpha), float(beta), float(k)

    def forward(self, input):  # noqa: A002
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


# ---------------------------------------------------------------- spectral normalization
def _normalize(v, eps):
    return v / max(float(np.sqrt((v * v).sum())), eps)


class _SpectralNorm:
    """The forward pre-hook: weight = weight_orig / σ̂, σ̂ from power iteration on u, v."""

    def __init__(self, name, n_power_iterations, dim, eps):
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def matrix(self, w):
        """The weight as a matrix with ``dim`` as rows: (shape[dim], rest)."""
        if self.dim != 0:
            w = w.permute(self.dim, *[d for d in range(w.ndim) if d != self.dim])
        return w.reshape(w.shape[0], -1)

    def compute_weight(self, module, do_power_iteration):
        w = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        W = self.matrix(w)
        if do_power_iteration:
            Wd = W._data
            for _ in range(self.n_power_iterations):
                # In place, so the buffers (and a state_dict holding them) stay current.
                v._data[...] = _normalize(Wd.T @ u._data, self.eps)
                u._data[...] = _normalize(Wd @ v._data, self.eps)
        # σ̂ = uᵀ W v, differentiable through W only (u, v are constants), as in PyTorch.
        sigma = (W @ Tensor(v._data.copy())) * Tensor(u._data.copy())
        return w / sigma.sum()

    def __call__(self, module, args):
        object.__setattr__(module, self.name, self.compute_weight(module, module.training))


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Constrain a layer's weight to spectral norm ≈ 1 (Miyato et al. 2018).

    Replaces ``module.<name>`` by ``<name>_orig / σ̂`` before every forward, where σ̂ = uᵀWv
    estimates W's largest singular value with power iteration on persistent vectors u, v
    (buffers ``<name>_u``, ``<name>_v``): in training each call runs
    ``n_power_iterations`` steps v ← Wᵀu/‖Wᵀu‖, u ← Wv/‖Wv‖ first. W is the weight
    reshaped to (shape[dim], −1); dim defaults to 0, or 1 for transposed convolutions.

    Args:
        module: a layer with a weight (Linear, Conv2d ...).
        name: the parameter to normalize.
        n_power_iterations: power-iteration steps per training forward.
        eps: guards the vector normalizations.
        dim: the output dimension of the weight.

    Returns: the same module, modified in place.

    Example:
        >>> import nerve as nv
        >>> layer = spectral_norm(nv.nn.Linear(20, 10))
        >>> for _ in range(50):
        ...     _ = layer(nv.zeros(1, 20))
        >>> import numpy as np
        >>> round(float(np.linalg.norm(layer.weight.numpy(), 2)), 2)
        1.0
    """
    from ..random import default_generator  # noqa: PLC0415

    if isinstance(n_power_iterations, bool) or int(n_power_iterations) != n_power_iterations \
            or n_power_iterations <= 0:
        # with no iteration σ̂ would stay the random starting estimate: a wrong scale, silently
        raise ValueError(f"spectral_norm: n_power_iterations must be a positive int, got "
                         f"{n_power_iterations!r}")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, _SpectralNorm) and hook.name == name:
            raise RuntimeError(f"spectral_norm: {type(module).__name__}.{name} is already spectrally normalized")
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter {name!r}")
    fn = _SpectralNorm(name, int(n_power_iterations), dim, eps)
    Wd = fn.matrix(weight)._data
    h, w = Wd.shape
    rng = default_generator()
    u = _normalize(rng.standard_normal(h).astype(Wd.dtype), eps)
    v = _normalize(rng.standard_normal(w).astype(Wd.dtype), eps)
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    object.__setattr__(module, name, Tensor(weight._data))
    module.register_buffer(name + "_u", Tensor(u))
    module.register_buffer(name + "_v", Tensor(v))
    module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo :func:`spectral_norm`: bake the current normalized weight back into a Parameter."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, _SpectralNorm) and hook.name == name:
            weight = hook.compute_weight(module, False)
            del module._forward_pre_hooks[key]
            module._update_has_hooks()
            break
    else:
        raise ValueError(f"remove_spectral_norm: spectral_norm of {name!r} not found in {type(module).__name__}")
    for suffix in ("_orig", "_u", "_v"):
        delattr(module, name + suffix)
    object.__getattribute__(module, "__dict__").pop(name, None)
    setattr(module, name, Parameter(weight._data.copy()))
    return module
