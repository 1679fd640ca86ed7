"""``LmMethods``: the LM methods of spec data-plane §3 over any backend's ``DecodePrograms``.

Each request is validated and tokenised on the host (``lm_requests``, ``tokenizers``), padded to a bucket,
run through the backend's programs (``lm_backend``) and detokenised on the host. The JAX servable
(``lm_servable``) and the PyTorch one (``sax_worker.torch_models``) are subclasses that bring their
programs, weights and per-method randomness; request semantics (truncation, knobs, scores, stream
chunks, dynamic batching of score / embed) live here once.

Randomness (spec §3.4): each method gets its own key (methods in sorted name order) and each request
passes that method's request counter to the programs, so a servable built with the same seed and sent the
same sequence of requests answers identically.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import num_params
from sax_worker.models.lm_backend import DecodePrograms, RowKnobs
from sax_worker.models.lm_requests import extra_input_items, sample_knobs, text_field
from sax_worker.models.lm_scoring import LmScoring, one, right_pad
from sax_worker.models.lm_serving_config import LmServingConfig
from sax_worker.models.tokenizers import Tokenizer
from sax_worker.servables import direct
from sax_worker.servables.unary_batcher import UnaryBatcher, UnaryScheduling

Payload = Mapping[str, Any]

#: The methods that decode.
GENERATE_METHODS = frozenset({"lm.generate", "lm.generate_stream"})


class LmMethods(UnaryScheduling):
    """A loaded decoder answering the LM methods its serving config enables."""

    def __init__(
        self,
        cfg: DecoderConfig,
        params: Any,
        tokenizer: Tokenizer,
        serving: LmServingConfig,
        programs: DecodePrograms,
        method_keys: Sequence[Any],
    ) -> None:
        """``method_keys``: one per method of ``serving.methods``, in sorted name order."""
        if tokenizer.min_vocab_size > cfg.vocab_size:
            raise ValueError(
                f"tokenizer ids need a vocabulary of {tokenizer.min_vocab_size}, model has {cfg.vocab_size}"
            )
        self.cfg = cfg
        self.tokenizer = tokenizer
        self.serving = serving
        self.programs = programs
        self._params: Any = params
        names = sorted(serving.methods)
        self.method_keys: Mapping[str, Any] = dict(zip(names, method_keys, strict=True))
        self._request_counts = dict.fromkeys(names, 0)
        batched = serving.methods & {"lm.score", "lm.embed"}
        batching = serving.batch_size > 1 and bool(batched)
        self.scoring = LmScoring(
            programs,
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
        #: What loading cost, for the model server's status (see the builders).
        self.load_info: dict[str, float] = {"parameters": float(num_params(cfg))}

    @property
    def methods(self) -> frozenset[str]:
        return self.serving.methods

    @property
    def streaming_methods(self) -> frozenset[str]:
        return self.serving.methods & {"lm.generate_stream"}

    @property
    def params(self) -> Any:
        if self._params is None:
            raise RuntimeError("servable is closed")
        return self._params

    # Unary and streaming calls.

    def call(self, method: str, request: Payload) -> Payload:
        self._check_method(method, streaming=False)
        if method in self.scheduled_methods:
            return direct.call(self, method, request)
        if method == "lm.generate":
            return self._generate(request)
        if method == "lm.score":
            return one(self.scoring.run_batch("lm.score", [request]))
        if method == "lm.gradient":
            return self.scoring.gradient(request)
        return one(self.scoring.run_batch("lm.embed", [request]))

    def stream(self, method: str, request: Payload) -> Iterator[Payload]:
        self._check_method(method, streaming=True)
        if method in self.scheduled_methods:
            return direct.stream(self, method, request)
        # Validate and prefill now, so that a bad request fails here rather than at the first chunk.
        _, state = self._start_decode(method, request)
        return self._stream_chunks(state)

    def close(self) -> None:
        self._params = None

    # lm.generate / lm.generate_stream

    def _generate(self, request: Payload) -> Payload:
        prompt, state = self._start_decode("lm.generate", request)
        host = self.programs.fetch(self.programs.decode(self.params, state, self.serving.max_decode_steps))
        shown = prompt[1:] if self.serving.include_prefix_in_result else []
        samples = []
        for row in range(host.tokens.shape[0]):
            length = int(host.lengths[row])
            total = float(np.sum(host.log_probs[row]))  # EOS included; done rows add 0
            score = math.exp(total / length) if self.serving.generation_use_geomean_prob_score else total
            text = self.tokenizer.decode([*shown, *host.tokens[row, :length].tolist()])
            samples.append((total, {"text": text, "score": score}))
        if self.serving.sort_samples:
            samples.sort(key=lambda sample: -sample[0])
        return {"texts": [sample for _, sample in samples]}

    def _stream_chunks(self, state: Any) -> Iterator[Payload]:
        """One message per STREAM_INTERVAL_STEPS tokens (and one when all rows are done), then a flush."""
        rows = self.serving.num_samples  # one prompt
        decoders = [self.tokenizer.stream_decoder() for _ in range(rows)]
        sent = [0] * rows  # characters delivered per sample: the next message's prefix_len
        consumed = 0
        while consumed < self.serving.max_decode_steps:
            state = self.programs.decode(self.params, state, self.serving.stream_interval_steps)
            host = self.programs.fetch(state)
            if host.step == consumed:
                break
            items = []
            for r in range(rows):
                new = host.tokens[r, consumed : min(host.step, int(host.lengths[r]))]
                text = decoders[r].feed(new.tolist())
                score = float(np.sum(host.log_probs[r, consumed : host.step]))
                items.append({"text": text, "prefix_len": sent[r], "scores": [score]})
                sent[r] += len(text)
            yield {"items": items}
            consumed = host.step
            if host.done.all():
                break
        flushed = [decoder.flush() for decoder in decoders]
        yield {
            "items": [
                {"text": t, "prefix_len": n, "scores": [0.0]} for t, n in zip(flushed, sent, strict=True)
            ]
        }

    def _start_decode(self, method: str, request: Payload) -> tuple[list[int], Any]:
        """Validates and tokenises a generate request and runs its prefill: (prompt ids, state)."""
        text = text_field(request, "text")
        items = extra_input_items(request, self.serving.extra_input_defaults())
        ids = self._encode(text, self.serving.input_seq_len)
        count = self._request_counts[method]
        self._request_counts[method] = count + 1
        return ids, self._prefill(ids, self.serving.bucket_for(len(ids)), items, method, count)

    def _prefill(
        self, ids: list[int], bucket: int, items: Mapping[str, float], method: str, request_index: int
    ) -> Any:
        knobs = sample_knobs(self.serving, items, self.serving.max_steps_for(bucket))
        padded = right_pad(ids, bucket, self.tokenizer.pad_id)  # [1, P]
        lengths = np.asarray([len(ids)], np.int32)  # [1]
        row_knobs = RowKnobs.repeat(knobs, self.serving.num_samples)
        return self.programs.prefill(
            self.params, padded, lengths, row_knobs, self.method_keys[method], request_index
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

    def _check_method(self, method: str, *, streaming: bool) -> None:
        if method not in self.methods:
            raise ValueError(f"model does not support {method}; it answers {sorted(self.methods)}")
        if streaming != (method in self.streaming_methods):
            kind = "a streaming" if method in self.streaming_methods else "a unary"
            raise ValueError(f"{method} is {kind} method")
