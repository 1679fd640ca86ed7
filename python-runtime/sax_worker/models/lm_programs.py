"""The jitted device programs of an LM servable: prefill, a decode chunk, score, embed and gradient.

Decoding (spec §3.3): a prefill runs the prompts [B, P] (right-padded, positions counting from 0 at SOS)
through ``decoder.prefill`` and inserts their keys and values into a slot cache of P + M positions
(M = max decode steps), one slot per sample row. Each decode step samples a token per row, records it
with its raw log-prob and runs it through ``decoder.decode_step``; every row has its own length, so the
same step serves rows that started at different times (continuous batching reuses it). ``decode`` runs
up to ``num_steps`` steps in a ``lax.while_loop`` and returns to the host early when every row is done;
generate asks for all M steps at once, streaming for one interval at a time (``num_steps`` is a traced
scalar, so both share one compiled program).

Shapes are static per (batch, bucket): every program is traced once per shape and then reused, which
``trace_counts`` makes observable. Parameters are arguments, not constants closed over, so weights are
never baked into the compiled programs.
"""

from __future__ import annotations

import collections
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from sax_worker.models import decoder, sampling
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import Params
from sax_worker.models.lm_backend import DecodeSettings, HostDecode, RowKnobs, choose_tokens

__all__ = ["DecodeSettings", "DecodeState", "LmPrograms", "RowKnobs", "trace_counts"]


class DecodeState(NamedTuple):
    """Everything a decode chunk carries from one host round trip to the next. R = B·num_samples rows."""

    cache: decoder.KvCache  # R slots of P+M positions
    logits: jax.Array  # [R, V] float32, for the next token
    step: jax.Array  # [] decode steps run so far
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

    def __init__(self, cfg: DecoderConfig, settings: DecodeSettings) -> None:
        self.cfg = cfg
        self.settings = settings

    def with_settings(self, settings: DecodeSettings) -> LmPrograms:
        """The programs of the same config with other decode settings."""
        return LmPrograms(self.cfg, settings)

    def prefill(
        self,
        params: Params,
        ids: ArrayLike,
        prompt_lengths: ArrayLike,
        knobs: RowKnobs,
        method_key: jax.Array,
        request_index: int,
    ) -> DecodeState:
        """Prompts ids [B, P] (right-padded), prompt_lengths [B] incl. SOS -> state of B·num_samples rows.

        The request's key is ``fold_in(method_key, request_index)``, derived on the device.
        """
        return _prefill(
            self.cfg, self.settings, params, ids, prompt_lengths, knobs, method_key, np.int32(request_index)
        )

    def decode(self, params: Params, state: DecodeState, num_steps: int) -> DecodeState:
        """Runs up to ``num_steps`` decode steps (fewer when every row is done or M is reached)."""
        return _decode(self.cfg, self.settings, params, state, np.int32(num_steps))

    def fetch(self, state: DecodeState) -> HostDecode:
        """The state's step count, tokens, log-probs, lengths and done flags, read from the devices."""
        step, tokens, log_probs, lengths, done = jax.device_get(
            (state.step, state.tokens, state.log_probs, state.lengths, state.done)
        )
        return HostDecode(int(step), tokens, log_probs, lengths, done)

    def score(
        self, params: Params, ids: ArrayLike, labels: ArrayLike, valid: ArrayLike, score_mask: ArrayLike
    ) -> jax.Array:
        """Σ log p(label) over positions where score_mask is set; ids, labels, masks [B, T] -> [B]."""
        return _score(self.cfg, params, ids, labels, valid, score_mask)

    def embed(self, params: Params, ids: ArrayLike, valid: ArrayLike) -> jax.Array:
        """Mean of the final normalised hidden states over valid positions: [B, T] -> [B, D] float32."""
        return _embed(self.cfg, params, ids, valid)

    def gradient(
        self, params: Params, ids: ArrayLike, labels: ArrayLike, valid: ArrayLike, score_mask: ArrayLike
    ) -> tuple[jax.Array, jax.Array]:
        """Like ``score``, plus the gradient of the loss (-score) w.r.t. the input embeddings [B, T, D]."""
        return _gradient(self.cfg, params, ids, labels, valid, score_mask)


# Traced bodies. Each bumps its trace counter: the Python body only runs while tracing.


@functools.partial(jax.jit, static_argnums=(0, 1))
def _prefill(
    cfg: DecoderConfig,
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
    last, keys, values = decoder.prefill(params, cfg, ids, prompt_lengths)  # [B, V]

    # Each prompt's rows are its samples, adjacent: row b·S + j is sample j of prompt b.
    def rows(x: jax.Array) -> jax.Array:
        return jnp.repeat(x, s.num_samples, axis=0)

    num_rows = batch * s.num_samples
    cache = decoder.empty_cache(cfg, num_rows, bucket + s.max_decode_steps)
    keys, values = tuple(map(rows, keys)), tuple(map(rows, values))
    cache = decoder.insert(cache, keys, values, rows(prompt_lengths), jnp.arange(num_rows))
    return DecodeState(
        cache=cache,
        logits=rows(last),
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
    cfg: DecoderConfig, s: DecodeSettings, params: Params, state: DecodeState, num_steps: jax.Array
) -> DecodeState:
    trace_counts["decode"] += 1
    end = jnp.minimum(state.step + num_steps, s.max_decode_steps)

    def cond(st: DecodeState) -> jax.Array:
        return (st.step < end) & ~jnp.all(st.done)

    return jax.lax.while_loop(cond, functools.partial(_step, cfg, s, params), state)


def choose_with_log_probs(
    s: DecodeSettings, logits: jax.Array, knobs: RowKnobs, key: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """``choose_tokens`` ids [R] from float32 logits [R, V], and each id's raw log-probability [R].

    Greedy settings take the log-probability from the max the choice already computed
    (``sampling.greedy_with_log_prob``); sampled ids are looked up in a log-softmax.
    """
    if s.greedy:
        return sampling.greedy_with_log_prob(logits)
    token = choose_tokens(sampling, s, logits, knobs, key)
    return token, decoder.token_log_probs(logits, token)


def _step(cfg: DecoderConfig, s: DecodeSettings, params: Params, st: DecodeState) -> DecodeState:
    """Samples one token per live row from ``st.logits``, records it, and runs it through the model.

    Each row writes at its own index (its generated count), so rows need not have started together.
    """
    token, log_prob = choose_with_log_probs(s, st.logits, st.knobs, jax.random.fold_in(st.key, st.step))
    live = ~st.done
    token = jnp.where(live, token, s.pad_id)
    rows = jnp.arange(token.shape[0])
    index = jnp.where(live, st.lengths, s.max_decode_steps)  # out of range: dropped
    lengths = st.lengths + live.astype(jnp.int32)
    stopped = jnp.isin(token, jnp.asarray(s.stop_ids, jnp.int32))
    done = st.done | stopped | (lengths >= st.knobs.max_steps)
    logits, cache = decoder.decode_step(params, cfg, st.cache, token, live)
    return st._replace(
        cache=cache,
        logits=logits,
        step=st.step + 1,
        tokens=st.tokens.at[rows, index].set(token, mode="drop"),
        log_probs=st.log_probs.at[rows, index].set(log_prob, mode="drop"),
        lengths=lengths,
        done=done,
    )


def _suffix_log_probs(
    cfg: DecoderConfig, params: Params, ids: jax.Array, labels: jax.Array, valid: jax.Array
) -> jax.Array:
    logits, _ = decoder.forward(params, cfg, ids, decoder.positions_of(ids), valid)
    return decoder.token_log_probs(logits, labels)  # [B, T]


@functools.partial(jax.jit, static_argnums=0)
def _score(
    cfg: DecoderConfig,
    params: Params,
    ids: jax.Array,
    labels: jax.Array,
    valid: jax.Array,
    score_mask: jax.Array,
) -> jax.Array:
    trace_counts["score"] += 1
    log_probs = _suffix_log_probs(cfg, params, ids, labels, valid)
    return jnp.sum(jnp.where(score_mask, log_probs, 0.0), axis=-1)


@functools.partial(jax.jit, static_argnums=0)
def _embed(cfg: DecoderConfig, params: Params, ids: jax.Array, valid: jax.Array) -> jax.Array:
    trace_counts["embed"] += 1
    _, hidden = decoder.forward(params, cfg, ids, decoder.positions_of(ids), valid)
    weights = valid.astype(jnp.float32)[:, :, None]  # [B, T, 1]
    total = jnp.sum(hidden.astype(jnp.float32) * weights, axis=1)  # [B, D]
    return total / jnp.maximum(jnp.sum(weights, axis=1), 1.0)


@functools.partial(jax.jit, static_argnums=0)
def _gradient(
    cfg: DecoderConfig,
    params: Params,
    ids: jax.Array,
    labels: jax.Array,
    valid: jax.Array,
    score_mask: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    trace_counts["gradient"] += 1
    positions = decoder.positions_of(ids)

    def loss(embeddings: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = embeddings.astype(cfg.activation_dtype)
        logits, _ = decoder.forward_from_embeddings(params, cfg, x, positions, valid)
        scores = jnp.sum(jnp.where(score_mask, decoder.token_log_probs(logits, labels), 0.0), axis=-1)
        return -jnp.sum(scores), scores

    embeddings = decoder.embed(params, cfg, ids, positions).astype(jnp.float32)
    (_, scores), grads = jax.value_and_grad(loss, has_aux=True)(embeddings)
    return scores, grads
