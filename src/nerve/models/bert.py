"""BERT: a bidirectional transformer encoder pre-trained by masked-language modelling
(Devlin et al. 2019).

Layout (batch first throughout):

    input_ids (N, L), token_type_ids (N, L), attention_mask (N, L; 1 = real token, 0 = pad)
    embeddings   word (V×H) + position (P×H) + segment (T×H) → LayerNorm → dropout   (N, L, H)
    encoder      num_hidden_layers post-LN blocks, each
                     x = LN(x + Dropout(SelfAttention(x)))
                     x = LN(x + Dropout(W₂ gelu(W₁ x + b₁) + b₂))
                 (``nn.TransformerEncoderLayer`` with gelu and BERT's LayerNorm eps; BERT has no
                 dropout between the two FFN matrices, so that one is an Identity here)
    pooler       tanh(W h₀ + b) on the first ([CLS]) token                          (N, H)

``BertForMaskedLM`` drops the pooler and adds the prediction head: dense H→H, gelu,
LayerNorm, then a decoder whose weight *is* the word-embedding table (tied) plus its own
bias of V → logits (N, L, V).

Parameter count of bert-base (V 30522, H 768, 12 layers, I 3072, P 512, T 2):

    embeddings   (30522 + 512 + 2)×768 + 2×768              =  23,837,184
    per layer    attention 4×(768×768 + 768) = 2,362,368
                 FFN 768×3072 + 3072 + 3072×768 + 768 = 4,722,432
                 two LayerNorms 4×768 = 3,072               →   7,087,872  × 12 = 85,054,464
    pooler       768×768 + 768                              =     590,592
                                                              -----------
                                                              109,482,240

the figure transformers' BertModel reports. :func:`param_table` prints this arithmetic for
any config; the tests check it against real builds.

    >>> from nerve import models
    >>> cfg = models.BertConfig.preset("bert-tiny", vocab_size=100)
    >>> net = models.BertModel(cfg)
    >>> net.num_parameters() == sum(r.total for r in models.bert.param_table(cfg))
    True
    >>> import numpy as np
    >>> out = net(np.array([[2, 5, 7, 3, 0]]), attention_mask=np.array([[1, 1, 1, 1, 0]]))
    >>> out.last_hidden_state.shape, out.pooler_output.shape
    ((1, 5, 128), (1, 128))
"""
from __future__ import annotations

import json
from collections import namedtuple
from dataclasses import asdict, dataclass, fields

import numpy as np

from .. import functional as F
from .. import nn
from .. import random as _random
from ..autograd import grad_mode
from ..autograd.tensor import Tensor, get_default_dtype
from .configs import ParamLine, ParamTable, register_config
from ..io.atomic import write_text
from . import register_model

__all__ = ["BertConfig", "BertModel", "BertForMaskedLM", "BertOutput", "BertParamRow", "param_table",
           "convert_hf_state_dict", "bert_base", "bert_tiny"]

_PRESETS = {
    # name: (hidden_size, num_hidden_layers, num_attention_heads, intermediate_size)
    "bert-tiny": (128, 2, 2, 512),
    "bert-mini": (256, 4, 4, 1024),
    "bert-small": (512, 4, 8, 2048),
    "bert-medium": (512, 8, 8, 2048),
    "bert-base": (768, 12, 12, 3072),
    "bert-large": (1024, 24, 16, 4096),
}

_ACTIVATIONS = ("gelu", "gelu_new", "relu")


@dataclass
class BertConfig:
    """BERT's hyper-parameters, with transformers' field names (a ``config.json`` of theirs
    loads with :meth:`from_dict`, unknown keys ignored). The defaults are bert-base.

    ``hidden_act``: 'gelu' (exact, erf), 'gelu_new' (the tanh approximation) or 'relu'.
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0

    def __post_init__(self):
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "max_position_embeddings", "type_vocab_size"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"BertConfig: {name} must be a positive integer, got {v!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"BertConfig: hidden_size ({self.hidden_size}) must be a multiple of "
                             f"num_attention_heads ({self.num_attention_heads})")
        if self.hidden_act not in _ACTIVATIONS:
            raise ValueError(f"BertConfig: hidden_act must be one of {_ACTIVATIONS}, got "
                             f"{self.hidden_act!r}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"BertConfig: {name} must lie in [0, 1), got {getattr(self, name)}")
        if self.pad_token_id is not None and not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(f"BertConfig: pad_token_id {self.pad_token_id} is outside the vocabulary "
                             f"(size {self.vocab_size}); use None for no padding row")

    @classmethod
    def preset(cls, name, **overrides):
        """A named size: 'bert-tiny', 'bert-mini', 'bert-small', 'bert-medium', 'bert-base' or
        'bert-large' (the sizes of Google's released checkpoints), with fields overridden."""
        key = str(name).strip().lower().replace("_", "-")
        if key not in _PRESETS:
            raise ValueError(f"unknown BERT preset {name!r}; choose one of {', '.join(_PRESETS)}")
        h, n, a, i = _PRESETS[key]
        kw = dict(hidden_size=h, num_hidden_layers=n, num_attention_heads=a, intermediate_size=i)
        kw.update(overrides)
        return cls(**kw)

    def to_dict(self):
        """The fields as a plain dict (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        """A config from a dict such as transformers' config.json; keys it does not know are
        ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(d).items() if k in names})

    def save(self, path):
        """Write the config as JSON (atomically)."""
        write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path):
        """Read a config written by :meth:`save` (or a transformers config.json)."""
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))


# ---------------------------------------------------------------- parameter arithmetic

# One component of the arithmetic: the same row type as the named-config tables (models.configs).
BertParamRow = ParamLine


def param_table(config, pooler=True, mlm_head=False):
    """The parameter arithmetic of ``BertModel(config)`` (or ``BertForMaskedLM`` with
    ``pooler=False, mlm_head=True``), one :class:`~nerve.models.configs.ParamLine` per component, without
    building anything. ``config`` is a :class:`BertConfig` or a preset name.

        >>> rows = param_table("bert-base")
        >>> [r.component for r in rows][:3]
        ['embeddings: word', 'embeddings: position', 'embeddings: token type']
        >>> f"{sum(r.total for r in rows):,}"
        '109,482,240'
    """
    c = BertConfig.preset(config) if isinstance(config, str) else config
    H, I, V, P, T, n = (c.hidden_size, c.intermediate_size, c.vocab_size, c.max_position_embeddings,
                        c.type_vocab_size, c.num_hidden_layers)
    R = ParamLine
    rows = [
        R("embeddings: word", f"{V:,}×{H}", V * H),
        R("embeddings: position", f"{P}×{H}", P * H),
        R("embeddings: token type", f"{T}×{H}", T * H),
        R("embeddings: LayerNorm", f"2×{H}", 2 * H),
        R("layer: attention q, k, v, out", f"4×({H}×{H} + {H})", 4 * (H * H + H), n),
        R("layer: attention LayerNorm", f"2×{H}", 2 * H, n),
        R("layer: FFN in", f"{H}×{I} + {I}", H * I + I, n),
        R("layer: FFN out", f"{I}×{H} + {H}", I * H + H, n),
        R("layer: FFN LayerNorm", f"2×{H}", 2 * H, n),
    ]
    if pooler:
        rows.append(R("pooler", f"{H}×{H} + {H}", H * H + H))
    if mlm_head:
        rows += [R("MLM head: transform", f"{H}×{H} + {H}", H * H + H),
                 R("MLM head: LayerNorm", f"2×{H}", 2 * H),
                 R("MLM head: decoder weight (tied to word embeddings)", f"{V:,}×{H}", V * H,
                   shared=True),
                 R("MLM head: decoder bias", f"{V:,}", V)]
    return rows


def _bert_config_table(name, mlm=False):
    c = BertConfig.preset(name)
    title = (f"{name}{' for masked LM' if mlm else ''}: vocab {c.vocab_size}, {c.max_position_embeddings} "
             f"positions, {c.num_hidden_layers} layers, {c.num_attention_heads} heads, width {c.hidden_size}, "
             f"FFN {c.intermediate_size}")
    return ParamTable(title, param_table(c, pooler=not mlm, mlm_head=mlm))


@register_config("bert-base")
def _bert_base_table():
    return _bert_config_table("bert-base")


@register_config("bert-large")
def _bert_large_table():
    return _bert_config_table("bert-large")


@register_config("bert-base-mlm")
def _bert_base_mlm_table():
    return _bert_config_table("bert-base", mlm=True)


# ---------------------------------------------------------------- the model

BertOutput = namedtuple("BertOutput", ["last_hidden_state", "pooler_output"])
BertOutput.__doc__ = """BertModel's result: hidden states (N, L, H) and the pooled first token
(N, H), or None without a pooler."""


def _dtype(dtype):
    return np.dtype(dtype) if dtype is not None else get_default_dtype()


def _as_ids(x, what):
    a = x._data if isinstance(x, Tensor) else np.asarray(x)
    if np.dtype(a.dtype).kind not in "iu":
        raise TypeError(f"BERT: {what} must hold integer token ids, got dtype {a.dtype}")
    return x if isinstance(x, Tensor) else Tensor(a.astype(np.int64))


def _activation(name):
    if name == "gelu":
        return F.gelu
    if name == "gelu_new":
        return _gelu_tanh
    return F.relu


def _gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


class BertEmbeddings(nn.Module):
    """word + position + token-type embeddings, then LayerNorm and dropout."""

    def __init__(self, config, dtype=None):
        super().__init__()
        c = config
        H = c.hidden_size

        def table(n, **kw):   # uninitialised: _init_bert fills it (saves a second 23M-entry draw)
            return nn.Embedding(n, H, _weight=np.empty((n, H), dtype=_dtype(dtype)), _freeze=False, **kw)

        self.word_embeddings = table(c.vocab_size, padding_idx=c.pad_token_id)
        self.position_embeddings = table(c.max_position_embeddings)
        self.token_type_embeddings = table(c.type_vocab_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps, dtype=dtype)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.max_positions = c.max_position_embeddings

    def forward(self, input_ids, token_type_ids=None, position_ids=None):
        N, L = input_ids.shape
        if L > self.max_positions:
            raise ValueError(f"BERT: the sequence has {L} tokens but max_position_embeddings is "
                             f"{self.max_positions}; truncate the input or use a larger config")
        if position_ids is None:
            position_ids = Tensor(np.broadcast_to(np.arange(L, dtype=np.int64), (N, L)))
        if token_type_ids is None:
            token_type_ids = Tensor(np.zeros((N, L), dtype=np.int64))
        x = (self.word_embeddings(input_ids) + self.position_embeddings(_as_ids(position_ids, "position_ids"))
             + self.token_type_embeddings(_as_ids(token_type_ids, "token_type_ids")))
        return self.dropout(self.LayerNorm(x))


def _encoder_layer(c, dtype):
    """BERT's block: nn.TransformerEncoderLayer (post-LN) with BERT's activation, eps and
    dropouts (attention-probability dropout on the weights, hidden dropout after each sublayer,
    none inside the FFN)."""
    layer = nn.TransformerEncoderLayer(c.hidden_size, c.num_attention_heads, c.intermediate_size,
                                       dropout=c.hidden_dropout_prob, activation=_activation(c.hidden_act),
                                       layer_norm_eps=c.layer_norm_eps, batch_first=True,
                                       norm_first=False, dtype=dtype)
    layer.self_attn.dropout = float(c.attention_probs_dropout_prob)
    layer.dropout = nn.Identity()
    return layer


class BertPooler(nn.Module):
    """tanh(dense(h₀)): the first token's hidden state through a square layer."""

    def __init__(self, config, dtype=None):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size, dtype=dtype)

    def forward(self, hidden):
        return F.tanh(self.dense(hidden[:, 0]))


def _normal_(p, std):
    rng = _random.resolve(None)      # nerve's global generator: nerve.manual_seed fixes the init
    # NOTE: drawn in the parameter's own dtype when NumPy can (float32 halves bert-base's init time)
    draw_dtype = p.dtype if p.dtype in (np.float32, np.float64) else np.float64
    p._data[...] = rng.standard_normal(p.shape, dtype=draw_dtype) * std


def _init_bert(module, std, skip=()):
    """BERT's initialisation: N(0, std) for every Linear, attention-projection and Embedding
    weight (padding rows zeroed), zero biases, LayerNorm ones and zeros. Parameters in
    ``skip`` (a tied weight initialised elsewhere) are left alone."""
    skip = {id(p) for p in skip}
    with grad_mode.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                if id(m.weight) not in skip:
                    _normal_(m.weight, std)
                pad = getattr(m, "padding_idx", None)
                if pad is not None:
                    m.weight._data[pad] = 0
                if getattr(m, "bias", None) is not None:
                    m.bias._data[...] = 0
            elif isinstance(m, nn.LayerNorm):
                if m.weight is not None:
                    m.weight._data[...] = 1
                if m.bias is not None:
                    m.bias._data[...] = 0
            elif isinstance(m, nn.MultiheadAttention):
                _normal_(m.in_proj_weight, std)
                if m.in_proj_bias is not None:
                    m.in_proj_bias._data[...] = 0


def _key_padding(attention_mask, N, L):
    """BERT's attention_mask (1 = attend, 0 = padding) as MultiheadAttention's
    key_padding_mask (True = ignore)."""
    if attention_mask is None:
        return None
    m = np.asarray(attention_mask.numpy() if isinstance(attention_mask, Tensor) else attention_mask)
    if m.shape != (N, L):
        raise ValueError(f"BERT: attention_mask must have the shape of input_ids {(N, L)}, got {m.shape}")
    return m == 0


class BertModel(nn.Module):
    """BERT's encoder: embeddings, ``num_hidden_layers`` post-LN transformer blocks and an
    optional pooler (see the module docstring for the layout and the parameter arithmetic).

    Args:
        config: a :class:`BertConfig` (or a preset name such as 'bert-base').
        add_pooling_layer: build the pooler (True).
        dtype: parameter dtype (default: nerve's default dtype).

    Forward ``(input_ids, attention_mask=None, token_type_ids=None, position_ids=None)``, each
    (N, L) integers (arrays or Tensors); ``attention_mask`` holds 1 for real tokens and 0 for
    padding, which no query attends to. Returns :class:`BertOutput` (last_hidden_state
    (N, L, H), pooler_output (N, H) or None).
    """

    def __init__(self, config=None, add_pooling_layer=True, dtype=None):
        super().__init__()
        c = BertConfig() if config is None else (BertConfig.preset(config) if isinstance(config, str)
                                                 else config)
        self.config = c
        self.embeddings = BertEmbeddings(c, dtype)
        self.encoder = nn.TransformerEncoder(_encoder_layer(c, dtype), c.num_hidden_layers)
        self.pooler = BertPooler(c, dtype) if add_pooling_layer else None
        _init_bert(self, c.initializer_range)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None):
        shape = tuple(getattr(input_ids, "shape", np.shape(input_ids)))
        if len(shape) != 2:      # checked first: a batch of images is a shape error, not a dtype one
            hint = "; add a batch dimension for one sentence" if len(shape) == 1 else ""
            raise ValueError(f"BERT: input_ids must be (N, L) token ids, got shape {shape}{hint}")
        ids = _as_ids(input_ids, "input_ids")
        N, L = ids.shape
        x = self.embeddings(ids, token_type_ids, position_ids)
        x = self.encoder(x, src_key_padding_mask=_key_padding(attention_mask, N, L))
        pooled = None if self.pooler is None else self.pooler(x)
        return BertOutput(x, pooled)


class BertLMHead(nn.Module):
    """dense → activation → LayerNorm, then logits against the (tied) word embeddings + bias."""

    def __init__(self, config, word_embeddings, dtype=None):
        super().__init__()
        c = config
        self.dense = nn.Linear(c.hidden_size, c.hidden_size, dtype=dtype)
        self.activation = _activation(c.hidden_act)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps, dtype=dtype)
        self.decoder = nn.Linear(c.hidden_size, c.vocab_size, bias=False, dtype=dtype)
        self.decoder.weight = word_embeddings.weight          # tied: one Parameter, two users
        self.bias = nn.Parameter(np.zeros(c.vocab_size, dtype=self.dense.weight.dtype))

    def forward(self, hidden):
        h = self.LayerNorm(self.activation(self.dense(hidden)))
        return self.decoder(h) + self.bias


class BertForMaskedLM(nn.Module):
    """BERT (no pooler) with the masked-language-model head; the decoder's weight is the
    word-embedding table itself.

    Forward ``(input_ids, attention_mask=None, token_type_ids=None)`` → logits (N, L, V).
    :meth:`loss` is the cross-entropy over the positions whose label is not -100 (the labels
    ``nerve.text.mask_tokens`` returns).

        >>> from nerve import models
        >>> import numpy as np
        >>> mlm = models.BertForMaskedLM(models.BertConfig.preset("bert-tiny", vocab_size=50))
        >>> logits = mlm(np.array([[2, 4, 4, 3]]))
        >>> logits.shape
        (1, 4, 50)
        >>> mlm.cls.decoder.weight is mlm.bert.embeddings.word_embeddings.weight
        True
    """

    def __init__(self, config=None, dtype=None):
        super().__init__()
        self.bert = BertModel(config, add_pooling_layer=False, dtype=dtype)
        self.config = self.bert.config
        self.cls = BertLMHead(self.config, self.bert.embeddings.word_embeddings, dtype)
        _init_bert(self.cls, self.config.initializer_range, skip=[self.cls.decoder.weight])

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        h = self.bert(input_ids, attention_mask, token_type_ids).last_hidden_state
        return self.cls(h)

    @staticmethod
    def loss(logits, labels):
        """Mean cross-entropy over the labelled positions (label -100 = not predicted)."""
        labels = _as_ids(labels, "labels")
        V = logits.shape[-1]
        return F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)


# ---------------------------------------------------------------- transformers' weights

_HF_LAYER = {   # transformers' name inside encoder.layer.{i} → ours inside encoder.layers.{i}
    "attention.output.dense.weight": "self_attn.out_proj.weight",
    "attention.output.dense.bias": "self_attn.out_proj.bias",
    "attention.output.LayerNorm.weight": "norm1.weight",
    "attention.output.LayerNorm.bias": "norm1.bias",
    "intermediate.dense.weight": "linear1.weight",
    "intermediate.dense.bias": "linear1.bias",
    "output.dense.weight": "linear2.weight",
    "output.dense.bias": "linear2.bias",
    "output.LayerNorm.weight": "norm2.weight",
    "output.LayerNorm.bias": "norm2.bias",
}
_HF_HEAD = {
    "cls.predictions.transform.dense.weight": "cls.dense.weight",
    "cls.predictions.transform.dense.bias": "cls.dense.bias",
    "cls.predictions.transform.LayerNorm.weight": "cls.LayerNorm.weight",
    "cls.predictions.transform.LayerNorm.bias": "cls.LayerNorm.bias",
    "cls.predictions.bias": "cls.bias",
}
# buffers and tied copies that carry nothing of their own
_HF_SKIP = ("embeddings.position_ids", "embeddings.token_type_ids", "cls.predictions.decoder.weight",
            "cls.predictions.decoder.bias")


def convert_hf_state_dict(state, masked_lm=False):
    """A state_dict of transformers' ``BertModel`` (or ``BertForMaskedLM`` with
    ``masked_lm=True``) renamed for this file's models: the separate query/key/value
    projections of each layer are stacked into ``self_attn.in_proj_weight`` / ``in_proj_bias``
    (that order), and the tied decoder points at the word embeddings.

    ``state`` maps names to arrays (or anything ``numpy.asarray`` takes). Raises ValueError
    naming the keys it does not recognise.
    """
    arrays = {k: np.asarray(v) for k, v in state.items()}
    body = {k[5:] if k.startswith("bert.") else k: v for k, v in arrays.items()}
    out, unknown, qkv = {}, [], {}
    for k, v in body.items():
        if k.endswith(_HF_SKIP):
            continue
        if k.startswith("embeddings.") or k.startswith("pooler."):
            out[k] = v
        elif k.startswith("encoder.layer."):
            i, rest = k[len("encoder.layer."):].split(".", 1)
            if rest.startswith("attention.self."):
                which, kind = rest[len("attention.self."):].split(".")   # query/key/value, weight/bias
                qkv.setdefault((int(i), kind), {})[which] = v
            elif rest in _HF_LAYER:
                out[f"encoder.layers.{i}.{_HF_LAYER[rest]}"] = v
            else:
                unknown.append(k)
        elif k in _HF_HEAD and masked_lm:
            out[_HF_HEAD[k]] = v
        else:
            unknown.append(k)
    for (i, kind), parts in qkv.items():
        if set(parts) != {"query", "key", "value"}:
            raise ValueError(f"convert_hf_state_dict: layer {i} has attention.self {kind}s for "
                             f"{sorted(parts)}; expected query, key and value")
        out[f"encoder.layers.{i}.self_attn.in_proj_{kind}"] = np.concatenate(
            [parts["query"], parts["key"], parts["value"]], axis=0)
    if unknown:
        raise ValueError(f"convert_hf_state_dict: keys not part of a BERT "
                         f"{'masked LM' if masked_lm else 'model'}: {sorted(unknown)}"
                         + ("" if masked_lm else "; pass masked_lm=True for a BertForMaskedLM"))
    if masked_lm:
        out = {(k if k.startswith("cls.") else f"bert.{k}"): v for k, v in out.items()}
        out["cls.decoder.weight"] = out["bert.embeddings.word_embeddings.weight"]
    return out


@register_model("bert-base")
def bert_base(**overrides):
    """BERT-base (110M parameters; 109,482,240 with the pooler)."""
    return BertModel(BertConfig.preset("bert-base", **overrides))


@register_model("bert-tiny")
def bert_tiny(**overrides):
    """BERT-tiny: 2 layers of width 128 (4.4M parameters with the full vocabulary)."""
    return BertModel(BertConfig.preset("bert-tiny", **overrides))
