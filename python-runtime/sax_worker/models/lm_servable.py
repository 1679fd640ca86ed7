"""``LmServable``: the LM methods of spec data-plane §3 over a plain-JAX decoder (LLaMA or LmCloud).

How the parts fit: ``build_lm_servable`` parses the servable config once (architecture, tokenizer,
serving knobs), gets weights (seeded random or a committed step directory), places them on the serving
mesh and builds the servable. Each request is validated and tokenised on the host (``lm_requests``,
``tokenizers``), padded to a bucket, and run through the jitted programs of ``lm_programs``; results are
detokenised on the host. One request is one device batch (``numSamples`` rows for generate); batching
across requests reuses the same programs with B > 1.

Randomness (spec §3.4): the load seed splits into an init key and a methods key; each method gets its own
key (methods in sorted name order) and each request folds in that method's request counter. A servable
built with the same seed and sent the same sequence of requests answers identically.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Hashable, Iterator, Mapping
from typing import Any

import jax
import numpy as np

from sax_worker.models import checkpoint as checkpoints
from sax_worker.models import xla_flags
from sax_worker.models.continuous_batcher import ContinuousBatcher, Prompt
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import Params, init_params, num_params
from sax_worker.models.lm_programs import DecodeSettings, DecodeState, LmPrograms, RowKnobs
from sax_worker.models.lm_requests import extra_input_items, sample_knobs, text_field
from sax_worker.models.lm_scoring import LmScoring, one, right_pad
from sax_worker.models.lm_serving_config import LmServingConfig
from sax_worker.models.mesh import place_params, serving_mesh
from sax_worker.models.tokenizers import Tokenizer, tokenizer_from_dict
from sax_worker.servables import direct
from sax_worker.servables.base import Reply
from sax_worker.servables.unary_batcher import UnaryBatcher

Payload = Mapping[str, Any]

#: The checkpoint value that means "no checkpoint" (spec §5.1, §5.4).
NO_CHECKPOINT = "None"

_CONFIG_KEYS = frozenset(
    {
        "kind",
        "framework",
        "architecture",
        "tokenizer",
        "serving",
        "meshShapes",
        "testMode",
        "randomWeightsWhenNoCheckpoint",
    }
)


class LmServable:
    """A loaded decoder answering the LM methods its serving config enables."""

    def __init__(
        self,
        cfg: DecoderConfig,
        params: Params,
        tokenizer: Tokenizer,
        serving: LmServingConfig,
        methods_key: jax.Array,
    ) -> None:
        if tokenizer.min_vocab_size > cfg.vocab_size:
            raise ValueError(
                f"tokenizer ids need a vocabulary of {tokenizer.min_vocab_size}, model has {cfg.vocab_size}"
            )
        self.cfg = cfg
        self.tokenizer = tokenizer
        self.serving = serving
        self._params: Params | None = params
        settings = DecodeSettings(
            max_decode_steps=serving.max_decode_steps,
            num_samples=serving.num_samples,
            top_k=serving.top_k,
            greedy=serving.greedy,
            stop_ids=serving.stop_token_ids or (tokenizer.eos_id,),
            pad_id=tokenizer.pad_id,
        )
        self.programs = LmPrograms(cfg, settings)
        names = sorted(serving.methods)
        self._method_keys = dict(zip(names, jax.random.split(methods_key, len(names)), strict=True))
        self._request_counts = dict.fromkeys(names, 0)
        decoding = sorted(serving.methods & {"lm.generate", "lm.generate_stream"})
        self._batcher = (
            ContinuousBatcher(
                cfg,
                settings,
                lambda: self.params,
                tokenizer,
                serving,
                self._method_keys[decoding[0]],
                max_waiting=max(1, serving.batch_size * serving.max_live_batches),
            )
            if serving.num_cache_slots > 0 and decoding
            else None
        )
        batched = serving.methods & {"lm.score", "lm.embed"}
        batching = serving.batch_size > 1 and bool(batched)
        self.scoring = LmScoring(
            self.programs,
            lambda: self.params,
            tokenizer,
            serving,
            self._encode,
            serving.batch_sizes if batching else (1,),
        )
        self._unary = (
            UnaryBatcher(
                batched,
                self.scoring.run_batch,
                batch_size=serving.batch_size,
                wait_secs=serving.batch_wait_secs,
                max_waiting=serving.batch_size * serving.max_live_batches,
            )
            if batching
            else None
        )
        #: What loading cost, for the model server's status (see ``build_lm_servable``).
        self.load_info: dict[str, float] = {"parameters": float(num_params(cfg))}

    @property
    def methods(self) -> frozenset[str]:
        return self.serving.methods

    @property
    def streaming_methods(self) -> frozenset[str]:
        return self.serving.methods & {"lm.generate_stream"}

    @property
    def scheduled_methods(self) -> frozenset[str]:
        """Generate methods are continuously batched when the config has cache slots; score and embed
        are batched dynamically when its batch size is above 1."""
        decoding = self.methods & {"lm.generate", "lm.generate_stream"} if self._batcher else frozenset()
        return decoding | (self._unary.methods if self._unary else frozenset())

    @property
    def busy(self) -> bool:
        return bool(self._batcher and self._batcher.busy) or bool(self._unary and self._unary.busy)

    def submit(self, request_id: Hashable, method: str, request: Payload, reply: Reply) -> None:
        if self._unary is not None and method in self._unary.methods:
            self._unary.submit(request_id, method, request, reply)
        elif self._batcher is not None and method in self.scheduled_methods:
            prompt = self._prompt(request)
            self._batcher.submit(request_id, prompt, reply, streaming=method == "lm.generate_stream")
        else:
            raise ValueError(f"{method} is not scheduled by this servable")

    def cancel(self, request_id: Hashable) -> bool:
        return bool(self._batcher and self._batcher.cancel(request_id)) or bool(
            self._unary and self._unary.cancel(request_id)
        )

    def step(self) -> None:
        if self._unary is not None:
            self._unary.step()
        if self._batcher is not None:
            self._batcher.step()

    @property
    def params(self) -> Params:
        if self._params is None:
            raise RuntimeError("servable is closed")
        return self._params

    def call(self, method: str, request: Payload) -> Payload:
        self._check_method(method, streaming=False)
        if method in self.scheduled_methods:
            return direct.call(self, method, request)
        if method == "lm.generate":
            return self._generate(request)
        if method == "lm.score":
            return self._score(request)
        if method == "lm.gradient":
            return self.scoring.gradient(request)
        return self._embed(request)

    def stream(self, method: str, request: Payload) -> Iterator[Payload]:
        self._check_method(method, streaming=True)
        if method in self.scheduled_methods:
            return direct.stream(self, method, request)
        # Validate and prefill now, so that a bad request fails here rather than at the first chunk.
        _, state = self._start_decode(method, request)
        return self._stream_chunks(state)

    def close(self) -> None:
        self._params = None

    def warm_up(self) -> None:
        """Compiles every program for every bucket by running empty requests (spec §4.2's warm-up)."""
        decoding = sorted(self.methods & {"lm.generate", "lm.generate_stream"})
        if self._batcher is not None:
            self._batcher.warm_up()
            decoding = []
        for bucket in self.serving.buckets if decoding else ():
            # Both methods share the programs. Request index -1: warming up must not advance the request
            # counters, so that answers stay reproducible from the seed.
            state = self._prefill([self.tokenizer.sos_id], bucket, {}, decoding[0], -1)
            self.programs.decode(self.params, state, 1)
        self.scoring.warm_up(self.methods)

    # lm.generate / lm.generate_stream

    def _generate(self, request: Payload) -> Payload:
        prompt, state = self._start_decode("lm.generate", request)
        state = self.programs.decode(self.params, state, self.serving.max_decode_steps)
        tokens, log_probs, lengths = jax.device_get((state.tokens, state.log_probs, state.lengths))
        shown = prompt[1:] if self.serving.include_prefix_in_result else []
        samples = []
        for row in range(tokens.shape[0]):
            total = float(np.sum(log_probs[row]))  # EOS included; done rows add 0
            score = (
                math.exp(total / lengths[row]) if self.serving.generation_use_geomean_prob_score else total
            )
            text = self.tokenizer.decode([*shown, *tokens[row, : lengths[row]].tolist()])
            samples.append((total, {"text": text, "score": score}))
        if self.serving.sort_samples:
            samples.sort(key=lambda sample: -sample[0])
        return {"texts": [sample for _, sample in samples]}

    def _stream_chunks(self, state: DecodeState) -> Iterator[Payload]:
        """One message per STREAM_INTERVAL_STEPS tokens (and one when all rows are done), then a flush."""
        rows = state.tokens.shape[0]
        decoders = [self.tokenizer.stream_decoder() for _ in range(rows)]
        sent = [0] * rows  # characters delivered per sample: the next message's prefix_len
        consumed = 0
        while consumed < self.serving.max_decode_steps:
            state = self.programs.decode(self.params, state, self.serving.stream_interval_steps)
            step, tokens, log_probs, lengths, done = jax.device_get(
                (state.step, state.tokens, state.log_probs, state.lengths, state.done)
            )
            step = int(step)
            if step == consumed:
                break
            items = []
            for r in range(rows):
                text = decoders[r].feed(tokens[r, consumed : min(step, int(lengths[r]))].tolist())
                score = float(np.sum(log_probs[r, consumed:step]))
                items.append({"text": text, "prefix_len": sent[r], "scores": [score]})
                sent[r] += len(text)
            yield {"items": items}
            consumed = step
            if done.all():
                break
        flushed = [decoder.flush() for decoder in decoders]
        yield {
            "items": [
                {"text": t, "prefix_len": n, "scores": [0.0]} for t, n in zip(flushed, sent, strict=True)
            ]
        }

    def _start_decode(self, method: str, request: Payload) -> tuple[list[int], DecodeState]:
        """Validates and tokenises a generate request and runs its prefill: (prompt ids, state)."""
        text = text_field(request, "text")
        items = extra_input_items(request, self.serving.extra_input_defaults())
        ids = self._encode(text, self.serving.input_seq_len)
        count = self._request_counts[method]
        self._request_counts[method] = count + 1
        return ids, self._prefill(ids, self.serving.bucket_for(len(ids)), items, method, count)

    def _prompt(self, request: Payload) -> Prompt:
        """Validates and tokenises a generate request for the continuous batcher."""
        items = extra_input_items(request, self.serving.extra_input_defaults())
        ids = self._encode(text_field(request, "text"), self.serving.input_seq_len)
        bucket = self.serving.bucket_for(len(ids))
        return Prompt(ids, bucket, sample_knobs(self.serving, items, self.serving.max_steps_for(bucket)))

    def _prefill(
        self, ids: list[int], bucket: int, items: Mapping[str, float], method: str, request_index: int
    ) -> DecodeState:
        knobs = sample_knobs(self.serving, items, self.serving.max_steps_for(bucket))
        rows = self.serving.num_samples
        # Host (NumPy) inputs: building them with jnp would compile a small program per new shape.
        row_knobs = RowKnobs(
            temperature=np.full(rows, knobs.temperature, np.float32),
            top_k=np.full(rows, knobs.top_k, np.int32),
            top_p=np.full(rows, knobs.top_p, np.float32),
            max_steps=np.full(rows, knobs.max_decode_steps, np.int32),
        )
        padded = right_pad(ids, bucket, self.tokenizer.pad_id)  # [1, P]
        lengths = np.asarray([len(ids)], np.int32)  # [1]
        return self.programs.prefill(
            self.params, padded, lengths, row_knobs, self._method_keys[method], request_index
        )

    def _encode(self, text: str, max_length: int) -> list[int]:
        if self.serving.fail_on_input_truncation:
            count = len(self.tokenizer.encode(text, sys.maxsize)) - 1  # without SOS
            if count > max_length - 1:
                # The reference fails the batch in pre-processing, an INTERNAL error.
                raise RuntimeError(
                    f"Preprocessing error: input has {count} tokens, more than {max_length - 1}"
                )
        return self.tokenizer.encode(text, max_length, slice_left=self.serving.slice_left)

    # lm.score / lm.embed

    def _score(self, request: Payload) -> Payload:
        return one(self.scoring.run_batch("lm.score", [request]))

    def _embed(self, request: Payload) -> Payload:
        return one(self.scoring.run_batch("lm.embed", [request]))

    def _check_method(self, method: str, *, streaming: bool) -> None:
        if method not in self.methods:
            raise ValueError(f"model does not support {method}; it answers {sorted(self.methods)}")
        if streaming != (method in self.streaming_methods):
            kind = "a streaming" if method in self.streaming_methods else "a unary"
            raise ValueError(f"{method} is {kind} method")


def build_lm_servable(config: Mapping[str, Any], checkpoint: str, seed: int) -> LmServable:
    """Builds an LM servable from the model server's LM servable config.

    ``config`` keys: ``kind`` ("lm"), ``framework`` ("jax"), ``architecture``
    (``DecoderConfig.from_dict``), ``tokenizer`` (``tokenizers.tokenizer_from_dict``; @default bytes),
    ``serving`` (``LmServingConfig.from_dict``; @default the template), ``meshShapes`` (tried in order,
    ``mesh.serving_mesh``; @default [[1, 1, 1]]), ``testMode`` (ignore the checkpoint, use seeded random
    weights) and ``randomWeightsWhenNoCheckpoint`` (checkpoint "None" means seeded random weights).
    Otherwise ``checkpoint`` must be a committed step directory (``…/checkpoint_00000000``, local or
    ``gs://``). Invalid configs and checkpoints raise ``ValueError``. The servable's ``load_info`` gets
    the parameter count, the seconds spent reading or initialising weights and the bytes read.
    """
    unknown = sorted(set(config) - _CONFIG_KEYS)
    if unknown:
        raise ValueError(f"lm servable config: unknown keys {unknown}; expected {sorted(_CONFIG_KEYS)}")
    if config.get("kind", "lm") != "lm" or config.get("framework", "jax") != "jax":
        raise ValueError("lm servable config: kind must be 'lm' and framework 'jax'")
    if "architecture" not in config:
        raise ValueError("lm servable config: missing 'architecture'")
    cfg = DecoderConfig.from_dict(config["architecture"])
    xla_flags.configure_for(cfg)
    tokenizer = tokenizer_from_dict(config.get("tokenizer", {"type": "bytes"}))
    serving = LmServingConfig.from_dict(config.get("serving", {}))
    mesh = serving_mesh(config.get("meshShapes") or [[1, 1, 1]])
    init_key, methods_key = jax.random.split(jax.random.key(seed))
    random_weights = config.get("testMode", False) or (
        checkpoint == NO_CHECKPOINT and config.get("randomWeightsWhenNoCheckpoint", False)
    )
    start = time.monotonic()
    if random_weights:
        host, read_bytes = init_params(cfg, init_key), 0
    else:
        host, stats = checkpoints.load_params(cfg, checkpoint)
        read_bytes = stats.bytes
    params = place_params(cfg, host, mesh)
    del host
    servable = LmServable(cfg, params, tokenizer, serving, methods_key)
    servable.load_info.update(
        {"weights_seconds": time.monotonic() - start, "checkpoint_bytes": float(read_bytes)}
    )
    return servable
