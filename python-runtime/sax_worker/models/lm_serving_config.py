"""Serving knobs of an LM servable (the LM template of spec data-plane §1.4), parsed once at the edge.

The model server sends its ``serving`` object with every template knob resolved (camelCase keys; the
defaults below are the template's, used when a key is absent). This module accepts exactly that key set
and turns it into ``LmServingConfig``: knobs that change decoding are kept, scheduling knobs (batch size,
live batches, batching window) are the worker core's business and only checked for presence, and knobs
whose features this servable lacks (beam search, tokenized input, ...) must keep their
template default, else ``ValueError`` says which one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

#: Every LM method an LM servable may answer.
LM_METHODS = frozenset({"lm.generate", "lm.generate_stream", "lm.score", "lm.embed", "lm.gradient"})

#: Extra inputs the decoder understands (spec §3.3), with the type their values are cast to.
EXTRA_INPUT_KINDS: Mapping[str, type] = {
    "temperature": float,
    "per_example_max_decode_steps": int,
    "per_example_top_k": int,
    "per_example_top_p": float,
}

#: lm.embed is served when the embed settings name this model method and output (spec §3.8).
EMBED_METHOD_NAME, EMBED_OUTPUT_NAME = "embed", "embedding"

# Knobs read elsewhere (the worker core's scheduler) or only meaningful with beam search.
_IGNORED_KEYS = frozenset({"minDecodeSteps", "beamSize", "lengthNormAlpha"})
# Features this servable does not support: a config must leave each knob at this value (else ValueError).
_UNSUPPORTED = {
    "useBeamSearch": False,
    "tokenizedInput": False,
    "tokenizedOutput": False,
    "eosPaddingAndNoSos": False,
    "prependSos": True,
}
_FIELD_BY_KEY = {
    "inputSeqLen": "input_seq_len",
    "suffixSeqLen": "suffix_seq_len",
    "bucketKeys": "bucket_keys",
    "maxDecodeSteps": "max_decode_steps",
    "maxSeqLen": "max_seq_len",
    "numSamples": "num_samples",
    "topK": "top_k",
    "temperature": "temperature",
    "sortSamples": "sort_samples",
    "streamIntervalSteps": "stream_interval_steps",
    "includePrefixInResult": "include_prefix_in_result",
    "sliceLeft": "slice_left",
    "failOnInputTruncation": "fail_on_input_truncation",
    "stopTokenIds": "stop_token_ids",
    "extraInputs": "extra_inputs",
    "numCacheSlots": "num_cache_slots",
    "batchSize": "batch_sizes",
    "batchWaitSecs": "batch_wait_secs",
    "maxLiveBatches": "max_live_batches",
    "scoringIncludeEosScore": "scoring_include_eos_score",
    "scoringUseGeomeanProbScore": "scoring_use_geomean_prob_score",
    "generationUseGeomeanProbScore": "generation_use_geomean_prob_score",
}
# Keys turned into ``methods``.
_METHOD_KEYS = frozenset(
    {
        "generateOnly",
        "scoreOnly",
        "enableGenerate",
        "enableGenerateStream",
        "enableScore",
        "embed",
        "enableGradient",
    }
)
_ALL_KEYS = (
    frozenset(_FIELD_BY_KEY)
    | _METHOD_KEYS
    | _IGNORED_KEYS
    | frozenset(_UNSUPPORTED)
    | {"extraInputsDtypes", "scoreExtraInputs"}
)


@dataclasses.dataclass(frozen=True)
class LmServingConfig:
    """How an LM servable tokenises, decodes, scores and streams."""

    input_seq_len: int = 256  # max prompt ids incl. SOS (generate) / prefix budget (score)
    suffix_seq_len: int = 0  # score suffix budget; 0 means input_seq_len
    bucket_keys: tuple[int, ...] = ()  # padded prompt lengths; input_seq_len is always one
    max_decode_steps: int = 32  # M: generated tokens per sample, EOS included
    max_seq_len: int | None = None  # decoder length cap (prompt bucket + generated); None: no extra cap
    num_samples: int = 2
    top_k: int = 40  # 0 disables top-k (and per-example top-k)
    temperature: float = 0.0  # default when the request gives no `temperature` extra input
    sort_samples: bool = True  # best score first
    stream_interval_steps: int = 1  # generated tokens per stream chunk
    include_prefix_in_result: bool = False  # generated text starts with the (truncated) prompt
    slice_left: bool = True  # on truncation keep the beginning of the prompt
    fail_on_input_truncation: bool = False
    stop_token_ids: tuple[int, ...] = ()  # empty: [EOS]
    extra_inputs: Mapping[str, float | None] = dataclasses.field(default_factory=lambda: {"temperature": 0.1})
    num_cache_slots: int = 0  # > 0: continuous batching over this many slots (greedy, like the reference)
    batch_sizes: tuple[int, ...] = (1,)  # allowed batch sizes of score / embed batches, ascending
    batch_wait_secs: float | None = None  # how long a batch waits to fill; None or 0: take what is queued
    max_live_batches: int = 4  # with the batch size, bounds the requests waiting (per method)
    scoring_include_eos_score: bool = False
    scoring_use_geomean_prob_score: bool = False
    generation_use_geomean_prob_score: bool = False
    methods: frozenset[str] = frozenset({"lm.generate", "lm.score"})

    def __post_init__(self) -> None:
        for name in ("input_seq_len", "max_decode_steps", "num_samples", "stream_interval_steps"):
            _check_int(name, getattr(self, name), minimum=1)
        for name in ("suffix_seq_len", "top_k", "num_cache_slots", "max_live_batches"):
            _check_int(name, getattr(self, name), minimum=0)
        if self.max_seq_len is not None:
            _check_int("max_seq_len", self.max_seq_len, minimum=2)
        if isinstance(self.temperature, bool) or not isinstance(self.temperature, int | float):
            raise ValueError(f"lm serving config: temperature must be a number, got {self.temperature!r}")
        if not self.temperature >= 0:
            raise ValueError(f"lm serving config: temperature must be >= 0, got {self.temperature!r}")
        for key in self.bucket_keys:
            _check_int("bucket_keys[]", key, minimum=1)
            if key > self.input_seq_len:
                raise ValueError(
                    f"lm serving config: bucket key {key} exceeds input_seq_len {self.input_seq_len}"
                )
        for token in self.stop_token_ids:
            _check_int("stop_token_ids[]", token, minimum=0)
        for key, default in self.extra_inputs.items():
            if key not in EXTRA_INPUT_KINDS:
                raise ValueError(
                    f"lm serving config: extra input {key!r} is not supported; "
                    f"supported: {sorted(EXTRA_INPUT_KINDS)}"
                )
            if default is not None and (isinstance(default, bool) or not isinstance(default, int | float)):
                raise ValueError(f"lm serving config: extra input {key!r} default must be a number or null")
        unknown = sorted(self.methods - LM_METHODS)
        if unknown:
            raise ValueError(f"lm serving config: unknown methods {unknown}; supported: {sorted(LM_METHODS)}")

    # Derived fields.

    @property
    def buckets(self) -> tuple[int, ...]:
        """Allowed padded prompt lengths, ascending, ending at input_seq_len."""
        return tuple(sorted({*self.bucket_keys, self.input_seq_len}))

    @property
    def score_suffix_budget(self) -> int:
        """Max suffix ids + 1 for lm.score (the +1 mirrors the SOS slot of a tokenisation budget)."""
        return self.suffix_seq_len or self.input_seq_len

    @property
    def score_buckets(self) -> tuple[int, ...]:
        """Padded lengths of [SOS] + prefix + suffix for lm.score and lm.embed, ascending."""
        return tuple(sorted({*self.buckets, self.input_seq_len + self.score_suffix_budget}))

    @property
    def slot_length(self) -> int:
        """Cache positions of one continuous-batching slot: the longest prompt bucket plus every step."""
        return max(self.buckets) + self.max_decode_steps

    @property
    def batch_size(self) -> int:
        """The largest allowed batch size."""
        return self.batch_sizes[-1]

    @property
    def greedy(self) -> bool:
        """Argmax decoding: NUM_SAMPLES 1 and TOP_K 1 (spec §3.3), or continuous batching (§4.3)."""
        return (self.num_samples == 1 and self.top_k == 1) or self.num_cache_slots > 0

    @property
    def honours_request_knobs(self) -> bool:
        """The greedy path ignores every per-request knob; continuous batching keeps the max-steps one."""
        return not self.greedy or self.num_cache_slots > 0

    def bucket_for(self, length: int, buckets: tuple[int, ...] | None = None) -> int:
        """The smallest of ``buckets`` (@default the prompt buckets) holding ``length`` ids."""
        buckets = self.buckets if buckets is None else buckets
        for bucket in buckets:
            if bucket >= length:
                return bucket
        raise ValueError(f"sequence length {length} larger than maximum {buckets[-1]}")

    def max_steps_for(self, bucket: int) -> int:
        """Generated tokens allowed after a prompt bucket: M, capped by max_seq_len when set."""
        if self.max_seq_len is None:
            return self.max_decode_steps
        return max(1, min(self.max_decode_steps, self.max_seq_len - bucket))

    def extra_input_defaults(self) -> dict[str, float]:
        """Declared extra inputs with their defaults; a null default becomes NaN (e.g. top-p disabled)."""
        return {k: math.nan if v is None else float(v) for k, v in self.extra_inputs.items()}

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> LmServingConfig:
        """Parses the model server's ``serving`` object (Saxml template knobs, camelCase).

        Methods follow the template (spec §1.4): lm.score if ``enableScore`` and not ``generateOnly``;
        lm.generate if ``enableGenerate`` and not ``scoreOnly``; lm.generate_stream if
        ``enableGenerateStream`` and not ``scoreOnly``; lm.embed if ``embed`` names the ``embed`` method
        and its ``embedding`` output and not ``generateOnly``; lm.gradient if ``enableGradient``.
        ``maxDecodeSteps`` may be a list (its maximum is used: one cache of the largest size is
        equivalent to the reference's growing one).
        """
        unknown = sorted(set(config) - _ALL_KEYS)
        if unknown:
            raise ValueError(f"lm serving config: unknown keys {unknown}")
        for key, supported in _UNSUPPORTED.items():
            if config.get(key, supported) != supported:
                raise ValueError(f"lm serving config: {key} = {config[key]!r} is not supported yet")
        if config.get("scoreExtraInputs"):
            raise ValueError("lm serving config: scoreExtraInputs are not supported yet")
        if not isinstance(config.get("extraInputsDtypes", {}), Mapping):
            raise ValueError("lm serving config: extraInputsDtypes must be an object")
        kwargs: dict[str, Any] = {_FIELD_BY_KEY[k]: v for k, v in config.items() if k in _FIELD_BY_KEY}
        for field in ("bucket_keys", "stop_token_ids"):
            if kwargs.get(field) is None:
                kwargs.pop(field, None)
            else:
                kwargs[field] = tuple(_as_list(field, kwargs[field]))
        if "batch_sizes" in kwargs:
            sizes = kwargs["batch_sizes"]
            sizes = list(sizes) if isinstance(sizes, list | tuple) else [sizes]
            if not sizes:
                raise ValueError("lm serving config: batchSize must not be an empty list")
            for size in sizes:
                _check_int("batchSize", size, minimum=1)
            kwargs["batch_sizes"] = tuple(sorted(set(sizes)))
        wait = kwargs.get("batch_wait_secs")
        if wait is not None and (isinstance(wait, bool) or not isinstance(wait, int | float) or wait < 0):
            raise ValueError(f"lm serving config: batchWaitSecs must be a number >= 0 or null, got {wait!r}")
        steps = kwargs.get("max_decode_steps")
        if isinstance(steps, list | tuple):
            if not steps:
                raise ValueError("lm serving config: maxDecodeSteps must not be an empty list")
            kwargs["max_decode_steps"] = max(steps)
        if "extra_inputs" in kwargs:
            if not isinstance(kwargs["extra_inputs"], Mapping):
                raise ValueError("lm serving config: extraInputs must be an object")
            kwargs["extra_inputs"] = dict(kwargs["extra_inputs"])
        return cls(**kwargs, methods=_methods(config))


def _methods(config: Mapping[str, Any]) -> frozenset[str]:
    generate_only, score_only = config.get("generateOnly", False), config.get("scoreOnly", False)
    embed = config.get("embed") or {}
    if not isinstance(embed, Mapping):
        raise ValueError("lm serving config: embed must be an object")
    names = (embed.get("modelMethodName"), embed.get("outputEmbeddingName"))
    if None not in names and names != (EMBED_METHOD_NAME, EMBED_OUTPUT_NAME):
        raise ValueError(
            f"lm serving config: embed must name method {EMBED_METHOD_NAME!r} and output "
            f"{EMBED_OUTPUT_NAME!r}, got {names}"
        )
    flags = {
        "lm.score": config.get("enableScore", True) and not generate_only,
        "lm.generate": config.get("enableGenerate", True) and not score_only,
        "lm.generate_stream": config.get("enableGenerateStream", False) and not score_only,
        "lm.embed": None not in names and not generate_only,
        "lm.gradient": config.get("enableGradient", False),
    }
    return frozenset(method for method, enabled in flags.items() if enabled)


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"lm serving config: {name} must be an integer >= {minimum}, got {value!r}")


def _as_list(key: str, value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"lm serving config: {key} must be a list, got {value!r}")
    return list(value)
