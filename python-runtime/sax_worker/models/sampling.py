"""Choosing the next token from logits: greedy, or top-k / top-p sampling via Gumbel-max (spec §3.3).

Per-row knobs (temperature, per-example top-k and top-p) are arrays, so changing them between requests
never recompiles; only the configured top-k bound is static (it fixes the candidate count).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def greedy(logits: jax.Array) -> jax.Array:
    """logits [B, V] -> ids [B] (the first maximum)."""
    return first_argmax(logits)


def first_argmax(x: jax.Array) -> jax.Array:
    """``jnp.argmax`` over the last axis as int32: the first maximum, or the first NaN if there is one.

    Written as a max and then a min over the positions that hold it: two plain reductions, which XLA's
    CPU backend vectorises, where it runs ``jnp.argmax``'s one reduction over (value, index) pairs element
    by element (at 32 rows of 32000 logits, 0.47 against 2.4 ms: an eighth of BenchLlama45M's step).
    """
    return _first_position_of(x, jnp.max(x, axis=-1, keepdims=True))


def greedy_with_log_prob(logits: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``greedy`` ids [B] and their float32 log-probabilities [B] from float32 logits [B, V].

    The chosen logit is the maximum, so its log-probability is -log Σ exp(x - max): one max serves both,
    and no gather is needed (at 32 rows of 32000 logits, 1.2 against 1.8 ms for ``greedy`` followed by a
    separate log-softmax).
    """
    best = jnp.max(logits, axis=-1, keepdims=True)
    log_probs = -jnp.log(jnp.sum(jnp.exp(logits - best), axis=-1))
    return _first_position_of(logits, best), log_probs


def _first_position_of(x: jax.Array, best: jax.Array) -> jax.Array:
    """The first position along the last axis holding ``best`` (x's max, keepdims) or a NaN, int32."""
    hit = (x == best) | jnp.isnan(x)
    positions = jnp.arange(x.shape[-1], dtype=jnp.int32)
    return jnp.min(jnp.where(hit, positions, x.shape[-1]), axis=-1)


def sample(
    logits: jax.Array,
    key: jax.Array,
    *,
    top_k: int,
    temperature: jax.Array,
    per_example_top_k: jax.Array,
    top_p: jax.Array,
) -> jax.Array:
    """Draws ids [B] from logits [B, V].

    Candidates: the ``top_k`` best logits (0: the whole vocabulary, and ``per_example_top_k`` is
    ignored), then only the first ``min(per_example_top_k, top_k)`` of them, then top-p: the smallest
    prefix whose probability (softmax over the remaining candidates, temperature not applied) reaches p,
    ties at the cut-off logit kept; p NaN or >= 1 disables it. The pick is
    ``argmax(logits + temperature · Gumbel noise)`` over the candidates, so temperature 0 is argmax. A
    per-example k of 0 leaves no candidate; then all k candidates count as equal: uniform at
    temperature > 0, the top-1 at temperature 0 (the reference's behaviour).
    temperature, per_example_top_k, top_p: [B].
    """
    vocab = logits.shape[-1]
    k = top_k if 0 < top_k < vocab else vocab
    values, indices = jax.lax.top_k(logits, k)  # [B, k], sorted descending
    rank = jnp.arange(k)[None, :]  # [1, k]
    if 0 < top_k < vocab:
        keep = rank < jnp.clip(per_example_top_k, 0, k)[:, None]  # [B, k]
    else:
        keep = jnp.ones_like(values, dtype=jnp.bool_)
    keep = keep & _top_p_keep(values, keep, top_p)
    any_kept = jnp.any(keep, axis=-1, keepdims=True)  # [B, 1]
    masked = jnp.where(any_kept, jnp.where(keep, values, -jnp.inf), 0.0)  # [B, k]
    noise = jax.random.gumbel(key, values.shape, jnp.float32)
    choice = first_argmax(masked + temperature[:, None] * noise)  # [B]
    return jnp.take_along_axis(indices, choice[:, None], axis=-1)[:, 0].astype(jnp.int32)


def _top_p_keep(values: jax.Array, keep: jax.Array, top_p: jax.Array) -> jax.Array:
    """[B, k] mask of the top-p prefix of sorted ``values`` among ``keep``; all True where p is disabled."""
    probs = jax.nn.softmax(jnp.where(keep, values, -jnp.inf), axis=-1)  # [B, k]
    probs = jnp.where(keep, probs, 0.0)  # no kept candidate: softmax of all -inf is NaN
    mass_before = jnp.cumsum(probs, axis=-1) - probs  # [B, k]
    p = top_p[:, None]
    # The top candidate is always in the prefix, so p <= 0 means top-1 rather than nothing.
    in_prefix = keep & ((mass_before < p) | (jnp.arange(values.shape[-1]) == 0))
    cutoff = jnp.min(jnp.where(in_prefix, values, jnp.inf), axis=-1, keepdims=True)  # [B, 1]
    enabled = ~jnp.isnan(p) & (p < 1.0)
    return ~enabled | (values >= cutoff)
