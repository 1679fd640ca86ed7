"""Continuous batching of lm.generate / lm.generate_stream over a fixed set of KV-cache slots (spec §4.3).

Requests wait in a bounded queue; between decode steps free slots take the next ones, up to
``prefills_per_step`` at a time, prefilled together in one device call (rows padded to a power of two,
prompts to the longest one's bucket) and inserted together, and every step advances all live slots by
one token. Requests of equal length tend to finish, and so to be admitted, together: at 32 streams of
BenchLlama45M most admissions come four at a time, and one [4, 8] prefill costs 11 ms against 24 ms for
four [1, 8] ones. A request leaves its slot as
soon as it is done (a stop id, its max steps, a cancel or a deadline), so a long request never holds back
a short one, and a new one joins at the next step. Unlike the reference, the first (prefill) token is
tested for stop and max steps too, streams send text incrementally, and a full queue answers
RESOURCE_EXHAUSTED at once instead of blocking.

Host work per step call is one small device read (a token, a log-prob and a done flag per slot and
step); answers are detokenised as tokens arrive. One call may decode several tokens for every live slot
(up to ``steps_per_call``, a device value, so any count runs in the same program), so that the host's
dispatch and read are paid once per few tokens: as many as fit in ``burst_ms`` of device time at the
recent step time, no more than any live request still needs, and one while a waiting request could take
a free slot or right after requests left (their clients' next requests tend to follow within a step). A
request that arrives during a call joins at the next one, so ``burst_ms`` bounds what bursts add to its
time to first token.

A step program is compiled for each row count (the slots up to the highest live one, in powers of two)
and each attention window (64, 256, 1024, ... positions or the whole slot): a call reads the cache only
up to the last position any live sequence reaches in it, so short requests in long slots do not pay for
positions nobody has filled.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Hashable
from typing import NamedTuple

import jax
import numpy as np

from sax_worker.errors import WorkerError
from sax_worker.models import cb_programs
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import Params
from sax_worker.models.lm_programs import DecodeSettings
from sax_worker.models.lm_requests import SampleKnobs
from sax_worker.models.lm_serving_config import LmServingConfig
from sax_worker.models.tokenizers import StreamDecoder, Tokenizer
from sax_worker.servables.base import Payload, Reply


@dataclasses.dataclass
class Prompt:
    """A validated, tokenised generate request."""

    ids: list[int]  # [SOS] + prompt ids
    bucket: int  # padded prompt length
    knobs: SampleKnobs


@dataclasses.dataclass
class _Sequence:
    """One request being served, from the queue to its answer."""

    request_id: Hashable
    prompt: Prompt
    reply: Reply
    tokens: list[int] = dataclasses.field(default_factory=list)
    log_probs: list[float] = dataclasses.field(default_factory=list)
    stream: StreamDecoder | None = None
    sent_chars: int = 0  # characters streamed so far: the next message's prefix_len
    unsent: int = 0  # tokens generated since the last stream message
    unsent_score: float = 0.0  # their summed log-prob
    unsent_text: str = ""  # their text
    slot: int | None = None


class _PerRow(NamedTuple):
    """An admission's prompt lengths and knobs as [rows] arrays, in ``cb_programs.insert``'s order."""

    length: np.ndarray  # int32
    temperature: np.ndarray  # float32
    top_k: np.ndarray  # int32
    top_p: np.ndarray  # float32
    max_steps: np.ndarray  # int32

    @classmethod
    def of(cls, prompts: list[Prompt], rows: int) -> _PerRow:
        """``prompts``' values, then padding rows holding a one-token prompt decoded greedily for one step."""
        padded = [*prompts, *[None] * (rows - len(prompts))]
        return cls(
            np.asarray([len(p.ids) if p else 1 for p in padded], np.int32),
            np.asarray([p.knobs.temperature if p else 0.0 for p in padded], np.float32),
            np.asarray([p.knobs.top_k if p else 1 for p in padded], np.int32),
            np.asarray([p.knobs.top_p if p else math.nan for p in padded], np.float32),
            np.asarray([p.knobs.max_decode_steps if p else 1 for p in padded], np.int32),
        )


# Attention windows below this save too little to pay for their own step programs.
_SMALLEST_WINDOW = 64


class ContinuousBatcher:
    """Serves generate requests of one servable through ``slots`` cache slots."""

    def __init__(
        self,
        cfg: DecoderConfig,
        settings: DecodeSettings,
        params: Callable[[], Params],
        tokenizer: Tokenizer,
        serving: LmServingConfig,
        key: jax.Array,
        *,
        max_waiting: int,
        prefills_per_step: int = 4,
        steps_per_call: int = 16,
        burst_ms: float = 50.0,
    ) -> None:
        self._cfg, self._settings, self._params = cfg, settings, params
        self._tokenizer, self._serving = tokenizer, serving
        self._slots: list[_Sequence | None] = [None] * serving.num_cache_slots
        self._key = key
        self._state = self._empty_state()
        self._waiting: collections.deque[_Sequence] = collections.deque()
        self._max_waiting = max_waiting
        # Admissions per step, and the row counts of the prefill programs they use: 1, 2, 4, ... up to that.
        self._prefills_per_step = min(prefills_per_step, serving.num_cache_slots)
        self._prefill_rows = _powers_to(self._prefills_per_step)
        self._most_steps = steps_per_call
        self._burst_ms = burst_ms
        self._step_ms: dict[int, float] = {}  # rows -> recent device ms per step (moving average)
        self._freed_by_last_call = False  # whether requests left during the last step call
        self._prefill_count = 0
        # Step programs for the first 1, 2, 4, 8, ... slots: a step computes only up to the highest live
        # slot (slots are taken lowest first), so it never computes twice the live rows, and a lone request
        # decodes about as fast as with one slot.
        count = len(self._slots)
        self._row_counts = _powers_to(count)
        # Attention windows: a step reads the cache positions up to the longest live sequence's last one
        # in the call, rounded up to 64, 256, 1024, ... or the whole slot. Powers of four rather than two
        # keep the programs to compile at load few (a 160-position slot has two windows, not three), for
        # at most four times the reads a window of the exact length would make.
        length = serving.slot_length
        self._windows = [w for w in _powers_to(length, base=4) if w >= min(_SMALLEST_WINDOW, length)]

    @property
    def busy(self) -> bool:
        """Whether requests wait or decode."""
        return bool(self._waiting) or any(seq is not None for seq in self._slots)

    @property
    def in_flight(self) -> int:
        return len(self._waiting) + sum(seq is not None for seq in self._slots)

    def submit(self, request_id: Hashable, prompt: Prompt, reply: Reply, *, streaming: bool) -> None:
        """Queues a request; RESOURCE_EXHAUSTED when every slot is taken and the queue is full."""
        limit = self._max_waiting + len(self._slots)
        if self.in_flight >= limit:
            raise WorkerError(
                "RESOURCE_EXHAUSTED",
                f"Too many requests: {limit} generate requests in flight ({len(self._slots)} cache slots "
                f"and {self._max_waiting} waiting); retry later",
            )
        stream = self._tokenizer.stream_decoder() if streaming else None
        seq = _Sequence(request_id, prompt, reply, stream=stream)
        self._waiting.append(seq)

    def cancel(self, request_id: Hashable) -> bool:
        """Drops a request (its reply is the caller's business); False if it is not held here."""
        for seq in self._waiting:
            if seq.request_id == request_id:
                self._waiting.remove(seq)
                return True
        for slot, seq in enumerate(self._slots):
            if seq is not None and seq.request_id == request_id:
                self._free(slot)
                self._state = cb_programs.release(self._state, np.asarray([slot], np.int32))
                return True
        return False

    def step(self) -> None:
        """Admits waiting requests into free slots, then advances every live slot by one token."""
        try:
            self._admit()
            if any(seq is not None for seq in self._slots):
                self._decode_one()
        except WorkerError:
            raise
        except Exception as exc:  # a device failure fails every request held, not the worker
            self._fail_all(exc)

    def warm_up(self) -> None:
        """Compiles prefill and insert for every bucket and admission size, and the step, with throwaway
        requests."""
        knobs = SampleKnobs(0.0, 1, math.nan, 1)
        for bucket in self._serving.buckets:
            for rows in self._prefill_rows:
                prompts = [Prompt([self._tokenizer.sos_id], bucket, knobs)] * rows
                per_row = _PerRow.of(prompts, rows)
                self._insert(np.arange(rows, dtype=np.int32), self._prefill(prompts, per_row), per_row)
        for rows in self._row_counts:
            for window in self._windows:
                self._state, out = self._step_call(rows, window, 1)
                jax.block_until_ready(out)
        self._state = cb_programs.release(self._state, np.asarray([0], np.int32))
        self._state = self._empty_state()

    def _empty_state(self) -> cb_programs.SlotState:
        # The state is donated step after step, so it gets a key of its own, never ``self._key``.
        step_key = jax.random.fold_in(self._key, 2**31 - 1)
        return cb_programs.empty_state(self._cfg, len(self._slots), self._serving.slot_length, step_key)

    # Admission: prefill and insert.

    def _admit(self) -> None:
        free = [slot for slot, seq in enumerate(self._slots) if seq is None]
        count = min(len(self._waiting), len(free), self._prefills_per_step)
        if not count:
            return
        group = [self._waiting.popleft() for _ in range(count)]
        prompts = [seq.prompt for seq in group]
        per_row = _PerRow.of(prompts, _fitting(self._prefill_rows, count))
        try:
            prefilled = self._prefill(prompts, per_row)
            # One read of whole arrays: indexing device arrays would dispatch an op each.
            tokens, log_probs = jax.device_get((prefilled.token, prefilled.log_prob))
        except Exception as exc:  # they are in neither the queue nor a slot: answer them here
            for seq in group:
                seq.reply.error(exc)
            raise
        # Padding rows, and requests done with their first token, go nowhere: an index past the last slot.
        slots = np.full(len(tokens), len(self._slots), np.int32)
        for row, seq in enumerate(group):
            token, log_prob = int(tokens[row]), float(log_probs[row])
            if self._record(seq, token, log_prob, done=self._finished_by(token, seq)):
                continue  # done with its first token: it never needs a slot
            slots[row] = seq.slot = free.pop(0)
            self._slots[seq.slot] = seq
        if (slots < len(self._slots)).any():
            self._insert(slots, prefilled, per_row)

    def _prefill(self, prompts: list[Prompt], per_row: _PerRow) -> cb_programs.PrefillOutput:
        """Prefills ``prompts`` in one call of ``per_row``'s row count, padded to the longest bucket."""
        ids = np.full((len(per_row.length), max(p.bucket for p in prompts)), self._tokenizer.pad_id, np.int32)
        for row, prompt in enumerate(prompts):
            ids[row, : len(prompt.ids)] = prompt.ids
        self._prefill_count += 1
        return cb_programs.prefill(
            self._cfg,
            self._settings,
            self._params(),
            ids,
            per_row.length,
            per_row.temperature,
            per_row.top_k,
            per_row.top_p,
            self._key,
            np.int32(self._prefill_count),
        )

    def _insert(self, slots: np.ndarray, prefilled: cb_programs.PrefillOutput, per_row: _PerRow) -> None:
        """Inserts prefilled rows into ``slots`` (one per row; past the last slot: dropped)."""
        self._state = cb_programs.insert(self._state, slots, prefilled, *per_row)

    def _finished_by(self, token: int, seq: _Sequence) -> bool:
        """Whether ``token``, about to be recorded, ends ``seq`` (a stop id, or its last allowed step)."""
        return token in self._settings.stop_ids or len(seq.tokens) + 1 >= seq.prompt.knobs.max_decode_steps

    # Decoding.

    def _decode_one(self) -> None:
        live = {slot: seq for slot, seq in enumerate(self._slots) if seq is not None}
        rows = _fitting(self._row_counts, max(live) + 1)
        steps = self._steps_per_call(rows, list(live.values()))
        # The call's last step writes position len(ids) + len(tokens) - 1 + steps - 1 of a live sequence.
        reach = max(len(seq.prompt.ids) + len(seq.tokens) for seq in live.values()) + steps - 1
        window = _fitting(self._windows, min(reach, self._windows[-1]))
        start = time.perf_counter()
        self._state, out = self._step_call(rows, window, steps)
        tokens, log_probs, done = jax.device_get(out)  # [most steps, rows] each; the first ``steps`` count
        per_step = (time.perf_counter() - start) * 1e3 / steps
        self._step_ms[rows] = 0.8 * self._step_ms.get(rows, per_step) + 0.2 * per_step
        self._freed_by_last_call = False
        for step in range(steps):
            for slot, seq in enumerate(self._slots[:rows]):
                if seq is not None and self._record(
                    seq, int(tokens[step, slot]), float(log_probs[step, slot]), bool(done[step, slot])
                ):
                    self._free(slot)
                    self._freed_by_last_call = True

    def _steps_per_call(self, rows: int, live: list[_Sequence]) -> int:
        """Steps of the next call over ``rows`` slots holding the ``live`` sequences (see the module
        docstring); a slot that stops early on a stop id rides along idle for the rest of the call."""
        if self._freed_by_last_call or (self._waiting and len(live) < len(self._slots)):
            return 1
        left = min(seq.prompt.knobs.max_decode_steps - len(seq.tokens) for seq in live)
        fit = int(self._burst_ms / self._step_ms[rows]) if rows in self._step_ms else 1
        return max(min(left, fit, self._most_steps), 1)

    def _step_call(
        self, rows: int, window: int, steps: int
    ) -> tuple[cb_programs.SlotState, cb_programs.StepOutput]:
        return cb_programs.step(
            self._cfg,
            self._settings,
            rows,
            window,
            self._most_steps,
            self._state,
            self._params(),
            np.int32(steps),
        )

    def _record(self, seq: _Sequence, token: int, log_prob: float, done: bool) -> bool:
        """Adds a generated token to ``seq``; streams or answers it. True when ``seq`` has finished."""
        seq.tokens.append(token)
        seq.log_probs.append(log_prob)
        try:
            if seq.stream is not None:
                seq.unsent += 1
                seq.unsent_score += log_prob
                seq.unsent_text += seq.stream.feed([token])
                if done or seq.unsent >= self._serving.stream_interval_steps:
                    self._send_text(seq, seq.unsent_text, [seq.unsent_score])
                    seq.unsent, seq.unsent_score, seq.unsent_text = 0, 0.0, ""
            if not done:
                return False
            if seq.stream is not None:
                self._send_text(seq, seq.stream.flush(), [0.0])
                seq.reply.end()
            else:
                seq.reply.result(self._answer(seq))
        except Exception as exc:  # detokenising failed: this request only
            seq.reply.error(exc)
        return True

    def _send_text(self, seq: _Sequence, text: str, scores: list[float]) -> None:
        seq.reply.chunk({"items": [{"text": text, "prefix_len": seq.sent_chars, "scores": scores}]})
        seq.sent_chars += len(text)

    def _answer(self, seq: _Sequence) -> Payload:
        total = float(sum(seq.log_probs))
        score = (
            math.exp(total / len(seq.tokens)) if self._serving.generation_use_geomean_prob_score else total
        )
        shown = seq.prompt.ids[1:] if self._serving.include_prefix_in_result else []
        return {"texts": [{"text": self._tokenizer.decode([*shown, *seq.tokens]), "score": score}]}

    def _free(self, slot: int) -> None:
        seq = self._slots[slot]
        if seq is not None:
            seq.slot = None
        self._slots[slot] = None

    def _fail_all(self, exc: Exception) -> None:
        held = [*self._waiting, *(seq for seq in self._slots if seq is not None)]
        self._waiting.clear()
        self._slots = [None] * len(self._slots)
        self._state = self._empty_state()
        for seq in held:
            seq.reply.error(exc)


def _powers_to(most: int, base: int = 2) -> list[int]:
    """1, base, base², ... below ``most``, and ``most``: the sizes one program each is compiled for."""
    powers = itertools.takewhile(lambda size: size < most, (base**i for i in itertools.count()))
    return [*powers, most]


def _fitting(sizes: list[int], needed: int) -> int:
    """The smallest of ``sizes`` (ascending) that holds ``needed``."""
    return next(size for size in sizes if size >= needed)
