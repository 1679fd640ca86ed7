"""``LmServable``: the LM methods of spec data-plane §3 over a plain-JAX decoder (LLaMA or LmCloud).

How the parts fit: ``build_lm_servable`` parses the servable config once (``lm_load``: architecture,
tokenizer, serving knobs), gets weights (seeded random or a committed step directory), places them on the
serving mesh and builds the servable. ``LmMethods`` validates, tokenises and detokenises requests and
runs them through the jitted programs of ``lm_programs``; this class adds what only the JAX backend has:
continuous batching of generate requests over cache slots, and compiling every program up front
(``warm_up``). One request is one device batch (``numSamples`` rows for generate); batching across
requests reuses the same programs with B > 1.

Randomness (spec §3.4): the load seed splits into an init key and a methods key; each method gets its own
key (methods in sorted name order) and each request folds in that method's request counter.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping
from typing import Any

import jax

from sax_worker.models import xla_flags
from sax_worker.models.continuous_batcher import ContinuousBatcher, Prompt
from sax_worker.models.decoder_config import DecoderConfig
from sax_worker.models.decoder_params import Params
from sax_worker.models.lm_backend import DecodeSettings
from sax_worker.models.lm_load import NO_CHECKPOINT, host_params, method_keys, parse_lm_config, seed_keys
from sax_worker.models.lm_methods import GENERATE_METHODS, LmMethods
from sax_worker.models.lm_programs import LmPrograms
from sax_worker.models.lm_requests import extra_input_items, sample_knobs, text_field
from sax_worker.models.lm_serving_config import LmServingConfig
from sax_worker.models.mesh import place_params, serving_mesh
from sax_worker.models.tokenizers import Tokenizer
from sax_worker.servables.base import Reply

Payload = Mapping[str, Any]

__all__ = ["NO_CHECKPOINT", "LmServable", "build_lm_servable"]


class LmServable(LmMethods):
    """A loaded JAX decoder answering the LM methods its serving config enables."""

    def __init__(
        self,
        cfg: DecoderConfig,
        params: Params,
        tokenizer: Tokenizer,
        serving: LmServingConfig,
        methods_key: jax.Array,
    ) -> None:
        settings = DecodeSettings.of(serving, tokenizer)
        programs = LmPrograms(cfg, settings)
        super().__init__(cfg, params, tokenizer, serving, programs, method_keys(methods_key, serving))
        self.programs: LmPrograms = programs
        decoding = sorted(serving.methods & GENERATE_METHODS)
        self._batcher = (
            ContinuousBatcher(
                cfg,
                settings,
                lambda: self.params,
                tokenizer,
                serving,
                self.method_keys[decoding[0]],
                max_waiting=max(1, serving.batch_size * serving.max_live_batches),
            )
            if serving.num_cache_slots > 0 and decoding
            else None
        )

    @property
    def scheduled_methods(self) -> frozenset[str]:
        """Generate methods are continuously batched when the config has cache slots; score and embed
        are batched dynamically when its batch size is above 1."""
        decoding = self.methods & GENERATE_METHODS if self._batcher else frozenset()
        return decoding | super().scheduled_methods

    @property
    def busy(self) -> bool:
        return bool(self._batcher and self._batcher.busy) or super().busy

    def submit(self, request_id: Hashable, method: str, request: Payload, reply: Reply) -> None:
        if self._batcher is not None and method in self.methods & GENERATE_METHODS:
            prompt = self._prompt(request)
            self._batcher.submit(request_id, prompt, reply, streaming=method == "lm.generate_stream")
        else:
            super().submit(request_id, method, request, reply)

    def cancel(self, request_id: Hashable) -> bool:
        return bool(self._batcher and self._batcher.cancel(request_id)) or super().cancel(request_id)

    def step(self) -> None:
        super().step()
        if self._batcher is not None:
            self._batcher.step()

    def warm_up(self) -> None:
        """Compiles every program for every bucket by running empty requests (spec §4.2's warm-up)."""
        decoding = sorted(self.methods & GENERATE_METHODS)
        if self._batcher is not None:
            self._batcher.warm_up()
            decoding = []
        for bucket in self.serving.buckets if decoding else ():
            # Both methods share the programs. Request index -1: warming up must not advance the request
            # counters, so that answers stay reproducible from the seed.
            state = self._prefill([self.tokenizer.sos_id], bucket, {}, decoding[0], -1)
            self.programs.decode(self.params, state, 1)
        self.scoring.warm_up(self.methods)

    def _prompt(self, request: Payload) -> Prompt:
        """Validates and tokenises a generate request for the continuous batcher."""
        items = extra_input_items(request, self.serving.extra_input_defaults())
        ids = self._encode(text_field(request, "text"), self.serving.input_seq_len)
        bucket = self.serving.bucket_for(len(ids))
        return Prompt(ids, bucket, sample_knobs(self.serving, items, self.serving.max_steps_for(bucket)))


def build_lm_servable(config: Mapping[str, Any], checkpoint: str, seed: int) -> LmServable:
    """Builds a JAX LM servable from the model server's LM servable config (``lm_load.parse_lm_config``,
    framework "jax"), placed on the first of ``meshShapes`` that fits the devices (``mesh.serving_mesh``).

    Invalid configs and checkpoints raise ``ValueError``. The servable's ``load_info`` gets the parameter
    count, the seconds spent reading or initialising weights and the bytes read.
    """
    lm = parse_lm_config(config, checkpoint, "jax")
    xla_flags.configure_for(lm.cfg)
    mesh = serving_mesh(lm.mesh_shapes)
    init_key, methods_key = seed_keys(seed)
    start = time.monotonic()
    host, read_bytes = host_params(lm, checkpoint, init_key)
    params = place_params(lm.cfg, host, mesh)
    del host
    servable = LmServable(lm.cfg, params, lm.tokenizer, lm.serving, methods_key)
    servable.load_info.update(
        {"weights_seconds": time.monotonic() - start, "checkpoint_bytes": float(read_bytes)}
    )
    return servable
