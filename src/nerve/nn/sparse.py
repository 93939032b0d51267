"""Lookup-table layers, ``Embedding`` and ``EmbeddingBag`` (twins of ``F.embedding`` and
``F.embedding_bag``); the file is named after torch's ``nn.modules.sparse``."""
from __future__ import annotations

import numpy as np

from ..autograd import grad_mode
from ..autograd.tensor import Tensor
from . import functional as F
from . import init
from .linear import _empty
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding", "EmbeddingBag"]


def _check_sizes(layer, num_embeddings, embedding_dim, padding_idx):
    for name, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{layer}: {name} must be a non-negative integer, got {v!r}")
    if padding_idx is not None:
        if not isinstance(padding_idx, (int, np.integer)) or isinstance(padding_idx, bool):
            raise TypeError(f"{layer}: padding_idx must be an int (a row index) or None, got "
                            f"{padding_idx!r}")
        if not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(f"{layer}: padding_idx {padding_idx} must be within num_embeddings "
                             f"({num_embeddings})")
        padding_idx %= num_embeddings
    return padding_idx


class _Table(Module):
    def _make_weight(self, num_embeddings, embedding_dim, padding_idx, _weight, _freeze, dtype, device):
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(_empty((self.num_embeddings, self.embedding_dim), dtype, device))
            self.reset_parameters()
        else:
            w = _weight._data if isinstance(_weight, Tensor) else np.asarray(_weight)
            if w.shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"{type(self).__name__}: _weight has shape {w.shape}, expected "
                                 f"({self.num_embeddings}, {self.embedding_dim})")
            self.weight = Parameter(w.copy(), requires_grad=not _freeze)

    def reset_parameters(self):
        """N(0, 1) entries, the padding row zeroed (as torch)."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with grad_mode.no_grad():
                self.weight._data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, **kwargs):
        """A layer whose table is a copy of ``embeddings`` (V, D); ``freeze`` stops its gradient."""
        shape = tuple(embeddings.shape)
        if len(shape) != 2:
            raise ValueError(f"{cls.__name__}.from_pretrained: embeddings must be 2-D (V, D), got {shape}")
        return cls(shape[0], shape[1], padding_idx=padding_idx, _weight=embeddings, _freeze=freeze,
                   **kwargs)


class Embedding(_Table):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by id.

    See ``F.embedding``. Args: ``padding_idx`` (that row starts at zero and gets no
    gradient), ``max_norm`` / ``norm_type`` (rows longer than ``max_norm`` are shrunk in
    place when looked up), ``scale_grad_by_freq``, ``sparse`` (accepted; gradients are dense).

    Attributes: ``weight`` (num_embeddings, embedding_dim) ~ N(0, 1).

    Shapes: (*) integer ids → (*, embedding_dim).

    Example:
        >>> import nerve as nv
        >>> emb = nv.nn.Embedding(10, 3, padding_idx=0)
        >>> emb(nv.tensor([[1, 0, 4]])).shape
        (1, 3, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None,
                 dtype=None):
        super().__init__()
        padding_idx = _check_sizes("Embedding", num_embeddings, embedding_dim, padding_idx)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        self._make_weight(num_embeddings, embedding_dim, padding_idx, _weight, _freeze, dtype, device)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False, **kwargs):
        """A layer whose table is a copy of ``embeddings`` (V, D); ``freeze`` stops its
        gradient. The arguments come in torch's order, so positional calls work alike."""
        return super().from_pretrained(embeddings, freeze, padding_idx, max_norm=max_norm,
                                       norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq,
                                       sparse=sparse, **kwargs)

    def forward(self, input):  # noqa: A002
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s


class EmbeddingBag(_Table):
    """Sum, mean or max of the embeddings in each bag (see ``F.embedding_bag``).

    Args as ``Embedding`` plus ``mode`` ('mean' default, 'sum', 'max') and
    ``include_last_offset``. Call with ``(input, offsets=None, per_sample_weights=None)``.

    Shapes: (B, L) ids, or (n,) ids with (B,) offsets → (B, embedding_dim).

    Example:
        >>> import nerve as nv
        >>> bag = nv.nn.EmbeddingBag(10, 3, mode="sum")
        >>> bag(nv.tensor([1, 2, 4, 5]), nv.tensor([0, 2])).shape
        (2, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, _freeze=False, device=None, dtype=None):
        super().__init__()
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"EmbeddingBag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
        padding_idx = _check_sizes("EmbeddingBag", num_embeddings, embedding_dim, padding_idx)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset
        self._make_weight(num_embeddings, embedding_dim, padding_idx, _weight, _freeze, dtype, device)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None, **kwargs):
        """A bag layer whose table is a copy of ``embeddings`` (V, D); ``freeze`` stops its
        gradient. The arguments come in torch's order (``max_norm`` third, unlike
        ``Embedding.from_pretrained``), so positional calls mean the same thing."""
        return super().from_pretrained(embeddings, freeze, padding_idx, max_norm=max_norm,
                                       norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq,
                                       mode=mode, sparse=sparse,
                                       include_last_offset=include_last_offset, **kwargs)

    def forward(self, input, offsets=None, per_sample_weights=None):  # noqa: A002
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse, per_sample_weights,
                               self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}, mode={self.mode!r}"
