"""Architecture of a decoder-only LM, parsed once at the edge (spec data-plane §2.1, §2.3, §12).

Two families share one implementation and differ in a handful of choices that ``DecoderConfig`` exposes
as properties, so the model math reads features rather than family names:

| choice            | ``llama``                       | ``lm_cloud`` (Paxml GPT-style)                  |
|-------------------|---------------------------------|-------------------------------------------------|
| norm              | RMSNorm, scale used directly    | LayerNorm with bias, scale applied as 1 + scale |
| positions         | interleaved-pair RoPE           | sinusoidal, added to the embeddings             |
| embedding/softmax | untied, no input scaling        | tied ([D, V] softmax weight), lookup times √D   |
| query scale       | 1/√H                            | learned per-dim scale                           |
| logit soft caps   | none                            | attention 50, output 30                         |
| FFN               | SwiGLU, no biases               | GELU (tanh), non-gated, with biases             |
| checkpoint layers | one ``x_layers_i`` per layer    | stacked ``repeat.sub.x_layers_0``               |

The model server sends the architecture as a camelCase mapping (``DecoderConfig.from_dict``); serving
knobs (sequence lengths, sampling) live in ``lm_serving_config``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp

#: Activation/weight dtypes a config may name.
DTYPES: Mapping[str, Any] = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}

FAMILIES = ("llama", "lm_cloud")


@dataclasses.dataclass(frozen=True)
class RopeScaling:
    """LLaMA-3.1 RoPE frequency scaling (spec §12); field defaults are LLaMA-3.1's."""

    factor: float = 8.0  # low frequencies are divided by this
    low_freq_factor: float = 1.0  # wavelengths above original_max_positions / this are scaled
    high_freq_factor: float = 4.0  # wavelengths below original_max_positions / this are kept
    original_max_positions: int = 8192

    def __post_init__(self) -> None:
        if not (self.factor > 0 and 0 < self.low_freq_factor < self.high_freq_factor):
            raise ValueError(f"decoder config: invalid ropeScaling {self}")
        if self.original_max_positions < 1:
            raise ValueError(f"decoder config: invalid ropeScaling {self}")


@dataclasses.dataclass(frozen=True)
class DecoderConfig:
    """Shapes and numerics of a decoder (L, D, F, N, K, H, V in the spec's letters).

    Hashable, so it can be a static argument of jitted functions.
    """

    num_layers: int  # L
    model_dims: int  # D
    hidden_dims: int  # F, the FFN inner width
    num_heads: int  # N, query heads
    num_kv_heads: int  # K, key/value heads; K == N is MHA, K < N grouped-query attention
    dims_per_head: int  # H
    vocab_size: int  # V
    family: str = "llama"
    use_mqa: bool = False  # separate q/k/v weights (Saxml's USE_MQA); False: one combined_qkv weight, K == N
    rope_theta: float = 10_000.0  # RoPE base; LLaMA-3 uses 500000
    rope_scaling: RopeScaling | None = None  # LLaMA-3.1 frequency scaling
    norm_eps: float = 1e-5  # RMSNorm / LayerNorm epsilon
    attention_logit_cap: float | None = None  # cap·tanh(x/cap) on attention logits
    output_logit_cap: float | None = None  # cap·tanh(x/cap) on output logits
    dtype: str = "bfloat16"  # weights and activations; norms, softmax and log-probs run in float32

    def __post_init__(self) -> None:
        for name in ("num_layers", "model_dims", "hidden_dims", "num_heads", "num_kv_heads", "dims_per_head"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"decoder config: {name} must be a positive integer, got {value!r}")
        if not isinstance(self.vocab_size, int) or self.vocab_size < 2:
            raise ValueError(f"decoder config: vocab_size must be an integer >= 2, got {self.vocab_size!r}")
        if self.family not in FAMILIES:
            raise ValueError(f"decoder config: family must be one of {FAMILIES}, got {self.family!r}")
        if self.num_heads % self.num_kv_heads != 0:
            raise ValueError(
                f"decoder config: num_heads ({self.num_heads}) must be a multiple of "
                f"num_kv_heads ({self.num_kv_heads})"
            )
        if not isinstance(self.use_mqa, bool):
            raise ValueError(f"decoder config: use_mqa must be a boolean, got {self.use_mqa!r}")
        if not self.use_mqa and self.num_kv_heads != self.num_heads:
            raise ValueError(
                f"decoder config: a combined QKV weight (use_mqa false) needs num_kv_heads = num_heads "
                f"({self.num_heads}), got {self.num_kv_heads}"
            )
        if self.family == "lm_cloud" and self.use_mqa:
            raise ValueError("decoder config: the lm_cloud family has a combined QKV weight (use_mqa false)")
        if self.dims_per_head % 2 != 0:
            raise ValueError(f"decoder config: dims_per_head must be even, got {self.dims_per_head}")
        if self.family == "lm_cloud" and self.model_dims % 2 != 0:
            raise ValueError(
                f"decoder config: sinusoidal positions need an even model_dims, got {self.model_dims}"
            )
        if not self.rope_theta > 1.0:
            raise ValueError(f"decoder config: rope_theta must be > 1, got {self.rope_theta!r}")
        if not self.norm_eps > 0.0:
            raise ValueError(f"decoder config: norm_eps must be > 0, got {self.norm_eps!r}")
        for name in ("attention_logit_cap", "output_logit_cap"):
            cap = getattr(self, name)
            if cap is not None and not cap > 0:
                raise ValueError(f"decoder config: {name} must be > 0 or None, got {cap!r}")
        if not isinstance(self.dtype, str) or self.dtype not in DTYPES:
            raise ValueError(f"decoder config: dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")

    # Family features (see the module docstring).

    @property
    def is_llama(self) -> bool:
        return self.family == "llama"

    @property
    def layer_norm(self) -> bool:
        """LayerNorm with bias and ``1 + scale``; False: RMSNorm with the scale used directly."""
        return not self.is_llama

    @property
    def rotary(self) -> bool:
        """RoPE on queries and keys; False: sinusoidal positions added to the embeddings."""
        return self.is_llama

    @property
    def tied_embeddings(self) -> bool:
        """The softmax weight [D, V] is also the embedding table (looked up transposed, times √D)."""
        return not self.is_llama

    @property
    def per_dim_scale(self) -> bool:
        """Queries scaled by a learned per-dim factor instead of 1/√H."""
        return not self.is_llama

    @property
    def gated_ffn(self) -> bool:
        """SwiGLU without biases; False: GELU (tanh) with biases."""
        return self.is_llama

    @property
    def stacked_checkpoint(self) -> bool:
        """Checkpoints hold the layers stacked (``repeat.sub.x_layers_0``) rather than one per layer."""
        return not self.is_llama

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

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> DecoderConfig:
        """Parses the ``architecture`` of an LM servable config (the registry's architecture schemas).

        ``family`` picks the key set: ``llama`` (``numLayers``, ``modelDims``, ``hiddenDims``, ``numHeads``,
        ``numKvHeads``, ``dimsPerHead``, ``vocabSize``, ``useMqa``, ``ropeTheta``, ``ropeScaling``,
        ``normEps``, ``dtype``, ``tiedEmbeddings`` false, ``quantization`` none, ``gpuFlashDecoding``) or
        ``lm_cloud`` (the shapes without ``numKvHeads``, ``normEps``, ``attentionLogitSoftCap``,
        ``outputLogitSoftCap``, ``dtype`` and the fixed family choices ``perDimScale`` true,
        ``activation`` gelu_tanh, ``tiedEmbeddings`` true, ``positionEmbedding`` sinusoidal,
        ``repeatedLayers`` true, ``quantization`` none). Unknown keys, missing required ones and
        unsupported values raise ``ValueError``; ``gpuFlashDecoding`` with ``useMqa`` raises
        ``RuntimeError`` "Flash decoding is deprecated." like the reference's load (INTERNAL there too).
        """
        family = config.get("family", "llama")
        if family == "llama":
            return _llama_from_dict(config)
        if family == "lm_cloud":
            return _lm_cloud_from_dict(config)
        raise ValueError(f"decoder config: family must be one of {FAMILIES}, got {family!r}")


_SHAPE_KEYS = {
    "numLayers": "num_layers",
    "modelDims": "model_dims",
    "hiddenDims": "hidden_dims",
    "numHeads": "num_heads",
    "dimsPerHead": "dims_per_head",
    "vocabSize": "vocab_size",
}
_LLAMA_KEYS = {
    **_SHAPE_KEYS,
    "numKvHeads": "num_kv_heads",
    "useMqa": "use_mqa",
    "ropeTheta": "rope_theta",
    "normEps": "norm_eps",
    "dtype": "dtype",
}
_LM_CLOUD_KEYS = {
    **_SHAPE_KEYS,
    "normEps": "norm_eps",
    "attentionLogitSoftCap": "attention_logit_cap",
    "outputLogitSoftCap": "output_logit_cap",
    "dtype": "dtype",
}
# Keys whose only supported value is fixed: key -> that value.
_LLAMA_FIXED = {"tiedEmbeddings": False}
_LM_CLOUD_FIXED = {
    "perDimScale": True,
    "activation": "gelu_tanh",
    "tiedEmbeddings": True,
    "positionEmbedding": "sinusoidal",
    "repeatedLayers": True,
}
_LM_CLOUD_DEFAULTS = {"norm_eps": 1e-6, "attention_logit_cap": 50.0, "output_logit_cap": 30.0}
_SCALING_FIELD_BY_KEY = {
    "factor": "factor",
    "lowFreqFactor": "low_freq_factor",
    "highFreqFactor": "high_freq_factor",
    "originalMaxPositions": "original_max_positions",
}
_FLOAT_FIELDS = frozenset({"rope_theta", "norm_eps", "attention_logit_cap", "output_logit_cap"})


def _llama_from_dict(config: Mapping[str, Any]) -> DecoderConfig:
    _check_keys(config, _LLAMA_KEYS, {*_LLAMA_FIXED, "ropeScaling", "quantization", "gpuFlashDecoding"})
    _check_required(config, [*_SHAPE_KEYS, "numKvHeads"])
    _check_fixed(config, _LLAMA_FIXED)
    _check_no_quantization(config)
    if config.get("gpuFlashDecoding", False) and config.get("useMqa", False):
        raise RuntimeError("Flash decoding is deprecated.")
    kwargs = _fields(config, _LLAMA_KEYS)
    scaling = config.get("ropeScaling")
    if scaling is not None:
        kwargs["rope_scaling"] = _rope_scaling(scaling)
    return DecoderConfig(family="llama", **kwargs)


def _lm_cloud_from_dict(config: Mapping[str, Any]) -> DecoderConfig:
    _check_keys(config, _LM_CLOUD_KEYS, {*_LM_CLOUD_FIXED, "quantization"})
    _check_required(config, list(_SHAPE_KEYS))
    _check_fixed(config, _LM_CLOUD_FIXED)
    _check_no_quantization(config)
    kwargs = {**_LM_CLOUD_DEFAULTS, **_fields(config, _LM_CLOUD_KEYS)}
    return DecoderConfig(family="lm_cloud", num_kv_heads=kwargs["num_heads"], **kwargs)


def _check_keys(config: Mapping[str, Any], fields: Mapping[str, str], checked: set[str]) -> None:
    allowed = {"family", *fields, *checked}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ValueError(f"decoder config: unknown keys {unknown}; expected a subset of {sorted(allowed)}")


def _check_required(config: Mapping[str, Any], required: list[str]) -> None:
    missing = sorted(set(required) - set(config))
    if missing:
        raise ValueError(f"decoder config: missing required keys {missing}")


def _check_fixed(config: Mapping[str, Any], fixed: Mapping[str, Any]) -> None:
    for key, value in fixed.items():
        if key in config and config[key] != value:
            raise ValueError(
                f"decoder config: {key} {config[key]!r} is not supported for family "
                f"{config.get('family', 'llama')!r} (only {value!r})"
            )


def _check_no_quantization(config: Mapping[str, Any]) -> None:
    quantization = config.get("quantization", {"mode": "none"})
    if not isinstance(quantization, Mapping) or quantization.get("mode") != "none":
        raise ValueError(f"decoder config: quantization {quantization!r} is not supported (only mode none)")


def _fields(config: Mapping[str, Any], keys: Mapping[str, str]) -> dict[str, Any]:
    return {
        field: _number(key, config[key]) if field in _FLOAT_FIELDS else config[key]
        for key, field in keys.items()
        if key in config
    }


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"decoder config: {key} must be a number, got {value!r}")
    return float(value)


def _rope_scaling(config: Any) -> RopeScaling:
    if not isinstance(config, Mapping):
        raise ValueError(f"decoder config: ropeScaling must be an object or null, got {config!r}")
    unknown = sorted(set(config) - set(_SCALING_FIELD_BY_KEY))
    if unknown:
        raise ValueError(f"decoder config: unknown ropeScaling keys {unknown}")
    kwargs: dict[str, Any] = {
        _SCALING_FIELD_BY_KEY[k]: _number(f"ropeScaling.{k}", v) for k, v in config.items()
    }
    if "original_max_positions" in kwargs:
        kwargs["original_max_positions"] = int(kwargs["original_max_positions"])
    return RopeScaling(**kwargs)
