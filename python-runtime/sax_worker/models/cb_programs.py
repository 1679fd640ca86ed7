"""Device programs of continuous batching (spec §4.3): prefill prompts, insert them into slots, step all.

The state holds S cache slots of C = max prompt bucket + M positions, each with its own length, the
token it will run next, its generated count and its sampling knobs. A request's life on the device:

- ``prefill``: one forward over its prompt, one row of [B, P] (requests admitted together share a call),
  samples the first generated token and returns the prompt's keys and values;
- ``insert``: writes them into a free slot, which becomes live with that token pending;
- ``step``: runs every slot's pending token through the model at once, samples the next one per slot,
  and marks slots done on a stop id or their max steps, for one or several tokens in one call. Idle
  slots ride along without growing.

Each program is traced once per shape (``trace_counts``); ``insert`` and ``step`` donate the state, so
the cache is updated in place rather than copied every token.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from sax_worker.models import decoder
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import Params
from sax_worker.models.lm_programs import DecodeSettings, RowKnobs, choose_with_log_probs, trace_counts


class SlotState(NamedTuple):
    """Every slot's device state; S slots."""

    cache: decoder.KvCache  # S slots of C positions
    next_token: jax.Array  # [S] int32: sampled, not yet run through the model
    generated: jax.Array  # [S] int32: tokens generated so far (the pending one included)
    live: jax.Array  # [S] bool
    temperature: jax.Array  # [S] float32
    top_k: jax.Array  # [S] int32
    top_p: jax.Array  # [S] float32; NaN disables
    max_steps: jax.Array  # [S] int32
    step: jax.Array  # [] int32: steps run, folded into the sampling key
    key: jax.Array  # PRNG key of this batcher


class StepOutput(NamedTuple):
    """What the host reads after a step call: at each of its T steps, each of its R slots' new token, its
    raw log-prob, and whether the slot ended there."""

    token: jax.Array  # [T, R] int32
    log_prob: jax.Array  # [T, R] float32
    done: jax.Array  # [T, R] bool: became done at this step (False for slots that were not live)


class PrefillOutput(NamedTuple):
    token: jax.Array  # [B] int32: each prompt's first generated token
    log_prob: jax.Array  # [B] float32
    keys: decoder.LayerKv  # L of [B, P, K, H]
    values: decoder.LayerKv  # L of [B, P, K, H]


def empty_state(cfg: DecoderConfig, slots: int, length: int, key: jax.Array) -> SlotState:
    """``slots`` idle slots of ``length`` cache positions."""
    return SlotState(
        cache=decoder.empty_cache(cfg, slots, length),
        next_token=jnp.zeros((slots,), jnp.int32),
        generated=jnp.zeros((slots,), jnp.int32),
        live=jnp.zeros((slots,), jnp.bool_),
        temperature=jnp.zeros((slots,), jnp.float32),
        top_k=jnp.ones((slots,), jnp.int32),
        top_p=jnp.full((slots,), jnp.nan, jnp.float32),
        max_steps=jnp.ones((slots,), jnp.int32),
        step=jnp.zeros((), jnp.int32),
        key=key,
    )


@functools.partial(jax.jit, static_argnums=(0, 1))
def prefill(
    cfg: DecoderConfig,
    s: DecodeSettings,
    params: Params,
    ids: ArrayLike,
    length: ArrayLike,
    temperature: ArrayLike,
    top_k: ArrayLike,
    top_p: ArrayLike,
    key: jax.Array,
    index: ArrayLike,
) -> PrefillOutput:
    """ids [B, P] right-padded, length [B] (SOS included), knobs [B] -> first tokens and prompt KV.

    The first token is sampled with ``key`` folded with ``index`` (the batcher's prefill count).
    """
    trace_counts["cb_prefill"] += 1
    last, keys, values = decoder.prefill(params, cfg, jnp.asarray(ids), jnp.asarray(length))  # [1, V]
    key = jax.random.fold_in(key, jnp.asarray(index))
    knobs = RowKnobs(
        jnp.asarray(temperature), jnp.asarray(top_k), jnp.asarray(top_p), max_steps=None
    )  # unread
    token, log_prob = choose_with_log_probs(s, last, knobs, key)
    return PrefillOutput(token, log_prob, keys, values)


@functools.partial(jax.jit, donate_argnums=0)
def insert(
    state: SlotState,
    slots: ArrayLike,
    prefilled: PrefillOutput,
    length: ArrayLike,
    temperature: ArrayLike,
    top_k: ArrayLike,
    top_p: ArrayLike,
    max_steps: ArrayLike,
) -> SlotState:
    """Makes ``slots`` ([B] int32) live with B prefilled prompts of ``length`` [B] and their knobs [B]; a
    row whose slot is past the last one is dropped."""
    trace_counts["cb_insert"] += 1
    slots = jnp.asarray(slots)

    def put(field: jax.Array, value: ArrayLike) -> jax.Array:
        return field.at[slots].set(jnp.asarray(value), mode="drop")

    cache = decoder.insert(state.cache, prefilled.keys, prefilled.values, jnp.asarray(length), slots)
    return state._replace(
        cache=cache,
        next_token=put(state.next_token, prefilled.token),
        generated=put(state.generated, 1),
        live=put(state.live, True),
        temperature=put(state.temperature, temperature),
        top_k=put(state.top_k, top_k),
        top_p=put(state.top_p, top_p),
        max_steps=put(state.max_steps, max_steps),
    )


@functools.partial(jax.jit, donate_argnums=0)
def release(state: SlotState, slot: ArrayLike) -> SlotState:
    """Makes ``slot`` ([1] int32) idle (a cancelled request); its cache is overwritten by the next insert."""
    trace_counts["cb_release"] += 1
    return state._replace(live=state.live.at[jnp.asarray(slot)].set(False))


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4), donate_argnums=5)
def step(
    cfg: DecoderConfig,
    s: DecodeSettings,
    rows: int,
    window: int,
    most_steps: int,
    state: SlotState,
    params: Params,
    steps: ArrayLike,
) -> tuple[SlotState, StepOutput]:
    """``steps`` tokens (1 <= steps <= ``most_steps``) for every live slot among the first ``rows``: each
    step runs the pending tokens, samples the next and marks finished slots, which then ride along idle.

    Slots from ``rows`` on must be idle; they are neither computed nor changed, and attention reads only
    the first ``window`` positions of each slot, so a step costs what its live slots need (the host picks
    ``rows`` and ``window`` from a few sizes, one program each, and promises that every live slot's last
    position in the call lies inside the window). ``steps`` is a device value, so any count up to
    ``most_steps`` runs in the same program; several steps in one call save the host a dispatch and a read
    per token. The output's rows from ``steps`` on are zero.
    """
    trace_counts["cb_step"] += 1

    def once(i: jax.Array, carry: tuple[SlotState, StepOutput]) -> tuple[SlotState, StepOutput]:
        st, out = carry
        st, new = _step_once(cfg, s, rows, window, params, st)
        return st, jax.tree.map(lambda buffer, value: buffer.at[i].set(value), out, new)

    shape = (most_steps, rows)
    out = StepOutput(
        token=jnp.zeros(shape, jnp.int32), log_prob=jnp.zeros(shape, jnp.float32), done=jnp.zeros(shape, bool)
    )
    return jax.lax.fori_loop(0, jnp.asarray(steps, jnp.int32), once, (state, out))


def _step_once(
    cfg: DecoderConfig, s: DecodeSettings, rows: int, window: int, params: Params, state: SlotState
) -> tuple[SlotState, StepOutput]:
    head = _rows(state, rows)
    live = head.live
    logits, cache = decoder.decode_step(params, cfg, state.cache, head.next_token, live, window)
    key = jax.random.fold_in(state.key, state.step)
    knobs = RowKnobs(head.temperature, head.top_k, head.top_p, head.max_steps)
    token, log_prob = choose_with_log_probs(s, logits, knobs, key)
    generated = head.generated + live.astype(jnp.int32)
    stopped = jnp.isin(token, jnp.asarray(s.stop_ids, jnp.int32))
    done = live & (stopped | (generated >= head.max_steps))
    head = head._replace(
        next_token=jnp.where(live, token, head.next_token),
        generated=generated,
        live=live & ~done,
    )
    new_state = _with_rows(state, head)._replace(cache=cache, step=state.step + 1)
    return new_state, StepOutput(token, log_prob, done)


def _rows(state: SlotState, rows: int) -> SlotState:
    """The first ``rows`` slots of every per-slot field but the cache (``decode_step`` takes it whole)."""
    return state._replace(
        next_token=state.next_token[:rows],
        generated=state.generated[:rows],
        live=state.live[:rows],
        temperature=state.temperature[:rows],
        top_k=state.top_k[:rows],
        top_p=state.top_p[:rows],
        max_steps=state.max_steps[:rows],
    )


def _with_rows(state: SlotState, head: SlotState) -> SlotState:
    """``state`` with its first slots' per-slot fields (all but the cache) replaced by ``head``'s."""

    def put(full: jax.Array, part: jax.Array) -> jax.Array:  # part is a leading block of full
        return jax.lax.dynamic_update_slice(full, part.astype(full.dtype), (0,) * full.ndim)

    return state._replace(
        next_token=put(state.next_token, head.next_token),
        generated=put(state.generated, head.generated),
        live=put(state.live, head.live),
        temperature=put(state.temperature, head.temperature),
        top_k=put(state.top_k, head.top_k),
        top_p=put(state.top_p, head.top_p),
        max_steps=put(state.max_steps, head.max_steps),
    )
