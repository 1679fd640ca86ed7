"""Architecture of a LLaMA-family decoder (spec data-plane §2.1, §12), parsed once at the edge.

The model server sends the architecture as a camelCase mapping (the ``architecture`` of its llama
servable config, see ``LlamaConfig.from_dict``); inside the worker everything reads the frozen
``LlamaConfig``. Serving knobs (sequence lengths, sampling) live in
``lm_serving_config`` instead: they change how a model is driven, not what its parameters are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np

#: Activation/weight dtypes a config may name.
DTYPES: Mapping[str, Any] = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


@dataclasses.dataclass(frozen=True)
class RopeScaling:
    """LLaMA-3.1 RoPE frequency scaling (spec §12); field defaults are LLaMA-3.1's."""

    factor: float = 8.0  # low frequencies are divided by this
    low_freq_factor: float = 1.0  # wavelengths above original_max_positions / this are scaled
    high_freq_factor: float = 4.0  # wavelengths below original_max_positions / this are kept
    original_max_positions: int = 8192

    def __post_init__(self) -> None:
        if not (self.factor > 0 and 0 < self.low_freq_factor < self.high_freq_factor):
            raise ValueError(f"llama config: invalid ropeScaling {self}")
        if self.original_max_positions < 1:
            raise ValueError(f"llama config: invalid ropeScaling {self}")


# camelCase wire key -> dataclass field, for the keys stored as they are.
_FIELD_BY_KEY = {
    "numLayers": "num_layers",
    "modelDims": "model_dims",
    "hiddenDims": "hidden_dims",
    "numHeads": "num_heads",
    "numKvHeads": "num_kv_heads",
    "dimsPerHead": "dims_per_head",
    "vocabSize": "vocab_size",
    "useMqa": "use_mqa",
    "ropeTheta": "rope_theta",
    "normEps": "norm_eps",
    "dtype": "dtype",
}
_SCALING_FIELD_BY_KEY = {
    "factor": "factor",
    "lowFreqFactor": "low_freq_factor",
    "highFreqFactor": "high_freq_factor",
    "originalMaxPositions": "original_max_positions",
}
# Keys that are checked but not stored: the family tag and features this implementation does not have.
_CHECKED_KEYS = {"family", "ropeScaling", "tiedEmbeddings", "quantization", "gpuFlashDecoding"}
_ALL_KEYS = frozenset(_FIELD_BY_KEY) | _CHECKED_KEYS
_REQUIRED_KEYS = frozenset(
    {"numLayers", "modelDims", "hiddenDims", "numHeads", "numKvHeads", "dimsPerHead", "vocabSize"}
)


@dataclasses.dataclass(frozen=True)
class LlamaConfig:
    """Shapes and numerics of a LLaMA decoder (L, D, F, N, K, H, V in the spec's letters).

    Hashable, so it can be a static argument of jitted functions.
    """

    num_layers: int  # L
    model_dims: int  # D
    hidden_dims: int  # F, the SwiGLU inner width
    num_heads: int  # N, query heads
    num_kv_heads: int  # K, key/value heads; K == N is MHA, K < N grouped-query attention
    dims_per_head: int  # H
    vocab_size: int  # V
    use_mqa: bool = False  # separate q/k/v weights (Saxml's USE_MQA); False: one combined_qkv weight, K == N
    rope_theta: float = 10_000.0  # RoPE base; LLaMA-3 uses 500000
    rope_scaling: RopeScaling | None = None  # LLaMA-3.1 frequency scaling
    norm_eps: float = 1e-5  # RMSNorm epsilon
    dtype: str = "bfloat16"  # weights and activations; norms, softmax and log-probs run in float32

    def __post_init__(self) -> None:
        for name in ("num_layers", "model_dims", "hidden_dims", "num_heads", "num_kv_heads", "dims_per_head"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"llama config: {name} must be a positive integer, got {value!r}")
        if not isinstance(self.vocab_size, int) or self.vocab_size < 2:
            raise ValueError(f"llama config: vocab_size must be an integer >= 2, got {self.vocab_size!r}")
        if self.num_heads % self.num_kv_heads != 0:
            raise ValueError(
                f"llama config: num_heads ({self.num_heads}) must be a multiple of "
                f"num_kv_heads ({self.num_kv_heads})"
            )
        if not isinstance(self.use_mqa, bool):
            raise ValueError(f"llama config: use_mqa must be a boolean, got {self.use_mqa!r}")
        if not self.use_mqa and self.num_kv_heads != self.num_heads:
            raise ValueError(
                f"llama config: a combined QKV weight (use_mqa false) needs num_kv_heads = num_heads "
                f"({self.num_heads}), got {self.num_kv_heads}"
            )
        if self.dims_per_head % 2 != 0:
            raise ValueError(f"llama config: dims_per_head must be even for RoPE, got {self.dims_per_head}")
        if not self.rope_theta > 1.0:
            raise ValueError(f"llama config: rope_theta must be > 1, got {self.rope_theta!r}")
        if not self.norm_eps > 0.0:
            raise ValueError(f"llama config: norm_eps must be > 0, got {self.norm_eps!r}")
        if not isinstance(self.dtype, str) or self.dtype not in DTYPES:
            raise ValueError(f"llama config: dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")

    # Derived fields.

    @property
    def queries_per_kv_head(self) -> int:
        """G = N / K: query heads k*G .. k*G+G-1 share kv head k (consecutive grouping, spec §12)."""
        return self.num_heads // self.num_kv_heads

    @property
    def combined_qkv(self) -> bool:
        """MHA checkpoints hold one ``combined_qkv.w`` [3, D, N, H]; USE_MQA ones separate q/k/v (§5.3)."""
        return not self.use_mqa

    @property
    def activation_dtype(self) -> Any:
        """The jnp dtype of weights, activations and the KV cache."""
        return DTYPES[self.dtype]

    @property
    def num_params(self) -> int:
        """Total number of parameters (embedding and output projection counted separately; untied)."""
        from sax_worker.models.llama_params import param_shapes  # local: llama_params imports this module

        return sum(int(np.prod(shape)) for shape in param_shapes(self).values())

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> LlamaConfig:
        """Parses the ``architecture`` of an LM servable config (the model server's llama schema).

        Keys (camelCase): ``family`` (must be ``"llama"``), ``numLayers``, ``modelDims``, ``hiddenDims``,
        ``numHeads``, ``numKvHeads``, ``dimsPerHead``, ``vocabSize``, ``useMqa`` (@default false),
        ``ropeTheta`` (@default 10000), ``ropeScaling`` (null or ``{factor, lowFreqFactor,
        highFreqFactor, originalMaxPositions}``; @default null), ``normEps`` (@default 1e-5), ``dtype``
        (``"float32"`` | ``"bfloat16"``, @default bfloat16), ``tiedEmbeddings`` (must be false),
        ``quantization`` (must be ``{"mode": "none"}``), ``gpuFlashDecoding`` (@default false).
        Unknown keys, missing required ones and unsupported values raise ``ValueError``, except that
        ``gpuFlashDecoding`` with ``useMqa`` raises ``RuntimeError`` "Flash decoding is deprecated." like
        the reference's load (an INTERNAL error there too).
        """
        unknown = sorted(set(config) - _ALL_KEYS)
        if unknown:
            raise ValueError(
                f"llama config: unknown keys {unknown}; expected a subset of {sorted(_ALL_KEYS)}"
            )
        missing = sorted(_REQUIRED_KEYS - set(config))
        if missing:
            raise ValueError(f"llama config: missing required keys {missing}")
        family = config.get("family", "llama")
        if family != "llama":
            raise ValueError(f"llama config: family must be 'llama', got {family!r}")
        if config.get("tiedEmbeddings", False) is not False:
            raise ValueError("llama config: tiedEmbeddings must be false (LLaMA has an untied softmax)")
        quantization = config.get("quantization", {"mode": "none"})
        if not isinstance(quantization, Mapping) or quantization.get("mode") != "none":
            raise ValueError(
                f"llama config: quantization {quantization!r} is not supported yet (only mode none)"
            )
        if config.get("gpuFlashDecoding", False) and config.get("useMqa", False):
            raise RuntimeError("Flash decoding is deprecated.")
        kwargs: dict[str, Any] = {}
        for key, field in _FIELD_BY_KEY.items():
            if key not in config:
                continue
            value = config[key]
            if field in ("rope_theta", "norm_eps"):
                value = _number(key, value)
            kwargs[field] = value
        scaling = config.get("ropeScaling")
        if scaling is not None:
            kwargs["rope_scaling"] = _rope_scaling(scaling)
        return cls(**kwargs)


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"llama config: {key} must be a number, got {value!r}")
    return float(value)


def _rope_scaling(config: Any) -> RopeScaling:
    if not isinstance(config, Mapping):
        raise ValueError(f"llama config: ropeScaling must be an object or null, got {config!r}")
    unknown = sorted(set(config) - set(_SCALING_FIELD_BY_KEY))
    if unknown:
        raise ValueError(f"llama config: unknown ropeScaling keys {unknown}")
    kwargs: dict[str, Any] = {
        _SCALING_FIELD_BY_KEY[k]: _number(f"ropeScaling.{k}", v) for k, v in config.items()
    }
    if "original_max_positions" in kwargs:
        kwargs["original_max_positions"] = int(kwargs["original_max_positions"])
    return RopeScaling(**kwargs)
