"""The LLaMA decoder in plain JAX: pure functions over the §5.3 parameter tree (spec data-plane §12).

One code path serves the full forward (score, embed), the prompt prefill and the per-token decode step:
``apply`` runs T new tokens against a KV cache, writing their post-RoPE keys and values at ``write_index``
and attending causally over every valid cache slot. A plain forward is ``apply`` on an empty cache of
length T. Numerics follow the reference: weights and activations in ``cfg.dtype``; RMSNorm statistics,
RoPE, attention softmax and log-probs in float32 (the reference keeps norm statistics in bf16; the spec
accepts the small difference).

Letters: B batch, T new tokens, S cache slots, D model dims, F hidden dims, N query heads, K kv heads,
G = N/K queries per kv head, H dims per head, V vocab, L layers.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from sax_worker.models.llama_config import LlamaConfig, RopeScaling
from sax_worker.models.llama_params import Params

# Finite rather than -inf so a query row with no valid key (left padding) gives a uniform softmax, not NaN.
_MASKED_LOGIT = -1e30


class KvCache(NamedTuple):
    """Per-layer keys (post-RoPE) and values of every cache slot, plus which slots hold real tokens."""

    k: jax.Array  # [L, B, S, K, H]
    v: jax.Array  # [L, B, S, K, H]
    valid: jax.Array  # [B, S] bool


def empty_cache(cfg: LlamaConfig, batch: int, length: int) -> KvCache:
    """A cache of ``length`` slots per row, all invalid."""
    shape = (cfg.num_layers, batch, length, cfg.num_kv_heads, cfg.dims_per_head)
    return KvCache(
        k=jnp.zeros(shape, cfg.activation_dtype),
        v=jnp.zeros(shape, cfg.activation_dtype),
        valid=jnp.zeros((batch, length), jnp.bool_),
    )


def rms_norm(x: jax.Array, scale: jax.Array, eps: float) -> jax.Array:
    """x · rsqrt(mean(x², last axis) + eps) · scale, with the scale used directly (no +1)."""
    x32 = x.astype(jnp.float32)  # [..., D]
    normed = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + eps)
    return (normed * scale.astype(jnp.float32)).astype(x.dtype)


def rope_frequencies(dims_per_head: int, theta: float, scaling: RopeScaling | None = None) -> np.ndarray:
    """Angular frequency of each interleaved pair j: 1 / theta^(2j/H), [H/2] float32.

    With LLaMA-3.1 scaling (wavelength λ = 2π/f, context C = original_max_positions): λ < C/high keeps f,
    λ > C/low divides it by ``factor``, and in between it blends with s = (C/λ - low) / (high - low):
    (1-s)·f/factor + s·f.
    """
    freqs = 1.0 / theta ** (np.arange(0, dims_per_head, 2, dtype=np.float64) / dims_per_head)
    if scaling is not None:
        wavelength = 2 * np.pi / freqs
        context = scaling.original_max_positions
        s = (context / wavelength - scaling.low_freq_factor) / (
            scaling.high_freq_factor - scaling.low_freq_factor
        )
        blended = (1 - s) * freqs / scaling.factor + s * freqs
        freqs = np.where(
            wavelength < context / scaling.high_freq_factor,
            freqs,
            np.where(wavelength > context / scaling.low_freq_factor, freqs / scaling.factor, blended),
        )
    return freqs.astype(np.float32)


def rope(x: jax.Array, positions: jax.Array, freqs: ArrayLike) -> jax.Array:
    """Rotary embedding over interleaved pairs (2j, 2j+1) of all H dims, by angle position · freqs[j].

    x: [B, T, heads, H]; positions: [B, T]; freqs: [H/2] (``rope_frequencies``). Matches Meta's complex
    formulation, so Meta weights need no permutation (spec §12).
    """
    angles = positions.astype(jnp.float32)[:, :, None, None] * jnp.asarray(freqs)  # [B, T, 1, H/2]
    cos, sin = jnp.cos(angles), jnp.sin(angles)
    x32 = x.astype(jnp.float32)
    even, odd = x32[..., 0::2], x32[..., 1::2]  # [B, T, heads, H/2]
    rotated = jnp.stack([even * cos - odd * sin, odd * cos + even * sin], axis=-1)  # [B, T, heads, H/2, 2]
    return rotated.reshape(x.shape).astype(x.dtype)


def _project_qkv(attn: Params, cfg: LlamaConfig, h: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """h [B, T, D] -> q [B, T, N, H], k and v [B, T, K, H]."""
    if cfg.combined_qkv:
        w = attn["combined_qkv"]["w"]  # [3, D, N, H]; index 0/1/2 = q/k/v
        wq, wk, wv = w[0], w[1], w[2]
    else:
        wq, wk, wv = attn["query"]["w"], attn["key"]["w"], attn["value"]["w"]  # [D, N|K, H]
    q = jnp.einsum("btd,dnh->btnh", h, wq)
    k = jnp.einsum("btd,dkh->btkh", h, wk)
    v = jnp.einsum("btd,dkh->btkh", h, wv)
    return q, k, v


def _attend(cfg: LlamaConfig, q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array) -> jax.Array:
    """Grouped-query attention: q [B, T, N, H] over k, v [B, S, K, H] where mask [B, T, S] -> [B, T, N, H].

    Query head n reads kv head n // G: splitting N into (K, G) puts heads k*G .. k*G+G-1 on kv head k.
    """
    b, t, n, h = q.shape
    q = q.reshape(b, t, cfg.num_kv_heads, cfg.queries_per_kv_head, h)  # [B, T, K, G, H]
    q = q * jnp.asarray(h**-0.5, q.dtype)
    logits = jnp.einsum("btkgh,bskh->bkgts", q, k).astype(jnp.float32)  # [B, K, G, T, S]
    logits = jnp.where(mask[:, None, None, :, :], logits, _MASKED_LOGIT)
    probs = jax.nn.softmax(logits, axis=-1).astype(v.dtype)
    context = jnp.einsum("bkgts,bskh->btkgh", probs, v)  # [B, T, K, G, H]
    return context.reshape(b, t, n, h)


def _ffn(ff: Params, cfg: LlamaConfig, x: jax.Array) -> jax.Array:
    """Pre-norm SwiGLU: (silu(g·W_gate) ⊙ (g·W_1)) · W_2 for g = rmsnorm(x); x [B, T, D] -> [B, T, D]."""
    g = rms_norm(x, ff["layer_norm"]["scale"], cfg.norm_eps)
    gate = jax.nn.silu(g @ ff["ffn_layer1_gate"]["linear"]["w"])  # [B, T, F]
    up = g @ ff["ffn_layer1"]["linear"]["w"]  # [B, T, F]
    return (gate * up) @ ff["ffn_layer2"]["linear"]["w"]  # [B, T, D]


def apply(
    params: Params,
    cfg: LlamaConfig,
    ids: jax.Array,
    positions: jax.Array,
    token_valid: jax.Array,
    cache: KvCache,
    write_index: jax.Array | int,
) -> tuple[jax.Array, jax.Array, KvCache]:
    """Runs T new tokens, stored at cache slots [write_index, write_index + T).

    ids, positions (RoPE position, 0 at SOS): [B, T] int; token_valid: [B, T] bool (False for padding).
    Each new token attends to valid slots at or before its own. Returns float32 logits [B, T, V], the final
    normalised hidden states [B, T, D] and the updated cache.
    """
    lm = params["lm"]
    t = ids.shape[1]
    valid = jax.lax.dynamic_update_slice(cache.valid, token_valid, (0, write_index))  # [B, S]
    slots = jnp.arange(valid.shape[1])  # [S]
    query_slots = write_index + jnp.arange(t)  # [T]
    mask = valid[:, None, :] & (slots[None, None, :] <= query_slots[None, :, None])  # [B, T, S]

    freqs = rope_frequencies(cfg.dims_per_head, cfg.rope_theta, cfg.rope_scaling)  # [H/2], a constant
    x = jnp.take(lm["embedding_lookup"]["emb_var"], ids, axis=0)  # [B, T, D]
    cache_k, cache_v = cache.k, cache.v
    for i in range(cfg.num_layers):
        layer = lm["transformer"][f"x_layers_{i}"]
        h = rms_norm(x, layer["layer_norm"]["scale"], cfg.norm_eps)
        q, k, v = _project_qkv(layer["self_attention"], cfg, h)
        q = rope(q, positions, freqs)
        k = rope(k, positions, freqs)
        cache_k = jax.lax.dynamic_update_slice(cache_k, k[None], (i, 0, write_index, 0, 0))
        cache_v = jax.lax.dynamic_update_slice(cache_v, v[None], (i, 0, write_index, 0, 0))
        context = _attend(cfg, q, cache_k[i], cache_v[i], mask)  # [B, T, N, H]
        x = x + jnp.einsum("btnh,dnh->btd", context, layer["self_attention"]["post"]["w"])
        x = x + _ffn(layer["ff_layer"], cfg, x)

    hidden = rms_norm(x, lm["final_ln"]["scale"], cfg.norm_eps)  # [B, T, D]
    logits = (hidden @ lm["softmax"]["logits_ffn"]["linear"]["w"]).astype(jnp.float32)  # [B, T, V]
    return logits, hidden, KvCache(cache_k, cache_v, valid)


def forward(
    params: Params, cfg: LlamaConfig, ids: jax.Array, positions: jax.Array, token_valid: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Full causal forward without a persistent cache: float32 logits [B, T, V], hidden [B, T, D]."""
    cache = empty_cache(cfg, ids.shape[0], ids.shape[1])
    logits, hidden, _ = apply(params, cfg, ids, positions, token_valid, cache, 0)
    return logits, hidden


def token_log_probs(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """log p(labels) under float32 log-softmax: logits [..., V], labels [...] int -> [...]."""
    log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    return jnp.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]


def num_params(params: Any) -> int:
    """Number of scalars in a parameter tree."""
    return sum(int(x.size) for x in jax.tree_util.tree_leaves(params))
