"""The LLaMA decoder in PyTorch: the function ``models.decoder`` computes, over ``TorchWeights``.

Two entry points, as in the JAX decoder: ``forward`` runs whole sequences (prefill, score, embed,
gradient) and returns each layer's keys (post-RoPE) and values; ``decode_step`` runs one new token per
row against a ``KvCache`` whose rows each have their own length. Numerics follow the JAX decoder: weights
and activations in ``cfg.dtype``; RMSNorm statistics, RoPE, the attention softmax and log-probs in
float32; masked attention logits are a large finite negative, so a padding row stays finite.

Letters as in ``models.decoder``: B batch (rows), T tokens, S attended positions, C cache length,
D model dims, F hidden dims, N query heads, K kv heads, G = N/K, H dims per head, V vocab, L layers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
import torch.nn.functional as F

from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.torch_models.weights import LayerWeights, TorchWeights

_MASKED_LOGIT = -1e30


@dataclasses.dataclass
class KvCache:
    """Keys (post-RoPE) and values of every row, and how many positions each row holds."""

    k: torch.Tensor  # [L, B, K, C, H]
    v: torch.Tensor  # [L, B, K, C, H]
    lengths: torch.Tensor  # [B] int64: positions held; also the position of the row's next token


def rms_norm(x: torch.Tensor, scale: torch.Tensor, eps: float) -> torch.Tensor:
    """RMSNorm over the last axis with float32 statistics, the scale used directly."""
    x32 = x.float()
    normed = x32 * torch.rsqrt(x32.square().mean(-1, keepdim=True) + eps)
    return (normed * scale.float()).to(x.dtype)


def rotation(positions: torch.Tensor, freqs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin [B, T, 1, H/2] of the RoPE angles position · freqs[j]; positions [B, T], freqs [H/2]."""
    angles = positions.float()[:, :, None, None] * freqs
    return angles.cos(), angles.sin()


def rope(x: torch.Tensor, cos_sin: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Rotary embedding of x [B, T, heads, H] over interleaved pairs (2j, 2j+1), by ``rotation``'s angles."""
    cos, sin = cos_sin
    x32 = x.float()
    even, odd = x32[..., 0::2], x32[..., 1::2]  # [B, T, heads, H/2]
    rotated = torch.stack([even * cos - odd * sin, odd * cos + even * sin], dim=-1)  # [B, T, heads, H/2, 2]
    return rotated.flatten(-2).to(x.dtype)


def embed(weights: TorchWeights, ids: torch.Tensor) -> torch.Tensor:
    """Token embeddings [B, T, D] of ids [B, T]."""
    return F.embedding(ids, weights.embedding)


def _project_qkv(
    lw: LayerWeights, cfg: DecoderConfig, cos_sin: tuple[torch.Tensor, torch.Tensor], h: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """h [B, T, D] -> q [B, T, N, H] (rotated, scaled by 1/√H), k and v [B, T, K, H] (k rotated)."""
    b, t, _ = h.shape
    n, k_heads, hd = cfg.num_heads, cfg.num_kv_heads, cfg.dims_per_head
    qkv = F.linear(h, lw.qkv)  # [B, T, (N + 2K)·H]
    # Queries and keys are adjacent rows of the fused weight: one rotation covers both.
    qk = rope(qkv[..., : (n + k_heads) * hd].reshape(b, t, n + k_heads, hd), cos_sin)
    q, k = qk.split([n, k_heads], dim=2)
    return q * hd**-0.5, k, qkv[..., (n + k_heads) * hd :].reshape(b, t, k_heads, hd)


def _attend(
    cfg: DecoderConfig, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Grouped-query attention: q [B, T, N, H] over k, v [B, K, S, H] where mask [B, T, S] -> [B, T, N·H].

    Query head n reads kv head n // G (consecutive grouping, as in the JAX decoder). A kv head's G query
    heads are stacked along the query axis, so each kv head is one matrix product with no broadcast copy.
    """
    b, t, n, h = q.shape
    groups = cfg.queries_per_kv_head
    q = q.reshape(b, t, cfg.num_kv_heads, groups, h).permute(0, 2, 3, 1, 4)  # [B, K, G, T, H]
    logits = (q.reshape(b, cfg.num_kv_heads, groups * t, h) @ k.transpose(-1, -2)).float()  # [B, K, G·T, S]
    visible = mask[:, None].expand(b, groups, t, mask.shape[-1]).reshape(b, 1, groups * t, -1)
    logits = logits.masked_fill(~visible, _MASKED_LOGIT)
    probs = torch.softmax(logits, dim=-1).to(v.dtype)
    context = (probs @ v).reshape(b, cfg.num_kv_heads, groups, t, h)  # [B, K, G, T, H]
    return context.permute(0, 3, 1, 2, 4).reshape(b, t, n * h)


#: Given a layer's index and new keys and values [B, T, K, H], the keys and values [B, K, S, H] and the
#: mask [B, T, S] its queries attend to.
KvRead = Callable[[int, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def _layers(
    weights: TorchWeights, cfg: DecoderConfig, x: torch.Tensor, positions: torch.Tensor, kv: KvRead
) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
    """Every pre-norm block over x [B, T, D]: the final x and each layer's attended keys and values."""
    attended = []
    cos_sin = rotation(positions, weights.rope_freqs)  # shared by every layer
    for index, lw in enumerate(weights.layers):
        q, k, v = _project_qkv(lw, cfg, cos_sin, rms_norm(x, lw.attn_norm, cfg.norm_eps))
        keys, values, mask = kv(index, k, v)
        attended.append((keys, values))
        x = x + F.linear(_attend(cfg, q, keys, values, mask), lw.post)
        gate, up = F.linear(rms_norm(x, lw.ffn_norm, cfg.norm_eps), lw.gate_up).chunk(2, dim=-1)
        x = x + F.linear(F.silu(gate) * up, lw.down)
    return x, attended


def _output(weights: TorchWeights, cfg: DecoderConfig, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Final norm and softmax: float32 logits [..., V] and the normalised hidden states [..., D]."""
    hidden = rms_norm(x, weights.final_norm, cfg.norm_eps)
    return F.linear(hidden, weights.softmax).float(), hidden


def forward_from_embeddings(
    weights: TorchWeights, cfg: DecoderConfig, x: torch.Tensor, token_valid: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
    """Whole right-padded sequences, causally, from input embeddings x [B, T, D]; positions 0..T-1.

    token_valid [B, T] is False on padding. Returns float32 logits [B, T, V], final normalised hidden
    states [B, T, D] and every layer's keys and values [B, K, T, H].
    """
    b, t, _ = x.shape
    positions = torch.arange(t, device=x.device).expand(b, t)
    causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()  # key index <= query index
    mask = causal[None] & token_valid[:, None, :]  # [B, T, T]

    def read(_: int, k: torch.Tensor, v: torch.Tensor):
        return k.transpose(1, 2), v.transpose(1, 2), mask

    x, attended = _layers(weights, cfg, x, positions, read)
    logits, hidden = _output(weights, cfg, x)
    return logits, hidden, attended


def forward(
    weights: TorchWeights, cfg: DecoderConfig, ids: torch.Tensor, token_valid: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
    """``forward_from_embeddings`` of ids [B, T]."""
    return forward_from_embeddings(weights, cfg, embed(weights, ids), token_valid)


def empty_cache(
    cfg: DecoderConfig, rows: int, length: int, device: torch.device, dtype: torch.dtype
) -> KvCache:
    """``rows`` empty rows of ``length`` positions each."""
    shape = (cfg.num_layers, rows, cfg.num_kv_heads, length, cfg.dims_per_head)
    return KvCache(
        k=torch.zeros(shape, dtype=dtype, device=device),
        v=torch.zeros(shape, dtype=dtype, device=device),
        lengths=torch.zeros(rows, dtype=torch.int64, device=device),
    )


def decode_step(
    weights: TorchWeights,
    cfg: DecoderConfig,
    cache: KvCache,
    tokens: torch.Tensor,
    advance: torch.Tensor,
    bound: int,
) -> torch.Tensor:
    """Runs one token per row, tokens [B], at each row's position ``cache.lengths``; updates ``cache``.

    The token's key and value are written at that position and the token attends to the row's positions
    up to its own; only the first ``bound`` positions are read (``bound`` > every row's length). Rows
    where ``advance`` [B] is set grow by one. Returns float32 logits [B, V] for each row's next token.
    """
    rows = torch.arange(tokens.shape[0], device=tokens.device)
    positions = cache.lengths[:, None]  # [B, 1]
    mask = (torch.arange(bound, device=tokens.device)[None, :] <= cache.lengths[:, None])[
        :, None
    ]  # [B, 1, S]

    def write(layer: int, k: torch.Tensor, v: torch.Tensor):
        cache.k[layer][rows, :, cache.lengths] = k[:, 0]  # [B, K, H] at each row's position
        cache.v[layer][rows, :, cache.lengths] = v[:, 0]
        return cache.k[layer, :, :, :bound], cache.v[layer, :, :, :bound], mask

    x, _ = _layers(weights, cfg, embed(weights, tokens[:, None]), positions, write)
    logits, _ = _output(weights, cfg, x[:, 0])
    cache.lengths += advance.to(torch.int64)
    return logits


def token_log_probs(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """log p(labels) under float32 log-softmax: logits [..., V], labels [...] int -> [...]."""
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, labels[..., None])[..., 0]
