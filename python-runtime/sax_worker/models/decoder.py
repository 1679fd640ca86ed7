"""A decoder-only transformer in plain JAX: pure functions over the device tree of ``decoder_params``.

Three entry points cover every LM method:

- ``forward`` runs whole sequences (score, embed, gradient); ``prefill`` runs prompts and returns each
  layer's keys (post-RoPE) and values, ready to be ``insert``-ed into a KV cache;
- ``decode_step`` runs one new token per cache slot against a ``KvCache`` of independent slots: each slot
  has its own length, so requests may join and leave between steps (continuous batching).

Layers run one after another, each over its own weights and its own KV-cache arrays. Numerics follow
the reference: weights and activations in ``cfg.dtype``; norm statistics, RoPE, attention softmax and
log-probs in float32 (the reference keeps norm statistics in bf16; the spec accepts the small
difference). Family differences (norms, positions, caps, FFN) are read from ``DecoderConfig``'s feature
properties.

Letters: B batch, T tokens, S cache slots, C cache length, D model dims, F hidden dims, N query heads,
K kv heads, G = N/K queries per kv head, H dims per head, V vocab, L layers.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from sax_worker.models.decoder_config import DecoderConfig, RopeScaling
from sax_worker.models.decoder_params import Params

# Finite rather than -inf so a query row with no valid key (padding) gives a uniform softmax, not NaN.
_MASKED_LOGIT = -1e30
# 1/softplus(0): a zero per-dim scale leaves queries scaled by exactly 1/√H (Praxis' convention).
_PER_DIM_SCALE_NORMALISER = 1.442695041
_SINUSOID_MAX_TIMESCALE = 10_000.0


LayerKv = tuple[jax.Array, ...]
"""One array per layer: keys or values of a KV cache [S, K, C, H], or of sequences [B, T, K, H]."""


class KvCache(NamedTuple):
    """Keys (post-RoPE) and values of every cache slot, and how many tokens each slot holds.

    Head-major ([S, K, C, H], not [S, C, K, H]): attention contracts each slot's and head's [C, H] block
    directly, where the position-major layout made XLA copy every layer's whole cache into that order at
    every step (at 32 slots of 160 positions, 84 MB a step for a 4-layer model of 8 heads of 64).
    """

    k: LayerKv  # L of [S, K, C, H]
    v: LayerKv  # L of [S, K, C, H]
    lengths: jax.Array  # [S] int32: tokens held; also the position of the slot's next token


def empty_cache(cfg: DecoderConfig, slots: int, length: int) -> KvCache:
    """``slots`` empty slots of ``length`` positions each."""
    shape = (slots, cfg.num_kv_heads, length, cfg.dims_per_head)
    layers = range(cfg.num_layers)
    return KvCache(
        k=tuple(jnp.zeros(shape, cfg.activation_dtype) for _ in layers),
        v=tuple(jnp.zeros(shape, cfg.activation_dtype) for _ in layers),
        lengths=jnp.zeros((slots,), jnp.int32),
    )


def insert(cache: KvCache, k: LayerKv, v: LayerKv, lengths: jax.Array, slots: jax.Array) -> KvCache:
    """Puts sequences' keys and values k, v (L of [B, T, K, H], T <= C) at the start of cache ``slots`` [B].

    ``lengths`` [B] says how many of the T positions are real; the rest is overwritten as the slot decodes.
    A sequence whose slot is past the last one is dropped.
    """

    def put(cached: LayerKv, new: LayerKv) -> LayerKv:
        return tuple(
            c.at[slots, :, : n.shape[1]].set(n.swapaxes(1, 2).astype(c.dtype), mode="drop")
            for c, n in zip(cached, new, strict=True)
        )

    grown = cache.lengths.at[slots].set(lengths.astype(jnp.int32), mode="drop")
    return KvCache(put(cache.k, k), put(cache.v, v), grown)


def norm(x: jax.Array, p: Params, cfg: DecoderConfig) -> jax.Array:
    """RMSNorm (scale used directly) or LayerNorm (``1 + scale``, plus bias), statistics in float32."""
    x32 = x.astype(jnp.float32)  # [..., D]
    if cfg.layer_norm:
        centred = x32 - jnp.mean(x32, axis=-1, keepdims=True)
        normed = centred * jax.lax.rsqrt(jnp.mean(centred * centred, axis=-1, keepdims=True) + cfg.norm_eps)
        out = normed * (1.0 + p["scale"].astype(jnp.float32)) + p["bias"].astype(jnp.float32)
    else:
        normed = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + cfg.norm_eps)
        out = normed * p["scale"].astype(jnp.float32)
    return out.astype(x.dtype)


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


def sinusoid(positions: jax.Array, dims: int) -> jax.Array:
    """Absolute position signal [B, T, D]: [sin | cos] of position times D/2 timescales from 1 to 10000."""
    half = dims // 2
    increment = math.log(_SINUSOID_MAX_TIMESCALE) / max(half - 1, 1)
    inv_timescales = jnp.exp(jnp.arange(half, dtype=jnp.float32) * -increment)  # [D/2]
    scaled = positions.astype(jnp.float32)[:, :, None] * inv_timescales  # [B, T, D/2]
    return jnp.concatenate([jnp.sin(scaled), jnp.cos(scaled)], axis=-1)


def embed(params: Params, cfg: DecoderConfig, ids: jax.Array, positions: jax.Array) -> jax.Array:
    """Token (and, for sinusoidal families, position) embeddings [B, T, D]."""
    if cfg.tied_embeddings:
        table = params["softmax"]  # [D, V]
        x = jnp.take(table.T, ids, axis=0) * jnp.asarray(math.sqrt(cfg.model_dims), table.dtype)
    else:
        x = jnp.take(params["embedding"], ids, axis=0)
    if not cfg.rotary:
        x = (x.astype(jnp.float32) + sinusoid(positions, cfg.model_dims)).astype(x.dtype)
    return x


def _project_qkv(
    lp: Params, cfg: DecoderConfig, h: jax.Array, positions: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """h [B, T, D] -> q [B, T, N, H] (scaled, rotated), k [B, T, K, H] (rotated) and v [B, T, K, H]."""
    if cfg.combined_qkv:
        wq, wk, wv = lp["qkv"][0], lp["qkv"][1], lp["qkv"][2]  # each [D, N, H]; index 0/1/2 = q/k/v
    else:
        wq, wk, wv = lp["q"], lp["k"], lp["v"]
    q = jnp.einsum("btd,dnh->btnh", h, wq)
    k = jnp.einsum("btd,dkh->btkh", h, wk)
    v = jnp.einsum("btd,dkh->btkh", h, wv)
    if cfg.rotary:
        freqs = rope_frequencies(cfg.dims_per_head, cfg.rope_theta, cfg.rope_scaling)  # a constant
        q, k = rope(q, positions, freqs), rope(k, positions, freqs)
    h_dims = cfg.dims_per_head
    if cfg.per_dim_scale:
        factor = _PER_DIM_SCALE_NORMALISER / math.sqrt(h_dims) * jax.nn.softplus(lp["per_dim_scale"])
        q = (q.astype(jnp.float32) * factor.astype(jnp.float32)).astype(q.dtype)
    else:
        q = q * jnp.asarray(h_dims**-0.5, q.dtype)
    return q, k, v


def _attend(cfg: DecoderConfig, q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array) -> jax.Array:
    """Grouped-query attention: q [B, T, N, H] over k, v [B, S, K, H] where mask [B, T, S] -> [B, T, N, H].

    Query head n reads kv head n // G: splitting N into (K, G) puts heads k*G .. k*G+G-1 on kv head k.
    """
    b, t, n, h = q.shape
    q = q.reshape(b, t, cfg.num_kv_heads, cfg.queries_per_kv_head, h)  # [B, T, K, G, H]
    logits = jnp.einsum("btkgh,bskh->bkgts", q, k).astype(jnp.float32)  # [B, K, G, T, S]
    logits = _cap(cfg, logits)
    logits = jnp.where(mask[:, None, None, :, :], logits, _MASKED_LOGIT)
    probs = jax.nn.softmax(logits, axis=-1).astype(v.dtype)
    context = jnp.einsum("bkgts,bskh->btkgh", probs, v)  # [B, T, K, G, H]
    return context.reshape(b, t, n, h)


def _attend_one(cfg: DecoderConfig, q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array) -> jax.Array:
    """One query per row (decoding): q [B, K, G, H] over cache rows k, v [B, K, C, H] where mask [B, C].

    Returns the context [B, K, G, H].

    With several queries per kv head (G > 1, grouped-query attention) it is written as broadcast
    products and sums: as matrix products those are B·K tiny ones, which XLA's CPU backend runs one by
    one, while the elementwise form fuses into a few loops over the cache (about twice as fast per step
    at 32 rows). With one query per kv head (G = 1) the size-1 axis defeats that fusion (8x slower than a
    contraction at 32 rows of 8 heads of 64), so those contract with einsum.
    """
    if q.shape[2] == 1:
        logits = jnp.einsum("bkgh,bkch->bkgc", q, k, preferred_element_type=jnp.float32)  # [B, K, 1, C]
    else:
        logits = jnp.sum(q[:, :, :, None, :] * k[:, :, None], axis=-1, dtype=jnp.float32)  # [B, K, G, C]
    logits = jnp.where(mask[:, None, None, :], _cap(cfg, logits), _MASKED_LOGIT)
    probs = jax.nn.softmax(logits, axis=-1).astype(v.dtype)
    if q.shape[2] == 1:
        return jnp.einsum("bkgc,bkch->bkgh", probs, v)  # [B, K, 1, H]
    return jnp.sum(probs[..., None] * v[:, :, None], axis=3)  # [B, K, G, H]


def _cap(cfg: DecoderConfig, logits: jax.Array) -> jax.Array:
    """cap·tanh(logits/cap) when the config soft-caps attention logits."""
    if cfg.attention_logit_cap is None:
        return logits
    return cfg.attention_logit_cap * jnp.tanh(logits / cfg.attention_logit_cap)


def _ffn(lp: Params, cfg: DecoderConfig, x: jax.Array) -> jax.Array:
    """Pre-norm FFN on x [B, T, D]: SwiGLU (silu(g·W_gate) ⊙ g·W_1)·W_2, or GELU(g·W_1 + b_1)·W_2 + b_2."""
    g = norm(x, lp["ffn_norm"], cfg)
    if cfg.gated_ffn:
        inner = jax.nn.silu(g @ lp["gate"]) * (g @ lp["up"])  # [B, T, F]
        return inner @ lp["down"]
    inner = jax.nn.gelu(g @ lp["up"] + lp["up_bias"], approximate=True)
    return inner @ lp["down"] + lp["down_bias"]


def _attention_input(
    lp: Params, cfg: DecoderConfig, x: jax.Array, positions: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """A pre-norm block's queries, keys and values for x [B, T, D] (``_project_qkv`` of the normed x)."""
    return _project_qkv(lp, cfg, norm(x, lp["attn_norm"], cfg), positions)


def _block_output(lp: Params, cfg: DecoderConfig, x: jax.Array, context: jax.Array) -> jax.Array:
    """The block's output from its input x [B, T, D] and its attention context [B, T, N, H]."""
    b, t, n, h = context.shape
    x = x + context.reshape(b, t, n * h) @ lp["post"].reshape(n * h, -1)  # post: [N, H, D]
    return x + _ffn(lp, cfg, x)


def _output(params: Params, cfg: DecoderConfig, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Final norm and softmax: float32 logits [..., V] (soft-capped if configured), hidden [..., D]."""
    hidden = norm(x, params["final_norm"], cfg)
    logits = (hidden @ params["softmax"]).astype(jnp.float32)
    if cfg.output_logit_cap is not None:
        logits = cfg.output_logit_cap * jnp.tanh(logits / cfg.output_logit_cap)
    return logits, hidden


def positions_of(ids: jax.Array) -> jax.Array:
    """Positions of right-padded sequences ids [B, T]: 0 at SOS, [B, T]."""
    return jnp.broadcast_to(jnp.arange(ids.shape[1]), ids.shape)


def forward(
    params: Params, cfg: DecoderConfig, ids: jax.Array, positions: jax.Array, token_valid: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Whole sequences, causally: ids, positions (0 at SOS), token_valid (False on padding) [B, T].

    Returns float32 logits [B, T, V] and final normalised hidden states [B, T, D].
    """
    x = embed(params, cfg, ids, positions)
    return forward_from_embeddings(params, cfg, x, positions, token_valid)


def forward_from_embeddings(
    params: Params, cfg: DecoderConfig, x: jax.Array, positions: jax.Array, token_valid: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """``forward`` from input embeddings x [B, T, D] (``embed``'s output) instead of ids."""
    x, _, _ = _causal_layers(params, cfg, x, positions, token_valid)
    return _output(params, cfg, x)


def prefill(
    params: Params, cfg: DecoderConfig, ids: jax.Array, lengths: jax.Array
) -> tuple[jax.Array, LayerKv, LayerKv]:
    """Right-padded prompts ids [B, P] of ``lengths`` [B] tokens (SOS included): the float32 logits [B, V]
    of each prompt's next token and every layer's keys and values (L of [B, P, K, H]).

    Only each prompt's last position goes through the softmax layer, the biggest matrix of a small model.
    """
    at = positions_of(ids)
    x = embed(params, cfg, ids, at)
    x, keys, values = _causal_layers(params, cfg, x, at, at < lengths[:, None])
    last = jnp.take_along_axis(x, (lengths - 1)[:, None, None], axis=1)[:, 0]  # [B, D]
    logits, _ = _output(params, cfg, last)
    return logits, keys, values


def _causal_layers(
    params: Params, cfg: DecoderConfig, x: jax.Array, positions: jax.Array, token_valid: jax.Array
) -> tuple[jax.Array, LayerKv, LayerKv]:
    """Every layer over whole sequences x [B, T, D]: the last layer's output and all keys and values."""
    t = x.shape[1]
    causal = jnp.arange(t)[None, :] <= jnp.arange(t)[:, None]  # [T, T]: key index <= query index
    mask = causal[None, :, :] & token_valid[:, None, :]  # [B, T, T]
    keys, values = [], []
    for lp in params["layers"]:
        q, k, v = _attention_input(lp, cfg, x, positions)
        x = _block_output(lp, cfg, x, _attend(cfg, q, k, v, mask))
        keys.append(k)
        values.append(v)
    return x, tuple(keys), tuple(values)


def decode_step(
    params: Params,
    cfg: DecoderConfig,
    cache: KvCache,
    tokens: jax.Array,
    advance: jax.Array,
    window: int | None = None,
) -> tuple[jax.Array, KvCache]:
    """Runs one token for each of the first R slots, tokens [R] (R <= S), at each slot's position
    ``cache.lengths``; slots from R on are neither computed nor changed.

    The token's key and value are written at that position (dropped when the slot is full) and the token
    attends to the slot's positions up to its own. Slots where ``advance`` [R] is set grow by one; others
    keep their length, so an idle slot can run along without consuming space. Returns float32 logits
    [R, V] for each slot's next token and the updated cache.

    Attention reads only the first ``window`` positions of each slot (all C when None): the caller
    promises that every slot whose logits it uses holds its new token's position inside the window. Reading
    the cache is most of attention's cost, so a window sized to the live slots rather than to C saves
    the reads of positions nobody has filled yet.
    """
    rows = tokens.shape[0]
    window = cache.k[0].shape[2] if window is None else window
    lengths = cache.lengths[:rows]
    positions = lengths[:, None]  # [R, 1]
    # Where each row's new key and value go: (slot, head, position) [R, K] each. Indexing every axis but H
    # lets XLA scatter into the donated cache in place; leaving the head axis to a slice between two
    # indexed axes made it copy the layer's cache three times.
    at = (jnp.arange(rows)[:, None], jnp.arange(cfg.num_kv_heads)[None, :], positions)
    seen = (slice(rows), slice(None), slice(window))  # of a layer's cache: what attention reads
    visible = jnp.arange(window)[None, :] <= lengths[:, None]  # [R, W]
    grouped = (rows, cfg.num_kv_heads, cfg.queries_per_kv_head, cfg.dims_per_head)  # [R, K, G, H]
    x = embed(params, cfg, tokens[:, None], positions)  # [R, 1, D]
    new_k, new_v = [], []
    for lp, layer_k, layer_v in zip(params["layers"], cache.k, cache.v, strict=True):
        q, k, v = _attention_input(lp, cfg, x, positions)
        layer_k = layer_k.at[at].set(k[:, 0], mode="drop")  # [S, K, C, H]
        layer_v = layer_v.at[at].set(v[:, 0], mode="drop")
        context = _attend_one(cfg, q.reshape(grouped), layer_k[seen], layer_v[seen], visible)
        x = _block_output(lp, cfg, x, context.reshape(q.shape))
        new_k.append(layer_k)
        new_v.append(layer_v)
    logits, _ = _output(params, cfg, x[:, 0])
    grown = cache.lengths.at[:rows].add(advance.astype(jnp.int32))
    return logits, KvCache(tuple(new_k), tuple(new_v), grown)


def token_log_probs(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """log p(labels) under float32 log-softmax: logits [..., V], labels [...] int -> [...]."""
    log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    return jnp.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
