"""The jitted device programs of an LM servable: prefill, a decode chunk, score and embed.

Decoding (spec §3.3): prompts are right-aligned in a bucket of P slots (left padding, positions counting
from 0 at SOS), one forward fills the KV cache of P + M slots (M = max decode steps) and gives the first
token's logits, and each decode step samples a token, records its raw log-prob and runs it through the
model at slot P + step. All rows step together, so one scalar write index serves the batch. ``decode``
runs up to ``num_steps`` steps in a ``lax.while_loop`` and returns to the host early when every row is done;
generate asks for all M steps at once, streaming for one interval at a time (``num_steps`` is a traced
scalar, so both share one compiled program).

Shapes are static per (batch, bucket): every program is traced once per shape and then reused, which
``trace_counts`` makes observable. Parameters are arguments, not constants closed over, so weights are
never baked into the compiled programs.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from sax_worker.models import llama, sampling
from sax_worker.models.llama_config import LlamaConfig
from sax_worker.models.llama_params import Params


@dataclasses.dataclass(frozen=True)
class DecodeSettings:
    """The static part of decoding: fixed per servable, part of every compiled decode program."""

    max_decode_steps: int  # M
    num_samples: int  # rows per prompt
    top_k: int  # candidate bound; 0 = whole vocabulary
    greedy: bool  # argmax, ignoring the per-row temperature / top-k / top-p
    stop_ids: tuple[int, ...]  # a row is done once it generates one of these (EOS counts as generated)
    pad_id: int  # written (with log-prob 0) once a row is done


class RowKnobs(NamedTuple):
    """Per-row sampling knobs, [B·num_samples] each."""

    temperature: jax.Array  # float32
    top_k: jax.Array  # int32
    top_p: jax.Array  # float32; NaN disables
    max_steps: jax.Array  # int32, generated tokens allowed (1..M); the host decides what it honours


class DecodeState(NamedTuple):
    """Everything a decode chunk carries from one host round trip to the next. R = B·num_samples rows."""

    cache: llama.KvCache  # [L, R, P+M, K, H]
    logits: jax.Array  # [R, V] float32, for the next token
    next_position: jax.Array  # [R] RoPE position of the next token
    step: jax.Array  # [] tokens generated so far (every row steps together)
    tokens: jax.Array  # [R, M] generated ids, pad after done
    log_probs: jax.Array  # [R, M] raw log-probs of generated ids, 0 after done
    lengths: jax.Array  # [R] generated ids per row, EOS included
    done: jax.Array  # [R] bool
    knobs: RowKnobs
    key: jax.Array  # PRNG key of this request; step t samples with fold_in(key, t)


#: Traces per program name, across all servables. A program is traced once per (config, settings, input
#: shapes); a repeated request of an already seen shape adds none.
trace_counts: collections.Counter[str] = collections.Counter()


class LmPrograms:
    """The programs bound to one (config, settings).

    The jitted functions are module-level with the config and settings as static arguments, so servables of
    equal shape (a reload, a second replica in one process) share compiled programs.
    """

    def __init__(self, cfg: LlamaConfig, settings: DecodeSettings) -> None:
        self.cfg = cfg
        self.settings = settings

    def prefill(
        self,
        params: Params,
        ids: ArrayLike,
        prompt_lengths: ArrayLike,
        knobs: RowKnobs,
        method_key: jax.Array,
        request_index: int,
    ) -> DecodeState:
        """Prompts ids [B, P] (right-aligned), prompt_lengths [B] incl. SOS -> state of B·num_samples rows.

        The request's key is ``fold_in(method_key, request_index)``, derived on the device.
        """
        return _prefill(
            self.cfg, self.settings, params, ids, prompt_lengths, knobs, method_key, np.int32(request_index)
        )

    def decode(self, params: Params, state: DecodeState, num_steps: int) -> DecodeState:
        """Runs up to ``num_steps`` decode steps (fewer when every row is done or M is reached)."""
        return _decode(self.cfg, self.settings, params, state, np.int32(num_steps))

    def score(
        self, params: Params, ids: ArrayLike, labels: ArrayLike, valid: ArrayLike, score_mask: ArrayLike
    ) -> jax.Array:
        """Σ log p(label) over positions where score_mask is set; ids, labels, masks [B, T] -> [B]."""
        return _score(self.cfg, params, ids, labels, valid, score_mask)

    def embed(self, params: Params, ids: ArrayLike, valid: ArrayLike) -> jax.Array:
        """Mean of the final normalised hidden states over valid positions: [B, T] -> [B, D] float32."""
        return _embed(self.cfg, params, ids, valid)


# Traced bodies. Each bumps its trace counter: the Python body only runs while tracing.


@functools.partial(jax.jit, static_argnums=(0, 1))
def _prefill(
    cfg: LlamaConfig,
    s: DecodeSettings,
    params: Params,
    ids: jax.Array,
    prompt_lengths: jax.Array,
    knobs: RowKnobs,
    method_key: jax.Array,
    request_index: jax.Array,
) -> DecodeState:
    trace_counts["prefill"] += 1
    batch, bucket = ids.shape
    slots = jnp.arange(bucket)[None, :]  # [1, P]
    pad = (bucket - prompt_lengths)[:, None]  # [B, 1]
    valid = slots >= pad  # [B, P]
    positions = jnp.maximum(slots - pad, 0)  # [B, P]
    cache = llama.empty_cache(cfg, batch, bucket + s.max_decode_steps)
    logits, _, cache = llama.apply(params, cfg, ids, positions, valid, cache, 0)

    # Each prompt's rows are its samples, adjacent: row b·S + j is sample j of prompt b.
    def rows(x: jax.Array, axis: int = 0) -> jax.Array:
        return jnp.repeat(x, s.num_samples, axis=axis)

    num_rows = batch * s.num_samples
    return DecodeState(
        cache=llama.KvCache(rows(cache.k, 1), rows(cache.v, 1), rows(cache.valid)),
        logits=rows(logits[:, -1, :]),
        next_position=rows(prompt_lengths).astype(jnp.int32),
        step=jnp.zeros((), jnp.int32),
        tokens=jnp.full((num_rows, s.max_decode_steps), s.pad_id, jnp.int32),
        log_probs=jnp.zeros((num_rows, s.max_decode_steps), jnp.float32),
        lengths=jnp.zeros((num_rows,), jnp.int32),
        done=jnp.zeros((num_rows,), jnp.bool_),
        knobs=knobs,
        key=jax.random.fold_in(method_key, request_index),
    )


@functools.partial(jax.jit, static_argnums=(0, 1))
def _decode(
    cfg: LlamaConfig, s: DecodeSettings, params: Params, state: DecodeState, num_steps: jax.Array
) -> DecodeState:
    trace_counts["decode"] += 1
    end = jnp.minimum(state.step + num_steps, s.max_decode_steps)

    def cond(st: DecodeState) -> jax.Array:
        return (st.step < end) & ~jnp.all(st.done)

    return jax.lax.while_loop(cond, functools.partial(_step, cfg, s, params), state)


def _step(cfg: LlamaConfig, s: DecodeSettings, params: Params, st: DecodeState) -> DecodeState:
    """Samples one token per row from ``st.logits``, records it, and runs it through the model."""
    if s.greedy:
        token = sampling.greedy(st.logits)
    else:
        token = sampling.sample(
            st.logits,
            jax.random.fold_in(st.key, st.step),
            top_k=s.top_k,
            temperature=st.knobs.temperature,
            per_example_top_k=st.knobs.top_k,
            top_p=st.knobs.top_p,
        )
    log_prob = llama.token_log_probs(st.logits, token)  # [R]
    token = jnp.where(st.done, s.pad_id, token)
    log_prob = jnp.where(st.done, 0.0, log_prob)
    lengths = st.lengths + (~st.done).astype(jnp.int32)
    stopped = jnp.isin(token, jnp.asarray(s.stop_ids, jnp.int32))
    done = st.done | stopped | (lengths >= st.knobs.max_steps)

    bucket = st.cache.valid.shape[1] - s.max_decode_steps
    ones = jnp.ones((token.shape[0], 1), jnp.bool_)
    logits, _, cache = llama.apply(
        params, cfg, token[:, None], st.next_position[:, None], ones, st.cache, bucket + st.step
    )
    return st._replace(
        cache=cache,
        logits=logits[:, 0, :],
        next_position=st.next_position + 1,
        step=st.step + 1,
        tokens=st.tokens.at[:, st.step].set(token),
        log_probs=st.log_probs.at[:, st.step].set(log_prob),
        lengths=lengths,
        done=done,
    )


@functools.partial(jax.jit, static_argnums=0)
def _score(
    cfg: LlamaConfig,
    params: Params,
    ids: jax.Array,
    labels: jax.Array,
    valid: jax.Array,
    score_mask: jax.Array,
) -> jax.Array:
    trace_counts["score"] += 1
    positions = jnp.broadcast_to(jnp.arange(ids.shape[1]), ids.shape)  # right padding: 0 at SOS
    logits, _ = llama.forward(params, cfg, ids, positions, valid)
    log_probs = llama.token_log_probs(logits, labels)  # [B, T]
    return jnp.sum(jnp.where(score_mask, log_probs, 0.0), axis=-1)


@functools.partial(jax.jit, static_argnums=0)
def _embed(cfg: LlamaConfig, params: Params, ids: jax.Array, valid: jax.Array) -> jax.Array:
    trace_counts["embed"] += 1
    positions = jnp.broadcast_to(jnp.arange(ids.shape[1]), ids.shape)
    _, hidden = llama.forward(params, cfg, ids, positions, valid)
    weights = valid.astype(jnp.float32)[:, :, None]  # [B, T, 1]
    total = jnp.sum(hidden.astype(jnp.float32) * weights, axis=1)  # [B, D]
    return total / jnp.maximum(jnp.sum(weights, axis=1), 1.0)
